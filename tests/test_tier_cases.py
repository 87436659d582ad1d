"""Data-driven tiering cases: tests/cases/tier/<case>/input.tsv + expected.json, run through `bedside tier`."""

import csv
import json
from pathlib import Path

import pytest

from bedside.cli import main

CASES = sorted((Path(__file__).parent / "cases" / "tier").iterdir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_tier_case(case: Path, tmp_path: Path):
    expected = json.loads((case / "expected.json").read_text())
    out_tsv, out_json = tmp_path / "out.tsv", tmp_path / "out.json"
    assert main(["tier", "--input", str(case / "input.tsv"), "--out-tsv", str(out_tsv),
                 "--out-json", str(out_json)]) == 0
    with open(out_tsv) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == len(expected["rows"])
    payload = json.loads(out_json.read_text())
    for row, exp in zip(rows, expected["rows"]):
        assert row["gene"] == exp["gene"]
        assert row["hgvs_p"] == exp["hgvs_p"]
        assert row["tier"] == exp["tier"], (case.name, row)
        if "therapies_sensitive" in exp:
            assert sorted(filter(None, row["therapies_sensitive"].split(";"))) == sorted(exp["therapies_sensitive"])
        if "therapies_resistant" in exp:
            assert sorted(filter(None, row["therapies_resistant"].split(";"))) == sorted(exp["therapies_resistant"])
        for pmid in exp["pmids"]:
            assert f"PMID:{pmid}" in row["citations"], (pmid, row["citations"])
        if not exp["pmids"]:
            assert row["citations"] == ""
    got_therapies = {g["tumor_type"]: g["therapies"] for g in payload["groups"]}
    assert {k: sorted(v) for k, v in got_therapies.items()} == {k: sorted(v) for k, v in expected["therapies"].items()}
    if any("matched" in e for e in expected["rows"]):
        f0 = payload["groups"][0]["findings"][0]
        exp0 = expected["rows"][0]
        matched = {e["matched_tumor_type"] for e in f0["evidence"] if e["therapy"] in exp0["therapies_sensitive"]}
        assert matched == {exp0["matched"]}
    assert payload["knowledge_versions"]["oncotree"] == "oncotree_2025_10_03"
