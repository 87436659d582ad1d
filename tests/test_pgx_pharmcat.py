"""PGx as PharmCAT reports it (issue 10 item 6): a sample of PharmCAT's own named-allele tests, ambiguity
kept (every diplotype the data allow, phenotype range), REF alleles checked against the definitions.

The PharmCAT cases (tests/data/pgx/pharmcat/cases.json, transcribed from PharmGKB/PharmCAT's
NamedAlleleMatcher*Test.java, MPL-2.0; see README there) run on PharmCAT's GRCh38 definitions in
../shared/data/pgx-pharmcat and skip when they are absent. The full comparison is
benchmarks/pgx_pharmcat_agreement.py.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from bedside.errors import InputError
from bedside.pgx import call_genes, recommend
from bedside.pgx.definitions import load_definitions

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "../shared/data/pgx-pharmcat"
FIXTURE_DEFS = ROOT / "tests/data/pgx/definitions"
CASES = ROOT / "tests/data/pgx/pharmcat/cases.json"
SAMPLE = [
    "NamedAlleleMatcherCyp2c19Test.s1s1rs12248560missing",  # *1/*1, *1/*17, *17/*17
    "NamedAlleleMatcherCyp2c19Test.s4bs17rs28399504missing#2",  # static VCF, rs3758581 absent
    "NamedAlleleMatcherCyp2c19Test.s15s28",
    "NamedAlleleMatcherCyp2c19Test.sUnks17",  # no pair of named alleles -> no call
    "NamedAlleleMatcherCyp2c19Test.s1s4",  # topCandidateOnly: *1/*4 over *4/*17
    "NamedAlleleMatcherTpmtTest.tpmts3bs3c",  # *1/*3A and *3B/*3C (all candidates, score order)
    "NamedAlleleMatcherUgt1a1Test.ugt1a1s1s28s60s80",  # TA repeat + combination allele names
    "NamedAlleleMatcherSlco1b1Test.slco1b1s5s15",
    "NamedAlleleMatcherCyp3a5Test.s1s7missing",
]


def _bench():
    spec = importlib.util.spec_from_file_location("pgx_pharmcat_agreement",
                                                  ROOT / "benchmarks/pgx_pharmcat_agreement.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _shared():
    if not (SHARED / "alleles").is_dir():
        pytest.skip(f"shared PharmCAT definitions absent ({SHARED})")
    return SHARED / "alleles"


def _vcf(path: Path, rows: list[tuple], samples=("S",)) -> Path:
    lines = ["##fileformat=VCFv4.2", *[f"##contig=<ID={c}>" for c in sorted({r[0] for r in rows})],
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])]
    for chrom, pos, rsid, ref, alt, *gts in sorted(rows, key=lambda r: (r[0], r[1])):
        lines.append("\t".join([chrom, str(pos), rsid, ref, alt, ".", "PASS", ".", "GT", *gts]))
    path.write_text("\n".join(lines) + "\n")
    return path


def _gene_vcf(path: Path, defs_dir: Path, gene: str, gts: dict[str, str], omit=(), ref_override=None) -> Path:
    """Every defining position of ``gene``, GT 0/0 unless given; ``ref_override``: rsid -> REF written."""
    d = load_definitions(defs_dir, [gene])[gene]
    rows = []
    for p in d.positions:
        if p.rsid in omit:
            continue
        ref = (ref_override or {}).get(p.rsid, p.ref)
        rows.append((p.chrom, p.pos, p.rsid or ".", ref, ",".join(p.alts) or ".", gts.get(p.rsid, "0/0")))
    return _vcf(path, rows)


# ---------------------------------------------------------------------------------------- PharmCAT cases
def test_case_file_records_source_and_licence():
    doc = json.loads(CASES.read_text())
    assert "MPL-2.0" in doc["source"] and doc["pharmcat_version"] and len(doc["pharmcat_commit"]) == 40
    assert len(doc["cases"]) >= 60 and all(c["expected"] is not None for c in doc["cases"])
    assert "MPL-2.0" in (CASES.parent / "README.md").read_text()
    assert set(SAMPLE) <= {c["id"] for c in doc["cases"]}


@pytest.mark.parametrize("case_id", SAMPLE)
def test_pharmcat_named_allele_case(case_id: str, tmp_path: Path):
    defs = _shared()
    case = next(c for c in json.loads(CASES.read_text())["cases"] if c["id"] == case_id)
    got = _bench().run_case(case, defs, tmp_path, CASES.parent)
    assert got == case["expected"], (case_id, got)


def test_benchmark_detects_a_disagreement(tmp_path: Path):
    """The comparison can fail: the same genotypes in the other mode give a different answer."""
    defs = _shared()
    case = dict(next(c for c in json.loads(CASES.read_text())["cases"]
                     if c["id"] == "NamedAlleleMatcherCyp2c19Test.s1s1rs12248560missing"))
    case["top_candidate_only"] = True
    assert _bench().run_case(case, defs, tmp_path, CASES.parent) == ["*1/*1"] != case["expected"]


# ------------------------------------------------------------------------------- ambiguity in call_genes
def test_cyp2c19_rs12248560_missing_lists_every_diplotype(tmp_path: Path):
    defs = _shared()
    vcf = _gene_vcf(tmp_path / "v.vcf", defs, "CYP2C19", {"rs3758581": "1/1"}, omit={"rs12248560"})
    (d,) = call_genes(vcf, defs, genes=["CYP2C19"])["S"]
    assert d.diplotypes == ["*1/*1", "*1/*17", "*17/*17"]
    assert d.phenotype == "Indeterminate" and d.status == "indeterminate"
    assert d.phenotypes == ["Normal Metabolizer", "Rapid Metabolizer", "Ultrarapid Metabolizer"]
    assert any("rs12248560" in m for m in d.missing_positions)
    recs = [r for r in recommend([d]) if r.drug == "clopidogrel"]
    assert recs and all("applies if the ambiguous call resolves to" in r.text for r in recs)


def test_same_phenotype_ambiguity_keeps_the_phenotype(tmp_path: Path):
    defs = _shared()
    # SLCO1B1 *5/*14 genotypes also fit *4/*15 at the same score: both listed
    case = next(c for c in json.loads(CASES.read_text())["cases"]
                if c["id"] == "NamedAlleleMatcherSlco1b1Test.slco1b1s5s15")
    vcf = CASES.parent / case["vcf"] if "vcf" in case else _bench().build_vcf(case, defs, tmp_path / "s.vcf")
    (d,) = call_genes(vcf, defs, genes=["SLCO1B1"]).popitem()[1]
    assert len(d.diplotypes) >= 1 and d.status in ("called", "ambiguous", "indeterminate")
    if len(set(d.phenotypes)) == 1:
        assert d.phenotype == d.phenotypes[0] and d.status in ("called", "ambiguous")
    else:
        assert d.phenotype == "Indeterminate" and d.status == "indeterminate"


def test_tpmt_phase_ambiguity_resolved_by_score(tmp_path: Path):
    """Unphased *3A positions: PharmCAT's top score keeps *1/*3A (fully tested alleles, no missing data)."""
    defs = _shared()
    vcf = _gene_vcf(tmp_path / "t.vcf", defs, "TPMT", {"rs1800460": "0/1", "rs1142345": "0/1"})
    (d,) = call_genes(vcf, defs, genes=["TPMT"])["S"]
    assert d.diplotypes == ["*1/*3A"] and d.status == "called" and d.phenotype == "Intermediate Metabolizer"


def test_phased_genotypes_are_used(tmp_path: Path):
    defs = _shared()
    # phased in trans: *3B on one chromosome, *3C on the other
    vcf = _gene_vcf(tmp_path / "p.vcf", defs, "TPMT", {"rs1800460": "1|0", "rs1142345": "0|1"})
    (d,) = call_genes(vcf, defs, genes=["TPMT"])["S"]
    assert d.diplotypes == ["*3B/*3C"] and d.phenotype == "Poor Metabolizer"


def test_half_missing_genotype_is_not_called(tmp_path: Path):
    vcf = _gene_vcf(tmp_path / "h.vcf", FIXTURE_DEFS, "CYP2C19", {"rs3758581": "1/1", "rs4244285": "./1"})
    (d,) = call_genes(vcf, FIXTURE_DEFS, genes=["CYP2C19"])["S"]
    assert d.status == "not_called" and d.diplotypes == [] and any("half-missing" in n for n in d.notes)
    # ./0 is a missing position (as PharmCAT), the gene is still called
    vcf = _gene_vcf(tmp_path / "h0.vcf", FIXTURE_DEFS, "CYP2C19", {"rs3758581": "1/1", "rs4986893": "./0"})
    (d,) = call_genes(vcf, FIXTURE_DEFS, genes=["CYP2C19"])["S"]
    assert d.status != "not_called" and any("rs4986893" in m for m in d.missing_positions)


# -------------------------------------------------------------------------------------- wrong build / REF
def test_wrong_build_dpyd_is_not_called(tmp_path: Path):
    """DPYD c.1905+1G>A het, but two records carry a REF that is not the definition's (e.g. GRCh37
    coordinates read against GRCh38 definitions): DPYD is not called, naming those positions, and no
    fluoropyrimidine recommendation is made; the other gene in the VCF is still called."""
    defs = load_definitions(FIXTURE_DEFS, ["DPYD", "VKORC1"])
    bad_ref = {"rs67376798": "G", "rs55886062": "T"}
    rows = [(p.chrom, p.pos, p.rsid, bad_ref.get(p.rsid, p.ref), ",".join(p.alts),
             "0/1" if p.rsid in ("rs3918290", "rs9923231") else "0/0")
            for d in defs.values() for p in d.positions]
    assert all(bad_ref[r] != p.ref for d in defs.values() for p in d.positions for r in bad_ref if p.rsid == r)
    d_vcf = _vcf(tmp_path / "d.vcf", rows)
    calls = {d.gene: d for d in call_genes(d_vcf, FIXTURE_DEFS, genes=["DPYD", "VKORC1"])["S"]}
    dpyd = calls["DPYD"]
    assert dpyd.status == "not_called" and dpyd.diplotypes == [] and dpyd.activity_score is None
    assert dpyd.phenotype != "Normal Metabolizer"
    assert any("rs67376798" in n and "rs55886062" in n and "REF" in n for n in dpyd.notes), dpyd.notes
    assert not [r for r in recommend(list(calls.values())) if r.drug in ("capecitabine", "fluorouracil")]
    assert calls["VKORC1"].status == "called"


def test_every_ref_mismatched_is_an_input_error(tmp_path: Path):
    d = load_definitions(FIXTURE_DEFS, ["DPYD"])["DPYD"]
    flip = {"A": "G", "C": "T", "G": "A", "T": "C"}
    vcf = _gene_vcf(tmp_path / "b.vcf", FIXTURE_DEFS, "DPYD", {},
                    ref_override={p.rsid: flip[p.ref[0]] + p.ref[1:] for p in d.positions})
    with pytest.raises(InputError, match="REF alleles disagree.*genome build") as exc:
        call_genes(vcf, FIXTURE_DEFS, genes=["DPYD"])
    assert "b.vcf" in str(exc.value) or str(vcf) in str(getattr(exc.value, "path", ""))


def test_undocumented_allele_read_as_reference_for_dpyd(tmp_path: Path):
    """PharmCAT treats undocumented variation as reference for DPYD (and TPMT, NUDT15, G6PD, ...)."""
    p = load_definitions(FIXTURE_DEFS, ["DPYD"])["DPYD"].positions[0]
    other = next(b for b in "ACGT" if b != p.ref and b not in p.alts)
    vcf = _gene_vcf(tmp_path / "u.vcf", FIXTURE_DEFS, "DPYD", {})
    text = vcf.read_text().replace(f"\t{p.pos}\t{p.rsid}\t{p.ref}\t{','.join(p.alts)}\t.\tPASS\t.\tGT\t0/0",
                                   f"\t{p.pos}\t{p.rsid}\t{p.ref}\t{other}\t.\tPASS\t.\tGT\t0/1")
    vcf.write_text(text)
    (d,) = call_genes(vcf, FIXTURE_DEFS, genes=["DPYD"])["S"]
    assert d.status == "called" and d.activity_score == 2.0
    assert any("read as reference" in n for n in d.notes)


# ------------------------------------------------------------------------------------------------- CPIC
def test_tamoxifen_via_outside_cyp2d6_and_normal_not_actionable():
    from bedside.model import Diplotype
    pm = Diplotype(gene="CYP2D6", diplotypes=["*4/*4"], phenotype="Poor Metabolizer", activity_score=0.0,
                   source="outside")
    nm = Diplotype(gene="CYP2D6", diplotypes=["*1/*1"], phenotype="Normal Metabolizer", activity_score=2.0,
                   source="outside")
    (t_pm,) = [r for r in recommend([pm]) if r.drug == "tamoxifen"]
    assert t_pm.actionable and t_pm.classification == "Strong" and "aromatase inhibitor" in t_pm.text
    assert t_pm.citations[0].pmid == "29385237" and t_pm.citations[0].version
    (t_nm,) = [r for r in recommend([nm]) if r.drug == "tamoxifen"]
    assert t_nm.actionable is False


def test_normal_dpyd_recommendation_not_actionable(tmp_path: Path):
    vcf = _gene_vcf(tmp_path / "n.vcf", FIXTURE_DEFS, "DPYD", {})
    (d,) = call_genes(vcf, FIXTURE_DEFS, genes=["DPYD"])["S"]
    recs = [r for r in recommend([d]) if r.drug == "capecitabine"]
    assert d.phenotype == "Normal Metabolizer" and recs and all(r.actionable is False for r in recs)


def test_atazanavir_recommendation_for_a_called_ugt1a1(tmp_path: Path):
    defs = _shared()
    vcf = _gene_vcf(tmp_path / "u.vcf", defs, "UGT1A1", {"rs3064744": "0/2"})
    (d,) = call_genes(vcf, defs, genes=["UGT1A1"])["S"]
    assert d.diplotypes == ["*1/*28"] and d.phenotype == "Intermediate Metabolizer"
    (r,) = [r for r in recommend([d]) if r.drug == "atazanavir"]
    assert r.classification == "Strong" and r.actionable is False and "no need to avoid" in r.text
    assert r.citations[0].pmid == "26417955" and r.citations[0].version
    # a gene that is not called gets nothing
    d.status, d.diplotypes = "not_called", []
    assert not [r for r in recommend([d]) if r.drug == "atazanavir"]


# PharmCAT's DPYD tests (NamedAlleleMatcherTest.testDpyd*, transcribed by hand: genotypes as CPIC alleles,
# expected names from the assertions; PharmCAT runs them on a test-only DPYD definition, here on the
# published one). Unphased data with several variants: PharmCAT lists haplotype matches and no diplotype;
# Bedside lists the same alleles and reports the two lowest-function ones as the diplotype.
DPYD_CASES = [
    ("testDpydEffectivelyPhased", [("rs80081766", "C", "T")], False, ["Reference/c.62G>A"], None),
    ("testDpydPhased", [("rs80081766", "C", "T"), ("rs114096998", "G", "T")], True,
     ["Reference/[c.62G>A + c.3067C>A]"], None),
    ("testDpydHomozygous", [("rs80081766", "T", "T"), ("rs114096998", "T", "T")], True,
     ["[c.62G>A + c.3067C>A]/[c.62G>A + c.3067C>A]"], None),
    ("testDpydPhasedDouble", [("rs75017182", "G", "C"), ("rs56038477", "C", "T"), ("rs80081766", "T", "T"),
                              ("rs114096998", "T", "T")], True,
     ["[c.62G>A + c.3067C>A]/[c.62G>A + c.1129-5923C>G, c.1236G>A (HapB3) + c.3067C>A]"], None),
    ("testDpydUnPhased", [("rs80081766", "C", "T"), ("rs114096998", "G", "T")], False, None,
     ["c.62G>A", "c.3067C>A"]),
    ("testDpydUnphasedHomozygousNoFunction", [("rs72547601", "C", "C"), ("rs67376798", "A", "T"),
                                              ("rs60139309", "T", "C")], False, None,
     ["c.2582A>G", "c.2846A>T", "c.2933A>G", "c.2933A>G"]),
]


@pytest.mark.parametrize("name,variants,phased,diplotypes,haplotypes", DPYD_CASES, ids=[c[0] for c in DPYD_CASES])
def test_pharmcat_dpyd_cases(name, variants, phased, diplotypes, haplotypes, tmp_path: Path):
    from bedside.pgx.genotypes import read_genotypes
    from bedside.pgx.matcher import match_gene
    defs = _shared()
    case = {"id": name, "gene": "DPYD", "builder": {"variations": [
        {"gene": "DPYD", "rsid": r, "alleles": [a, b]} for r, a, b in variants], "missing": [], "phased": phased}}
    vcf = _bench().build_vcf(case, defs, tmp_path / "d.vcf")
    d = load_definitions(defs, ["DPYD"])
    s = next(iter(read_genotypes(vcf, d).values()))
    m = match_gene(d["DPYD"], s.calls["DPYD"], phased=s.phased.get("DPYD", set()))
    if diplotypes is not None:
        assert m.names() == diplotypes
    else:
        assert sorted(m.haplotypes) == sorted(haplotypes)
        (dp,) = call_genes(vcf, defs, genes=["DPYD"])["SAMPLE"]
        assert dp.status == "called" and dp.activity_score is not None


def test_grch37_header_is_refused_for_grch38_definitions(tmp_path: Path):
    defs = _shared()
    vcf = _gene_vcf(tmp_path / "g.vcf", defs, "DPYD", {})
    vcf.write_text(vcf.read_text().replace("##contig=<ID=chr1>", "##contig=<ID=chr1,length=249250621>"))
    with pytest.raises(InputError, match="GRCh37.*GRCh38"):
        call_genes(vcf, defs, genes=["DPYD"])
    vcf.write_text(vcf.read_text().replace("length=249250621", "length=248956422"))
    assert call_genes(vcf, defs, genes=["DPYD"])["S"][0].status == "called"
