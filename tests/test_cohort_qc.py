"""Sample QC, sex check, relatedness, ancestry PCA (Hail) and tumor-normal identity (scikit-allel) on
seeded synthetic cohorts with planted problems: every planted case flagged, nothing else."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bedside.cohort import identity, synthetic
from bedside.errors import InputError


def _pairs(n):
    return {f"P{k + 1:05d}": (f"P{k + 1:05d}-T", f"P{k + 1:05d}-N") for k in range(n)}


# ---------------------------------------------------------------- tumor-normal identity (no JVM)

def test_identity_flags_the_swapped_pair_only(tmp_path):
    vcf, swapped = synthetic.tumor_normal_vcf(tmp_path / "tn.vcf.gz", n_patients=12, n_sites=300, seed=11,
                                              swap=(3, 8))
    df = identity.tumor_normal_identity(vcf, _pairs(12)).set_index("patient_id")
    bad = df[df.status != "ok"]
    assert sorted(bad.index) == sorted(swapped) == ["P00004", "P00009"]
    assert bad.loc["P00004", "status"] == "swapped_with:P00009"
    assert bad.loc["P00004", "best_normal"] == "P00009-N"
    ok = df[df.status == "ok"]
    assert (ok.concordance > 0.85).all() and (ok.opposite_homozygous < 0.02).all()
    assert (bad.concordance < 0.6).all()


def test_identity_without_swap_has_no_flag_and_few_sites_not_assessable(tmp_path):
    vcf, _ = synthetic.tumor_normal_vcf(tmp_path / "tn.vcf.gz", n_patients=6, n_sites=200, seed=2, swap=None)
    df = identity.tumor_normal_identity(vcf, _pairs(6))
    assert (df.status == "ok").all()
    few = identity.tumor_normal_identity(vcf, _pairs(6), min_sites=1000)
    assert (few.status == "not_assessable").all()


def test_identity_missing_sample_is_named(tmp_path):
    vcf, _ = synthetic.tumor_normal_vcf(tmp_path / "tn.vcf.gz", n_patients=2, n_sites=50, seed=2, swap=None)
    with pytest.raises(InputError, match="'PX-T' of patient PX is not in the VCF"):
        identity.tumor_normal_identity(vcf, {"PX": ("PX-T", "P00001-N")})


def test_identity_cli_from_bams_on_the_demo(repo, tmp_path, monkeypatch):
    """Real BAMs -> bcftools genotypes at common population SNPs -> concordance (demo outputs needed)."""
    from tests.conftest import require_tools

    require_tools("bcftools", "tabix")
    bams = [repo / f"results/PT0{i}/align/PT0{i}-{a}.bam" for i in range(1, 5) for a in "TN"]
    ref, pop = repo / "resources/reference/genome.fa", repo / "resources/demo/resources/population.vcf.gz"
    if not all(b.exists() for b in bams) or not ref.exists() or not pop.exists():
        pytest.skip("demo outputs not present (make demo)")
    from bedside import cli

    assert "cohort_platform" in cli.COMMANDS  # registered in the CLI
    out = tmp_path / "identity.tsv"
    rc = cli.main(["cohort-db", "identity", "--samples", str(repo / "config/samples.tsv"), "--bams",
                   *map(str, bams), "--ref", str(ref), "--population", str(pop), "--out", str(out)])
    assert rc == 0
    df = pd.read_csv(out, sep="\t", comment="#")
    assert list(df.patient_id) == ["PT01", "PT02", "PT03", "PT04"]
    assert (df.status == "ok").all() and (df.sites >= 20).all()
    # the same genotypes with PT02's and PT04's tumors mislabeled in the sample sheet
    sheet = tmp_path / "swapped.tsv"
    text = (repo / "config/samples.tsv").read_text()
    sheet.write_text(text.replace("PT02-T\tPT02", "PT02-T\tPTXX").replace("PT04-T\tPT04", "PT04-T\tPT02")
                     .replace("PT02-T\tPTXX", "PT02-T\tPT04"))
    vcf = tmp_path / "tn.vcf.gz"
    rc = cli.main(["cohort-db", "identity", "--samples", str(sheet), "--bams", *map(str, bams), "--ref", str(ref),
                   "--population", str(pop), "--genotypes-out", str(vcf), "--out", str(out)])
    df = pd.read_csv(out, sep="\t", comment="#").set_index("patient_id")
    assert rc == 0 and vcf.exists()
    assert df.status.to_dict() == {"PT01": "ok", "PT02": "swapped_with:PT04", "PT03": "ok",
                                   "PT04": "swapped_with:PT02"}


# ---------------------------------------------------------------- Hail sample QC

hail = pytest.importorskip("hail")


@pytest.fixture(scope="module")
def qc_result(tmp_path_factory):
    from bedside.cohort import qc, session, store

    d = tmp_path_factory.mktemp("qc")
    session.init(tmp_dir=str(d))
    g, sites, truth = synthetic.simulate(40, 2000, seed=21)
    vcf = synthetic.write_vcf(d / "joint.vcf.gz", g, sites, truth.samples)
    clinical = synthetic.write_clinical(d / "clinical.tsv", truth)
    sheet = synthetic.write_samples(d / "samples.tsv", truth)
    mt = store.import_genotypes(vcf, "synthetic")
    sex = {truth.patients[s]: (("male" if truth.sex[s] == "female" else "female") if s in truth.sex_mismatch
                               else truth.sex[s]) for s in truth.samples}
    res = qc.run(mt, clinical_sex=sex, patients=truth.patients)
    return {"res": res, "truth": truth, "vcf": vcf, "clinical": clinical, "samples": sheet, "dir": d}


@pytest.mark.slow
def test_every_planted_problem_flagged_and_nothing_else(qc_result):
    res, truth = qc_result["res"], qc_result["truth"]
    rel = res["relatedness"]
    found = {frozenset((a, b)): r for a, b, r in zip(rel.sample_a, rel.sample_b, rel.relationship)
             if r in ("duplicate", "first-degree", "second-degree")}
    assert (rel.kinship[~rel.relationship.isin(["duplicate", "first-degree"])] < 0.0884).all()
    assert set(found) == truth.related_pairs()
    for a, b in truth.duplicates:
        assert found[frozenset((a, b))] == "duplicate"
    for a, b in truth.first_degree:
        assert found[frozenset((a, b))] == "first-degree"
    sq = res["sample_qc"].set_index("s")
    flagged = {s for s, f in sq["flags"].items() if f}
    planted = ({s for p in truth.related_pairs() for s in p} | set(truth.sex_mismatch) | set(truth.low_call_rate))
    assert flagged == planted
    for s in truth.sex_mismatch:
        assert "sex_mismatch" in sq.loc[s, "flags"]
    assert (sq.genetic_sex == pd.Series(truth.sex)).all()  # the genotype sex is right for everyone
    for s in truth.low_call_rate:
        assert sq.loc[s, "flags"].startswith("low_call_rate")
    assert sq.call_rate.between(0, 1).all() and (sq.r_ti_tv > 0).all()
    assert res["notes"] == [] and len(res["eigenvalues"]) == 10


@pytest.mark.slow
def test_pca_separates_the_two_simulated_populations(qc_result):
    res, truth = qc_result["res"], qc_result["truth"]
    pcs = res["pcs"].set_index("s")
    pop = pd.Series(truth.population)
    m0, m1 = pcs.PC1[pop == 0].mean(), pcs.PC1[pop == 1].mean()
    sd = pcs.PC1.std()
    assert abs(m0 - m1) > 1.5 * sd


@pytest.mark.slow
def test_qc_cli_writes_tables(qc_result, tmp_path, monkeypatch):
    from bedside import cli

    assert "cohort_platform" in cli.COMMANDS  # registered in the CLI
    out = tmp_path / "qc"
    rc = cli.main(["cohort-db", "qc", "--vcf", str(qc_result["vcf"]), "--clinical", str(qc_result["clinical"]),
                   "--samples", str(qc_result["samples"]), "--build", "synthetic", "--out-dir", str(out),
                   "--pca-k", "3"])
    assert rc == 0
    sq = pd.read_csv(out / "sample_qc.tsv", sep="\t", comment="#", keep_default_na=False)
    rel = pd.read_csv(out / "relatedness.tsv", sep="\t", comment="#")
    assert len(sq) == 40 and {"call_rate", "r_ti_tv", "r_het_hom_var", "genetic_sex", "clinical_sex",
                              "flags", "PC1"} <= set(sq.columns)
    assert list(rel.columns[:2]) == ["sample_a", "sample_b"] and {"kinship", "relationship"} <= set(rel.columns)
    assert (rel.relationship.isin(["duplicate", "first-degree"])).sum() == 4
    assert json.loads((out / "qc.json").read_text())["flagged"] == 10
    # the report section renders from these files, plots inline
    html_out = tmp_path / "section.html"
    rc = cli.main(["cohort-db", "report", "--qc-dir", str(out), "--out", str(html_out)])
    text = html_out.read_text()
    assert rc == 0 and text.count("<svg") == 2 and "sex_mismatch" in text and "duplicate" in text


@pytest.mark.slow
def test_no_x_contig_sex_not_assessable(qc_result):
    from bedside.cohort import qc, store

    g, sites, truth = synthetic.simulate(12, 300, seed=4, x_fraction=0.0, n_duplicates=0, n_parent_child=0,
                                         n_siblings=0, n_sex_mismatch=0, n_low_call_rate=0)
    vcf = synthetic.write_vcf(qc_result["dir"] / "nox.vcf.gz", g, sites, truth.samples)
    sex, note = qc.impute_sex(store.import_genotypes(vcf, "synthetic"))
    assert (sex.genetic_sex == "not_assessable").all() and len(sex) == 12
    assert note == "only 0 common X SNPs (< 20)"


# ---------------------------------------------------------------- bounded marker set, kinship and PCA at scale

@pytest.fixture(scope="module")
def thinned(qc_result):
    """The 40-sample cohort's store and its genotypes thinned to 500 markers."""
    from bedside.cohort import qc, store

    mt = store.import_genotypes(qc_result["vcf"], "synthetic")
    codes, samples, eligible = qc.marker_genotypes(mt, cap=500)
    return {"mt": mt, "codes": codes, "samples": samples, "eligible": eligible}


@pytest.mark.slow
def test_markers_are_the_common_autosomal_snps_evenly_thinned(thinned):
    """marker_genotypes: the qualifying SNPs (autosomal, call rate >= 0.95, MAF >= 0.05) counted, `cap` of
    them every k-th in genomic order, and their genotype codes exactly as simulated (missing -> -1)."""
    from bedside.cohort import qc

    g, sites, truth = synthetic.simulate(40, 2000, seed=21)
    auto = sites["chrom"] != synthetic.X
    called = (g >= 0).mean(axis=1)
    af = np.where(g >= 0, g, 0).sum(axis=1) / np.maximum(2 * (g >= 0).sum(axis=1), 1)
    ok = np.flatnonzero(auto & (called >= 0.95) & (af >= qc.MARKER_MIN_AF) & (af <= 1 - qc.MARKER_MIN_AF))
    assert thinned["eligible"] == len(ok) > 500
    chosen = ok[np.linspace(0, len(ok) - 1, 500).round().astype(int)]
    assert thinned["samples"] == truth.samples
    assert thinned["codes"].dtype == np.int8 and thinned["codes"].shape == (500, 40)
    assert np.array_equal(thinned["codes"], g[chosen])
    assert (thinned["codes"] == -1).any()  # the missing genotypes come through as missing


@pytest.mark.slow
def test_king_robust_is_hail_king(thinned):
    """The blocked NumPy KING-robust gives hl.king's kinship for every pair, missing genotypes included, and
    blocks do not change it."""
    from bedside.cohort import qc

    codes, samples = thinned["codes"], thinned["samples"]
    mt = thinned["mt"]
    i, j, phi = qc.king_robust(codes, min_phi=-np.inf, block=7)
    assert len(phi) == 40 * 39 // 2 and (i < j).all()
    # the same 500 markers in Hail
    import hail as hl

    auto = qc._common_autosomal_snps(mt)
    pos = sorted(auto.aggregate_rows(hl.agg.collect(auto.locus.global_position())))
    keep = {int(pos[k]) for k in np.linspace(0, len(pos) - 1, 500).round().astype(int)}
    sub = mt.filter_rows(hl.literal(keep, dtype=hl.tset(hl.tint64)).contains(mt.locus.global_position()))
    k = hl.king(sub.GT)
    k = k.filter_entries(k.s_1 < k.s).entries().to_pandas()
    theirs = {frozenset((a, b)): p for a, b, p in zip(k.s_1, k.s, k.phi)}
    mine = {frozenset((samples[a], samples[b])): p for a, b, p in zip(i, j, phi)}
    assert set(mine) == set(theirs)
    assert max(abs(mine[x] - theirs[x]) for x in mine) < 1e-6
    i2, j2, phi2 = qc.king_robust(codes)  # default: pairs above the third-degree cut-off only
    assert (phi2 > qc.KINSHIP_DEGREES[-1][0]).all() and set(zip(i2, j2)) == {
        (a, b) for a, b, p in zip(i, j, phi) if p > qc.KINSHIP_DEGREES[-1][0]}


@pytest.mark.slow
def test_pca_matches_hail_hwe_normalized_pca(thinned):
    """Randomised PCA of the HWE-normalised markers: Hail's eigenvalues and scores (up to sign)."""
    import hail as hl

    from bedside.cohort import qc

    eig, scores = qc.hwe_normalized_pca(thinned["codes"], k=3)
    mt = thinned["mt"]
    auto = qc._common_autosomal_snps(mt)
    pos = sorted(auto.aggregate_rows(hl.agg.collect(auto.locus.global_position())))
    keep = {int(pos[k]) for k in np.linspace(0, len(pos) - 1, 500).round().astype(int)}
    sub = mt.filter_rows(hl.literal(keep, dtype=hl.tset(hl.tint64)).contains(mt.locus.global_position()))
    heig, hscores, _ = hl.hwe_normalized_pca(sub.GT, k=3)
    hs = hscores.to_pandas().set_index("s").loc[thinned["samples"]]
    hmat = np.vstack(hs.scores.to_numpy())
    assert np.allclose(eig, heig, rtol=1e-3)
    for c in range(2):
        assert abs(np.corrcoef(scores[:, c], hmat[:, c])[0, 1]) > 0.999


@pytest.mark.slow
def test_thinned_kinship_flags_every_planted_pair_and_nothing_else(tmp_path):
    """More qualifying SNPs than MAX_MARKERS: kinship and PCA use MAX_MARKERS of them and every planted
    duplicate / first-degree pair is still found, with no false relative and no false sample flag."""
    from bedside.cohort import qc, store

    n_var = int(qc.MAX_MARKERS * 1.25)
    g, sites, truth = synthetic.simulate(60, n_var, seed=7)
    vcf = synthetic.write_vcf(tmp_path / "big.vcf.gz", g, sites, truth.samples)
    sex = {truth.patients[s]: (("male" if truth.sex[s] == "female" else "female") if s in truth.sex_mismatch
                               else truth.sex[s]) for s in truth.samples}
    res = qc.run(store.import_genotypes(vcf, "synthetic"), clinical_sex=sex, patients=truth.patients)
    assert res["markers"]["used"] == qc.MAX_MARKERS < res["markers"]["eligible"]
    rel = res["relatedness"]
    found = {frozenset((a, b)): r for a, b, r in zip(rel.sample_a, rel.sample_b, rel.relationship)
             if r in qc.FLAG_RELATIONSHIPS}
    assert found == {**{frozenset(p): "duplicate" for p in truth.duplicates},
                     **{frozenset(p): "first-degree" for p in truth.first_degree}}
    sq = res["sample_qc"]
    flagged = {s for s, f in zip(sq.s, sq["flags"]) if f}
    assert flagged == ({s for p in truth.related_pairs() for s in p} | set(truth.sex_mismatch)
                       | set(truth.low_call_rate))
    assert set(res["timings"]) == {"checkpoint", "sample_qc", "sex", "markers", "kinship", "pca"}
