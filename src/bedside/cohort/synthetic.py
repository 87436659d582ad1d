"""Seeded synthetic cohorts for tests and benchmarks (not used on patient data).

Genotypes follow a Balding-Nichols model (two populations, Fst 0.05, ancestral allele frequency
U(0.05, 0.5)); the truth of every planted case is returned so tests can check each one is flagged:

* duplicates: a second sample (another patient id) carrying the genome of an earlier sample, 0.1 % of its
  genotypes re-drawn (a sample mix-up / the same person enrolled twice);
* first-degree relatives: parent-child pairs and full-sibling pairs (children drawn by Mendelian
  transmission, the other parents not in the cohort);
* sex: males hemizygous on the non-PAR X (called homozygous, as diploid callers report them); a chosen
  sample's clinical sex contradicts its genotype;
* a low call-rate sample;
* tumor/normal pairs at common SNPs with one swapped tumor (``tumor_normal_vcf``).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

AUTOSOMES = ("chr1", "chr2", "chr3")
X = "chrX"
CONTIG_LENGTH = 50_000_000
GT_TEXT = np.array(["0/0", "0/1", "1/1", "./."])  # index: genotype code, -1 -> last
BASES = np.array(list("ACGT"))
CHUNK_CELLS = 20_000_000  # genotypes simulated / written per block of rows
# VCF genotype fields as 4-byte words (code 0/1/2, 3 missing), each followed by a tab
_GT_WORDS = np.frombuffer(b"0/0\t0/1\t1/1\t./.\t", dtype=np.uint32)


@dataclass
class Truth:
    samples: list[str]
    patients: dict[str, str]  # sample -> patient
    sex: dict[str, str]  # genetic sex by sample
    population: dict[str, int]
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    first_degree: list[tuple[str, str]] = field(default_factory=list)
    sex_mismatch: list[str] = field(default_factory=list)
    low_call_rate: list[str] = field(default_factory=list)
    swapped_tumors: list[str] = field(default_factory=list)  # patients whose tumor is another's

    def related_pairs(self) -> set[frozenset[str]]:
        return {frozenset(p) for p in self.duplicates + self.first_degree}


def _bn_freqs(rng: np.random.Generator, n_variants: int, n_pops: int, fst: float) -> np.ndarray:
    p = rng.uniform(0.05, 0.5, n_variants)
    a = p * (1 - fst) / fst
    b = (1 - p) * (1 - fst) / fst
    f = np.stack([rng.beta(a, b) for _ in range(n_pops)], axis=1)
    return np.clip(f, 0.01, 0.99)


def _transmit(rng: np.random.Generator, g: np.ndarray) -> np.ndarray:
    """One allele transmitted from a parent with genotype codes g (0/1/2)."""
    return (rng.random(g.shape) < g / 2).astype(np.int8)


def _spread(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """n distinct sorted positions in [lo, hi): one per equal stretch, jittered."""
    if n == 0:
        return np.empty(0, np.int64)
    step = (hi - lo) // n
    return lo + np.arange(n, dtype=np.int64) * step + rng.integers(0, max(1, step - 1), n)


def simulate(n_samples: int, n_variants: int, seed: int = 1, *, x_fraction: float = 0.05,
             n_duplicates: int = 2, n_parent_child: int = 1, n_siblings: int = 1, n_sex_mismatch: int = 1,
             n_low_call_rate: int = 1, missing_rate: float = 0.002) -> tuple[np.ndarray, dict, Truth]:
    """Genotype codes (variants x samples; 0/1/2, -1 missing), site table and the truth."""
    rng = np.random.default_rng(seed)
    n_x = int(round(n_variants * x_fraction))
    n_auto = n_variants - n_x
    freqs = _bn_freqs(rng, n_variants, 2, 0.05)
    pops = rng.integers(0, 2, n_samples)
    is_x = np.zeros(n_variants, bool)
    is_x[n_auto:] = True
    sexes = np.where(rng.random(n_samples) < 0.5, "female", "male")
    # two allele draws per genotype, in row blocks (same random stream as one draw of the whole matrix, in
    # a fraction of the memory: 10,000 x 100,000 stays ~1 GB of int8)
    g = np.empty((n_variants, n_samples), np.int8)
    rows = max(1, CHUNK_CELLS // max(1, n_samples))
    for allele in (0, 1):
        for a in range(0, n_variants, rows):
            draw = rng.binomial(1, freqs[a:a + rows, pops]).astype(np.int8)
            if allele:
                g[a:a + rows] += draw
            else:
                g[a:a + rows] = draw
    names = [f"P{i + 1:05d}-N" for i in range(n_samples)]
    truth = Truth(names, {s: s.rsplit("-", 1)[0] for s in names}, {}, {s: int(k) for s, k in zip(names, pops)})

    # relatives: columns after the founders are overwritten with children / duplicates
    slot = iter(range(n_samples - 1, -1, -1))
    founders = iter(range(n_samples))

    def other_parent(pop):
        return rng.binomial(2, freqs[:, pop]).astype(np.int8)

    for _ in range(n_parent_child):
        a, c = next(founders), next(slot)
        g[:, c] = _transmit(rng, g[:, a]) + _transmit(rng, other_parent(pops[a]))
        pops[c] = pops[a]
        truth.first_degree.append((names[a], names[c]))
    for _ in range(n_siblings):
        c1, c2 = next(slot), next(slot)
        m, f = other_parent(pops[c1]), other_parent(pops[c1])
        g[:, c1] = _transmit(rng, m) + _transmit(rng, f)
        g[:, c2] = _transmit(rng, m) + _transmit(rng, f)
        pops[c2] = pops[c1]
        truth.first_degree.append((names[c1], names[c2]))
    for _ in range(n_duplicates):
        a, d = next(founders), next(slot)
        g[:, d] = g[:, a]
        flip = rng.random(n_variants) < 0.001
        g[flip, d] = rng.binomial(2, freqs[flip, pops[a]])
        sexes[d] = sexes[a]
        pops[d] = pops[a]
        truth.duplicates.append((names[a], names[d]))
    truth.population = {s: int(k) for s, k in zip(names, pops)}

    # males: hemizygous on X, a deterministic function of the drawn genotype (so duplicates stay identical)
    males = sexes == "male"
    xm = np.ix_(is_x, males)
    coin = (rng.random(n_x) < 0.5)[:, None]
    gx = g[xm]
    g[xm] = np.where(gx == 1, np.where(coin, 2, 0), gx)
    for a in range(0, n_variants, rows):
        block = g[a:a + rows]
        block[rng.random(block.shape) < missing_rate] = -1
    low = [next(founders) for _ in range(n_low_call_rate)]
    for c in low:
        g[rng.random(n_variants) < 0.2, c] = -1
        truth.low_call_rate.append(names[c])
    truth.sex = {s: str(x) for s, x in zip(names, sexes)}
    for _ in range(n_sex_mismatch):
        c = next(founders)
        truth.sex_mismatch.append(names[c])

    pos = np.empty(n_variants, np.int64)
    pos[:n_auto] = _spread(rng, n_auto, 1, CONTIG_LENGTH * len(AUTOSOMES))
    pos[n_auto:] = _spread(rng, n_x, 2_800_000, CONTIG_LENGTH - 1)  # beyond PAR1
    chrom = np.empty(n_variants, object)
    chrom[:n_auto] = np.array(AUTOSOMES)[(pos[:n_auto] - 1) // CONTIG_LENGTH]
    pos[:n_auto] = (pos[:n_auto] - 1) % CONTIG_LENGTH + 1
    chrom[n_auto:] = X
    order = np.lexsort((pos, [AUTOSOMES.index(c) if c in AUTOSOMES else 99 for c in chrom]))
    ref = rng.integers(0, 4, n_variants)
    alt = (ref + rng.integers(1, 4, n_variants)) % 4
    sites = {"chrom": chrom[order], "pos": pos[order], "ref": BASES[ref], "alt": BASES[alt],
             "af": freqs.mean(axis=1)[order]}
    return g[order], sites, truth


def header(samples: list[str], extra_format: str = "") -> str:
    lines = ["##fileformat=VCFv4.2", '##FILTER=<ID=PASS,Description="All filters passed">']
    lines += [f"##contig=<ID={c},length={CONTIG_LENGTH}>" for c in (*AUTOSOMES, X)]
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    if extra_format:
        lines.append(extra_format)
    lines.append("#" + "\t".join(["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                                  *samples]))
    return "\n".join(lines) + "\n"


def write_vcf(path: str | Path, g: np.ndarray, sites: dict, samples: list[str]) -> Path:
    """bgzipped + tabix-indexed VCF of genotype codes (GT only)."""
    import pysam

    path = Path(path)
    n = g.shape[1]
    rows = max(1, CHUNK_CELLS // max(1, n))
    bgzip = shutil.which("bgzip")
    # bgzip (multi-threaded) when installed, else pysam's BGZF writer
    out = open(path, "wb") if bgzip else None
    sink = subprocess.Popen([bgzip, "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out) if bgzip else None
    fh = sink.stdin if sink else pysam.BGZFile(str(path), "wb")
    try:
        fh.write(header(samples).encode())
        for a in range(0, g.shape[0], rows):
            words = _GT_WORDS[np.where(g[a:a + rows] < 0, 3, g[a:a + rows])]
            for k, w in enumerate(words):
                i = a + k
                line = bytearray(f"{sites['chrom'][i]}\t{sites['pos'][i]}\t.\t{sites['ref'][i]}\t{sites['alt'][i]}"
                                 f"\t.\tPASS\t.\tGT\t".encode())
                line += w.tobytes()
                line[-1] = 10  # the last field's tab -> newline
                fh.write(line)
    finally:
        fh.close()
        if out:
            out.close()
        if sink and sink.wait() != 0:
            raise RuntimeError(f"bgzip failed writing {path}")
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


def write_clinical(path: str | Path, truth: Truth, seed: int = 1) -> Path:
    """Clinical/lifestyle table (docs/clinical.md format) for the synthetic patients; the planted sex
    mismatches carry the opposite sex."""
    rng = np.random.default_rng(seed + 7)
    diagnoses = ["LUAD", "COAD", "IDC", "SKCM", "LUSC"]
    meds = ["", "capecitabine", "fluorouracil", "omeprazole", "warfarin;amlodipine", "metformin"]
    smoking = ["never", "former", "current"]
    path = Path(path)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["patient_id", "age", "sex", "diagnosis", "medications", "smoking_status", "pack_years",
                    "alcohol_units_per_week", "bmi"])
        for s in truth.samples:
            sex = truth.sex[s]
            if s in truth.sex_mismatch:
                sex = "male" if sex == "female" else "female"
            st = smoking[rng.integers(0, 3)]
            w.writerow([truth.patients[s], int(rng.integers(30, 85)), sex, diagnoses[rng.integers(0, 5)],
                        meds[rng.integers(0, len(meds))], st, 0 if st == "never" else int(rng.integers(1, 40)),
                        int(rng.integers(0, 20)), round(float(rng.uniform(18, 35)), 1)])
    return path


def tumor_normal_vcf(path: str | Path, n_patients: int = 20, n_sites: int = 500, seed: int = 3, *,
                     swap: tuple[int, int] | None = (2, 5), loh_fraction: float = 0.1,
                     error_rate: float = 0.01) -> tuple[Path, list[str]]:
    """Tumor and normal genotypes at common SNPs for ``n_patients`` (columns P..-N, P..-T, with DP).

    Tumors carry the normal's genotypes with LOH (heterozygous -> homozygous at ``loh_fraction`` of
    sites) and genotyping error; with ``swap=(i, j)`` patient i's tumor column holds patient j's tumor and
    vice versa (a swapped pair). Returns the path and the patients whose tumor is swapped.
    """
    import pysam

    rng = np.random.default_rng(seed)
    af = rng.uniform(0.2, 0.5, n_sites)
    normals = rng.binomial(1, af[:, None], (n_sites, n_patients)) + rng.binomial(1, af[:, None],
                                                                                 (n_sites, n_patients))
    tumors = normals.copy()
    loh = (tumors == 1) & (rng.random(tumors.shape) < loh_fraction)
    tumors[loh] = np.where(rng.random(loh.sum()) < 0.5, 0, 2)
    for arr in (normals, tumors):
        err = rng.random(arr.shape) < error_rate
        arr[err] = rng.integers(0, 3, err.sum())
    swapped = []
    if swap:
        i, j = swap
        tumors[:, [i, j]] = tumors[:, [j, i]]
        swapped = [f"P{i + 1:05d}", f"P{j + 1:05d}"]
    samples, cols = [], []
    for k in range(n_patients):
        samples += [f"P{k + 1:05d}-N", f"P{k + 1:05d}-T"]
        cols += [normals[:, k], tumors[:, k]]
    g = np.stack(cols, axis=1)
    dp = rng.integers(8, 60, g.shape)
    lowdp = rng.random(g.shape) < 0.05
    dp[lowdp] = rng.integers(0, 5, lowdp.sum())
    pos = _spread(rng, n_sites, 1, CONTIG_LENGTH)
    path = Path(path)
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    with open(plain, "w") as fh:
        fh.write(header(samples, '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">'))
        for i in range(n_sites):
            fh.write(f"chr1\t{pos[i]}\t.\tA\tG\t.\tPASS\t.\tGT:DP\t"
                     + "\t".join(f"{GT_TEXT[x]}:{d}" for x, d in zip(g[i], dp[i])) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path, swapped


def write_samples(path: str | Path, truth: Truth, tumors: bool = True) -> Path:
    """Sample sheet (config/samples.tsv format): each patient's normal (and tumor) sample."""
    path = Path(path)
    with open(path, "w") as fh:
        fh.write("sample_name\tpatient\talias\tplatform\n")
        for s in truth.samples:
            p = truth.patients[s]
            fh.write(f"{s}\t{p}\tnormal\tILLUMINA\n")
            if tumors:
                fh.write(f"{p}-T\t{p}\ttumor\tILLUMINA\n")
    return path
