"""The cohort platform: every patient's genome, somatic findings, PGx and clinical/lifestyle record in one
Hail MatrixTable (``results/cohort/cohort.mt``), with sample QC, identity checks, cohort queries and the
pieces of a cohort report. Hail (Spark) runs locally by default; see docs/cohort.md for clusters.

Hail is imported lazily (inside functions), so the rest of Bedside never pays for the JVM.
"""
