"""Hand-made case records in the shape the case builder fills (therapy options, biomarkers, prescribing).

Shared by the report tests (HTML/JSON, browser, PDF) and benchmarks/report_speed.py. The clinical
content mirrors the demo patients (melanoma BRAF V600E; colorectal on capecitabine with DPYD*2A) and
cites real sources; it is test data, not a knowledge base.
"""

from __future__ import annotations

from bedside.model import (
    Biomarker,
    Case,
    Citation,
    ClinVarRecord,
    Consequence,
    Diplotype,
    DrugModifier,
    DrugView,
    Evidence,
    Finding,
    LabValue,
    Oncogenicity,
    Origin,
    PatientContext,
    QCMetric,
    Recommendation,
    RuleResult,
    TherapyOption,
    Tier,
    TumorMatch,
    Variant,
)

TAFINLAR = Citation("FDA label (Tafinlar)", url="https://www.accessdata.fda.gov/", version="2024-01")
BRAFTOVI = Citation("FDA label (Braftovi)", url="https://www.accessdata.fda.gov/", version="2024-12")
AMP = Citation("AMP/ASCO/CAP 2017", pmid="27993330")
DPYD_CPIC = Citation("CPIC guideline for fluoropyrimidines and DPYD", pmid="29152729", version="2017")

GENES = ["BRAF", "NRAS", "KIT", "EGFR", "KRAS", "DPYD", "CYP2C19", "CYP2C9"]


def assay(tumor: str, normal: str | None, depth_t: float = 85.0, depth_n: float = 42.0) -> dict:
    cov = []
    for i, g in enumerate(GENES):
        cov.append({"gene": g, "role": "tumor", "sample": tumor, "mean_depth": depth_t - 3 * i,
                    "fraction_at_min_depth": 0.98})
        if normal:
            cov.append({"gene": g, "role": "normal", "sample": normal, "mean_depth": depth_n - i,
                        "fraction_at_min_depth": 0.97})
    return {"name": "Bedside demo panel", "kind": "panel", "genes": list(GENES), "callable_mb": 0.33,
            "target_mb": 0.35, "min_depth": 20, "min_vaf": 0.03, "min_alt_reads": 3,
            "variant_classes": ["SNV", "indel"], "coverage": cov}


def tmb_not_assessable() -> Biomarker:
    return Biomarker("TMB", "not_assessable", unit="mut/Mb", count=6, territory_mb=0.33,
                     min_territory_mb=0.8, threshold=10,
                     reason="callable coding territory 0.33 Mb is below the 0.8 Mb minimum",
                     definition="somatic coding SNVs and indels (PASS, VAF >= 0.05) per callable Mb")


def melanoma_case(patient: str = "PT01") -> Case:
    ctx = PatientContext(patient, age=58, sex="male", diagnosis="SKCM", diagnosis_name="Cutaneous Melanoma",
                         medications=["omeprazole", "lisinopril"],
                         labs=[LabValue("creatinine_clearance", 92, "mL/min")], smoking_status="never")
    braf = Finding(
        Variant("chr7", 1000, "A", "T"), Origin.SOMATIC,
        Consequence("BRAF", "ENST00000288602", "missense_variant", "c.1799T>A", "p.Val600Glu", 600),
        tier=Tier.I, vaf=0.42, depth=80, alt_reads=34,
        oncogenicity=Oncogenicity("Oncogenic", 11, ["OS3 (+4): hotspot", "OM3 (+4): functional studies"]))
    nras = Finding(Variant("chr1", 2000, "C", "T"), Origin.SOMATIC,
                   Consequence("NRAS", None, "synonymous_variant", "c.36C>T", "p.Ala12="),
                   tier=Tier.III, vaf=0.12, depth=70)
    brca = Finding(Variant("chr17", 500, "CAG", "C"), Origin.GERMLINE,
                   Consequence("BRCA1", None, "frameshift_variant", "c.68_69del", "p.Glu23fs"),
                   vaf=0.5, clinvar=ClinVarRecord("Pathogenic", "reviewed_by_expert_panel", 3))
    dt = Evidence("BRAF", "p.V600E", "SKCM", "dabrafenib + trametinib", "sensitivity", "A", [TAFINLAR],
                  match=TumorMatch.SAME, patient_level="A",
                  eligibility="unresectable or metastatic melanoma")
    ec = Evidence("BRAF", "p.V600E", "COADREAD", "encorafenib + cetuximab", "sensitivity", "A", [BRAFTOVI],
                  match=TumorMatch.OTHER, patient_level="C", eligibility="after prior therapy")
    options = [
        TherapyOption("dabrafenib + trametinib", "this_tumor_type", "A", ["BRAF p.Val600Glu"], [dt],
                      eligibility="unresectable or metastatic melanoma", preference=1),
        TherapyOption("encorafenib + cetuximab", "other_tumor_type", "C", ["BRAF p.Val600Glu"], [ec],
                      eligibility="metastatic colorectal cancer after prior therapy"),
    ]
    views = [DrugView("dabrafenib", ["recommended therapy"], [], urgency="none",
                      checked=["gene-drug", "drug-drug", "organ-function"], not_available=["drug-lifestyle"]),
             DrugView("omeprazole", ["current medication"], [DrugModifier(
                 "gene-drug", "cpic-cyp2c19-omeprazole", "Initiate standard starting daily dose.", "info",
                 "Optional", "CYP2C19 Intermediate Metabolizer", [Citation("CPIC", pmid="32770672")])],
                 urgency="info", checked=["gene-drug"])]
    return Case(
        patient, ctx, tumor_sample=f"{patient}-T", normal_sample=f"{patient}-N", somatic=[braf, nras],
        germline=[brca],
        pgx=[Diplotype("CYP2C19", ["*1/*2"], "Intermediate Metabolizer", missing_positions=["rs12248560"],
                       phenotypes=["Intermediate Metabolizer"]),
             Diplotype("CYP2C9", ["*1/*1"], "Normal Metabolizer", phenotypes=["Normal Metabolizer"])],
        recommendations=[Recommendation("omeprazole", "Initiate standard starting daily dose.", "CYP2C19",
                                        "Intermediate Metabolizer", "Optional",
                                        [Citation("CPIC", pmid="32770672")], actionable=False),
                         Recommendation("voriconazole", "Initiate therapy with recommended standard of care "
                                        "dosing.", "CYP2C19", "Intermediate Metabolizer", "Moderate",
                                        [Citation("CPIC", pmid="27981572")], actionable=False)],
        rules=[RuleResult("erlotinib-smoking", "drug-lifestyle", "erlotinib", "not_evaluated",
                          "smoking status not recorded")],
        qc=[QCMetric(f"{patient}-T", "mean_depth", 85.0, 30, ">=", True, "mosdepth"),
            QCMetric(f"{patient}-N", "mean_depth", 12.0, 15, ">=", False, "mosdepth")],
        tmb=18.2, callable_mb=0.33,
        versions={"bedside": "0.1.0", "bwa": "0.7.17-r1188", "samtools": "1.16.1", "curated": "2026-11-20"},
        notices=["For research use only."], generated="2026-12-01T10:00:00+00:00",
        biomarkers=[tmb_not_assessable()], therapy_options=options, prescribing=views,
        assay=assay(f"{patient}-T", f"{patient}-N"))


def capecitabine_case(patient: str = "PT03") -> Case:
    ctx = PatientContext(patient, age=71, sex="male", diagnosis="COAD", diagnosis_name="Colon Adenocarcinoma",
                         medications=["capecitabine", "warfarin", "amlodipine"],
                         labs=[LabValue("creatinine_clearance", 45, "mL/min")])
    kras = Finding(Variant("chr12", 3000, "C", "A"), Origin.SOMATIC,
                   Consequence("KRAS", None, "missense_variant", "c.35G>T", "p.Gly12Val", 12),
                   tier=Tier.I, vaf=0.31, depth=90,
                   oncogenicity=Oncogenicity("Oncogenic", 10, ["OS3 (+4): hotspot"]))
    res = Evidence("KRAS", "codon G12", "COADREAD", "cetuximab", "resistance", "A",
                   [Citation("NCCN Colon Cancer", version="2025")], match=TumorMatch.ANCESTOR,
                   patient_level="A")
    dpyd = DrugModifier("gene-drug", "cpic-dpyd-fluoropyrimidine",
                        "Reduce starting dose by 50%, then titrate by toxicity", "dose_decrease", "Strong",
                        "DPYD *1/*2A: Intermediate Metabolizer (activity score 1)", [DPYD_CPIC])
    renal = DrugModifier("organ-function", "capecitabine-renal",
                         "Reduce starting dose to 75% (CrCl 30-50 mL/min)", "dose_decrease", "label",
                         "creatinine clearance 45 mL/min",
                         [Citation("FDA label (Xeloda)", version="2022-12")])
    warf = DrugModifier("drug-drug", "capecitabine-warfarin", "Monitor INR frequently; adjust warfarin",
                        "monitor", "label (boxed warning)", "capecitabine raises warfarin exposure",
                        [Citation("FDA label (Xeloda)", version="2022-12")])
    views = [
        DrugView("capecitabine", ["current medication"], [dpyd, renal], urgency="alert",
                 conflict="DPYD (−50 %) and renal function (75 %) both reduce the starting dose; "
                          "their combination is not curated",
                 checked=["gene-drug", "drug-drug", "organ-function"], not_available=["drug-lifestyle"]),
        DrugView("warfarin", ["current medication"], [warf], urgency="caution",
                 checked=["gene-drug", "drug-drug"]),
        DrugView("cetuximab", ["recommended therapy"], [], urgency="none", checked=["drug-drug"],
                 not_available=["gene-drug: no CPIC guideline"]),
    ]
    return Case(
        patient, ctx, tumor_sample=f"{patient}-T", normal_sample=f"{patient}-N", somatic=[kras],
        pgx=[Diplotype("DPYD", ["*1/*2A"], "Intermediate Metabolizer", activity_score=1.0,
                       phenotypes=["Intermediate Metabolizer"]),
             Diplotype("CYP2C19", ["*1/*17", "*4/*17"], None, status="ambiguous",
                       phenotypes=["Rapid Metabolizer", "Intermediate Metabolizer"])],
        recommendations=[Recommendation("capecitabine", "Reduce starting dose by 50% followed by titration "
                                        "of dose based on toxicity or therapeutic drug monitoring.", "DPYD",
                                        "Intermediate Metabolizer", "Strong", [DPYD_CPIC], actionable=True),
                         Recommendation("clopidogrel", "Avoid standard dose clopidogrel if possible.",
                                        "CYP2C19", "Intermediate Metabolizer", "Moderate",
                                        [Citation("CPIC", pmid="35034351")], actionable=True)],
        qc=[QCMetric(f"{patient}-T", "mean_depth", 90.0, 30, ">=", True, "mosdepth")],
        versions={"bedside": "0.1.0", "clinvar": "20261101", "population": "demo-af 1"},
        notices=["For research use only."], generated="2026-12-01T10:00:00+00:00",
        biomarkers=[Biomarker("TMB", "assessable", value=12.5, unit="mut/Mb", classification="High",
                              ci_low=10.4, ci_high=14.9, threshold=10, territory_mb=1.2, min_territory_mb=0.8,
                              count=15, definition="somatic coding SNVs and indels per callable Mb",
                              citations=[Citation("FDA label (Keytruda)", version="2024")])],
        therapy_options=[TherapyOption("cetuximab", "resistance", "A", ["KRAS p.Gly12Val"], [res])],
        prescribing=views, assay=assay(f"{patient}-T", f"{patient}-N", 90, 45))
