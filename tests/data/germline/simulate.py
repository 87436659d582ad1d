"""A tiny germline cohort for the germline/scatter/contig tests, made with real tools.

A seeded random reference (chrA 30 kb, chrB 20 kb, chrN 20 kb of N), variants planted on two
haplotypes per sample with known genotypes, reads simulated from each haplotype with ART
(art_illumina, HiSeq 2500 profile, fixed seed), aligned with bwa mem, sorted and indexed with samtools.
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

CONTIGS = {"chrA": 30000, "chrB": 20000}
N_CONTIG = ("chrN", 20000)
SAMPLES = ("S1", "S2", "S3")
COVERAGE_PER_HAPLOTYPE = 15


@dataclass(frozen=True)
class Planted:
    chrom: str
    pos: int  # 1-based
    ref: str
    alt: str
    genotypes: tuple[tuple[int, int], ...]  # per sample in SAMPLES order


@dataclass
class Cohort:
    dir: Path
    ref: Path
    bams: dict[str, Path]
    variants: list[Planted]

    def genotype(self, v: Planted, sample: str) -> tuple[int, int]:
        return v.genotypes[SAMPLES.index(sample)]


def _sh(args, **kw):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, **kw)


def _plant(rnd: random.Random, seqs: dict[str, str]) -> list[Planted]:
    out = []
    gts = [(0, 1), (1, 0), (1, 1), (0, 0)]
    for chrom, seq in seqs.items():
        pos = 400
        i = 0
        while pos < len(seq) - 400:
            ref = seq[pos - 1]
            kind = i % 5
            if kind == 3:  # deletion of 2-4 bases
                n = 2 + i % 3
                r, a = seq[pos - 1:pos + n], seq[pos - 1]
            elif kind == 4:  # insertion of 1-3 bases
                r, a = ref, ref + "".join(rnd.choice("ACGT") for _ in range(1 + i % 3))
            else:
                r, a = ref, rnd.choice([b for b in "ACGT" if b != ref])
            genotypes = tuple(rnd.choice(gts) for _ in SAMPLES)
            if all(g == (0, 0) for g in genotypes):
                genotypes = ((0, 1),) + genotypes[1:]
            out.append(Planted(chrom, pos, r, a, genotypes))
            pos += rnd.randint(250, 450)
            i += 1
    return out


def _haplotype(seq: str, variants: list[Planted], sample_idx: int, hap: int) -> str:
    parts, last = [], 0
    for v in sorted(variants, key=lambda v: v.pos):
        if v.genotypes[sample_idx][hap] == 1:
            parts.append(seq[last:v.pos - 1])
            parts.append(v.alt)
            last = v.pos - 1 + len(v.ref)
    parts.append(seq[last:])
    return "".join(parts)


def _fasta(path: Path, records: dict[str, str]) -> None:
    with open(path, "w") as fh:
        fh.writelines(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n" for name, seq in records.items())


def build(directory: Path, seed: int = 11) -> Cohort:
    directory.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    seqs = {c: "".join(rnd.choice("ACGT") for _ in range(n)) for c, n in CONTIGS.items()}
    variants = _plant(rnd, seqs)
    ref = directory / "ref.fa"
    _fasta(ref, {**seqs, N_CONTIG[0]: "N" * N_CONTIG[1]})
    _sh(["samtools", "faidx", ref])
    _sh(["bwa", "index", ref])
    bams = {}
    for si, sample in enumerate(SAMPLES):
        fqs = {1: [], 2: []}
        for hap in (0, 1):
            hap_fa = directory / f"{sample}.hap{hap}.fa"
            _fasta(hap_fa, {c: _haplotype(s, [v for v in variants if v.chrom == c], si, hap)
                            for c, s in seqs.items()})
            prefix = directory / f"{sample}.hap{hap}."
            _sh(["art_illumina", "-ss", "HS25", "-i", hap_fa, "-p", "-l", 100, "-f",
                 COVERAGE_PER_HAPLOTYPE, "-m", 300, "-s", 30, "-rs", seed + 10 * si + hap, "-na",
                 "-q", "-o", prefix])
            fqs[1].append(Path(f"{prefix}1.fq"))
            fqs[2].append(Path(f"{prefix}2.fq"))
        for r in (1, 2):
            with open(directory / f"{sample}_R{r}.fq", "wb") as out:
                for f in fqs[r]:
                    out.write(f.read_bytes())
                    f.unlink()
        bam = directory / f"{sample}.bam"
        rg = f"@RG\\tID:{sample}\\tSM:{sample}\\tPL:ILLUMINA"
        aln = subprocess.Popen(["bwa", "mem", "-t", "2", "-R", rg, str(ref),
                                str(directory / f"{sample}_R1.fq"), str(directory / f"{sample}_R2.fq")],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        _sh(["samtools", "sort", "-o", bam, "-"], stdin=aln.stdout)
        assert aln.wait() == 0
        _sh(["samtools", "index", bam])
        bams[sample] = bam
    return Cohort(directory, ref, bams, variants)


_CACHE: dict[str, Cohort] = {}


def cohort(tmp_root: Path) -> Cohort:
    """Build once per test session (several test modules share it)."""
    if "c" not in _CACHE:
        _CACHE["c"] = build(tmp_root / "germline-cohort")
    return _CACHE["c"]
