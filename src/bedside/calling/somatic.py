"""Somatic calling around the array core: input checks, allele counts from ``bcftools mpileup``, panel of
normals and population lookups, VCF writing, panel-of-normals building and TMB.

Allele counts come from ``bcftools mpileup --ignore-RG -a AD,ADF,ADR,DP,QS`` over tumor (+ normal); reads
below the minimum mapping quality (``-q``, default 20) and bases below the minimum base quality (``-Q``)
are left out there, so mapping quality enters the model as a read filter; the mean base quality of the
alt and reference reads (QS / AD) sets the error rates of :mod:`bedside.calling.somatic_core`.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from bedside import __version__
from bedside.calling.somatic_core import FILTERS, Params, Sites, filter_names, score
from bedside import tools
from bedside.tools import run_tool
from bedside.errors import BedsideError, InputError

log = logging.getLogger(__name__)

INDEL_BQ = 30.0  # placeholder base quality for indel rows (their error rate is Params.indel_error)
_SUFFIX = re.compile(r"[-_.](t|n|tumou?r|normal|germline|blood|tissue|ffpe|ctdna|wbc|pbmc)\d*$", re.IGNORECASE)


# ------------------------------------------------------------------ inputs

def bam_sample(bam: Path) -> str:
    """The single SM of a BAM's read groups; the BAM must be indexed (InputError otherwise)."""
    return tools.bam_sample(bam, require_index=True)


def fasta_contigs(ref: Path) -> list[tuple[str, int]]:
    """(name, length) of the reference's contigs from its .fai (which must exist)."""
    return tools.read_fai(ref, create=False)


def patient_of(sample: str) -> str:
    """Patient part of a sample name: strips a tumor/normal suffix (P1-T, P1_tumor, P1-N2 -> P1)."""
    return _SUFFIX.sub("", sample)


def check_pair(tumor: Path, normal: Path | None, ref: Path, patient: str | None = None,
               tumor_only: bool = False, sample_patients: dict[str, str] | None = None,
               sheet: str | None = None) -> tuple[str, str | None]:
    """Validate inputs before calling; returns (tumor SM, normal SM or None).

    Errors: missing normal in tumor/normal mode; BAMs whose @SQ (names, lengths) differ from each other
    or from the reference .fai; tumor and normal whose SM names point at different patients (or not at
    ``patient`` when given).
    """
    if normal is None and not tumor_only:
        raise InputError("tumor/normal mode needs --normal (or pass --tumor-only to call without one)",
                         path=tumor)
    if normal is not None and tumor_only:
        raise InputError("--tumor-only given together with --normal; choose one mode", path=normal)
    t_sm = bam_sample(tumor)
    n_sm = bam_sample(normal) if normal is not None else None
    ref_sq = fasta_contigs(ref)
    t_sq = tools.alignment_contigs(tumor)
    check_against_reference(tumor, t_sq, ref, ref_sq)
    if normal is not None:
        n_sq = tools.alignment_contigs(normal)
        if n_sq != t_sq and dict(n_sq) != dict(t_sq):
            raise InputError(f"tumor and normal BAMs are on different references: "
                             f"{_sq_diff(n_sq, t_sq)} (tumor {tumor})", path=normal)
        if t_sm == n_sm:
            raise InputError(f"tumor and normal have the same sample name {t_sm!r}", path=normal)
    if sample_patients is not None:
        # the sample sheet is the authority on which sample belongs to which patient
        for bam, sm in ((tumor, t_sm), (normal, n_sm)):
            if sm is not None and sm not in sample_patients:
                raise InputError(f"read-group sample {sm!r} is not in the sample sheet {sheet}",
                                 path=bam)
        pats = {sample_patients[sm] for sm in (t_sm, n_sm) if sm is not None}
        if patient is not None:
            pats.add(patient)
        if len(pats) > 1:
            raise InputError(f"tumor {t_sm!r} and normal {n_sm!r} belong to different patients "
                             f"({', '.join(sorted(pats))}) per the sample sheet {sheet}", path=normal)
    elif patient is not None:
        for bam, sm in ((tumor, t_sm), (normal, n_sm)):
            if sm is not None and patient_of(sm) != patient and not sm.startswith(patient):
                raise InputError(f"sample {sm!r} does not belong to patient {patient!r}", path=bam)
    elif n_sm is not None and patient_of(t_sm) != patient_of(n_sm):
        raise InputError(f"tumor sample {t_sm!r} and normal sample {n_sm!r} name different patients "
                         f"({patient_of(t_sm)!r} vs {patient_of(n_sm)!r}); pass --patient if this "
                         "pairing is intended", path=normal)
    return t_sm, n_sm


def check_against_reference(bam: Path, bam_sq: list[tuple[str, int]], ref: Path,
                            ref_sq: list[tuple[str, int]]) -> None:
    """A BAM's @SQ must agree with the reference .fai: shared names with equal lengths, at least one shared.

    BAM contigs absent from the reference (a reference cut down to some contigs) are allowed and not
    called; a length difference means another build and is an error.
    """
    rd = dict(ref_sq)
    for name, ln in bam_sq:
        if name in rd and rd[name] != ln:
            raise InputError(f"BAM @SQ lines do not match the reference {ref}: contig {name} length {ln} "
                             f"vs {rd[name]} (another genome build?)", path=bam)
    shared = [n for n, _ in bam_sq if n in rd]
    if not shared:
        raise InputError(f"BAM @SQ lines do not match the reference {ref}: no contig in common "
                         f"(BAM: {', '.join(n for n, _ in bam_sq[:3])}...; reference: "
                         f"{', '.join(n for n, _ in ref_sq[:3])}...)", path=bam)
    extra = len(bam_sq) - len(shared)
    if extra:
        log.warning("%s: %d BAM contigs are not in the reference and are not called", bam, extra)


def _sq_diff(a: list[tuple[str, int]], b: list[tuple[str, int]]) -> str:
    da, db = dict(a), dict(b)
    for name, ln in a:
        if name not in db:
            return f"contig {name} absent from the other"
        if db[name] != ln:
            return f"contig {name} length {ln} vs {db[name]}"
    for name in db:
        if name not in da:
            return f"contig {name} missing"
    return "same contigs"


# ------------------------------------------------------------------ pileup

@dataclass
class Candidates:
    """Candidate alleles: per-row metadata lists plus numeric arrays for the core."""

    chrom: list[str] = field(default_factory=list)
    pos: list[int] = field(default_factory=list)
    ref: list[str] = field(default_factory=list)
    alt: list[str] = field(default_factory=list)
    cols: dict[str, list[float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pos)


_COLS = ("t_ref", "t_alt", "t_ref_fwd", "t_ref_rev", "t_alt_fwd", "t_alt_rev", "t_ref_bq", "t_alt_bq",
         "t_dp", "n_ref", "n_alt", "n_ref_bq", "n_alt_bq", "n_dp", "is_indel", "indel_repeat")


def split_regions(contigs: list[tuple[str, int]], n_chunks: int) -> list[str]:
    """Whole-genome regions (chr:start-end) split into about n_chunks pieces of at least 50 kb."""
    total = sum(ln for _, ln in contigs) or 1
    size = max(50_000, min(5_000_000, math.ceil(total / max(1, n_chunks))))
    out = []
    for name, ln in contigs:
        for start in range(1, ln + 1, size):
            out.append(f"{name}:{start}-{min(ln, start + size - 1)}")
    return out


def pileup_region(bams: Sequence[Path], ref: Path, *, region: str | None = None,
                  regions_file: Path | None = None, targets_file: Path | None = None, min_alt: int = 2,
                  min_bq: int = 13, min_mq: int = 20, max_depth: int = 10000) -> str:
    """bcftools mpileup over the BAMs (one sample per BAM) -> query lines of candidate records."""
    cmd = ["bcftools", "mpileup", "--ignore-RG", "-f", ref, "-a", "FORMAT/AD,FORMAT/ADF,FORMAT/ADR,FORMAT/DP,FORMAT/QS", "-d", max_depth, "-q", min_mq, "-Q", min_bq, "-Ou",
           # indel candidates: >= min_alt gapped reads making >= 1% of a sample's reads
           # (bcftools' default gap fraction misses low-VAF indels)
           "-m", max(1, min_alt), "-F", 0.01]
    if region:
        cmd += ["-r", region]
    if regions_file:
        cmd += ["-R", regions_file]
    if targets_file:  # with a region: pile up only the targets inside it (panels, exomes)
        cmd += ["-T", targets_file]
    cmd += list(bams)
    view = ["bcftools", "view", "-Ou", "-i", f"FMT/AD[0:1-]>={min_alt}"]
    q = ["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT[\t%AD\t%ADF\t%ADR\t%QS\t%DP]\n"]
    return tools.pipe([cmd, view, q], inputs=bams)


def normalize(pos: int, ref: str, alt: str, fetch) -> tuple[int, str, str]:
    """Trim and left-align one allele pair (fetch(start0, end0) returns reference bases)."""
    if len(ref) == len(alt) == 1 or ref == alt:
        return pos, ref, alt
    while True:
        if ref and alt and ref[-1] == alt[-1]:
            ref, alt = ref[:-1], alt[:-1]
        elif (not ref or not alt) and pos > 1:
            base = fetch(pos - 2, pos - 1).upper()
            ref, alt, pos = base + ref, base + alt, pos - 1
        else:
            break
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def repeat_copies(pos: int, ref: str, alt: str, fetch, max_bp: int = 200) -> int:
    """Copies of a (left-aligned) indel's repeat unit in the reference right after the anchor base."""
    if len(ref) == len(alt) or min(len(ref), len(alt)) != 1 or ref[0] != alt[0]:
        return 1
    u = (ref if len(ref) > len(alt) else alt)[1:].upper()
    period = next(p for p in range(1, len(u) + 1) if len(u) % p == 0 and u == u[:p] * (len(u) // p))
    unit = u[:period]
    seq = fetch(pos, pos + max_bp).upper()  # 0-based pos = first base after the anchor
    k = 0
    while seq[k * period:(k + 1) * period] == unit:
        k += 1
    return max(1, k)


def parse_pileup(text: str, n_samples: int, min_alt: int, into: Candidates, fasta: pysam.FastaFile
                 ) -> None:
    """Append one candidate row per alt allele with >= min_alt tumor reads (indels left-aligned)."""
    cols = into.cols
    for name in _COLS:
        cols.setdefault(name, [])
    for line in text.splitlines():
        f = line.split("\t")
        alts = f[3].split(",")
        per = []
        for s in range(n_samples):
            b = 4 + 5 * s
            per.append(([int(x) for x in f[b].split(",")], [int(x) for x in f[b + 1].split(",")],
                        [int(x) for x in f[b + 2].split(",")], [int(x) for x in f[b + 3].split(",")],
                        int(f[b + 4]) if f[b + 4] != "." else 0))
        ad, adf, adr, qs, dp = per[0]
        for i, alt in enumerate(alts, 1):
            if alt == "<*>" or ad[i] < min_alt:
                continue
            indel = len(alt) != len(f[2])
            pos, r, a = int(f[1]), f[2], alt
            rep = 1
            if indel:
                fetch = functools.partial(fasta.fetch, f[0])
                pos, r, a = normalize(pos, r, a, fetch)
                rep = repeat_copies(pos, r, a, fetch)
            into.chrom.append(f[0])
            into.pos.append(pos)
            into.ref.append(r)
            into.alt.append(a)
            cols["t_ref"].append(ad[0])
            cols["t_alt"].append(ad[i])
            cols["t_ref_fwd"].append(adf[0])
            cols["t_ref_rev"].append(adr[0])
            cols["t_alt_fwd"].append(adf[i])
            cols["t_alt_rev"].append(adr[i])
            cols["t_ref_bq"].append(INDEL_BQ if indel or ad[0] == 0 else qs[0] / ad[0])
            cols["t_alt_bq"].append(INDEL_BQ if indel else qs[i] / ad[i])
            cols["t_dp"].append(dp)
            cols["is_indel"].append(indel)
            cols["indel_repeat"].append(rep)
            if n_samples > 1:
                nad, _nf, _nr, nqs, ndp = per[1]
                cols["n_ref"].append(nad[0])
                cols["n_alt"].append(nad[i])
                cols["n_ref_bq"].append(INDEL_BQ if indel or nad[0] == 0 else nqs[0] / nad[0])
                cols["n_alt_bq"].append(INDEL_BQ if indel or nad[i] == 0 else nqs[i] / nad[i])
                cols["n_dp"].append(ndp)


def collect_candidates(bams: Sequence[Path], ref: Path, contigs: list[tuple[str, int]], *,
                       region: str | Sequence[str] | None = None, regions_bed: Path | None = None,
                       threads: int = 1, min_alt: int = 2, min_bq: int = 13, min_mq: int = 20) -> Candidates:
    """Run the pileups (in parallel over genome chunks or BED contigs) and parse them. ``region`` may be
    several regions (a chunk of packed small contigs); with ``regions_bed`` too, only the BED's intervals
    inside the regions are piled up."""
    cand = Candidates()
    with tempfile.TemporaryDirectory(prefix="bedside-somatic-") as tmp:
        jobs: list[dict] = []
        if region:
            targets = {"targets_file": regions_bed} if regions_bed else {}
            jobs += [{"region": r, **targets} for r in ([region] if isinstance(region, str) else region)]
        elif regions_bed:
            by_contig: dict[str, list[str]] = {}
            known = dict(contigs)
            for i, line in enumerate(Path(regions_bed).read_text().splitlines(), 1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                parts = line.split("\t")
                if len(parts) < 3 or not parts[1].isdigit() or not parts[2].isdigit():
                    raise InputError("BED line needs chrom, start, end", path=regions_bed, line=i)
                if parts[0] not in known:
                    raise InputError(f"contig {parts[0]!r} not in the reference", path=regions_bed, line=i)
                by_contig.setdefault(parts[0], []).append("\t".join(parts[:3]))
            for lines in by_contig.values():
                p = Path(tmp) / f"{len(jobs)}.bed"
                p.write_text("\n".join(lines) + "\n")
                jobs.append({"regions_file": p})
        else:
            jobs = [{"region": r} for r in split_regions(contigs, threads * 2)]
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            texts = list(pool.map(lambda j: pileup_region(bams, ref, min_alt=min_alt, min_bq=min_bq,
                                                          min_mq=min_mq, **j), jobs))
    with pysam.FastaFile(str(ref)) as fasta:
        for text in texts:
            parse_pileup(text, len(bams), min_alt, cand, fasta)
    return cand


# ------------------------------------------------------------------ lookups

def _lookup_sites(vcf: Path, cand: Candidates, fmt: str) -> list[list[str]]:
    vcf = Path(vcf)
    if not vcf.exists():
        raise InputError("VCF not found", path=vcf)
    if not len(cand):
        return []
    with tempfile.NamedTemporaryFile("w", suffix=".sites.tsv", delete=False) as fh:
        for c, p in sorted(set(zip(cand.chrom, cand.pos))):
            fh.write(f"{c}\t{p}\n")
        sites = fh.name
    indexed = any(Path(str(vcf) + s).exists() for s in (".tbi", ".csi"))
    try:
        out = run_tool(["bcftools", "query", "-R" if indexed else "-T", sites, "-f", fmt, vcf], inputs=[vcf]).stdout
    finally:
        os.unlink(sites)
    return [line.split("\t") for line in out.splitlines()]


def pon_flags(pon: Path, cand: Candidates) -> np.ndarray:
    keys = {(c, int(p), r, a) for c, p, r, alts in _lookup_sites(pon, cand, "%CHROM\t%POS\t%REF\t%ALT\n")
            for a in alts.split(",")}
    return np.array([(c, p, r, a) in keys for c, p, r, a in zip(cand.chrom, cand.pos, cand.ref, cand.alt)],
                    dtype=bool)


def population_af(pop: Path, cand: Candidates) -> np.ndarray:
    afs: dict[tuple, float] = {}
    for c, p, r, alts, af in _lookup_sites(pop, cand, "%CHROM\t%POS\t%REF\t%ALT\t%INFO/AF\n"):
        vals = af.split(",")
        for k, a in enumerate(alts.split(",")):
            v = vals[k] if k < len(vals) else vals[-1]
            if v not in (".", ""):
                afs[(c, int(p), r, a)] = max(afs.get((c, int(p), r, a), 0.0), float(v))
    return np.array([afs.get(k, np.nan) for k in zip(cand.chrom, cand.pos, cand.ref, cand.alt)],
                    dtype=np.float64)


# ------------------------------------------------------------------ calling

DEVICES = ("cpu", "gpu")


class DeviceUnavailable(BedsideError):
    """``--device gpu`` on a machine without CuPy or a CUDA device (exit 2: use --device cpu there)."""


def array_module(device: str = "cpu"):
    """The array namespace the somatic model runs on: NumPy for ``cpu``, CuPy for ``gpu``.

    ``gpu`` needs CuPy (``pip install cupy-cuda12x``) and at least one CUDA device; otherwise
    :class:`DeviceUnavailable` names what is missing. Checked before any pileup runs."""
    if device not in DEVICES:
        raise InputError(f"--device {device!r} is not one of {', '.join(DEVICES)}")
    if device == "cpu":
        return np
    try:
        import cupy
    except ImportError as exc:
        raise DeviceUnavailable(f"--device gpu needs CuPy, which is not installed ({exc}); install the "
                                "build for the node's CUDA (e.g. pip install cupy-cuda12x) or use --device "
                                "cpu") from exc
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # cupy's CUDARuntimeError / a missing driver library
        raise DeviceUnavailable(f"--device gpu: CuPy {getattr(cupy, '__version__', '?')} found no usable "
                                f"CUDA device or driver ({type(exc).__name__}: {exc}); run on a GPU node or "
                                "use --device cpu") from exc
    if n < 1:
        raise DeviceUnavailable("--device gpu: CuPy sees no CUDA device (CUDA_VISIBLE_DEVICES empty, or no "
                                "GPU allocated to the job); run on a GPU node or use --device cpu")
    return cupy


def _to_host(a):
    """A device array back to NumPy (CuPy: ``.get()``; NumPy: itself; else via DLPack/``np.asarray``)."""
    if a is None or isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get") and callable(a.get):
        return a.get()
    try:
        return np.from_dlpack(a)
    except (TypeError, RuntimeError, BufferError, AttributeError):
        return np.asarray(a)


def score_on_device(sites: Sites, params: Params, xp=np) -> dict:
    """Score NumPy ``sites`` with the array core on namespace ``xp`` (NumPy, CuPy); results as NumPy."""
    if xp is np:
        return score(sites, params)
    dev = Sites(**{k: (xp.asarray(v) if v is not None and k != "extra" else v)
                   for k, v in sites.__dict__.items()})
    return {k: _to_host(v) for k, v in score(dev, params).items()}


def to_sites(cand: Candidates, contigs: list[tuple[str, int]], tumor_only: bool, xp=np) -> Sites:
    idx = {name: i for i, (name, _) in enumerate(contigs)}
    c = cand.cols
    key = np.array([idx[ch] for ch in cand.chrom], dtype=np.int64) * (1 << 32) + np.array(cand.pos, dtype=np.int64)

    def arr(name: str, dtype=np.int64):
        return xp.asarray(np.array(c.get(name, []), dtype=dtype))

    s = Sites(key=xp.asarray(key), is_indel=arr("is_indel", bool), t_ref=arr("t_ref"), t_alt=arr("t_alt"),
              t_alt_fwd=arr("t_alt_fwd"), t_alt_rev=arr("t_alt_rev"), t_ref_fwd=arr("t_ref_fwd"),
              t_ref_rev=arr("t_ref_rev"), t_ref_bq=arr("t_ref_bq", np.float64),
              t_alt_bq=arr("t_alt_bq", np.float64), t_dp=arr("t_dp"), indel_repeat=arr("indel_repeat"))
    if not tumor_only:
        s.n_ref, s.n_alt, s.n_dp = arr("n_ref"), arr("n_alt"), arr("n_dp")
        s.n_ref_bq, s.n_alt_bq = arr("n_ref_bq", np.float64), arr("n_alt_bq", np.float64)
    return s


@dataclass
class CallResult:
    n_candidates: int
    n_records: int
    n_pass: int
    tumor_sample: str
    normal_sample: str | None


def call_somatic(tumor: Path, normal: Path | None, ref: Path, out: Path, *,
                 region: str | Sequence[str] | None = None,
                 regions_bed: Path | None = None, pon: Path | None = None, population: Path | None = None,
                 tumor_only: bool = False, threads: int = 1, patient: str | None = None,
                 params: Params | None = None, min_alt: int = 2, emit_lod: float = 3.0,
                 min_bq: int = 13, min_mq: int = 20, sample_patients: dict[str, str] | None = None,
                 sheet: str | None = None, device: str = "cpu") -> CallResult:
    """Call somatic SNVs/indels and write a bgzipped, tabix-indexed VCF to ``out`` (atomically).
    ``device``: where the array core scores the candidates (``cpu`` NumPy, ``gpu`` CuPy)."""
    params = params or Params()
    xp = array_module(device)  # before any pileup: a missing GPU stops the job at once
    t_sm, n_sm = check_pair(tumor, normal, ref, patient, tumor_only, sample_patients, sheet)
    contigs = fasta_contigs(ref)
    for r in ([region] if isinstance(region, str) else region or []):
        name = r.rsplit(":", 1)[0] if re.search(r":[0-9,]+(-[0-9,]*)?$", r) else r
        if name not in dict(contigs):
            raise InputError(f"region contig {name!r} is not in the reference", path=ref, record=r)
    if regions_bed and not Path(regions_bed).exists():
        raise InputError("regions BED not found", path=regions_bed)
    for p in (pon, population):
        if p is not None and not Path(p).exists():
            raise InputError("VCF not found", path=p)
    bams = [tumor] + ([normal] if normal is not None else [])
    cand = collect_candidates(bams, ref, contigs, region=region, regions_bed=regions_bed, threads=threads,
                              min_alt=min_alt, min_bq=min_bq, min_mq=min_mq)
    sites = to_sites(cand, contigs, tumor_only)
    if pon is not None:
        sites.in_pon = pon_flags(pon, cand)
    if population is not None:
        sites.population_af = population_af(population, cand)
    res = score_on_device(sites, params, xp) if len(cand) else {
        k: np.zeros(0) for k in ("tlod", "nlod", "vaf")} | {"filter_mask": np.zeros(0, dtype=np.int32)}
    keep = np.nonzero(np.asarray(res["tlod"]) >= emit_lod)[0]
    order = keep[np.lexsort((np.array(cand.alt, dtype=object)[keep] if len(keep) else keep,
                             np.asarray(sites.key)[keep]))] if len(keep) else keep
    n_pass = write_vcf(out, cand, sites, res, order, contigs, ref, t_sm, n_sm, tumor_only, params,
                       pon, population)
    return CallResult(len(cand), len(order), n_pass, t_sm, n_sm)


def vcf_header(contigs: list[tuple[str, int]], ref: Path, samples: list[str], tumor_only: bool,
               params: Params, extra: list[str] = ()) -> list[str]:
    h = ["##fileformat=VCFv4.2", f"##source=bedside somatic {__version__}",
         f"##reference={Path(ref).name}"]
    h += [f"##contig=<ID={c},length={ln}>" for c, ln in contigs]
    h.append('##FILTER=<ID=PASS,Description="All filters passed">')
    h += [f'##FILTER=<ID={k},Description="{v}">' for k, v in FILTERS.items()]
    h += [('##INFO=<ID=TLOD,Number=1,Type=Float,Description="Tumor log10 odds: variant at the observed '
           'allele fraction vs sequencing error">'),
          ('##INFO=<ID=NLOD,Number=1,Type=Float,Description="Normal log10 odds: normal homozygous reference '
           'vs heterozygous">'),
          '##INFO=<ID=SOMATIC,Number=0,Type=Flag,Description="Passes all filters: called somatic">',
          '##INFO=<ID=TUMOR_ONLY,Number=0,Type=Flag,Description="Called without a matched normal">',
          '##INFO=<ID=PON,Number=0,Type=Flag,Description="Site in the panel of normals">',
          '##INFO=<ID=POP_AF,Number=A,Type=Float,Description="Population allele frequency">',
          '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
          '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths (ref, alt)">',
          '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Alt allele fraction AD[alt]/(AD[ref]+AD[alt])">',
          '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="High-quality read depth (bcftools mpileup)">']
    h.append("##bedside_somatic_params=" + json.dumps(params.__dict__, separators=(",", ":")))
    h += list(extra)
    h.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]))
    return h


def write_vcf(out: Path, cand: Candidates, sites: Sites, res: dict, order: np.ndarray,
              contigs: list[tuple[str, int]], ref: Path, t_sm: str, n_sm: str | None, tumor_only: bool,
              params: Params, pon: Path | None, population: Path | None, *,
              extra_header: Sequence[str] = (), more_filters=None, more_info=None) -> int:
    """Write the scored sites (in ``order``) as the somatic VCF; returns the number of PASS records.

    ``extra_header`` lines follow the mode line; ``more_filters(i)`` / ``more_info(i)`` add FILTER names and
    INFO fields of site ``i`` (an imported caller's own filters and scores: bedside.calling.mutect_import)."""
    samples = [t_sm] + ([n_sm] if n_sm else [])
    extra = [f"##bedside_somatic_mode={'tumor_only' if tumor_only else 'tumor_normal'}", *extra_header]
    if pon:
        extra.append(f"##bedside_pon=file://{pon}")
    if population:
        extra.append(f"##bedside_population=file://{population}")
    lines = vcf_header(contigs, ref, samples, tumor_only, params, extra)
    tlod, nlod = np.asarray(res["tlod"]), np.asarray(res["nlod"])
    mask = np.asarray(res["filter_mask"])
    c = {k: np.asarray(v) for k, v in cand.cols.items()}
    pon_arr = None if sites.in_pon is None else np.asarray(sites.in_pon)
    paf = None if sites.population_af is None else np.asarray(sites.population_af)
    n_pass = 0
    for i in order:
        names = filter_names(int(mask[i]))
        if more_filters is not None:
            names += [f for f in more_filters(i) if f not in names]
        info = [f"TLOD={tlod[i]:.2f}"]
        if not tumor_only:
            info.append(f"NLOD={nlod[i]:.2f}")
        if not names:
            info.append("SOMATIC")
            n_pass += 1
        if tumor_only:
            info.append("TUMOR_ONLY")
        if pon_arr is not None and pon_arr[i]:
            info.append("PON")
        if paf is not None and not math.isnan(paf[i]):
            info.append(f"POP_AF={paf[i]:.4g}")
        if more_info is not None:
            info += more_info(i)
        tr, ta = int(c["t_ref"][i]), int(c["t_alt"][i])
        gts = [f"0/1:{tr},{ta}:{(ta / (tr + ta) if tr + ta else 0.0):.3f}:{int(c['t_dp'][i])}"]
        if not tumor_only:
            nr, na = int(c["n_ref"][i]), int(c["n_alt"][i])
            gts.append(f"0/0:{nr},{na}:{(na / (nr + na) if nr + na else 0.0):.3f}:{int(c['n_dp'][i])}")
        lines.append("\t".join([cand.chrom[i], str(cand.pos[i]), ".", cand.ref[i], cand.alt[i], ".",
                                ";".join(names) if names else "PASS", ";".join(info), "GT:AD:AF:DP", *gts]))
    write_bgzip_vcf(out, lines)
    return n_pass


def write_bgzip_vcf(out: Path, lines: list[str]) -> None:
    """Write VCF lines bgzipped with a tabix index, atomically (the index is moved first)."""
    with tools.atomic_indexed(out, ".tbi") as tmp:
        plain = Path(str(tmp) + ".vcf")
        try:
            plain.write_text("\n".join(lines) + "\n")
            pysam.tabix_compress(str(plain), str(tmp), force=True)
        finally:
            plain.unlink(missing_ok=True)
        pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp) + ".tbi")


# ------------------------------------------------------------------ panel of normals

def build_pon(normals: Sequence[Path], ref: Path, out: Path, *, min_normals: int = 2, min_alt: int = 2,
              min_vaf: float = 0.0, threads: int = 1, region: str | None = None) -> int:
    """Sites with alt evidence (>= min_alt reads and >= min_vaf) in >= min_normals normals -> VCF."""
    if len(normals) < min_normals:
        raise InputError(f"a panel of normals needs at least {min_normals} normal BAMs, got {len(normals)}")
    ref_sq = fasta_contigs(ref)
    names = []
    for bam in normals:
        names.append(bam_sample(bam))
        check_against_reference(bam, tools.alignment_contigs(bam), ref, ref_sq)
    jobs = [region] if region else split_regions(ref_sq, threads * 2)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        texts = list(pool.map(lambda r: _pon_pileup(normals, ref, r, min_alt), jobs))
    lines = ["##fileformat=VCFv4.2", f"##source=bedside pon {__version__}",
             f"##reference={Path(ref).name}"]
    lines += [f"##contig=<ID={c},length={ln}>" for c, ln in ref_sq]
    lines += ['##INFO=<ID=N_NORMALS,Number=1,Type=Integer,Description="Normals with alt evidence">',
              (f'##INFO=<ID=FRACTION,Number=1,Type=Float,Description="Fraction of the {len(normals)} '
               'normals with alt evidence">'),
              f"##bedside_pon_normals={','.join(names)}",
              f"##bedside_pon_rule=alt reads >= {min_alt} and VAF >= {min_vaf} in >= {min_normals} normals",
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    n = 0
    rows = []
    fasta = pysam.FastaFile(str(ref))
    for text in texts:
        for line in text.splitlines():
            f = line.split("\t")
            alts = f[3].split(",")
            ads = [[int(x) for x in s.split(",")] for s in f[4:]]
            for i, alt in enumerate(alts, 1):
                if alt == "<*>":
                    continue
                k = sum(1 for ad in ads if ad[i] >= min_alt and ad[i] / max(1, sum(ad)) >= min_vaf)
                if k >= min_normals:
                    pos, r, a = normalize(int(f[1]), f[2], alt, functools.partial(fasta.fetch, f[0]))
                    rows.append((f[0], pos, r, a, f"N_NORMALS={k};FRACTION={k / len(normals):.3f}"))
    fasta.close()
    order = {c: i for i, (c, _) in enumerate(ref_sq)}
    seen = set()
    for c, pos, r, a, info in sorted(rows, key=lambda x: (order[x[0]], x[1], x[2], x[3])):
        if (c, pos, r, a) not in seen:
            seen.add((c, pos, r, a))
            lines.append(f"{c}\t{pos}\t.\t{r}\t{a}\t.\t.\t{info}")
            n += 1
    write_bgzip_vcf(out, lines)
    return n


def _pon_pileup(normals: Sequence[Path], ref: Path, region: str, min_alt: int) -> str:
    cmd = ["bcftools", "mpileup", "--ignore-RG", "-f", ref, "-a", "FORMAT/AD", "-d", 10000, "-q", 20,
           "-Q", 13, "-Ou", "-r", region, *normals]
    return tools.pipe([cmd, ["bcftools", "view", "-Ou", "-i", f"FMT/AD[*:1-]>={min_alt}"],
                       ["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT[\t%AD]\n"]], inputs=normals)


# ------------------------------------------------------------------ TMB

def read_callable(coverage: Path, min_depth: int, regions: dict[str, list[tuple[int, int]]] | None = None
                  ) -> dict[str, np.ndarray]:
    """Callable intervals (depth >= min_depth) from a mosdepth per-base / quantized BED(.gz).

    Returns per contig an (n, 2) array of merged 0-based half-open intervals. Quantized files (4th
    column a bin label like ``20:80`` or ``20:inf``) count a bin as callable when its lower bound >=
    min_depth.
    """
    coverage = Path(coverage)
    if not coverage.exists():
        raise InputError("coverage file not found", path=coverage)
    opener = gzip.open if coverage.suffix == ".gz" else open
    per: dict[str, list[tuple[int, int]]] = {}
    with opener(coverage, "rt") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track")):
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) < 4:
                raise InputError("coverage BED line needs chrom, start, end, depth", path=coverage, line=i)
            try:
                start, end = int(f[1]), int(f[2])
                d = f[3]
                depth = float(d.split(":")[0]) if ":" in d else float(d)
            except ValueError as exc:
                raise InputError(f"bad coverage value: {exc}", path=coverage, line=i) from exc
            if depth >= min_depth and end > start:
                iv = per.setdefault(f[0], [])
                if iv and iv[-1][1] == start:
                    iv[-1] = (iv[-1][0], end)
                else:
                    iv.append((start, end))
    return {c: np.array(v, dtype=np.int64).reshape(-1, 2) for c, v in per.items()}


def compute_tmb(vcf: Path, coverage: Path, min_depth: int = 20) -> dict:
    """TMB = PASS somatic SNVs + indels (coding and non-coding) inside callable territory / callable Mb."""
    vcf = Path(vcf)
    if not vcf.exists():
        raise InputError("VCF not found", path=vcf)
    callable_iv = read_callable(coverage, min_depth)
    callable_bp = int(sum(int((iv[:, 1] - iv[:, 0]).sum()) for iv in callable_iv.values()))
    text = run_tool(["bcftools", "query", "-i", 'FILTER="PASS"', "-f", "%CHROM\t%POS\t%REF\t%ALT\n", vcf],
                    inputs=[vcf]).stdout
    snv = indel = outside = 0
    for line in text.splitlines():
        c, p, r, a = line.split("\t")
        iv = callable_iv.get(c)
        pos0 = int(p) - 1
        inside = False
        if iv is not None and len(iv):
            j = int(np.searchsorted(iv[:, 0], pos0, side="right")) - 1
            inside = j >= 0 and pos0 < iv[j, 1]
        if not inside:
            outside += 1
            continue
        if len(r) == 1 and all(len(x) == 1 for x in a.split(",")):
            snv += 1
        else:
            indel += 1
    count = snv + indel
    return {"vcf": str(vcf), "coverage": str(coverage), "min_depth": min_depth, "count": count,
            "snv": snv, "indel": indel, "pass_outside_callable": outside, "callable_bp": callable_bp,
            "tmb_per_mb": round(count / (callable_bp / 1e6), 4) if callable_bp else None,
            "definition": "PASS somatic SNVs and indels, coding and non-coding, at positions with depth "
                          f">= {min_depth}, per Mb of such positions"}
