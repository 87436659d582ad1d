"""The case record wiring: resource versions (never null), assay scope, reproducible time, biomarkers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bedside import case as case_mod
from bedside.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


def _vcf(path: Path, header: list[str]) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write(
            "##fileformat=VCFv4.2\n"
            + "".join(h + "\n" for h in header)
            + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        )
    return path


def test_resource_versions_from_headers_never_null(tmp_path):
    clinvar = _vcf(
        tmp_path / "clinvar.vcf.gz", ["##fileDate=20261110", "##source=ClinVar", "##reference=GRCh38"]
    )
    pop = _vcf(tmp_path / "pop.vcf.gz", ['##INFO=<ID=AF,Number=A,Type=Float,Description="x">'])
    v = case_mod.resource_versions(str(pop), str(clinvar), [])
    assert v["ClinVar"] == "fileDate 20261110; ClinVar (clinvar.vcf.gz)"
    assert v["population frequencies"] == f"not recorded in {pop}"
    # nothing configured: says so
    v = case_mod.resource_versions(None, None, [])
    assert all(x.startswith("not configured") for x in v.values())
    # a stage VCF naming its resources (as `bedside somatic` does with ##bedside_population=file://...)
    stage = _vcf(
        tmp_path / "somatic.vcf.gz",
        [f"##bedside_population=file://{pop}", f"##bedside_clinvar=file://{clinvar}"],
    )
    v = case_mod.resource_versions(None, None, [None, str(stage)])
    assert v["ClinVar"].startswith("fileDate 20261110") and v["population frequencies"].startswith(
        "not recorded"
    )
    assert case_mod.vcf_header_version(tmp_path / "absent.vcf.gz").endswith("not found")


def test_median_depth_and_gene_coverage(tmp_path):
    dist = tmp_path / "s.mosdepth.global.dist.txt"
    dist.write_text(
        "chr1\t0\t1.00\ntotal\t80\t0.05\ntotal\t61\t0.49\ntotal\t60\t0.50\ntotal\t10\t0.99\ntotal\t0\t1.00\n"
    )
    assert case_mod.median_depth(dist) == 60.0
    regions = tmp_path / "s.regions.bed.gz"
    with gzip.open(regions, "wt") as fh:
        fh.write("c1\t0\t100\tG1\t50.0\nc1\t200\t300\tG1\t70.0\nc1\t400\t500\tG2\t10.00\n")
    assert case_mod.gene_mean_depth(regions) == {"G1": 60.0, "G2": 10.0}
    bad = tmp_path / "bad.txt"
    bad.write_text("total\tx\t0.5\n")
    with pytest.raises(InputError, match="bad.txt, line 1"):
        case_mod.median_depth(bad)


def test_generated_honours_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    assert case_mod.generated_timestamp() == "2025-12-01T00:00:00+00:00"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        case_mod.generated_timestamp()


GFF = """##gff-version 3
c1\t.\tgene\t1\t5000\t.\t+\t.\tID=gene:G1;Name=G1
c1\t.\tmRNA\t1\t5000\t.\t+\t.\tID=transcript:T1;Parent=gene:G1
c1\t.\texon\t101\t1100\t.\t+\t.\tParent=transcript:T1
c1\t.\tCDS\t101\t1100\t.\t+\t0\tParent=transcript:T1
c1\t.\tgene\t6001\t9000\t.\t+\t.\tID=gene:G2;Name=G2
c1\t.\tmRNA\t6001\t9000\t.\t+\t.\tID=transcript:T2;Parent=gene:G2
c1\t.\texon\t7001\t8000\t.\t+\t.\tParent=transcript:T2
c1\t.\tCDS\t7001\t8000\t.\t+\t0\tParent=transcript:T2
"""


def test_assay_scope(tmp_path):
    gff = tmp_path / "g.gff3"
    gff.write_text(GFF)
    cov = tmp_path / "t.quantized.bed.gz"
    with gzip.open(cov, "wt") as fh:  # G1 CDS 100-1100 half callable, G2 7000-8000 not
        fh.write("c1\t0\t600\t20:inf\nc1\t600\t10000\t1:20\n")
    tmb = {"callable_bp": 600, "coding_callable_bp": 500, "min_depth": 20}
    a = case_mod.build_assay(
        tmb=tmb, gff3=str(gff), targets=None, build="b1", samples={"tumor": "T"}, coverage={"tumor": str(cov)}
    )
    assert a["kind"] == "whole reference" and a["genes"] == ["G1", "G2"]
    assert a["callable_mb"] == 0.0006 and a["coding_callable_mb"] == 0.0005 and a["min_depth"] == 20
    assert {(r["gene"], r["fraction_at_min_depth"]) for r in a["coverage"]} == {("G1", 0.5), ("G2", 0.0)}
    bed = tmp_path / "targets.bed"
    bed.write_text("c1\t0\t2000\n")
    a = case_mod.build_assay(tmb=tmb, gff3=str(gff), targets=str(bed))
    assert a["kind"] == "targets" and a["genes"] == ["G1"] and a["target_mb"] == 0.002


@pytest.mark.skipif(
    not (ROOT / "results" / "PT01" / "annotate" / "somatic.vcf.gz").exists()
    or not (DEMO / "reference" / "genes.gff3").exists(),
    reason="demo results not built",
)
def test_build_case_on_demo_patient(tmp_path, monkeypatch):
    """The demo's PT01: TMB from 0.03 Mb coding territory is not assessable; versions are all strings."""
    from bedside import biomarkers

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    res = ROOT / "results" / "PT01"
    tmb = biomarkers.compute_tmb(
        res / "somatic" / "PT01.vcf.gz",
        res / "qc" / "mosdepth" / "PT01-T.quantized.bed.gz",
        gff3=DEMO / "reference" / "genes.gff3",
    )
    tmb_json = tmp_path / "tmb.json"
    tmb_json.write_text(json.dumps(tmb))
    kwargs = dict(
        tumor_sample="PT01-T",
        normal_sample="PT01-N",
        somatic_vcf=str(res / "annotate" / "somatic.vcf.gz"),
        germline_vcf=str(res / "annotate" / "germline.vcf.gz"),
        pgx_json=str(res / "pgx" / "pgx.json"),
        tmb_json=str(tmb_json),
        build="bedside-demo-1",
        gff3=str(DEMO / "reference" / "genes.gff3"),
        clinvar=str(DEMO / "resources" / "clinvar.vcf.gz"),
    )
    ctx = case_mod.load_context(res / "clinical" / "context.json")
    case = case_mod.build_case("PT01", ctx, **kwargs)
    (tmb_b,) = case.biomarkers
    assert tmb_b.status == "not_assessable" and "< 0.8 Mb minimum" in tmb_b.reason
    assert case.tmb is None and tmb_b.classification is None
    assert all(isinstance(v, str) and v for v in case.versions.values())
    for key in ("ClinVar", "population frequencies", "oncotree", "interaction rules", "CPIC"):
        assert key in case.versions
    assert case.generated == "2025-12-01T00:00:00+00:00"
    assert "BRAF" in case.assay["genes"]
    from bedside.model import to_dict

    again = case_mod.build_case("PT01", ctx, **kwargs)
    assert json.dumps(to_dict(case)) == json.dumps(to_dict(again))  # same inputs, same bytes
