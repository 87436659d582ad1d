"""The cohort summary's actionable-by-drug table: each drug or combination in any patient's stored therapy
options, patients per AMP level in their own tumor type vs other tumor types (read from the case records,
never recomputed), PGx-actionable drug counts, and identity problems carried by the case records."""

from __future__ import annotations

import argparse
import copy
import json
import re
from pathlib import Path

import pytest

from bedside.model import (
    Citation,
    DrugModifier,
    DrugView,
    IdentityCheck,
    Recommendation,
    TherapyOption,
    to_dict,
)
from bedside.report import cohort
from tests.test_cohort_summary import demo_like_cases
from tests.test_fhir import make_case

ROOT = Path(__file__).resolve().parents[1]


def _patient(pid: str, diagnosis: str, options: list[TherapyOption], recs=(), prescribing=()):
    c = make_case()
    c.patient_id = c.context.patient_id = pid
    c.context.diagnosis = diagnosis
    c.tumor_sample, c.normal_sample = f"{pid}-T", f"{pid}-N"
    c.therapy_options = list(options)
    c.recommendations = list(recs)
    c.prescribing = list(prescribing)
    return c


def _rec(drug, gene, phenotype, actionable, strength="Strong"):
    return Recommendation(drug, f"guidance for {phenotype}", gene, phenotype, strength,
                          [Citation("CPIC")], actionable=actionable)


def cohort_cases():
    """Five patients: the same BRAF combination at A in melanoma (twice, one written in another order) and
    at C elsewhere, an EGFR TKI overruled by resistance, a drug offered in one patient's own tumor type and
    on other tumor types' evidence in another's, and PGx guidance of every kind."""
    dt = "dabrafenib + trametinib"
    pt01 = _patient("PT01", "SKCM", [
        TherapyOption(dt, "this_tumor_type", "A", ["BRAF p.Val600Glu"]),
        TherapyOption("encorafenib + cetuximab", "other_tumor_type", "C", ["BRAF p.Val600Glu"]),
    ], recs=[_rec("capecitabine", "DPYD", "DPYD Intermediate Metabolizer", True),
             _rec("capecitabine", "DPYD", "DPYD Intermediate Metabolizer", True, "Moderate"),
             _rec("warfarin", "CYP2C9", None, None, None)],
        prescribing=[DrugView("capecitabine", ["current medication"], [DrugModifier(
            "gene-drug", "CPIC-DPYD", "reduce the dose by 50 %", "dose_decrease")], urgency="alert")])
    pt02 = _patient("PT02", "LUAD", [
        TherapyOption("erlotinib", "this_tumor_type", "A", ["EGFR p.Leu858Arg"], excluded_by_resistance=True),
        TherapyOption("osimertinib", "this_tumor_type", "A", ["EGFR p.Leu858Arg"]),
        TherapyOption("erlotinib", "resistance", "B", ["EGFR p.Thr790Met"]),
        TherapyOption(dt, "other_tumor_type", "C", ["BRAF p.Val600Glu"]),
    ], recs=[_rec("clopidogrel", "CYP2C19", "CYP2C19 Poor Metabolizer", True),
             _rec("capecitabine", "DPYD", "DPYD Normal Metabolizer", False),
             _rec("warfarin", "CYP2C9", None, None, None)])
    pt03 = _patient("PT03", "SKCM", [TherapyOption("Trametinib + Dabrafenib", "this_tumor_type", "B",
                                                   ["BRAF p.Val600Lys"])],
                    recs=[_rec("capecitabine", "DPYD", "DPYD Poor Metabolizer", True),
                          _rec("warfarin", "CYP2C9", "CYP2C9 *1/*1", False)])
    pt04 = _patient("PT04", "COAD", [TherapyOption("encorafenib + cetuximab", "this_tumor_type", "A",
                                                   ["BRAF p.Val600Glu"])],
                    recs=[_rec("capecitabine", "DPYD", "DPYD Intermediate Metabolizer", True)],
                    prescribing=[DrugView("capecitabine", ["recommended therapy"], [], urgency="caution")])
    pt05 = _patient("PT05", "PAAD", [])  # nothing in play
    return [pt04, pt02, pt05, pt01, pt03]  # any order in, sorted out


def test_patients_per_drug_level_and_tumor_type():
    s = cohort.drug_summary(cohort_cases())
    assert s["patients"] == 5 and s["patients_with_options"] == 4
    assert s["columns"] == [("this_tumor_type", "A"), ("this_tumor_type", "B"), ("other_tumor_type", "C"),
                            ("resistance", "B")]
    rows = {r["therapy"].lower(): r for r in s["drugs"]}
    # one row per combination whatever the order or case of its parts
    assert "trametinib + dabrafenib" not in rows
    dt = rows["dabrafenib + trametinib"]
    assert dt["this_tumor_type"] == {"A": ["PT01"], "B": ["PT03"]}
    assert dt["other_tumor_type"] == {"C": ["PT02"]}
    assert (dt["patients_offered"], dt["patients_this_tumor_type"], dt["patients_other_tumor_type"]) == (3, 2, 1)
    assert dt["tumor_types"] == ["LUAD", "SKCM"]
    ec = rows["encorafenib + cetuximab"]
    assert ec["this_tumor_type"] == {"A": ["PT04"]} and ec["other_tumor_type"] == {"C": ["PT01"]}
    erl = rows["erlotinib"]
    assert erl["this_tumor_type"] == {"A": ["PT02"]} and erl["resistance"] == {"B": ["PT02"]}
    assert erl["overruled_by_resistance"] == ["PT02"] and erl["patients_resistance"] == 1
    assert rows["osimertinib"]["other_tumor_type"] == {} and rows["osimertinib"]["patients_offered"] == 1
    # order: best category and level first, then the number of patients, then the name
    assert [r["therapy"] for r in s["drugs"]] == ["dabrafenib + trametinib", "encorafenib + cetuximab",
                                                  "erlotinib", "osimertinib"]


def test_counts_agree_with_every_case_record():
    """Read, not recomputed: each (patient, therapy, category, level) of a case record is in the table once."""
    cases = cohort_cases() + demo_like_cases()[1:]  # the demo-like PT02..PT04 under other ids
    for c, pid in zip(cases[5:], ("PT12", "PT13", "PT14"), strict=True):
        c.patient_id = c.context.patient_id = pid
    s = cohort.drug_summary(cases)
    found = {(p, r["therapy"].lower(), cat, lv) for r in s["drugs"] for cat in cohort.OPTION_CATEGORIES
             for lv, ps in r[cat].items() for p in ps}
    stored = {(c.patient_id, cohort.therapy_key(o.therapy), o.category, o.level)
              for c in cases for o in c.therapy_options}
    assert {(p, cohort.therapy_key(t), cat, lv) for p, t, cat, lv in found} == stored


def test_a_patient_counts_once_per_drug_at_the_best_level():
    c = _patient("PT09", "SKCM", [TherapyOption("dabrafenib + trametinib", "this_tumor_type", "B", []),
                                  TherapyOption("trametinib + dabrafenib", "this_tumor_type", "A", [])])
    (row,) = cohort.drug_summary([c])["drugs"]
    assert row["this_tumor_type"] == {"A": ["PT09"]} and row["patients_offered"] == 1


def test_pgx_actionable_drug_counts():
    p = cohort.pgx_summary(cohort_cases())
    drugs = {d["drug"]: d for d in p["drugs"]}
    assert set(drugs) == {"capecitabine", "clopidogrel"}  # actionable guidance only
    cap = drugs["capecitabine"]
    assert [x["patient_id"] for x in cap["patients"]] == ["PT01", "PT03", "PT04"]  # PT02 normal: not counted
    assert (cap["actionable"], cap["in_play"]) == (3, 2)
    pt01 = cap["patients"][0]
    assert pt01["classification"] == "Strong, Moderate" and pt01["urgency"] == "alert"
    assert pt01["in_play"] == ["current medication"] and pt01["gene_drug_modifier"]
    assert cap["patients"][1]["in_play"] == [] and cap["patients"][2]["urgency"] == "caution"
    assert (drugs["clopidogrel"]["actionable"], drugs["clopidogrel"]["in_play"]) == (1, 0)
    assert [d["drug"] for d in p["drugs"]] == ["capecitabine", "clopidogrel"]  # in play first
    # warfarin: undetermined for PT01 and PT02, determined (not actionable) for PT03
    assert p["undetermined"] == [{"drug": "warfarin", "genes": ["CYP2C9"], "patients": ["PT01", "PT02"]}]
    assert (p["patients_with_actionable"], p["patients_in_play"]) == (4, 2)


def test_summary_html_has_both_tables_with_report_links(tmp_path):
    from bedside.commands import cohort as cohort_cmd

    paths = []
    for c in cohort_cases():
        d = tmp_path / "results" / c.patient_id
        d.mkdir(parents=True)
        (d / "case.json").write_text(json.dumps(to_dict(c)))
        paths.append(str(d / "case.json"))
    out = tmp_path / "results" / "cohort"
    parser = argparse.ArgumentParser()
    cohort_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["cohort", *paths, "--html", str(out / "summary.html"), "--json",
                              str(out / "summary.json")])
    assert args.func(args) == 0
    html = (out / "summary.html").read_text()
    table = html[html.index('id="drug-levels"'):]
    table = table[:table.index("</table>")]
    heads = re.findall(r"<th>(.*?)</th>", table)
    assert heads == ["Drug / combination", "Own tumor type · level A", "Own tumor type · level B",
                     "Other tumor types · level C", "Resistance (own tumor type) · level B", "Patients offered"]
    row = re.search(r"<tr><td><strong>dabrafenib \+ trametinib</strong></td>(.*?)</tr>", table, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert cells[0].startswith("<strong>1</strong>: ") and 'href="../PT01/report.html">PT01</a>' in cells[0]
    assert 'href="../PT03/report.html">PT03</a>' in cells[1] and 'href="../PT02/report.html"' in cells[2]
    assert cells[3] == '<span class="muted">0</span>' and cells[4].startswith("3 ")
    erl = re.search(r"<strong>erlotinib</strong></td>(.*?)</tr>", table, re.S).group(1)
    assert "overruled by resistance" in erl
    pgx = html[html.index('id="pgx-drugs"'):]
    pgx = pgx[:pgx.index("</table>")]
    cap = re.search(r"<strong>capecitabine</strong></td>(.*?)</tr>", pgx, re.S).group(1)
    assert cap.count("<strong>3</strong>") == 1 and cap.count("<strong>2</strong>") == 1
    assert "warfarin (CYP2C9) — 2 patients" in html
    assert "4 of 5 patients have at least one therapy option" in html
    rows = json.loads((out / "summary.json").read_text())
    assert rows[0]["identity"] == "not recorded in the case record" and rows[0]["identity_problem"] is False


def test_identity_problem_is_flagged_in_the_summary():
    cases = cohort_cases()
    for c in cases:
        c.identity = IdentityCheck("ok", c.tumor_sample, c.normal_sample, 1948, 0.9974, 0.0, c.normal_sample,
                                   0.9974)
    bad = next(c for c in cases if c.patient_id == "PT02")
    bad.identity = IdentityCheck("swapped_with:PT04", "PT02-T", "PT02-N", 1948, 0.57, 0.1, "PT04-N", 0.997,
                                 swapped_with="PT04")
    rows = cohort.cohort_rows(cases)
    by = {r["patient_id"]: r for r in rows}
    assert by["PT02"]["identity_problem"] and by["PT02"]["identity"] == "SWAPPED: tumor matches the normal of PT04"
    assert not by["PT01"]["identity_problem"] and by["PT01"]["identity"] == "passed (0.997 at 1948 SNPs)"
    html = cohort.render_html(cases, rows)
    banner = html[html.index('id="identity-problems"'):]
    banner = banner[:banner.index("</ul>")]
    assert "PT02: SWAPPED: tumor matches the normal of PT04" in banner and "PT01" not in banner
    ok = copy.deepcopy(cases)
    for c in ok:
        c.identity = None
    assert 'id="identity-problems"' not in cohort.render_html(ok, cohort.cohort_rows(ok))
    assert cohort.cohort_rows(ok)[0]["identity"] == "not recorded in the case record"


def test_empty_cohort_says_so():
    c = _patient("PT07", "PAAD", [])
    html = cohort.render_html([c], cohort.cohort_rows([c]))
    assert "No therapy options in any patient's case record." in html
    assert "No actionable pharmacogenomic guidance in any patient" in html
    assert 'id="drug-levels"' not in html and 'id="pgx-drugs"' not in html
    c.recommendations = [_rec("capecitabine", "DPYD", "DPYD Poor Metabolizer", True)]
    html = cohort.render_html([c], cohort.cohort_rows([c]))
    assert "No actionable pharmacogenomic guidance" not in html and 'id="pgx-drugs"' in html


@pytest.mark.parametrize("patient", ["PT01", "PT02", "PT03", "PT04"])
def test_demo_case_records(patient):
    """On the demo's stored case records (when built): the drug table holds exactly each report's options."""
    paths = [ROOT / "results" / p / "case.json" for p in ("PT01", "PT02", "PT03", "PT04")]
    if not all(p.exists() for p in paths):
        pytest.skip("demo results not built")
    from bedside.report.prepare import prepare
    from bedside.report.render import load_case

    cases = [load_case(p) for p in paths]
    s = cohort.drug_summary(cases)
    case = next(c for c in cases if c.patient_id == patient)
    shown = {(o["therapy"].lower(), o["category"], o["level"]) for o in prepare(case)["therapy_options"]}
    listed = {(r["therapy"].lower(), cat, lv) for r in s["drugs"] for cat in cohort.OPTION_CATEGORIES
              for lv, ps in r[cat].items() if patient in ps}
    assert listed == shown
