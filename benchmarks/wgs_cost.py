#!/usr/bin/env python3
"""Whole-genome cost model (issue #14): each pipeline stage's cost per Mb and per read pair on a
real-size region, and the projected cost of a 30x WGS tumor/normal pair on N cores.

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python benchmarks/wgs_cost.py [--workdir /tmp/wgs_cost]
        [--region-mb 5] [--big-ref] [--quick] [--report-only WORKDIR/wgs_cost.json]

Data (all under --workdir, never in the repository):
- reference: the 63 Mb hg19 chr20 of shared/data/giab-na12878-chr20 keeps its ~1.3 Mb of real
  sequence; its N are filled with modelled human-like sequence (isochores, Alu/L1-like repeat families,
  segmental duplications, microsatellites, the hg19 N gaps, ~530 coding genes with a GFF3):
  benchmarks/wgs/py;
- reads: ART HiSeq X TruSeq 2x150 (insert 400 +- 60) over --region-mb starting at --start-mb (default
  9.0-14.0 Mb, which holds the 1.1 Mb real hg19 stretch), normal 30x (two haplotypes with planted
  germline SNVs/indels) and tumor 60x (the same haplotypes plus a clone carrying planted somatic
  SNVs/indels at VAF 0.2).

Each stage runs with the command line the workflow rule runs (workflow/rules/*.smk), under
/usr/bin/time (wall, user+sys CPU of the whole pipeline, peak RSS of the largest process), and where a
raw-tool equivalent exists the raw tool runs on the same input in the same run (ratio = Bedside / raw).
Per-chunk stages run one process per --chunk-mb chunk, as the scattered workflow does. The machine's
load (1-min load average and CPU used by other processes during each stage, from /proc/stat) is
recorded because the project machine is shared.

Prints a Markdown table of the stages, the per-Mb / per-million-pair costs, the 30x WGS T/N projection
on 2, 16 and 64 cores, and writes everything as JSON to WORKDIR/wgs_cost.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))

from bedside.calling import germline as gl  # noqa: E402

GIAB = Path(os.environ.get("BEDSIDE_GIAB_DIR", REPO.parent / "shared" / "data" / "giab-na12878-chr20"))
REAL_FASTA = GIAB / "ucsc.hg19.chr20.unittest.fasta.gz"
GIAB_BAM = GIAB / "NA12878_S1.chr20.10_10p1mb.bam"
PATIENT = "WGS01"
TUMOR, NORMAL = "WGS01-T", "WGS01-N"
HZ = os.sysconf("SC_CLK_TCK")

# 30x WGS tumor/normal pair projected (GRCh38)
GENOME_BP = 3_100_000_000  # read yield: coverage x genome length
CALLABLE_MB = 2_900  # non-N GRCh38 primary assembly, the chunked calling territory
READ_LEN = 150
NORMAL_X, TUMOR_X = 30, 60


# ---------------------------------------------------------------------------------------------
# the 63 Mb chromosome model
#
# The GIAB hg19 chr20 FASTA in shared/data is N except ~1.3 Mb (9.995-11.095 Mb and 59.776-60.001 Mb),
# too little to time alignment and calling per Mb. build_reference() keeps every real base of it
# at its own coordinate and fills the N with synthetic sequence built to load the aligner and callers
# roughly like a human chromosome does (all from one seeded numpy generator, so a seed gives the same
# bytes):
#
# - GC isochores: 50-300 kb blocks, GC drawn from 36-53 %;
# - interspersed repeat families like Alu (300 bp, ~10 % of the sequence, 4-20 % diverged copies) and
#   L1 (6 kb consensus, 5'-truncated copies, ~17 %, 3-20 % diverged), plus 30 other families of
#   100-3,000 bp (~8 %), each copy on a random strand;
# - microsatellites (1-6 bp units, 15-90 bp, ~2 %) and segmental duplications (10-60 kb copies with
#   1-4 % divergence, ~3 %);
# - the hg19 chr20 layout of N: 60 kb at the start and a ~3 Mb centromere gap (26.3-29.4 Mb);
# - protein-coding genes (~9 per Mb, as on chr20): ATG ... stop open reading frames split in 4-12
#   exons with GT..AG introns, written as an Ensembl-style GFF3 like the demo's.
#
# It is not the human genome: the repeat content is modelled, not copied, so per-Mb alignment cost on
# real GRCh38 can differ (--quick times bwa on the real hg19 stretch alone, and every run times the real
# GIAB reads, to show by how much).

CONTIG = "chr20"
LENGTH = 63_025_520
CENTROMERE = (26_319_569, 29_419_569)  # hg19 chr20 centromere gap (0-based half-open)
START_GAP = 60_000
BASES = np.frombuffer(b"ACGTN", dtype=np.uint8)
CODE = {b: i for i, b in enumerate(b"ACGTN")}
COMP = np.array([3, 2, 1, 0, 4], dtype=np.uint8)  # A<->T, C<->G, N
STOPS = ("TAA", "TAG", "TGA")
SENSE = tuple(a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in STOPS)


_LUT = np.full(256, 4, dtype=np.uint8)
for _b, _i in CODE.items():
    _LUT[_b] = _i


def read_fasta_codes(path: Path) -> np.ndarray:
    """One-contig FASTA (plain or gzip) as codes 0-4 (ACGTN)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        lines = [ln.strip() for ln in fh if not ln.startswith(b">")]
    raw = np.frombuffer(b"".join(lines).upper(), dtype=np.uint8)
    return _LUT[raw]


def _random_seq(rng: np.random.Generator, n: int, gc: float) -> np.ndarray:
    at = (1 - gc) / 2
    return rng.choice(4, size=n, p=[at, gc / 2, gc / 2, at]).astype(np.uint8)


def _mutate(rng: np.random.Generator, seq: np.ndarray, rate: float) -> np.ndarray:
    out = seq.copy()
    hit = rng.random(len(out)) < rate
    out[hit] = (out[hit] + rng.integers(1, 4, hit.sum())) % 4
    return out


def _revcomp(seq: np.ndarray) -> np.ndarray:
    return COMP[seq[::-1]]


@dataclass
class Gene:
    gene_id: str
    name: str
    strand: str
    exons: list[tuple[int, int]]  # 0-based half-open, ascending genomic order (coding exons)


def build_reference(real_fasta: Path, seed: int = 20261201, family_seed: int | None = None,
          keep_real: bool = True) -> tuple[np.ndarray, np.ndarray, list[Gene]]:
    """Return (codes, real_mask, genes) for the 63 Mb chr20 model.

    ``family_seed`` draws the repeat-family consensus sequences (default: ``seed``), so chromosome
    models built with different seeds can share one genome's repeat families; ``keep_real=False``
    models the real stretch too (for extra chromosomes that must not duplicate it)."""
    rng = np.random.default_rng(seed)
    fam = np.random.default_rng(seed if family_seed is None else family_seed)
    real = read_fasta_codes(real_fasta)
    if len(real) != LENGTH:
        raise ValueError(f"{real_fasta}: expected {LENGTH} bp of {CONTIG}, found {len(real)}")
    real_mask = real != 4
    if not keep_real:
        real_mask[:] = False
    seq = np.empty(LENGTH, dtype=np.uint8)
    # GC isochores
    pos = 0
    while pos < LENGTH:
        n = min(int(rng.integers(50_000, 300_000)), LENGTH - pos)
        seq[pos:pos + n] = _random_seq(rng, n, float(rng.choice([0.36, 0.39, 0.41, 0.44, 0.48, 0.53])))
        pos += n
    free = ~real_mask
    free[:START_GAP] = False
    free[CENTROMERE[0]:CENTROMERE[1]] = False
    span = int(free.sum())

    def place(copy: np.ndarray) -> bool:
        start = int(rng.integers(0, LENGTH - len(copy)))
        if not free[start:start + len(copy)].all():
            return False
        seq[start:start + len(copy)] = copy if rng.random() < 0.5 else _revcomp(copy)
        return True

    def family(consensus: np.ndarray, fraction: float, lo: float, hi: float, truncate: bool) -> None:
        target = fraction * span
        placed = 0
        while placed < target:
            cons = consensus
            if truncate:  # L1-like: most copies are 5'-truncated
                keep = int(min(len(cons), rng.exponential(900) + 150))
                cons = cons[len(cons) - keep:]
            copy = _mutate(rng, cons, float(rng.uniform(lo, hi)))
            if place(copy):
                placed += len(copy)

    family(_random_seq(fam, 300, 0.52), 0.10, 0.04, 0.20, False)  # Alu-like
    family(_random_seq(fam, 6_000, 0.40), 0.17, 0.03, 0.20, True)  # L1-like
    for _ in range(30):
        family(_random_seq(fam, int(fam.integers(100, 3_000)), 0.42), 0.08 / 30, 0.05, 0.25, False)
    # segmental duplications
    placed = 0
    while placed < 0.03 * span:
        n = int(rng.integers(10_000, 60_000))
        src = int(rng.integers(0, LENGTH - n))
        if free[src:src + n].all() and place(_mutate(rng, seq[src:src + n], float(rng.uniform(0.01, 0.04)))):
            placed += n
    # microsatellites
    placed = 0
    while placed < 0.02 * span:
        unit = rng.integers(0, 4, int(rng.integers(1, 7))).astype(np.uint8)
        n = int(rng.integers(15, 91))
        copy = np.resize(unit, n)
        if place(copy):
            placed += n
    genes = _plant_genes(rng, seq, free)
    seq[real_mask] = real[real_mask]
    seq[:START_GAP] = 4
    seq[CENTROMERE[0]:CENTROMERE[1]] = 4
    if keep_real and not (seq[real_mask] == real[real_mask]).all():
        raise AssertionError("real hg19 bases changed")
    for g in genes:
        check_gene(seq, g)
    return seq, real_mask, genes


def check_gene(seq: np.ndarray, g: Gene) -> None:
    """The spliced CDS of a planted gene is ATG ... stop with no stop in frame before the end."""
    cds = np.concatenate([seq[s:e] for s, e in g.exons])
    if g.strand == "-":
        cds = _revcomp(cds)
    text = BASES[cds].tobytes().decode()
    codons = [text[i:i + 3] for i in range(0, len(text), 3)]
    if len(text) % 3 or codons[0] != "ATG" or codons[-1] not in STOPS or any(c in STOPS for c in codons[:-1]):
        raise AssertionError(f"gene {g.name}: CDS is not a clean open reading frame")


def _codes(s: str) -> np.ndarray:
    return _LUT[np.frombuffer(s.encode(), dtype=np.uint8)]


def _plant_genes(rng: np.random.Generator, seq: np.ndarray, free: np.ndarray) -> list[Gene]:
    genes: list[Gene] = []
    n_genes = int(9 * LENGTH / 1e6)
    starts = np.sort(rng.choice(np.arange(100_000, LENGTH - 200_000, 50_000), size=n_genes, replace=False))
    for i, start in enumerate(starts):
        start = int(start + rng.integers(0, 20_000))
        n_exons = int(rng.integers(4, 13))
        exon_lens = [int(x) for x in rng.integers(30, 70, n_exons) * 3]
        intron_lens = [int(x) for x in rng.integers(800, 4_000, n_exons - 1)]
        span = sum(exon_lens) + sum(intron_lens)
        if not free[start:start + span].all():
            continue
        n_codons = sum(exon_lens) // 3
        codons = ["ATG"] + [SENSE[j] for j in rng.integers(0, len(SENSE), n_codons - 2)] \
            + [STOPS[int(rng.integers(0, 3))]]
        cds = "".join(codons)
        strand = "+" if rng.random() < 0.5 else "-"
        # lay out in transcript orientation, then flip for minus strand
        pieces: list[tuple[str, int]] = []
        k = 0
        for j, ln in enumerate(exon_lens):
            pieces.append((cds[k:k + ln], 1))
            k += ln
            if j < n_exons - 1:
                body = _random_seq(rng, intron_lens[j] - 4, 0.40)
                intron = "GT" + "".join("ACGT"[b] for b in body) + "AG"
                pieces.append((intron, 0))
        tx = _codes("".join(p for p, _ in pieces))
        if strand == "-":
            tx = _revcomp(tx)
        seq[start:start + len(tx)] = tx
        free[start:start + len(tx)] = False
        exons = []
        off = 0
        for p, is_exon in pieces:
            if is_exon:
                exons.append((off, off + len(p)))
            off += len(p)
        if strand == "-":
            exons = [(len(tx) - e, len(tx) - s) for s, e in reversed(exons)]
        genes.append(Gene(f"ENSG9{i + 1:010d}", f"WGS{i + 1:04d}", strand,
                          [(start + s, start + e) for s, e in exons]))
    return genes


def write_fasta(seq: np.ndarray, path: Path, width: int = 60) -> None:
    data = BASES[seq].tobytes()
    with open(path, "wb") as fh:
        fh.write(f">{CONTIG}\n".encode())
        for i in range(0, len(data), width):
            fh.write(data[i:i + width] + b"\n")


def write_gff3(genes: list[Gene], path: Path) -> None:
    lines = ["##gff-version 3", f"##sequence-region   {CONTIG} 1 {LENGTH}"]
    for g in genes:
        tid = g.gene_id.replace("ENSG", "ENST")
        pid = g.gene_id.replace("ENSG", "ENSP")
        lo, hi = g.exons[0][0] + 1, g.exons[-1][1]
        lines.append(f"{CONTIG}\tbedside_wgs\tgene\t{lo}\t{hi}\t.\t{g.strand}\t.\tID=gene:{g.gene_id};"
                     f"Name={g.name};biotype=protein_coding;gene_id={g.gene_id};version=1")
        lines.append(f"{CONTIG}\tbedside_wgs\tmRNA\t{lo}\t{hi}\t.\t{g.strand}\t.\tID=transcript:{tid};"
                     f"Parent=gene:{g.gene_id};Name={g.name}-201;biotype=protein_coding;"
                     f"transcript_id={tid};version=1;tag=basic,Ensembl_canonical,MANE_Select")
        order = g.exons if g.strand == "+" else list(reversed(g.exons))
        done = 0
        for rank, (s, e) in enumerate(order, 1):
            phase = (3 - done % 3) % 3
            lines.append(f"{CONTIG}\tbedside_wgs\texon\t{s + 1}\t{e}\t.\t{g.strand}\t.\t"
                         f"Parent=transcript:{tid};Name={tid}-E{rank};exon_number={rank};rank={rank}")
            lines.append(f"{CONTIG}\tbedside_wgs\tCDS\t{s + 1}\t{e}\t.\t{g.strand}\t{phase}\t"
                         f"ID=CDS:{tid};Parent=transcript:{tid};protein_id={pid}")
            done += e - s
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# timing


def cpu_busy_s() -> float:
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / HZ


@dataclass
class Run:
    stage: str
    sample: str
    jobs: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    rss_mb: float = 0.0
    load1: list[float] = field(default_factory=list)
    foreign_cpu: float = 0.0  # CPU seconds used by other processes on the machine meanwhile

    def add(self, wall: float, cpu: float, rss_mb: float, load1: float, foreign: float) -> None:
        self.jobs += 1
        self.wall += wall
        self.cpu += cpu
        self.rss_mb = max(self.rss_mb, rss_mb)
        self.load1.append(load1)
        self.foreign_cpu += max(0.0, foreign)


class Timer:
    def __init__(self, work: Path, verbose: bool = True):
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.runs: dict[tuple[str, str], Run] = {}
        self.verbose = verbose

    def run(self, stage: str, sample: str, commands: list[list[str]], out: Path | None = None) -> Run:
        """Run ``cmd1 | cmd2 | ...`` (stdout of the last into ``out``) under /usr/bin/time."""
        key = (stage, sample)
        r = self.runs.setdefault(key, Run(stage, sample))
        script = " | ".join(shlex.join(str(a) for a in c) for c in commands)
        if out is not None:
            script += " > " + shlex.quote(str(out))
        tag = f"{stage}.{sample}.{r.jobs}".replace("/", "_").replace(" ", "_")
        tfile = self.logs / f"{tag}.time"
        log = self.logs / f"{tag}.log"
        load = os.getloadavg()[0]
        busy0 = cpu_busy_s()
        with open(log, "wb") as err:
            proc = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(tfile),
                                   "bash", "-o", "pipefail", "-c", script], stdout=err, stderr=err)
        busy1 = cpu_busy_s()
        if proc.returncode != 0:
            sys.exit(f"stage {stage} ({sample}) failed (exit {proc.returncode}): {script}\n"
                     f"log: {log}\n{log.read_text(errors='replace')[-2000:]}")
        wall, user, sys_, rss_kb = tfile.read_text().split()[-4:]
        cpu = float(user) + float(sys_)
        r.add(float(wall), cpu, int(rss_kb) / 1024, load, (busy1 - busy0) - cpu)
        if self.verbose:
            print(f"  {stage:<28} {sample:<8} wall {float(wall):8.1f} s  cpu {cpu:8.1f} s  "
                  f"rss {int(rss_kb) / 1024:7.0f} MB  load {load:.1f}", file=sys.stderr, flush=True)
        return r


# ---------------------------------------------------------------------------------------------
# data


@dataclass
class Edit:
    pos: int  # 0-based on the reference
    ref: np.ndarray
    alt: np.ndarray
    kind: str  # snv | ins | del
    hap: str  # A | B | AB (hom) | S (somatic clone)


def plant(rng: np.random.Generator, seq: np.ndarray, start: int, end: int) -> list[Edit]:
    """Germline (SNV 1.0/kb, 2/3 het; indels 0.12/kb, 1-10 bp) and somatic (100/Mb, 10 % indels) edits."""
    length = end - start
    n_snv = int(length * 1.0e-3)
    n_indel = int(length * 0.12e-3)
    n_som = int(length * 100e-6)
    total = n_snv + n_indel + n_som
    pos = np.sort(rng.choice(np.arange(start + 200, end - 200, 12), size=total, replace=False))
    kinds = np.array(["snv"] * n_snv + ["indel"] * n_indel + ["som"] * n_som)
    rng.shuffle(kinds)
    edits: list[Edit] = []
    for p, k in zip(pos.tolist(), kinds.tolist()):
        if seq[p] == 4 or (seq[p:p + 12] == 4).any():
            continue
        if k == "som":
            hap = "S"
            k = "indel" if rng.random() < 0.1 else "snv"
        else:
            r = rng.random()
            hap = "AB" if r < 1 / 3 else ("A" if r < 2 / 3 else "B")
        if k == "snv":
            ref = seq[p:p + 1]
            alt = np.array([(int(ref[0]) + int(rng.integers(1, 4))) % 4], dtype=np.uint8)
            edits.append(Edit(p, ref, alt, "snv", hap))
        else:
            n = int(rng.integers(1, 11))
            if rng.random() < 0.5:  # insertion after the anchor base
                ins = rng.integers(0, 4, n).astype(np.uint8)
                edits.append(Edit(p, seq[p:p + 1], np.concatenate([seq[p:p + 1], ins]), "ins", hap))
            else:
                edits.append(Edit(p, seq[p:p + 1 + n], seq[p:p + 1], "del", hap))
    return edits


def haplotype(seq: np.ndarray, start: int, end: int, edits: list[Edit], haps: set[str]) -> np.ndarray:
    parts, cur = [], start
    for e in edits:
        if not (set(e.hap) & haps if e.hap != "S" else "S" in haps):
            continue
        parts.append(seq[cur:e.pos])
        parts.append(e.alt)
        cur = e.pos + len(e.ref)
    parts.append(seq[cur:end])
    return np.concatenate(parts)


def write_hap(codes: np.ndarray, name: str, path: Path) -> None:
    data = BASES[codes].tobytes()
    with open(path, "wb") as fh:
        fh.write(f">{name}\n".encode())
        for i in range(0, len(data), 60):
            fh.write(data[i:i + 60] + b"\n")


def run_parallel(cmds: list[list[str]], n: int, cwd: Path) -> None:
    pending = list(cmds)
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < n:
            running.append(subprocess.Popen(pending.pop(0), cwd=cwd, stdout=subprocess.DEVNULL))
        for p in list(running):
            if p.poll() is not None:
                if p.returncode != 0:
                    sys.exit(f"failed: {shlex.join(p.args)}")
                running.remove(p)
        time.sleep(0.2)


def simulate_reads(work: Path, seq: np.ndarray, start: int, end: int, edits: list[Edit], seed: int,
                   normal_x: float, tumor_x: float, threads: int) -> dict[str, tuple[Path, Path]]:
    sim = work / "sim"
    sim.mkdir(parents=True, exist_ok=True)
    haps = {"hapA": {"A"}, "hapB": {"B"}, "hapS": {"B", "S"}}
    for name, h in haps.items():
        write_hap(haplotype(seq, start, end, edits, h), name, sim / f"{name}.fa")
    vaf = 0.2
    plan = {  # sample -> [(haplotype, fold coverage)]
        NORMAL: [("hapA", normal_x / 2), ("hapB", normal_x / 2)],
        TUMOR: [("hapA", tumor_x / 2), ("hapB", tumor_x * (0.5 - vaf)), ("hapS", tumor_x * vaf)],
    }
    cmds = []
    for si, (sample, parts) in enumerate(plan.items()):
        for hi, (hap, fold) in enumerate(parts):
            cmds.append(["art_illumina", "-ss", "HSXt", "-p", "-l", str(READ_LEN), "-f", f"{fold:g}",
                         "-m", "400", "-s", "60", "-na", "-rs", str(seed + 10 * si + hi),
                         "-i", f"{hap}.fa", "-o", f"{sample}.{hap}."])
    run_parallel(cmds, threads, sim)
    fastqs = {}
    for sample, parts in plan.items():
        outs = []
        zips = []
        for mate in (1, 2):
            out = work / "fastq" / f"{sample}.R{mate}.fastq.gz"
            out.parent.mkdir(exist_ok=True)
            srcs = " ".join(shlex.quote(str(sim / f"{sample}.{hap}.{mate}.fq")) for hap, _ in parts)
            zips.append(["bash", "-o", "pipefail", "-c", f"cat {srcs} | gzip -1 -n > {shlex.quote(str(out))}"])
            outs.append(out)
        run_parallel(zips, threads, sim)
        fastqs[sample] = (outs[0], outs[1])
    for f in sim.glob("*.fq"):
        f.unlink()
    return fastqs


def write_dense_vcf(seq: np.ndarray, path: Path, per_bp: float, sample: str, seed: int) -> int:
    """A VCF of random SNVs (90 %) and 1-10 bp indels over every non-N base of the reference at
    ``per_bp`` (REF from the reference, GT 0/1): what a whole-genome call set looks like to annotate."""
    rng = np.random.default_rng(seed)
    ok = np.flatnonzero(seq[: len(seq) - 20] != 4)
    pos = np.sort(rng.choice(ok, size=int(len(ok) * per_bp), replace=False))
    pos = pos[np.diff(pos, prepend=-100) > 11]
    letters = "ACGTN"
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID={CONTIG},length={len(seq)}>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}"]
    kinds = rng.random(len(pos))
    lens = rng.integers(1, 11, len(pos))
    for p, k, n in zip(pos.tolist(), kinds.tolist(), lens.tolist()):
        b = int(seq[p])
        if k < 0.9:
            ref, alt = letters[b], letters[(b + 1 + int(k * 30) % 3) % 4]
        elif k < 0.95:
            ref = letters[b]
            alt = ref + "".join(letters[int(x)] for x in seq[p + 1:p + 1 + n][::-1])
        else:
            ref = "".join(letters[int(x)] for x in seq[p:p + 1 + n])
            alt = letters[b]
        if "N" in ref or "N" in alt:
            continue
        lines.append(f"{CONTIG}\t{p + 1}\t.\t{ref}\t{alt}\t50\tPASS\t.\tGT\t0/1")
    subprocess.run(["bgzip", "-c"], input=("\n".join(lines) + "\n").encode(), stdout=open(path, "wb"), check=True)
    subprocess.run(["tabix", "-f", "-p", "vcf", str(path)], check=True)
    return len(lines) - 4


def count_pairs(fastq_json: Path) -> int:
    d = json.loads(fastq_json.read_text())
    return int(d["summary"]["before_filtering"]["total_reads"]) // 2


# ---------------------------------------------------------------------------------------------
# stages


def chunks(start: int, end: int, size: int) -> list[str]:
    return [f"{CONTIG}:{s + 1}-{min(s + size, end)}" for s in range(start, end, size)]


def stages(t: Timer, work: Path, ref: Path, gff3: Path, fastqs: dict, region: tuple[int, int],
           chunk_bp: int, threads: int, dense_vcfs: list[tuple[str, Path]],
           size_refs: list[tuple[str, Path]]) -> dict:
    start, end = region
    region_str = f"{CONTIG}:{start + 1}-{end}"
    chunk_list = chunks(start, end, chunk_bp)
    out = work / "out"
    out.mkdir(exist_ok=True)
    sheet = work / "samples.tsv"
    sheet.write_text("sample_name\tpatient\talias\tplatform\n"
                     f"{TUMOR}\t{PATIENT}\ttumor\tILLUMINA\n{NORMAL}\t{PATIENT}\tnormal\tILLUMINA\n")
    th = str(threads)
    bams = {}
    info: dict = {"pairs": {}}
    for sample, (r1, r2) in fastqs.items():
        print(f"== {sample}", file=sys.stderr)
        t1, t2 = out / f"{sample}.trim.R1.fastq.gz", out / f"{sample}.trim.R2.fastq.gz"
        fj = out / f"{sample}.fastp.json"
        # rule fastp
        t.run("fastp", sample, [["fastp", "--in1", r1, "--in2", r2, "--out1", t1, "--out2", t2,
                                 "--json", fj, "--html", out / f"{sample}.fastp.html", "--thread", th,
                                 "--report_title", f"{sample}.u1"]])
        info["pairs"][sample] = count_pairs(fj)
        # rule fastq_check; raw floor: gzip -t of the same files
        t.run("fastq_check", sample, [["bedside", "check-fastq", r1, r2, "--fastp-json", fj,
                                       "--out", out / f"{sample}.check.json"]])
        t.run("raw: gzip -t", sample, [["gzip", "-t", r1, r2]])
        # rule bwa_mem
        rg = f"@RG\\tID:{sample}.u1\\tSM:{sample}\\tLB:{sample}\\tPL:ILLUMINA\\tPU:u1"
        ubam = out / f"{sample}.u1.bam"
        t.run("bwa_mem (| fixmate | sort)", sample, [
            ["bwa", "mem", "-t", th, "-R", rg, ref, t1, t2],
            ["samtools", "fixmate", "-m", "-u", "-", "-"],
            ["samtools", "sort", "-@", th, "-m", "500M", "-T", f"{ubam}.tmp", "-o", ubam, "-"]])
        if sample == NORMAL:  # raw bwa mem alone on the same reads (normal only, to save time)
            t.run("raw: bwa mem", sample, [["bwa", "mem", "-t", th, "-R", rg, ref, t1, t2]], out=Path("/dev/null"))
        # rule markdup
        bam = out / f"{sample}.bam"
        t.run("markdup (merge | markdup)", sample, [
            ["samtools", "merge", "-f", "--no-PG", "-p", "-@", th, "-u", "-o", "-", ubam],
            ["samtools", "markdup", "-@", th, "-f", out / f"{sample}.markdup.txt", "-s", "--write-index",
             "-", f"{bam}##idx##{bam}.bai"]])
        ubam.unlink()
        bams[sample] = bam
        # rules samtools_stats, mosdepth (the raw tools themselves)
        t.run("samtools_stats", sample, [["samtools", "stats", "--reference", ref, bam]],
              out=out / f"{sample}.stats.txt")
        t.run("mosdepth", sample, [["mosdepth", "--no-per-base", "--threads", th, "--quantize", "0:1:20:",
                                    "--by", work / "coding.bed", out / f"{sample}.md", bam]])
    # germline: rule germline_chunk per chunk (caller both, shipped filter model), gather
    print("== germline", file=sys.stderr)
    gchunks = []
    for i, c in enumerate(chunk_list):
        o = out / f"germline.{i}.bcf"
        t.run("germline_chunk", NORMAL, [["bedside", "germline", "call", "--bam", bams[NORMAL], "--ref", ref,
                                         "--region", c, "--min-qual", "20", "--min-depth", "5",
                                         "--filter-model", "default", "--caller", "both", "--out", o]])
        gchunks.append(o)
    gvcf = out / f"{NORMAL}.vcf.gz"
    t.run("germline_gather", NORMAL, [["bedside", "germline", "gather", *gchunks, "--out", gvcf]])
    # raw: the two callers bedside runs, over the same chunks, without Bedside's filtering
    params = gl.GermlineParams()
    for i, c in enumerate(chunk_list):
        t.run("raw: bcftools mpileup|call", NORMAL, [gl.mpileup_cmd([bams[NORMAL]], ref, params, c),
                                                     ["bcftools", "call", "--no-version", "-m", "-v", "-Ob"]],
              out=out / f"raw.bcftools.{i}.bcf")
        t.run("raw: freebayes", NORMAL, [gl.freebayes_cmd([bams[NORMAL]], ref, c, None, params)],
              out=out / f"raw.freebayes.{i}.vcf")
    # per-job overhead: the same commands on a 10 kb chunk
    tiny = f"{CONTIG}:{start + 500_001}-{start + 510_000}"
    t.run("germline_chunk 10 kb (overhead)", NORMAL, [[
        "bedside", "germline", "call", "--bam", bams[NORMAL], "--ref", ref, "--region", tiny,
        "--filter-model", "default", "--caller", "both", "--out", out / "tiny.bcf"]])
    # somatic: rule somatic_chunk per chunk (matched normal; no PoN: one normal), gather
    print("== somatic", file=sys.stderr)
    schunks = []
    for i, c in enumerate(chunk_list):
        o = out / f"somatic.{i}.vcf.gz"
        t.run("somatic_chunk", TUMOR, [["bedside", "somatic", "--tumor", bams[TUMOR], "--normal", bams[NORMAL],
                                        "--ref", ref, "--samples", sheet, "--patient", PATIENT,
                                        "--region", c, "--min-vaf", "0.02", "--out", o]])
        schunks.append(o)
    svcf = out / f"{PATIENT}.somatic.vcf.gz"
    t.run("somatic_gather", TUMOR, [["bcftools", "concat", "--no-version", "-a", "-Ou", *schunks],
                                    ["bcftools", "sort", "-Oz", "-o", svcf]])
    t.run("somatic_gather", TUMOR, [["tabix", "-p", "vcf", svcf]])
    for i, c in enumerate(chunk_list):
        t.run("raw: bcftools mpileup T+N|call", TUMOR, [
            ["bcftools", "mpileup", "--ignore-RG", "-f", ref, "-a", "FORMAT/AD,FORMAT/ADF,FORMAT/ADR,FORMAT/DP,"
             "FORMAT/QS", "-d", "10000", "-q", "20", "-Q", "13", "-Ou", "-m", "2", "-F", "0.01", "-r", c,
             bams[TUMOR], bams[NORMAL]],
            ["bcftools", "call", "--no-version", "-m", "-v", "-Ob"]], out=out / f"raw.somatic.{i}.bcf")
    t.run("somatic_chunk 10 kb (overhead)", TUMOR, [[
        "bedside", "somatic", "--tumor", bams[TUMOR], "--normal", bams[NORMAL], "--ref", ref,
        "--samples", sheet, "--patient", PATIENT, "--region", tiny, "--out", out / "tiny.vcf.gz"]])
    # annotate (rule annotate, no population/ClinVar resources) and the raw bcftools csq beside it: on the
    # calls of the region, and on VCFs at whole-genome variant density over the whole 63 Mb reference
    # (germline 1.12/kb, somatic 100/Mb), since annotation cost follows the number of records
    print("== annotate, cnv", file=sys.stderr)
    for kind, vcf in (("germline", gvcf), ("somatic", svcf), *dense_vcfs):
        slug = kind.split()[0] + (".dense" if "density" in kind else "")
        t.run(f"annotate {kind}", PATIENT, [["bedside", "annotate", "--vcf", vcf, "--fasta", ref, "--gff3", gff3,
                                             "--threads", th, "--out", out / f"{slug}.ann.vcf.gz"]])
        t.run(f"raw: bcftools csq {kind}", PATIENT, [
            ["bcftools", "norm", "--no-version", "-m", "-both", "-f", ref, "-Ou", vcf],
            ["bcftools", "csq", "--no-version", "-f", ref, "-g", gff3, "-p", "a", "--force", "-Oz"]],
            out=out / f"{slug}.csq.vcf.gz")
    # rule cnv (restricted to the simulated region: outside it there are no reads); and on its first
    # 100 kb, for the fixed part of its cost
    for stage, reg in (("cnv", region_str), ("cnv 100 kb (overhead)", f"{CONTIG}:{start + 1}-{start + 100_000}")):
        t.run(stage, PATIENT, [["bedside", "cnv", "--tumor", bams[TUMOR], "--normal", bams[NORMAL],
                                "--germline-vcf", gvcf, "--gff3", gff3, "--somatic-vcf", svcf, "--ref", ref,
                                "--samples", sheet, "--patient", PATIENT, "--threads", th, "--region", reg,
                                *([] if stage == "cnv" else ["--min-bins", "10", "--min-snps", "5"]),
                                "--out-dir", out / stage.split()[0]]])
    # alignment cost per read against references of other sizes (same reads: the first 100k pairs)
    sub = [out / "sub.R1.fastq.gz", out / "sub.R2.fastq.gz"]
    for src, dst in zip((out / f"{NORMAL}.trim.R1.fastq.gz", out / f"{NORMAL}.trim.R2.fastq.gz"), sub):
        subprocess.run(f"gzip -dc {shlex.quote(str(src))} | head -n 400000 | gzip -1 > {shlex.quote(str(dst))}",
                       shell=True, check=True)
    for label, other in size_refs:
        t.run(f"raw: bwa mem 100k pairs vs {label}", NORMAL, [["bwa", "mem", "-t", th, other, *sub]],
              out=Path("/dev/null"))
    info["germline_vcf"], info["somatic_vcf"] = str(gvcf), str(svcf)
    info["chunks"] = len(chunk_list)
    return info


def recall(vcf: Path, truth: set[int]) -> tuple[int, int, int]:
    q = subprocess.run(["bcftools", "query", "-f", "%POS\n", str(vcf)], capture_output=True, text=True, check=True)
    called = {int(x) for x in q.stdout.split()}
    return len(truth & called), len(truth), len(called)


# ---------------------------------------------------------------------------------------------
# cost model

# stage -> (how it scales to a WGS, whether it parallelises beyond one job):
# "pairs": per read pair of its sample; "chunks": per callable Mb plus a fixed cost per chunk job (the
# 10 kb run); "mb": per callable Mb; "dense": per Mb of genome at WGS variant density (the 63 Mb VCFs);
# "fixed+mb": a fixed cost (the 100 kb run) plus per Mb. "parallel": chunks / FASTQ units spread across
# cores; "serial": one process per sample or patient, limited to the parallelism it showed here.
MODEL = {
    "fastp": ("pairs", "parallel"),  # per FASTQ unit (lane); units run side by side
    "fastq_check": ("pairs", "parallel"),
    "bwa_mem (| fixmate | sort)": ("pairs", "parallel"),  # per unit; bwa threads scale ~linearly
    "markdup (merge | markdup)": ("pairs", "serial"),  # one job per sample
    "samtools_stats": ("pairs", "serial"),
    "mosdepth": ("pairs", "serial"),
    "germline_chunk": ("chunks", "parallel"),
    "germline_gather": ("mb", "serial"),
    "somatic_chunk": ("chunks", "parallel"),
    "somatic_gather": ("mb", "serial"),
    "annotate germline 63 Mb WGS density": ("dense", "serial"),
    "annotate somatic 63 Mb WGS density": ("dense", "serial"),
    "cnv": ("fixed+mb", "serial"),
}
OVERHEAD = {"germline_chunk": "germline_chunk 10 kb (overhead)", "somatic_chunk": "somatic_chunk 10 kb (overhead)",
            "cnv": "cnv 100 kb (overhead)"}
PHASES = [  # stages that wait for the previous phase; stages inside a phase run side by side
    ("align", ["fastp", "fastq_check", "bwa_mem (| fixmate | sort)"]),
    ("markdup", ["markdup (merge | markdup)"]),
    ("qc + calling", ["samtools_stats", "mosdepth", "germline_chunk", "somatic_chunk"]),
    ("gather", ["germline_gather", "somatic_gather"]),
    ("annotate + cnv", ["annotate germline 63 Mb WGS density", "annotate somatic 63 Mb WGS density", "cnv"]),
]
NON_N_MB_63 = 0.0  # set in main: non-N Mb of the 63 Mb reference


def size_factor(runs: dict, pairs_sub: int = 100_000) -> dict:
    """bwa mem CPU per read against reference size (same 100k pairs): power-law fit, extrapolated to
    3.1 Gb relative to 63 Mb."""
    pts = []
    for (stage, _s), r in runs.items():
        if stage.startswith("raw: bwa mem 100k pairs vs "):
            mb = float(stage.rsplit(" vs ", 1)[1].split()[0])
            pts.append((mb, r.cpu))
    if len(pts) < 2:
        return {}
    pts.sort()
    x = np.log([p[0] for p in pts])
    y = np.log([p[1] for p in pts])
    k_fit = float(np.polyfit(x, y, 1)[0])
    k_local = float((y[-1] - y[-2]) / (x[-1] - x[-2]))  # the two largest references
    return {"points": pts, "exponent_fit": k_fit, "exponent_local": k_local,
            "factor_fit": float((GENOME_BP / 63e6) ** k_fit), "factor_local": float((GENOME_BP / 63e6) ** k_local)}


def project(runs: dict, pairs: dict[str, int], region_mb: float, n_chunks: int, wgs_chunk_mb: float,
            cores: list[int], bwa_factor: float = 1.0) -> dict:
    wgs_pairs = {NORMAL: GENOME_BP * NORMAL_X / (2 * READ_LEN), TUMOR: GENOME_BP * TUMOR_X / (2 * READ_LEN)}
    wgs_chunks = int(np.ceil(CALLABLE_MB / wgs_chunk_mb))
    per = {}  # (stage, sample) -> (cpu_s, parallelism) at WGS scale
    for (stage, sample), r in runs.items():
        if stage not in MODEL:
            continue
        unit, _ = MODEL[stage]
        if unit == "pairs":
            cpu = r.cpu * wgs_pairs[sample] / pairs[sample]
            if stage.startswith("bwa_mem"):
                cpu *= bwa_factor
        elif unit == "chunks":
            over = runs[(OVERHEAD[stage], sample)].cpu
            slope = max(0.0, r.cpu - r.jobs * over) / region_mb
            cpu = wgs_chunks * over + slope * CALLABLE_MB
        elif unit == "fixed+mb":
            over = runs[(OVERHEAD[stage], sample)].cpu
            cpu = over + max(0.0, r.cpu - over) / (region_mb - 0.1) * CALLABLE_MB
        elif unit == "dense":
            cpu = r.cpu * CALLABLE_MB / NON_N_MB_63
        else:
            cpu = r.cpu * CALLABLE_MB / region_mb
        per[(stage, sample)] = (cpu, max(1.0, r.cpu / r.wall if r.wall else 1.0))
    cpu_total = sum(c for c, _ in per.values())
    out = {"core_hours": cpu_total / 3600, "wgs_chunks_per_caller": wgs_chunks, "bwa_factor": bwa_factor,
           "cores": {}, "stage_cpu_h": {f"{s} [{smp}]": c / 3600 for (s, smp), (c, _) in per.items()}}
    for n in cores:
        total = 0.0
        phases = {}
        for name, members in PHASES:
            items = [(s, c, par) for (s, _smp), (c, par) in per.items() if s in members]
            cpu = sum(c for _, c, _ in items)
            # a serial job runs at the parallelism it showed here (CPU/wall, with --threads threads);
            # the phase cannot end before the longest one
            floor = max([c / min(par, n) for s, c, par in items if MODEL[s][1] == "serial"], default=0.0)
            wall = max(cpu / n, floor)
            phases[name] = wall / 3600
            total += wall
        out["cores"][n] = {"wall_h": total / 3600, "phases_h": phases}
    return out


# ---------------------------------------------------------------------------------------------


def machine_info() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) // 1024 // 1024
    versions = {}
    for tool, cmd in (("bwa", ["bwa"]), ("samtools", ["samtools", "--version"]),
                      ("bcftools", ["bcftools", "--version"]), ("fastp", ["fastp", "--version"]),
                      ("freebayes", ["freebayes", "--version"]), ("mosdepth", ["mosdepth", "--version"])):
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
        text = (p.stdout + p.stderr).strip().splitlines()
        line = next((ln for ln in text if "ersion" in ln or ln.startswith(tool)), text[0] if text else "")
        versions[tool] = line.strip()
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gb": mem, "platform": platform.platform(),
            "tools": versions}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/wgs_cost"))
    ap.add_argument("--start-mb", type=float, default=9.0, help="start of the simulated region [9.0]")
    ap.add_argument("--region-mb", type=float, default=5.0, help="length of the simulated region [5.0]")
    ap.add_argument("--chunk-mb", type=float, default=1.0, help="calling chunk size [1.0]")
    ap.add_argument("--normal-x", type=float, default=NORMAL_X)
    ap.add_argument("--tumor-x", type=float, default=TUMOR_X)
    ap.add_argument("--threads", type=int, default=2, help="threads per job, as the rules ask [2]")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--quick", action="store_true",
                    help="0.5 Mb region in 0.25 Mb chunks, no index-scaling run (a few minutes)")
    ap.add_argument("--no-index-scaling", action="store_true",
                    help="skip timing bwa index on a quarter-size reference too")
    ap.add_argument("--big-ref", action="store_true",
                    help="also index a 252 Mb reference (4 chromosome models) and align 100k pairs to it "
                         "(+~6 min): how bwa's cost per read grows with genome size")
    ap.add_argument("--wgs-chunk-mb", type=float, default=3.0,
                    help="calling chunk size assumed for the WGS projection [3.0: ~970 chunks per caller]")
    ap.add_argument("--cores", type=int, nargs="+", default=[2, 16, 64])
    ap.add_argument("--report-only", type=Path, metavar="JSON",
                    help="recompute the projections from a finished run's wgs_cost.json; runs nothing")
    args = ap.parse_args(argv)
    if args.report_only:
        return report_only(args.report_only, args.wgs_chunk_mb, args.cores)
    if args.quick:
        args.region_mb, args.chunk_mb, args.start_mb, args.no_index_scaling = 0.5, 0.25, 10.0, True
    for tool in ("art_illumina", "bwa", "samtools", "bcftools", "fastp", "mosdepth", "freebayes", "tabix",
                 "bedside"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not on PATH (put .venv/bin on PATH for bedside)")
    if not REAL_FASTA.is_file():
        print(f"{REAL_FASTA}: not found (the GIAB chr20 data of ../shared/data; or set BEDSIDE_GIAB_DIR)",
              file=sys.stderr)
        return 2
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    load_start = os.getloadavg()
    info: dict = {"machine": machine_info(), "args": {k: str(v) for k, v in vars(args).items()},
                  "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}
    print(f"machine: {info['machine']['nproc']} CPUs, {info['machine']['cpu']}, load {load_start}",
          file=sys.stderr)

    # reference
    ref_dir = work / "ref"
    ref_dir.mkdir(exist_ok=True)
    ref, gff3 = ref_dir / "chr20.fa", ref_dir / "genes.gff3"
    tb = time.time()
    seq, real_mask, genes = build_reference(REAL_FASTA, args.seed)
    write_fasta(seq, ref)
    write_gff3(genes, gff3)
    subprocess.run(["samtools", "faidx", str(ref)], check=True)
    info["reference"] = {"bp": int(len(seq)), "n_bp": int((seq == 4).sum()), "real_hg19_bp": int(real_mask.sum()),
                         "genes": len(genes), "build_s": time.time() - tb}
    (work / "coding.bed").write_text("".join(f"{CONTIG}\t{s}\t{e}\t{g.name}\n"
                                             for g in genes for s, e in g.exons))
    t = Timer(work)
    print("== bwa index", file=sys.stderr)
    t.run("bwa index 63 Mb", "ref", [["bwa", "index", ref]])
    if not args.no_index_scaling:
        quarter = ref_dir / "quarter.fa"
        write_fasta(seq[: len(seq) // 4], quarter)
        t.run("bwa index 15.8 Mb", "ref", [["bwa", "index", quarter]])

    # reads
    start = int(args.start_mb * 1e6)
    end = start + int(args.region_mb * 1e6)
    rng = np.random.default_rng(args.seed + 1)
    edits = plant(rng, seq, start, end)
    ts = time.time()
    fastqs = simulate_reads(work, seq, start, end, edits, args.seed, args.normal_x, args.tumor_x, args.threads)
    info["simulate_s"] = time.time() - ts
    info["region"] = f"{CONTIG}:{start + 1}-{end}"
    info["region_real_hg19_bp"] = int(real_mask[start:end].sum())
    info["planted"] = {h: sum(1 for e in edits if e.hap == h) for h in ("A", "B", "AB", "S")}

    # real reads: bwa mem on the GIAB NA12878 reads (2x101) against the same reference, for calibration
    giab_fq = []
    if GIAB_BAM.is_file():
        giab_fq = [work / "fastq" / "giab.R1.fastq.gz", work / "fastq" / "giab.R2.fastq.gz"]
        subprocess.run(f"samtools collate -u -O {shlex.quote(str(GIAB_BAM))} | samtools fastq -1 "
                       f"{shlex.quote(str(giab_fq[0]))} -2 {shlex.quote(str(giab_fq[1]))} -0 /dev/null "
                       "-s /dev/null -n", shell=True, check=True, stderr=subprocess.DEVNULL)

    dense = []
    for kind, rate, smp in (("germline 63 Mb WGS density", 1.12e-3, NORMAL), ("somatic 63 Mb WGS density", 100e-6, TUMOR)):
        path = work / "out" / f"dense.{kind.split()[0]}.vcf.gz"
        path.parent.mkdir(exist_ok=True)
        info.setdefault("dense_records", {})[kind] = write_dense_vcf(seq, path, rate, smp, args.seed + 7)
        dense.append((kind, path))
    size_refs = [("63 Mb", ref)]
    if not args.no_index_scaling:
        size_refs.insert(0, ("15.8 Mb", quarter))
    if args.big_ref:
        big = ref_dir / "big.fa"
        with open(big, "wb") as fh:
            fh.write(ref.read_bytes())
        for k in range(1, 4):  # three more 63 Mb chromosome models: same repeat families, no copy of the real stretch
            other, _, _ = build_reference(REAL_FASTA, args.seed + 100 * k, family_seed=args.seed, keep_real=False)
            write_fasta(other, ref_dir / "other.fa")
            with open(big, "ab") as fh:
                fh.write((ref_dir / "other.fa").read_bytes().replace(b">chr20", f">chr20_{k}".encode(), 1))
        t.run("bwa index 252 Mb", "ref", [["bwa", "index", big]])
        size_refs.append(("252 Mb", big))
    res = stages(t, work, ref, gff3, fastqs, (start, end), int(args.chunk_mb * 1e6), args.threads, dense,
                 size_refs)
    info.update(res)
    if giab_fq:
        t.run("raw: bwa mem, GIAB real 2x101", "giab", [["bwa", "mem", "-t", str(args.threads), ref, *giab_fq]],
              out=Path("/dev/null"))
        n = subprocess.run(["bash", "-c", f"gzip -dc {shlex.quote(str(giab_fq[0]))} | wc -l"],
                           capture_output=True, text=True, check=True)
        info["pairs"]["giab"] = int(n.stdout.split()[0]) // 4

    # sanity: the calls find the planted variants (by position; SNVs)
    germ_truth = {e.pos + 1 for e in edits if e.hap != "S" and e.kind == "snv"}
    som_truth = {e.pos + 1 for e in edits if e.hap == "S" and e.kind == "snv"}
    info["recall"] = {"germline_snv": recall(Path(res["germline_vcf"]), germ_truth)}
    pas = work / "out" / "somatic.pass.vcf.gz"
    subprocess.run(["bcftools", "view", "-f", "PASS", "-Oz", "-o", str(pas), res["somatic_vcf"]], check=True)
    info["recall"]["somatic_snv_pass"] = recall(pas, som_truth)

    region_mb = (end - start) / 1e6
    info["runs"] = {f"{k[0]} [{k[1]}]": asdict(v) for k, v in t.runs.items()}
    info["region_mb"] = region_mb
    model(info, t.runs, args.wgs_chunk_mb, args.cores)
    info["elapsed_s"] = time.time() - t0
    info["load_start"], info["load_end"] = load_start, os.getloadavg()
    (work / "wgs_cost.json").write_text(json.dumps(info, indent=1, default=str))
    print_report(info, t.runs, region_mb)
    return 0


def model(info: dict, runs: dict, wgs_chunk_mb: float, cores: list[int]) -> None:
    """Projections and scaling fits from the measured runs, into ``info``."""
    global NON_N_MB_63
    NON_N_MB_63 = (info["reference"]["bp"] - info["reference"]["n_bp"]) / 1e6
    region_mb, chunks = info["region_mb"], info["chunks"]
    info["bwa_size_scaling"] = sc = size_factor(runs)
    info["projections"] = {"as measured (bwa per read on the 63 Mb reference)":
                           project(runs, info["pairs"], region_mb, chunks, wgs_chunk_mb, cores)}
    if sc:
        fits = [("local", "bwa per read x size factor, slope of the two largest references")]
        if len(sc["points"]) > 2:
            fits.append(("fit", "bwa per read x size factor, power law fitted to all references"))
        for key, title in fits:
            info["projections"][title] = project(runs, info["pairs"], region_mb, chunks, wgs_chunk_mb, cores,
                                                 sc[f"factor_{key}"])
    idx = [(float(k[0].split()[2]), r.cpu) for k, r in runs.items() if k[0].startswith("bwa index")]
    if len(idx) >= 2:
        idx.sort()
        kexp = float(np.polyfit(np.log([i[0] for i in idx]), np.log([i[1] for i in idx]), 1)[0])
        big_mb, big_cpu = idx[-1]
        info["bwa_index_3100"] = {"points": idx, "exponent": kexp, "cpu_h_linear": big_cpu * 3100 / big_mb / 3600,
                                  "cpu_h_fit": big_cpu * (3100 / big_mb) ** kexp / 3600}


def report_only(path: Path, wgs_chunk_mb: float, cores: list[int]) -> int:
    """Recompute the projections of a finished run from its JSON (no tool is run)."""
    info = json.loads(path.read_text())
    runs = {}
    for v in info["runs"].values():
        r = Run(**v)
        runs[(r.stage, r.sample)] = r
    info["region_mb"] = info.get("region_mb") or (lambda a, b: (b - a + 1) / 1e6)(
        *map(int, info["region"].split(":")[1].split("-")))
    model(info, runs, wgs_chunk_mb, cores)
    print_report(info, runs, info["region_mb"])
    return 0


def print_report(info: dict, runs: dict, region_mb: float) -> None:
    pairs = info["pairs"]
    m = info["machine"]
    print(f"machine: nproc {m['nproc']}, {m['cpu']}, {m['mem_gb']} GB; load avg at start "
          f"{info['load_start'][0]:.2f}, end {info['load_end'][0]:.2f}; elapsed {info['elapsed_s'] / 60:.1f} min")
    print(f"region {info['region']} ({region_mb:g} Mb, {info['region_real_hg19_bp']:,} bp real hg19), "
          f"{info['chunks']} chunks; read pairs: " + ", ".join(f"{k} {v:,}" for k, v in pairs.items()))
    print(f"planted: {info['planted']}; recall (found, truth, calls): {info['recall']}\n")
    print("| stage | sample | jobs | wall s | CPU s | peak RSS MB | CPU s per Mb | CPU s per M pairs "
          "| load (1 min) | other CPU s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (stage, sample), r in runs.items():
        np_ = pairs.get(sample) or pairs.get(NORMAL) + pairs.get(TUMOR)
        per_mb = f"{r.cpu / region_mb:.1f}" if sample != "ref" else f"{r.cpu / float(stage.split()[2]):.2f}"
        per_mp = f"{r.cpu / (np_ / 1e6):.1f}" if sample != "ref" else ""
        print(f"| {stage} | {sample} | {r.jobs} | {r.wall:.1f} | {r.cpu:.1f} | {r.rss_mb:.0f} | {per_mb} | "
              f"{per_mp} | {sum(r.load1) / len(r.load1):.1f} | {r.foreign_cpu:.0f} |")
    print("\nratios (Bedside / raw tool, CPU s, same input, same run):")
    pairs_of_ratio = [("fastq_check", NORMAL, "raw: gzip -t", NORMAL),
                      ("bwa_mem (| fixmate | sort)", NORMAL, "raw: bwa mem", NORMAL),
                      ("somatic_chunk", TUMOR, "raw: bcftools mpileup T+N|call", TUMOR),
                      ("annotate germline", PATIENT, "raw: bcftools csq germline", PATIENT),
                      ("annotate somatic", PATIENT, "raw: bcftools csq somatic", PATIENT),
                      *[(f"annotate {k} 63 Mb WGS density", PATIENT, f"raw: bcftools csq {k} 63 Mb WGS density",
                         PATIENT) for k in ("germline", "somatic")]]
    for a, sa, b, sb in pairs_of_ratio:
        if (a, sa) in runs and (b, sb) in runs:
            print(f"- {a} / {b}: {runs[(a, sa)].cpu / max(runs[(b, sb)].cpu, 1e-3):.2f} "
                  f"(wall {runs[(a, sa)].wall / max(runs[(b, sb)].wall, 1e-3):.2f})")
    g, bc, fb = (runs.get(("germline_chunk", NORMAL)), runs.get(("raw: bcftools mpileup|call", NORMAL)),
                 runs.get(("raw: freebayes", NORMAL)))
    if g and bc and fb:
        print(f"- germline_chunk / (bcftools mpileup|call + freebayes): {g.cpu / (bc.cpu + fb.cpu):.2f}; "
              f"/ bcftools alone: {g.cpu / bc.cpu:.2f}")
    for title, p in info["projections"].items():
        print(f"\nprojection ({title}), 30x WGS T/N ({NORMAL_X}x/{TUMOR_X}x, {GENOME_BP / 1e9:.1f} Gb, "
              f"2x{READ_LEN}; calling over {CALLABLE_MB:,} Mb in {p['wgs_chunks_per_caller']} chunks per caller; "
              f"bwa factor {p['bwa_factor']:.2f}): {p['core_hours']:.0f} core-hours")
        for n, v in p["cores"].items():
            ph = ", ".join(f"{k} {h:.1f} h" for k, h in v["phases_h"].items())
            print(f"- {n} cores: {v['wall_h']:.1f} h wall ({ph})")
        print("CPU hours by stage: " + ", ".join(f"{k} {h:.1f}" for k, h in
                                                sorted(p["stage_cpu_h"].items(), key=lambda kv: -kv[1])))
    if info.get("bwa_size_scaling"):
        print(f"\nbwa mem CPU per read vs reference size: {info['bwa_size_scaling']}")
    if info.get("bwa_index_3100"):
        print(f"bwa index projected to 3.1 Gb: {info['bwa_index_3100']}")
    print(f"annotate inputs at WGS density: {info.get('dense_records')}")


if __name__ == "__main__":
    sys.exit(main())
