"""`bedside msi`: MSIsensor-style MSI on tumor/normal reads simulated with ART + bwa mem (an MSI-H tumor with
planted repeat-length changes and an MSS tumor), the statistics, and the bad-input errors."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pysam
import pytest

from bedside import cli
from bedside.calling import msi
from bedside.demo import biomarker_sim as bs

TOOLS = ("art_illumina", "bwa", "samtools")
needs_tools = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason="needs ART, bwa, samtools")


@pytest.fixture
def bedside(monkeypatch):
    assert "msi" in cli.COMMANDS  # registered in the CLI
    return cli.main


# ------------------------------------------------------------------------------------------ unit level

def test_scan_finds_homopolymers_and_repeats_with_flanks():
    spacer = "GCTAGCTTAGGCATCGTACG"  # 20 bp: sites closer than 20 bp to a neighbour are dropped
    seq = "ACGTAGCATG" + "A" * 12 + spacer + "CA" * 7 + spacer + "T" * 6 + "GACG"
    sites = msi.scan_sequence("c", seq)
    got = [(s.start, s.unit, s.copies) for s in sites]
    assert (10, "A", 12) in got
    assert (42, "CA", 7) in got
    assert all(s.unit != "T" for s in sites)  # 6 T: shorter than the 10 bp homopolymer minimum
    a = next(s for s in sites if s.unit == "A")
    assert a.left == "GCATG" and a.right == "GCTAG"
    assert msi.scan_sequence("c", "ACGTAGCATG" + "A" * 12 + "GCTAG" + "CA" * 7 + spacer) == []  # too close


def test_chi2_sf_matches_known_values():
    # chi2 survival: df=1, x=3.841 -> 0.05; df=4, x=9.488 -> 0.05; df=2, x=0 -> 1
    assert msi.chi2_sf(3.841459, 1) == pytest.approx(0.05, abs=1e-5)
    assert msi.chi2_sf(9.487729, 4) == pytest.approx(0.05, abs=1e-5)
    assert msi.chi2_sf(0.0, 2) == 1.0
    assert msi.chi2_sf(60.0, 3) < 1e-11


def test_homogeneity_and_bh():
    same = msi.chi2_homogeneity(Counter({10: 40, 9: 2}), Counter({10: 38, 9: 2}))
    shifted = msi.chi2_homogeneity(Counter({10: 20, 8: 20}), Counter({10: 40}))
    assert same[2] > 0.5 and shifted[2] < 1e-6
    q = msi.benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    assert q == pytest.approx([0.04, 0.0533333, 0.0533333, 0.5], rel=1e-4)


def test_classification_cutoffs():
    assert msi.classify(10.0) == "MSI-H" and msi.classify(9.99) == "indeterminate" and msi.classify(2.9) == "MSS"


def test_read_length_from_cigar(tmp_path):
    site = msi.Site("c", 100, 112, "A", 12, "GCATG", "GCTAG")
    hdr = pysam.AlignmentHeader.from_dict({"SQ": [{"SN": "c", "LN": 1000}]})

    def read(start, cigar):
        r = pysam.AlignedSegment(hdr)
        r.reference_start, r.cigarstring = start, cigar
        r.query_sequence = "A" * r.infer_query_length()
        return r

    assert msi.read_repeat_length(read(50, "100M"), site) == 12
    assert msi.read_repeat_length(read(50, "55M2D43M"), site) == 10  # deletion inside the repeat
    assert msi.read_repeat_length(read(50, "52M1I47M"), site) == 13  # insertion at the repeat start
    assert msi.read_repeat_length(read(50, "47M2D51M"), site) is None  # deletion reaching into the flank
    assert msi.read_repeat_length(read(98, "100M"), site) is None  # does not cover the left flank


# ----------------------------------------------------------------------------------- simulated reads

@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    if any(shutil.which(t) is None for t in TOOLS):
        pytest.skip("needs ART, bwa, samtools")
    d = tmp_path_factory.mktemp("msi")
    g = bs.build_genome(7, {"chr1": 60000, "chr2": 60000}, [], n_microsatellites=80)
    bs.write_reference(g, d / "ref.fa")
    bs.simulate_bam(bs.normal_components(g, d / "wn"), 40, d / "ref.fa", d / "N.bam", "P1-N", 11)
    unstable = list(range(0, len(g.microsatellites), 3))
    bs.simulate_bam(bs.tumor_components(g, bs.TumorPlan(purity=0.6, unstable=unstable, seed=3), d / "wt"), 80,
                    d / "ref.fa", d / "T.bam", "P1-T", 12)
    bs.simulate_bam(bs.tumor_components(g, bs.TumorPlan(purity=0.6, seed=4), d / "ws"), 80, d / "ref.fa",
                    d / "S.bam", "P1-T", 13)
    return d, g, unstable


@pytest.mark.slow
@needs_tools
def test_msi_high_and_mss_on_simulated_reads(sim, bedside, tmp_path):
    d, g, unstable = sim
    planted = {(g.microsatellites[i].contig, g.microsatellites[i].start) for i in unstable}
    out, sites_out = tmp_path / "msi.json", tmp_path / "sites.tsv"
    assert bedside(["msi", "--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa"),
                    "--out", str(out), "--sites-out", str(sites_out), "--min-sites", "30"]) == 0
    res = json.loads(out.read_text())
    assert res["status"] == "assessable" and res["classification"] == "MSI-H"
    assert res["value"] >= 20 and res["assessed_sites"] >= 60
    assert res["citations"][0]["pmid"] == "24371154"
    rows = [ln.split("\t") for ln in sites_out.read_text().splitlines()[1:]]
    called = {(r[0], int(r[1])) for r in rows if r[12] == "1"}
    assert called <= planted  # no stable site called unstable
    assert len(called) >= 0.8 * len(planted)
    # MSS tumor: same genome, no planted instability
    out2 = tmp_path / "mss.json"
    assert bedside(["msi", "--tumor", str(d / "S.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa"),
                    "--out", str(out2), "--min-sites", "30"]) == 0
    res2 = json.loads(out2.read_text())
    assert res2["classification"] == "MSS" and res2["count"] == 0


@pytest.mark.slow
@needs_tools
def test_msi_too_few_sites_is_not_assessable(sim, bedside, tmp_path):
    d, _, _ = sim
    out = tmp_path / "msi.json"
    assert bedside(["msi", "--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa"),
                    "--region", "chr1:1-8000", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["status"] == "not_assessable" and res["value"] is None and res["classification"] is None
    assert "at least 50" in res["reason"]


@pytest.mark.slow
@needs_tools
def test_msi_bad_inputs(sim, bedside, tmp_path, capsys):
    d, _, _ = sim
    # BAM without index
    shutil.copy(d / "T.bam", tmp_path / "noidx.bam")
    rc = bedside(["msi", "--tumor", str(tmp_path / "noidx.bam"), "--normal", str(d / "N.bam"), "--ref",
                  str(d / "ref.fa"), "--out", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "noidx.bam" in err and "index" in err
    # region outside the reference
    rc = bedside(["msi", "--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa"),
                  "--region", "chr1:50000-90000", "--out", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "outside" in err
    # a different reference (other contig lengths)
    other = tmp_path / "other.fa"
    other.write_text(">chr1\n" + "ACGT" * 1000 + "\n>chr2\n" + "ACGT" * 1000 + "\n")
    pysam.faidx(str(other))
    rc = bedside(["msi", "--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(other),
                  "--out", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "T.bam" in err and "reference" in err
    assert not (tmp_path / "x.json").exists()


def test_msi_needs_normal(bedside, tmp_path, capsys):
    ref = tmp_path / "r.fa"
    ref.write_text(">c\nACGT\n")
    rc = bedside(["msi", "--tumor", str(ref), "--ref", str(ref), "--out", str(tmp_path / "o.json")])
    assert rc == 2 and "normal" in capsys.readouterr().err


def test_site_list_round_trip_and_errors(tmp_path):
    ref = tmp_path / "r.fa"
    ref.write_text(">c\n" + "GCATG" + "A" * 12 + "GCTAGGCTAGGCATCGTACGT" + "CA" * 6 + "GTCAGTCAGGCATCGTACGT\n")
    pysam.faidx(str(ref))
    sites = msi.scan(ref)
    msi.write_sites(sites, tmp_path / "s.tsv", ref)
    assert len(sites) == 2 and msi.read_sites(tmp_path / "s.tsv", {"c": 70}) == sites
    bad = tmp_path / "bad.tsv"
    bad.write_text("chrom\tstart\tend\tunit\tcopies\tleft_flank\tright_flank\nc\t5\tx\tA\t12\tGCATG\tGCTAG\n")
    with pytest.raises(msi.InputError, match="integers"):
        msi.read_sites(bad)
    with pytest.raises(msi.InputError, match="outside"):
        msi.read_sites(tmp_path / "s.tsv", {"c": 10})


def test_msi_json_to_case_biomarker(tmp_path):
    res = msi.MsiResult(status="assessable", value=32.5, classification="MSI-H", count=26, assessed_sites=80,
                        citations=msi.CITATIONS, definition="d")
    msi.write_result(res, [], tmp_path / "msi.json")
    b = msi.to_biomarker(tmp_path / "msi.json")
    assert (b.name, b.status, b.value, b.classification, b.threshold) == ("MSI", "assessable", 32.5, "MSI-H", 10.0)
    assert "26/80" in b.reason and [c.pmid for c in b.citations] == ["24371154", "30211344"]
    na = msi.MsiResult(status="not_assessable", reason="only 3 sites")
    msi.write_result(na, [], tmp_path / "na.json")
    b = msi.to_biomarker(tmp_path / "na.json")
    assert b.value is None and b.classification is None and b.reason == "only 3 sites"


def test_demo_reference_has_enough_microsatellites_and_an_msi_h_plan(tmp_path):
    from bedside.demo import generate as gen

    gen.generate(tmp_path / "demo", gen.DEFAULT_SEED, reads=False)
    sites = msi.scan(tmp_path / "demo/reference/genome.fa")
    truth = json.loads((tmp_path / "demo/truth/biomarkers.json").read_text())
    planted = {(m["chrom"], m["start"]) for m in truth["microsatellites"]}
    assert len(planted) >= 80 and planted <= {(s.chrom, s.start) for s in sites}
    statuses = {p: d["msi_status"] for p, d in truth["patients"].items()}
    assert statuses == {"PT01": "MSS", "PT02": "MSS", "PT03": "MSI-H", "PT04": "MSS"}
    assert len(truth["patients"]["PT03"]["msi_unstable"]) >= 0.4 * len(planted)
