"""Copy number with purity, ploidy and allele-specific (minor) copy number; gene-level calls.

Depth and segmentation come from **CNVkit** (the Debian/PyPI ``cnvkit`` package, run as a tool with
argument lists): fixed-size bins over the reference (or over ``--targets``, split to the bin size),
``cnvkit coverage`` for tumor and normal (mapping quality >= 20), ``cnvkit reference`` from the matched
normal (or from a panel of normal BAMs, or a flat reference for tumor-only) which records each bin's GC
and repeat (soft-masked) fraction, ``cnvkit fix`` (GC and repeat-content bias correction, normalisation
to the reference) and ``cnvkit segment -m cbs`` (circular binary segmentation, R DNAcopy; with ``--vcf`` its HMM re-segments
allele frequencies in segments of > 50 SNPs), then :func:`split_on_baf` splits segments where the tumor's
mirrored B-allele fraction changes (for shorter LOH on fewer SNPs). CNVkit was
chosen over hand-written segmentation because it is maintained, packaged for Debian, and reproduced the
planted segment boundaries to the bin in the simulations (benchmarks/cnv_accuracy.py).

B-allele frequencies: heterozygous SNPs of the normal (``bcftools mpileup | bcftools call -mv`` over
tumor and normal, or a given germline VCF), normal allele fraction 0.3-0.7 and depth >= 10 in both.

Purity and ploidy (ASCAT-style grid fit, here written out): for purity p and a normalisation ploidy psi,
a segment with integer copies (nA >= nB) has expected log2 ratio
``log2((p (nA+nB) + 2 (1-p)) / (p psi + 2 (1-p)))`` and expected minor-allele fraction
``(p nB + 1 - p) / (p (nA+nB) + 2 (1-p))``. Each segment's log-likelihood adds a Gaussian term for its
mean log2 (standard error from the bins' scatter, floor 0.03) and a binomial-mixture term over its SNPs'
tumor allele counts; each segment takes its best (nA, nB) (total <= 8; any state other than 1+1 must gain
10 log-likelihood units over 1+1, so noise in a copy-neutral genome is not fitted as a low-purity
aberration) and (p, psi) maximises the sum.
Tumor ploidy is the length-weighted mean total copy number of the fitted segments.
**Not assessable** (never a number) when there are fewer than ``min_bins`` bins or ``min_snps``
heterozygous SNPs, or when no segment departs from two balanced copies (a copy-neutral genome carries no
purity information); the reason is stated. With a somatic VCF, purity from clonal VAFs (2 x median VAF of
PASS SNVs in segments fitted as two balanced copies) is reported beside it with an agreement verdict.

Gene-level calls (genes from a GFF3, canonical transcript span): ``amplification`` total copies >= 6
(``--amp-cn``), ``gain`` above the rounded ploidy, ``loss`` below it, ``homozygous_deletion`` 0 copies
over any part of the gene, ``cn_loh`` (copy-neutral LOH: minor copy number 0 at the rounded ploidy).
Without a purity fit, calls fall back to CNVkit's log2 thresholds (``cnvkit call -m threshold`` defaults:
< -1.1 deletion, < -0.25 loss, > 0.2 gain, > 0.7 ... ; amplification not claimed) and say so.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bedside import __version__, tools
from bedside.errors import InputError

log = logging.getLogger(__name__)

BIN_SIZE = 1000
MIN_BINS = 30
MIN_SNPS = 20
MIN_SEG_BINS = 3
AMP_CN = 6
MAX_CN = 8
LOG2_SE_FLOOR = 0.03
STATE_PENALTY = 10.0
CNVKIT = "cnvkit"
COVERAGE_HEADER = "chromosome\tstart\tend\tgene\tdepth\tlog2"
ANTITARGET_EMPTY = "chromosome\tstart\tend\tgene\tlog2\n"
X_CONTIGS = ("chrX", "X")
Y_CONTIGS = ("chrY", "Y")
MALE_X_RATIO = 0.75  # X depth / autosome depth of the germline sample below this: one X (male)


@dataclass
class Segment:
    chrom: str
    start: int  # 0-based
    end: int
    log2: float
    n_bins: int
    n_snps: int = 0
    baf: float | None = None  # mean minor-allele fraction in the tumor (mirrored), for the plot/table
    copy_number: int | None = None
    minor_cn: int | None = None
    cn_estimate: float | None = None  # continuous total copies at the fitted purity


@dataclass
class Fit:
    status: str  # assessable | not_assessable
    purity: float | None = None
    ploidy: float | None = None
    psi: float | None = None
    log_likelihood: float | None = None
    reason: str | None = None
    purity_from_vafs: float | None = None
    vaf_agreement: str | None = None
    n_bins: int = 0
    n_snps: int = 0
    sex: str | None = None  # from the germline sample's X depth; a male's X/Y are fitted against one copy


@dataclass
class GeneCall:
    gene: str
    chrom: str
    start: int
    end: int
    call: str  # amplification | gain | neutral | loss | homozygous_deletion | cn_loh
    copy_number: int | None
    minor_cn: int | None
    log2: float
    n_bins: int
    basis: str  # purity fit | log2 thresholds


@dataclass
class CnvResult:
    tumor_sample: str
    normal_sample: str | None
    fit: Fit
    segments: list[Segment] = field(default_factory=list)
    genes: list[GeneCall] = field(default_factory=list)
    method: str = ""


# ------------------------------------------------------------------------------------------- inputs

def parse_region(region: str, contigs: dict[str, int], ref) -> tuple[str, int, int]:
    from bedside.calling.msi import parse_region as pr

    return pr(region, contigs, ref)


def make_bins(contigs: dict[str, int], bin_size: int, *, region: tuple[str, int, int] | None = None,
              targets: Path | None = None) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    if targets is not None:
        from bedside.regions import read_bed

        for r in read_bed(targets, contigs):
            s = r.start
            n = max(1, round((r.end - r.start) / bin_size))
            step = (r.end - r.start) / n
            for i in range(n):
                a, b = r.start + round(i * step), r.start + round((i + 1) * step)
                if b > a:
                    out.append((r.chrom, a, b))
            del s
    else:
        for c, n in contigs.items():
            if region and c != region[0]:
                continue
            lo, hi = (region[1], region[2]) if region else (0, n)
            for s in range(lo, hi, bin_size):
                out.append((c, s, min(hi, s + bin_size)))
    if region and targets is not None:
        out = [b for b in out if b[0] == region[0] and b[1] < region[2] and region[1] < b[2]]
    return out


def _write_bed(rows, path: Path) -> None:
    path.write_text("".join(f"{c}\t{a}\t{b}\n" for c, a, b in rows))


# ---------------------------------------------------------------------------------------------- CNVkit

def _cnvkit(*args) -> None:
    tools.run_tool([CNVKIT, *args])


def cnvkit_coverage(tumor: Path, normals: list[Path], bins: list[tuple[str, int, int]], work: Path,
                    threads: int = 1) -> list[tuple[Path, Path]]:
    """``cnvkit coverage`` of each BAM over the bins (the read-level work) -> [(target .cnn, antitarget
    .cnn)], tumor first. Each bin's depth is its own bases over its length (samtools bedcov), so coverage
    of a share of the bins is exactly those rows of the whole (what a scatter chunk computes)."""
    bed, empty = work / "bins.bed", work / "empty.bed"
    _write_bed(bins, bed)
    empty.write_text("")
    p = str(max(1, threads))
    cov = []
    for k, bam in enumerate([tumor, *normals]):
        name = "tumor" if k == 0 else f"normal{k}"
        tc, ac = work / f"{name}.targetcoverage.cnn", work / f"{name}.antitargetcoverage.cnn"
        if bins:
            _cnvkit("coverage", bam, bed, "-q", "20", "-p", p, "-o", tc)
        else:  # a chunk without bins (e.g. its contig is not in the BAM): the header alone
            tc.write_text(COVERAGE_HEADER + "\n")
        # Bedside bins everything as targets: the antitarget table is what `cnvkit coverage` writes for an
        # empty BED (its header), written here without a CNVkit start-up
        ac.write_text(ANTITARGET_EMPTY)
        cov.append((tc, ac))
    return cov


def one_x(cnn: Path) -> bool | None:
    """Whether the sample of a CNVkit coverage table has one X (median depth of the X bins below
    ``MALE_X_RATIO`` x that of the autosome bins); None when it has no X (or no autosome) bins."""
    x, auto = [], []
    for r in read_cnvkit_table(cnn):
        d = float(r["depth"])
        if r["chromosome"] in X_CONTIGS:
            x.append(d)
        elif r["chromosome"] not in Y_CONTIGS:
            auto.append(d)
    if not x or not auto or float(np.median(auto)) <= 0:
        return None
    return float(np.median(x)) / float(np.median(auto)) < MALE_X_RATIO


def cnvkit_ratios(cov: list[tuple[Path, Path]], ref: Path, work: Path, has_normals: bool,
                  male: bool = False) -> tuple[Path, Path]:
    """CNVkit reference (from the normals' coverage, or flat) and fix; returns the .cnr and the path the
    segmentation writes its .cns to. ``male``: a haploid-X reference (``-y``), so a male tumor's single X
    has log2 ~0 instead of -1 (CNVkit's default reference is female). Each normal's own sex is CNVkit's
    guess from its X depth (not ``-x``: CNVkit 0.9.9's ``reference -x`` treats every sample as male)."""
    refcnn = work / "reference.cnn"
    sex = ["-y"] if male else []
    if has_normals:
        _cnvkit("reference", *[x for pair in cov[1:] for x in pair], "-f", ref, *sex, "-o", refcnn)
    else:
        _cnvkit("reference", "-f", ref, "-t", work / "bins.bed", "-a", work / "empty.bed", *sex, "-o", refcnn)
    cnr, cns = work / "tumor.cnr", work / "tumor.cns"
    _cnvkit("fix", cov[0][0], cov[0][1], refcnn, "-o", cnr)
    return cnr, cns


def cnvkit_segment(cnr: Path, cns: Path, snp_vcf: Path | None, tumor_sm: str, normal_sm: str | None,
                   threads: int = 1) -> None:
    """CBS on the log2 ratios; with a SNP VCF, segments are further split on the tumor's B-allele
    frequencies at the normal's heterozygous SNPs (CNVkit ``segment --vcf``)."""
    args = ["segment", cnr, "-m", "cbs", "--drop-low-coverage", "-p", str(max(1, threads)), "-o", cns]
    if snp_vcf is not None:
        args += ["--vcf", snp_vcf, "-i", tumor_sm, "--min-variant-depth", "10"]
        if normal_sm:
            args += ["-n", normal_sm]
    _cnvkit(*args)


def read_cnvkit_table(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, ln.split("\t"))) for ln in lines[1:] if ln.strip()]


# ------------------------------------------------------------------------------------------------- BAF

def pileup_snps(tumor: Path, normal: Path, ref: Path, bins_bed: Path, vcf_out: Path,
                germline_vcf: Path | None = None, threads: int = 1, regions: list[str] | None = None) -> None:
    """SNPs of tumor and normal (``bcftools mpileup | call -mv``) at the germline VCF's sites, or at every
    position of the bins, -> ``vcf_out``; ``regions`` (a scatter chunk's) restricts the pileup to them
    (each position is called on its own, so the chunks' records are exactly the whole run's)."""
    mp = ["bcftools", "mpileup", "-f", ref, "-a", "AD,DP", "-q", "20", "-Q", "20", "-d", "1000", "-I",
          "--threads", str(threads)]
    if germline_vcf is not None:
        mp += ["-T", germline_vcf]
    else:
        mp += ["-T", bins_bed]
    if regions:
        mp += ["-r", ",".join(regions)]
    tools.pipe([mp + [tumor, normal], ["bcftools", "call", "-mv", "-V", "indels", "-O", "z"]], vcf_out,
               inputs=[tumor, normal])


def parse_het_snps(vcf: Path, t_sm: str, n_sm: str) -> list[tuple[str, int, int, int]]:
    """(chrom, pos, tumor alt reads, tumor depth) at the normal's heterozygous SNPs of a SNP VCF."""
    text = tools.run_tool(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT[\t%SAMPLE=%GT=%AD]\n",
                           vcf]).stdout
    out = []
    for line in text.splitlines():
        c = line.split("\t")
        if len(c[3]) != 1 or "," in c[3]:
            continue
        per = {}
        for s in c[4:]:
            sm, gt, ad = s.rsplit("=", 2)
            per[sm] = (gt, [int(x) if x != "." else 0 for x in ad.split(",")])
        if n_sm not in per or t_sm not in per:
            continue
        ngt, nad = per[n_sm]
        tgt, tad = per[t_sm]
        if ngt not in ("0/1", "0|1", "1|0") or len(nad) < 2 or len(tad) < 2:
            continue
        nd = nad[0] + nad[1]
        td = tad[0] + tad[1]
        if nd < 10 or td < 10 or not 0.3 <= nad[1] / nd <= 0.7:
            continue
        out.append((c[0], int(c[1]), tad[1], td))
    return out


# -------------------------------------------------------------------------------------- BAF breakpoints

BAF_MIN_SNPS = 8
BAF_T = 6.0


def _best_split(x: np.ndarray, min_n: int) -> tuple[int, float]:
    """Index i (left = x[:i]) maximising Welch's t between the two sides, and that t."""
    n = len(x)
    best = (0, 0.0)
    c = np.cumsum(x)
    c2 = np.cumsum(x * x)
    for i in range(min_n, n - min_n + 1):
        m1, m2 = c[i - 1] / i, (c[-1] - c[i - 1]) / (n - i)
        v1 = max((c2[i - 1] - i * m1 * m1) / max(1, i - 1), 1e-4)
        v2 = max((c2[-1] - c2[i - 1] - (n - i) * m2 * m2) / max(1, n - i - 1), 1e-4)
        t = abs(m1 - m2) / math.sqrt(v1 / i + v2 / (n - i))
        if t > best[1]:
            best = (i, t)
    return best


def split_on_baf(segs: list[Segment], snps: list[tuple[str, int, int, int]], bins: list[dict],
                 min_snps: int = BAF_MIN_SNPS, t_min: float = BAF_T) -> list[Segment]:
    """Split depth segments where the tumor's mirrored B-allele fraction |BAF - 0.5| changes (binary
    segmentation, Welch's t >= ``t_min``, >= ``min_snps`` SNPs each side). CNVkit's own allele-frequency
    re-segmentation (an HMM) only runs on segments with more than 50 SNPs, which misses copy-neutral
    LOH of a few tens of kb on sparse SNPs; this is the fallback. Sub-segment log2 = mean of its bins."""
    out: list[Segment] = []
    for s in segs:
        pts = sorted((pos, abs(k / d - 0.5)) for c, pos, k, d in snps if c == s.chrom and s.start < pos <= s.end)
        pieces = [(0, len(pts))]
        done: list[tuple[int, int]] = []
        while pieces:
            a, b = pieces.pop()
            if b - a >= 2 * min_snps:
                i, t = _best_split(np.array([v for _, v in pts[a:b]]), min_snps)
                if t >= t_min:
                    pieces += [(a, a + i), (a + i, b)]
                    continue
            done.append((a, b))
        if len(done) == 1:
            out.append(s)
            continue
        done.sort()
        cuts = [s.start] + [(pts[a - 1][0] + pts[a][0]) // 2
                            for a, _ in done[1:]] + [s.end]
        for lo, hi in zip(cuts, cuts[1:]):
            vals = [float(r["log2"]) for r in bins if r["chromosome"] == s.chrom and lo <= int(r["start"]) < hi]
            out.append(Segment(s.chrom, lo, hi, float(np.mean(vals)) if vals else s.log2, max(1, len(vals))))
    return out


# -------------------------------------------------------------------------------------------------- fit

def _lbinom_mix(k: np.ndarray, d: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """log-likelihood of each beta (rows) summed over SNPs (cols): 0.5 Bin(k; d, beta) + 0.5 Bin(k; d, 1-beta)."""
    b = np.clip(beta, 0.01, 0.99)[:, None]
    a1 = k * np.log(b) + (d - k) * np.log1p(-b)
    a2 = k * np.log1p(-b) + (d - k) * np.log(b)
    m = np.maximum(a1, a2)
    return (m + np.log(0.5 * np.exp(a1 - m) + 0.5 * np.exp(a2 - m))).sum(axis=1)


BETA_GRID = np.linspace(0.0, 0.5, 201)


def fit_purity(segments: list[Segment], seg_se: list[float], snps_by_seg: list[tuple[np.ndarray, np.ndarray]],
               ) -> tuple[float, float, float, list[tuple[int, int]]]:
    """Grid fit of purity and psi. Returns (purity, psi, loglik, [(nA, nB)] per segment)."""
    states = [(a, b) for t in range(0, MAX_CN + 1) for b in range(0, t // 2 + 1) for a in [t - b]]
    sa = np.array([s[0] for s in states], float)
    sb = np.array([s[1] for s in states], float)
    tot = sa + sb
    # per segment: SNP log-lik on the beta grid (interpolated later)
    snp_ll = [(_lbinom_mix(k, d, BETA_GRID) if len(k) else np.zeros_like(BETA_GRID)) for k, d in snps_by_seg]
    # a state other than two balanced copies must earn STATE_PENALTY log-likelihood units over (1, 1), so
    # noise in a copy-neutral genome is not fitted as low-purity LOH or gains
    penalty = np.array([0.0 if (a, b) == (1, 1) else STATE_PENALTY for a, b in states])
    log2 = np.array([s.log2 for s in segments])
    se = np.array(seg_se)
    best = (-np.inf, 0.0, 0.0, [])
    for p in np.arange(0.10, 1.0001, 0.01):
        denom_n = 2 * (1 - p)
        beta = (p * sb + (1 - p)) / np.maximum(p * tot + denom_n, 1e-9)  # minor-allele fraction per state
        beta = np.minimum(beta, 1 - beta)
        idx = np.clip(np.round(beta / 0.0025).astype(int), 0, len(BETA_GRID) - 1)
        baf_ll = np.array([ll[idx] for ll in snp_ll])  # seg x state
        num = np.log2(np.maximum(p * tot + denom_n, 1e-6))
        for psi in np.arange(1.5, 5.0001, 0.05):
            exp_l2 = num - math.log2(p * psi + denom_n)
            l2_ll = -0.5 * ((log2[:, None] - exp_l2[None, :]) / se[:, None]) ** 2
            tot_ll = l2_ll + baf_ll - penalty[None, :]
            pick = tot_ll.argmax(axis=1)
            ll = float(tot_ll[np.arange(len(segments)), pick].sum())
            if ll > best[0] + 1e-9:
                best = (ll, float(p), float(psi), [states[i] for i in pick])
    ll, p, psi, st = best
    return p, psi, ll, st


# ----------------------------------------------------------------------------------------------- genes

def gene_spans(gff3: Path) -> list[tuple[str, str, int, int]]:
    from bedside.annotate.transcripts import load_gff3, select_transcripts

    return sorted(((g, t.chrom, t.start - 1, t.end) for g, t in select_transcripts(load_gff3(gff3)).items()),
                  key=lambda x: (x[1], x[2]))


def call_genes(genes: list[tuple[str, str, int, int]], segments: list[Segment], fit: Fit,
               amp_cn: int = AMP_CN, haploid: set[str] = frozenset()) -> list[GeneCall]:
    """Gene-level calls; on ``haploid`` contigs (a male's X and Y) the neutral state is one copy, and
    minor copy number 0 is not LOH."""
    out = []
    ploidy_base = round(fit.ploidy) if fit.status == "assessable" and fit.ploidy else 2
    for name, chrom, start, end in genes:
        ov = [s for s in segments if s.chrom == chrom and s.start < end and start < s.end and s.n_bins >= MIN_SEG_BINS]
        if fit.status == "assessable":
            ov = [s for s in ov if s.copy_number is not None]
        if not ov:
            continue
        base = max(1, ploidy_base // 2) if chrom in haploid else ploidy_base
        main = max(ov, key=lambda s: min(s.end, end) - max(s.start, start))
        n_bins = sum(s.n_bins for s in ov)
        if fit.status == "assessable":
            cns = [s.copy_number for s in ov]
            if min(cns) == 0:
                call, cn, minor, seg = "homozygous_deletion", 0, 0, min(ov, key=lambda s: s.copy_number)
            elif min(cns) >= amp_cn:
                call, seg = "amplification", main
                cn, minor = min(cns), main.minor_cn
            else:
                seg = main
                cn, minor = main.copy_number, main.minor_cn
                if cn > base:
                    call = "gain"
                elif cn < base:
                    call = "loss"
                elif minor == 0 and chrom not in haploid:
                    call = "cn_loh"
                else:
                    call = "neutral"
            out.append(GeneCall(name, chrom, start, end, call, cn, minor, round(seg.log2, 3), n_bins, "purity fit"))
        else:
            l2 = min(s.log2 for s in ov)
            hi = main.log2
            if l2 < -1.1:
                call = "homozygous_deletion"
            elif hi > 0.2:
                call = "gain"
            elif hi < -0.25:
                call = "loss"
            else:
                call = "neutral"
            out.append(GeneCall(name, chrom, start, end, call, None, None, round(hi if call != "homozygous_deletion" else l2, 3),
                                n_bins, "log2 thresholds (purity not assessable)"))
    return out


# ------------------------------------------------------------------------------------------------- main

def check_inputs(tumor: Path, normal: Path | None, ref: Path, sample_patients=None, sheet=None, patient=None,
                 pon: list[Path] = ()) -> tuple[str, str | None]:
    from bedside.calling.somatic import check_against_reference, check_pair

    for p in [tumor, ref, *([normal] if normal else []), *pon]:
        if not Path(p).exists():
            raise InputError("file not found", path=p)
    t, n = check_pair(tumor, normal, ref, patient, normal is None, sample_patients, sheet)
    for p in pon:
        tools.bam_sample(p, require_index=True)
        check_against_reference(p, tools.alignment_contigs(p), ref, tools.read_fai(ref, create=False))
    return t, n


def somatic_vaf_purity(vcf: Path, segments: list[Segment], assume_neutral: bool = False) -> float | None:
    import pysam

    vafs = []
    with pysam.VariantFile(str(vcf)) as vf:
        sample = list(vf.header.samples)[0]
        for rec in vf:
            if list(rec.filter.keys()) not in (["PASS"], []) or len(rec.ref) != 1 or any(len(a) != 1 for a in rec.alts):
                continue
            seg = next((s for s in segments if s.chrom == rec.chrom and s.start < rec.pos <= s.end), None)
            if seg is None or (not assume_neutral and (seg.copy_number != 2 or seg.minor_cn != 1)):
                continue
            ad = rec.samples[sample].get("AD")
            if not ad or len(ad) < 2 or ad[0] is None or ad[1] is None or sum(ad[:2]) == 0:
                continue
            vafs.append(ad[1] / (ad[0] + ad[1]))
    if len(vafs) < 3:
        return None
    return float(min(1.0, 2 * np.median(vafs)))


def call_cnv(tumor: Path, ref: Path, out_dir: Path, *, normal: Path | None = None, pon: list[Path] = (),
             targets: Path | None = None, region: str | None = None, gff3: Path | None = None,
             germline_vcf: Path | None = None, somatic_vcf: Path | None = None, bin_size: int = BIN_SIZE,
             min_bins: int = MIN_BINS, min_snps: int = MIN_SNPS, amp_cn: int = AMP_CN, threads: int = 1,
             sample_patients=None, sheet=None, patient=None, plot: bool = True,
             coverage_chunks: list[Path] = ()) -> CnvResult:
    """Copy number of a tumor; with ``coverage_chunks`` (directories from :func:`chunk_coverage` that
    together cover every bin) the read-level work is taken from them instead of being done here."""
    tumor, ref, out_dir = Path(tumor), Path(ref), Path(out_dir)
    normal = Path(normal) if normal else None
    pon = [Path(p) for p in pon]
    t_sm, n_sm = check_inputs(tumor, normal, ref, sample_patients, sheet, patient, pon)
    for p in (targets, gff3, germline_vcf, somatic_vcf):
        if p is not None and not Path(p).is_file():
            raise InputError("file not found", path=p)
    contigs = dict(tools.read_fai(ref, create=False))
    bam_contigs = dict(tools.alignment_contigs(tumor))
    contigs = {c: n for c, n in contigs.items() if c in bam_contigs}
    reg = parse_region(region, contigs, ref) if region else None
    bins = make_bins(contigs, bin_size, region=reg, targets=targets)
    genes = gene_spans(gff3) if gff3 else []
    if reg:
        genes = [g for g in genes if g[1] == reg[0] and g[2] < reg[2] and reg[1] < g[3]]
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".cnv.", dir=out_dir) as tmpd:
        work = Path(tmpd)
        if len(bins) < 2:
            raise InputError(f"only {len(bins)} bins in the territory; nothing to segment", path=targets or ref)
        t0 = time.perf_counter()
        normals = [normal] if normal else pon
        if coverage_chunks:
            cov = merge_chunk_coverage(coverage_chunks, bins, work, ref, t_sm, tools.bam_samples(normals),
                                       with_snps=normal is not None, germline_vcf=germline_vcf)
        else:
            cov = cnvkit_coverage(tumor, normals, bins, work, threads)
        t1 = time.perf_counter()
        snps = []
        if normal is not None:
            if not coverage_chunks:
                pileup_snps(tumor, normal, ref, work / "bins.bed", work / "snps.vcf.gz", germline_vcf, threads)
            snps = parse_het_snps(work / "snps.vcf.gz", t_sm, n_sm)
        t2 = time.perf_counter()
        # sex from the germline sample's X depth (the tumor's when there is no matched normal)
        x_one = one_x(cov[1][0] if normal is not None else cov[0][0])  # None: no X (or autosome) bins
        male = bool(x_one)
        haploid = set(X_CONTIGS + Y_CONTIGS) if male else set(Y_CONTIGS)
        cnr_path, cns_path = cnvkit_ratios(cov, ref, work, bool(normals), male=male)
        t3 = time.perf_counter()
        cnvkit_segment(cnr_path, cns_path, work / "snps.vcf.gz" if snps else None, t_sm, n_sm, threads)
        log.info("cnv %s: CNVkit coverage %.1f s (%s), SNPs %.1f s, CNVkit reference/fix %.1f s, segment %.1f s",
                 t_sm, t1 - t0, f"merged from {len(coverage_chunks)} chunks" if coverage_chunks else "computed",
                 t2 - t1, t3 - t2, time.perf_counter() - t3)
        cnr = read_cnvkit_table(cnr_path)
        cns = read_cnvkit_table(cns_path)
        cnr_keep = [r for r in cnr if r.get("log2") not in (None, "")]
        segs = [Segment(r["chromosome"], int(r["start"]), int(r["end"]), float(r["log2"]), int(r["probes"]))
                for r in cns]
        if snps:
            segs = split_on_baf(segs, snps, [r for r in cnr if r.get("log2") not in (None, "")])
        # bin scatter per segment -> standard error of the segment mean
        seg_se = []
        bin_l2 = {}
        for r in cnr_keep:
            bin_l2.setdefault(r["chromosome"], []).append((int(r["start"]), float(r["log2"])))
        resid = []
        for s in segs:
            vals = [v for a, v in bin_l2.get(s.chrom, []) if s.start <= a < s.end]
            resid += [v - s.log2 for v in vals]
        sd = 1.4826 * float(np.median(np.abs(resid))) if resid else 0.2
        for s in segs:
            seg_se.append(math.sqrt(sd ** 2 / max(1, s.n_bins) + LOG2_SE_FLOOR ** 2))
        snps_by_seg = []
        for s in segs:
            sel = [(k, d) for c, pos, k, d in snps if c == s.chrom and s.start < pos <= s.end]
            s.n_snps = len(sel)
            k = np.array([x[0] for x in sel], float)
            d = np.array([x[1] for x in sel], float)
            if len(sel):
                s.baf = round(float(np.mean(np.minimum(k / d, 1 - k / d))), 4)
            snps_by_seg.append((k, d))
        fit = Fit(status="assessable", n_bins=len(cnr_keep), n_snps=len(snps))
        if len(cnr_keep) < min_bins:
            fit.status, fit.reason = "not_assessable", f"only {len(cnr_keep)} bins with coverage (< {min_bins})"
        elif normal is None and germline_vcf is None:
            fit.status, fit.reason = "not_assessable", ("no matched normal or germline VCF: heterozygous SNPs for "
                                                        "B-allele frequencies are unknown")
        elif len(snps) < min_snps:
            fit.status, fit.reason = "not_assessable", f"only {len(snps)} heterozygous SNPs (< {min_snps})"
        if fit.status == "assessable":
            # the fit models two copies in normal cells: a male's X and Y (one copy) are left out of it and
            # given copies against a one-copy baseline afterwards
            big = [i for i, s in enumerate(segs) if s.n_bins >= MIN_SEG_BINS and s.chrom not in haploid]
            p, psi, ll, states = fit_purity([segs[i] for i in big], [seg_se[i] for i in big],
                                            [snps_by_seg[i] for i in big])
            for i, (a, b) in zip(big, states):
                segs[i].copy_number, segs[i].minor_cn = a + b, b
            aberrant = [segs[i] for i in big if (segs[i].copy_number, segs[i].minor_cn) != (2, 1)]
            if not aberrant:
                fit.status = "not_assessable"
                fit.reason = ("no segment departs from two balanced copies: a copy-neutral tumor genome carries "
                              "no purity information (purity may still be estimated from somatic VAFs)")
                for s in segs:
                    s.copy_number = s.minor_cn = None
            else:
                fit.purity, fit.psi, fit.log_likelihood = round(p, 2), round(psi, 2), round(ll, 2)
                w = sum(s.end - s.start for s in segs if s.copy_number is not None)
                fit.ploidy = round(sum((s.end - s.start) * s.copy_number for s in segs if s.copy_number is not None)
                                   / w, 2)
                for s in segs:
                    ratio = 2 ** s.log2 * (p * psi + 2 * (1 - p))
                    if s.chrom in haploid:
                        # vs a haploid-X reference: log2 = log2((p c + (1 - p)) / ((p psi + 2 (1 - p)) / 2))
                        s.cn_estimate = round(max(0.0, (ratio / 2 - (1 - p)) / p), 2)
                        if s.n_bins >= MIN_SEG_BINS and male:
                            s.copy_number = min(MAX_CN, round(s.cn_estimate))
                            s.minor_cn = 0
                    else:
                        s.cn_estimate = round(max(0.0, (ratio - 2 * (1 - p)) / p), 2)
        if somatic_vcf is not None and (fit.status == "assessable" or fit.reason.startswith("no segment departs")):
            pv = somatic_vaf_purity(somatic_vcf, [x for x in segs if x.chrom not in haploid],
                                    assume_neutral=fit.status != "assessable")
            if pv is not None:
                fit.purity_from_vafs = round(pv, 2)
                if fit.status == "assessable":
                    fit.vaf_agreement = "consistent" if abs(pv - fit.purity) <= 0.15 else (
                        "discordant (subclonal SNVs, or a wrong purity/ploidy solution: review)")
                else:
                    fit.vaf_agreement = "copy-number purity not assessable; VAF-based estimate only (diploid assumed)"
        log.info("cnv %s: fit and gene calls done (%.1f s in all)", t_sm, time.perf_counter() - t0)
        fit.sex = None if x_one is None else ("male (one X)" if male else "female (two X)")
        result = CnvResult(t_sm, n_sm, fit, segs, call_genes(genes, segs, fit, amp_cn, haploid if male else set()),
                           method=f"CNVkit {cnvkit_version()} (coverage, reference, fix, segment -m cbs); "
                                  f"{bin_size} bp bins; bedside purity/ploidy grid fit")
        write_outputs(result, out_dir, cnr_keep, snps if plot else None, plot)
    return result


# ------------------------------------------------------------------------- scatter: coverage per chunk
#
# The read-level work of `bedside cnv` (CNVkit coverage of every bin in tumor and normal(s), and the SNP
# pileup for B-allele frequencies) splits over the workflow's chunks: a bin's depth is its own bases over
# its length, and each SNP position is called on its own. A chunk directory holds
#
#   meta.json                        {"version", "tumor", "normals": [SM, ...], "bin_size", "targets",
#                                     "germline_vcf", "regions": [...], "bins": N, "snps": true|false}
#   tumor.targetcoverage.cnn         CNVkit coverage of the bins starting in the chunk's regions
#   normal1.targetcoverage.cnn, ...  the same for the matched normal or each panel-of-normals BAM
#   snps.vcf.gz                      with a matched normal: bcftools mpileup | call -mv over the regions
#
# and `bedside cnv --coverage-chunks DIR ...` puts the bins back in the genome's order (every bin exactly
# once, else an error) and the SNP VCFs end to end, then runs reference, fix, segmentation and the fit as
# an unscattered run does — the same inputs to them, so the same segments, purity and gene calls.

def chunk_coverage(tumor: Path, ref: Path, out_dir: Path, regions: list[str], *, normal: Path | None = None,
                   pon: list[Path] = (), targets: Path | None = None, germline_vcf: Path | None = None,
                   bin_size: int = BIN_SIZE, threads: int = 1, sample_patients=None, sheet=None,
                   patient=None) -> int:
    """One scatter chunk of `bedside cnv`: coverage of the genome-wide bins that start in ``regions``
    (and the SNP pileup over ``regions``) -> ``out_dir``; returns the number of bins."""
    from bedside.calling.msi import parse_regions

    tumor, ref, out_dir = Path(tumor), Path(ref), Path(out_dir)
    normal = Path(normal) if normal else None
    pon = [Path(p) for p in pon]
    t_sm, n_sm = check_inputs(tumor, normal, ref, sample_patients, sheet, patient, pon)
    for p in (targets, germline_vcf):
        if p is not None and not Path(p).is_file():
            raise InputError("file not found", path=p)
    contigs = dict(tools.read_fai(ref, create=False))
    bounds = parse_regions(regions, contigs, ref)
    bam_contigs = dict(tools.alignment_contigs(tumor))
    contigs = {c: n for c, n in contigs.items() if c in bam_contigs}
    bins = make_bins(contigs, bin_size, targets=targets)
    by_chrom: dict[str, list[tuple[int, int]]] = {}
    for c, a, b in bounds:
        by_chrom.setdefault(c, []).append((a, b))
    mine = [x for x in bins if any(a <= x[1] < b for a, b in by_chrom.get(x[0], ()))]
    normals = [normal] if normal else pon
    out_dir.mkdir(parents=True, exist_ok=True)
    cnvkit_coverage(tumor, normals, mine, out_dir, threads)
    for k in range(len(normals) + 1):  # (empty: Bedside bins everything as targets; the merge writes it)
        (out_dir / f"{'tumor' if k == 0 else f'normal{k}'}.antitargetcoverage.cnn").unlink()
    snps = False
    if normal is not None:
        overlapping = [x for x in bins if any(x[1] < b and a < x[2] for a, b in by_chrom.get(x[0], ()))]
        _write_bed(overlapping, out_dir / "snp_bins.bed")
        pileup_regions = [f"{c}:{a + 1}-{b}" for c, a, b in bounds if c in contigs]
        if pileup_regions:
            pileup_snps(tumor, normal, ref, out_dir / "snp_bins.bed", out_dir / "snps.vcf.gz", germline_vcf,
                        threads, regions=pileup_regions)
            snps = True
        (out_dir / "snp_bins.bed").unlink()
    for f in ("bins.bed", "empty.bed"):
        (out_dir / f).unlink()
    meta = {"version": __version__, "tumor": t_sm, "normals": tools.bam_samples(normals), "bin_size": bin_size,
            "targets": Path(targets).name if targets else None,
            "germline_vcf": Path(germline_vcf).name if germline_vcf else None, "regions": list(regions),
            "bins": len(mine), "snps": snps}
    tools.write_text(out_dir / "meta.json", json.dumps(meta, indent=1) + "\n")
    return len(mine)


def merge_chunk_coverage(chunks: list[Path], bins: list[tuple[str, int, int]], work: Path, ref: Path, t_sm: str,
                         normal_sms: list[str], with_snps: bool,
                         germline_vcf: Path | None = None) -> list[tuple[Path, Path]]:
    """The chunks' coverage in the genome's bin order (each bin exactly once) and, ``with_snps``, their SNP
    VCFs end to end as ``work/snps.vcf.gz``; returns the (target, antitarget) .cnn pairs, tumor first."""
    order = {c: i for i, (c, _) in enumerate(tools.read_fai(ref, create=False))}
    metas = []
    for d in map(Path, chunks):
        mf = d / "meta.json"
        if not mf.is_file():
            raise InputError("not a `bedside cnv --coverage-out` chunk directory (no meta.json)", path=d)
        try:
            meta = json.loads(mf.read_text())
        except json.JSONDecodeError:
            raise InputError("meta.json is not JSON", path=mf) from None
        if meta.get("tumor") != t_sm or meta.get("normals") != normal_sms:
            raise InputError(f"chunk of samples {meta.get('tumor')} / {meta.get('normals')}, not {t_sm} / "
                             f"{normal_sms}", path=mf)
        gv = Path(germline_vcf).name if germline_vcf else None
        if with_snps and meta.get("germline_vcf") != gv:
            raise InputError(f"chunk's SNP pileup was at the sites of {meta.get('germline_vcf') or 'every bin'}, "
                             f"this run's at {gv or 'every bin'}", path=mf)
        metas.append((d, meta))
    sizes = {m.get("bin_size") for _, m in metas}
    if len(sizes) > 1:
        raise InputError(f"chunks of different bin sizes {sorted(sizes)}", path=chunks[0])

    def first_base(dm):
        c, _, rng = dm[1]["regions"][0].partition(":")
        return order.get(c, len(order)), int(rng.split("-")[0]) if rng else 1

    metas.sort(key=first_base)
    index = {b: i for i, b in enumerate(bins)}
    _write_bed(bins, work / "bins.bed")
    (work / "empty.bed").write_text("")
    cov = []
    for k, name in enumerate(["tumor", *[f"normal{i}" for i in range(1, len(normal_sms) + 1)]]):
        rows: list[str | None] = [None] * len(bins)
        for d, _ in metas:
            f = d / f"{name}.targetcoverage.cnn"
            if not f.is_file():
                raise InputError(f"{name} coverage missing from the chunk", path=f)
            with f.open() as fh:
                head = fh.readline().rstrip("\n")
                if head != COVERAGE_HEADER:
                    raise InputError(f"not a CNVkit coverage table (header {head!r})", path=f, line=1)
                for lineno, line in enumerate(fh, 2):
                    c = line.split("\t", 3)
                    try:
                        i = index[(c[0], int(c[1]), int(c[2]))]
                    except (KeyError, ValueError, IndexError):
                        raise InputError(f"bin {':'.join(c[:3])} is not one of this run's bins (other "
                                         f"reference, targets or bin size)", path=f, line=lineno) from None
                    if rows[i] is not None:
                        raise InputError(f"bin {c[0]}:{c[1]}-{c[2]} is in two chunks", path=f, line=lineno)
                    rows[i] = line if line.endswith("\n") else line + "\n"
        missing = [bins[i] for i, r in enumerate(rows) if r is None]
        if missing:
            c, a, b = missing[0]
            raise InputError(f"{len(missing)} bin(s) in no chunk, first {c}:{a}-{b}: the chunks do not cover "
                             f"the genome", path=chunks[0])
        tc, ac = work / f"{name}.targetcoverage.cnn", work / f"{name}.antitargetcoverage.cnn"
        tc.write_text(COVERAGE_HEADER + "\n" + "".join(rows))  # type: ignore[arg-type]
        ac.write_text(ANTITARGET_EMPTY)
        cov.append((tc, ac))
    if with_snps:
        vcfs = [d / "snps.vcf.gz" for d, m in metas if m.get("snps")]
        if not vcfs:
            raise InputError("no chunk has a SNP pileup (chunks computed without the matched normal?)",
                             path=chunks[0])
        tools.run_tool(["bcftools", "concat", "--no-version", "-O", "z", "-o", work / "snps.vcf.gz", *vcfs])
    return cov


def cnvkit_version() -> str:
    try:
        return tools.run_tool([CNVKIT, "version"]).stdout.strip()
    except Exception:  # noqa: BLE001
        return "unknown"


SEG_COLS = ["chrom", "start", "end", "log2", "copy_number", "minor_cn", "n_bins", "n_snps", "baf", "cn_estimate"]
GENE_COLS = ["gene", "chrom", "start", "end", "call", "copy_number", "minor_cn", "log2", "n_bins", "basis"]


def _fmt(v) -> str:
    return "" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))


def write_outputs(res: CnvResult, out_dir: Path, cnr: list[dict], snps, plot: bool) -> None:
    seg_lines = ["\t".join(SEG_COLS)] + ["\t".join(_fmt(getattr(s, c)) for c in SEG_COLS) for s in res.segments]
    tools.write_text(out_dir / "segments.tsv", "\n".join(seg_lines) + "\n")
    gene_lines = ["\t".join(GENE_COLS)] + ["\t".join(_fmt(getattr(g, c)) for c in GENE_COLS) for g in res.genes]
    tools.write_text(out_dir / "genes.tsv", "\n".join(gene_lines) + "\n")
    summary = {"tumor_sample": res.tumor_sample, "normal_sample": res.normal_sample, "method": res.method,
               "fit": asdict(res.fit),
               "calls": [asdict(g) for g in res.genes if g.call != "neutral"]}
    tools.write_text(out_dir / "cnv.json", json.dumps(summary, indent=2) + "\n")
    if plot:
        plot_genome(res, cnr, snps, out_dir / "cnv.png")


def plot_genome(res: CnvResult, cnr: list[dict], snps, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chroms = list(dict.fromkeys(r["chromosome"] for r in cnr))
    ends = {c: max(int(r["end"]) for r in cnr if r["chromosome"] == c) for c in chroms}
    off, acc = {}, 0
    for c in chroms:
        off[c] = acc
        acc += ends[c]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    ax1.scatter([off[r["chromosome"]] + int(r["start"]) for r in cnr], [float(r["log2"]) for r in cnr], s=2,
                color="0.6")
    for s in res.segments:
        if s.chrom in off:
            ax1.plot([off[s.chrom] + s.start, off[s.chrom] + s.end], [s.log2, s.log2], color="firebrick", lw=2)
    ax1.set_ylabel("log2 ratio")
    ax1.set_ylim(-3, 3)
    f = res.fit
    ax1.set_title(f"{res.tumor_sample}: purity {f.purity if f.purity is not None else 'not assessable'}, "
                  f"ploidy {f.ploidy if f.ploidy is not None else 'not assessable'}")
    if snps:
        ax2.scatter([off.get(c, 0) + p for c, p, _k, _d in snps if c in off],
                    [k / d for c, _p, k, d in snps if c in off], s=2, color="steelblue")
    ax2.set_ylabel("tumor BAF")
    ax2.set_ylim(0, 1)
    for c in chroms:
        for ax in (ax1, ax2):
            ax.axvline(off[c], color="0.85", lw=0.8)
        ax2.text(off[c] + ends[c] / 2, -0.25, c, ha="center", fontsize=8)
    ax2.set_xticks([])
    fig.tight_layout()
    with tools.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------ readers for the case record

def read_segments(path: str | Path) -> list[Segment]:
    rows = Path(path).read_text().splitlines()
    head = rows[0].split("\t")
    out = []
    for line in rows[1:]:
        d = dict(zip(head, line.split("\t")))
        num = lambda k, f=float: f(d[k]) if d.get(k) not in (None, "") else None  # noqa: E731
        out.append(Segment(d["chrom"], int(d["start"]), int(d["end"]), float(d["log2"]), int(d["n_bins"]),
                           num("n_snps", int) or 0, num("baf"), num("copy_number", int), num("minor_cn", int),
                           num("cn_estimate")))
    return out


def read_gene_calls(path: str | Path) -> list[GeneCall]:
    rows = Path(path).read_text().splitlines()
    head = rows[0].split("\t")
    out = []
    for line in rows[1:]:
        d = dict(zip(head, line.split("\t")))
        out.append(GeneCall(d["gene"], d["chrom"], int(d["start"]), int(d["end"]), d["call"],
                            int(d["copy_number"]) if d["copy_number"] else None,
                            int(d["minor_cn"]) if d["minor_cn"] else None, float(d["log2"]), int(d["n_bins"]),
                            d["basis"]))
    return out


def germline_zygosity(segments: list[Segment], chrom: str, pos: int, tumor_vaf: float | None = None,
                      purity: float | None = None) -> str | None:
    """Zygosity of a germline heterozygous variant in the tumor from the segment at ``chrom:pos``
    (1-based): 'LOH (copy-neutral)', 'LOH (with copy loss)', 'LOH (with copy gain)', 'heterozygous
    (retained)' or None when the segment has no allele-specific copy number. With the tumor VAF (and
    purity), says which allele was kept: the variant (a second hit for a tumor suppressor such as
    BRCA1/2) when the VAF exceeds 0.5, the reference allele when below."""
    seg = next((s for s in segments if s.chrom == chrom and s.start < pos <= s.end), None)
    if seg is None or seg.minor_cn is None or seg.copy_number is None:
        return None
    if seg.minor_cn > 0:
        return "heterozygous (retained)"
    kind = "copy-neutral" if seg.copy_number == 2 else ("with copy loss" if seg.copy_number < 2 else "with copy gain")
    text = f"LOH ({kind})"
    if tumor_vaf is not None and seg.copy_number > 0:
        kept = "variant allele retained" if tumor_vaf > 0.5 else "reference allele retained (variant lost)"
        text += f"; {kept} (tumor VAF {tumor_vaf:.2f}" + (f", purity {purity:.2f})" if purity else ")")
    return text
