"""A small learned filter for germline calls: logistic regression over caller features, in place of hand
thresholds.

Each candidate record (a biallelic, left-aligned ``bcftools call`` record) becomes a vector of
:data:`FEATURES`; the model's probability that the record is a true variant is written to INFO/GMP and a
record below the model's threshold gets FILTER ``LowModelScore``. The model is plain L2-regularised
logistic regression on standardised features (fitted by Newton-Raphson / IRLS in NumPy, no other
dependency), shipped as a versioned JSON artifact (``data/germline_filter_model.v*.json``: feature names,
means, scales, coefficients, intercept, threshold, and what it was trained on). The training recipe is
``benchmarks/germline_heldout.py train``; the held-out evaluation is the same script's ``report``.

Features (all from the record, the reads' summary bcftools writes, the reference and freebayes; the
shipped model v1 uses :data:`FEATURES`, i.e. repeat context and neighbouring calls for indels only):

==============  =================================================================================
qual            ln(1 + min(QUAL, 1000))
depth_rel       INFO/DP over the median INFO/DP of the call set (capped at 3): coverage-free
alt_frac        ALT read fraction, FORMAT/AD
af_dev          distance of alt_frac from what the genotype expects (0.5 het, 1.0 hom-alt)
alt_reads       ln(1 + ALT reads)
hom_alt         genotype is homozygous ALT
strand_bias     FORMAT/SP (phred strand-bias p-value) / 10, capped at 6
mq              INFO/MQ / 60, capped at 1
fb_agree        freebayes has a call at the locus (atomised, split, left-aligned like bcftools')
is_indel        1 for an insertion or deletion
indel_len       ln(1 + |len(ALT) - len(REF)|)
hp_run          longest homopolymer touching the variant (reference scan), bp / 10, capped at 2
tr_span         longest tandem repeat (unit 2-6 bp, >= 3 copies) touching the variant, bp / 20, capped 3
near_calls      other candidate records within 10 bp (capped at 3)
indel_x_hp      is_indel * hp_run
indel_x_tr      is_indel * tr_span
indel_x_afdev   is_indel * af_dev
==============  =================================================================================

The repeat context is a plain scan of the reference around the variant (documented in
:func:`repeat_context`), the same scan the benchmark uses to stratify (``homopolymer``: a run >= 6 bp,
``tandem_repeat``: a unit of 2-6 bp repeated >= 3 times over >= 10 bp, else ``other``).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bedside.errors import InputError

DATA = Path(__file__).resolve().parent / "data"
DEFAULT_MODEL = DATA / "germline_filter_model.v1.json"

# every feature record_features computes (a model may use a subset)
ALL_FEATURES = ("qual", "depth_rel", "alt_frac", "af_dev", "alt_reads", "hom_alt", "strand_bias", "mq",
                "fb_agree", "is_indel", "indel_len", "hp_run", "tr_span", "near_calls",
                "indel_x_hp", "indel_x_tr", "indel_x_afdev")
# the features of the shipped model: repeat context and neighbouring calls enter for indels only (see
# benchmarks/README.md: with them for SNVs too the model learned where the 2016 truth lacks SNVs)
FEATURES = ("qual", "depth_rel", "alt_frac", "af_dev", "alt_reads", "hom_alt", "strand_bias", "mq",
            "fb_agree", "is_indel", "indel_len", "indel_x_hp", "indel_x_tr", "indel_x_afdev")

FLANK = 30  # reference bases read on each side of a variant for the repeat scan
HP_MIN = 6  # stratification: homopolymer run >= this many bp
TR_MIN_SPAN = 10  # stratification: tandem repeat spanning >= this many bp


# ---------------------------------------------------------------------------------------------
# repeat context (reference scan)


def _run_at(seq: str, i: int, unit: int) -> tuple[int, int]:
    """(start, end) of the maximal stretch around index ``i`` of ``seq`` that is periodic with period
    ``unit`` (seq[k] == seq[k + unit]); end exclusive."""
    n = len(seq)
    if not 0 <= i < n:
        return i, i
    s = i
    while s - 1 >= 0 and s - 1 + unit < n and seq[s - 1] == seq[s - 1 + unit]:
        s -= 1
    e = i
    while e + unit < n and seq[e] == seq[e + unit]:
        e += 1
    return s, e + unit


def repeat_tract(seq: str, i: int, min_len: int = HP_MIN, max_unit: int = 6) -> tuple[int, int]:
    """(start, end) of the widest homopolymer or tandem repeat (unit 1-``max_unit``, >= ``min_len`` bp,
    >= 3 copies of a longer unit) containing index ``i`` of ``seq``; (i, i + 1) when there is none. Local
    reassembly widens its active regions to this tract (:mod:`bedside.calling.assembly`)."""
    best = (i, i + 1)
    for unit in range(1, max_unit + 1):
        s, e = _run_at(seq, i, unit)
        if e - s >= max(min_len, 3 * unit) and e - s > best[1] - best[0] and "N" not in seq[s:e]:
            best = (s, e)
    return best


def repeat_context(seq: str, start: int, end: int) -> tuple[int, int]:
    """(homopolymer run, tandem-repeat span) in bp touching ``seq[start:end]`` (0-based, the variant's
    reference span widened by one base each side, as an insertion sits between two bases).

    Homopolymer: the longest run of one base that overlaps the span. Tandem repeat: for unit sizes 2-6,
    the longest stretch periodic with that unit overlapping the span and holding >= 3 copies; its length.
    Bases outside the real sequence (``N``) stop both scans."""
    seq = seq.upper()
    hp = tr = 0
    for i in range(max(start, 0), min(end, len(seq))):
        if seq[i] == "N":
            continue
        s, e = _run_at(seq, i, 1)
        hp = max(hp, e - s)
        for unit in range(2, 7):
            s, e = _run_at(seq, i, unit)
            span = e - s
            if span >= 3 * unit and "N" not in seq[s:e] and len(set(seq[s:s + unit])) > 1:
                tr = max(tr, span)
    return hp, tr


def stratum(hp: int, tr: int) -> str:
    """The benchmark's repeat stratum for a variant's context."""
    if hp >= HP_MIN:
        return "homopolymer"
    if tr >= TR_MIN_SPAN:
        return "tandem_repeat"
    return "other"


class RefWindow:
    """Reads reference context through pysam's FastaFile (cached per contig chunk)."""

    def __init__(self, fasta: str | Path):
        import pysam

        self.fa = pysam.FastaFile(str(fasta))
        self._cache: dict[tuple[str, int], str] = {}

    def context(self, chrom: str, pos: int, ref: str, alt: str) -> tuple[int, int]:
        """(hp_run, tr_span) of a 1-based record."""
        if chrom not in self.fa.references:
            return 0, 0
        lo = max(pos - 1 - FLANK, 0)
        hi = min(pos - 1 + len(ref) + FLANK, self.fa.get_reference_length(chrom))
        seq = self.fa.fetch(chrom, lo, hi)
        # the variant's own span, one base wider on each side
        s = pos - 1 - lo - 1
        e = pos - 1 - lo + len(ref) + 1
        return repeat_context(seq, s, e)

    def close(self) -> None:
        self.fa.close()


# ---------------------------------------------------------------------------------------------
# features


def _carrier(rec):
    best = None
    for s in rec.samples.values():
        gt = s.get("GT") or ()
        if any(g not in (None, 0) for g in gt):
            ad = [a for a in (s.get("AD") or ()) if a is not None] if "AD" in rec.format else []
            alt = sum(ad[1:]) if ad else 0
            if best is None or alt > best[1]:
                best = (s, alt, sum(ad), gt)
    return best


def record_features(rec, refw: RefWindow | None, fb_agree: bool | None, near_calls: int,
                    median_depth: float) -> dict[str, float]:
    """The :data:`FEATURES` of one biallelic record."""
    qual = float(rec.qual or 0.0)
    dp = rec.info.get("DP")
    car = _carrier(rec)
    alt_reads = car[1] if car else 0
    total = car[2] if car else 0
    gt = car[3] if car else ()
    hom = 1.0 if gt and len(set(gt)) == 1 else 0.0
    if dp is None:
        dp = total
    alt_frac = alt_reads / total if total else 0.0
    sp = 0.0
    if car and "SP" in rec.format:
        sp = float(car[0].get("SP") or 0.0)
    mq = rec.info.get("MQ")
    alt = rec.alts[0] if rec.alts else rec.ref
    is_indel = 0.0 if len(rec.ref) == 1 and len(alt) == 1 else 1.0
    hp, tr = refw.context(rec.chrom, rec.pos, rec.ref, alt) if refw else (0, 0)
    hp_f, tr_f = min(hp / 10.0, 2.0), min(tr / 20.0, 3.0)
    af_dev = abs(alt_frac - (1.0 if hom else 0.5))
    return {
        "qual": math.log1p(min(qual, 1000.0)),
        "depth_rel": min(float(dp) / median_depth, 3.0) if median_depth > 0 else 1.0,
        "alt_frac": alt_frac,
        "af_dev": af_dev,
        "alt_reads": math.log1p(alt_reads),
        "hom_alt": hom,
        "strand_bias": min(sp / 10.0, 6.0),
        "mq": min(float(mq) / 60.0, 1.0) if mq is not None else 1.0,
        "fb_agree": 1.0 if fb_agree else 0.0,
        "is_indel": is_indel,
        "indel_len": math.log1p(abs(len(alt) - len(rec.ref))),
        "hp_run": hp_f,
        "tr_span": tr_f,
        "near_calls": float(min(near_calls, 3)),
        "indel_x_hp": is_indel * hp_f,
        "indel_x_tr": is_indel * tr_f,
        "indel_x_afdev": is_indel * af_dev,
    }


def neighbour_counts(positions: Sequence[tuple[str, int]], window: int = 10) -> dict[tuple[str, int], int]:
    """For each (chrom, pos): how many other records start within ``window`` bp."""
    import bisect

    by_chrom: dict[str, list[int]] = {}
    for c, p in positions:
        by_chrom.setdefault(c, []).append(p)
    for v in by_chrom.values():
        v.sort()
    out = {}
    for c, p in positions:
        v = by_chrom[c]
        out[(c, p)] = bisect.bisect_right(v, p + window) - bisect.bisect_left(v, p - window) - 1
    return out


def median_depth(vcf: str | Path) -> float:
    import pysam

    with pysam.VariantFile(str(vcf)) as vf:
        dps = [r.info.get("DP") for r in vf if r.info.get("DP") is not None]
    return float(statistics.median(dps)) if dps else 0.0


# ---------------------------------------------------------------------------------------------
# the model


@dataclass
class FilterModel:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float = 0.5
    version: str = ""
    # the candidate generator the model was trained on (GermlineParams fields: full_baq, gap_frac);
    # call_germline uses these when the model filters
    candidates: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def probability(self, feats: dict[str, float]) -> float:
        z = self.intercept
        for name, m, s, w in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            z += w * (feats.get(name, 0.0) - m) / s
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def to_json(self) -> str:
        return json.dumps({"format": "bedside-germline-filter-model", "version": self.version,
                           "kind": "logistic_regression", "features": self.features,
                           "mean": self.mean, "scale": self.scale, "coef": self.coef,
                           "intercept": self.intercept, "threshold": self.threshold,
                           "candidates": self.candidates, "meta": self.meta},
                          indent=2) + "\n"

    @classmethod
    def load(cls, path: str | Path | None = None) -> FilterModel:
        p = Path(path) if path and str(path) != "default" else DEFAULT_MODEL
        if not p.exists():
            raise InputError("germline filter model not found", path=p)
        try:
            d = json.loads(p.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"germline filter model is not valid JSON: {exc}", path=p) from exc
        if d.get("format") != "bedside-germline-filter-model" or d.get("kind") != "logistic_regression":
            raise InputError("not a bedside germline filter model (format/kind)", path=p)
        unknown = [f for f in d["features"] if f not in ALL_FEATURES]
        n = len(d["features"])
        if unknown or any(len(d[k]) != n for k in ("mean", "scale", "coef")):
            raise InputError(f"germline filter model: unknown features {unknown} or length mismatch",
                             path=p)
        return cls(features=list(d["features"]), mean=list(d["mean"]), scale=list(d["scale"]),
                   coef=list(d["coef"]), intercept=float(d["intercept"]),
                   threshold=float(d.get("threshold", 0.5)), version=str(d.get("version", "")),
                   candidates=dict(d.get("candidates", {})), meta=d.get("meta", {}))


def fit(rows: Sequence[dict[str, float]], labels: Sequence[int], l2: float = 1.0,
        features: Sequence[str] = FEATURES, iterations: int = 50) -> FilterModel:
    """L2-regularised logistic regression (intercept unpenalised) on standardised features, by IRLS."""
    import numpy as np

    x = np.array([[r[f] for f in features] for r in rows], dtype=float)
    y = np.asarray(labels, dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * l2
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -40, 40)))
        grad = z.T @ (p - y) + penalty @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return FilterModel(features=list(features), mean=[round(float(v), 6) for v in mean],
                       scale=[round(float(v), 6) for v in scale],
                       coef=[round(float(v), 6) for v in w[1:]], intercept=round(float(w[0]), 6))
