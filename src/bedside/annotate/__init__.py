"""Consequence / HGVS annotation, population and ClinVar matching; reading annotated VCFs into Findings.

Modules: ``pipeline`` (the entry point, :func:`annotate_vcf`), ``resources`` (population/ClinVar allele
table and its cache), ``vcftext`` (transcript index, VCF text editing, input checks), ``workers`` (the
forked worker pool), ``consequence``/``transcripts``/``hgvs`` (the science), ``findings`` (reading back).
"""

from bedside.annotate.findings import parse_csq, read_findings
from bedside.annotate.pipeline import annotate_vcf
from bedside.annotate.resources import prepare_resources, resource_cache_dir, review_stars

__all__ = ["annotate_vcf", "parse_csq", "prepare_resources", "read_findings", "resource_cache_dir", "review_stars"]
