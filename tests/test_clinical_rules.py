"""Label rule sets (bedside/clinical/data): coverage of every drug the knowledge base can recommend, provenance of
every rule and class membership, and the rules curated from current labels (fired / not fired on real contexts)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bedside import knowledge
from bedside.clinical import evaluate
from bedside.clinical.rules import (
    EFFECTS,
    LABEL_CATEGORIES,
    load_label_index,
    load_not_curated,
    load_rules,
    rule_sets,
    split_therapy,
)
from bedside.clinical.vocab import load_sources, load_vocabulary, source_meta
from bedside.errors import KnowledgeError
from bedside.io.clinical import context_from_row

CURATED = "2026-12-01"
# The drugs the knowledge base is expected to recommend (issue 10 item 2: every FDA-approved small-variant
# biomarker therapy). Kept here as a fixture so coverage is checked even when the KB is being extended; the KB
# test below checks whatever the loaded KB actually holds.
EXPECTED_KB_DRUGS = """
erlotinib gefitinib afatinib dacomitinib osimertinib amivantamab lazertinib sotorasib adagrasib cetuximab
panitumumab dabrafenib trametinib vemurafenib cobimetinib encorafenib binimetinib alpelisib capivasertib inavolisib
fulvestrant elacestrant olaparib niraparib rucaparib talazoparib enzalutamide ivosidenib olutasidenib vorasidenib
enasidenib erdafitinib selpercatinib pralsetinib imatinib avapritinib ripretinib capmatinib tepotinib
pembrolizumab larotrectinib entrectinib alectinib lorlatinib crizotinib pemigatinib futibatinib
trastuzumab pemetrexed carboplatin cisplatin
midostaurin gilteritinib quizartinib cytarabine daunorubicin ponatinib asciminib tazemetostat imlunestrant
zongertinib sunvozertinib tovorafenib avutometinib defactinib belzutifan
sevabertinib dordaviprone revumenib ziftomenib
""".split() + ["trastuzumab deruxtecan", "platinum chemotherapy", "anthracycline chemotherapy",
               "datopotamab deruxtecan"]


def _covered(drug: str) -> bool:
    return drug in load_label_index() or drug in load_not_curated()


@pytest.mark.parametrize("drug", EXPECTED_KB_DRUGS)
def test_every_expected_kb_drug_has_rules_or_a_not_curated_entry(drug):
    vocab = load_vocabulary()
    assert vocab.resolve(drug) == drug, f"{drug} not in the drug vocabulary"
    assert _covered(drug), f"{drug}: neither a curated label rule set nor a not-curated entry"


def test_every_therapy_in_the_loaded_knowledge_base_is_covered():
    vocab = load_vocabulary()
    kb = knowledge.load_knowledge()
    therapies = kb.therapies() if hasattr(kb, "therapies") else sorted({e.evidence.therapy for e in kb.entries})
    assert therapies
    missing, unknown = [], []
    for t in therapies:
        for part in split_therapy(t):
            name = vocab.resolve(part)
            if name is None:
                unknown.append(part)
            elif not _covered(name):
                missing.append(name)
    assert not unknown, f"KB therapies not in the drug vocabulary: {sorted(set(unknown))}"
    assert not missing, f"KB drugs with neither rules nor a not-curated entry: {sorted(set(missing))}"


def test_label_index_and_not_curated_are_consistent():
    labels, missing = load_label_index(), load_not_curated()
    vocab = load_vocabulary()
    assert not set(labels) & set(missing), "a drug cannot be both curated and not curated"
    for drug, row in missing.items():
        assert drug in vocab.drugs, drug
        assert row["date"] == CURATED and len(row["reason"]) > 20, drug
    _, rules = load_rules()
    for r in rules:
        assert r["drug"] in labels, f"rule {r['id']}: its drug has no labels: entry naming the label"
        assert labels[r["drug"]]["source"] in r["sources"], r["id"]
    for drug, entry in labels.items():
        assert any(r["drug"] == drug for r in rules) or entry.get("no_rule") or entry.get("manual"), \
            f"{drug}: labels entry without any rule, reviewed category or manual check"


def test_every_rule_is_typed_and_cited():
    _, rules = load_rules()
    sources = load_sources()
    for r in rules:
        assert r.get("section") and r["sources"], r["id"]
        if "lab" in r:
            assert all(t["effect"] in EFFECTS and t["action"] for t in r["lab"]["thresholds"]), r["id"]
            assert r["lab"]["otherwise"] and r["lab"]["method_note"], r["id"]
        else:
            assert r["effect"] in EFFECTS and r["action"], r["id"]
        if r.get("boxed"):
            assert r["category"] == "drug-drug" and "Boxed" in r["section"], r["id"]
        if r.get("contraindicated"):
            assert r["category"] == "drug-drug" and "Contraindications" in r["section"], r["id"]
            assert r["action"].startswith("Contraindicated"), r["id"]
        for key in r["sources"]:
            c = sources[key]
            if c.source.startswith("FDA label"):
                assert c.version and c.date == CURATED and c.url, key


def test_label_sources_link_a_setid_or_say_it_was_not_verified():
    for key, c in load_sources().items():
        if not c.source.startswith("FDA label"):
            continue
        assert c.url.startswith("https://dailymed.nlm.nih.gov/dailymed/"), key
        if "setid=" in c.url:
            assert re.search(r"setid=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", c.url), key
        else:
            assert "not verified" in f"{c.version} {c.note}", f"{key}: DailyMed search URL without saying so"
        assert source_meta()[key].get("short"), key


def test_class_memberships_used_by_rules_exist_and_are_cited():
    vocab = load_vocabulary()
    _, rules = load_rules()
    for r in rules:
        classes = r.get("with_class") or []
        for cls in [classes] if isinstance(classes, str) else classes:
            members = [d for d in vocab.drugs if vocab.in_class(d, cls)]
            assert members, f"{r['id']}: no drug is in class {cls!r}"
            assert all(vocab.class_citation(d, cls) for d in members), cls
        for d in r.get("with_drugs") or []:
            assert d in vocab.drugs, f"{r['id']}: {d} not in the vocabulary"


def test_rule_sets_report_every_category():
    sets = rule_sets("capecitabine")
    assert set(sets) == set(LABEL_CATEGORIES)
    assert sets["drug-drug"] == ("rules", "Xeloda 2025-10")
    assert sets["drug-lifestyle"][0] == "not_curated"
    assert rule_sets("sotorasib")["drug-lifestyle"][0] == "no_rule"
    assert all(state == "not_curated" and "Mekinist" in why for state, why in rule_sets("trametinib").values())


# --- the re-checked rules against the current labels -----------------------------------------------------------


def test_capecitabine_rules_follow_the_current_xeloda_label():
    _, rules = load_rules()
    crcl = next(r for r in rules if r["id"] == "ORGAN-CAPECITABINE-CRCL")
    severe = crcl["lab"]["thresholds"][0]
    assert severe["below"] == 30 and not severe["action"].startswith("Contraindicated")
    assert "no longer lists severe renal impairment as a contraindication" in severe["action"]
    warf = next(r for r in rules if r["id"] == "DDI-CAPECITABINE-WARFARIN")
    assert warf["boxed"] and "VITAMIN K ANTAGONISTS" in warf["action"] and warf["with_class"] == "vitamin K antagonist"
    xeloda = load_sources()["XELODA"]
    assert "e702d84d-7162-4751-bf37-d724cc7e45a5" in xeloda.url
    assert "DPD DEFICIENCY" in xeloda.version and "12/2022" in xeloda.version


def _fired(row: dict, therapies: list[str]) -> dict[str, object]:
    ctx = context_from_row({"patient_id": "T", **row})
    return {r.rule_id: r for r in evaluate(ctx, therapies, [], []) if r.status == "fired"}


@pytest.mark.parametrize("row,therapies,rule,text", [
    # olaparib: moderate inhibitors and inducers, renal dosing (Lynparza)
    ({"medications": "fluconazole"}, ["olaparib"], "DDI-OLAPARIB-MODERATE-CYP3A-INHIBITOR", "moderate CYP3A"),
    ({"medications": "efavirenz"}, ["olaparib"], "DDI-OLAPARIB-CYP3A-INDUCER", "moderate CYP3A inducers"),
    ({"medications": "rifampin"}, ["olaparib"], "DDI-OLAPARIB-CYP3A-INDUCER", "87%"),
    ({"labs": "creatinine_clearance=40 mL/min"}, ["olaparib"], "ORGAN-OLAPARIB-CRCL", "200 mg twice daily"),
    ({"labs": "creatinine_clearance=25 mL/min"}, ["olaparib"], "ORGAN-OLAPARIB-CRCL", "clinician review"),
    ({"labs": "creatinine_clearance=45 mL/min"}, ["capecitabine"], "ORGAN-CAPECITABINE-CRCL", "75%"),
    ({"medications": "rifampin"}, ["gefitinib"], "DDI-GEFITINIB-STRONG-CYP3A-INDUCER", "500 mg"),
    ({"medications": "pantoprazole"}, ["gefitinib"], "DDI-GEFITINIB-PPI", "12 hours"),
    ({"medications": "famotidine"}, ["erlotinib"], "DDI-ERLOTINIB-H2RA", "10 hours"),
    ({"medications": "carbamazepine"}, ["osimertinib"], "DDI-OSIMERTINIB-STRONG-CYP3A-INDUCER", "avoid"),
    ({"medications": "amiodarone"}, ["afatinib"], "DDI-AFATINIB-PGP-INHIBITOR", "10 mg"),
    ({"labs": "egfr=22 mL/min/1.73m2"}, ["afatinib"], "ORGAN-AFATINIB-EGFR", "30 mg once daily"),
    ({"medications": "omeprazole"}, ["sotorasib + panitumumab"], "DDI-SOTORASIB-ACID-REDUCING", "10 hours"),
    ({"medications": "digoxin"}, ["sotorasib"], "DDI-SOTORASIB-PGP-SUBSTRATE", "digoxin"),
    ({"medications": "warfarin"}, ["adagrasib + cetuximab"], "DDI-ADAGRASIB-CYP2C9-SUBSTRATE", "INR"),
    ({"medications": "voriconazole"}, ["adagrasib"], "DDI-ADAGRASIB-STRONG-CYP3A-INHIBITOR", "steady state"),
    ({"medications": "verapamil"}, ["talazoparib"], "DDI-TALAZOPARIB-PGP-INHIBITOR", "0.75 mg"),
    ({"labs": "creatinine_clearance=20 mL/min"}, ["talazoparib"], "ORGAN-TALAZOPARIB-CRCL", "0.5 mg"),
    ({"labs": "creatinine_clearance=45 mL/min"}, ["talazoparib"], "ORGAN-TALAZOPARIB-CRCL", "0.75 mg"),
    ({"medications": "itraconazole"}, ["encorafenib + cetuximab"], "DDI-ENCORAFENIB-STRONG-CYP3A-INHIBITOR",
     "one-third"),
    ({"medications": "diltiazem"}, ["encorafenib + binimetinib"], "DDI-ENCORAFENIB-MODERATE-CYP3A-INHIBITOR",
     "one-half"),
    ({"medications": "erythromycin"}, ["vemurafenib + cobimetinib"], "DDI-COBIMETINIB-MODERATE-CYP3A-INHIBITOR",
     "20 mg"),
    ({"medications": "st john's wort"}, ["vemurafenib + cobimetinib"], "DDI-COBIMETINIB-CYP3A-INDUCER", "80%"),
    ({"medications": "warfarin"}, ["dabrafenib + trametinib"], "DDI-DABRAFENIB-WARFARIN", "INR"),
    ({"medications": "rifampin"}, ["dabrafenib + trametinib"], "DDI-DABRAFENIB-STRONG-CYP3A-INDUCER", "substitute"),
    ({"medications": "phenytoin"}, ["vemurafenib + cobimetinib"], "DDI-VEMURAFENIB-STRONG-CYP3A-INDUCER", "240 mg"),
    ({"medications": "warfarin"}, ["alpelisib + fulvestrant"], "DDI-ALPELISIB-CYP2C9-SUBSTRATE", "S-warfarin"),
    ({"medications": "cyclosporine"}, ["alpelisib + fulvestrant"], "DDI-ALPELISIB-BCRP-INHIBITOR", "monitor"),
    ({"medications": "esomeprazole"}, ["selpercatinib"], "DDI-SELPERCATINIB-PPI", "with food"),
    ({"medications": "famotidine"}, ["selpercatinib"], "DDI-SELPERCATINIB-H2RA", "10 hours after"),
    ({"medications": "fluconazole"}, ["selpercatinib"], "DDI-SELPERCATINIB-CYP3A-INHIBITOR", "reduce"),
    ({"medications": "bosentan"}, ["capmatinib"], "DDI-CAPMATINIB-CYP3A-INDUCER", "moderate"),
    ({"labs": "creatinine_clearance=25 mL/min"}, ["capmatinib"], "ORGAN-CAPMATINIB-CRCL", "not been studied"),
    ({"medications": "rifampin"}, ["lorlatinib"], "DDI-LORLATINIB-STRONG-CYP3A-INDUCER", "hepatotoxicity"),
    ({"medications": "fluconazole"}, ["lorlatinib"], "DDI-LORLATINIB-FLUCONAZOLE", "reduce"),
    ({"medications": "clarithromycin"}, ["larotrectinib"], "DDI-LAROTRECTINIB-STRONG-CYP3A-INHIBITOR", "50%"),
    ({"medications": "st john's wort"}, ["larotrectinib"], "DDI-LAROTRECTINIB-STRONG-CYP3A-INDUCER", "double"),
    ({"diet": "grapefruit juice"}, ["larotrectinib"], "LIFESTYLE-LAROTRECTINIB-GRAPEFRUIT", "grapefruit"),
    ({"medications": "verapamil"}, ["entrectinib"], "DDI-ENTRECTINIB-MODERATE-CYP3A-INHIBITOR", "200 mg"),
    ({"medications": "posaconazole"}, ["entrectinib"], "DDI-ENTRECTINIB-STRONG-CYP3A-INHIBITOR", "100 mg"),
    ({"labs": "creatinine_clearance=22 mL/min"}, ["crizotinib"], "ORGAN-CRIZOTINIB-CRCL", "250 mg once daily"),
])
def test_label_rule_fires_with_its_trigger(row, therapies, rule, text):
    fired = _fired(row, therapies)
    assert rule in fired, sorted(fired)
    assert text in fired[rule].action
    assert fired[rule].citations and all(c.date == CURATED for c in fired[rule].citations
                                         if c.source.startswith("FDA label"))


@pytest.mark.parametrize("row,therapies,rule", [
    ({"medications": "lisinopril"}, ["olaparib"], "DDI-OLAPARIB-MODERATE-CYP3A-INHIBITOR"),
    ({"labs": "creatinine_clearance=80 mL/min"}, ["olaparib"], "ORGAN-OLAPARIB-CRCL"),
    ({"labs": "egfr=45 mL/min/1.73m2"}, ["afatinib"], "ORGAN-AFATINIB-EGFR"),
    ({"medications": "itraconazole"}, ["osimertinib"], "DDI-OSIMERTINIB-STRONG-CYP3A-INDUCER"),
    ({"labs": "creatinine_clearance=70 mL/min"}, ["talazoparib"], "ORGAN-TALAZOPARIB-CRCL"),
])
def test_label_rule_stays_silent_without_its_trigger(row, therapies, rule):
    assert rule not in _fired(row, therapies)


def test_renal_rule_needs_its_own_lab():
    # afatinib's label uses eGFR; a Cockcroft-Gault CrCl is not substituted (and vice versa for olaparib)
    ctx = context_from_row({"patient_id": "T", "labs": "creatinine_clearance=20 mL/min"})
    res = {r.rule_id: r for r in evaluate(ctx, ["afatinib", "olaparib"], [], [])}
    assert res["ORGAN-AFATINIB-EGFR"].status == "not_evaluated" and "egfr not recorded" in res["ORGAN-AFATINIB-EGFR"].reason
    assert res["ORGAN-OLAPARIB-CRCL"].status == "fired"


# --- loader errors -------------------------------------------------------------------------------------------


def _write_rules(tmp_path: Path, rule: dict) -> str:
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump({"version": "x", "rules": [rule]}))
    return str(p)


@pytest.mark.parametrize("patch,msg", [
    ({"effect": "halve"}, "effect must be one of"),
    ({"effect": None}, "effect must be one of"),
    ({"sources": ["NO-SUCH-SOURCE"]}, "sources defined in sources.yaml"),
    ({"drug": "notadrug"}, "not in the drug vocabulary"),
    ({"action": ""}, "no action"),
])
def test_bad_rule_is_rejected_naming_it(tmp_path, patch, msg):
    rule = {"id": "DDI-TEST", "category": "drug-drug", "drug": "olaparib", "with_class": "strong CYP3A inhibitor",
            "effect": "avoid", "action": "x", "sources": ["LYNPARZA"], "section": "7"}
    rule.update(patch)
    with pytest.raises(KnowledgeError, match=msg) as exc:
        load_rules(_write_rules(tmp_path, rule))
    assert "DDI-TEST" in str(exc.value) and "rules.yaml" in str(exc.value)


def test_bad_not_curated_entry_is_rejected(tmp_path):
    p = tmp_path / "nc.yaml"
    p.write_text(yaml.safe_dump({"drugs": [{"drug": "niraparib", "date": "2026-12-01"}]}))
    with pytest.raises(KnowledgeError, match="needs drug, reason and date"):
        load_not_curated(str(p))
