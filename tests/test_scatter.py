"""Scatter/gather: chunks from the reference index (all-N chunks skipped, optional targets BED), calling
per chunk and gathering gives the same calls as calling the whole genome at once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pysam
import pytest

from bedside import regions
from bedside.calling import germline as g
from bedside.cli import main
from bedside.errors import InputError

from .conftest import require_tools
from .test_germline import load_sim

sim = load_sim()


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    require_tools("bwa", "samtools", "bcftools", "art_illumina", "freebayes")
    return sim.cohort(tmp_path_factory.getbasetemp())


def records(vcf: Path) -> list[tuple]:
    with pysam.VariantFile(str(vcf)) as vf:
        return [(r.chrom, r.pos, r.ref, r.alts, round(r.qual, 2), tuple(r.filter),
                 tuple(tuple(s["GT"]) for s in r.samples.values())) for r in vf]


def test_chunks_skip_all_n_and_follow_targets(tmp_path):
    fa = tmp_path / "ref.fa"
    fa.write_text(">c1\n" + "ACGT" * 250 + "N" * 2000 + "ACGT" * 250 + "\n>cN\n" + "N" * 1500 + "\n")
    all_chunks = regions.chunks(fa, 1000)
    assert [r.samtools for r in all_chunks] == ["c1:1-1000", "c1:1001-2000", "c1:2001-3000",
                                                "c1:3001-4000", "cN:1-1000", "cN:1001-1500"]
    kept = regions.chunks(fa, 1000, skip_all_n=True)
    assert [r.samtools for r in kept] == ["c1:1-1000", "c1:3001-4000"]
    bed = tmp_path / "t.bed"
    bed.write_text("c1\t100\t200\nc1\t300\t900\nc1\t3100\t3200\n")
    assert [r.samtools for r in regions.chunks(fa, 1000, bed, skip_all_n=True)] == [
        "c1:101-900", "c1:3101-3200"]
    bed.write_text("chr1\t100\t200\n")
    with pytest.raises(InputError, match="contig 'chr1' is not in the reference"):
        regions.chunks(fa, 1000, bed)


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["bcftools", "both"])
def test_scattered_equals_unscattered(cohort, tmp_path, caller):
    bams = [str(cohort.bams[s]) for s in sim.SAMPLES[:2]]
    chunks = regions.chunks(cohort.ref, 7000, skip_all_n=True)
    assert len(chunks) == 8  # chrA 30 kb -> 5, chrB 20 kb -> 3; chrN (all N) skipped
    assert all(c.chrom != "chrN" for c in chunks)
    parts = []
    for c in chunks:
        out = tmp_path / f"{c.name}.bcf"
        assert main(["germline", "call", "--bam", *bams, "--ref", str(cohort.ref), "--region",
                     c.samtools, "--caller", caller, "--out", str(out)]) == 0
        parts.append(str(out))
    gathered = tmp_path / "gathered.vcf.gz"
    assert main(["germline", "gather", *parts, "--out", str(gathered)]) == 0
    whole = tmp_path / "whole.vcf.gz"
    assert main(["germline", "call", "--bam", *bams, "--ref", str(cohort.ref), "--caller", caller,
                 "--out", str(whole)]) == 0
    a, b = records(gathered), records(whole)
    assert len(a) > 100
    assert a == b
    # gathered output is sorted and indexed
    assert Path(str(gathered) + ".tbi").exists()
    subprocess.run(["bcftools", "view", "-H", "-r", "chrB:1-5000", str(gathered)], check=True,
                   capture_output=True)


@pytest.mark.slow
def test_scattered_gvcf_joint_equals_unscattered(cohort, tmp_path):
    chunks = regions.chunks(cohort.ref, 10000, skip_all_n=True)
    gvcfs = []
    for s in sim.SAMPLES:
        parts = []
        for c in chunks:
            out = tmp_path / f"{s}.{c.name}.g.bcf"
            g.call_gvcf(cohort.bams[s], cohort.ref, out, g.GermlineParams(), region=c.samtools)
            parts.append(out)
        gv = tmp_path / f"{s}.g.vcf.gz"
        g.gather(parts, gv)
        gvcfs.append(gv)
    joint_parts = []
    for c in chunks:
        out = tmp_path / f"joint.{c.name}.bcf"
        g.joint_genotype(gvcfs, cohort.ref, out, g.GermlineParams(), region=c.samtools)
        joint_parts.append(out)
    gathered = tmp_path / "joint.vcf.gz"
    g.gather(joint_parts, gathered)
    whole = tmp_path / "joint.whole.vcf.gz"
    g.joint_genotype(gvcfs, cohort.ref, whole, g.GermlineParams())
    a, b = records(gathered), records(whole)
    assert len(a) > 100 and a == b
