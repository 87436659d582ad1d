"""Knowledge base (curated tables + CIViC importer), OncoTree matching and AMP/ASCO/CAP tiering."""

from bedside.knowledge.kb import KnowledgeBase, load_knowledge, versions
from bedside.knowledge.tiering import COMMON_AF, germline_findings, therapies, tier_findings

__all__ = ["KnowledgeBase", "load_knowledge", "versions", "tier_findings", "germline_findings", "therapies",
           "COMMON_AF"]
