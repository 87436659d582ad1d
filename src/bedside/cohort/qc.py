"""Sample QC and identity on the cohort's germline genotypes (Hail).

Per sample: call rate, Ti/Tv, het/hom-alt ratio (``hl.sample_qc``); genetic sex from the X inbreeding
coefficient (``hl.impute_sex``) compared with the clinical record; kinship of every pair with Hail's
KING-robust estimator (``hl.king``; Manichaikul et al., Bioinformatics 2010, PMID 20926424) with its degree
thresholds; ancestry principal components (``hl.hwe_normalized_pca``). Data problems are flags in the
output, never exceptions.

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

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

MIN_CALL_RATE = 0.95
MAD_K = 4.0
MIN_SAMPLES_FOR_OUTLIERS = 10
MIN_X_VARIANTS = 20  # X sites with cohort AF >= 0.05 needed for a sex call
MIN_KINSHIP_VARIANTS = 200  # autosomal common SNPs needed for kinship / PCA
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


def _common_autosomal_snps(mt, min_af: float = 0.01, min_call_rate: float = 0.95):
    import hail as hl

    rg = mt.locus.dtype.reference_genome
    auto = mt.filter_rows(mt.locus.in_autosome() if (rg.x_contigs or rg.name in ("GRCh37", "GRCh38"))
                          else ~hl.literal(set(rg.x_contigs + rg.y_contigs + rg.mt_contigs),
                                           dtype=hl.tset(hl.tstr)).contains(mt.locus.contig))
    auto = auto.filter_rows(hl.is_snp(auto.alleles[0], auto.alleles[1]))
    auto = auto.annotate_rows(_cr=hl.agg.fraction(hl.is_defined(auto.GT)),
                              _af=hl.agg.call_stats(auto.GT, auto.alleles).AF[1])
    return auto.filter_rows((auto._cr >= min_call_rate) & (auto._af >= min_af) & (auto._af <= 1 - min_af))


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


def kinship(mt) -> tuple[pd.DataFrame, str | None]:
    """Pairs with kinship above the third-degree cut-off: sample_a, sample_b, kinship, relationship."""
    import hail as hl

    cols = ["sample_a", "sample_b", "kinship", "relationship"]
    auto = _common_autosomal_snps(mt)
    n = auto.count_rows()
    if n < MIN_KINSHIP_VARIANTS or auto.count_cols() < 2:
        return pd.DataFrame(columns=cols), f"only {n} common autosomal SNPs (< {MIN_KINSHIP_VARIANTS})"
    k = hl.king(auto.GT)
    k = k.filter_entries((k.s_1 < k.s) & (k.phi > KINSHIP_DEGREES[-1][0]))
    pairs = k.entries().select("phi").to_pandas()
    df = pd.DataFrame({"sample_a": pairs.s_1, "sample_b": pairs.s, "kinship": pairs.phi.round(4)})
    df["relationship"] = [relationship(p) for p in df.kinship]
    return df.sort_values(["kinship", "sample_a"], ascending=[False, True]).reset_index(drop=True), None


def ancestry_pca(mt, k: int = 10) -> tuple[pd.DataFrame, list[float], str | None]:
    import hail as hl

    auto = _common_autosomal_snps(mt, min_af=0.05)
    n_var, n_s = auto.count()
    k = min(k, n_s - 1)
    if n_var < MIN_KINSHIP_VARIANTS or k < 2:
        return pd.DataFrame({"s": mt.s.collect()}), [], (f"{n_var} common SNPs, {n_s} samples: too few for "
                                                           "PCA")
    eig, scores, _ = hl.hwe_normalized_pca(auto.GT, k=k, compute_loadings=False)
    sc = scores.to_pandas()
    pcs = pd.DataFrame(np.vstack(sc.scores.to_numpy()), columns=[f"PC{i + 1}" for i in range(k)])
    pcs.insert(0, "s", sc.s.to_numpy())
    return pcs, [float(e) for e in eig], None


def run(mt, *, clinical_sex: dict[str, str | None] | None = None, patients: dict[str, str] | None = None,
        pca_k: int = 10) -> dict:
    """All sample QC. Returns {"sample_qc": DataFrame, "relatedness": DataFrame, "pcs": DataFrame,
    "eigenvalues": [...], "notes": [...]} ."""
    import hail as hl

    mt = mt.select_entries("GT")
    mt = mt.checkpoint(hl.utils.new_temp_file("bedside-qc", "mt")) if mt.n_partitions() > 1 else mt
    qc = hl.sample_qc(mt)
    ct = qc.cols()
    q = ct.sample_qc
    sq = ct.select(call_rate=q.call_rate, n_called=q.n_called, n_het=q.n_het, n_hom_var=q.n_hom_var,
                   n_snp=q.n_snp, r_ti_tv=q.r_ti_tv, r_het_hom_var=q.r_het_hom_var).to_pandas()
    notes = []
    sex, note = impute_sex(mt)
    if note:
        notes.append(f"sex check not assessable: {note}")
    rel, note = kinship(mt)
    if note:
        notes.append(f"relatedness not assessable: {note}")
    pcs, eig, note = ancestry_pca(mt, pca_k)
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
    return {"sample_qc": df, "relatedness": rel, "pcs": pcs, "eigenvalues": eig, "notes": notes}


def write_tsv(df: pd.DataFrame, path, comments: list[str] = ()) -> None:
    from bedside.tools import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        for c in comments:
            fh.write(f"# {c}\n")
        df.to_csv(fh, sep="\t", index=False, na_rep="", float_format="%.6g")
