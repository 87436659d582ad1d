"""A tumor/normal swap or mismatch reaches the patient's own report: the case record carries the patient's row
of the cohort identity check (bedside cohort identity), and the report's first page warns that the findings
may belong to another patient; a passed check is one line in the QC section; a check not run says why."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest

from bedside import cli
from bedside.case import build_case
from bedside.cohort import identity, synthetic
from bedside.errors import InputError
from bedside.model import IdentityCheck, PatientContext, to_dict
from bedside.report import fhir, render
from tests.test_fhir import make_case

HEADER = "\t".join(identity.IDENTITY_COLUMNS)
WARNING = "must not be acted on until the sample identity is resolved"


def _table(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "identity.tsv"
    path.write_text("# bedside cohort identity: genotype concordance at common SNPs (tn.vcf.gz)\n"
                    + HEADER + "\n" + "".join(r + "\n" for r in rows))
    return path


SWAPPED = "PT01\tPT01-T\tPT01-N\t1948\t0.5713\t0.1021\tPT02-N\t0.9969\tswapped_with:PT02"
PASSED = "PT01\tPT01-T\tPT01-N\t1948\t0.9974\t0\tPT01-N\t0.9974\tok"
OTHER = "PT02\tPT02-T\tPT02-N\t1948\t0.5702\t0.0998\tPT01-N\t0.9971\tswapped_with:PT01"


def _case_with(tsv: Path | None, **kw):
    case = make_case()
    case.identity = build_case_identity(tsv, **kw)
    return case


def build_case_identity(tsv, tumor="PT01-T", normal="PT01-N", reason=None):
    from bedside.case import case_identity

    return case_identity("PT01", tumor, normal, str(tsv) if tsv else None, reason)


def _page1(html: str) -> str:
    return html[html.index('<section id="summary"'):html.index("</section>")]


def _roundtrip(case, tmp_path: Path):
    """case.json written and read back the way `bedside report` reads it (type-checked)."""
    path = tmp_path / "case.json"
    path.write_text(json.dumps(to_dict(case)))
    return render.load_case(path)


# ------------------------------------------------------------------------- the case record

def test_swapped_row_goes_into_the_case_record(tmp_path):
    tsv = _table(tmp_path, OTHER, SWAPPED)
    check = build_case_identity(tsv)
    assert check.status == "swapped_with:PT02" and check.problem
    assert check.swapped_with == "PT02" and check.best_normal == "PT02-N"
    assert check.sites == 1948 and check.concordance == pytest.approx(0.5713)
    assert check.source == str(tsv)


def test_build_case_reads_the_table_and_adds_a_notice(tmp_path):
    ctx = PatientContext("PT01", diagnosis="SKCM")
    case = build_case("PT01", ctx, tumor_sample="PT01-T", normal_sample="PT01-N",
                      identity_tsv=str(_table(tmp_path, SWAPPED, OTHER)))
    assert case.identity.problem
    assert any(n.startswith("SPECIMEN IDENTITY PROBLEM") and "PT02" in n for n in case.notices)
    ok = build_case("PT01", ctx, tumor_sample="PT01-T", normal_sample="PT01-N",
                    identity_tsv=str(_table(tmp_path, PASSED)))
    assert ok.identity.status == "ok" and not ok.identity.problem
    assert not any("IDENTITY" in n for n in ok.notices)


def test_not_run_reasons():
    assert build_case_identity(None, reason="cohort.enabled: false").reason == "cohort.enabled: false"
    tumor_only = build_case_identity(None, normal=None)
    assert tumor_only.status == "not_run" and "no matched tumor-normal pair" in tumor_only.reason
    assert "--identity" in build_case_identity(None).reason


def test_patient_without_a_row_is_not_run(tmp_path):
    check = build_case_identity(_table(tmp_path, OTHER))
    assert check.status == "not_run" and "no row" in check.reason


@pytest.mark.parametrize("row, message", [
    ("PT01\tPT09-T\tPT01-N\t1948\t0.99\t0\tPT01-N\t0.99\tok", r"line 3.*tumor_sample is 'PT09-T'"),
    ("PT01\tPT01-T\tPT01-N\t1948\t0.99\t0\tPT01-N\t0.99\tfine", r"line 3.*unknown identity status 'fine'"),
    ("PT01\tPT01-T\tPT01-N\tmany\t0.99\t0\tPT01-N\t0.99\tok", r"line 3.*column sites: 'many'"),
    ("PT01\tPT01-T\tPT01-N\t1948\t0.99", r"line 3.*5 fields, the header has 9"),
])
def test_bad_identity_rows_are_named(tmp_path, row, message):
    with pytest.raises(InputError, match=message) as err:
        build_case_identity(_table(tmp_path, row))
    assert "identity.tsv" in str(err.value)


def test_not_an_identity_table(tmp_path):
    bad = tmp_path / "identity.tsv"
    bad.write_text("patient_id\tstatus\nPT01\tok\n")
    with pytest.raises(InputError, match="column\\(s\\) tumor_sample, normal_sample.* missing"):
        build_case_identity(bad)


# ------------------------------------------------------------------------- the report

def test_swap_is_a_first_page_warning_in_html_json_and_fhir(tmp_path):
    case = _roundtrip(_case_with(_table(tmp_path, SWAPPED)), tmp_path)
    content, html = render.build(case)
    assert content["identity"]["problem"] is True
    assert content["identity"]["status"] == "swapped_with:PT02" and content["identity"]["swapped_with"] == "PT02"
    jsonschema.validate(content, render.report_schema())
    page1 = _page1(html)
    assert 'id="identity-alert"' in page1 and WARNING in page1
    assert "matches the normal of patient PT02 (PT02-N, genotype concordance 0.997)" in page1
    # the warning comes before anything clinical on the first page
    assert page1.index("identity-alert") < page1.index('id="alerts"') < page1.index('id="key-findings"')
    assert re.search(r'id="identity-check"[^>]*>.*FAILED \(swapped_with:PT02\)', html)
    bundle = fhir.build_bundle(case)
    fhir.validate(bundle)
    conclusion = bundle["entry"][0]["resource"]["conclusion"]
    assert conclusion.startswith("SPECIMEN IDENTITY PROBLEM") and "may belong to another patient" in conclusion


def test_mismatch_is_a_warning_too(tmp_path):
    row = "PT01\tPT01-T\tPT01-N\t1948\t0.5713\t0.1021\tPT01-N\t0.5713\tmismatch"
    content, html = render.build(_case_with(_table(tmp_path, row)))
    assert content["identity"]["problem"] is True and content["identity"]["swapped_with"] is None
    assert "do not come from the same person (genotype concordance 0.571 at 1948 common SNPs)" in _page1(html)


def test_passed_check_is_one_qc_line_and_no_warning(tmp_path):
    content, html = render.build(_roundtrip(_case_with(_table(tmp_path, PASSED)), tmp_path))
    ident = content["identity"]
    assert (ident["status"], ident["problem"], ident["sites"], ident["reason"]) == ("ok", False, 1948, None)
    jsonschema.validate(content, render.report_schema())
    assert 'id="identity-alert"' not in html and WARNING not in html
    line = re.search(r'<p id="identity-check"[^>]*>(.*?)</p>', html).group(1)
    assert "passed — tumor PT01-T and normal PT01-N: genotype concordance 0.997 at 1948 common SNPs" in line
    qc_section = html[html.index('<section id="qc">'):]
    assert qc_section.index('id="identity-check"') < qc_section.index("</section>")
    assert not fhir.build_bundle(_case_with(_table(tmp_path, PASSED)))["entry"][0]["resource"][
        "conclusion"].startswith("SPECIMEN")


def test_not_run_says_why(tmp_path):
    _, html = render.build(_case_with(None, reason="the cohort platform is off (cohort.enabled: false)"))
    assert "Tumor–normal identity:</strong> not run (the cohort platform is off (cohort.enabled: false))." in html
    older = make_case()  # a case.json written before the field existed
    data = to_dict(older)
    data.pop("identity")
    (tmp_path / "old.json").write_text(json.dumps(data))
    content, html = render.build(render.load_case(tmp_path / "old.json"))
    assert content["identity"]["status"] == "not_run"
    assert "not run (not recorded in the case record)" in html


def test_korean_report_has_the_warning(tmp_path):
    _, html = render.build(_case_with(_table(tmp_path, SWAPPED)), language="ko")
    assert 'id="identity-alert"' in _page1(html) and "검체 동일성 문제" in html


def test_schema_rejects_a_bad_identity(tmp_path):
    content, _ = render.build(_case_with(_table(tmp_path, PASSED)))
    bad = copy.deepcopy(content)
    bad["identity"]["status"] = "probably fine"
    with pytest.raises(InputError, match="identity/status"):
        render.validate_report(bad)
    bad = copy.deepcopy(content)
    bad["identity"].pop("problem")
    with pytest.raises(InputError, match="identity"):
        render.validate_report(bad)
    bad = copy.deepcopy(content)
    bad["identity"]["sites"] = "1948"
    with pytest.raises(InputError, match="identity/sites"):
        render.validate_report(bad)


def test_case_record_with_a_bad_identity_field_is_named(tmp_path):
    data = to_dict(_case_with(_table(tmp_path, PASSED)))
    data["identity"]["sites"] = "many"
    (tmp_path / "case.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="identity.sites"):
        render.load_case(tmp_path / "case.json")


# ------------------------------------------------------------------------- end to end, real genotypes

def test_planted_swap_from_genotypes_to_the_patients_report(tmp_path):
    """Seeded tumor/normal genotypes with patients 1 and 2's tumors swapped -> `bedside cohort identity`
    -> `bedside case --identity` -> `bedside report`: the swapped patients' reports warn, the others pass."""
    vcf, swapped = synthetic.tumor_normal_vcf(tmp_path / "tn.vcf.gz", n_patients=4, n_sites=300, seed=5,
                                              swap=(0, 1))
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample_name\tpatient\talias\tplatform\n" + "".join(
        f"P{k:05d}-{s}\tP{k:05d}\t{alias}\tILLUMINA\n" for k in range(1, 5)
        for s, alias in (("T", "tumor"), ("N", "normal"))))
    table = tmp_path / "identity.tsv"
    assert cli.main(["cohort", "identity", "--samples", str(sheet), "--vcf", str(vcf), "--out", str(table)]) == 0
    assert sorted(swapped) == ["P00001", "P00002"]
    for k in range(1, 5):
        pid = f"P{k:05d}"
        ctx = tmp_path / f"{pid}.context.json"
        ctx.write_text(json.dumps(to_dict(PatientContext(pid, diagnosis="SKCM"))))
        case_json, html, js = (tmp_path / f"{pid}.{x}" for x in ("case.json", "html", "json"))
        assert cli.main(["case", "--patient", pid, "--context", str(ctx), "--tumor-sample", f"{pid}-T",
                         "--normal-sample", f"{pid}-N", "--identity", str(table), "--out", str(case_json)]) == 0
        assert cli.main(["report", str(case_json), "--html", str(html), "--json", str(js)]) == 0
        text, content = html.read_text(), json.loads(js.read_text())
        jsonschema.validate(content, render.report_schema())
        if pid in swapped:
            other = "P00002" if pid == "P00001" else "P00001"
            assert content["identity"]["status"] == f"swapped_with:{other}"
            assert WARNING in _page1(text) and f"matches the normal of patient {other}" in _page1(text)
        else:
            assert content["identity"]["status"] == "ok" and WARNING not in text
            assert re.search(r'id="identity-check"[^>]*><strong>Tumor–normal identity:</strong> passed', text)


def test_case_cli_identity_not_run_reason(tmp_path):
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps(to_dict(PatientContext("PT01"))))
    out = tmp_path / "case.json"
    assert cli.main(["case", "--patient", "PT01", "--context", str(ctx), "--tumor-sample", "PT01-T",
                     "--normal-sample", "PT01-N", "--identity-not-run", "fewer than two normals",
                     "--out", str(out)]) == 0
    check = IdentityCheck(**json.loads(out.read_text())["identity"])
    assert check.status == "not_run" and check.reason == "fewer than two normals"
