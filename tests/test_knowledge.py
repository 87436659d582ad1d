"""Knowledge base: bundled tables, validation at load, OncoTree, tumor-type match and AMP re-grading,
therapy options, CIViC import (library and `bedside knowledge import-civic`), germline."""

import argparse
import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from bedside.errors import InputError, KnowledgeError
from bedside.knowledge import (
    COMMON_AF,
    germline_evidence,
    germline_findings,
    load_knowledge,
    therapies,
    therapy_options,
    tier_findings,
    versions,
)
from bedside.knowledge.civic import import_civic, load_civic_tsv
from bedside.knowledge.entry import PMID_NOT_VERIFIED
from bedside.knowledge.kb import DEFAULT_EVIDENCE, REQUIRED_COLUMNS
from bedside.knowledge.lookup import findings_from_table
from bedside.knowledge.oncotree import DEFAULT_ONCOTREE, load_oncotree
from bedside.model import ClinVarRecord, Consequence, Finding, Origin, Tier, TumorMatch, Variant

DATA = Path(__file__).parent / "data" / "knowledge"
CIVIC = DATA / "01-Nov-2026-ClinicalEvidenceSummaries.tsv"
ONCOTREE_RELEASE = "oncotree_2025_10_03"


def finding(gene, hgvs_p, cons="missense_variant", origin=Origin.SOMATIC, **kw):
    return Finding(Variant("1", 100, "A", "T"), origin,
                   consequence=Consequence(gene=gene, hgvs_p=hgvs_p, consequence=cons), **kw)


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


# ------------------------------------------------------------------------------------------- bundled tables

def _bundled_rows():
    with open(DEFAULT_EVIDENCE, newline="") as fh:
        return list(csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t"))


def test_every_bundled_row_is_sourced_dated_and_cited():
    """No row lacks a source, a curation date, a PMID or guideline; label rows have a revision and a link."""
    rows = _bundled_rows()
    assert len(rows) >= 90
    today = dt.date(2026, 12, 1)
    for r in rows:
        rid = r["id"]
        assert r["source"].strip(), rid
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["curated"]) and dt.date.fromisoformat(r["curated"]) <= today, rid
        assert r["pmid"].strip() or r["guideline"].strip(), rid
        assert r["origin"] in ("somatic", "germline", "either"), rid
        if "FDA label" in r["source"]:
            assert r["eligibility"].strip(), rid
            assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", r["label_revision"]), rid
            # a link to the label itself, never a DailyMed / Drugs@FDA home page
            assert re.match(r"https://www\.accessdata\.fda\.gov/drugsatfda_docs/label/\d{4}/\w+\.pdf$",
                            r["label_url"]) or "setid=" in r["label_url"], (rid, r["label_url"])
            assert r["label_revision"] <= r["curated"], rid
        for p in filter(None, r["pmid"].split(";")):
            # a number, or the explicit marker on a label row whose trial PMID could not be verified offline
            assert p.isdigit() or (p == PMID_NOT_VERIFIED and "FDA label" in r["source"]
                                   and r["pmid"] == p and r["citation"].strip()), rid
        if r["direction"] == "prognostic":
            assert not r["therapy"].strip() and r["eligibility"].strip(), rid  # a statement, never a therapy
        else:
            assert r["therapy"].strip(), rid


def test_bundled_table_header_and_versions(kb):
    head = DEFAULT_EVIDENCE.read_text().splitlines()[:4]
    assert any(h.startswith("# version:") for h in head) and any(h.startswith("# curated:") for h in head)
    v = versions(kb)
    assert v["somatic_evidence"].startswith("bedside-somatic-")
    assert v["oncotree"] == ONCOTREE_RELEASE and v["acmg_sf"] == "ACMG_SF_v3.2"
    assert v["cancerhotspots"] == "cancerhotspots_v2"
    assert len(kb.acmg_genes) == 81
    for e in kb.entries:
        assert e.evidence.citations and all(c.source for c in e.evidence.citations)
        assert e.evidence.tumor_type in kb.oncotree
        assert all(x in kb.oncotree for x in e.evidence.exclusions)


def test_issue_10_approvals_are_covered(kb):
    """The approvals issue 10 lists by name are in the knowledge base (or documented as not curated)."""
    have = {(e.evidence.gene, e.evidence.therapy) for e in kb.entries if e.evidence.direction == "sensitivity"}
    for pair in [("PIK3CA", "capivasertib + fulvestrant"), ("AKT1", "capivasertib + fulvestrant"),
                 ("PTEN", "capivasertib + fulvestrant"), ("ESR1", "elacestrant"),
                 ("EGFR", "osimertinib + pemetrexed + platinum chemotherapy"), ("EGFR", "afatinib"),
                 ("EGFR", "dacomitinib"), ("KRAS", "adagrasib + cetuximab"), ("BRAF", "dabrafenib + trametinib"),
                 ("BRCA1", "olaparib"), ("BRCA2", "rucaparib"), ("BRCA2", "niraparib"), ("ATM", "olaparib"),
                 ("ATM", "talazoparib + enzalutamide"), ("BRCA2", "niraparib + abiraterone acetate"),
                 ("BRAF", "encorafenib + binimetinib"),
                 ("IDH1", "ivosidenib"), ("IDH1", "vorasidenib"), ("IDH2", "enasidenib"), ("FGFR3", "erdafitinib"),
                 ("FGFR2", "pemigatinib"), ("FGFR2", "futibatinib"), ("RET", "selpercatinib"), ("KIT", "imatinib"),
                 ("PDGFRA", "avapritinib"), ("ERBB2", "trastuzumab deruxtecan"), ("MET", "capmatinib"),
                 ("MET", "tepotinib"), ("NTRK1", "larotrectinib"), ("ALK", "alectinib"), ("ROS1", "crizotinib"),
                 ("MSI", "pembrolizumab"), ("TMB", "pembrolizumab"), ("ERBB2", "trastuzumab")]:
        assert pair in have, pair
    docs = (Path(__file__).parents[1] / "docs" / "knowledge.md").read_text()
    for missing in ("amivantamab + lazertinib", "sotorasib + panitumumab", "inavolisib", "olutasidenib",
                    "olaparib + abiraterone", "ripretinib"):
        assert missing in docs  # listed under "not curated" with the reason


def test_tumor_agnostic_rows_and_exclusions(kb):
    agn = [e.evidence for e in kb.entries if e.evidence.tumor_type == "TISSUE"]
    braf = [e for e in agn if e.gene == "BRAF"]
    assert braf and "COADREAD" in braf[0].exclusions
    assert {e.biomarker_type for e in agn} >= {"small_variant", "fusion", "msi", "tmb"}


# ------------------------------------------------------------------------------------------- OncoTree

def test_oncotree_is_complete_and_current():
    t = load_oncotree(DEFAULT_ONCOTREE)
    assert t.release == ONCOTREE_RELEASE and len(t) > 850
    for code in ("THAP", "CHOL", "BLCA", "THME", "GIST", "AML", "IHCH", "ASTR", "GB", "HGSOC"):
        assert code in t, code
    assert t.parents["HGSOC"] == "SOC" and t.ancestors("HGSOC")[:3] == ["HGSOC", "SOC", "OVT"]
    assert t.ancestors("LUAD") == ["LUAD", "NSCLC", "LUNG", "TISSUE"]
    assert t.relation("LUAD", "NSCLC") == "ancestor:NSCLC" and t.relation("NSCLC", "LUAD") is None
    assert "replaced by" in t.unknown_message("MFT") or "revoked" in t.unknown_message("GBM")
    assert "GB" in t.unknown_message("GBM")


def test_unknown_patient_tumor_type_rejected(kb):
    with pytest.raises(KnowledgeError, match="unknown OncoTree code 'XYZ'"):
        tier_findings([finding("BRAF", "p.Val600Glu")], "XYZ", kb)


def test_lookup_unknown_code_names_the_row_and_can_continue(tmp_path):
    p = tmp_path / "in.tsv"
    p.write_text("gene\thgvs_p\ttumor_type\nBRAF\tp.V600E\tSKCM\nKRAS\tp.G12C\tMTC\nEGFR\tp.L858R\tLUAD\n")
    with pytest.raises(InputError) as exc:
        findings_from_table(p)
    assert "line 3" in str(exc.value) and "MTC" in str(exc.value) and str(p) in str(exc.value)
    errors: list[str] = []
    groups = findings_from_table(p, errors=errors)
    assert set(groups) == {"SKCM", "LUAD"} and len(errors) == 1 and "line 3" in errors[0]


# ------------------------------------------------------------------------------------------- table validation

def _table(tmp_path, **override):
    row = {"id": "X1", "gene": "BRAF", "alteration_type": "protein_change", "alteration": "p.V600E",
           "tumor_type": "MEL", "therapy": "drug", "direction": "sensitivity", "evidence_level": "A",
           "source": "Published trial", "pmid": "25265492", "citation": "c", "curated": "2026-11-28"}
    row.update(override)
    cols = list(REQUIRED_COLUMNS) + [c for c in row if c not in REQUIRED_COLUMNS]
    p = tmp_path / "bad.tsv"
    p.write_text("# version: test\n" + "\t".join(cols) + "\n" + "\t".join(row.get(c, "") for c in cols) + "\n")
    return p


@pytest.mark.parametrize("override,message", [
    ({"evidence_level": "Z"}, "unknown evidence level 'Z'"),
    ({"alteration": "V600Eeek"}, "malformed HGVS protein change"),
    ({"alteration": "p.Xyz600Glu"}, "malformed HGVS protein change"),
    ({"tumor_type": "NOTACODE"}, "unknown OncoTree code 'NOTACODE'"),
    ({"tumor_type": "GBM"}, "GB"),  # a code the current release revoked: the message names the new one
    ({"exclusions": "COADREAD,NOPE"}, "exclusions: unknown OncoTree code 'NOPE'"),
    ({"direction": "maybe"}, "unknown direction"),
    ({"source": ""}, "no source"),
    ({"pmid": "PMID12"}, "malformed PMID"),
    ({"pmid": ""}, "neither a PMID nor a guideline"),
    ({"curated": ""}, "no curation date"),
    ({"curated": "28/11/2026"}, "not an ISO date"),
    ({"source": "FDA label (Test)", "label_url": "https://x.org/l.pdf"}, "without label_revision"),
    ({"source": "FDA label (Test)", "label_revision": "2024-01"}, "without a label_url"),
    ({"origin": "tumor"}, "unknown origin"),
    ({"alteration_type": "codon", "alteration": "G1x2"}, "malformed HGVS"),
    ({"alteration_type": "missense_range", "alteration": "50-10"}, "malformed protein range"),
    ({"alteration_type": "truncating_range", "alteration": "exon 11"}, "malformed protein range"),
    ({"biomarker_type": "fusion"}, "needs alteration_type 'other'"),
    # the PMID marker: only on a label row, alone, with the trial named in 'citation'
    ({"pmid": "not verified offline"}, "allowed only on an FDA label row"),
    ({"source": "FDA label (Test)", "label_revision": "2024-01", "label_url": "https://x.org/l.pdf",
      "pmid": "25265492;not verified offline"}, "as its only PMID"),
    ({"source": "FDA label (Test)", "label_revision": "2024-01", "label_url": "https://x.org/l.pdf",
      "pmid": "not verified offline", "citation": ""}, "pivotal trial named in 'citation'"),
    ({"pmid": "unverified"}, "malformed PMID 'unverified'"),
    # a prognostic row offers no therapy and states what it says
    ({"direction": "prognostic", "eligibility": "grade 4"}, "a prognostic row offers no therapy"),
    ({"direction": "prognostic", "therapy": ""}, "needs its statement in 'eligibility'"),
    ({"therapy": ""}, "empty therapy"),
])
def test_bad_rows_rejected_naming_file_and_row(tmp_path, override, message):
    p = _table(tmp_path, **override)
    with pytest.raises(KnowledgeError) as exc:
        load_knowledge([p])
    text = str(exc.value)
    assert message in text
    assert str(p) in text and "line 3" in text and "record X1" in text


def test_good_custom_table_loads_and_legacy_date_column(tmp_path):
    kb = load_knowledge([_table(tmp_path)])
    assert len(kb.entries) == 1 and kb.versions["bad"] == "test"
    legacy = tmp_path / "legacy.tsv"
    legacy.write_text(_table(tmp_path).read_text().replace("\tcurated", "\tdate"))
    assert load_knowledge([legacy]).entries[0].evidence.citations[0].date == "2026-11-28"


# ------------------------------------------------------------------------------------------- match and tiers

def test_pt01_melanoma_braf_v600e_options(kb):
    f = finding("BRAF", "p.Val600Glu")
    tier_findings([f], "SKCM", kb)
    assert f.tier == Tier.I
    opts = therapy_options([f])
    here = {o.therapy: o for o in opts if o.category == "this_tumor_type"}
    other = {o.therapy: o for o in opts if o.category == "other_tumor_type"}
    assert {"dabrafenib + trametinib", "encorafenib + binimetinib", "vemurafenib + cobimetinib"} <= set(here)
    assert all(o.level == "A" for o in here.values())
    # tovorafenib (pediatric low-grade glioma, BRAF V600; knowledge 2026.12.6): an FDA approval in another tumor
    # type is level C for melanoma (Li et al. 2017)
    assert set(other) == {"encorafenib + cetuximab",
                          "encorafenib + cetuximab + fluorouracil + leucovorin + oxaliplatin", "tovorafenib"}
    assert all(o.level == "C" for o in other.values())
    assert here["dabrafenib + trametinib"].preference == 1 and here["vemurafenib"].preference == 2
    assert here["dabrafenib + trametinib"].eligibility
    # the typed match and the re-graded level on every statement; the old string kept for compatibility
    ev = {(e.therapy, e.tumor_type): e for e in f.evidence}
    crc = ev[("encorafenib + cetuximab", "COADREAD")]
    assert crc.match is TumorMatch.OTHER and crc.level == "A" and crc.patient_level == "C"
    assert crc.matched_tumor_type == "other:COADREAD"
    mel = ev[("dabrafenib + trametinib", "MEL")]
    assert mel.match is TumorMatch.ANCESTOR and mel.patient_level == "A" and mel.matched_tumor_type == "ancestor:MEL"
    assert ev[("dabrafenib + trametinib", "TISSUE")].match is TumorMatch.AGNOSTIC


def test_tumor_agnostic_exclusion(kb):
    crc = finding("BRAF", "p.Val600Glu")
    tier_findings([crc], "COAD", kb)
    agn = [e for e in crc.evidence if e.tumor_type == "TISSUE"][0]
    assert agn.match is TumorMatch.EXCLUDED and agn.patient_level is None
    opts = therapy_options([crc])
    assert [o.therapy for o in opts if o.category == "this_tumor_type"] == [
        "encorafenib + cetuximab", "encorafenib + cetuximab + fluorouracil + leucovorin + oxaliplatin"]
    # an excluded agnostic label is not offered back as an other-tumor-type option either
    assert "dabrafenib + trametinib" not in {o.therapy for o in opts}
    paad = finding("BRAF", "p.Val600Glu")
    tier_findings([paad], "PAAD", kb)
    assert paad.tier == Tier.I and therapies([paad]) == ["dabrafenib + trametinib"]
    aml = finding("BRAF", "p.Val600Glu")
    tier_findings([aml], "AML", kb)  # the label is for solid tumors
    assert aml.tier == Tier.II and therapies([aml]) == []


def test_same_biomarker_other_tumor_is_tier_ii_level_c(kb):
    for gene, hp, tumor in [("KRAS", "p.Gly12Cys", "PAAD"), ("EGFR", "p.Leu858Arg", "BRCA"),
                            ("ESR1", "p.Asp538Gly", "UCEC"), ("IDH1", "p.Arg132His", "SKCM")]:
        f = finding(gene, hp)
        tier_findings([f], tumor, kb)
        assert f.tier == Tier.II, (gene, tumor)
        assert {e.patient_level for e in f.evidence} == {"C"}
        assert therapies([f]) == [] and all(o.category == "other_tumor_type" for o in therapy_options([f]))


def test_resistance_flags_options_and_drops_therapies(kb):
    fs = [finding("EGFR", "p.Leu858Arg"), finding("EGFR", "p.Thr790Met")]
    tier_findings(fs, "LUAD", kb)
    got = therapies(fs)
    assert got[0] == "osimertinib" and not {"erlotinib", "gefitinib", "afatinib"} & set(got)
    opts = {(o.category, o.therapy): o for o in therapy_options(fs)}
    assert opts[("this_tumor_type", "erlotinib")].excluded_by_resistance
    assert not opts[("this_tumor_type", "osimertinib")].excluded_by_resistance
    assert opts[("resistance", "erlotinib")].level == "B"
    syn = finding("KRAS", "p.Gly12=", cons="synonymous_variant")
    tier_findings([syn], "COAD", kb)
    assert syn.tier == Tier.IV and syn.evidence == []


def test_origin_of_label_is_respected(kb):
    somatic = finding("BRCA2", "p.Glu1000Ter", cons="stop_gained")
    tier_findings([somatic], "IDC", kb)
    assert therapies([somatic]) == []  # breast PARP-inhibitor labels are for germline BRCA
    germ = finding("BRCA2", "p.Glu1000Ter", cons="stop_gained", origin=Origin.GERMLINE,
                   clinvar=ClinVarRecord(clnsig="Pathogenic", stars=2))
    germline_evidence([germ], "IDC", kb)
    assert germ.tier is None and {"olaparib", "talazoparib"} <= set(therapies([germ]))
    ov = finding("BRCA2", "p.Glu1000Ter", cons="stop_gained")
    tier_findings([ov], "HGSOC", kb)
    assert therapies([ov]) == ["olaparib"]  # SOLO-1 label: germline or somatic; niraparib: germline only


def test_tier_iv_benign_and_common_and_iii(kb):
    benign = finding("TP53", "p.Pro72Arg", clinvar=ClinVarRecord(clnsig="Benign", stars=2))
    common = finding("TP53", "p.Arg175His", population_af=COMMON_AF)
    rare = finding("TP53", "p.Arg175His", population_af=COMMON_AF / 10)
    conflicting = finding("TP53", "p.Arg175His",
                          clinvar=ClinVarRecord(clnsig="Conflicting_classifications_of_pathogenicity"))
    tier_findings([benign, common, rare, conflicting], "LUAD", kb)
    assert [f.tier for f in (benign, common, rare, conflicting)] == [Tier.IV, Tier.IV, Tier.III, Tier.III]
    assert rare.oncogenicity.classification in ("Oncogenic", "Likely Oncogenic")
    assert any("oncogenicity" in n for n in rare.notes)


def test_evidence_beats_population_frequency(kb):
    f = finding("BRAF", "p.Val600Glu", population_af=0.2)
    tier_findings([f], "SKCM", kb)
    assert f.tier == Tier.I


def test_germline_findings_acmg(kb):
    plp = finding("BRCA2", "p.Glu1000Ter", cons="stop_gained",
                  clinvar=ClinVarRecord(clnsig="Pathogenic", stars=2, gene_info="BRCA2:675"))
    zero_star = finding("BRCA1", "p.Gln10Ter", cons="stop_gained",
                        clinvar=ClinVarRecord(clnsig="Pathogenic", stars=0, gene_info="BRCA1:672"))
    not_acmg = finding("DPYD", "p.Asp949Val", clinvar=ClinVarRecord(clnsig="Pathogenic", stars=2))
    lp = finding("MLH1", "p.Arg100Ter", cons="stop_gained",
                 clinvar=ClinVarRecord(clnsig="Likely_pathogenic", stars=1))
    conflicting = finding("TP53", "p.Arg175His",
                          clinvar=ClinVarRecord(clnsig="Conflicting_classifications_of_pathogenicity", stars=1))
    out = germline_findings([plp, zero_star, not_acmg, lp, conflicting], kb)
    assert out == [plp, lp]
    assert any("ACMG_SF_v3.2" in n for n in plp.notes)


# ------------------------------------------------------------------------------------------- CIViC

def test_civic_import_fixture(kb):
    res = import_civic(CIVIC, kb.oncotree)
    ev = [e.evidence for e in res.entries]
    got = {(e.gene, e.alteration, e.tumor_type, e.therapy, e.direction, e.level) for e in ev}
    assert ("BRAF", "p.Val600Glu", "MEL", "vemurafenib", "sensitivity", "A") in got
    assert ("EGFR", "p.Thr790Met", "NSCLC", "gefitinib", "resistance", "B") in got
    assert ("BRAF", "p.Val600Glu", "NSCLC", "dabrafenib + trametinib", "sensitivity", "A") in got
    assert ("EGFR", "Exon 19 Deletion", "LUAD", "erlotinib", "sensitivity", "B") in got  # substitutes split
    assert ("EGFR", "Exon 19 Deletion", "LUAD", "gefitinib", "sensitivity", "B") in got
    assert ("BRAF", "p.Val600Glu", "DOID:3969", "selumetinib", "sensitivity", "C") in got
    assert res.unmapped_diseases == ["Thyroid Gland Papillary Carcinoma (DOID:3969)"]
    assert len(ev) == 6  # prognostic, level E, complex profile, does-not-support and submitted rows skipped
    assert res.release == "CIViC 01-Nov-2026" and res.release_date == "2026-11-01"
    cit = next(e for e in ev if e.therapy == "vemurafenib").citations[0]
    assert cit.source == "CIViC" and cit.pmid == "21639808" and cit.url.endswith("/9001")
    assert {e.origin for e in ev} == {"somatic"}
    assert len(load_civic_tsv(CIVIC)) == 6


def test_civic_beside_curated_table_tiers(kb):
    kb2 = load_knowledge([DEFAULT_EVIDENCE, CIVIC])
    assert "civic:" + CIVIC.name in kb2.versions
    f = finding("BRAF", "p.Val600Glu")
    tier_findings([f], "SKCM", kb2)
    assert f.tier == Tier.I and "vemurafenib" in therapies([f])
    # an unmapped CIViC disease is another tumor type: level C at most
    other = [e for e in f.evidence if e.tumor_type == "DOID:3969"]
    assert other and other[0].match is TumorMatch.OTHER


def test_civic_bad_level_rejected(tmp_path):
    text = CIVIC.read_text().splitlines()
    cols = text[0].split("\t")
    row = text[1].split("\t")
    row[cols.index("evidence_level")] = "Q"
    p = tmp_path / "civic.tsv"
    p.write_text(text[0] + "\n" + "\t".join(row) + "\n")
    with pytest.raises(KnowledgeError, match=r"line 2, record EID9001: unknown evidence level 'Q'"):
        import_civic(p)


def _import_civic_cli(argv):
    from bedside.commands import knowledge

    parser = argparse.ArgumentParser()
    knowledge.add_parser(parser.add_subparsers())
    args = parser.parse_args(["knowledge", "import-civic", *argv])
    return args.func(args)


def test_import_civic_command_writes_a_loadable_curated_table(tmp_path, kb):
    out = tmp_path / "civic_curated.tsv"
    assert _import_civic_cli([str(CIVIC), "--out", str(out), "--curated", "2026-12-01"]) == 0
    text = out.read_text()
    assert "# release: CIViC 01-Nov-2026" in text and "# release_date: 2026-11-01" in text
    assert "# version: CIViC-01-Nov-2026" in text
    kb2 = load_knowledge([out])
    assert kb2.versions["civic_curated"] == "CIViC-01-Nov-2026"
    assert len(kb2.entries) == 5  # the unmapped disease row is left out (a curated row needs an OncoTree code)
    vem = next(e.evidence for e in kb2.entries if e.evidence.therapy == "vemurafenib")
    assert vem.citations[0].pmid == "21639808" and vem.citations[0].date == "2026-12-01"
    f = finding("BRAF", "p.Val600Glu")
    tier_findings([f], "SKCM", kb2)
    assert f.tier == Tier.I


def test_import_civic_command_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        _import_civic_cli([str(tmp_path / "missing.tsv"), "--out", str(tmp_path / "o.tsv")])
    nightly = tmp_path / "nightly-ClinicalEvidenceSummaries.tsv"
    nightly.write_text(CIVIC.read_text())
    with pytest.raises(InputError, match="--release-date"):
        _import_civic_cli([str(nightly), "--out", str(tmp_path / "o.tsv")])
    assert _import_civic_cli([str(nightly), "--out", str(tmp_path / "o.tsv"), "--release-date", "2026-11-30"]) == 0
    assert "# release_date: 2026-11-30" in (tmp_path / "o.tsv").read_text()
    with pytest.raises(InputError, match="not an ISO date"):
        _import_civic_cli([str(nightly), "--out", str(tmp_path / "o.tsv"), "--release-date", "30.11.2026"])


def test_label_rows_without_a_verified_trial_pmid_carry_the_marker(kb):
    """Olutasidenib (Rezlidhia) and repotrectinib for NTRK fusions are FDA-approved indications whose pivotal-trial
    PMID could not be verified offline: the label (revision date + Drugs@FDA PDF) is the source, the trial is
    named, and the PMID field holds the explicit marker, never a number."""
    marked = {e.evidence.source_id: e.evidence for e in kb.entries
              if any(c.pmid == PMID_NOT_VERIFIED for c in e.evidence.citations)}
    # 2026.12.6: sunvozertinib (WU-KONG1 Part B), avutometinib + defactinib (RAMP 201), ivosidenib in MDS;
    # 2026.12.7: sevabertinib (SOHO-01) and ziftomenib (KOMET-001)
    assert set(marked) == {"BED-IDH1-4", "BED-NTRK-5", "BED-NTRK-6", "BED-NTRK-7", "BED-EGFR-x2", "BED-KRAS-5",
                           "BED-KRAS-6", "BED-IDH1-5"} | NEW_2026_12_7_MARKED
    for rid, e in marked.items():
        assert e.level == "A" and e.direction == "sensitivity", rid
        (c,) = e.citations
        # a Drugs@FDA label PDF (Hyrnuo's is the corrected one: 219972s000lblCorrected.pdf)
        assert c.source.startswith("FDA label") and c.version and re.search(r"lbl(Corrected)?\.pdf$", c.url), rid
        assert "pivotal trial:" in c.note, rid
        # the trial, named by what is verified: its NCT number, or (ivosidenib in MDS, whose NCT number no readable
        # source ties to the MDS cohort) its design and size as the FDA approval describes it
        assert "NCT0" in c.note or (rid == "BED-IDH1-5" and "18 adults" in c.note), rid
    olu = marked["BED-IDH1-4"]
    assert olu.citations[0].url.endswith("/2022/215814s000lbl.pdf") and olu.citations[0].version == "2022-12-01"
    assert "NCT02719574" in olu.citations[0].note


def test_olutasidenib_idh1_r132_aml_is_level_a_with_the_marker(kb):
    f = finding("IDH1", "p.Arg132Cys")
    tier_findings([f], "AML", kb)
    assert f.tier == Tier.I
    olu = [e for e in f.evidence if e.therapy == "olutasidenib"]
    assert [e.patient_level for e in olu] == ["A"]
    assert olu[0].citations[0].pmid == PMID_NOT_VERIFIED
    here = {o.therapy: o for o in therapy_options([f]) if o.category == "this_tumor_type"}
    assert {"olutasidenib", "ivosidenib"} <= set(here) and here["olutasidenib"].level == "A"
    other = finding("IDH1", "p.Arg132His")
    tier_findings([other], "CHOL", kb)
    assert {e.therapy: e.patient_level for e in other.evidence}["olutasidenib"] == "C"  # AML-only approval


def test_the_marker_is_shown_where_the_report_shows_the_pmid(kb):
    """report.json, the HTML citation macros, FHIR notes and the look-up text show the marker in the PMID's place."""
    from bedside.knowledge.lookup import _cite as lookup_cite
    from bedside.report import fhir, prepare, render

    e = next(x.evidence for x in kb.entries if x.evidence.source_id == "BED-IDH1-4")
    c = e.citations[0]
    row = prepare.cite(c)
    assert row["pmid"] == PMID_NOT_VERIFIED and row["url"].endswith("215814s000lbl.pdf")
    html = render._env("en").from_string(
        '{% from "sections/_cite.html.j2" import citations, short_cites %}{{ citations(cs) }}|{{ short_cites(cs) }}'
    ).render(cs=[row])
    full, short = html.split("|")
    # the marker is plain text (never link text posing as a PubMed id); the label PDF is linked beside it
    assert f"PMID {PMID_NOT_VERIFIED} · <a href=\"{row['url']}\">" in full and "2102-HEM-101" in full
    assert f">{PMID_NOT_VERIFIED}</a>" not in full
    assert f"PMID {PMID_NOT_VERIFIED}" in short
    assert any(f"PMID {PMID_NOT_VERIFIED}" in n["text"] for n in fhir._cite_notes([c]))
    assert f"PMID:{PMID_NOT_VERIFIED}" in lookup_cite(e)


def test_issue11_gaps_closed_and_what_stays_out(kb):
    """The rows left out in 2026.12.4 for want of a verified PMID: each now verified (and cited with where) or
    carried with the marker; docs/knowledge.md lists only what still stays out, with the reason."""
    def rows(gene: str, therapy: str) -> list:
        return [e.evidence for e in kb.entries if e.evidence.gene == gene and e.evidence.therapy == therapy]

    def pmids(evs) -> set[str]:
        return {c.pmid for e in evs for c in e.citations if c.pmid}

    assert pmids(rows("ROS1", "entrectinib")) == {"35663414"}  # NCI PDQ NSCLC, reference 74
    assert pmids(rows("RET", "pralsetinib")) == {"34118197", "34118198"}  # ARROW NSCLC and thyroid (NCI PDQ)
    assert {e.gene for e in rows("NTRK1", "repotrectinib") + rows("NTRK2", "repotrectinib")
            + rows("NTRK3", "repotrectinib")} == {"NTRK1", "NTRK2", "NTRK3"}
    assert pmids(rows("MSI", "dostarlimab + carboplatin + paclitaxel")) == {"36972026"}  # RUBY
    assert {e.tumor_type for e in rows("MSI", "dostarlimab")} == {"TISSUE", "UCEC"}
    assert pmids(rows("MSI", "nivolumab")) == {"28734759"}  # CheckMate 142 monotherapy
    assert "30516102" in pmids(rows("ERBB2", "ado-trastuzumab emtansine"))  # KATHERINE
    for e in kb.entries:  # every verified PMID names where it was read
        if e.evidence.source_id in NEW_2026_12_5 and e.evidence.source_id not in (
                "BED-IDH1-4", "BED-NTRK-5", "BED-NTRK-6", "BED-NTRK-7"):
            raw = _raw_rows()[e.evidence.source_id]
            for p in raw["pmid"].split(";"):
                assert f"PMID {p} verified" in raw["note"], (e.evidence.source_id, p)
    met_amp = [e.evidence for e in kb.entries
               if e.evidence.gene == "MET" and e.evidence.biomarker_type == "amplification"]
    assert met_amp and {e.level for e in met_amp} == {"C"}  # no FDA MET-amplification indication
    docs = (Path(__file__).parents[1] / "docs" / "knowledge.md").read_text()
    not_curated = docs[docs.index("**Not curated**"):docs.index("Known limits:")]
    for closed in ("| olutasidenib |", "| entrectinib |", "| pralsetinib |", "| repotrectinib |",
                   "| nivolumab monotherapy |", "| ado-trastuzumab emtansine, adjuvant |",
                   "| dostarlimab (± carboplatin + paclitaxel) |", "| any drug | CDKN2A loss"):
        assert closed not in not_curated, closed
    assert "31838015" in not_curated  # entrectinib's 2020 report: one file, not tied by title/DOI, not cited
    assert "not verified offline" in docs and "version `bedside-somatic-2026.12.5`" in docs


NEW_2026_12_5 = {"BED-IDH1-4", "BED-ROS1-3", "BED-RET-f3", "BED-RET-f4", "BED-NTRK-5", "BED-NTRK-6", "BED-NTRK-7",
                 "BED-MSI-5", "BED-MSI-6", "BED-MSI-7", "BED-ERBB2-amp9", "BED-CDKN2A-p1", "BED-CDKN2B-p1"}


def _raw_rows() -> dict[str, dict[str, str]]:
    return {r["id"]: r for r in _bundled_rows()}


# ------------------------------------------------------------------ knowledge 2026.12.6 (issue 10 audit)

NEW_2026_12_6_MARKED = {"BED-EGFR-x2", "BED-KRAS-5", "BED-KRAS-6", "BED-IDH1-5"}


def _new_2026_12_6() -> list[dict[str, str]]:
    prefixes = ("BED-FLT3-", "BED-ABL1-", "BED-EZH2-", "BED-BRAF-g", "BED-VHL-", "BED-EGFR-d")
    ids = {"BED-ESR1-2", "BED-ESR1-3", "BED-ERBB2-3", "BED-ERBB2-4", "BED-EGFR-x2", "BED-KRAS-5", "BED-KRAS-6",
           "BED-IDH1-5"}
    return [r for r in _bundled_rows() if r["id"] in ids or r["id"].startswith(prefixes)]


def test_2026_12_6_rows_are_label_rows_with_moalmanac_versions_and_verified_or_marked_pmids():
    rows = _new_2026_12_6()
    assert len(rows) == 49
    for r in rows:
        rid = r["id"]
        assert r["evidence_level"] == "A" and r["curated"] == "2026-12-01", rid
        assert r["source"].startswith("FDA label (") and r["label_revision"], rid
        assert r["label_url"].startswith("https://www.accessdata.fda.gov/drugsatfda_docs/label/"), rid
        assert "moalmanac-db" in r["note"] and "7815662ba908" in r["note"], rid
        if rid in NEW_2026_12_6_MARKED:
            assert r["pmid"] == PMID_NOT_VERIFIED and "not verified offline" in r["note"], rid
        else:
            for p in r["pmid"].split(";"):  # every PMID names where it was read
                assert f"{p} verified" in r["note"] or f"PMIDs {p} and" in r["note"], (rid, p)


@pytest.mark.parametrize("hgvs_p,matches", [
    ("p.Tyr591_Glu596dup", True),          # classic juxtamembrane ITD
    ("p.Glu611_Phe612insTyrValAspPheArgGluTyr", True),  # TKD1 beta1-sheet integration (<= 630)
    ("p.Asp586_Glu611dup", True),
    ("p.Lys663_Ala664insGluPheGly", False),  # an insertion outside 572-630 is not called an ITD
    ("p.Tyr591_Glu596del", False),         # an in-frame deletion is not an ITD
    ("p.Tyr597fs", False),
])
def test_flt3_itd_is_an_in_frame_insertion_in_residues_572_to_630(kb, hgvs_p, matches):
    cons = "inframe_insertion" if ("ins" in hgvs_p or "dup" in hgvs_p) else (
        "frameshift_variant" if "fs" in hgvs_p else "inframe_deletion")
    f = finding("FLT3", hgvs_p, cons)
    tier_findings([f], "AML", kb)
    here = {e.therapy for e in f.evidence if e.patient_level == "A"}
    assert ("quizartinib + cytarabine + anthracycline chemotherapy" in here) is matches, here
    if matches:
        assert {"midostaurin + cytarabine + daunorubicin", "gilteritinib"} <= here and f.tier == Tier.I


def test_quizartinib_is_for_itd_only_and_midostaurin_gilteritinib_cover_tkd(kb):
    f = finding("FLT3", "p.Asp835His")
    tier_findings([f], "AML", kb)
    here = {o.therapy for o in therapy_options([f]) if o.category == "this_tumor_type"}
    assert here == {"midostaurin + cytarabine + daunorubicin", "gilteritinib"}


@pytest.mark.parametrize("code", ["CCRCC", "HMBL", "PANET"])
def test_germline_vhl_disease_gets_belzutifan_but_a_somatic_vhl_variant_does_not(kb, code):
    """Welireg: VHL disease (germline) with associated RCC, CNS hemangioblastoma or pNET (PMID 34818478); a
    somatic VHL loss, common in sporadic clear-cell RCC, is not VHL disease."""
    g = finding("VHL", "p.Arg161Ter", "stop_gained", origin=Origin.GERMLINE)
    tier_findings([g], code, kb)
    bel = [e for e in g.evidence if e.therapy == "belzutifan"]
    assert bel and {e.origin for e in bel} == {"germline"}
    assert min(e.patient_level for e in bel) == "A" and g.tier == Tier.I  # its own row; the other two are level C
    assert {c.pmid for e in bel for c in e.citations} == {"34818478"}
    s = finding("VHL", "p.Arg161Ter", "stop_gained")  # somatic, tumor-normal run
    tier_findings([s], code, kb)
    assert not [e for e in s.evidence if e.therapy == "belzutifan"]


def test_datopotamab_deruxtecan_covers_egfr_mutated_nsclc_and_is_level_c_elsewhere(kb):
    for hp, cons in (("p.Leu858Arg", "missense_variant"), ("p.Glu746_Ala750del", "inframe_deletion"),
                     ("p.Gly719Ser", "missense_variant"), ("p.Thr790Met", "missense_variant")):
        f = finding("EGFR", hp, cons)
        tier_findings([f], "LUAD", kb)
        dato = [e for e in f.evidence if e.therapy == "datopotamab deruxtecan"]
        assert dato and min(e.patient_level for e in dato) == "A", hp
        assert {c.pmid for e in dato for c in e.citations} == {"39761483", "39250535"}
    f = finding("EGFR", "p.Leu858Arg")
    tier_findings([f], "BRCA", kb)
    assert {e.patient_level for e in f.evidence if e.therapy == "datopotamab deruxtecan"} == {"C"}


def test_abl1_t315i_ponatinib_and_asciminib_follow_their_labels(kb):
    f = finding("ABL1", "p.Thr315Ile")
    tier_findings([f], "CML", kb)
    assert {o.therapy for o in therapy_options([f]) if o.category == "this_tumor_type"} == {"ponatinib", "asciminib"}
    g = finding("ABL1", "p.Thr315Ile")
    tier_findings([g], "BLLBCRABL1", kb)  # Ph+ ALL: ponatinib's label; asciminib is CML-only (level C)
    lv: dict[str, str] = {}
    for e in g.evidence:
        lv[e.therapy] = min(lv.get(e.therapy, "D"), e.patient_level)
    assert lv == {"ponatinib": "A", "asciminib": "C"}


def test_docs_list_the_2026_12_6_rows_and_what_stays_out():
    docs = (Path(__file__).parents[1] / "docs" / "knowledge.md").read_text()
    assert "bedside-somatic-2026.12.6" in docs
    not_curated = docs[docs.index("**Not curated**"):docs.index("Known limits:")]
    # revumenib stays listed for its KMT2A-translocation indication (a fusion); its NPM1 indication and ziftomenib
    # are curated since 2026.12.7
    assert "revumenib" in not_curated and "KMT2A translocation" in not_curated
    for closed in ("| tovorafenib, zongertinib, imlunestrant |",):
        assert closed not in not_curated, closed


# ------------------------------------------------------------------ knowledge 2026.12.7 (the last four not curated)

NEW_2026_12_7_MARKED = {"BED-ERBB2-5", "BED-ERBB2-6", "BED-NPM1-4", "BED-NPM1-5", "BED-NPM1-6"}
NEW_2026_12_7 = NEW_2026_12_7_MARKED | {f"BED-H3-{i}" for i in range(1, 7)} | {"BED-NPM1-1", "BED-NPM1-2",
                                                                              "BED-NPM1-3"}


def test_2026_12_7_rows_are_label_rows_with_moalmanac_versions_and_verified_or_marked_pmids(kb):
    assert kb.versions["somatic_evidence"] == "bedside-somatic-2026.12.7"
    raw = _raw_rows()
    assert NEW_2026_12_7 <= set(raw)
    labels = {"sevabertinib": ("2025-11-19", "/2025/219972s000lblCorrected.pdf"),
              "dordaviprone": ("2025-08-06", "/2025/219876s000lbl.pdf"),
              "revumenib": ("2025-10-24", "/2025/218944s003lbl.pdf"),
              "ziftomenib": ("2025-11-13", "/2025/220305s000lbl.pdf")}
    for rid in NEW_2026_12_7:
        r = raw[rid]
        assert r["evidence_level"] == "A" and r["curated"] == "2026-12-01" and r["origin"] == "somatic", rid
        revision, pdf = labels[r["therapy"]]
        assert r["label_revision"] == revision and r["label_url"].endswith(pdf), rid
        assert r["label_url"].startswith("https://www.accessdata.fda.gov/drugsatfda_docs/label/"), rid
        assert "moalmanac-db" in r["note"] and "7815662ba908" in r["note"], rid
        if rid in NEW_2026_12_7_MARKED:
            assert r["pmid"] == PMID_NOT_VERIFIED and "NCT0" in r["citation"], rid
        else:
            assert f"PMID {r['pmid']} verified" in r["note"], rid
    # the PMIDs read in a source that ties them to the article (never the one OncoKB alone cites)
    assert {raw[f"BED-H3-{i}"]["pmid"] for i in range(1, 7)} == {"38335473"}
    assert {raw[f"BED-NPM1-{i}"]["pmid"] for i in (1, 2, 3)} == {"40332046"}
    assert "41104928" not in raw["BED-ERBB2-5"]["pmid"] and "40997296" not in raw["BED-NPM1-4"]["pmid"]


def test_sevabertinib_uses_the_zongertinib_erbb2_tkd_variant_set(kb):
    raw = _raw_rows()
    assert raw["BED-ERBB2-5"]["alteration"] == raw["BED-ERBB2-3"]["alteration"]
    assert (raw["BED-ERBB2-6"]["alteration_type"], raw["BED-ERBB2-6"]["alteration"]) == ("inframe_insertion",
                                                                                          "770-831")
    for hp, cons in (("p.Leu755Ser", "missense_variant"), ("p.Ala775_Gly776insTyrValMetAla", "inframe_insertion")):
        f = finding("ERBB2", hp, cons)
        tier_findings([f], "LUAD", kb)
        sev = [e for e in f.evidence if e.therapy == "sevabertinib"]
        assert sev and {e.patient_level for e in sev} == {"A"} and f.tier == Tier.I, hp
    f = finding("ERBB2", "p.Leu755Ser")
    tier_findings([f], "BRCA", kb)  # breast: no sevabertinib approval -> level C
    assert {e.patient_level for e in f.evidence if e.therapy == "sevabertinib"} == {"C"}


@pytest.mark.parametrize("gene,hgvs_p", [
    ("H3-3A", "p.Lys28Met"), ("H3-3A", "p.Lys27Met"), ("H3C2", "p.Lys28Met"), ("H3C3", "p.Lys28Met"),
    ("H3F3A", "p.Lys28Met"), ("H3F3A", "p.Lys27Met"), ("HIST1H3B", "p.Lys27Met"), ("HIST1H3C", "p.Lys28Met"),
])
def test_h3_k27m_in_diffuse_midline_glioma_gets_dordaviprone_in_both_numberings(kb, gene, hgvs_p):
    f = finding(gene, hgvs_p)
    tier_findings([f], "DMG", kb)
    dor = [e for e in f.evidence if e.therapy == "dordaviprone"]
    assert dor and {e.patient_level for e in dor} == {"A"} and f.tier == Tier.I
    assert {c.pmid for e in dor for c in e.citations} == {"38335473"}


def test_h3_other_changes_and_other_tumors_do_not_get_dordaviprone_at_level_a(kb):
    for gene, hp in (("H3-3A", "p.Gly35Arg"), ("H3-3A", "p.Lys28Ile"), ("H3-3B", "p.Lys28Met")):
        f = finding(gene, hp)
        tier_findings([f], "DMG", kb)
        assert not [e for e in f.evidence if e.therapy == "dordaviprone"], (gene, hp)
    f = finding("H3-3A", "p.Lys28Met")
    tier_findings([f], "GB", kb)  # glioblastoma, IDH-wildtype: an approval in another tumor type -> level C
    assert {e.patient_level for e in f.evidence if e.therapy == "dordaviprone"} == {"C"} and f.tier == Tier.II


@pytest.mark.parametrize("hgvs_p,cons,matches", [
    ("p.Trp288CysfsTer12", "frameshift_variant", True),      # types A, B and D
    ("p.W288Cfs*12", "frameshift_variant", True),             # 1-letter, as typed
    ("p.(Trp290ArgfsTer10)", "frameshift_variant", True),      # W290Rfs*10, parenthesised
    ("p.Leu287fs", "frameshift_variant", True),
    ("p.Gln283Ter", "stop_gained", True),                     # first codon of exon 11
    ("p.Lys250fs", "frameshift_variant", True),               # exon 9 (224-257)
    ("p.Arg135Ter", "stop_gained", True),                     # exon 5 (118-153)
    ("p.Lys263fs", "frameshift_variant", False),              # exon 10 (258-282): not in the OncoKB reading
    ("p.Glu200Ter", "stop_gained", False),                    # exon 8
    ("p.Trp288Cys", "missense_variant", False),               # a missense change is not truncating
    ("p.Trp288_Gln289insCysLeu", "inframe_insertion", False),  # nor an in-frame insertion
    ("p.Ter295TrpextTer12", "stop_lost", False),
    ("p.?", "splice_acceptor_variant", False),                # no residue: not placed in an exon range
])
def test_susceptible_npm1_mutation_is_a_truncating_change_in_exon_5_9_or_11(kb, hgvs_p, cons, matches):
    f = finding("NPM1", hgvs_p, cons)
    tier_findings([f], "AML", kb)
    here = {e.therapy for e in f.evidence if e.patient_level == "A"}
    assert ({"revumenib", "ziftomenib"} <= here) is matches, (hgvs_p, here)
    if matches:
        assert f.tier == Tier.I


def test_npm1_menin_inhibitors_cite_their_labels_and_are_level_c_outside_aml(kb):
    f = finding("NPM1", "p.Trp288CysfsTer12", "frameshift_variant")
    tier_findings([f], "AMLNPM1", kb)  # AML with mutated NPM1: matched through its OncoTree ancestor AML
    opts = {o.therapy: o for o in therapy_options([f]) if o.category == "this_tumor_type"}
    assert set(opts) == {"revumenib", "ziftomenib"} and f.tier == Tier.I
    cites = {e.therapy: e.citations[0] for e in f.evidence}
    assert cites["revumenib"].pmid == "40332046" and cites["revumenib"].version == "2025-10-24"
    assert cites["ziftomenib"].pmid == PMID_NOT_VERIFIED and "NCT04067336" in cites["ziftomenib"].note
    g = finding("NPM1", "p.Trp288CysfsTer12", "frameshift_variant")
    tier_findings([g], "MDS", kb)
    assert {e.patient_level for e in g.evidence} == {"C"} and g.tier == Tier.II


def test_truncating_range_rows_need_a_residue_range(tmp_path):
    p = _table(tmp_path, gene="NPM1", alteration_type="truncating_range", alteration="283-294", tumor_type="AML")
    kb2 = load_knowledge([p])
    (e,) = kb2.entries
    assert e.span == (283, 294)
    f = finding("NPM1", "p.Trp288CysfsTer12", "frameshift_variant")
    tier_findings([f], "AML", kb2)
    assert [x.therapy for x in f.evidence] == ["drug"]


def test_docs_list_the_2026_12_7_rows_and_what_stays_out():
    docs = (Path(__file__).parents[1] / "docs" / "knowledge.md").read_text()
    assert "bedside-somatic-2026.12.7" in docs and "truncating_range" in docs
    not_curated = docs[docs.index("**Not curated**"):docs.index("Known limits:")]
    for closed in ("| sevabertinib |", "ziftomenib", "| dordaviprone | H3 K27M diffuse midline glioma"):
        assert closed not in not_curated, closed
    # what stays out is named: the NPM1 exon 5 indels and fusions, K27M outside the three genes / by IHC only
    assert "K141_142insLSALSISGK" in not_curated and "H3-3B" in not_curated
