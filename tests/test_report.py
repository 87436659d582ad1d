from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest

from bedside.cli import main
from bedside.errors import InputError
from bedside.model import Case, Citation, Evidence, Recommendation, from_dict, to_dict
from bedside.report import render
from bedside.report.prepare import detection_limit, prepare
from tests.report_cases import capecitabine_case, melanoma_case

ROOT = Path(__file__).resolve().parent.parent
DEMO = sorted((ROOT / "results").glob("PT0*/case.json"))


def _write(case: Case, tmp: Path) -> Path:
    p = tmp / f"{case.patient_id}.case.json"
    p.write_text(json.dumps(to_dict(case)))
    return p


def _section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}"[^>]*>(.*?)</section>', html, re.S)
    assert m, f"section {sid} missing"
    return m.group(1)


def _cell(html: str, row_label: str, col: int) -> str:
    """Text of column ``col`` of the key-findings row whose first cell names ``row_label``."""
    table = re.search(r'<table class="findings" id="key-findings">(.*?)</table>', html, re.S).group(1)
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if cells and row_label in cells[0]:
            return re.sub(r"<[^>]+>", " ", cells[col])
    raise AssertionError(f"no key-findings row for {row_label}")


def test_case_roundtrip() -> None:
    for case in (melanoma_case(), capecitabine_case()):
        again = from_dict(Case, json.loads(json.dumps(to_dict(case))))
        assert again == case


def test_melanoma_report(tmp_path: Path) -> None:
    src = _write(melanoma_case(), tmp_path)
    html_p, js_p = tmp_path / "r.html", tmp_path / "r.json"
    assert main(["report", str(src), "--html", str(html_p), "--json", str(js_p)]) == 0
    html = html_p.read_text()
    assert "RESEARCH USE ONLY" in html
    assert "Cutaneous Melanoma" in html and "OncoTree SKCM" in html
    # therapies by match, as the case record decided them: melanoma approval A; colorectal one only as C
    assert "dabrafenib + trametinib" in _cell(html, "BRAF p.Val600Glu", 1)
    assert "unresectable or metastatic melanoma" in _cell(html, "BRAF p.Val600Glu", 1)  # eligibility
    other = _cell(html, "BRAF p.Val600Glu", 2)
    assert "encorafenib + cetuximab" in other and re.search(r"\bC\b", other)
    assert "encorafenib" not in _cell(html, "BRAF p.Val600Glu", 1)
    # TMB from 0.33 Mb: not assessable, with the reason; never a class
    card = re.search(r'id="biomarkers-card">(.*?)</div>\s*</div>', html, re.S).group(1)
    assert "not assessable" in card and "below the 0.8 Mb minimum" in card and "High" not in card
    # somatic table with oncogenicity; germline; pgx; legend; limitations; methods with "not recorded"
    assert "Oncogenic" in _section(html, "somatic") and "OS3 (+4)" in _section(html, "somatic")
    assert "BRCA1" in _section(html, "germline")
    assert "Tier I" in _section(html, "legend") and "27993330" in _section(html, "legend")
    lim = _section(html, "limitations")
    assert "copy-number" in lim and "gene fusions" in lim and "microsatellite" in lim
    assert re.search(r"allele fraction below \d+(\.\d)? %", lim)  # detection limit at the achieved depth
    methods = _section(html, "methods")
    for comp in ("clinvar", "population"):
        assert re.search(rf"<td>{comp}</td><td><span class=\"missing\">not recorded</span>", methods)
    assert "None" not in methods and "null" not in methods
    # plots: inline SVG, nothing loaded from outside
    assert len(re.findall(r"<svg ", html)) >= 2
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"url\((?!#)", html)
    # prescribing: one view per drug, rule sets checked / not available listed
    presc = _section(html, "prescribing")
    assert "dabrafenib" in presc and "drug–lifestyle" in presc and "Not available" in presc
    # report.json: typed, schema-valid
    data = json.loads(js_p.read_text())
    jsonschema.validate(data, render.report_schema())
    assert data["schema_version"] == "1.0.0"
    braf = data["somatic"][0]
    assert braf["label"] == "BRAF p.Val600Glu" and braf["vaf"] == 0.42 and braf["depth"] == 80
    tmb = data["biomarkers"][0]
    assert tmb["status"] == "not_assessable" and tmb["classification"] is None
    kf = data["key_findings"][0]
    assert [o["therapy"] for o in kf["this_tumor_type"]] == ["dabrafenib + trametinib"]
    assert [(o["therapy"], o["level"]) for o in kf["other_tumor_type"]] == [("encorafenib + cetuximab", "C")]
    assert data["report_date"] == "2026-12-01"


def test_alert_first_and_conflict_together(tmp_path: Path) -> None:
    src = _write(capecitabine_case(), tmp_path)
    out = tmp_path / "r.html"
    assert main(["report", str(src), "--html", str(out)]) == 0
    html = out.read_text()
    page1 = _section(html, "summary")
    # the DPYD alert on capecitabine opens page 1, before the patient facts and the findings
    assert page1.index('id="alerts"') < page1.index('class="facts"') < page1.index('id="key-findings"')
    alert = re.search(r'<div class="alert urgent">(.*?)</div>\s*\n</div>', page1, re.S).group(1)
    assert "capecitabine" in alert and "DPYD" in alert and "creatinine clearance" in alert
    assert "for clinician review" in alert
    # both modifiers of capecitabine sit in one drug view, with the conflict flagged
    presc = _section(html, "prescribing")
    views = re.findall(r'<div class="drugview[^"]*">(.*?)</div>\s*\n(?=<div class="drugview|$)', presc, re.S)
    cape = [v for v in views if "capecitabine" in v.split("</h3>")[0]]
    assert len(cape) == 1 and "50%" in cape[0] and "75%" in cape[0] and "for clinician review" in cape[0]
    assert presc.index("capecitabine") < presc.index("warfarin") < presc.index("cetuximab")  # urgency order
    # TMB assessable: class and CI from the case record
    assert "High" in page1 and "95% CI 10.4–14.9" in page1
    # ambiguous diplotypes: every one shown
    pgx = _section(html, "pgx")
    assert "*1/*17 or *4/*17" in pgx and "Rapid Metabolizer or Intermediate Metabolizer" in pgx
    # resistance column
    assert "cetuximab" in _cell(html, "KRAS p.Gly12Val", 3)


def test_pgx_guidance_only_for_drugs_in_play(tmp_path: Path) -> None:
    case = melanoma_case()
    case.recommendations += [
        Recommendation("warfarin", "Initiate with standard dosing.", "CYP2C9", "Normal Metabolizer", "Strong",
                       [Citation("CPIC", pmid="28198005")], actionable=None),
        Recommendation("clopidogrel", "Avoid standard dose clopidogrel if possible.", "CYP2C19",
                       "Intermediate Metabolizer", "Moderate", [Citation("CPIC", pmid="35034351")],
                       actionable=True),
    ]
    content = prepare(case)
    assert [r["drug"] for r in content["pgx"]["in_play"]] == ["omeprazole"]  # a current medication
    # clopidogrel: guidance changes prescribing if the drug is started
    assert [r["drug"] for r in content["pgx"]["appendix"]] == ["clopidogrel"]
    assert content["pgx"]["appendix_omitted"] == 2  # voriconazole (no change), warfarin (undetermined)
    html = render.render_html(case)
    assert "warfarin" not in html.lower()
    assert "clopidogrel" in _section(html, "appendix") and "voriconazole" not in html


def test_report_never_decides_therapies() -> None:
    """Evidence on a finding without a therapy option in the case record is not promoted to page 1."""
    case = melanoma_case()
    case.therapy_options = []
    case.somatic[0].evidence = [Evidence("BRAF", "p.V600E", "SKCM", "vemurafenib", "sensitivity", "A")]
    html = render.render_html(case)
    assert "vemurafenib" not in html
    assert "—" in _cell(html, "BRAF p.Val600Glu", 1)


def test_korean_report(tmp_path: Path) -> None:
    from bedside import RESEARCH_USE_NOTICE

    case = capecitabine_case()
    case.notices = [RESEARCH_USE_NOTICE, "QC gates failed: PT03-N mean_depth 12.0 (needs >= 15.0)."]
    src = _write(case, tmp_path)
    out, js = tmp_path / "ko.html", tmp_path / "ko.json"
    assert main(["report", str(src), "--html", str(out), "--json", str(js), "--language", "ko"]) == 0
    html = out.read_text()
    assert '<html lang="ko">' in html
    assert "종양 유전체 검사 보고서" in html and "진단" in html and "임상의 검토 필요" in html
    # clinical terms, drug names and citations stay as in the source
    assert "capecitabine" in html and "Colon Adenocarcinoma" in html and "Intermediate Metabolizer" in html
    assert "29152729" in html and "KRAS p.Gly12Val" in html
    assert "Research use only" not in html.split("<footer>")[0]  # no English fixed text before the notices
    footer = html.split("<footer>")[1]
    # the package's own notice, translated
    assert "연구용 전용입니다" in footer and RESEARCH_USE_NOTICE not in footer
    assert "QC gates failed" in footer  # notices from the case record stay as recorded
    assert json.loads(js.read_text())["language"] == "ko"


def test_catalogues_complete() -> None:
    en, ko = render.catalogue("en"), render.catalogue("ko")
    assert set(en) == set(ko)
    for key in en:
        assert set(re.findall(r"{(\w+)", en[key])) == set(re.findall(r"{(\w+)", ko[key])), key
    used = set()
    for p in (ROOT / "src/bedside/report/templates").rglob("*.j2"):
        used |= set(re.findall(r'\bt\("([a-z_0-9]+)"[,)]', p.read_text()))
    assert used <= set(en), used - set(en)
    with pytest.raises(InputError):
        render.catalogue("fr")


def test_schema_is_shipped_and_strict() -> None:
    schema = render.report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    content = prepare(capecitabine_case())
    render.validate_report(content)
    bad = copy.deepcopy(content)
    bad["somatic"][0]["vaf"] = "0.31"  # a display string where a number belongs
    with pytest.raises(InputError, match="somatic/0/vaf"):
        render.validate_report(bad)
    bad = copy.deepcopy(content)
    bad["biomarkers"][0]["status"] = "maybe"
    with pytest.raises(InputError, match="biomarkers/0/status"):
        render.validate_report(bad)


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["somatic"][0].__setitem__("vaf", "0.42"), "somatic[0].vaf"),
    (lambda d: d["therapy_options"][0].pop("category"), "therapy_options[0].category"),
    (lambda d: d["biomarkers"][0].__setitem__("value", "18.2 mut/Mb"), "biomarkers[0].value"),
    (lambda d: d["somatic"][0].__setitem__("origin", "tumour"), "somatic[0].origin"),
    (lambda d: d.__setitem__("prescribing", {"drug": "x"}), "prescribing"),
    (lambda d: d["context"].__setitem__("diagnosis_nme", "x"), "context.diagnosis_nme"),
])
def test_bad_case_record_exit_2_no_output(tmp_path: Path, capsys, mutate, field) -> None:
    data = to_dict(melanoma_case())
    mutate(data)
    src = tmp_path / "case.json"
    src.write_text(json.dumps(data))
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    assert main(["report", str(src), "--html", str(html), "--json", str(js)]) == 2
    err = capsys.readouterr().err
    assert str(src) in err and field in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.json"]  # no partial output, no temp file


def test_bad_json_and_missing_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "case.json"
    bad.write_text("{not json")
    assert main(["report", str(bad), "--html", str(tmp_path / "x.html")]) == 2
    assert "case.json" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
    assert main(["report", str(tmp_path / "nope.json"), "--html", str(tmp_path / "x.html")]) == 2


def test_existing_report_kept_when_case_is_bad(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.write_text("old report")
    data = to_dict(melanoma_case())
    data["somatic"][0]["depth"] = 80.5
    src = tmp_path / "case.json"
    src.write_text(json.dumps(data))
    assert main(["report", str(src), "--html", str(out)]) == 2
    assert out.read_text() == "old report"


def test_batch_out_dir_and_cohort_plot(tmp_path: Path) -> None:
    cases = [melanoma_case("PT01"), capecitabine_case("PT03"), capecitabine_case("PT05")]
    cases[2].biomarkers[0].value = 4.0
    cases[2].biomarkers[0].classification = "Low"
    paths = [str(_write(c, tmp_path)) for c in cases]
    out = tmp_path / "out"
    assert main(["report", *paths, "--out-dir", str(out), "--jobs", "2", "--cohort", *paths]) == 0
    for c in cases:
        assert (out / c.patient_id / "report.html").exists()
        data = json.loads((out / c.patient_id / "report.json").read_text())
        jsonschema.validate(data, render.report_schema())
    pt03 = (out / "PT03" / "report.html").read_text()
    assert 'aria-label="TMB against the cohort"' in pt03  # assessable TMB, another assessable cohort value
    pt01 = (out / "PT01" / "report.html").read_text()
    assert 'aria-label="TMB against the cohort"' not in pt01  # not assessable: no plot
    assert "TMB is not assessable for this patient" in pt01


def test_detection_limit() -> None:
    lod = detection_limit(100, 3, 0.02)
    assert 0.05 < lod < 0.07  # P(>= 3 alt reads of 100) = 0.95 near VAF 6 %
    assert detection_limit(1000, 3, 0.03) == 0.03  # floored at the caller's minimum VAF
    assert detection_limit(2, 3, None) is None


def test_plots_are_offline_svg() -> None:
    content = prepare(melanoma_case())
    plots = render.make_plots(content)
    for name in ("coverage", "vaf"):
        svg = plots[name]
        assert svg.startswith("<svg") and "<?xml" not in svg and "http://www.w3.org/2000/svg" in svg
        assert not re.search(r'(?:xlink:)?href="(?!#)', svg)
        ids = re.findall(r'id="([^"]+)"', svg)
        assert ids and all(i.startswith(f"{name}-") for i in ids)


def test_coverage_skipped_with_note_without_assay() -> None:
    case = melanoma_case()
    case.assay = {}
    html = render.render_html(case)
    assert "No coverage plot: the case record carries no per-gene coverage" in html
    assert "assay not named in the case record" in html


def test_qc_failure_is_visible() -> None:
    html = render.render_html(melanoma_case())
    assert "quality-control gates failed" in _section(html, "summary")
    assert '<td class="FAIL">FAIL</td>' in _section(html, "qc")


@pytest.mark.skipif(not DEMO, reason="no demo case records in results/ (run `make demo` first)")
@pytest.mark.parametrize("case_json", DEMO, ids=[p.parent.name for p in DEMO])
def test_demo_case_renders(tmp_path: Path, case_json: Path) -> None:
    js, html = tmp_path / "r.json", tmp_path / "r.html"
    assert main(["report", str(case_json), "--json", str(js), "--html", str(html),
                 "--cohort", *map(str, DEMO)]) == 0
    data = json.loads(js.read_text())
    jsonschema.validate(data, render.report_schema())
    assert data["patient"]["id"] == case_json.parent.name
    text = html.read_text()
    assert len(re.findall(r"<svg ", text)) >= 1
    assert not re.search(r"TMB</strong>:[^<]*High", text)  # no TMB class unless the case record assessed it



def test_tmb_value_withheld_when_not_assessable() -> None:
    case = melanoma_case()
    case.biomarkers[0].value = 18.2  # even if a record carried a value, a TMB not assessable shows none
    html = render.render_html(case)
    assert "18.2" not in html and "not assessable" in _section(html, "biomarkers")
    case = capecitabine_case()
    case.biomarkers[0].reason = "95 % confidence interval extends below the 10 mut/Mb threshold"
    page1 = _section(render.render_html(case), "summary")
    assert "12.5 mut/Mb" in page1 and "High" in page1 and "extends below the 10 mut/Mb" in page1
