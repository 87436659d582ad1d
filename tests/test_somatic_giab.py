"""Real data (GIAB NA12878, hg19 chr20:10.0-10.1 Mb, ../shared/data): the BAM's reads split at random into
two halves named as tumor and normal of one patient. Every variant is germline, so a tumor/normal call must
PASS nothing; tumor-only, the GIAB truth SNVs must be found (and marked tumor-only)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bedside.cli import main

DATA = Path(__file__).resolve().parents[1] / "../shared/data/giab-na12878-chr20"
BAM = DATA / "NA12878_S1.chr20.10_10p1mb.bam"
REF = DATA / "ucsc.hg19.chr20.unittest.fasta.gz"
TRUTH = DATA / "test_nist.b37_chr20_100kbp_at_10mb.vcf.gz"
REGION = "chr20:10000000-10100000"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not BAM.exists(), reason=f"shared GIAB data absent ({DATA})"),
    pytest.mark.skipif(any(shutil.which(t) is None for t in ("samtools", "bcftools")),
                       reason="needs samtools and bcftools"),
]


def sh(*args) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    d = tmp_path_factory.mktemp("giab")
    out = {}
    raw1, raw2 = d / "h1.bam", d / "h2.bam"
    sh("samtools", "view", "-b", "--subsample", "0.5", "--subsample-seed", "1", "-o", raw1, "-U", raw2, BAM)
    for raw, role in ((raw1, "T"), (raw2, "N")):
        bam = d / f"NA12878-{role}.bam"
        sh("samtools", "addreplacerg", "-m", "overwrite_all", "-r", f"@RG\tID:NA12878-{role}\tSM:NA12878-{role}",
           "-o", bam, raw)
        sh("samtools", "index", bam)
        out[role] = bam
    return out


def test_self_pair_calls_no_somatic(halves, tmp_path):
    vcf = tmp_path / "self.vcf.gz"
    assert main(["somatic", "--tumor", str(halves["T"]), "--normal", str(halves["N"]), "--ref", str(REF),
                 "--region", REGION, "--out", str(vcf)]) == 0
    filters = sh("bcftools", "query", "-f", "%FILTER\n", vcf).split()
    assert len(filters) > 150  # the germline variants are seen ...
    assert "PASS" not in filters  # ... and none is called somatic


def test_tumor_only_finds_truth_snvs(halves, tmp_path):
    vcf = tmp_path / "to.vcf.gz"
    assert main(["somatic", "--tumor", str(halves["T"]), "--tumor-only", "--ref", str(REF), "--region", REGION,
                 "--out", str(vcf)]) == 0
    called = {tuple(x.split("\t")[:4]) for x in
              sh("bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t%INFO/TUMOR_ONLY\n", vcf).splitlines()
              if x.endswith("\t1")}
    truth = [tuple(x.split("\t")) for x in sh("bcftools", "query", "-i", 'TYPE="snp" && FILTER="PASS"', "-f",
                                              "%CHROM\t%POS\t%REF\t%ALT\n", TRUTH).splitlines()]
    truth = [t for t in truth if "," not in t[3]]
    found = sum(1 for t in truth if t in called)
    assert len(truth) > 150 and found / len(truth) >= 0.9, (found, len(truth))
