"""Vectorised somatic model: tumor/normal log-odds and filters over whole arrays of candidate sites.

Every function takes arrays and works out their namespace with ``array_api_compat.array_namespace``,
so the same code runs on NumPy (CPU) and CuPy (GPU), and is checked against ``array_api_strict``.
No files, no tools here.

Model (after MuTect, Cibulskis et al., Nat Biotechnol 2013;31:213-219, PMID 23396013):

* a read from the reference haplotype shows the alt allele with probability ``a`` (SNV: e/3 with
  e = 10^(-Q/10) from the mean base quality of the alt reads, combined with the mapping-error rate when
  a mapping quality is given; indel: a fixed indel error rate), and a read from the alt haplotype shows
  the reference with probability ``r`` (from the mean base quality of the reference reads);
* L(f) = n_ref * log10((1-f)(1-a) + f r) + n_alt * log10(f (1-r) + (1-f) a);
* TLOD = L_tumor(f_hat) - L_tumor(0) with f_hat = n_alt / (n_ref + n_alt): variant at the observed
  fraction against sequencing error;
* NLOD = L_normal(0) - L_normal(0.5): the normal is reference rather than a heterozygous germline carrier.
  MuTect's thresholds are TLOD >= 6.3 and NLOD >= 2.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
from array_api_compat import array_namespace

# filter bits (order = order of FILTER declarations in the VCF header)
FILTERS: dict[str, str] = {
    "weak_evidence": "Tumor log-odds TLOD below the calling threshold",
    "strand_bias": "Alt reads on one strand only while reference reads are on both (G-test)",
    "low_vaf": "Tumor allele fraction below the minimum VAF",
    "normal_artifact": "Alt reads present in the matched normal",
    "clustered_events": "Too many candidate events within the clustering window",
    "low_depth": "Tumor (or matched normal) depth below the minimum",
    "panel_of_normals": "Site present in the panel of normals",
    "germline_risk": "Likely germline: low normal log-odds NLOD (tumor/normal) or population AF above "
                     "the maximum",
}
FILTER_BITS: dict[str, int] = {name: 1 << i for i, name in enumerate(FILTERS)}


@dataclass(frozen=True)
class Params:
    """Thresholds of the model and the filters (defaults documented in the CLI help)."""

    tlod_min: float = 6.3
    nlod_min: float = 2.2
    min_vaf: float = 0.02
    min_tumor_depth: int = 10
    min_normal_depth: int = 8
    max_normal_alt: int = 1  # normal_artifact when the normal has more alt reads than this ...
    max_normal_vaf: float = 0.03  # ... and a normal allele fraction at or above this
    strand_g_min: float = 15.0  # G statistic (chi2, 1 df; 15 ~ p 1e-4)
    strand_minor_frac: float = 0.1  # ... and the minority strand holds under this fraction of alt reads
    cluster_window: int = 50  # +- bp
    cluster_max_events: int = 2  # clustered when more events than this lie within the window
    max_population_af: float = 0.001
    # chance a reference read shows a given indel: phred 45, GATK's default insertion/deletion base quality
    indel_error: float = 10 ** -4.5
    # ... multiplied by this per extra copy of the indel's repeat unit in the reference (homopolymers and
    # short tandem repeats slip more often); a heuristic, capped at max_indel_error
    indel_repeat_factor: float = 2.0
    max_indel_error: float = 0.25
    min_error: float = 1e-6  # floor on error rates


@dataclass
class Sites:
    """Per-candidate arrays (one row = one alt allele at one site). Normal arrays may be None."""

    key: Any  # int64: contig index * 2**32 + 1-based position (sortable, for clustering)
    is_indel: Any  # bool
    t_ref: Any
    t_alt: Any
    t_alt_fwd: Any
    t_alt_rev: Any
    t_ref_fwd: Any
    t_ref_rev: Any
    t_ref_bq: Any  # mean base quality of reference reads (phred)
    t_alt_bq: Any  # mean base quality of alt reads (phred)
    t_dp: Any
    n_ref: Any | None = None
    n_alt: Any | None = None
    n_dp: Any | None = None
    n_ref_bq: Any | None = None
    n_alt_bq: Any | None = None
    alt_mq: Any | None = None  # optional mean mapping quality of alt reads (phred)
    indel_repeat: Any | None = None  # copies of the indel's repeat unit in the reference (1 = none)
    in_pon: Any | None = None  # bool
    population_af: Any | None = None  # float, NaN where unknown
    extra: dict = field(default_factory=dict)


def phred_to_prob(q: Any) -> Any:
    xp = array_namespace(q)
    return xp.exp(q * (-math.log(10.0) / 10.0))


def log_likelihood(n_ref: Any, n_alt: Any, f: Any, ref_err: Any, alt_err: Any) -> Any:
    """log10 P(reads | allele fraction f) for n_ref reference and n_alt alt reads (see module doc)."""
    xp = array_namespace(n_ref, n_alt, f)
    p_ref = (1.0 - f) * (1.0 - alt_err) + f * ref_err
    p_alt = f * (1.0 - ref_err) + (1.0 - f) * alt_err
    return n_ref * xp.log10(p_ref) + n_alt * xp.log10(p_alt)


def indel_errors(indel_repeat: Any, params: Params) -> Any:
    """Per-site indel error: params.indel_error * factor**(copies - 1), capped."""
    xp = array_namespace(indel_repeat)
    extra = xp.clip(xp.astype(indel_repeat, xp.float64) - 1.0, 0.0, 60.0)
    err = params.indel_error * xp.exp(extra * math.log(params.indel_repeat_factor))
    return xp.clip(err, params.min_error, params.max_indel_error)


def error_rates(ref_bq: Any, alt_bq: Any, is_indel: Any, params: Params, alt_mq: Any | None = None,
                indel_repeat: Any | None = None) -> tuple[Any, Any]:
    """(ref_err, alt_err) per site from mean base qualities (and optional alt mapping quality)."""
    xp = array_namespace(ref_bq, alt_bq)
    e_alt = phred_to_prob(alt_bq)
    if alt_mq is not None:
        e_mq = phred_to_prob(alt_mq)
        e_alt = 1.0 - (1.0 - e_alt) * (1.0 - e_mq)
    snv_alt_err = e_alt / 3.0
    if indel_repeat is None:
        indel_err = xp.asarray(min(params.indel_error, params.max_indel_error), dtype=e_alt.dtype)
    else:
        indel_err = indel_errors(indel_repeat, params)
    alt_err = xp.where(is_indel, indel_err, snv_alt_err)
    alt_err = xp.clip(alt_err, params.min_error, 0.5)
    ref_err = xp.clip(phred_to_prob(ref_bq), params.min_error, 0.5)
    return ref_err, alt_err


def tumor_lod(n_ref: Any, n_alt: Any, ref_err: Any, alt_err: Any) -> Any:
    """TLOD: log10 odds of a variant at the observed allele fraction against sequencing error."""
    xp = array_namespace(n_ref, n_alt, ref_err, alt_err)
    n_ref = xp.astype(n_ref, ref_err.dtype)
    n_alt = xp.astype(n_alt, ref_err.dtype)
    depth = n_ref + n_alt
    f = xp.where(depth > 0, n_alt / xp.where(depth > 0, depth, 1.0), 0.0)
    lod = log_likelihood(n_ref, n_alt, f, ref_err, alt_err) - log_likelihood(
        n_ref, n_alt, xp.zeros_like(f), ref_err, alt_err)
    return xp.where(n_alt > 0, lod, 0.0)


def normal_lod(n_ref: Any, n_alt: Any, ref_err: Any, alt_err: Any) -> Any:
    """NLOD: log10 odds that the normal is homozygous reference rather than heterozygous (f = 0.5)."""
    xp = array_namespace(n_ref, n_alt, ref_err, alt_err)
    n_ref = xp.astype(n_ref, ref_err.dtype)
    n_alt = xp.astype(n_alt, ref_err.dtype)
    half = xp.full_like(ref_err, 0.5)
    return log_likelihood(n_ref, n_alt, xp.zeros_like(half), ref_err, alt_err) - log_likelihood(
        n_ref, n_alt, half, ref_err, alt_err)


def strand_g(alt_fwd: Any, alt_rev: Any, ref_fwd: Any, ref_rev: Any) -> Any:
    """G statistic of the alt reads' strand split against the reference reads' forward fraction."""
    xp = array_namespace(alt_fwd, alt_rev, ref_fwd, ref_rev)
    af = xp.astype(alt_fwd, xp.float64) if xp.isdtype(alt_fwd.dtype, "integral") else alt_fwd
    ar = xp.astype(alt_rev, af.dtype) if xp.isdtype(alt_rev.dtype, "integral") else alt_rev
    rf = xp.astype(ref_fwd, af.dtype) if xp.isdtype(ref_fwd.dtype, "integral") else ref_fwd
    rr = xp.astype(ref_rev, af.dtype) if xp.isdtype(ref_rev.dtype, "integral") else ref_rev
    p = (rf + 1.0) / (rf + rr + 2.0)  # pseudo-counts: unknown ref strand -> 0.5
    n = af + ar

    def term(obs: Any, expected: Any) -> Any:
        ok = (obs > 0) & (expected > 0)
        ratio = xp.where(ok, obs, 1.0) / xp.where(ok, expected, 1.0)
        return xp.where(ok, obs * xp.log(ratio), 0.0)

    return 2.0 * (term(af, n * p) + term(ar, n * (1.0 - p)))


def event_counts(key: Any, is_event: Any, window: int) -> Any:
    """For each site, the number of distinct event positions within +-window bp on the same contig."""
    xp = array_namespace(key, is_event)
    ev = xp.sort(key[is_event])
    if ev.shape[0] > 1:  # distinct positions (sort + neighbour compare; faster than a hash unique)
        first = xp.ones((1,), dtype=xp.bool, device=array_api_compat.device(ev))
        ev = ev[xp.concat([first, ev[1:] != ev[:-1]])]
    lo = xp.searchsorted(ev, key - window, side="left")
    hi = xp.searchsorted(ev, key + window, side="right")
    return hi - lo


def score(sites: Sites, params: Params | None = None) -> dict[str, Any]:
    """TLOD, NLOD (NaN in tumor-only mode), tumor VAF and a FILTER bit mask for every candidate."""
    params = params or Params()
    s = sites
    xp = array_namespace(s.t_ref, s.t_alt)
    fdt = xp.float64
    t_ref = xp.astype(s.t_ref, fdt)
    t_alt = xp.astype(s.t_alt, fdt)
    ref_err, alt_err = error_rates(xp.astype(s.t_ref_bq, fdt), xp.astype(s.t_alt_bq, fdt), s.is_indel,
                                   params, None if s.alt_mq is None else xp.astype(s.alt_mq, fdt),
                                   s.indel_repeat)
    tlod = tumor_lod(t_ref, t_alt, ref_err, alt_err)
    t_depth = t_ref + t_alt
    vaf = xp.where(t_depth > 0, t_alt / xp.where(t_depth > 0, t_depth, 1.0), 0.0)
    zero = xp.zeros(t_ref.shape, dtype=xp.int32)

    def bit(name: str, cond: Any) -> Any:
        return xp.where(cond, xp.asarray(FILTER_BITS[name], dtype=xp.int32), zero)

    mask = bit("weak_evidence", tlod < params.tlod_min)
    g = strand_g(s.t_alt_fwd, s.t_alt_rev, s.t_ref_fwd, s.t_ref_rev)
    alt_f = xp.astype(s.t_alt_fwd, fdt)
    alt_r = xp.astype(s.t_alt_rev, fdt)
    minor = xp.minimum(alt_f, alt_r) / xp.where(t_alt > 0, t_alt, 1.0)
    mask |= bit("strand_bias", (g >= params.strand_g_min) & (minor < params.strand_minor_frac))
    mask |= bit("low_vaf", vaf < params.min_vaf)
    low_depth = xp.astype(s.t_dp, fdt) < params.min_tumor_depth
    is_event = (tlod >= params.tlod_min) & (vaf >= params.min_vaf)
    counts = event_counts(s.key, is_event, params.cluster_window)
    mask |= bit("clustered_events", counts > params.cluster_max_events)
    germline = xp.zeros(t_ref.shape, dtype=xp.bool)
    if s.n_ref is not None:
        n_ref = xp.astype(s.n_ref, fdt)
        n_alt = xp.astype(s.n_alt, fdt)
        n_ref_err, n_alt_err = error_rates(xp.astype(s.n_ref_bq, fdt), xp.astype(s.n_alt_bq, fdt),
                                           s.is_indel, params, None, s.indel_repeat)
        # where the normal has no alt reads its alt quality is unknown: use the tumor's
        n_alt_err = xp.where(n_alt > 0, n_alt_err, alt_err)
        nlod = normal_lod(n_ref, n_alt, n_ref_err, n_alt_err)
        n_depth = n_ref + n_alt
        n_vaf = xp.where(n_depth > 0, n_alt / xp.where(n_depth > 0, n_depth, 1.0), 0.0)
        mask |= bit("normal_artifact", (n_alt > params.max_normal_alt) & (n_vaf >= params.max_normal_vaf))
        low_depth = low_depth | (xp.astype(s.n_dp, fdt) < params.min_normal_depth)
        germline = germline | (nlod < params.nlod_min)
    else:
        nlod = xp.full(t_ref.shape, xp.nan, dtype=fdt)
    mask |= bit("low_depth", low_depth)
    if s.in_pon is not None:
        mask |= bit("panel_of_normals", s.in_pon)
    if s.population_af is not None:
        paf = xp.astype(s.population_af, fdt)
        germline = germline | (~xp.isnan(paf) & (paf > params.max_population_af))
    mask |= bit("germline_risk", germline)
    return {"tlod": tlod, "nlod": nlod, "vaf": vaf, "filter_mask": mask, "strand_g": g}


def filter_names(mask: int) -> list[str]:
    """FILTER names of one site's mask (empty = PASS)."""
    return [name for name, b in FILTER_BITS.items() if mask & b]


# ---- per-site reference implementation (plain Python), used to check and time the array core ----

def score_one(t_ref: int, t_alt: int, t_ref_bq: float, t_alt_bq: float, is_indel: bool,
              n_ref: int | None = None, n_alt: int | None = None, n_ref_bq: float = 30.0,
              n_alt_bq: float = 30.0, params: Params | None = None, indel_repeat: int = 1
              ) -> tuple[float, float]:
    """(TLOD, NLOD) for one site with the same math as :func:`score`, in plain Python floats."""
    params = params or Params()

    def rates(rbq: float, abq: float) -> tuple[float, float]:
        if is_indel:
            ie = params.indel_error * params.indel_repeat_factor ** min(60.0, max(0.0, indel_repeat - 1.0))
            a = min(max(ie, params.min_error), params.max_indel_error)
        else:
            a = 10 ** (-abq / 10) / 3
        return (min(max(10 ** (-rbq / 10), params.min_error), 0.5), min(max(a, params.min_error), 0.5))

    def ll(nr: int, na: int, f: float, r: float, a: float) -> float:
        return (nr * math.log10((1 - f) * (1 - a) + f * r) + na * math.log10(f * (1 - r) + (1 - f) * a))

    r, a = rates(t_ref_bq, t_alt_bq)
    d = t_ref + t_alt
    tlod = ll(t_ref, t_alt, t_alt / d, r, a) - ll(t_ref, t_alt, 0.0, r, a) if t_alt > 0 else 0.0
    nlod = math.nan
    if n_ref is not None and n_alt is not None:
        nr, na = rates(n_ref_bq, n_alt_bq)
        if n_alt == 0:
            na = a
        nlod = ll(n_ref, n_alt, 0.0, nr, na) - ll(n_ref, n_alt, 0.5, nr, na)
    return tlod, nlod


def score_loop(sites: Sites, params: Params | None = None) -> dict[str, list]:
    """Plain-Python per-site loop computing what :func:`score` computes (reference and timing baseline)."""
    import bisect

    params = params or Params()

    def col(a: Any) -> list:
        return [] if a is None else [x.item() if hasattr(x, "item") else x for x in a]

    s = sites
    n = len(col(s.t_ref))
    t_ref, t_alt, taf, tar = col(s.t_ref), col(s.t_alt), col(s.t_alt_fwd), col(s.t_alt_rev)
    trf, trr, trbq, tabq, tdp = col(s.t_ref_fwd), col(s.t_ref_rev), col(s.t_ref_bq), col(s.t_alt_bq), col(s.t_dp)
    indel, key = col(s.is_indel), col(s.key)
    tn = s.n_ref is not None
    n_ref, n_alt, nrbq, nabq, ndp = (col(s.n_ref), col(s.n_alt), col(s.n_ref_bq), col(s.n_alt_bq), col(s.n_dp))
    pon, paf = col(s.in_pon), col(s.population_af)
    rep = col(s.indel_repeat) if s.indel_repeat is not None else [1] * n
    tlod, nlod, vaf, masks, gs = [], [], [], [], []
    for i in range(n):
        tl, nl = score_one(t_ref[i], t_alt[i], trbq[i], tabq[i], bool(indel[i]),
                           n_ref[i] if tn else None, n_alt[i] if tn else None,
                           nrbq[i] if tn else 30.0, nabq[i] if tn else 30.0, params, rep[i])
        d = t_ref[i] + t_alt[i]
        v = t_alt[i] / d if d else 0.0
        p = (trf[i] + 1.0) / (trf[i] + trr[i] + 2.0)
        g = 0.0
        for obs, exp in ((taf[i], t_alt[i] * p), (tar[i], t_alt[i] * (1 - p))):
            if obs > 0 and exp > 0:
                g += 2.0 * obs * math.log(obs / exp)
        m = 0
        if tl < params.tlod_min:
            m |= FILTER_BITS["weak_evidence"]
        minor = min(taf[i], tar[i]) / (t_alt[i] if t_alt[i] else 1)
        if g >= params.strand_g_min and minor < params.strand_minor_frac:
            m |= FILTER_BITS["strand_bias"]
        if v < params.min_vaf:
            m |= FILTER_BITS["low_vaf"]
        low = tdp[i] < params.min_tumor_depth
        germ = False
        if tn:
            nd = n_ref[i] + n_alt[i]
            nv = n_alt[i] / nd if nd else 0.0
            if n_alt[i] > params.max_normal_alt and nv >= params.max_normal_vaf:
                m |= FILTER_BITS["normal_artifact"]
            low = low or ndp[i] < params.min_normal_depth
            germ = nl < params.nlod_min
        if low:
            m |= FILTER_BITS["low_depth"]
        if pon and pon[i]:
            m |= FILTER_BITS["panel_of_normals"]
        if paf and not math.isnan(paf[i]) and paf[i] > params.max_population_af:
            germ = True
        if germ:
            m |= FILTER_BITS["germline_risk"]
        tlod.append(tl)
        nlod.append(nl)
        vaf.append(v)
        masks.append(m)
        gs.append(g)
    events = sorted({key[i] for i in range(n) if tlod[i] >= params.tlod_min and vaf[i] >= params.min_vaf})
    w = params.cluster_window
    for i in range(n):
        c = bisect.bisect_right(events, key[i] + w) - bisect.bisect_left(events, key[i] - w)
        if c > params.cluster_max_events:
            masks[i] |= FILTER_BITS["clustered_events"]
    return {"tlod": tlod, "nlod": nlod, "vaf": vaf, "filter_mask": masks, "strand_g": gs}


def random_sites(n: int, seed: int = 0, tumor_only: bool = False, xp: Any = None) -> Sites:
    """Random but plausible candidate sites (for tests and the speed benchmark); NumPy, or xp if given."""
    import numpy as np

    rng = np.random.default_rng(seed)
    depth = rng.poisson(100, n).astype(np.int64)
    f = rng.choice(np.array([0.0, 0.01, 0.05, 0.1, 0.2, 0.4, 0.5, 1.0]), n)
    t_alt = rng.binomial(depth, f) + rng.binomial(depth, 0.002)
    t_ref = np.maximum(depth - t_alt, 0)
    skew = rng.random(n) < 0.02
    t_alt_fwd = np.where(skew, t_alt, rng.binomial(t_alt, 0.5))
    t_ref_fwd = rng.binomial(t_ref, 0.5)
    nd = rng.poisson(40, n).astype(np.int64)
    germ = rng.random(n) < 0.2
    n_alt = np.where(germ, rng.binomial(nd, 0.5), rng.binomial(nd, 0.003))
    d = {"key": np.sort(rng.integers(0, n * 300, n)).astype(np.int64), "is_indel": rng.random(n) < 0.1,
         "t_ref": t_ref, "t_alt": t_alt, "t_alt_fwd": t_alt_fwd, "t_alt_rev": t_alt - t_alt_fwd,
         "t_ref_fwd": t_ref_fwd, "t_ref_rev": t_ref - t_ref_fwd, "t_ref_bq": rng.uniform(25, 38, n),
         "t_alt_bq": rng.uniform(15, 38, n), "t_dp": t_ref + t_alt}
    if not tumor_only:
        d |= {"n_ref": nd - n_alt, "n_alt": n_alt, "n_dp": nd, "n_ref_bq": rng.uniform(25, 38, n),
              "n_alt_bq": rng.uniform(15, 38, n)}
    d["in_pon"] = rng.random(n) < 0.01
    d["indel_repeat"] = rng.integers(1, 12, n)
    d["population_af"] = np.where(rng.random(n) < 0.05, rng.random(n), np.nan)
    if xp is not None:
        d = {k: xp.asarray(v) for k, v in d.items()}
    return Sites(**d)
