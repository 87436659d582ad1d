"""Cohort queries joining genome, clinical and lifestyle data, and the report pieces (one Hail session)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bedside.cohort import query as Q
from bedside.cohort import report
from bedside.errors import InputError


# ------------------------------------------------------------------ parsing (no JVM)

def test_filter_parsing_and_errors():
    assert Q.parse_range("25:", "bmi") == (25.0, None) and Q.parse_range(":14", "alcohol") == (None, 14.0)
    for bad in ("25", "a:b", "30:20"):
        with pytest.raises(InputError, match="--bmi"):
            Q.parse_range(bad, "bmi")
    with pytest.raises(InputError, match="CHROM:POS:REF:ALT"):
        Q.CohortQuery(variant=["chr1-5-A-C"])
    with pytest.raises(InputError, match="tier 'V'"):
        Q.CohortQuery(tier=["V"])
    with pytest.raises(InputError, match="GENE=Phenotype"):
        Q.CohortQuery(pgx=["DPYD"])
    q = Q.CohortQuery(gene=["egfr"], tier=["i"], diagnosis=["NSCLC"], smoking=["current"], bmi=(25.0, None))
    assert q.describe() == "gene=EGFR tier=I diagnosis=NSCLC smoking=current bmi=25.0:"


def test_pgx_frequencies_and_plots():
    cols = pd.DataFrame({"pgx": [[{"gene": "DPYD", "phenotype": "Normal Metabolizer"}],
                                 [{"gene": "DPYD", "phenotype": "Intermediate Metabolizer"}],
                                 [{"gene": "DPYD", "phenotype": "Normal Metabolizer"},
                                  {"gene": "UGT1A1", "phenotype": None, "status": "not_called"}]]})
    f = report.pgx_frequencies(cols)
    assert f.to_dict("records") == [
        {"gene": "DPYD", "phenotype": "Normal Metabolizer", "patients": 2, "fraction": 0.667},
        {"gene": "DPYD", "phenotype": "Intermediate Metabolizer", "patients": 1, "fraction": 0.333},
        {"gene": "UGT1A1", "phenotype": "not called (not_called)", "patients": 1, "fraction": 1.0}]
    pcs = pd.DataFrame({"s": ["a", "b<x>", "c"], "PC1": [0.1, 0.2, -0.3], "PC2": [0.0, 0.1, 0.2]})
    svg = report.pca_svg(pcs, flagged={"b<x>"})
    assert svg.startswith("<svg") and "b&lt;x&gt;" in svg
    rel = pd.DataFrame({"sample_a": ["a"], "sample_b": ["c"], "kinship": [0.25], "relationship": ["first-degree"]})
    assert report.kinship_svg(rel).startswith("<svg")
    html = report.table_html(pd.DataFrame({"x": ["<b>"]}), "cap")
    assert "&lt;b&gt;" in html and "<b>" not in html


# ------------------------------------------------------------------ queries on a Hail store

pytest.importorskip("hail")


def _ctx(pid, dx, smoking, meds=(), bmi=24.0):
    return {"patient_id": pid, "age": 60, "sex": "female", "diagnosis": dx, "medications": list(meds),
            "labs": [], "smoking_status": smoking, "pack_years": 10.0, "alcohol_units_per_week": 2.0,
            "bmi": bmi, "diet": []}


def _som(gene, tier, pos):
    return {"variant": {"chrom": "chr7", "pos": pos, "ref": "T", "alt": "G"}, "consequence": {"gene": gene,
            "hgvs_p": "p.Leu858Arg" if tier == "I" else "p.Ala1Val"}, "tier": tier, "evidence": [], "notes": []}


def _dpyd(ph):
    return [{"gene": "DPYD", "diplotypes": ["*1/*2A" if ph != "Normal Metabolizer" else "*1/*1"],
             "phenotype": ph, "status": "called"}]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    import json

    from bedside.cohort import session, store, synthetic

    d = tmp_path_factory.mktemp("query")
    session.init(tmp_dir=str(d))
    g, sites, truth = synthetic.simulate(20, 300, seed=9, n_duplicates=0, n_parent_child=0, n_siblings=0)
    vcf = synthetic.write_vcf(d / "joint.vcf.gz", g, sites, truth.samples)
    clinical = synthetic.write_clinical(d / "clinical.tsv", truth)
    sheet = synthetic.write_samples(d / "samples.tsv", truth)
    specs = {
        "P00001": (_ctx("P00001", "LUAD", "current"), [_som("EGFR", "I", 100)], [], _dpyd("Normal Metabolizer")),
        "P00002": (_ctx("P00002", "LUAD", "never"), [_som("EGFR", "I", 100)], [], []),
        "P00003": (_ctx("P00003", "LUSC", "current"), [_som("EGFR", "III", 200)], [], []),
        "P00004": (_ctx("P00004", "COAD", "former", ["capecitabine"], 31.0), [], [],
                   _dpyd("Intermediate Metabolizer")),
        "P00005": (_ctx("P00005", "COAD", "never", ["omeprazole"]), [], [], _dpyd("Poor Metabolizer")),
        "P00006": (_ctx("P00006", "READ", "never", ["5-FU"]), [], [], _dpyd("Normal Metabolizer")),
        "P00007": (_ctx("P00007", "BRCA", "never"), [], [{
            "variant": {"chrom": "chr17", "pos": 36490, "ref": "ACT", "alt": "A"},
            "consequence": {"gene": "BRCA1", "hgvs_p": "p.Glu23ValfsTer17"}, "clinvar": {"clnsig": "Pathogenic"},
            "notes": ["secondary finding: BRCA1 is on ACMG_SF_v3.2 (PMID 37347242)"]}], []),
    }
    cases = []
    for pid, (ctx, som, ger, pgx) in specs.items():
        p = d / pid / "case.json"
        p.parent.mkdir()
        p.write_text(json.dumps({"patient_id": pid, "context": ctx, "normal_sample": pid + "-N",
                                 "tumor_sample": pid + "-T", "somatic": som, "germline": ger, "pgx": pgx}))
        cases.append(p)
    out = store.build(vcf, d / "cohort.mt", cases=cases, clinical=clinical, sample_sheet=sheet, build="synthetic")
    return {"mt": store.read(out), "store": out, "g": g, "sites": sites, "truth": truth, "dir": d}


def _ids(df):
    return sorted(df.patient_id)


@pytest.mark.slow
def test_example_queries(cohort):
    mt = cohort["mt"]
    dpyd = Q.run(mt, Q.CohortQuery(pgx=["DPYD=Intermediate Metabolizer,Poor Metabolizer"],
                                   drug=["fluoropyrimidine"]))
    assert _ids(dpyd) == ["P00004"]
    assert "DPYD *1/*2A: Intermediate Metabolizer" in dpyd.matched[0] and "fluoropyrimidine" in dpyd.matched[0]
    nsclc = Q.run(mt, Q.CohortQuery(diagnosis=["NSCLC"], gene=["EGFR"], tier=["I"], smoking=["current"]))
    assert _ids(nsclc) == ["P00001"] and nsclc.matched[0] == "somatic EGFR p.Leu858Arg (Tier I)"
    assert _ids(Q.run(mt, Q.CohortQuery(diagnosis=["NSCLC"], gene=["EGFR"]))) == ["P00001", "P00002", "P00003"]
    sf = Q.run(mt, Q.CohortQuery(acmg_sf=True))
    assert _ids(sf) == ["P00007"] and "BRCA1" in sf.matched[0]
    # a drug by brand/synonym resolves through the vocabulary
    fu = Q.run(mt, Q.CohortQuery(drug=["5-fluorouracil"]))  # P00006's case says "5-FU"
    assert "P00006" in set(fu.patient_id) and all("fluorouracil" in m.split(";") for m in fu.medications)
    table = pd.read_csv(cohort["dir"] / "clinical.tsv", sep="\t", keep_default_na=False)
    want = {p for p, m in zip(table.patient_id, table.medications) if "fluorouracil" in m.split(";")}
    assert set(fu.patient_id) == (want - {f"P0000{i}" for i in range(1, 8)}) | {"P00006"}
    with pytest.raises(InputError, match="neither a drug nor a drug class"):
        Q.run(mt, Q.CohortQuery(drug=["unobtainium"]))


@pytest.mark.slow
def test_genotype_and_lifestyle_filters_match_the_truth(cohort, tmp_path):
    mt, g, sites, truth = cohort["mt"], cohort["g"], cohort["sites"], cohort["truth"]
    i = int(np.argmax((g > 0).sum(axis=1) * (g >= 0).all(axis=1)))  # a common, fully called site
    key = f"{sites['chrom'][i]}:{sites['pos'][i]}:{sites['ref'][i]}:{sites['alt'][i]}"
    want = sorted(truth.patients[s] for s, x in zip(truth.samples, g[i]) if x > 0)
    got = Q.run(mt, Q.CohortQuery(variant=[key]))
    assert _ids(got) == want and all("germline genotype" in m for m in got.matched)
    both = Q.run(mt, Q.CohortQuery(variant=[key], bmi=(25.0, None), smoking=["never", "former"]))
    ct = mt.cols()
    cols = ct.select(p=ct.patient_id, bmi=ct.clinical.bmi, sm=ct.clinical.smoking_status).to_pandas()
    ok = set(cols.p[(cols.bmi >= 25) & cols.sm.isin(["never", "former"])])
    assert _ids(both) == sorted(set(want) & ok)
    ht = Q.run(mt, Q.CohortQuery(bmi=(25.0, None)), as_hail=True)
    assert ht.count() == len(ok | set(cols.p[(cols.bmi >= 25) & (cols.sm == "current")]))
    with pytest.raises(InputError, match="not on the store's reference build"):
        Q.run(mt, Q.CohortQuery(variant=["chr9:5:A:C"]))
    out = tmp_path / "q.tsv"
    q = Q.CohortQuery(variant=[key], bmi=(25.0, None))
    Q.write_tsv(Q.run(mt, q), q, out, cohort["store"])
    head = [ln for ln in out.read_text().splitlines() if ln.startswith("#")]
    assert f"# filters: variant={key} bmi=25.0:" in head and any(h.startswith("# patients: ") for h in head)


@pytest.mark.slow
def test_query_cli_and_report_section(cohort, tmp_path, monkeypatch, capsys):
    from bedside import cli
    from bedside.commands import cohort_platform

    assert "cohort_platform" in cli.COMMANDS  # registered in the CLI
    out = tmp_path / "q.tsv"
    rc = cli.main(cohort_platform.route(["cohort", "query", "--store", str(cohort["store"]), "--pgx",
                                         "DPYD=Intermediate Metabolizer,Poor Metabolizer", "--drug",
                                         "fluoropyrimidine", "--out", str(out)]))
    assert rc == 0
    df = pd.read_csv(out, sep="\t", comment="#")
    assert list(df.patient_id) == ["P00004"]
    assert cli.main(["cohort-db", "query", "--store", str(cohort["store"]), "--bmi", "x"]) == 2
    assert "--bmi 'x'" in capsys.readouterr().err
    html = tmp_path / "s.html"
    assert cli.main(["cohort-db", "report", "--store", str(cohort["store"]), "--out", str(html)]) == 0
    text = html.read_text()
    assert "PGx phenotype frequencies" in text and "Poor Metabolizer" in text
