"""Scatter/gather: chunks from the reference index (bedside.plan; optional targets BED, small contigs packed),
calling per chunk and gathering gives the same calls as calling the whole genome at once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pysam
import pytest

from bedside import plan
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


def test_chunks_follow_the_index_and_targets(tmp_path):
    fa = tmp_path / "ref.fa"
    fa.write_text(">c1\n" + "ACGT" * 250 + "N" * 2000 + "ACGT" * 250 + "\n>cN\n" + "N" * 1500 + "\n")
    contigs = plan.contig_lengths(fa, cache_dir=None)
    assert [c.samtools for c in plan.plan_chunks(contigs, 1000)] == [
        ["c1:1-1000"], ["c1:1001-2000"], ["c1:2001-3000"], ["c1:3001-4000"], ["cN:1-750"], ["cN:751-1500"]]
    # contigs shorter than half a chunk share one chunk
    assert [c.samtools for c in plan.plan_chunks(contigs, 5000)] == [["c1:1-4000"], ["cN:1-1500"]]
    assert [c.samtools for c in plan.plan_chunks(contigs, 9000)] == [["c1:1-4000", "cN:1-1500"]]
    bed = tmp_path / "t.bed"
    bed.write_text("c1\t100\t200\nc1\t300\t900\nc1\t3100\t3200\n")
    assert [c.samtools for c in plan.plan_chunks(contigs, 1000, bed)] == [["c1:101-900"], ["c1:3101-3200"]]
    assert [c.samtools for c in plan.plan_chunks(contigs, 4000, bed)] == [["c1:101-3200"]]
    bed.write_text("chr1\t100\t200\n")
    with pytest.raises(InputError, match="contig 'chr1' is not in the reference"):
        plan.plan_chunks(contigs, 1000, bed)


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["bcftools", "both"])
def test_scattered_equals_unscattered(cohort, tmp_path, caller):
    bams = [str(cohort.bams[s]) for s in sim.SAMPLES[:2]]
    chunks = plan.plan_chunks(plan.contig_lengths(cohort.ref, cache_dir=None), 7000)
    assert len(chunks) >= 8  # chrA 30 kb -> 5, chrB 20 kb -> 3, then the all-N chrN
    parts = []
    for c in chunks:
        out = tmp_path / f"{c.name}.bcf"
        assert main(["germline", "call", "--bam", *bams, "--ref", str(cohort.ref), "--region",
                     *c.samtools, "--caller", caller, "--out", str(out)]) == 0
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
    chunks = plan.plan_chunks(plan.contig_lengths(cohort.ref, cache_dir=None), 10000)
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


@pytest.mark.slow
def test_packed_chunk_equals_whole_genome(cohort, tmp_path):
    """A chunk of small contigs packed together (bedside.plan) calls every contig: germline (bcftools +
    freebayes, gVCF, joint) and somatic give the same records as one whole-genome run."""
    from bedside import plan

    contigs = plan.contig_lengths(cohort.ref, cache_dir=None)
    [packed] = plan.plan_chunks(contigs, sum(n for _, n in contigs))
    assert len(packed.regions) == len(contigs) >= 3
    bams = [str(cohort.bams[s]) for s in sim.SAMPLES[:2]]
    part, whole = tmp_path / "packed.bcf", tmp_path / "whole.bcf"
    assert main(["germline", "call", "--bam", *bams, "--ref", str(cohort.ref), "--region", *packed.samtools,
                 "--caller", "both", "--out", str(part)]) == 0
    assert main(["germline", "call", "--bam", *bams, "--ref", str(cohort.ref), "--caller", "both",
                 "--out", str(whole)]) == 0
    a, b = records(part), records(whole)
    assert len(a) > 100 and {r[0] for r in a} >= {"chrA", "chrB"} and a == b
    gvcfs = []
    for s in sim.SAMPLES[:2]:
        gv = tmp_path / f"{s}.g.vcf.gz"
        assert main(["germline", "gvcf", "--bam", str(cohort.bams[s]), "--ref", str(cohort.ref),
                     "--region", *packed.samtools, "--out", str(gv)]) == 0
        gvcfs.append(str(gv))
    jp, jw = tmp_path / "joint.packed.bcf", tmp_path / "joint.whole.bcf"
    assert main(["germline", "joint", "--gvcf", *gvcfs, "--ref", str(cohort.ref), "--region",
                 *packed.samtools, "--out", str(jp)]) == 0
    assert main(["germline", "joint", "--gvcf", *gvcfs, "--ref", str(cohort.ref), "--out", str(jw)]) == 0
    assert records(jp) == records(jw) and len(records(jp)) > 100
    sp, sw = tmp_path / "somatic.packed.vcf.gz", tmp_path / "somatic.whole.vcf.gz"
    for out, extra in ((sp, ["--region", *packed.samtools]), (sw, [])):
        assert main(["somatic", "--tumor", bams[0], "--tumor-only", "--ref", str(cohort.ref),
                     *extra, "--out", str(out)]) == 0
    def somatic_records(vcf):
        with pysam.VariantFile(str(vcf)) as vf:
            return [(r.chrom, r.pos, r.ref, r.alts, tuple(r.filter), r.info.get("TLOD")) for r in vf]

    assert somatic_records(sp) == somatic_records(sw) and len(somatic_records(sp)) > 0


@pytest.mark.slow
def test_reassembly_scattered_equals_unscattered(cohort, tmp_path):
    """One BAM, local reassembly on (the default): chunk boundaries cut through the middle of active
    regions, and the gathered chunks still give the same records as one unscattered run (a region is
    called by the chunk where it starts, from evidence read beyond the chunk)."""
    from bedside.calling import assembly

    bam = str(cohort.bams[sim.SAMPLES[0]])
    contigs = plan.contig_lengths(cohort.ref, cache_dir=None)
    with pysam.AlignmentFile(bam) as b, pysam.FastaFile(str(cohort.ref)) as fa:
        regions = [r for c, n in contigs for r in assembly.active_regions(b, fa, c, 0, n)]
    assert len(regions) >= 2, regions
    cuts: dict[str, list[int]] = {}
    for r in regions:
        cuts.setdefault(r.chrom, []).append((r.start + r.end) // 2)
    chunks = []
    for c, n in contigs:
        edges = [0, *sorted(cuts.get(c, []))[:4], n]
        chunks += [f"{c}:{a + 1}-{e}" for a, e in zip(edges, edges[1:], strict=False) if e > a]
    assert len(chunks) >= len(contigs) + 2
    common = ["--bam", bam, "--ref", str(cohort.ref), "--median-depth", "30"]
    parts = []
    for i, c in enumerate(chunks):
        out = tmp_path / f"part{i}.bcf"
        assert main(["germline", "call", *common, "--region", c, "--out", str(out)]) == 0
        parts.append(str(out))
    gathered, whole = tmp_path / "gathered.vcf.gz", tmp_path / "whole.vcf.gz"
    assert main(["germline", "gather", *parts, "--out", str(gathered)]) == 0
    assert main(["germline", "call", *common, "--out", str(whole)]) == 0
    a, b = records(gathered), records(whole)
    with pysam.VariantFile(str(whole)) as vf:
        assert sum("ASM" in r.info for r in vf) >= 2
    assert len(a) > 50 and a == b
