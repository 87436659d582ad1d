"""Knowledge base (curated tables + CIViC importer), OncoTree matching and AMP/ASCO/CAP tiering."""

from bedside.knowledge.kb import KnowledgeBase, load_knowledge, versions
from bedside.knowledge.tiering import (
           COMMON_AF,
           germline_evidence,
           germline_findings,
           therapies,
           tier_findings,
)

__all__ = [
           "COMMON_AF",
           "KnowledgeBase",
           "germline_evidence",
           "germline_findings",
           "load_knowledge",
           "therapies",
           "tier_findings",
           "versions",
]
