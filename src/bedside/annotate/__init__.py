"""Consequence / HGVS annotation, population and ClinVar matching; reading annotated VCFs into Findings."""

from bedside.annotate.findings import parse_csq, read_findings
from bedside.annotate.pipeline import annotate_vcf, prepare_resources, resource_cache_dir, review_stars

__all__ = ["annotate_vcf", "parse_csq", "prepare_resources", "read_findings", "resource_cache_dir", "review_stars"]
