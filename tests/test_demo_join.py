"""The clinical join on the demo patients, without reads: truth VCFs -> annotate -> pgx -> case.

Builds each demo patient's case from the generator's truth VCFs (``bedside demo-data --no-reads``) and
the committed clinical table, through the same commands the workflow runs, and checks which cited rules
fire. Also checks that every drug named by a knowledge-base therapy is in the drug vocabulary, and the
germline-evidence join (germline BRCA1 -> PARP inhibitors) on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedside import knowledge
from bedside.cli import main
from bedside.clinical.rules import load_rules, split_therapy
from bedside.clinical.vocab import load_vocabulary
from bedside.demo import generate as gen
from bedside.errors import KnowledgeError
from bedside.model import ClinVarRecord, Consequence, Finding, Origin, Tier, TumorMatch, Variant
from tests.conftest import require_tools

REPO = Path(__file__).resolve().parents[1]
PATIENTS = ("PT01", "PT02", "PT03", "PT04")

# fired rule ids each demo patient must show (the story in src/bedside/demo/patients.py)
EXPECTED_FIRED = {
    "PT02": {"LIFESTYLE-ERLOTINIB-SMOKING", "DDI-ERLOTINIB-STRONG-CYP3A-INHIBITOR"},
    "PT03": {"GENE-DRUG-CPIC-CAPECITABINE", "DDI-CAPECITABINE-WARFARIN", "ORGAN-CAPECITABINE-CRCL"},
    "PT04": {"LIFESTYLE-OLAPARIB-GRAPEFRUIT"},
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("join") / "demo"
    gen.generate(out, gen.DEFAULT_SEED, reads=False)
    return out


@pytest.fixture(scope="module")
def cases(demo: Path, tmp_path_factory) -> dict[str, dict]:
    """case.json of every demo patient, built from truth VCFs and the committed clinical table."""
    require_tools("bcftools", "tabix", "bgzip")
    work = tmp_path_factory.mktemp("cases")
    ref = ["--fasta", str(demo / "reference/genome.fa"), "--gff3", str(demo / "reference/genes.gff3"),
           "--population", str(demo / "resources/population.vcf.gz"),
           "--clinvar", str(demo / "resources/clinvar.vcf.gz")]
    out: dict[str, dict] = {}
    for p in PATIENTS:
        som, germ = work / f"{p}.somatic.vcf.gz", work / f"{p}.germline.vcf.gz"
        assert main(["annotate", "--vcf", str(demo / f"truth/{p}.somatic.vcf.gz"), *ref, "--out", str(som)]) == 0
        assert main(["annotate", "--vcf", str(demo / f"truth/{p}.germline.vcf.gz"), *ref, "--out", str(germ)]) == 0
        ctx, pgx = work / f"{p}.context.json", work / f"{p}.pgx.json"
        assert main(["clinical", "--table", str(REPO / "config/clinical.tsv"), "--patient", p,
                     "--out", str(ctx)]) == 0
        assert main(["pgx", str(demo / f"truth/{p}.germline.vcf.gz"), "--definitions", str(demo / "resources/pgx"),
                     "--sample", f"{p}-N", "--out-json", str(pgx), "--out-tsv", str(work / f"{p}.pgx.tsv")]) == 0
        case = work / f"{p}.case.json"
        assert main(["case", "--patient", p, "--context", str(ctx), "--tumor-sample", f"{p}-T",
                     "--normal-sample", f"{p}-N", "--somatic", str(som), "--germline", str(germ),
                     "--pgx", str(pgx), "--out", str(case)]) == 0
        out[p] = json.loads(case.read_text())
    return out


def _fired(case: dict) -> set[str]:
    return {r["rule_id"] for r in case["rules"] if r["status"] == "fired"}


@pytest.mark.slow
@pytest.mark.parametrize("patient", sorted(EXPECTED_FIRED))
def test_demo_patient_fired_rules(cases, patient):
    fired = _fired(cases[patient])
    assert EXPECTED_FIRED[patient] <= fired, (patient, sorted(fired))
    for r in cases[patient]["rules"]:
        if r["status"] == "fired":
            assert r["action"] and r["citations"], r["rule_id"]


@pytest.mark.slow
def test_demo_details(cases):
    # PT02: EGFR L858R in LUAD -> first-generation TKIs recommended (no T790M), erlotinib rules apply
    pt02 = {r["rule_id"]: r for r in cases["PT02"]["rules"]}
    assert "itraconazole" in pt02["DDI-ERLOTINIB-STRONG-CYP3A-INHIBITOR"]["reason"]
    egfr = next(f for f in cases["PT02"]["somatic"] if f["consequence"]["gene"] == "EGFR")
    assert egfr["tier"] == "I"
    assert {"osimertinib", "erlotinib", "gefitinib"} <= {e["therapy"] for e in egfr["evidence"]}
    # PT03: DPYD *2A heterozygote -> CPIC intermediate metaboliser, capecitabine dose reduced
    pt03 = {r["rule_id"]: r for r in cases["PT03"]["rules"]}
    assert "Intermediate Metabolizer" in pt03["GENE-DRUG-CPIC-CAPECITABINE"]["reason"]
    assert "50%" in pt03["GENE-DRUG-CPIC-CAPECITABINE"]["action"]
    assert "75%" in pt03["ORGAN-CAPECITABINE-CRCL"]["action"]
    # PT04: the germline BRCA1 frameshift stays germline, carries PARP-inhibitor evidence
    brca1 = next(f for f in cases["PT04"]["germline"] if f["consequence"]["gene"] == "BRCA1")
    assert brca1["origin"] == "germline" and brca1["tier"] is None
    assert {"olaparib", "talazoparib"} <= {e["therapy"] for e in brca1["evidence"]}
    assert all(c["pmid"] for e in brca1["evidence"] for c in e["citations"])
    # no therapy of any demo patient falls outside the drug vocabulary
    for p in PATIENTS:
        assert not [r for r in cases[p]["rules"] if r["rule_id"] == "VOCABULARY"], p


@pytest.mark.slow
def test_interaction_rules_do_not_fire_without_their_trigger(cases):
    # PT01 takes omeprazole but none of the PPI-sensitive drugs; PT04 takes no strong CYP3A inhibitor
    assert not {r for r in _fired(cases["PT01"]) if r.startswith(("DDI-", "LIFESTYLE-"))}
    pt04 = {r["rule_id"]: r["status"] for r in cases["PT04"]["rules"]}
    assert pt04["DDI-OLAPARIB-STRONG-CYP3A-INHIBITOR"] == "not_fired"


# --- vocabulary ------------------------------------------------------------------------------------------


def test_every_knowledge_base_drug_is_in_the_vocabulary():
    vocab = load_vocabulary()
    kb = knowledge.load_knowledge()
    missing = sorted({part for e in kb.entries for part in split_therapy(e.evidence.therapy)
                      if vocab.resolve(part) is None})
    assert missing == []
    for _, rules in [load_rules()]:
        assert all(r["drug"] in vocab.drugs for r in rules)


def test_egfr_sensitising_rows_cite_trials():
    kb = knowledge.load_knowledge()
    want = {("erlotinib", "22285168"), ("gefitinib", "19692680")}
    for alteration in ("p.Leu858Arg", "729-761"):
        got = {(e.evidence.therapy, c.pmid) for e in kb.by_gene("EGFR") if e.evidence.alteration == alteration
               and e.evidence.direction == "sensitivity" for c in e.evidence.citations}
        assert want <= got, alteration


# --- germline evidence -----------------------------------------------------------------------------------


def _germ(gene: str, hgvs_p: str, term: str, clnsig: str | None, stars: int = 2) -> Finding:
    return Finding(variant=Variant("chr17", 100, "ACT", "A"), origin=Origin.GERMLINE,
                   consequence=Consequence(gene=gene, consequence=term, hgvs_p=hgvs_p),
                   clinvar=ClinVarRecord(clnsig=clnsig, stars=stars) if clnsig else None)


def _somatic(gene: str, hgvs_p: str, tier: Tier | None = None) -> Finding:
    return Finding(variant=Variant("chr7", 5, "T", "G"), origin=Origin.SOMATIC,
                   consequence=Consequence(gene=gene, consequence="missense_variant", hgvs_p=hgvs_p), tier=tier)


def test_germline_evidence_brca1_breast():
    kb = knowledge.load_knowledge()
    f = _germ("BRCA1", "p.Glu23ValfsTer17", "frameshift_variant", "Pathogenic")
    out = knowledge.germline_evidence([f], "IDC", kb)
    assert out == [f] and f.origin is Origin.GERMLINE and f.tier is None
    in_type = [e for e in f.evidence
               if e.match in (TumorMatch.SAME, TumorMatch.ANCESTOR, TumorMatch.AGNOSTIC)]
    assert {e.therapy for e in in_type} == {"olaparib", "talazoparib"}
    assert all(not e.matched_tumor_type.startswith("other") for e in in_type)
    assert any(n.startswith("germline evidence: ") for n in f.notes)
    assert set(knowledge.therapies([f])) == {"olaparib", "talazoparib"}


def test_germline_evidence_other_tumor_type_is_not_a_therapy():
    kb = knowledge.load_knowledge()
    f = _germ("BRCA1", "p.Glu23ValfsTer17", "frameshift_variant", "Pathogenic")
    knowledge.germline_evidence([f], "LUAD", kb)
    assert f.evidence and all(e.matched_tumor_type.startswith("other:") for e in f.evidence)
    assert knowledge.therapies([f]) == []
    assert not any(n.startswith("germline evidence: ") for n in f.notes)


def test_germline_evidence_skips_benign_and_rejects_bad_input():
    kb = knowledge.load_knowledge()
    benign = _germ("BRCA1", "p.Glu23ValfsTer17", "frameshift_variant", "Benign")
    assert knowledge.germline_evidence([benign], "IDC", kb)[0].evidence == []
    missense_vus = _germ("BRCA1", "p.Ala10Val", "missense_variant", "Uncertain_significance")
    assert knowledge.germline_evidence([missense_vus], "IDC", kb)[0].evidence == []
    with pytest.raises(KnowledgeError, match="unknown OncoTree code"):
        knowledge.germline_evidence([], "NOT_A_CODE", kb)
    with pytest.raises(ValueError, match="somatic"):
        knowledge.germline_evidence([_somatic("EGFR", "p.Leu858Arg")], "LUAD", kb)


def test_therapies_combines_somatic_and_germline():
    kb = knowledge.load_knowledge()
    egfr = knowledge.tier_findings([_somatic("EGFR", "p.Leu858Arg")], "LUAD", kb)[0]
    assert egfr.tier is Tier.I
    t790m = knowledge.tier_findings([_somatic("EGFR", "p.Thr790Met")], "LUAD", kb)[0]
    brca = knowledge.germline_evidence([_germ("BRCA1", "p.Glu23ValfsTer17", "frameshift_variant", "Pathogenic")],
                                       "LUAD", kb)[0]
    assert {"osimertinib", "erlotinib", "gefitinib"} <= set(knowledge.therapies([egfr, brca]))
    # T790M resistance (level B) removes the first-generation TKIs, osimertinib stays
    both = knowledge.therapies([egfr, t790m, brca])
    assert "osimertinib" in both and not {"erlotinib", "gefitinib"} & set(both)
    # an untiered (tier III) somatic finding contributes nothing
    vus = _somatic("EGFR", "p.Ala10Val")
    knowledge.tier_findings([vus], "LUAD", kb)
    assert vus.tier is Tier.III and knowledge.therapies([vus]) == []


@pytest.mark.slow
def test_report_shows_germline_evidence(cases, tmp_path):
    case = tmp_path / "PT04.case.json"
    case.write_text(json.dumps(cases["PT04"]))
    html = tmp_path / "PT04.html"
    assert main(["report", str(case), "--html", str(html)]) == 0
    text = html.read_text()
    germline = text[text.index('<section id="germline">'):]
    germline = germline[:germline.index("</section>")]
    assert "BRCA1" in germline and "talazoparib" in germline and "olaparib" in germline
    assert "30110579" in germline and "28578601" in germline  # EMBRACA, OlympiAD
    assert "Seville orange" in text  # the fired olaparib-grapefruit rule's action (Lynparza label)
