"""Oncogenicity SOP (Horak et al. 2022): criteria, points, classes, hotspot table, and its use in tiering."""

import pytest

from bedside.knowledge import load_knowledge, tier_findings
from bedside.knowledge.oncogenicity import HOTSPOTS, classify, classify_points, established_changes, load_resources
from bedside.model import ClinVarRecord, Consequence, Finding, Origin, Tier, Variant


def finding(gene, hgvs_p, cons="missense_variant", **kw):
    return Finding(Variant("17", 7673802, "C", "T"), Origin.SOMATIC,
                   consequence=Consequence(gene=gene, hgvs_p=hgvs_p, consequence=cons), **kw)


def codes(onc):
    return {c.split()[0] for c in onc.criteria}


@pytest.mark.parametrize("points,cls", [(10, "Oncogenic"), (11, "Oncogenic"), (9, "Likely Oncogenic"),
                                        (6, "Likely Oncogenic"), (5, "VUS"), (0, "VUS"), (-1, "Likely Benign"),
                                        (-6, "Likely Benign"), (-7, "Benign")])
def test_point_thresholds(points, cls):
    assert classify_points(points) == cls


def test_hotspot_table_is_versioned_and_complete():
    head = HOTSPOTS.read_text().splitlines()[:5]
    assert any("version: cancerhotspots_v2" in h for h in head)
    assert any("ODbL" in h for h in head) and any("29247016" in h for h in head)
    r = load_resources()
    assert len(r.residues) + sum(map(len, r.indels.values())) >= 1100
    tp53 = r.residues[("TP53", 273)]
    assert tp53.samples == 609 and tp53.variants["H"] == 251


def test_tp53_r273h_with_clinvar_is_oncogenic():
    f = finding("TP53", "p.Arg273His", clinvar=ClinVarRecord(clnsig="Pathogenic", stars=3))
    onc = classify(f, population_checked=True)
    assert onc.classification == "Oncogenic" and onc.points == 11
    assert codes(onc) == {"OS1", "OS3", "OM1", "OP4"}
    assert any(c.pmid == "35101336" for c in onc.citations) and any(c.pmid == "29247016" for c in onc.citations)


def test_tp53_r273h_lookup_only_is_likely_oncogenic():
    onc = classify(finding("TP53", "p.Arg273His"))
    assert onc.classification == "Likely Oncogenic" and codes(onc) == {"OS3", "OM1"}


def test_hotspot_tiers_os3_om3_op3():
    assert "OS3" in codes(classify(finding("KRAS", "p.Gly12Asp")))  # 2175 samples, D 757
    assert "OM3" in codes(classify(finding("RET", "p.Met918Thr")))  # 11 samples at M918, T 11
    assert "OP3" in codes(classify(finding("KRAS", "p.Gly12Trp")))  # hotspot residue, W not observed
    assert not {"OS3", "OM3", "OP3"} & codes(classify(finding("KRAS", "p.Lys88Asn")))  # not a hotspot residue
    # in-frame deletion inside an indel hotspot range
    assert "OP3" in codes(classify(finding("KIT", "p.Trp557_Lys558del", cons="inframe_deletion")))


def test_null_variant_in_tumor_suppressor_and_not_in_oncogene():
    ts = classify(finding("TP53", "p.Arg196Ter", cons="stop_gained"))
    assert "OVS1" in codes(ts) and ts.points >= 8
    og = classify(finding("KRAS", "p.Arg149Ter", cons="stop_gained"))
    assert "OVS1" not in codes(og)
    fs = classify(finding("PTEN", "p.Leu70fs", cons="frameshift_variant"), population_checked=True)
    assert fs.classification == "Likely Oncogenic" and {"OVS1", "OP4"} <= codes(fs)


def test_established_change_from_knowledge_base():
    kb = load_knowledge()
    est = established_changes(kb.entries)
    assert ("BRAF", "p.Val600Glu") in est and ("EGFR", "p.Leu858Arg") in est
    onc = classify(finding("BRAF", "p.Val600Glu"), established=est)
    assert onc.classification == "Oncogenic" and "OS1" in codes(onc)


def test_population_frequency_benign_criteria():
    common = classify(finding("TP53", "p.Pro72Arg", population_af=0.4), population_checked=True)
    assert "SBVS1" in codes(common) and common.classification in ("Benign", "Likely Benign")
    assert "SBS1" in codes(classify(finding("ATM", "p.Asp1853Asn", population_af=0.02)))
    syn = classify(finding("BRCA2", "p.Ser455=", cons="synonymous_variant"))
    assert syn.classification == "Likely Benign" and codes(syn) == {"SBP2"}


def test_no_protein_consequence_is_not_classified():
    f = Finding(Variant("1", 1, "A", "G"), Origin.SOMATIC)
    assert classify(f) is None


def test_tiering_uses_oncogenicity_for_iii_and_iv():
    kb = load_knowledge()
    tp53 = finding("TP53", "p.Arg273His", clinvar=ClinVarRecord(clnsig="Pathogenic", stars=2))
    benign = finding("BRCA2", "p.Ser455=", cons="synonymous_variant")
    vus = finding("ATM", "p.Asp1853Val")
    tier_findings([tp53, benign, vus], "LUAD", kb, population_checked=True)
    assert tp53.tier == Tier.III and tp53.oncogenicity.classification == "Oncogenic"
    assert any("oncogenicity Oncogenic" in n for n in tp53.notes)
    assert benign.tier == Tier.IV
    assert vus.tier == Tier.III and vus.oncogenicity.classification == "VUS"


def test_hotspots_under_current_hgnc_symbols():
    """The 2017 table says H3F3A / HIST1H3B; an annotation with the approved symbols gets the same points."""
    old, new = classify(finding("H3F3A", "p.Lys28Met")), classify(finding("H3-3A", "p.Lys28Met"))
    assert "OM3" in codes(old) and codes(new) == codes(old) and new.points == old.points
    assert "OM3" in codes(classify(finding("H3C2", "p.Lys28Met")))
    assert not {"OS3", "OM3", "OP3"} & codes(classify(finding("H3-3B", "p.Lys28Met")))  # not in the table
