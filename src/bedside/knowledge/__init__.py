"""Knowledge base (curated tables + CIViC importer), OncoTree matching, oncogenicity and AMP/ASCO/CAP tiering.

``therapy_options(findings)`` is the one decision of "therapies in play" (this tumor type / other tumor type /
resistance) that the case record, the report and the cohort summary read; ``therapies(findings)`` is its list
of recommended in-type therapies (used by the clinical rules).
"""

from bedside.knowledge.events import tier_biomarkers, tier_copy_number, tier_fusions, tier_met_exon14
from bedside.knowledge.kb import KnowledgeBase, load_knowledge, versions
from bedside.knowledge.match import therapies, therapy_options, tumor_match
from bedside.knowledge.tiering import (
    COMMON_AF,
    germline_evidence,
    germline_findings,
    tier_findings,
)

__all__ = [
    "COMMON_AF",
    "KnowledgeBase",
    "germline_evidence",
    "germline_findings",
    "load_knowledge",
    "therapies",
    "therapy_options",
    "tier_biomarkers",
    "tier_copy_number",
    "tier_findings",
    "tier_fusions",
    "tier_met_exon14",
    "tumor_match",
    "versions",
]
