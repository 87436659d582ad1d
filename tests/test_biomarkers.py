"""TMB definition, assessability and the exact Poisson interval (bedside.biomarkers, `bedside tmb`)."""

from __future__ import annotations

import gzip
import json
import math
import shutil
import subprocess

import pytest

from bedside import biomarkers
from bedside.errors import InputError

# Exact Poisson 95 % limits (Garwood), as tabulated e.g. in Ulm 1990 / the chi-square relation:
# k=0: (0, 3.6889); k=1: (0.0253, 5.5716); k=10: (4.7954, 18.3904); k=50: (37.1110, 65.9193).
TABLE = [
    (0, 0.0, 3.6889),
    (1, 0.0253, 5.5716),
    (2, 0.2422, 7.2247),
    (10, 4.7954, 18.3904),
    (50, 37.1110, 65.9193),
]


@pytest.mark.parametrize("k,lo,hi", TABLE)
def test_poisson_ci_matches_table(k, lo, hi):
    got_lo, got_hi = biomarkers.poisson_ci(k)
    assert got_lo == pytest.approx(lo, abs=6e-4)
    assert got_hi == pytest.approx(hi, abs=6e-4)


def test_gamma_quantile_inverts_the_incomplete_gamma():
    for a in (0.5, 1, 3, 17.5, 200):
        for p in (0.001, 0.025, 0.5, 0.975, 0.999):
            x = biomarkers.gamma_quantile(a, p)
            assert biomarkers._gammainc_lower(a, x) == pytest.approx(p, abs=1e-9)
    # P(1, x) = 1 - exp(-x) in closed form
    assert biomarkers.gamma_quantile(1, 0.975) == pytest.approx(-math.log(0.025), rel=1e-9)


def test_small_territory_is_not_assessable_with_reason():
    b = biomarkers.tmb_biomarker(6, 330_000)
    assert b.status == "not_assessable"
    assert b.value is None and b.classification is None and b.ci_low is None
    assert b.reason == "0.33 Mb callable coding territory < 0.8 Mb minimum"
    assert b.count == 6 and b.territory_mb == 0.33
    assert "not assessable" in biomarkers.display(b) and "High" not in biomarkers.display(b)


def test_assessable_high_and_low_with_interval():
    high = biomarkers.tmb_biomarker(30, 1_000_000)
    assert high.status == "assessable" and high.classification == "High" and high.value == 30.0
    lo, hi = biomarkers.poisson_ci(30)
    assert (high.ci_low, high.ci_high) == (round(lo, 2), round(hi, 2))
    assert high.ci_low < 30 < high.ci_high
    low = biomarkers.tmb_biomarker(4, 1_100_000)
    assert low.classification == "Low" and low.value == pytest.approx(3.64, abs=0.01)
    # 9 mutations / 0.8 Mb = 11.25: High, but the interval reaches below 10 and says so
    border = biomarkers.tmb_biomarker(9, 800_000)
    assert border.classification == "High" and "below" in border.reason
    assert biomarkers.tmb_biomarker(9, 800_000, min_mb=1.0).status == "not_assessable"
    assert all(c.pmid for c in high.citations)
    assert "synonymous included" in high.definition


def test_interval_helpers():
    a = biomarkers.merge({"c": [(0, 10), (5, 20), (30, 40)]})
    b = biomarkers.merge({"c": [(8, 35)], "d": [(0, 5)]})
    x = biomarkers.intersect(a, b)
    assert x["c"].tolist() == [[8, 20], [30, 35]] and biomarkers.total_bp(x) == 17
    assert biomarkers.contains(x, "c", 8) and not biomarkers.contains(x, "c", 20)
    assert not biomarkers.contains(x, "d", 1)


GFF = """##gff-version 3
c1\t.\tgene\t1\t5000\t.\t+\t.\tID=gene:G1;Name=G1
c1\t.\tmRNA\t1\t5000\t.\t+\t.\tID=transcript:T1;Parent=gene:G1
c1\t.\texon\t101\t1100\t.\t+\t.\tParent=transcript:T1
c1\t.\tCDS\t101\t1100\t.\t+\t0\tParent=transcript:T1
c1\t.\texon\t2001\t3000\t.\t+\t.\tParent=transcript:T1
c1\t.\tCDS\t2001\t3000\t.\t+\t0\tParent=transcript:T1
"""

VCF = """##fileformat=VCFv4.2
##contig=<ID=c1,length=10000>
##FILTER=<ID=LowVAF,Description="low">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
c1\t150\t.\tA\tC\t.\tPASS\t.
c1\t500\t.\tAT\tA\t.\tPASS\t.
c1\t600\t.\tA\tG\t.\tLowVAF\t.
c1\t1500\t.\tA\tG\t.\tPASS\t.
c1\t2500\t.\tA\tG\t.\tPASS\t.
c1\t2900\t.\tA\tG\t.\tPASS\t.
"""


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
def test_tmb_command_counts_coding_callable_only(tmp_path):
    from bedside.commands import tmb as tmb_cmd
    from bedside.cli import build_parser

    (tmp_path / "g.gff3").write_text(GFF)
    vcf = tmp_path / "s.vcf"
    vcf.write_text(VCF)
    subprocess.run(["bgzip", "-f", str(vcf)], check=True)
    cov = tmp_path / "cov.bed.gz"
    with gzip.open(cov, "wt") as fh:  # callable 0-2800: covers CDS 100-1100 and 2000-2800 (1800 bp)
        fh.write("c1\t0\t2800\t20:inf\nc1\t2800\t10000\t1:20\n")
    parser = build_parser()
    out = tmp_path / "tmb.json"
    args = parser.parse_args(
        [
            "tmb",
            "--vcf",
            f"{vcf}.gz",
            "--coverage",
            str(cov),
            "--gff3",
            str(tmp_path / "g.gff3"),
            "--min-coding-mb",
            "0.001",
            "--out",
            str(out),
        ]
    )
    assert tmb_cmd.run(args) == 0
    res = json.loads(out.read_text())
    assert res["coding_callable_bp"] == 1800
    assert res["coding_count"] == 3  # 150 SNV, 500 del, 2500 SNV; 600 not PASS, 1500 intron, 2900 uncallable
    assert res["coding_snv"] == 2 and res["coding_indel"] == 1
    b = res["biomarker"]
    assert b["status"] == "assessable" and b["value"] == pytest.approx(3 / 0.0018, abs=0.01)
    assert res["count"] == 4  # the all-territory figure (calling.somatic) is kept alongside
    # default minimum: not assessable, with the territory in the reason
    args = parser.parse_args(
        [
            "tmb",
            "--vcf",
            f"{vcf}.gz",
            "--coverage",
            str(cov),
            "--gff3",
            str(tmp_path / "g.gff3"),
            "--out",
            str(out),
        ]
    )
    tmb_cmd.run(args)
    b = json.loads(out.read_text())["biomarker"]
    assert (
        b["status"] == "not_assessable"
        and b["reason"] == "0.00 Mb callable coding territory < 0.8 Mb minimum"
    )
    # without a GFF3 the verdict says why
    args = parser.parse_args(["tmb", "--vcf", f"{vcf}.gz", "--coverage", str(cov), "--out", str(out)])
    tmb_cmd.run(args)
    assert "--gff3" in json.loads(out.read_text())["biomarker"]["reason"]
    # coding BED for mosdepth --by
    bed = tmp_path / "coding.bed"
    args = parser.parse_args(["tmb", "--gff3", str(tmp_path / "g.gff3"), "--write-coding-bed", str(bed)])
    assert tmb_cmd.run(args) == 0
    assert bed.read_text() == "c1\t100\t1100\tG1\nc1\t2000\t3000\tG1\n"
    with pytest.raises(InputError, match="--out"):
        tmb_cmd.run(parser.parse_args(["tmb", "--vcf", f"{vcf}.gz", "--coverage", str(cov)]))
