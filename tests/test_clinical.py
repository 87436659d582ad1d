"""Clinical & lifestyle table, OMOP importer, and the rules join (cases in tests/cases/clinical)."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from bedside.clinical import evaluate, load_omop, load_patients
from bedside.clinical.rules import load_rules
from bedside.clinical.vocab import load_vocabulary
from bedside.errors import InputError
from bedside.io.clinical import COLUMNS, context_from_row
from bedside.model import Diplotype
from bedside.pgx import recommend

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests/data/clinical"
CASES = sorted((ROOT / "tests/cases/clinical").glob("*/case.yaml"))


def write_table(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    p = tmp_path / "clinical.tsv"
    lines = ["\t".join(COLUMNS)] + ["\t".join(r.get(c, "") for c in COLUMNS) for r in rows]
    p.write_text("\n".join(lines) + "\n")
    return p


def test_table_loads_and_converts_units():
    pts = load_patients(DATA / "clinical.tsv")
    assert list(pts) == ["P1", "P2", "P3"]
    p1, p2, p3 = pts.values()
    assert (p1.age, p1.sex, p1.diagnosis, p1.diagnosis_name) == (61, "male", "LUAD", "Lung Adenocarcinoma")
    assert p1.medications == ["omeprazole"] and p1.smoking_status == "current" and p1.pack_years == 30
    assert p1.diet == ["grapefruit"] and p1.bmi == 24.5 and p1.alcohol_units_per_week == 4
    assert p2.sex == "female" and p2.medications == ["warfarin", "omeprazole"] and p2.diet == []
    labs = {x.name: (x.value, x.unit) for x in p2.labs}
    assert labs["creatinine"] == (pytest.approx(97 / 88.4, rel=1e-3), "mg/dL")
    assert labs["creatinine_clearance"] == (45, "mL/min") and labs["alt"] == (22, "U/L")
    assert p3.medications == [] and p3.labs == [] and "diet not recorded" in p3.not_evaluated


BAD_ROWS = [
    ({"labs": "creatinine_clearance=-5 mL/min"}, "column labs"),
    ({"labs": "creatinine_clearance=900 mL/min"}, "impossible"),
    ({"labs": "bilirubin=1.2"}, "has no unit"),
    ({"labs": "bilirubin=1.2 g/L"}, "not accepted for bilirubin"),
    ({"labs": "creatinine clearance 45"}, "column labs"),
    ({"labs": "alt=20 U/L; alt=30 U/L"}, "given twice"),
    ({"age": "200"}, "column age"),
    ({"age": "sixty"}, "column age"),
    ({"sex": "x"}, "column sex"),
    ({"bmi": "-3"}, "column bmi"),
    ({"bmi": "3"}, "impossible"),
    ({"pack_years": "20", "smoking_status": "never"}, "never-smoker"),
    ({"smoking_status": "sometimes"}, "column smoking_status"),
    ({"diagnosis": "lung cancer"}, "column diagnosis"),
]


@pytest.mark.parametrize("change,message", BAD_ROWS, ids=[m for _, m in BAD_ROWS])
def test_bad_values_name_file_line_patient_column(tmp_path, change, message):
    p = write_table(tmp_path, [{"patient_id": "OK1", "age": "50"}, {"patient_id": "BAD", **change}])
    with pytest.raises(InputError) as exc:
        load_patients(p)
    text = str(exc.value)
    assert message in text and str(p) in text and "line 3" in text and "BAD" in text


def test_structural_errors(tmp_path):
    p = write_table(tmp_path, [{"patient_id": "A"}, {"patient_id": "A"}])
    with pytest.raises(InputError, match="appears twice"):
        load_patients(p)
    p.write_text("patient_id\tfavourite_colour\nA\tblue\n")
    with pytest.raises(InputError, match="unknown column"):
        load_patients(p)
    p.write_text("patient_id,age\nA,5\n")
    with pytest.raises(InputError, match="patient_id"):
        load_patients(p)
    p.write_text("patient_id\tage\nA\t5\textra\n")
    with pytest.raises(InputError, match="line 2"):
        load_patients(p)


def test_unknown_drug_lab_and_oncotree_are_listed_or_strict_errors(tmp_path):
    row = {"patient_id": "U1", "medications": "warfarin; notadrug", "labs": "hemoglobin=12 g/dL",
           "diagnosis": "LUAD"}
    ctx = context_from_row(row)
    assert ctx.medications == ["warfarin", "notadrug"]
    assert any("notadrug" in n for n in ctx.not_evaluated) and any("hemoglobin" in n for n in ctx.not_evaluated)
    with pytest.raises(InputError, match="notadrug"):
        context_from_row(row, strict=True)
    if not (ROOT / "src/bedside/knowledge/data/oncotree.tsv").is_file():
        pytest.skip("OncoTree table absent; codes are format-checked only")
    ctx = context_from_row({"patient_id": "U2", "diagnosis": "NOTACODE"})
    assert ctx.diagnosis is None and any("NOTACODE" in n for n in ctx.not_evaluated)
    with pytest.raises(InputError, match="column diagnosis"):
        context_from_row({"patient_id": "U2", "diagnosis": "NOTACODE"}, strict=True)


def test_knowledge_files_are_cited():
    vocab = load_vocabulary()
    assert vocab.resolve("Xeloda") == "capecitabine" and vocab.resolve("194000") == "capecitabine"
    for d in vocab.drugs.values():
        for cls, key in d.classes.items():
            assert key in vocab.sources, (d.name, cls)
    version, rules = load_rules()
    assert version and rules
    for r in rules:
        assert r["sources"] and r.get("section"), r["id"]


def _case_inputs(case):
    ctx = context_from_row(case["patient"])
    dips = [Diplotype(**d) for d in case.get("diplotypes", [])]
    return ctx, case.get("therapies", []), dips, recommend(dips)


@pytest.mark.parametrize("case_file", CASES, ids=[c.parent.name for c in CASES])
def test_clinical_case(case_file):
    case = yaml.safe_load(case_file.read_text())
    ctx, therapies, dips, recs = _case_inputs(case)
    results = evaluate(ctx, therapies, dips, recs)
    by_status: dict[str, set[str]] = {}
    for r in results:
        by_status.setdefault(r.status, set()).add(r.rule_id)
        assert r.reason, r
        if r.status == "fired":
            assert r.action and r.citations, r
        if r.rule_id != "VOCABULARY":
            assert r.citations, r
    exp = case["expected"]
    for status in ("fired", "not_fired", "not_evaluated"):
        if status in exp:
            want = set(exp[status])
            got = by_status.get(status, set())
            assert want <= got, (status, want - got, results)
            if not want:
                assert not got or status != "fired", (status, got)
    by_id = {r.rule_id: r for r in results}
    for rid, text in exp.get("action_contains", {}).items():
        assert text in by_id[rid].action
    for rid, text in exp.get("reason_contains", {}).items():
        assert text in by_id[rid].reason, by_id[rid].reason
    for rid, pmid in exp.get("pmid", {}).items():
        assert any(c.pmid == pmid for c in by_id[rid].citations)
    for text in exp.get("context_not_evaluated_contains", []):
        assert any(text in n for n in ctx.not_evaluated)


@pytest.mark.parametrize("a,b,rule", [
    ("erlotinib_smoker", "erlotinib_never_smoker", "LIFESTYLE-ERLOTINIB-SMOKING"),
    ("capecitabine_dpyd_im", "capecitabine_dpyd_nm", "GENE-DRUG-CPIC-CAPECITABINE"),
    ("capecitabine_crcl45", "capecitabine_crcl90", "ORGAN-CAPECITABINE-CRCL"),
])
def test_same_tumor_different_patient_different_advice(a, b, rule):
    def fired(name):
        case = yaml.safe_load((ROOT / "tests/cases/clinical" / name / "case.yaml").read_text())
        ctx, th, dips, recs = _case_inputs(case)
        return case, {r.rule_id for r in evaluate(ctx, th, dips, recs) if r.status == "fired"}

    (ca, fa), (cb, fb) = fired(a), fired(b)
    assert ca["patient"]["diagnosis"] == cb["patient"]["diagnosis"]
    assert set(ca["therapies"]) & set(cb["therapies"]) or ca["therapies"][0].startswith(cb["therapies"][0])
    assert rule in fa and rule not in fb


def test_drug_not_in_play_returns_no_rules():
    ctx = context_from_row({"patient_id": "X", "smoking_status": "current", "medications": "warfarin"})
    results = evaluate(ctx, ["oxaliplatin"], [], [])
    assert all(r.drug not in ("erlotinib", "capecitabine") for r in results)


def _check_omop(pts):
    a, b, c = pts["101"], pts["102"], pts["103"]
    assert (a.sex, a.age, a.diagnosis, a.smoking_status, a.bmi) == ("female", 63, "LUAD", "current", 24.1)
    assert a.medications == ["omeprazole", "mystery herbal tea"]  # warfarin ended in 2021
    assert any("Mystery herbal tea" in n for n in a.not_evaluated)
    assert any("Essential hypertension" in n for n in a.not_evaluated)  # hypertension: not an OncoTree diagnosis
    assert {x.name: x.value for x in a.labs} == {"creatinine_clearance": 85}
    assert (b.sex, b.diagnosis, b.smoking_status) == ("male", "COAD", "former")
    assert b.medications == ["warfarin", "capecitabine"]
    labs = {x.name: x.value for x in b.labs}
    assert labs["creatinine_clearance"] == 42 and labs["creatinine"] == pytest.approx(150 / 88.4, rel=1e-3)
    assert c.sex is None and any("gender_concept_id" in n for n in c.not_evaluated)
    assert (c.diagnosis, c.smoking_status) == ("COAD", "never")
    assert {x.name: x.value for x in c.labs} == {"creatinine": 1.1}


def test_omop_csv_folder():
    _check_omop(load_omop(DATA / "omop", as_of="2026-11-28"))


def _csv_to_sqlite(db: Path) -> Path:
    con = sqlite3.connect(db)
    for f in sorted((DATA / "omop").glob("*.csv")):
        with open(f, newline="") as fh:
            rows = list(csv.reader(fh))
        cols = rows[0]
        con.execute(f"create table {f.stem} ({', '.join(c + ' text' for c in cols)})")
        con.executemany(f"insert into {f.stem} values ({', '.join('?' * len(cols))})",
                        [[v if v != "" else None for v in r] for r in rows[1:]])
    con.commit()
    con.close()
    return db


def test_omop_sqlite(tmp_path):
    _check_omop(load_omop(_csv_to_sqlite(tmp_path / "omop.sqlite"), as_of="2026-11-28"))


def test_omop_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb", reason="optional duckdb not installed (pip install bedside[omop])")
    db = tmp_path / "omop.duckdb"
    con = duckdb.connect(str(db))
    for f in sorted((DATA / "omop").glob("*.csv")):
        con.execute(f"create table {f.stem} as select * from read_csv('{f}', all_varchar=true)")
    con.close()
    _check_omop(load_omop(db, as_of="2026-11-28"))


def test_omop_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="no person"):
        load_omop(tmp_path)
    bad = tmp_path / "x.sqlite"
    bad.write_text("not a database")
    with pytest.raises(InputError):
        load_omop(bad)
    d = tmp_path / "omop"
    d.mkdir()
    (d / "person.csv").write_text("person_id,gender_concept_id,year_of_birth\n1,8507,1960\n")
    (d / "measurement.csv").write_text("person_id,measurement_source_value,value_as_number,unit_source_value\n"
                                       "1,2160-0,-1,mg/dL\n")
    with pytest.raises(InputError, match="impossible"):
        load_omop(d, as_of="2026-01-01")


def test_cli_clinical(tmp_path):
    from bedside.cli import main
    out = tmp_path / "all.json"
    assert main(["clinical", "--table", str(DATA / "clinical.tsv"), "--all", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert set(doc) == {"P1", "P2", "P3"} and doc["P2"]["labs"][1]["name"] == "creatinine_clearance"
    out = tmp_path / "p.json"
    assert main(["clinical", "--omop", str(DATA / "omop"), "--as-of", "2026-11-28", "--patient", "102",
                 "--therapy", "capecitabine", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    fired = {r["rule_id"] for r in doc["rules"] if r["status"] == "fired"}
    assert {"ORGAN-CAPECITABINE-CRCL", "DDI-CAPECITABINE-WARFARIN"} <= fired
    assert any(r["rule_id"] == "GENE-DRUG-CPIC-CAPECITABINE" and r["status"] == "not_evaluated"
               for r in doc["rules"])
    bad = write_table(tmp_path, [{"patient_id": "B", "labs": "alt=5"}])
    out = tmp_path / "bad.json"
    assert main(["clinical", "--table", str(bad), "--all", "--out", str(out)]) == InputError.exit_code
    assert not out.exists()


def test_cli_clinical_with_pgx_json(tmp_path):
    import importlib.util

    from bedside.cli import main
    spec = importlib.util.spec_from_file_location("_pgx_helpers", ROOT / "tests/test_pgx.py")
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    FIXTURE_DEFS, write_vcf = helpers.FIXTURE_DEFS, helpers.write_vcf
    vcf = write_vcf(tmp_path / "g.vcf", FIXTURE_DEFS, ["DPYD"], {"P2": {"rs3918290": "0/1"}})
    pj = tmp_path / "pgx.json"
    assert main(["pgx", str(vcf), "--definitions", str(FIXTURE_DEFS), "--out-json", str(pj),
                 "--out-tsv", str(tmp_path / "pgx.tsv")]) == 0
    out = tmp_path / "p2.json"
    assert main(["clinical", "--table", str(DATA / "clinical.tsv"), "--patient", "P2", "--pgx", str(pj),
                 "--therapy", "capecitabine", "--out", str(out)]) == 0
    rules = {r["rule_id"]: r for r in json.loads(out.read_text())["rules"]}
    assert rules["GENE-DRUG-CPIC-CAPECITABINE"]["status"] == "fired"
    assert "50%" in rules["GENE-DRUG-CPIC-CAPECITABINE"]["action"]
    assert rules["ORGAN-CAPECITABINE-CRCL"]["status"] == "fired"


def test_omop_missing_tables_are_reported_not_silent(tmp_path):
    """An extract without measurement (or drug_exposure, observation, condition_occurrence) says so on every
    patient instead of silently giving no labs."""
    import shutil

    folder = tmp_path / "omop"
    shutil.copytree(DATA / "omop", folder)
    (folder / "measurement.csv").unlink()
    (folder / "observation.csv").unlink()
    pts = load_omop(folder, as_of="2026-11-28")
    for ctx in pts.values():
        assert ctx.labs == [] and ctx.bmi is None and ctx.smoking_status is None
        assert any("no measurement table" in n for n in ctx.not_evaluated)
        assert any("no observation table" in n for n in ctx.not_evaluated)
    # an SQLite extract without the table says the same
    db = _csv_to_sqlite(tmp_path / "omop.sqlite")
    con = sqlite3.connect(db)
    con.execute("drop table measurement")
    con.commit()
    con.close()
    assert all(any("no measurement table" in n for n in c.not_evaluated)
               for c in load_omop(db, as_of="2026-11-28").values())


def test_omop_placeholder_end_date_is_reported_and_not_used(tmp_path):
    import shutil

    folder = tmp_path / "omop"
    shutil.copytree(DATA / "omop", folder)
    rows = (folder / "drug_exposure.csv").read_text().splitlines()
    # warfarin of person 101 ended in 2021; a placeholder end 2099-12-31 is not an end date
    rows = [r.replace("2020-01-01,2021-01-01", "2020-01-01,2099-12-31") for r in rows]
    (folder / "drug_exposure.csv").write_text("\n".join(rows) + "\n")
    a = load_omop(folder, as_of="2026-11-28")["101"]
    assert "warfarin" in a.medications
    assert any("2099-12-31" in n and "no end date" in n for n in a.not_evaluated)
    # an event dated after the reference date is refused naming the record
    meas = folder / "measurement.csv"
    meas.write_text(meas.read_text().replace("2026-05-01", "2099-05-01", 1))
    with pytest.raises(InputError, match=r"measurement\.csv:2.*2099-05-01"):
        load_omop(folder, as_of="2026-11-28")
