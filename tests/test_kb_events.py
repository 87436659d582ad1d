"""Knowledge rows for the non-small-variant biomarkers (issue 11 item 4): gene fusions, ERBB2 amplification and
MSI-H matched through bedside.knowledge.events against the bundled somatic_evidence.tsv.

Each case builds the caller's event the way the case record does (model.FusionCall / CopyNumberCall / Biomarker)
and checks which curated therapies match, at which AMP level for this patient, and the tier."""

from __future__ import annotations

import pytest

from bedside.knowledge import events, load_knowledge
from bedside.model import Biomarker, CopyNumberCall, FusionCall, Tier


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


def _fusion(gene5: str, gene3: str, partner: str, frame: str = "in-frame", filt: str = "PASS") -> FusionCall:
    return FusionCall(gene5=gene5, gene3=gene3, frame=frame, known_partner=partner, relevant=True, filter=filt,
                      svtype="BND", tumor_pairs=12, tumor_split=8, normal_alt=0)


def _amp(gene: str, basis: str = "purity fit", chrom: str = "chr17") -> CopyNumberCall:
    return CopyNumberCall(gene=gene, call="amplification", chrom=chrom, copy_number=12, basis=basis)


def _msi_h() -> Biomarker:
    return Biomarker(name="MSI", status="assessable", value=34.0, classification="MSI-H")


def _levels(obj) -> dict[str, str]:
    """therapy -> level for this patient (the best one when a therapy matches several rows)."""
    out: dict[str, str] = {}
    for e in obj.evidence:
        if e.patient_level and (e.therapy not in out or e.patient_level < out[e.therapy]):
            out[e.therapy] = e.patient_level
    return out


# (event, OncoTree code, therapies expected at level A for this patient, expected tier)
CASES = [
    pytest.param(lambda: _fusion("EML4", "ALK", "ALK"), "LUAD",
                 {"alectinib", "lorlatinib", "brigatinib", "ceritinib", "crizotinib"}, Tier.I,
                 id="eml4_alk_luad"),
    pytest.param(lambda: _fusion("CD74", "ROS1", "ROS1"), "LUAD", {"crizotinib", "repotrectinib", "entrectinib"},
                 Tier.I, id="cd74_ros1_luad"),
    pytest.param(lambda: _fusion("CCDC6", "RET", "RET"), "THPA", {"selpercatinib", "pralsetinib"}, Tier.I,
                 id="ccdc6_ret_papillary_thyroid"),
    pytest.param(lambda: _fusion("KIF5B", "RET", "RET"), "LUAD", {"selpercatinib", "pralsetinib"}, Tier.I,
                 id="kif5b_ret_luad"),
    pytest.param(lambda: _fusion("ETV6", "NTRK3", "NTRK3"), "HNMASC", {"larotrectinib", "repotrectinib"}, Tier.I,
                 id="etv6_ntrk3_secretory_carcinoma"),
    pytest.param(lambda: _fusion("TPM3", "NTRK1", "NTRK1"), "COAD",
                 {"larotrectinib", "entrectinib", "repotrectinib"}, Tier.I, id="tpm3_ntrk1_colon"),
    pytest.param(lambda: _fusion("FGFR3", "TACC3", "FGFR3"), "BLCA", {"erdafitinib"}, Tier.I,
                 id="fgfr3_tacc3_urothelial"),
    pytest.param(lambda: _amp("ERBB2"), "IDC",
                 {"trastuzumab", "trastuzumab deruxtecan", "pertuzumab + trastuzumab + docetaxel",
                  "ado-trastuzumab emtansine"}, Tier.I, id="erbb2_amp_breast"),
    pytest.param(lambda: _amp("ERBB2"), "STAD",
                 {"trastuzumab + cisplatin + capecitabine", "trastuzumab + cisplatin + fluorouracil"}, Tier.I,
                 id="erbb2_amp_gastric"),
    pytest.param(lambda: _amp("ERBB2"), "GEJ",
                 {"trastuzumab + cisplatin + capecitabine", "trastuzumab + cisplatin + fluorouracil"}, Tier.I,
                 id="erbb2_amp_gej"),
]


@pytest.mark.parametrize("make,code,expected,tier", CASES)
def test_event_matches_the_curated_approvals(kb, make, code, expected, tier):
    ev = make()
    if isinstance(ev, FusionCall):
        events.tier_fusions([ev], code, kb)
    else:
        events.tier_copy_number([ev], code, kb)
    levels = _levels(ev)
    assert {t for t, lv in levels.items() if lv == "A"} >= expected, levels
    assert ev.tier == tier
    for e in ev.evidence:
        assert any(c.pmid for c in e.citations), e.source_id  # every matched row carries its pivotal PMID
        assert any(c.url and c.version for c in e.citations), e.source_id  # and the label version it was curated from


def test_new_rows_carry_two_sources_and_the_label_version(kb):
    new = {"BED-ALK-2", "BED-ALK-3", "BED-ALK-4", "BED-RET-f2", "BED-FGFR3-f1", "BED-ERBB2-amp2",
           "BED-ERBB2-amp3", "BED-ERBB2-amp4", "BED-ERBB2-amp5", "BED-ERBB2-amp6", "BED-MSI-3"}
    rows = {e.evidence.source_id: e.evidence for e in kb.entries if e.evidence.source_id in new}
    assert set(rows) == new
    for rid, e in rows.items():
        assert e.origin == "somatic" and e.eligibility and e.biomarker_type != "small_variant", rid
        pmids = [c.pmid for c in e.citations if c.pmid]
        notes = " ".join(c.note or "" for c in e.citations)
        assert pmids and "confirmed by two independent sources" in notes, rid
        assert all(f"PMID {p} confirmed" in notes for p in pmids), rid
        assert all(c.version and c.url and c.url.endswith("lbl.pdf") for c in e.citations), rid


def test_msi_h_colorectal_gets_pembrolizumab_and_nivolumab_ipilimumab(kb):
    b = _msi_h()
    events.tier_biomarkers([b], "COAD", kb)
    levels = _levels(b)
    assert levels.get("pembrolizumab") == "A"
    assert levels.get("nivolumab + ipilimumab") == "A"
    assert b.tier == Tier.I


def test_msi_h_outside_colorectal_does_not_get_the_colorectal_combination_at_level_a(kb):
    b = _msi_h()
    events.tier_biomarkers([b], "UCEC", kb)
    levels = _levels(b)
    assert levels.get("pembrolizumab") == "A"  # tumor-agnostic label
    assert levels.get("nivolumab + ipilimumab") == "C"  # CRC-only approval: another tumor type
    assert levels.get("nivolumab") == "C"  # CheckMate 142 monotherapy: colorectal only


def test_alk_fusion_outside_lung_is_level_c(kb):
    f = _fusion("EML4", "ALK", "ALK")
    events.tier_fusions([f], "COAD", kb)
    levels = _levels(f)
    assert levels.get("lorlatinib") == "C" and levels.get("brigatinib") == "C"
    assert f.tier == Tier.II


def test_erbb2_amplification_in_gastric_cancer_does_not_get_breast_only_t_dxd_at_level_a(kb):
    c = _amp("ERBB2")
    events.tier_copy_number([c], "STAD", kb)
    assert _levels(c).get("trastuzumab deruxtecan") == "C"


@pytest.mark.parametrize("frame,filt", [("out-of-frame", "PASS"), ("in-frame", "LowQual")])
def test_out_of_frame_or_filtered_fusions_match_no_therapy(kb, frame, filt):
    f = _fusion("EML4", "ALK", "ALK", frame=frame, filt=filt)
    events.tier_fusions([f], "LUAD", kb)
    assert f.evidence == []


def test_log2_only_amplification_is_not_matched(kb):
    c = _amp("ERBB2", basis="log2 thresholds")
    events.tier_copy_number([c], "IDC", kb)
    assert c.evidence == [] and c.tier is None


def test_her2_negative_eligibility_flagged_when_erbb2_is_amplified(kb):
    """PIK3CA therapies labelled for HR+/HER2- breast cancer: with an ERBB2 amplification in the same tumor the
    option carries an eligibility conflict for clinician review; without it, none; HER2-positive options never."""
    from bedside import knowledge
    from bedside.model import Consequence, Finding, Origin, Variant

    def pik3ca() -> Finding:
        return Finding(variant=Variant("chr3", 100, "A", "G"), origin=Origin.SOMATIC,
                       consequence=Consequence(gene="PIK3CA", consequence="missense_variant",
                                               hgvs_p="p.His1047Arg"))

    alone = knowledge.tier_findings([pik3ca()], "IDC", kb)
    opts = {o.therapy: o for o in knowledge.therapy_options(alone)}
    assert "alpelisib + fulvestrant" in opts and "HER2-" in opts["alpelisib + fulvestrant"].eligibility
    assert all(o.eligibility_conflict is None for o in opts.values())

    amp = _amp("ERBB2")
    knowledge.tier_copy_number([amp], "IDC", kb)
    both = knowledge.therapy_options([*knowledge.tier_findings([pik3ca()], "IDC", kb), amp])
    opts = {o.therapy: o for o in both}
    assert "ERBB2 amplification" in (opts["alpelisib + fulvestrant"].eligibility_conflict or "")
    assert opts["trastuzumab"].eligibility_conflict is None  # HER2-positive eligibility: no conflict


# --- issue 11 knowledge gap, bedside-somatic-2026.12.4 ------------------------------------------------------

NEW_2026_12_4 = {"BED-ALK-5", "BED-ROS1-2", "BED-ERBB2-amp7", "BED-ERBB2-amp8", "BED-MSI-4", "BED-MET-amp1"}


def test_2026_12_4_rows_carry_two_sources(kb):
    import csv
    from pathlib import Path

    import bedside.knowledge as bk

    tsv = Path(bk.__file__).parent / "data" / "somatic_evidence.tsv"
    with open(tsv) as fh:
        lines = (ln for ln in fh if not ln.startswith("#"))
        raw = {r["id"]: r for r in csv.DictReader(lines, delimiter="\t")}
    assert "# version: bedside-somatic-2026.12." in tsv.read_text()  # 2026.12.4 or later
    rows = {e.evidence.source_id: e.evidence for e in kb.entries if e.evidence.source_id in NEW_2026_12_4}
    assert set(rows) == NEW_2026_12_4
    for rid, e in rows.items():
        assert e.origin == "somatic" and e.eligibility and e.biomarker_type != "small_variant", rid
        pmids = [c.pmid for c in e.citations if c.pmid]
        note = raw[rid]["note"]  # the provenance note (non-label rows do not carry it into the citation)
        assert len(pmids) == 1 and f"PMID {pmids[0]} confirmed by two independent sources" in note, rid
        assert raw[rid]["curated"] == "2026-12-01" and all(c.date == "2026-12-01" for c in e.citations), rid
        if rid != "BED-MET-amp1":  # label rows: the Drugs@FDA label version they were curated from
            assert all(c.version and c.url and c.url.endswith("lbl.pdf") for c in e.citations), rid


def test_ros1_fusion_outside_lung_is_level_c(kb):
    f = _fusion("FIG", "ROS1", "ROS1")
    events.tier_fusions([f], "IHCH", kb)
    levels = _levels(f)
    assert levels.get("repotrectinib") == "C" and levels.get("crizotinib") == "C"
    assert f.tier == Tier.II


def test_alk_fusion_outside_lung_gives_crizotinib_level_c(kb):
    f = _fusion("EML4", "ALK", "ALK")
    events.tier_fusions([f], "COAD", kb)
    assert _levels(f).get("crizotinib") == "C"


def test_erbb2_amplification_outside_breast_gives_the_breast_regimens_level_c(kb):
    c = _amp("ERBB2")
    events.tier_copy_number([c], "STAD", kb)
    levels = _levels(c)
    assert levels.get("pertuzumab + trastuzumab + docetaxel") == "C"
    assert levels.get("ado-trastuzumab emtansine") == "C"
    assert c.tier == Tier.I  # ToGA regimens stay level A in gastric cancer


def test_msi_h_gets_tumor_agnostic_dostarlimab_except_in_excluded_types(kb):
    b = _msi_h()
    events.tier_biomarkers([b], "COAD", kb)
    assert _levels(b).get("dostarlimab") == "A"
    dostarlimab = [e for e in b.evidence if e.therapy == "dostarlimab"]
    assert dostarlimab and "confirm dMMR" in dostarlimab[0].eligibility  # label selects by MMR IHC
    aml = _msi_h()
    events.tier_biomarkers([aml], "AML", kb)
    assert "dostarlimab" not in {t for t, lv in _levels(aml).items() if lv in ("A", "B")}


@pytest.mark.parametrize("code", ["LUAD", "STAD"])
def test_met_amplification_is_never_above_level_c(kb, code):
    """No FDA label names MET amplification: crizotinib (phase 1 NCT00585195, MET-amplified cohort) is level C
    in NSCLC and stays level C elsewhere; the event is tier II, never tier I."""
    c = _amp("MET", chrom="chr7")
    events.tier_copy_number([c], code, kb)
    levels = _levels(c)
    assert levels == {"crizotinib": "C"}
    assert c.tier == Tier.II
    assert [cit.pmid for e in c.evidence for cit in e.citations] == ["33676017"]


def test_met_log2_only_amplification_matches_nothing(kb):
    c = _amp("MET", basis="log2 thresholds", chrom="chr7")
    events.tier_copy_number([c], "LUAD", kb)
    assert c.evidence == [] and c.tier is None


# --- the rows left out of 2026.12.4, bedside-somatic-2026.12.5 ---------------------------------------------

def _pmids(obj, therapy: str) -> set[str]:
    """PMIDs (or the marker) of the rows that give this therapy at level A/B for this patient."""
    return {c.pmid for e in obj.evidence if e.therapy == therapy and e.patient_level in ("A", "B")
            for c in e.citations if c.pmid}


def test_ntrk_fusion_repotrectinib_is_level_a_with_the_pmid_marker(kb):
    """TRIDENT-1's NTRK cohorts are a conference abstract only: the Augtyro label is the source and the PMID field
    says so; solid tumors only (the label's exclusions as for larotrectinib)."""
    from bedside.knowledge.entry import PMID_NOT_VERIFIED

    f = _fusion("ETV6", "NTRK3", "NTRK3")
    events.tier_fusions([f], "HNMASC", kb)
    assert _levels(f)["repotrectinib"] == "A" and _pmids(f, "repotrectinib") == {PMID_NOT_VERIFIED}
    (rep,) = [e for e in f.evidence if e.therapy == "repotrectinib"]
    (c,) = rep.citations
    assert c.url.endswith("/2024/218213s001lbl.pdf") and c.version == "2024-06-13" and "NCT03093116" in c.note
    assert "38197815" not in _pmids(f, "repotrectinib")  # the ROS1 paper is not reused for NTRK
    aml = _fusion("ETV6", "NTRK3", "NTRK3")
    events.tier_fusions([aml], "AML", kb)  # hematologic: excluded, as the label covers solid tumors
    assert "repotrectinib" not in {t for t, lv in _levels(aml).items() if lv in ("A", "B")}


def test_ros1_entrectinib_and_ret_pralsetinib_cite_their_verified_pmids(kb):
    ros1 = _fusion("CD74", "ROS1", "ROS1")
    events.tier_fusions([ros1], "LUAD", kb)
    assert _pmids(ros1, "entrectinib") == {"35663414"}
    ret = _fusion("KIF5B", "RET", "RET")
    events.tier_fusions([ret], "LUAD", kb)
    assert _pmids(ret, "pralsetinib") == {"34118197"}
    thy = _fusion("CCDC6", "RET", "RET")
    events.tier_fusions([thy], "THPA", kb)
    assert _pmids(thy, "pralsetinib") == {"34118198"}
    crc = _fusion("CCDC6", "RET", "RET")
    events.tier_fusions([crc], "COAD", kb)  # no pralsetinib approval in colorectal cancer
    assert _levels(crc)["pralsetinib"] == "C" and crc.tier == Tier.II


def test_msi_h_endometrial_gets_the_dostarlimab_regimens_at_level_a(kb):
    from bedside import knowledge

    b = _msi_h()
    events.tier_biomarkers([b], "UEC", kb)  # uterine endometrioid carcinoma, under UCEC
    levels = _levels(b)
    assert levels["dostarlimab + carboplatin + paclitaxel"] == "A" and levels["dostarlimab"] == "A"
    assert _pmids(b, "dostarlimab + carboplatin + paclitaxel") == {"36972026"}  # RUBY
    assert {"33001143", "35064011"} <= _pmids(b, "dostarlimab")  # GARNET endometrial (+ tumor-agnostic row)
    opts = {o.therapy: o for o in knowledge.therapy_options([b])}
    assert opts["dostarlimab + carboplatin + paclitaxel"].category == "this_tumor_type"
    assert b.tier == Tier.I
    crc = _msi_h()
    events.tier_biomarkers([crc], "COAD", kb)
    assert _levels(crc).get("dostarlimab + carboplatin + paclitaxel") == "C"  # endometrial-only approval


def test_msi_h_colorectal_gets_nivolumab_monotherapy(kb):
    from bedside import knowledge

    b = _msi_h()
    events.tier_biomarkers([b], "COAD", kb)
    assert _levels(b)["nivolumab"] == "A" and _pmids(b, "nivolumab") == {"28734759"}
    here = {o.therapy for o in knowledge.therapy_options([b]) if o.category == "this_tumor_type"}
    assert {"pembrolizumab", "nivolumab + ipilimumab", "nivolumab", "dostarlimab"} <= here


def test_erbb2_amplified_breast_ado_trastuzumab_emtansine_cites_emilia_and_katherine(kb):
    c = _amp("ERBB2")
    events.tier_copy_number([c], "IDC", kb)
    assert _pmids(c, "ado-trastuzumab emtansine") == {"23020162", "30516102"}
    elig = {e.source_id: e.eligibility for e in c.evidence if e.therapy == "ado-trastuzumab emtansine"}
    assert "residual invasive disease" in elig["BED-ERBB2-amp9"]


def _hd(gene: str) -> CopyNumberCall:
    return CopyNumberCall(gene=gene, call="homozygous_deletion", chrom="chr9", copy_number=0, basis="purity fit")


@pytest.mark.parametrize("gene", ["CDKN2A", "CDKN2B"])
@pytest.mark.parametrize("code", ["ASTR", "ASTR3"])
def test_cdkn2a_b_deletion_in_idh_mutant_astrocytoma_is_a_tier_i_prognostic_statement(kb, gene, code):
    """WHO CNS5: CDKN2A/B homozygous deletion makes an IDH-mutant astrocytoma CNS WHO grade 4. A prognostic
    statement at level A (Li et al. 2017) tiers the call I in that tumor type and is never a therapy option."""
    from bedside import knowledge

    c = _hd(gene)
    events.tier_copy_number([c], code, kb)
    (e,) = c.evidence
    assert e.direction == "prognostic" and e.therapy == "" and e.patient_level == "A"
    assert "CNS WHO grade 4" in e.eligibility
    assert {cit.pmid for cit in e.citations} >= {"34185076"} and any("WHO" in cit.source for cit in e.citations)
    assert c.tier == Tier.I
    assert knowledge.therapy_options([c]) == []


@pytest.mark.parametrize("code", ["SKCM", "GB", "LUAD"])
def test_cdkn2a_deletion_outside_idh_mutant_astrocytoma_gets_no_prognostic_statement(kb, code):
    """Melanoma (demo PT01), glioblastoma IDH-wildtype, lung: the WHO CNS5 grading statement says nothing about
    them; the call stays tier III (a known class of driver event without curated evidence), as before."""
    c = _hd("CDKN2A")
    events.tier_copy_number([c], code, kb)
    assert c.evidence == [] and c.tier == Tier.III


def test_prognostic_rows_are_not_therapies(kb):
    assert kb.versions["somatic_evidence"] == "bedside-somatic-2026.12.7"
    assert "" not in kb.therapies()
    prog = [e.evidence for e in kb.entries if e.evidence.direction == "prognostic"]
    assert {e.source_id for e in prog} == {"BED-CDKN2A-p1", "BED-CDKN2B-p1"}
    assert all(e.therapy == "" and e.level == "A" and e.tumor_type == "ASTR" for e in prog)


# --- knowledge 2026.12.6: BRAF fusions in pediatric low-grade glioma (tovorafenib) ------------------------------

@pytest.mark.parametrize("code", ["PAST", "GNG", "LGGNOS", "DLGGMAPK"])
def test_kiaa1549_braf_fusion_in_pediatric_low_grade_glioma_gets_tovorafenib(kb, code):
    """Ojemda: relapsed/refractory pediatric LGG with a BRAF fusion or rearrangement (FIREFLY-1, PMID 37978284);
    DLGGMAPK matches through its OncoTree parent PDIFLG."""
    f = _fusion("KIAA1549", "BRAF", "BRAF")
    events.tier_fusions([f], code, kb)
    assert _levels(f) == {"tovorafenib": "A"} and f.tier == Tier.I
    assert _pmids(f, "tovorafenib") == {"37978284"}


def test_braf_fusion_outside_low_grade_glioma_gives_tovorafenib_level_c(kb):
    for code in ("GB", "SKCM"):  # glioblastoma and melanoma: no BRAF-fusion approval here
        f = _fusion("KIAA1549", "BRAF", "BRAF")
        events.tier_fusions([f], code, kb)
        assert _levels(f) == {"tovorafenib": "C"} and f.tier == Tier.II, code
