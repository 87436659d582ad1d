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
    pytest.param(lambda: _fusion("CD74", "ROS1", "ROS1"), "LUAD", {"crizotinib", "repotrectinib"}, Tier.I,
                 id="cd74_ros1_luad"),
    pytest.param(lambda: _fusion("CCDC6", "RET", "RET"), "THPA", {"selpercatinib"}, Tier.I,
                 id="ccdc6_ret_papillary_thyroid"),
    pytest.param(lambda: _fusion("KIF5B", "RET", "RET"), "LUAD", {"selpercatinib"}, Tier.I, id="kif5b_ret_luad"),
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
    assert "# version: bedside-somatic-2026.12.4" in tsv.read_text()
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
