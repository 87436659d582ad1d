"""Read simulation: ART mixtures give the expected allele fractions, and reads are reproducible."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pysam
import pytest

from bedside.demo import generate as gen
from bedside.demo.patients import PROTECTED, plan_variants
from bedside.demo.reference import build_reference
from bedside.demo.simulate import clone_shares, simulate_mixture
from bedside.errors import InputError

pytestmark = pytest.mark.slow


def _md5(p: Path) -> str:
    return hashlib.md5(p.read_bytes()).hexdigest()


def _fasta(path: Path, name: str, seq: str) -> Path:
    path.write_text(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    return path


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    """20 kb reference; haplotype A carries SNVs at 0.3 and 0.1 (nested clones), B is reference."""
    d = tmp_path_factory.mktemp("mix")
    rng = random.Random(5)
    seq = "".join(rng.choice("ACGT") for _ in range(20_000))
    sites = {6_000: 0.3, 14_000: 0.1}
    alts = {p: next(b for b in "ACGT" if b != seq[p - 1]) for p in sites}
    ref = _fasta(d / "ref.fa", "c1", seq)
    vafs = list(sites.values())
    mix = [(_fasta(d / "hapB.fa", "c1", seq), 0.5)]
    for k, (carried, share) in enumerate(clone_shares(vafs)):
        s = list(seq)
        for i in carried:
            p = list(sites)[i]
            s[p - 1] = alts[p]
        mix.append((_fasta(d / f"clone{k}.fa", "c1", "".join(s)), share))
    r1, r2 = d / "r1.fq.gz", d / "r2.fq.gz"
    counts = simulate_mixture(mix, 200, 150, 350, r1, r2, seed=11)
    return SimpleNamespace(d=d, ref=ref, mix=mix, sites=sites, alts=alts, r1=r1, r2=r2, counts=counts)


def test_mixture_is_deterministic(mixture, tmp_path):
    m = mixture
    a1, a2 = tmp_path / "a1.fq.gz", tmp_path / "a2.fq.gz"
    assert simulate_mixture(m.mix, 200, 150, 350, a1, a2, seed=11) == m.counts
    assert _md5(a1) == _md5(m.r1) and _md5(a2) == _md5(m.r2)
    b1, b2 = tmp_path / "b1.fq.gz", tmp_path / "b2.fq.gz"
    simulate_mixture(m.mix, 200, 150, 350, b1, b2, seed=12)
    assert _md5(b1) != _md5(m.r1)


def test_mixture_reads_are_paired_and_unique(mixture):
    m = mixture
    with gzip.open(m.r1, "rt") as f1, gzip.open(m.r2, "rt") as f2:
        n1 = [line.split("/")[0] for i, line in enumerate(f1) if i % 4 == 0]
        n2 = [line.split("/")[0] for i, line in enumerate(f2) if i % 4 == 0]
    assert n1 == n2 and len(set(n1)) == len(n1) == sum(m.counts.values())
    # total pairs ≈ coverage * length / (2 * read length)
    assert abs(len(n1) - 200 * 20_000 / 300) / (200 * 20_000 / 300) < 0.05


def test_mixture_allele_fractions(mixture):
    """Align with bwa mem and check the observed alt fraction at each planted site."""
    m = mixture
    subprocess.run(["bwa", "index", str(m.ref)], check=True, capture_output=True)
    bam = m.d / "mix.bam"
    bwa = subprocess.Popen(["bwa", "mem", "-t", "2", "-v", "1", str(m.ref), str(m.r1), str(m.r2)],
                           stdout=subprocess.PIPE)
    subprocess.run(["samtools", "sort", "-o", str(bam), "-"], stdin=bwa.stdout, check=True, capture_output=True)
    assert bwa.wait() == 0
    pysam.index(str(bam))
    with pysam.AlignmentFile(str(bam)) as fh:
        for pos, vaf in m.sites.items():
            counts_acgt = fh.count_coverage("c1", pos - 1, pos, quality_threshold=13)
            by_base = {b: counts_acgt[i][0] for i, b in enumerate("ACGT")}
            depth = sum(by_base.values())
            observed = by_base[m.alts[pos]] / depth
            assert depth > 120
            assert abs(observed - vaf) < 0.06, (pos, vaf, observed, depth)


def test_mixture_rejects_bad_shares(tmp_path):
    fa = _fasta(tmp_path / "x.fa", "c1", "ACGT" * 500)
    with pytest.raises(InputError, match="sum to 1"):
        simulate_mixture([(fa, 0.4)], 10, 100, 300, tmp_path / "1.fq.gz", tmp_path / "2.fq.gz", seed=1)
    with pytest.raises(InputError, match="not found"):
        simulate_mixture([(tmp_path / "missing.fa", 1.0)], 10, 100, 300, tmp_path / "1.fq.gz",
                         tmp_path / "2.fq.gz", seed=1)
    assert not list(tmp_path.glob("*.fq.gz"))


def test_full_demo_reads_are_reproducible(tmp_path):
    """The full build's FASTQ files are reproducible: re-simulating a unit gives the same bytes."""
    a = tmp_path / "a"
    ma = gen.generate(a, gen.DEFAULT_SEED)
    fa = {f["path"]: f["md5"] for f in ma["files"]}
    units = [r.split("\t") for r in (a / "units.tsv").read_text().splitlines()[1:]]
    assert len(units) == 2 * 4 + 1  # 8 samples, PT01-T over two lanes
    for u in units:
        assert u[2] in fa and u[3] in fa
        assert (a / u[2]).stat().st_size > 1_000_000
    assert json.loads((a / "MANIFEST.json").read_text())["reads"] is True
    # the two lanes of the split sample hold different reads
    lanes = [u for u in units if u[0] == "PT01-T"]
    assert len(lanes) == 2 and fa[lanes[0][2]] != fa[lanes[1][2]]
    # again, from scratch, for one patient's units
    ref = build_reference(gen.DEFAULT_SEED, PROTECTED)
    plan = plan_variants(ref, gen.DEFAULT_SEED)
    work, again = tmp_path / "hap", tmp_path / "again"
    work.mkdir()
    jobs = gen.read_jobs(ref, plan, work, gen.DEFAULT_SEED, patients=["PT01"])
    assert {j.sample for j in jobs} == {"PT01-T", "PT01-N"} and len(jobs) == 3
    for job in jobs:
        gen.run_read_job(job, again)
        assert _md5(again / job.fq1) == fa[job.fq1] and _md5(again / job.fq2) == fa[job.fq2]
