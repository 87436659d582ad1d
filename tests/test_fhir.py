"""report.fhir.json: a FHIR R4 Bundle following the Genomics Reporting IG, validated with fhir.resources."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pydantic
import pytest

from bedside import biomarkers
from bedside.model import (
    Case,
    Citation,
    ClinVarRecord,
    Consequence,
    Diplotype,
    DrugView,
    Evidence,
    Finding,
    Origin,
    PatientContext,
    Recommendation,
    Tier,
    TherapyOption,
    TumorMatch,
    Variant,
    to_dict,
)
from bedside.report import fhir

ROOT = Path(__file__).resolve().parents[1]


def make_case(tmb_mb: float = 0.33) -> Case:
    cite = Citation(source="FDA label (Tafinlar)", pmid="22663011", version="2024-01")
    braf = Finding(
        Variant("chr7", 140753336, "A", "T"),
        Origin.SOMATIC,
        Consequence("BRAF", "ENST00000646891", "missense_variant", "c.1799T>A", "p.Val600Glu"),
        tier=Tier.I,
        vaf=0.31,
        depth=120,
        alt_reads=37,
        evidence=[
            Evidence(
                "BRAF",
                "p.V600E",
                "SKCM",
                "dabrafenib + trametinib",
                "sensitivity",
                "A",
                [cite],
                match=TumorMatch.SAME,
                patient_level="A",
            )
        ],
    )
    brca = Finding(
        Variant("chr17", 43045712, "AG", "A"),
        Origin.GERMLINE,
        Consequence("BRCA1", "ENST00000357654", "frameshift_variant", "c.5266dup", "p.Gln1756fs"),
        vaf=0.5,
        depth=40,
        alt_reads=20,
        clinvar=ClinVarRecord("Pathogenic", "reviewed by expert panel", 3, "BRCA1:672", "17677"),
    )
    opts = [
        TherapyOption("dabrafenib + trametinib", "this_tumor_type", "A", ["BRAF p.Val600Glu"], braf.evidence),
        TherapyOption(
            "encorafenib + cetuximab",
            "other_tumor_type",
            "C",
            ["BRAF p.Val600Glu"],
            [
                Evidence(
                    "BRAF",
                    "p.V600E",
                    "COAD",
                    "encorafenib + cetuximab",
                    "sensitivity",
                    "A",
                    [cite],
                    match=TumorMatch.OTHER,
                    patient_level="C",
                )
            ],
        ),
    ]
    return Case(
        patient_id="PT01",
        tumor_sample="PT01-T",
        normal_sample="PT01-N",
        context=PatientContext(
            "PT01", age=58, sex="female", diagnosis="SKCM", diagnosis_name="Cutaneous Melanoma"
        ),
        somatic=[braf],
        germline=[brca],
        pgx=[Diplotype("DPYD", ["*1/*2A"], "Intermediate Metabolizer", 1.0)],
        recommendations=[
            Recommendation(
                "capecitabine",
                "Reduce starting dose by 50%",
                "DPYD",
                "Intermediate Metabolizer",
                "Strong",
                [Citation("CPIC", pmid="29152729")],
                actionable=True,
            )
        ],
        biomarkers=[biomarkers.tmb_biomarker(6, int(tmb_mb * 1e6))],
        therapy_options=opts,
        prescribing=[DrugView("capecitabine", ["current medication"], urgency="alert")],
        versions={"reference build": "GRCh38"},
        generated="2026-12-01T00:00:00+00:00",
    )


def _by_profile(bundle: dict, profile: str) -> list[dict]:
    return [
        e["resource"]
        for e in bundle["entry"]
        if profile in [p.rsplit("/", 1)[-1] for p in e["resource"].get("meta", {}).get("profile", [])]
    ]


def _comp(obs: dict, code: str) -> dict | None:
    return next((c for c in obs.get("component", []) if c["code"]["coding"][0]["code"] == code), None)


def test_bundle_validates_and_follows_the_ig():
    bundle = fhir.build_bundle(make_case())
    fhir.validate(bundle)  # fhir.resources R4B models (R4-compatible for these resources)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    urls = {e["fullUrl"] for e in bundle["entry"]}
    # every reference resolves inside the bundle
    refs = set()

    def walk(x):
        if isinstance(x, dict):
            if set(x) >= {"reference"} and isinstance(x["reference"], str):
                refs.add(x["reference"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(bundle)
    assert refs and refs <= urls
    (report,) = _by_profile(bundle, "genomic-report")
    assert report["code"]["coding"][0]["code"] == "51969-4"
    obs_urls = {e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"}
    assert {r["reference"] for r in report["result"]} == obs_urls

    variants = _by_profile(bundle, "variant")
    assert len(variants) == 2
    braf = next(v for v in variants if _comp(v, "48018-6")["valueCodeableConcept"]["text"] == "BRAF")
    assert braf["code"]["coding"][0]["code"] == "69548-6"
    assert _comp(braf, "48018-6")["valueCodeableConcept"]["coding"][0]["code"] == "HGNC:1097"
    assert _comp(braf, "48004-6")["valueCodeableConcept"]["coding"][0]["code"] == "ENST00000646891:c.1799T>A"
    assert _comp(braf, "48005-3")["valueCodeableConcept"]["coding"][0]["code"] == "p.Val600Glu"
    assert _comp(braf, "81258-6")["valueQuantity"]["value"] == 0.31
    assert _comp(braf, "48002-0")["valueCodeableConcept"]["coding"][0]["code"] == "LA6684-0"
    brca = next(v for v in variants if v is not braf)
    assert _comp(brca, "48002-0")["valueCodeableConcept"]["coding"][0]["code"] == "LA6683-2"
    dx = [
        o
        for o in _by_profile(bundle, "diagnostic-implication")
        if _comp(o, "53037-8")["valueCodeableConcept"].get("coding")
    ]
    assert dx[0]["component"][0]["valueCodeableConcept"]["coding"][0]["code"] == "LA6668-3"  # Pathogenic

    therapies = [
        o
        for o in _by_profile(bundle, "therapeutic-implication")
        if _comp(o, "93044-6") and "AMP" in _comp(o, "93044-6")["valueCodeableConcept"]["text"]
    ]
    levels = {
        _comp(o, "51963-7")["valueCodeableConcept"]["text"]: _comp(o, "93044-6")["valueCodeableConcept"][
            "text"
        ]
        for o in therapies
    }
    assert levels == {
        "dabrafenib + trametinib": "AMP/ASCO/CAP level A",
        "encorafenib + cetuximab": "AMP/ASCO/CAP level C",
    }
    assert all(
        o["derivedFrom"]
        == [{"reference": next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is braf)}]
        for o in therapies
    )

    (geno,) = _by_profile(bundle, "genotype")
    assert (
        geno["code"]["coding"][0]["code"] == "84413-4"
        and geno["valueCodeableConcept"]["text"] == "DPYD *1/*2A"
    )
    med = [o for o in _by_profile(bundle, "therapeutic-implication") if _comp(o, "53040-2")]
    assert _comp(med[0], "51963-7")["valueCodeableConcept"]["text"] == "capecitabine"
    assert med[0]["derivedFrom"][0]["reference"] == next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"] is geno
    )

    (tmb,) = _by_profile(bundle, "molecular-biomarker")
    assert tmb["code"]["coding"][0]["code"] == "94076-7"
    assert "valueQuantity" not in tmb and tmb["dataAbsentReason"]["coding"][0]["code"] == "unsupported"
    assert any("0.33 Mb callable coding territory < 0.8 Mb minimum" in n["text"] for n in tmb["note"])
    assert "TMB: not assessable" in report["conclusion"] and "capecitabine" in report["conclusion"]


def test_assessable_tmb_has_value_and_interpretation():
    case = make_case()
    case.biomarkers = [biomarkers.tmb_biomarker(30, 1_000_000)]
    bundle = fhir.build_bundle(case)
    fhir.validate(bundle)
    (tmb,) = _by_profile(bundle, "molecular-biomarker")
    assert tmb["valueQuantity"] == {
        "value": 30.0,
        "unit": "mutations/megabase",
        "system": "http://unitsofmeasure.org",
        "code": "1/1000000{Base}",
    }
    assert tmb["interpretation"][0]["coding"][0]["code"] == "H"


def test_same_case_same_bytes_and_validation_catches_errors():
    a = json.dumps(fhir.build_bundle(make_case()))
    b = json.dumps(fhir.build_bundle(make_case()))
    assert a == b
    bad = json.loads(a)
    bad["entry"][1]["resource"]["status"] = "not-a-status"
    with pytest.raises(pydantic.ValidationError):
        fhir.validate(bad)


def test_cli_writes_validated_bundle(tmp_path):
    from bedside.commands import fhir as fhir_cmd

    case_json = tmp_path / "case.json"
    case_json.write_text(json.dumps(to_dict(make_case())))
    parser = argparse.ArgumentParser()
    fhir_cmd.add_parser(parser.add_subparsers())
    out = tmp_path / "report.fhir.json"
    args = parser.parse_args(["report-fhir", str(case_json), "--out", str(out)])
    assert args.func(args) == 0
    fhir.validate(json.loads(out.read_text()))
    from bedside.errors import InputError

    case_json.write_text("{}")
    with pytest.raises(InputError):
        args.func(parser.parse_args(["report-fhir", str(case_json), "--out", str(tmp_path / "x.json")]))
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("patient", ["PT01", "PT02", "PT03", "PT04"])
def test_demo_case_records_validate(patient):
    path = ROOT / "results" / patient / "case.json"
    if not path.exists():
        pytest.skip("demo results not built")
    from bedside.report.render import load_case

    bundle = fhir.build_bundle(load_case(path))
    fhir.validate(bundle)
    assert _by_profile(bundle, "genomic-report")
