"""Tumor/normal benchmark generator: a random reference, germline variants in both samples, somatic SNVs
and indels at set allele fractions in the tumor, reads simulated with ART (art_illumina) and aligned with
bwa mem + samtools. Deterministic for a given seed.

Tumor clones: the tumor mixes haplotype copies so that each VAF band's somatic variants sit on a clone
whose read share equals the band's VAF (hap1 + 0.40 band at 0.40, hap1 + 0.05 band at 0.05, hap1 at 0.05,
hap2 + 0.20 band at 0.20, hap2 + 0.10 band at 0.10, hap2 at 0.20). Germline variants on hap1 or hap2 are
therefore heterozygous (VAF 0.5) in tumor and normal alike.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bedside.tools import run_tool
from bedside.demo.simulate import simulate_mixture

BASES = "ACGT"
VAF_BANDS = (0.05, 0.10, 0.20, 0.40)
# clone haplotypes: (name, base haplotype, somatic band or None, read share)
CLONES = (
    ("c40", 1, 0.40, 0.40), ("c05", 1, 0.05, 0.05), ("h1", 1, None, 0.05),
    ("c20", 2, 0.20, 0.20), ("c10", 2, 0.10, 0.10), ("h2", 2, None, 0.20),
)


@dataclass(frozen=True)
class PlantedVariant:
    chrom: str
    pos: int  # 1-based
    ref: str
    alt: str
    origin: str  # somatic | germline
    genotype: str  # het1 | het2 | hom (germline); somatic: band's clone
    vaf: float


@dataclass(frozen=True)
class BenchPaths:
    ref: Path
    tumor_bam: Path
    normal_bam: Path
    truth: Path  # JSON list of PlantedVariant dicts
    truth_vcf: Path


def _random_seq(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(BASES) for _ in range(n))


def plan_variants(ref: dict[str, str], rng: random.Random, per_band_snv: int, per_band_indel: int,
                  n_germline: int, spacing: int = 300) -> list[PlantedVariant]:
    """Choose non-overlapping variant positions (>= spacing bp apart) and alleles."""
    slots = [(c, p) for c, s in ref.items() for p in range(1000, len(s) - 1000, spacing)]
    need = len(VAF_BANDS) * (per_band_snv + per_band_indel) + n_germline
    if need > len(slots):
        raise ValueError(f"reference too small for {need} variants at {spacing} bp spacing")
    chosen = rng.sample(slots, need)
    out: list[PlantedVariant] = []
    it = iter(chosen)

    def snv(c: str, p: int) -> tuple[str, str]:
        r = ref[c][p - 1]
        return r, rng.choice([b for b in BASES if b != r])

    def indel(c: str, p: int) -> tuple[str, str]:
        size = rng.randint(1, 6)
        if rng.random() < 0.5:  # deletion
            return ref[c][p - 1:p + size], ref[c][p - 1]
        return ref[c][p - 1], ref[c][p - 1] + _random_seq(rng, size)

    for band in VAF_BANDS:
        for k in range(per_band_snv + per_band_indel):
            c, p = next(it)
            r, a = snv(c, p) if k < per_band_snv else indel(c, p)
            out.append(PlantedVariant(c, p, r, a, "somatic", f"band{band}", band))
    for k in range(n_germline):
        c, p = next(it)
        r, a = snv(c, p) if k % 5 else indel(c, p)
        gt = rng.choice(["het1", "het2", "hom"])
        out.append(PlantedVariant(c, p, r, a, "germline", gt, 1.0 if gt == "hom" else 0.5))
    return sorted(out, key=lambda v: (v.chrom, v.pos))


def apply_variants(seq: str, variants: list[PlantedVariant]) -> str:
    parts, last = [], 0
    for v in sorted(variants, key=lambda v: v.pos):
        start = v.pos - 1
        assert seq[start:start + len(v.ref)] == v.ref
        parts.append(seq[last:start])
        parts.append(v.alt)
        last = start + len(v.ref)
    parts.append(seq[last:])
    return "".join(parts)


def _write_fasta(path: Path, seqs: dict[str, str]) -> None:
    with open(path, "w") as fh:
        for name, s in seqs.items():
            fh.write(f">{name}\n")
            fh.writelines(s[i:i + 60] + "\n" for i in range(0, len(s), 60))


def simulate_sample(haps: list[tuple[Path, float]], coverage: float, work: Path, name: str, seed: int,
                    read_len: int = 150, insert: int = 350) -> tuple[Path, Path]:
    """ART reads from haplotype FASTAs at coverage shares (bedside.demo.simulate.simulate_mixture)."""
    r1, r2 = work / f"{name}_R1.fq.gz", work / f"{name}_R2.fq.gz"
    simulate_mixture(haps, coverage, read_len, insert, r1, r2, seed, read_prefix=f"{name}_", compresslevel=1)
    return r1, r2


def align(ref: Path, r1: Path, r2: Path, sample: str, out_bam: Path, threads: int = 2) -> Path:
    rg = f"@RG\\tID:{sample}\\tSM:{sample}\\tPL:ILLUMINA\\tLB:{sample}"
    sam = out_bam.with_suffix(".sam")
    with open(sam, "w") as fh:
        run_tool(["bwa", "mem", "-t", threads, "-R", rg, ref, r1, r2], stdout=fh, stderr=subprocess.PIPE,
                 capture_output=False)
    run_tool(["samtools", "sort", "-@", threads, "-o", out_bam, sam])
    run_tool(["samtools", "index", out_bam])
    sam.unlink()
    return out_bam


def write_truth_vcf(path: Path, ref: dict[str, str], variants: list[PlantedVariant]) -> None:
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={len(s)}>" for c, s in ref.items()]
    lines += ['##INFO=<ID=ORIGIN,Number=1,Type=String,Description="somatic or germline">',
              '##INFO=<ID=VAF,Number=1,Type=Float,Description="Planted tumor allele fraction">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for v in variants:
        lines.append(f"{v.chrom}\t{v.pos}\t.\t{v.ref}\t{v.alt}\t.\tPASS\tORIGIN={v.origin};VAF={v.vaf}")
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


def make_bench(out_dir: Path, *, seed: int = 7, length: int = 150_000, n_contigs: int = 2,
               per_band_snv: int = 20, per_band_indel: int = 8, n_germline: int = 120,
               tumor_cov: float = 100.0, normal_cov: float = 40.0, threads: int = 2) -> BenchPaths:
    """Build the whole benchmark in out_dir (reference, BAMs, truth). Returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    ref = {f"chr{i + 1}": _random_seq(rng, length // n_contigs) for i in range(n_contigs)}
    ref_fa = out_dir / "ref.fa"
    _write_fasta(ref_fa, ref)
    run_tool(["samtools", "faidx", ref_fa])
    run_tool(["bwa", "index", ref_fa])
    variants = plan_variants(ref, rng, per_band_snv, per_band_indel, n_germline)
    germ = [v for v in variants if v.origin == "germline"]
    hap_vars = {1: [v for v in germ if v.genotype in ("het1", "hom")],
                2: [v for v in germ if v.genotype in ("het2", "hom")]}
    work = out_dir / "work"
    work.mkdir(exist_ok=True)
    haps: dict[str, Path] = {}
    for name, base, band, _share in CLONES:
        vs = list(hap_vars[base])
        if band is not None:
            vs += [v for v in variants if v.origin == "somatic" and v.vaf == band]
        path = work / f"{name}.fa"
        _write_fasta(path, {c: apply_variants(s, [v for v in vs if v.chrom == c]) for c, s in ref.items()})
        haps[name] = path
    t1, t2 = simulate_sample([(haps[n], share) for n, _b, _band, share in CLONES], tumor_cov, work,
                             "tumor", seed * 100 + 1)
    n1, n2 = simulate_sample([(haps["h1"], 0.5), (haps["h2"], 0.5)], normal_cov, work, "normal",
                             seed * 100 + 50)
    tumor_bam = align(ref_fa, t1, t2, "BENCH-T", out_dir / "tumor.bam", threads)
    normal_bam = align(ref_fa, n1, n2, "BENCH-N", out_dir / "normal.bam", threads)
    shutil.rmtree(work)
    truth = out_dir / "truth.json"
    truth.write_text(json.dumps([v.__dict__ for v in variants], indent=1))
    truth_vcf = out_dir / "truth.vcf.gz"
    write_truth_vcf(truth_vcf, ref, variants)
    return BenchPaths(ref_fa, tumor_bam, normal_bam, truth, truth_vcf)


def load_truth(path: Path) -> list[PlantedVariant]:
    return [PlantedVariant(**d) for d in json.loads(Path(path).read_text())]


# ------------------------------------------------------------------ evaluation

@dataclass
class Evaluation:
    sensitivity: dict[str, float]  # per VAF band (and "snv"/"indel" overall)
    found: dict[str, int]
    planted: dict[str, int]
    precision: float
    true_pos: int
    false_pos: int
    germline_called_somatic: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _match(call: tuple[str, int, str, str], v: PlantedVariant, indel_slop: int = 10) -> bool:
    c, p, r, a = call
    if c != v.chrom:
        return False
    if len(v.ref) == len(v.alt) == 1:
        return p == v.pos and r == v.ref and a == v.alt
    return abs(p - v.pos) <= indel_slop and (len(a) - len(r)) == (len(v.alt) - len(v.ref))


def evaluate(calls: list[tuple[str, int, str, str]], truth: list[PlantedVariant]) -> Evaluation:
    """Compare somatic calls (chrom, pos, ref, alt) with the planted truth."""
    somatic = [v for v in truth if v.origin == "somatic"]
    germline = [v for v in truth if v.origin == "germline"]
    by_chrom: dict[str, list[PlantedVariant]] = {}
    for v in truth:
        by_chrom.setdefault(v.chrom, []).append(v)
    hit: set[int] = set()
    tp = fp = germ = 0
    for call in calls:
        m = [v for v in by_chrom.get(call[0], []) if abs(v.pos - call[1]) <= 10 and _match(call, v)]
        som = [v for v in m if v.origin == "somatic"]
        if som:
            tp += 1
            hit.update(id(v) for v in som)
        else:
            fp += 1
            if m:
                germ += 1
    sens, found, planted = {}, {}, {}
    groups = {f"vaf_{b:.2f}": [v for v in somatic if v.vaf == b] for b in VAF_BANDS}
    groups["snv"] = [v for v in somatic if len(v.ref) == len(v.alt) == 1]
    groups["indel"] = [v for v in somatic if not (len(v.ref) == len(v.alt) == 1)]
    for name, vs in groups.items():
        planted[name] = len(vs)
        found[name] = sum(1 for v in vs if id(v) in hit)
        sens[name] = round(found[name] / len(vs), 4) if vs else float("nan")
    prec = round(tp / (tp + fp), 4) if tp + fp else float("nan")
    del germline
    return Evaluation(sens, found, planted, prec, tp, fp, germ)
