from __future__ import annotations

import json
import re
from pathlib import Path

from bedside.cli import main
from bedside.model import (
    Case,
    Citation,
    ClinVarRecord,
    Consequence,
    Diplotype,
    Evidence,
    Finding,
    LabValue,
    Origin,
    PatientContext,
    QCMetric,
    Recommendation,
    RuleResult,
    Tier,
    Variant,
    from_dict,
    to_dict,
)


def make_case() -> Case:
    ctx = PatientContext("PT01", age=61, sex="male", diagnosis="SKCM",
                         diagnosis_name="Cutaneous Melanoma", medications=["omeprazole"],
                         labs=[LabValue("creatinine_clearance", 45, "mL/min")],
                         smoking_status="never", not_evaluated=["diet: not recorded"])
    braf = Finding(
        Variant("chr7", 1000, "A", "T"), Origin.SOMATIC,
        Consequence("BRAF", "ENST00000288602", "missense_variant", "c.1799T>A", "p.Val600Glu", 600),
        tier=Tier.I, vaf=0.42, depth=80,
        evidence=[Evidence("BRAF", "p.V600E", "MEL", "dabrafenib + trametinib", "sensitivity", "A",
                           [Citation("FDA label", pmid="22663011")], matched_tumor_type="ancestor:MEL")])
    brca = Finding(Variant("chr17", 500, "CAG", "C"), Origin.GERMLINE,
                   Consequence("BRCA1", None, "frameshift_variant", "c.68_69del", "p.Glu23fs"),
                   clinvar=ClinVarRecord("Pathogenic", "reviewed_by_expert_panel", 3))
    return Case(
        "PT01", ctx, tumor_sample="PT01-T", normal_sample="PT01-N", somatic=[braf], germline=[brca],
        pgx=[Diplotype("CYP2C19", ["*1/*2"], "Intermediate Metabolizer", missing_positions=["rs1"])],
        recommendations=[Recommendation("omeprazole", "Initiate standard starting daily dose.",
                                        "CYP2C19", "Intermediate Metabolizer", "Optional",
                                        [Citation("CPIC", pmid="32770672")])],
        rules=[RuleResult("dabrafenib-strong-cyp3a4", "drug-drug", "dabrafenib", "fired",
                          "takes itraconazole, a strong CYP3A4 inhibitor", "avoid if possible",
                          [Citation("FDA label (Tafinlar)", version="2023")]),
               RuleResult("erlotinib-smoking", "drug-lifestyle", "erlotinib", "not_evaluated",
                          "smoking status not recorded")],
        qc=[QCMetric("PT01-T", "mean_depth", 12.0, 30, ">=", False, "mosdepth")],
        tmb=3.2, callable_mb=0.3, versions={"bedside": "0.1.0"}, notices=["For research use only."],
        generated="2026-01-01T00:00:00+00:00")


def test_case_roundtrip() -> None:
    case = make_case()
    again = from_dict(Case, json.loads(json.dumps(to_dict(case))))
    assert again == case


def test_report_html_json_pdf(tmp_path: Path) -> None:
    case_path = tmp_path / "case.json"
    case_path.write_text(json.dumps(to_dict(make_case())))
    html, js, pdf = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.pdf"
    assert main(["report", str(case_path), "--html", str(html), "--json", str(js),
                 "--pdf", str(pdf)]) == 0
    text = html.read_text()
    assert "RESEARCH USE ONLY" in text
    assert "p.Val600Glu" in text and "dabrafenib + trametinib" in text and "22663011" in text
    assert "takes itraconazole" in text  # the fired rule modifies the therapy row
    assert "smoking status not recorded" in text  # not-evaluated rules are shown
    assert "FAIL" in text  # the failed QC gate is visible
    # offline: no external resource is loaded (links to PubMed are fine, loads are not)
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?:", text)
    data = json.loads(js.read_text())
    assert data["report"]["options"][0]["finding"]["hgvs_p"] == "p.Val600Glu"
    assert data["case"]["patient_id"] == "PT01"
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_cohort_summary(tmp_path: Path) -> None:
    case_path = tmp_path / "case.json"
    case_path.write_text(json.dumps(to_dict(make_case())))
    tsv = tmp_path / "s.tsv"
    assert main(["cohort", str(case_path), "--tsv", str(tsv), "--html", str(tmp_path / "s.html")]) == 0
    lines = tsv.read_text().splitlines()
    assert lines[1].startswith("PT01\tSKCM\t1\tBRAF p.Val600Glu")


def test_bad_case_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "case.json"
    bad.write_text("{not json")
    assert main(["report", str(bad), "--html", str(tmp_path / "x.html")]) == 2
    assert "case.json" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
