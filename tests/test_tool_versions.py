"""Tool versions in the case record come from the outputs of the jobs that ran the tools (issue 14), not
from whatever is installed where the case record is built."""

from __future__ import annotations

import json

import pysam

from bedside.case import recorded_tool_versions


def test_versions_read_from_bam_pg_vcf_header_and_fastp_json(tmp_path):
    bam = tmp_path / "T.bam"
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 1000}],
              "PG": [{"ID": "bwa", "PN": "bwa", "VN": "0.7.99-test", "CL": "bwa mem"},
                     {"ID": "samtools", "PN": "samtools", "PP": "bwa", "VN": "1.99", "CL": "samtools sort"}]}
    with pysam.AlignmentFile(str(bam), "wb", header=header):
        pass
    vcf = tmp_path / "s.vcf.gz"
    vh = pysam.VariantHeader()
    vh.add_line("##bcftools_viewVersion=1.98+htslib-1.98")
    vh.add_line("##bedside_freebayesVersion=v9.9.9")
    vh.add_line("##contig=<ID=chr1,length=1000>")
    with pysam.VariantFile(str(vcf), "wz", header=vh):
        pass
    fastp = tmp_path / "T.L1.json"
    fastp.write_text(json.dumps({"summary": {"fastp_version": "0.97.0"}}))
    got = recorded_tool_versions([str(bam)], [str(vcf), None], [str(fastp)])
    assert got == {"bcftools": "1.98 (recorded in s.vcf.gz)", "bwa": "0.7.99-test (recorded in T.bam)",
                   "freebayes": "v9.9.9 (recorded in s.vcf.gz)",
                   "fastp": "0.97.0 (recorded in T.L1.json)", "samtools": "1.99 (recorded in T.bam)"}
    # nothing recorded, nothing claimed
    assert recorded_tool_versions([], [], []) == {}


def test_germline_calls_record_the_caller_versions_that_ran(tmp_path):
    """The germline job writes the versions of bcftools and freebayes it ran into its VCF header."""
    import shutil

    import pytest

    from bedside.calling import germline as g

    if not (shutil.which("bcftools") and shutil.which("freebayes")):
        pytest.skip("bcftools and freebayes are needed (Debian packages)")
    hdr = pysam.VariantHeader()
    g._add_tool_versions(hdr, g.GermlineParams(caller="both"))
    keys = {r.key: r.value for r in hdr.records}
    assert keys["bedside_bcftoolsVersion"].split(".")[0].isdigit()
    assert keys["bedside_freebayesVersion"].startswith("v")
    hdr2 = pysam.VariantHeader()
    g._add_tool_versions(hdr2, g.GermlineParams(caller="bcftools", filter_model=""))
    assert {r.key for r in hdr2.records if r.key.startswith("bedside_")} == {"bedside_bcftoolsVersion"}
