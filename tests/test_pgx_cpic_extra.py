"""CPIC coverage of the therapies added for issue 10 (H11): combination regimens reach the CPIC checks through
their ingredients; UGT1A1-atazanavir, CYP3A5-tacrolimus and G6PD (rasburicase, pegloticase and the other drugs
of the CPIC G6PD guideline) come from CPIC data with their source recorded (bedside/pgx/data/SOURCE.md)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from bedside import knowledge
from bedside.clinical import evaluate, prescribing_view
from bedside.clinical.rules import split_therapy
from bedside.clinical.vocab import load_vocabulary
from bedside.io.clinical import context_from_row
from bedside.model import Diplotype
from bedside.pgx import BUNDLED_GUIDELINES, BUNDLED_PHENOTYPES, call_genes, recommend
from bedside.pgx.cpic import NOT_CURATED, load_guidelines
from bedside.pgx.definitions import load_definitions
from bedside.pgx.phenotype import load_phenotype_table

DPYD_IM = Diplotype(gene="DPYD", diplotypes=["Reference/c.1905+1G>A (*2A)"], phenotype="Intermediate Metabolizer",
                    activity_score=1.0)
BREAKWATER = "encorafenib + cetuximab + fluorouracil + leucovorin + oxaliplatin"


def test_breakwater_regimen_is_in_the_kb_as_its_ingredients():
    kb = knowledge.load_knowledge()
    rows = [e.evidence for e in kb.entries if e.evidence.therapy == BREAKWATER]
    assert rows and {e.gene for e in rows} == {"BRAF"} and {e.tumor_type for e in rows} == {"COADREAD"}
    vocab = load_vocabulary()
    assert [vocab.resolve(p) for p in split_therapy(BREAKWATER)] == [
        "encorafenib", "cetuximab", "fluorouracil", "leucovorin", "oxaliplatin"]
    assert vocab.in_class("fluorouracil", "fluoropyrimidine")


def test_dpyd_intermediate_metabolizer_modifies_the_fluorouracil_of_the_regimen():
    ctx = context_from_row({"patient_id": "BW", "medications": ""})
    recs = recommend([DPYD_IM])
    views = {v.drug: v for v in prescribing_view(ctx, [BREAKWATER], [DPYD_IM], recs,
                                                 evaluate(ctx, [BREAKWATER], [DPYD_IM], recs))}
    assert {"encorafenib", "cetuximab", "fluorouracil", "leucovorin", "oxaliplatin"} <= set(views)
    fu = views["fluorouracil"]
    pgx = [m for m in fu.modifiers if m.category == "gene-drug"]
    assert pgx and "DPYD Intermediate Metabolizer" in pgx[0].reason and pgx[0].effect == "dose_decrease"
    assert fu.urgency == "alert"
    assert not [m for m in views["oxaliplatin"].modifiers if m.category == "gene-drug"]


# ------------------------------------------------------- CPIC data added 2026-12-01 (issue 10 knowledge gaps)
ROOT = Path(__file__).resolve().parents[1]
SHARED_ALLELES = ROOT / "../shared/data/pgx-pharmcat/alleles"
G6PD_PMID = "36049896"  # Gammal RS et al. Clin Pharmacol Ther 2023;113(5):973-985 (pubmed.gov/36049896)
ADDED = ["CPIC_atazanavir_and_UGT1A1.json", "CPIC_tacrolimus_and_CYP3A5.json",
         "CPIC_dapsone_methylene_blue_pegloticase_rasburicase_tafenoquine_toluidine_blue_and_G6PD.json",
         "CPIC_nitrofurantoin_and_G6PD.json", "CPIC_primaquine_and_G6PD.json",
         "CPIC_G6PD_other_drugs_cpic_v1.30.0.json"]
G6PD_PHENOTYPES = {"Normal", "Deficient", "Deficient with CNSHA", "Variable", "Indeterminate"}


def _recs(gene: str, diplotype: str, drug: str, **kw):
    return [r for r in recommend([Diplotype(gene=gene, diplotypes=[diplotype], **kw)]) if r.drug == drug]


@pytest.mark.parametrize("name", ADDED)
def test_added_cpic_files_record_their_source(name):
    data = json.loads((BUNDLED_GUIDELINES / name).read_text())
    prov = data["bedside_provenance"]
    assert prov["repository"] == "https://github.com/PharmGKB/PharmCAT" and re.fullmatch(r"[0-9a-f]{40}", prov["commit"])
    assert prov["path"].startswith("src/main/resources/org/pharmgkb/pharmcat/reporter/guidelines/")
    assert "CC0" in prov["licence"] and prov["curated"] == "2026-12-01" and prov["transform"]
    assert data["citations"] and all(c["pmid"] for c in data["citations"])
    assert not any("implications" in r for r in data["recommendations"])


def test_no_cpic_guideline_is_left_not_curated():
    assert NOT_CURATED == []
    for gene, dip in [("UGT1A1", "*1/*28"), ("CYP3A5", "*1/*1"), ("G6PD", "B (reference)")]:
        recs = recommend([Diplotype(gene=gene, diplotypes=[dip])])
        assert recs and not [r for r in recs if r.classification == "not curated"]


@pytest.mark.parametrize("diplotype,phenotype,actionable,words", [
    ("*28/*28", "UGT1A1 Poor Metabolizer", True, "Consider an alternative agent"),
    ("*1/*28", "UGT1A1 Intermediate Metabolizer", False, "no need to avoid prescribing of atazanavir"),
    ("*1/*1", "UGT1A1 Normal Metabolizer", False, "no need to avoid prescribing of atazanavir"),
])
def test_atazanavir_ugt1a1(diplotype, phenotype, actionable, words):
    """CPIC UGT1A1-atazanavir (Gammal 2016, PMID 26417955): an intermediate metabolizer gets the normal
    metabolizer's advice, so only the poor metabolizer's is actionable."""
    (r,) = _recs("UGT1A1", diplotype, "atazanavir")
    assert r.phenotype == phenotype and r.classification == "Strong" and r.actionable is actionable
    assert words in r.text
    assert r.citations[0].pmid == "26417955" and r.citations[0].source.startswith("CPIC: ")
    assert r.citations[0].version == "guideline v50 (2024-03-25-16-13)"


def test_atazanavir_from_a_vcf_call(tmp_path):
    """The same recommendation from a real named-allele call (PharmCAT's GRCh38 UGT1A1 definition)."""
    if not SHARED_ALLELES.is_dir():
        pytest.skip(f"shared PharmCAT definitions absent ({SHARED_ALLELES})")
    sys.path.insert(0, str(ROOT / "tests"))
    from test_pgx_pharmcat import _gene_vcf

    vcf = _gene_vcf(tmp_path / "u.vcf", SHARED_ALLELES, "UGT1A1", {"rs3064744": "2/2"})
    (d,) = call_genes(vcf, SHARED_ALLELES, genes=["UGT1A1"])["S"]
    assert d.diplotypes == ["*28/*28"] and d.phenotype == "Poor Metabolizer"
    (r,) = [r for r in recommend([d]) if r.drug == "atazanavir"]
    assert r.actionable is True and "alternative agent" in r.text and r.citations[0].pmid == "26417955"


@pytest.mark.parametrize("diplotype,phenotype,actionable,words", [
    ("*1/*1", "CYP3A5 Normal Metabolizer", True, "Increase starting dose 1.5 to 2 times"),
    ("*1/*3", "CYP3A5 Intermediate Metabolizer", True, "Increase starting dose 1.5 to 2 times"),
    ("*3/*3", "CYP3A5 Poor Metabolizer", False, "Initiate therapy with standard recommended dose"),
])
def test_tacrolimus_cyp3a5(diplotype, phenotype, actionable, words):
    """CPIC CYP3A5-tacrolimus (Birdwell 2015, PMID 25801146): CYP3A5 expressers (normal and intermediate
    metabolizers) need a higher starting dose; the normal phenotype is actionable here."""
    (r,) = _recs("CYP3A5", diplotype, "tacrolimus")
    assert r.phenotype == phenotype and r.classification == "Strong" and r.actionable is actionable
    assert r.text.startswith(words) and "therapeutic drug monitoring" in r.text
    assert r.citations[0].pmid == "25801146" and r.citations[0].version == "guideline v38 (2024-03-25-16-13)"


def test_g6pd_phenotype_table_is_cpic_and_calls_hemizygous_as_homozygous():
    t = load_phenotype_table(BUNDLED_PHENOTYPES / "G6PD.json")
    assert t.version == "v1.30.0" and len(t.function) == 187
    assert t.call("A- 202A_376G", "A- 202A_376G").phenotype == "Deficient"  # hemizygous male, class III
    assert t.call("B (reference)", "B (reference)").phenotype == "Normal"
    assert t.call("B (reference)", "A- 202A_376G").phenotype == "Variable"  # heterozygous female
    assert t.call("Mediterranean, Dallas, Panama, Sassari, Cagliari, Birmingham",
                  "B (reference)").phenotype == "Variable"
    assert t.call("Aachen", "Aachen").phenotype == "Deficient with CNSHA"  # class I
    assert t.call("Telti, Kobe", "Telti, Kobe").phenotype is None  # renamed after v1.30.0: not assigned


def test_g6pd_recommendations_cover_every_drug_and_phenotype():
    g6pd = [g for g in load_guidelines(BUNDLED_GUIDELINES) if "G6PD" in g.genes]
    by_drug: dict[str, set[str]] = {}
    for g in g6pd:
        assert G6PD_PMID in g.pmids
        for r in g.recommendations:
            for c in r["relatedChemicals"]:
                by_drug.setdefault(c["name"], set()).add(r["lookupKey"]["G6PD"])
    assert {"rasburicase", "pegloticase", "dapsone", "methylene blue", "primaquine", "tafenoquine",
            "toluidine blue", "nitrofurantoin", "doxorubicin", "sulfamethoxazole / trimethoprim"} <= set(by_drug)
    assert len(by_drug) == 33 and all(p == G6PD_PHENOTYPES for p in by_drug.values())


def _g6pd_vcf(tmp_path: Path, name: str, gt_alt: str, gt_ref: str) -> Path:
    """Every G6PD defining position; the two A- (202A_376G) positions get ``gt_alt``."""
    if not SHARED_ALLELES.is_dir():
        pytest.skip(f"shared PharmCAT definitions absent ({SHARED_ALLELES})")
    sys.path.insert(0, str(ROOT / "tests"))
    from test_pgx_pharmcat import _gene_vcf

    d = load_definitions(SHARED_ALLELES, ["G6PD"])["G6PD"]
    gts = {p.rsid: gt_ref for p in d.positions}
    gts.update({"rs1050828": gt_alt, "rs1050829": gt_alt})  # c.202G>A, c.376A>G
    return _gene_vcf(tmp_path / name, SHARED_ALLELES, "G6PD", gts)


@pytest.mark.parametrize("gt_alt,gt_ref,phenotype,rasburicase", [
    ("1", "0", "Deficient", "Avoid use"),  # hemizygous male (haploid chrX genotypes)
    ("0/1", "0/0", "Variable", "enzyme activity must be measured"),  # heterozygous female
    ("0", "0", "Normal", "No reason to avoid based on G6PD status"),
])
def test_g6pd_from_a_vcf_call(tmp_path, gt_alt, gt_ref, phenotype, rasburicase):
    (d,) = call_genes(_g6pd_vcf(tmp_path, "g.vcf", gt_alt, gt_ref), SHARED_ALLELES, genes=["G6PD"])["S"]
    assert d.phenotype == phenotype and d.status == "called"
    recs = {r.drug: r for r in recommend([d])}
    for drug in ("rasburicase", "pegloticase"):
        r = recs[drug]
        assert r.text.startswith(rasburicase) or rasburicase in r.text
        assert r.actionable is (phenotype != "Normal") and r.citations[0].pmid == G6PD_PMID
        assert r.classification == ("Strong" if phenotype != "Variable" else "Moderate")
    # doxorubicin: CPIC classes it low-to-no risk; no change at standard doses unless CNSHA
    assert recs["doxorubicin"].actionable is False and recs["doxorubicin"].citations[0].pmid == G6PD_PMID


def test_g6pd_outside_call_keyed_by_phenotype():
    """An outside G6PD call (e.g. from an enzyme-activity-confirmed report) is keyed by its phenotype."""
    dip = Diplotype(gene="G6PD", diplotypes=["Aachen/Aachen"], phenotype="Deficient with CNSHA", source="outside")
    recs = {r.drug: r for r in recommend([dip])}
    assert recs["rasburicase"].text.startswith("Avoid use") and recs["rasburicase"].actionable
    dox = recs["doxorubicin"]
    assert dox.text.startswith("Use drug cautiously") and dox.actionable and dox.classification == "Optional"
    assert dox.citations[0].version == "CPIC v1.30.0 (PharmCAT 76bfe08c85fc (2023-08-08))"
    nitro = recs["nitrofurantoin"]
    assert nitro.text.startswith("Avoid") and nitro.citations[0].pmid == G6PD_PMID


def test_rasburicase_g6pd_deficient_reaches_the_prescribing_view():
    ctx = context_from_row({"patient_id": "TLS", "medications": ""})
    dip = Diplotype(gene="G6PD", diplotypes=["A- 202A_376G"], phenotype="Deficient")
    recs = recommend([dip])
    (view,) = [v for v in prescribing_view(ctx, ["rasburicase"], [dip], recs,
                                           evaluate(ctx, ["rasburicase"], [dip], recs)) if v.drug == "rasburicase"]
    (mod,) = [m for m in view.modifiers if m.category == "gene-drug"]
    assert mod.effect == "avoid" and "G6PD Deficient" in mod.reason and mod.citations[0].pmid == G6PD_PMID
