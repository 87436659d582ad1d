"""Bedside: sequencing reads to a patient treatment report. For research use only."""

__version__ = "0.1.0"

RESEARCH_USE_NOTICE = (
    "For research use only. Not for diagnostic use. Findings and recommendations must be "
    "reviewed by a qualified clinician and confirmed in an accredited laboratory before any "
    "clinical decision."
)
