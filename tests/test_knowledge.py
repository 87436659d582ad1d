"""Knowledge base: bundled tables, validation at load, OncoTree matching, CIViC import, germline, therapies."""

from pathlib import Path

import pytest

from bedside.errors import KnowledgeError
from bedside.knowledge import (
    COMMON_AF,
    germline_findings,
    load_knowledge,
    therapies,
    tier_findings,
    versions,
)
from bedside.knowledge.civic import import_civic, load_civic_tsv
from bedside.knowledge.kb import DEFAULT_EVIDENCE, REQUIRED_COLUMNS
from bedside.model import ClinVarRecord, Consequence, Finding, Origin, Tier, Variant

DATA = Path(__file__).parent / "data" / "knowledge"
CIVIC = DATA / "01-Nov-2026-ClinicalEvidenceSummaries.tsv"


def finding(gene, hgvs_p, cons="missense_variant", **kw):
    return Finding(Variant("1", 100, "A", "T"), Origin.SOMATIC,
                   consequence=Consequence(gene=gene, hgvs_p=hgvs_p, consequence=cons), **kw)


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


def test_bundled_table_is_versioned_and_every_row_cited(kb):
    head = DEFAULT_EVIDENCE.read_text().splitlines()[:3]
    assert any(h.startswith("# version:") for h in head) and any(h.startswith("# date:") for h in head)
    v = versions(kb)
    assert v["somatic_evidence"].startswith("bedside-somatic-")
    assert v["oncotree"] == "oncotree_2021_11_02" and v["acmg_sf"] == "ACMG_SF_v3.2"
    assert len(kb.entries) >= 20
    for e in kb.entries:
        assert e.evidence.citations and all(c.source for c in e.evidence.citations)
        assert e.evidence.tumor_type in kb.oncotree
    labels_or_pmids = [c for e in kb.entries for c in e.evidence.citations if c.pmid or "label" in c.source]
    assert len(labels_or_pmids) >= len(kb.entries)
    assert len(kb.acmg_genes) == 81


def test_oncotree_relation(kb):
    t = kb.oncotree
    assert t.relation("LUAD", "NSCLC") == "ancestor:NSCLC"
    assert t.relation("SKCM", "MEL") == "ancestor:MEL"
    assert t.relation("IDC", "BRCA") == "ancestor:BRCA"
    assert t.relation("COAD", "COADREAD") == "ancestor:COADREAD"
    assert t.relation("NSCLC", "LUAD") is None  # evidence for a child type does not cover the parent
    assert t.relation("LUAD", "LUAD") == "self"
    assert t.ancestors("LUAD") == ["LUAD", "NSCLC", "LUNG", "TISSUE"]


def _bad_table(tmp_path, **override):
    row = {"id": "X1", "gene": "BRAF", "alteration_type": "protein_change", "alteration": "p.V600E",
           "tumor_type": "MEL", "therapy": "drug", "direction": "sensitivity", "evidence_level": "A",
           "source": "FDA label (test)", "pmid": "25265492", "citation": "c", "date": "2026-11-28"}
    row.update(override)
    p = tmp_path / "bad.tsv"
    p.write_text("# version: test\n" + "\t".join(REQUIRED_COLUMNS) + "\n" +
                 "\t".join(row[c] for c in REQUIRED_COLUMNS) + "\n")
    return p


@pytest.mark.parametrize("override,message", [
    ({"evidence_level": "Z"}, "unknown evidence level 'Z'"),
    ({"alteration": "V600Eeek"}, "malformed HGVS protein change"),
    ({"alteration": "p.Xyz600Glu"}, "malformed HGVS protein change"),
    ({"tumor_type": "NOTACODE"}, "unknown OncoTree code 'NOTACODE'"),
    ({"direction": "maybe"}, "unknown direction"),
    ({"source": ""}, "no source"),
    ({"pmid": "PMID12"}, "malformed PMID"),
    ({"alteration_type": "codon", "alteration": "G1x2"}, "malformed HGVS"),
])
def test_bad_rows_rejected_naming_file_and_row(tmp_path, override, message):
    p = _bad_table(tmp_path, **override)
    with pytest.raises(KnowledgeError) as exc:
        load_knowledge([p])
    text = str(exc.value)
    assert message in text
    assert str(p) in text and "line 3" in text and "record X1" in text


def test_good_custom_table_loads(tmp_path):
    kb = load_knowledge([_bad_table(tmp_path)])
    assert len(kb.entries) == 1 and kb.versions["bad"] == "test"


def test_tier_iv_benign_and_common_and_iii(kb):
    benign = finding("TP53", "p.Pro72Arg", clinvar=ClinVarRecord(clnsig="Benign", stars=2))
    common = finding("TP53", "p.Arg175His", population_af=COMMON_AF)
    rare = finding("TP53", "p.Arg175His", population_af=COMMON_AF / 10)
    conflicting = finding("TP53", "p.Arg175His",
                          clinvar=ClinVarRecord(clnsig="Conflicting_classifications_of_pathogenicity"))
    tier_findings([benign, common, rare, conflicting], "LUAD", kb)
    assert [f.tier for f in (benign, common, rare, conflicting)] == [Tier.IV, Tier.IV, Tier.III, Tier.III]


def test_evidence_beats_population_frequency(kb):
    f = finding("BRAF", "p.Val600Glu", population_af=0.2)
    tier_findings([f], "SKCM", kb)
    assert f.tier == Tier.I


def test_unknown_patient_tumor_type_rejected(kb):
    with pytest.raises(KnowledgeError, match="unknown OncoTree code 'XYZ'"):
        tier_findings([finding("BRAF", "p.Val600Glu")], "XYZ", kb)


def test_therapies_drop_resisted_drugs(kb):
    fs = [finding("EGFR", "p.Leu858Arg"), finding("EGFR", "p.Thr790Met")]
    tier_findings(fs, "LUAD", kb)
    got = therapies(fs)
    # T790M (level B resistance) removes erlotinib/gefitinib; osimertinib stays
    assert "osimertinib" in got and not {"erlotinib", "gefitinib"} & set(got)
    # KRAS codon 12 missense counts for RAS resistance, a synonymous change at codon 12 does not
    syn = finding("KRAS", "p.Gly12=", cons="synonymous_variant")
    tier_findings([syn], "COAD", kb)
    assert syn.tier == Tier.IV and syn.evidence == []


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
    assert res.release == "CIViC 01-Nov-2026"
    cit = next(e for e in ev if e.therapy == "vemurafenib").citations[0]
    assert cit.source == "CIViC" and cit.pmid == "21639808" and cit.url.endswith("/9001")
    assert len(load_civic_tsv(CIVIC)) == 6


def test_civic_beside_curated_table_tiers(tmp_path):
    kb = load_knowledge([DEFAULT_EVIDENCE, CIVIC])
    assert "civic:" + CIVIC.name in kb.versions
    f = finding("BRAF", "p.Val600Glu")
    tier_findings([f], "SKCM", kb)
    assert f.tier == Tier.I and "vemurafenib" in therapies([f])


def test_civic_bad_level_rejected(tmp_path):
    text = CIVIC.read_text().splitlines()
    cols = text[0].split("\t")
    row = text[1].split("\t")
    row[cols.index("evidence_level")] = "Q"
    p = tmp_path / "civic.tsv"
    p.write_text(text[0] + "\n" + "\t".join(row) + "\n")
    with pytest.raises(KnowledgeError, match=r"line 2, record EID9001: unknown evidence level 'Q'"):
        import_civic(p)
