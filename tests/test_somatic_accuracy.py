"""Accuracy of `bedside somatic` on a simulated tumor/normal benchmark (smaller than
benchmarks/somatic_accuracy.py): somatic SNVs and indels at VAF 0.05/0.10/0.20/0.40, ~100x tumor, ~40x normal,
germline het/hom variants in both. Targets from issue 4."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bedside.calling.somatic import call_somatic
from bedside.demo.somatic_bench import evaluate, load_truth, make_bench

TOOLS = ("art_illumina", "bwa", "samtools", "bcftools")


@pytest.mark.slow
@pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}")
def test_accuracy_targets(tmp_path):
    b = make_bench(tmp_path, seed=5, length=100_000, n_contigs=2, per_band_snv=15, per_band_indel=6,
                   n_germline=80, tumor_cov=100, normal_cov=40)
    out = tmp_path / "calls.vcf.gz"
    call_somatic(b.tumor_bam, b.normal_bam, b.ref, out, threads=2)
    q = subprocess.run(["bcftools", "query", "-i", 'FILTER="PASS"', "-f", "%CHROM\t%POS\t%REF\t%ALT\n", str(out)],
                       check=True, capture_output=True, text=True).stdout
    calls = [(c, int(p), r, a) for c, p, r, a in (x.split("\t") for x in q.splitlines())]
    ev = evaluate(calls, load_truth(b.truth))
    assert ev.planted["vaf_0.05"] == 21
    for band in ("vaf_0.10", "vaf_0.20", "vaf_0.40"):
        assert ev.sensitivity[band] >= 0.95, ev
    assert ev.sensitivity["vaf_0.05"] >= 0.70, ev
    assert ev.precision >= 0.98, ev
    assert ev.germline_called_somatic == 0, ev
