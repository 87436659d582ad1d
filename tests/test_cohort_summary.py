"""The cohort summary agrees with every report: same stored therapy options, biomarkers, findings."""

from __future__ import annotations

import argparse
import copy
import csv
import json
from pathlib import Path

import pytest

from bedside import biomarkers
from bedside.model import Origin, Tier, TherapyOption, to_dict
from bedside.report import cohort
from tests.test_fhir import make_case

ROOT = Path(__file__).resolve().parents[1]


def demo_like_cases():
    """Four cases shaped like the demo: melanoma BRAF, LUAD EGFR (+resistance), COAD on capecitabine, TMB."""
    pt01 = make_case()
    pt02 = copy.deepcopy(pt01)
    pt02.patient_id, pt02.context.patient_id, pt02.context.diagnosis = "PT02", "PT02", "LUAD"
    pt02.somatic[0].consequence.gene, pt02.somatic[0].consequence.hgvs_p = "EGFR", "p.Leu858Arg"
    pt02.therapy_options = [
        TherapyOption("erlotinib", "this_tumor_type", "A", ["EGFR p.Leu858Arg"], excluded_by_resistance=True),
        TherapyOption("osimertinib", "this_tumor_type", "A", ["EGFR p.Leu858Arg"]),
        TherapyOption("erlotinib", "resistance", "B", ["EGFR p.Thr790Met"]),
    ]
    pt02.germline = []
    pt03 = copy.deepcopy(pt01)
    pt03.patient_id, pt03.context.patient_id, pt03.context.diagnosis = "PT03", "PT03", "COAD"
    pt03.somatic[0].tier = Tier.III
    pt03.therapy_options = []  # nothing in play: every therapy column says "none", never blank
    pt03.somatic[0].evidence = []
    pt04 = copy.deepcopy(pt01)
    pt04.patient_id, pt04.context.patient_id = "PT04", "PT04"
    pt04.biomarkers = [biomarkers.tmb_biomarker(25, 1_200_000)]
    pt04.qc = []
    return [pt01, pt02, pt03, pt04]


def report_content(case) -> dict:
    """What the patient's report shows (bedside.report.prepare), read the way the report reads it."""
    from bedside.report.prepare import prepare

    return prepare(case)


def _check_row_matches_report(row: dict, case, rep: dict) -> None:
    by_cat: dict[str, list[str]] = {"this_tumor_type": [], "other_tumor_type": [], "resistance": []}
    for o in rep["therapy_options"]:
        text = f"{o['therapy']} ({o['level']})" + (
            " [overruled by resistance]" if o["excluded_by_resistance"] else ""
        )
        by_cat[o["category"]].append(text)
    assert row["therapies_this_tumor_type"] == by_cat["this_tumor_type"]
    assert row["therapies_other_tumor_type"] == by_cat["other_tumor_type"]
    assert row["resistance"] == by_cat["resistance"]
    tmb = next((b for b in rep["biomarkers"] if b["name"] == "TMB"), None)
    if tmb is None:
        assert row["tmb"] == "not measured"
    else:
        assert row["tmb_status"] == tmb["status"]
        assert row["tmb_value"] == (tmb["value"] if tmb["status"] == "assessable" else None)
        assert row["tmb_class"] == tmb["classification"]
        if tmb["status"] != "assessable":
            assert row["tmb"].startswith("not assessable") and tmb["reason"] in row["tmb"]
            assert "High" not in row["tmb"]
    tier1 = [f for f in case.somatic if f.tier == Tier.I]
    assert len(row["tier_I"]) == len(tier1)
    assert row["qc"] == ("FAIL" if any(m.passed is False for m in case.qc) else "pass")


def test_rows_match_each_report():
    cases = demo_like_cases()
    rows = cohort.cohort_rows(cases)
    assert [r["patient_id"] for r in rows] == ["PT01", "PT02", "PT03", "PT04"]
    for row, case in zip(rows, cases, strict=True):
        _check_row_matches_report(row, case, report_content(case))
    pt01, pt02, pt03, pt04 = rows
    assert pt01["therapies_this_tumor_type"] == ["dabrafenib + trametinib (A)"]
    assert pt01["therapies_other_tumor_type"] == ["encorafenib + cetuximab (C)"]
    assert pt01["tmb"] == "not assessable (0.33 Mb callable coding territory < 0.8 Mb minimum)"
    assert pt02["resistance"] == ["erlotinib (B)"]
    assert pt03["resistance"] == [] and pt03["therapy_options_recorded"]
    assert pt04["tmb"].startswith("20.8 mut/Mb (95 % CI") and pt04["tmb"].endswith(", High")
    assert pt01["prescribing_alerts"] == ["capecitabine (alert)"]


def test_cli_outputs_links_and_landscape(tmp_path):
    from bedside.commands import cohort as cohort_cmd

    paths = []
    for c in demo_like_cases():
        d = tmp_path / "results" / c.patient_id
        d.mkdir(parents=True)
        (d / "case.json").write_text(json.dumps(to_dict(c)))
        paths.append(str(d / "case.json"))
    out = tmp_path / "results" / "cohort"
    parser = argparse.ArgumentParser()
    cohort_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        [
            "cohort",
            *paths,
            "--html",
            str(out / "summary.html"),
            "--tsv",
            str(out / "summary.tsv"),
            "--json",
            str(out / "summary.json"),
            "--multiqc",
            str(out / "multiqc" / "multiqc_report.html"),
        ]
    )
    assert args.func(args) == 0
    html = (out / "summary.html").read_text()
    assert 'href="../PT01/report.html"' in html and 'href="multiqc/multiqc_report.html"' in html
    assert "<svg" in html and "Gene by patient landscape" in html
    assert 'src="http' not in html and 'href="http' not in html  # offline: nothing fetched
    assert "0.33 Mb callable coding territory &lt; 0.8 Mb minimum" in html
    rows = json.loads((out / "summary.json").read_text())
    assert rows[0]["report"] == "../PT01/report.html" and isinstance(
        rows[0]["mean_depth_tumor"], (float, type(None))
    )
    with open(out / "summary.tsv") as fh:
        tsv = list(csv.DictReader(fh, delimiter="\t"))
    assert tsv[1]["resistance"] == "erlotinib (B)" and tsv[2]["resistance"] == ""
    # the landscape: BRAF altered in PT01 and PT04 (tier I), PT03 (tier III); BRCA1 germline
    genes, patients, cells = cohort.landscape(demo_like_cases())
    assert cells[("BRAF", "PT01")] == ["tier I"] and cells[("BRAF", "PT03")] == ["tier III"]
    assert cells[("BRCA1", "PT01")] == ["germline"] and patients == ["PT01", "PT02", "PT03", "PT04"]


def test_summary_links_the_cohort_platform_page(tmp_path):
    """The summary links results/cohort/cohort_platform.html: given with --platform, or found beside it."""
    from bedside.commands import cohort as cohort_cmd

    d = tmp_path / "results" / "PT01"
    d.mkdir(parents=True)
    (d / "case.json").write_text(json.dumps(to_dict(make_case())))
    out = tmp_path / "results" / "cohort"
    parser = argparse.ArgumentParser()
    cohort_cmd.add_parser(parser.add_subparsers())

    def render(*extra):
        args = parser.parse_args(
            ["cohort", str(d / "case.json"), "--html", str(out / "summary.html"), *extra]
        )
        assert args.func(args) == 0
        return (out / "summary.html").read_text()

    assert "cohort-platform-link" not in render()  # no platform page: no dead link
    html = render("--platform", str(out / "cohort_platform.html"))
    assert '<a href="cohort_platform.html">cohort platform page</a>' in html
    (out / "cohort_platform.html").write_text("<section></section>")
    html = render()  # the platform rule's output beside the summary is found
    assert 'id="cohort-platform-link"' in html and 'href="cohort_platform.html"' in html


def test_no_therapy_options_recorded_is_said_not_blank():
    case = make_case()
    case.therapy_options = []  # an older case.json: evidence present but no stored decision
    row = cohort.cohort_row(case)
    assert not row["therapy_options_recorded"]
    html = cohort.render_html([case], [row])
    assert "not recorded in the case record" in html


@pytest.mark.parametrize("patient", ["PT01", "PT02", "PT03", "PT04"])
def test_demo_cases_match_their_reports(patient):
    path = ROOT / "results" / patient / "case.json"
    if not path.exists():
        pytest.skip("demo results not built")
    from bedside.report.render import load_case

    case = load_case(path)
    (row,) = cohort.cohort_rows([case], [path], out_dir=ROOT / "results" / "cohort")
    assert row["report"] == f"../{patient}/report.html"
    _check_row_matches_report(row, case, report_content(case))
    assert all(f.origin == Origin.SOMATIC for f in case.somatic)
