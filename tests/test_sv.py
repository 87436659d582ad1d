"""`bedside sv`: delly somatic SVs and fusion annotation on tumor/normal reads simulated with ART + bwa mem
(EML4-ALK inversion, CD74-ROS1 translocation, a MET exon 14 deletion), the reading-frame logic, and
bad-input errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pysam
import pytest

from bedside import cli
from bedside.annotate.transcripts import Transcript
from bedside.calling import sv
from bedside.demo import biomarker_sim as bs

TOOLS = ("art_illumina", "bwa", "samtools", "delly", "bcftools", "tabix")
needs_tools = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason=f"needs {TOOLS}")


@pytest.fixture
def bedside(monkeypatch):
    assert "sv" in cli.COMMANDS  # registered in the CLI
    return cli.main


def _tx(strand, exons, gene="G"):
    t = Transcript(id=f"T{gene}", gene=gene, chrom="c", strand=strand, exons=list(exons), cds=list(exons))
    t.finalize()
    return t


def test_frame_across_intronic_junction():
    # 5' gene (+): exons of 100, 101, 99 coding bases; 3' gene (-): exons 5'->3' of 50, 52, 60
    g5 = _tx("+", [(1000, 1099), (2000, 2100), (3000, 3098)], "A")
    g3 = _tx("-", [(9000, 9049), (8000, 8051), (7000, 7059)][::-1], "B")
    # break after exon 1 of A (100 bases) joined before exon 2 of B (50 skipped): 100 - 50 = 50 -> out of frame
    assert sv.fusion_of(g5, 1500, g3, 8500)[4] == "out-of-frame"
    # after exon 2 of A (201) to exon 3 of B (102 skipped): 99 -> in frame
    r5, r3, last5, first3, frame = sv.fusion_of(g5, 2500, g3, 7500)
    assert (r5, r3, last5, first3, frame) == ("intron 2", "intron 2", 2, 3, "in-frame")
    assert sv.fusion_of(g5, 1050, g3, 7500)[4].startswith("unknown")  # exonic breakpoint


def test_connection_type_sides_and_strands():
    assert sv.keeps_5prime("+", "left") and sv.keeps_5prime("-", "right")
    assert not sv.keeps_5prime("+", "right") and not sv.keeps_5prime("-", "left")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    if any(shutil.which(t) is None for t in TOOLS):
        pytest.skip(f"needs {TOOLS}")
    d = tmp_path_factory.mktemp("sv")
    specs = [bs.GeneSpec("EML4", "chr2", "+", 10000, 10), bs.GeneSpec("ALK", "chr2", "-", 60000, 10),
             bs.GeneSpec("CD74", "chr5", "-", 10000, 8), bs.GeneSpec("ROS1", "chr6", "-", 20000, 10),
             bs.GeneSpec("MET", "chr7", "+", 10000, 16), bs.GeneSpec("KIF5B", "chr7", "-", 40000, 6)]
    g = bs.build_genome(9, {"chr2": 100000, "chr5": 60000, "chr6": 60000, "chr7": 60000}, specs)
    bs.write_reference(g, d / "ref.fa", d / "genes.gff3")
    eml4, alk, cd74, ros1, met = (g.gene(n) for n in ("EML4", "ALK", "CD74", "ROS1", "MET"))
    fusions = [bs.Fusion("EML4", eml4.intron_point(6), "ALK", alk.intron_point(2)),
               bs.Fusion("CD74", cd74.intron_point(6), "ROS1", ros1.intron_point(3)),
               bs.Fusion("MET", met.intron_point(13), "MET", met.intron_point(14))]
    bs.simulate_bam(bs.normal_components(g, d / "wn"), 30, d / "ref.fa", d / "N.bam", "P1-N", 11)
    bs.simulate_bam(bs.tumor_components(g, bs.TumorPlan(purity=0.5, fusions=fusions, seed=3), d / "wt"), 40,
                    d / "ref.fa", d / "T.bam", "P1-T", 12)
    return d, g, fusions


@pytest.mark.slow
@needs_tools
def test_sv_fusions_on_simulated_reads(sim, bedside, tmp_path):
    d, g, fusions = sim
    out = tmp_path / "sv.vcf.gz"
    fj = tmp_path / "fusions.json"
    assert bedside(["sv", "--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa"),
                    "--out", str(out), "--gff3", str(d / "genes.gff3"), "--fusions-json", str(fj)]) == 0
    assert Path(str(out) + ".tbi").exists()
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == ["P1-T", "P1-N"]
        recs = list(vf)
    assert recs and all("PASS" in r.filter.keys() for r in recs)
    data = json.loads(fj.read_text())
    by = {(f["gene5"], f["gene3"]): f for f in data["fusions"]}
    eml4_alk = by[("EML4", "ALK")]
    assert eml4_alk["known_partner"] == "ALK" and eml4_alk["junction"] == "observed"
    assert abs(int(eml4_alk["breakpoint5"].split(":")[1]) - fusions[0].pos5) <= 10
    assert abs(int(eml4_alk["breakpoint3"].split(":")[1]) - fusions[0].pos3) <= 10
    assert eml4_alk["region5"] == "intron 6" and eml4_alk["region3"] == "intron 2"
    assert eml4_alk["tumor_pairs"] + eml4_alk["tumor_split"] >= 5 and eml4_alk["normal_alt"] == 0
    cd74_ros1 = by[("CD74", "ROS1")]
    assert cd74_ros1["known_partner"] == "ROS1"
    assert abs(int(cd74_ros1["breakpoint3"].split(":")[1]) - fusions[1].pos3) <= 10
    assert not any("KIF5B" in k for k in by)  # no fusion with an untouched gene
    met = data["met_exon14_skipping"]
    assert len(met) == 1 and met[0]["mechanism"] == "deletion of exon 14" and met[0]["source"] == "sv"
    tsv = (tmp_path / "fusions.tsv") if (tmp_path / "fusions.tsv").exists() else Path(str(out)[:-7] + ".fusions.tsv")
    assert tsv.read_text().splitlines()[0].startswith("gene5\tgene3")


@pytest.mark.slow
@needs_tools
def test_met_exon14_from_small_variants(sim, tmp_path):
    d, g, _ = sim
    met = g.gene("MET")
    a, _b = met.exons_5to3()[13]
    ref = pysam.FastaFile(str(d / "ref.fa"))
    # substitution at the canonical acceptor -1 (intron 13 'AG') and a deletion elsewhere (not splice)
    acc = a - 1
    base = ref.fetch("chr7", acc - 1, acc).upper()
    far = met.exons_5to3()[2][0] + 5
    fb = ref.fetch("chr7", far - 1, far + 3).upper()
    vcf = tmp_path / "small.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr7,length=60000>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   f"chr7\t{acc}\t.\t{base}\t{'T' if base != 'T' else 'C'}\t.\tPASS\t.\n"
                   f"chr7\t{far}\t.\t{fb}\t{fb[0]}\t.\tPASS\t.\n")
    hits = sv.met_exon14(sv.Genes(d / "genes.gff3"), None, vcf)
    assert [h.mechanism for h in hits] == ["substitution at a canonical exon 14 splice-site base"]


@pytest.mark.slow
@needs_tools
def test_sv_bad_inputs(sim, bedside, tmp_path, capsys):
    d, _, _ = sim
    shutil.copy(d / "N.bam", tmp_path / "noidx.bam")
    rc = bedside(["sv", "--tumor", str(d / "T.bam"), "--normal", str(tmp_path / "noidx.bam"), "--ref",
                  str(d / "ref.fa"), "--out", str(tmp_path / "o.vcf.gz")])
    err = capsys.readouterr().err
    assert rc == 2 and "noidx.bam" in err
    rc = bedside(["sv", "--tumor", str(d / "T.bam"), "--normal", str(d / "T.bam"), "--ref", str(d / "ref.fa"),
                  "--out", str(tmp_path / "o.vcf.gz")])
    assert rc == 2 and "same sample name" in capsys.readouterr().err
    assert not (tmp_path / "o.vcf.gz").exists()


def test_fusions_json_round_trip(tmp_path):
    f = sv.Fusion("EML4", "ALK", "T1", "T2", "chr2:100", "chr2:900", "intron 13", "intron 19", 13, 20, "in-frame",
                  "INV1", "INV", "PASS", 10, 6, 0, True, "ALK", True)
    m = sv.Met14("sv", "DEL1", "chr7", 10, 900, "deletion of exon 14", 12)
    sv.write_fusions([f], [m], tmp_path / "f.tsv", tmp_path / "f.json")
    assert sv.read_fusions(tmp_path / "f.json") == ([f], [m])
    assert (tmp_path / "f.tsv").read_text().splitlines()[1].startswith("EML4\tALK\t")


def test_demo_eml4_alk_is_in_frame_on_the_demo_gene_models(tmp_path):
    """The demo's planted EML4-ALK (PT02): breakpoints in EML4 intron 13 and ALK intron 19, in frame by the
    fusion annotator's own rule on the demo GFF3."""
    from bedside.demo import generate as gen

    gen.generate(tmp_path / "demo", gen.DEFAULT_SEED, reads=False)
    plan = json.loads((tmp_path / "demo/truth/biomarkers.json").read_text())["patients"]["PT02"]
    (f,) = plan["fusions"]
    genes = sv.Genes(tmp_path / "demo/reference/genes.gff3")
    r5, r3, last5, first3, frame = sv.fusion_of(genes.tx["EML4"], f["breakpoint5"], genes.tx["ALK"], f["breakpoint3"])
    assert (r5, r3, last5, first3, frame) == ("intron 13", "intron 19", 13, 20, "in-frame")


def test_not_assessable_is_recorded_and_reaches_the_case(tmp_path):
    """Too little data for delly's insert-size estimate: fusions.json says 'not_assessable' with the reason,
    and the case record turns that into a notice instead of a silent 'no fusions'."""
    from bedside.calling import sv as svmod
    from bedside.case import sv_not_assessable

    out = tmp_path / "fusions.json"
    svmod.write_fusions([], [], tmp_path / "fusions.tsv", out, not_assessable="too few read pairs")
    assert sv_not_assessable(str(out)) == "too few read pairs"
    assert svmod.read_fusions(out) == ([], [])
    svmod.write_fusions([], [], tmp_path / "f2.tsv", tmp_path / "f2.json")
    assert sv_not_assessable(str(tmp_path / "f2.json")) is None
