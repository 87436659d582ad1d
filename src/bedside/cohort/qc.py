"""Sample QC and identity on the cohort's germline genotypes (Hail).

Per sample: call rate, Ti/Tv, het/hom-alt ratio (``hl.sample_qc``); genetic sex from the X inbreeding
coefficient (``hl.impute_sex``) compared with the clinical record; kinship of every pair with the KING-robust
between-family estimator (Manichaikul et al., Bioinformatics 2010, PMID 20926424) with its degree
thresholds; ancestry principal components of the HWE-normalised genotypes. Data problems are flags in the
output, never exceptions.

Scale: sample QC and the sex check are Hail aggregations, linear in samples. Kinship and PCA run on a
bounded marker set (``marker_genotypes``: at most ``MAX_MARKERS`` common autosomal SNPs, evenly thinned,
exported once from the store as an int8 matrix). Kinship is all pairs -- n(n-1)/2, inherently quadratic --
at a small per-pair cost: ``king_robust`` computes exactly what ``hl.king`` computes (checked to 3e-8 on
2 million pairs) by one blocked float32 matrix product plus sparse missing-genotype corrections: at 2,000
samples x 10,000 markers 4 s (+7 s marker export) against 89 s for ``hl.king`` (benchmarks/README.md).
PCA runs on the same exported matrix (``hwe_normalized_pca``: the normalisation of ``hl.hwe_normalized_pca``,
randomised subspace iteration), linear in samples and without another pass over the store.

Thresholds (module constants, documented in docs/cohort.md):
* call rate below ``MIN_CALL_RATE`` -> ``low_call_rate``;
* Ti/Tv, het/hom-alt and het count more than ``MAD_K`` median absolute deviations from the cohort median ->
  ``outlier_<metric>`` (only with at least ``MIN_SAMPLES_FOR_OUTLIERS`` samples, as in gnomAD's sample QC);
* X F-statistic > 0.8 male, < 0.4 female, between: ambiguous (``hl.impute_sex`` thresholds, set here);
* kinship > 0.354 duplicate / monozygotic twin, > 0.177 first degree, > 0.0884 second, > 0.0442 third
  degree (KING's documented cut-offs); all such pairs are listed in relatedness.tsv, pairs of second
  degree or closer flag both samples (``duplicate:<other>``, ``first-degree:<other>`` ...).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

MIN_CALL_RATE = 0.95
MAD_K = 4.0
MIN_SAMPLES_FOR_OUTLIERS = 10
MIN_X_VARIANTS = 20  # X sites with cohort AF >= 0.05 needed for a sex call
MIN_KINSHIP_VARIANTS = 200  # autosomal common SNPs needed for kinship / PCA
# kinship and PCA use at most MAX_MARKERS common autosomal SNPs (MAF >= MARKER_MIN_AF), evenly thinned: on the
# seeded cohorts the KING-robust spread of unrelated pairs shrinks little beyond ~10,000 markers (its floor is
# population structure), while the cost grows linearly with the markers (benchmarks/README.md)
MAX_MARKERS = 10_000
MARKER_MIN_AF = 0.05
FEMALE_F, MALE_F = 0.4, 0.8
KINSHIP_DEGREES = [(0.354, "duplicate"), (0.177, "first-degree"), (0.0884, "second-degree"),
                   (0.0442, "third-degree")]
# third-degree estimates are noisy with few thousand markers (and under population structure): listed in
# relatedness.tsv, but only second degree or closer becomes a sample flag (as gnomAD's related-sample filter)
FLAG_RELATIONSHIPS = ("duplicate", "first-degree", "second-degree")
SEX_VALUES = {"male", "female"}


def relationship(phi: float) -> str:
    for cut, name in KINSHIP_DEGREES:
        if phi > cut:
            return name
    return "unrelated"


def _common_autosomal_snps(mt, min_af: float = MARKER_MIN_AF, min_call_rate: float = 0.95):
    import hail as hl

    rg = mt.locus.dtype.reference_genome
    auto = mt.filter_rows(mt.locus.in_autosome() if (rg.x_contigs or rg.name in ("GRCh37", "GRCh38"))
                          else ~hl.literal(set(rg.x_contigs + rg.y_contigs + rg.mt_contigs),
                                           dtype=hl.tset(hl.tstr)).contains(mt.locus.contig))
    auto = auto.filter_rows((hl.len(auto.alleles) == 2) & hl.is_snp(auto.alleles[0], auto.alleles[1]))
    auto = auto.annotate_rows(_cr=hl.agg.fraction(hl.is_defined(auto.GT)),
                              _af=hl.agg.call_stats(auto.GT, auto.alleles).AF[1])
    return auto.filter_rows((auto._cr >= min_call_rate) & (auto._af >= min_af) & (auto._af <= 1 - min_af))


def marker_genotypes(mt, cap: int | None = None) -> tuple[np.ndarray, list[str], int]:
    """The bounded marker set for kinship and PCA, as genotype codes.

    Markers: biallelic autosomal SNPs with call rate >= 0.95 and MAF >= ``MARKER_MIN_AF``; when more than
    ``cap`` qualify, ``cap`` of them evenly spaced along the genome (every k-th in genomic order: plink's
    ``--thin-count`` made deterministic; adjacent, linked markers are the ones dropped). Returns (codes:
    markers x samples int8, 0/1/2 alternate alleles, -1 missing; the samples in column order; the number of
    markers that qualified before thinning). Two passes over the store (marker selection, then the chosen
    rows), both linear in samples.
    """
    import hail as hl

    cap = cap or MAX_MARKERS
    samples = mt.s.collect()
    auto = _common_autosomal_snps(mt)
    gp = np.sort(np.asarray(auto.aggregate_rows(hl.agg.collect(auto.locus.global_position())), np.int64))
    n_eligible = len(gp)
    if n_eligible > cap:
        gp = np.unique(gp[np.linspace(0, n_eligible - 1, cap).round().astype(np.int64)])
    if len(gp) == 0:
        return np.empty((0, len(samples)), np.int8), samples, 0
    chosen = hl.literal({int(x) for x in gp}, dtype=hl.tset(hl.tint64))
    sub = mt.filter_rows(chosen.contains(mt.locus.global_position()) & (hl.len(mt.alleles) == 2)
                         & hl.is_snp(mt.alleles[0], mt.alleles[1]))
    sub = sub.select_rows().select_cols().select_entries("GT")
    ent = sub.localize_entries("_e", "_c")
    # one string of codes per marker ('0'/'1'/'2', '3' missing): compact and in column order
    rows = ent.select(g=hl.delimit(ent._e.map(lambda e: hl.str(hl.or_else(e.GT.n_alt_alleles(), 3))), "")).g.collect()
    codes = (np.frombuffer("".join(rows).encode("ascii"), np.uint8).reshape(len(rows), len(samples))
             - ord("0")).astype(np.int8)
    codes[codes == 3] = -1
    return codes, samples, n_eligible


def king_robust(codes: np.ndarray, min_phi: float = KINSHIP_DEGREES[-1][0],
                block: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KING-robust between-family kinship of every pair of samples (columns of ``codes``), as ``hl.king``
    computes it, returning the pairs (i < j) with kinship > ``min_phi``: (i, j, phi).

    With x the alternate-allele count (0 where missing), D the called indicator and H the heterozygote
    indicator, over sites called in both samples: d_ij = sum (x_i - x_j)^2 = 4 N(AA,aa) + N(Aa)_i + N(Aa)_j
    - 2 N(Aa,Aa) = (x^2)'D + D'(x^2) - 2 x'x, and phi_ij = 1/2 - d_ij / (4 min(N(Aa)_i, N(Aa)_j)) with
    N(Aa)_i = H'D. Missing genotypes are sparse, so D = 1 - M with M a sparse matrix: one dense float32
    matrix product (x'x; exact for integer counts < 2^24) per block of rows, plus sparse corrections. Blocks
    of ``block`` samples against the samples after them: n^2/2 pairs, memory O(block * n).
    """
    import scipy.sparse as sp

    m, n = codes.shape
    miss = codes < 0
    x = np.where(miss, 0, codes).astype(np.float32)
    het = (codes == 1).astype(np.float32)
    sq = x * x
    ms = sp.csc_matrix(miss, dtype=np.float32)
    sq_sum, het_sum = sq.sum(axis=0), het.sum(axis=0)
    out_i, out_j, out_phi = [], [], []
    for s in range(0, n, block):
        e = min(n, s + block)
        mt_rest = ms[:, s:].T.tocsr()  # samples s.. x markers
        xx = x[:, s:e].T @ x[:, s:]  # (e - s) x (n - s)
        # sum over sites called in both: (x^2)_i D_j = sum (x^2)_i - (x^2)_i M_j, and likewise for hets
        sq_i = sq_sum[s:e, None] - (mt_rest @ sq[:, s:e]).T
        sq_j = sq_sum[None, s:] - (ms[:, s:e].T @ sq[:, s:])
        het_i = het_sum[s:e, None] - (mt_rest @ het[:, s:e]).T
        het_j = het_sum[None, s:] - (ms[:, s:e].T @ het[:, s:])
        d = sq_i + sq_j - 2 * xx
        with np.errstate(divide="ignore", invalid="ignore"):
            phi = 0.5 - d / (4 * np.minimum(het_i, het_j))
        ii, jj = np.nonzero(phi > min_phi)
        keep = jj > ii  # block-local: row i is sample s+i, column j is sample s+j
        out_i.append(ii[keep] + s)
        out_j.append(jj[keep] + s)
        out_phi.append(phi[ii[keep], jj[keep]].astype(np.float64))
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_phi)


def _mad_flags(df: pd.DataFrame, col: str) -> pd.Series:
    x = df[col].astype(float)
    med = np.nanmedian(x)
    mad = np.nanmedian(np.abs(x - med)) * 1.4826
    if not np.isfinite(mad) or mad == 0:
        return pd.Series(False, index=df.index)
    return (np.abs(x - med) > MAD_K * mad).fillna(False)


def impute_sex(mt):
    """DataFrame s, genetic_sex, x_f_stat, x_variants; genetic_sex 'not_assessable' without X data."""
    import hail as hl

    rg = mt.locus.dtype.reference_genome
    samples = mt.s.collect()
    if not rg.x_contigs:
        return pd.DataFrame({"s": samples, "genetic_sex": "not_assessable", "x_f_stat": math.nan,
                             "x_variants": 0}), "the reference build has no X contig"
    xmt = mt.filter_rows(mt.locus.in_x_nonpar() & hl.is_snp(mt.alleles[0], mt.alleles[1]))
    xmt = xmt.annotate_rows(_af=hl.agg.call_stats(xmt.GT, xmt.alleles).AF[1])
    xmt = xmt.filter_rows((xmt._af >= 0.05) & (xmt._af <= 0.95))
    n_x = xmt.count_rows()
    if n_x < MIN_X_VARIANTS:
        return pd.DataFrame({"s": samples, "genetic_sex": "not_assessable", "x_f_stat": math.nan,
                             "x_variants": n_x}), f"only {n_x} common X SNPs (< {MIN_X_VARIANTS})"
    t = hl.impute_sex(xmt.GT, aaf_threshold=0.05, include_par=False, female_threshold=FEMALE_F,
                      male_threshold=MALE_F)
    df = t.select(f=t.f_stat, female=t.is_female).to_pandas()
    df["genetic_sex"] = np.where(df.female.isna(), "ambiguous", np.where(df.female == True, "female", "male"))  # noqa: E712
    df = df.rename(columns={"f": "x_f_stat"})[["s", "genetic_sex", "x_f_stat"]]
    df["x_variants"] = n_x
    return df, None


def kinship(codes: np.ndarray, samples: list[str]) -> tuple[pd.DataFrame, str | None]:
    """Pairs with kinship above the third-degree cut-off: sample_a, sample_b, kinship, relationship."""
    cols = ["sample_a", "sample_b", "kinship", "relationship"]
    n = codes.shape[0]
    if n < MIN_KINSHIP_VARIANTS or len(samples) < 2:
        return pd.DataFrame(columns=cols), f"only {n} common autosomal SNPs (< {MIN_KINSHIP_VARIANTS})"
    i, j, phi = king_robust(codes)
    s = np.asarray(samples, dtype=object)
    a, b = s[i], s[j]
    swap = a > b  # sample_a sorts first
    df = pd.DataFrame({"sample_a": np.where(swap, b, a), "sample_b": np.where(swap, a, b),
                       "kinship": phi.round(4)})
    df["relationship"] = [relationship(p) for p in df.kinship]
    return df.sort_values(["kinship", "sample_a"], ascending=[False, True]).reset_index(drop=True), None


def hwe_normalized_pca(codes: np.ndarray, k: int, n_iter: int = 6, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Top-k principal components of the HWE-normalised genotypes (as ``hl.hwe_normalized_pca``: each
    marker centred by 2p and scaled by sqrt(2p(1-p) m), missing -> 0) by randomised subspace iteration
    (Halko, Martinsson & Tropp 2011): O(markers x samples x k) per iteration, linear in samples, on the
    matrix already in memory. Returns (eigenvalues, scores samples x k)."""
    m, n = codes.shape
    miss = codes < 0
    x = np.where(miss, 0, codes).astype(np.float32)
    called = (~miss).sum(axis=1)
    p = x.sum(axis=1) / np.maximum(2 * called, 1)
    scale = np.sqrt(2 * p * (1 - p) * m).astype(np.float32)
    z = (x - (2 * p)[:, None].astype(np.float32)) / scale[:, None]
    z[miss] = 0
    del x
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(z.T @ rng.standard_normal((m, k + 10)).astype(np.float32))[0]
    for _ in range(n_iter):
        q = np.linalg.qr(z.T @ (z @ q))[0]
    _, sv, vt = np.linalg.svd(z @ q, full_matrices=False)
    v = q @ vt.T[:, :k]
    return (sv[:k] ** 2).astype(np.float64), (v * sv[:k]).astype(np.float64)


def ancestry_pca(codes: np.ndarray, samples: list[str], k: int = 10) -> tuple[pd.DataFrame, list[float], str | None]:
    n_var, n_s = codes.shape
    k = min(k, n_s - 1)
    if n_var < MIN_KINSHIP_VARIANTS or k < 2:
        return pd.DataFrame({"s": samples}), [], f"{n_var} common SNPs, {n_s} samples: too few for PCA"
    eig, scores = hwe_normalized_pca(codes, k)
    pcs = pd.DataFrame(scores, columns=[f"PC{i + 1}" for i in range(k)])
    pcs.insert(0, "s", samples)
    return pcs, [float(e) for e in eig], None


def run(mt, *, clinical_sex: dict[str, str | None] | None = None, patients: dict[str, str] | None = None,
        pca_k: int = 10, cap: int | None = None) -> dict:
    """All sample QC. Returns {"sample_qc": DataFrame, "relatedness": DataFrame, "pcs": DataFrame,
    "eigenvalues": [...], "notes": [...], "markers": {eligible, used, cap}, "timings": {stage: seconds}};
    ``cap`` overrides ``MAX_MARKERS``."""
    import hail as hl

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    mt = mt.select_entries("GT")
    mt = mt.checkpoint(hl.utils.new_temp_file("bedside-qc", "mt")) if mt.n_partitions() > 1 else mt
    timings["checkpoint"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    qc = hl.sample_qc(mt)
    ct = qc.cols()
    q = ct.sample_qc
    sq = ct.select(call_rate=q.call_rate, n_called=q.n_called, n_het=q.n_het, n_hom_var=q.n_hom_var,
                   n_snp=q.n_snp, r_ti_tv=q.r_ti_tv, r_het_hom_var=q.r_het_hom_var).to_pandas()
    notes = []
    timings["sample_qc"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sex, note = impute_sex(mt)
    if note:
        notes.append(f"sex check not assessable: {note}")
    timings["sex"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    codes, marker_samples, n_eligible = marker_genotypes(mt, cap)
    timings["markers"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rel, note = kinship(codes, marker_samples)
    if note:
        notes.append(f"relatedness not assessable: {note}")
    timings["kinship"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pcs, eig, note = ancestry_pca(codes, marker_samples, pca_k)
    timings["pca"] = time.perf_counter() - t0
    if note:
        notes.append(f"ancestry PCA not computed: {note}")
    df = sq.merge(sex, on="s", how="left").merge(pcs, on="s", how="left")
    patients = patients or {}
    clinical_sex = clinical_sex or {}
    df.insert(1, "patient_id", [patients.get(s) for s in df.s])
    df.insert(len(df.columns) - (pcs.shape[1] - 1), "clinical_sex",
              [clinical_sex.get(p) if p else None for p in df.patient_id])
    flags: list[list[str]] = [[] for _ in range(len(df))]
    for i, r in df.iterrows():
        if not r.call_rate >= MIN_CALL_RATE:
            flags[i].append("low_call_rate")
        cs = r.clinical_sex if isinstance(r.clinical_sex, str) else None
        if r.genetic_sex in SEX_VALUES and cs in SEX_VALUES and cs != r.genetic_sex:
            flags[i].append(f"sex_mismatch(clinical={cs},genetic={r.genetic_sex})")
        elif r.genetic_sex == "ambiguous":
            flags[i].append("sex_ambiguous")
    if len(df) >= MIN_SAMPLES_FOR_OUTLIERS:
        for col in ("r_ti_tv", "r_het_hom_var", "n_het"):
            for i in np.flatnonzero(_mad_flags(df, col).to_numpy()):
                flags[i].append(f"outlier_{col}")
    else:
        notes.append(f"outlier flags need >= {MIN_SAMPLES_FOR_OUTLIERS} samples (have {len(df)})")
    idx = {s: i for i, s in enumerate(df.s)}
    rel.insert(2, "patient_a", [patients.get(s) for s in rel.sample_a])
    rel.insert(3, "patient_b", [patients.get(s) for s in rel.sample_b])
    for r in rel.itertuples():
        if r.relationship not in FLAG_RELATIONSHIPS:
            continue
        for a, b in ((r.sample_a, r.sample_b), (r.sample_b, r.sample_a)):
            flags[idx[a]].append(f"{r.relationship}:{b}")
    df["flags"] = [";".join(f) for f in flags]
    return {"sample_qc": df, "relatedness": rel, "pcs": pcs, "eigenvalues": eig, "notes": notes,
            "markers": {"eligible": n_eligible, "used": int(codes.shape[0]), "cap": cap or MAX_MARKERS},
            "timings": {k: round(v, 2) for k, v in timings.items()}}


def write_tsv(df: pd.DataFrame, path, comments: list[str] = ()) -> None:
    from bedside.tools import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        for c in comments:
            fh.write(f"# {c}\n")
        df.to_csv(fh, sep="\t", index=False, na_rep="", float_format="%.6g")
