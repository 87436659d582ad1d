"""Germline calling on a small simulated cohort (ART reads from haplotypes with planted variants,
bwa mem): single-sample and joint calls, gVCF + joint genotyping, genotyping at allele-definition
positions, filters and bad input."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

from bedside.bench import scoring
from bedside.calling import germline as g
from bedside.cli import main
from bedside.errors import InputError
from bedside.pgx import positions as pgx_positions

from .conftest import require_tools

HERE = Path(__file__).resolve().parent


def load_sim():
    """tests/data/germline/simulate.py, loaded once (several test modules share its cohort)."""
    if "germline_sim" not in sys.modules:
        spec = importlib.util.spec_from_file_location("germline_sim",
                                                      HERE / "data/germline/simulate.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["germline_sim"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["germline_sim"]


sim = load_sim()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    require_tools("bwa", "samtools", "bcftools", "art_illumina", "freebayes")
    return sim.cohort(tmp_path_factory.getbasetemp())


def truth_keys(cohort, sample: str, tmp: Path) -> set:
    """Planted variants the sample carries, normalised like the calls."""
    vcf = tmp / f"truth.{sample}.vcf"
    lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={n}>" for c, n in sim.CONTIGS.items()]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for v in sorted(cohort.variants, key=lambda v: (v.chrom, v.pos)):
        if any(cohort.genotype(v, sample)):
            lines.append(f"{v.chrom}\t{v.pos}\t.\t{v.ref}\t{v.alt}\t.\tPASS\t.")
    vcf.write_text("\n".join(lines) + "\n")
    out = tmp / f"truth.{sample}.norm.vcf.gz"
    scoring.normalise_for_scoring(vcf, cohort.ref, out)
    return scoring.variant_keys(out)


def called_keys(vcf: Path, ref: Path, tmp: Path, sample: str | None = None) -> set:
    src = vcf
    if sample:
        src = tmp / f"{vcf.name}.{sample}.vcf.gz"
        subprocess.run(["bcftools", "view", "-s", sample, "-Oz", "-o", str(src), str(vcf)], check=True)
    out = tmp / f"{src.name}.norm.vcf.gz"
    scoring.normalise_for_scoring(src, ref, out)
    return scoring.variant_keys(out)


def test_single_sample_recall_and_precision(cohort, tmp_path):
    out = tmp_path / "S1.vcf.gz"
    assert main(["germline", "call", "--bam", str(cohort.bams["S1"]), "--ref", str(cohort.ref),
                 "--out", str(out)]) == 0
    assert Path(str(out) + ".tbi").exists()
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == ["S1"]  # sample name from the read group SM
        assert "bedside_germline" in str(vf.header)
    truth = truth_keys(cohort, "S1", tmp_path)
    calls = called_keys(out, cohort.ref, tmp_path)
    s = scoring.score(truth, calls)
    # 30x simulated HiSeq reads over unique random sequence: near-perfect calling is expected
    assert s["SNV"].recall >= 0.97 and s["SNV"].precision >= 0.97, s["SNV"]
    assert s["indel"].recall >= 0.85 and s["indel"].precision >= 0.9, s["indel"]


def test_genotypes_match_planted(cohort, tmp_path):
    out = tmp_path / "S2.vcf.gz"
    g.call_germline([cohort.bams["S2"]], cohort.ref, out, g.GermlineParams(caller="bcftools"))
    planted = {(v.chrom, v.pos, v.ref, v.alt): cohort.genotype(v, "S2") for v in cohort.variants
               if len(v.ref) == len(v.alt) == 1}
    agree = total = 0
    with pysam.VariantFile(str(out)) as vf:
        for r in vf:
            key = (r.chrom, r.pos, r.ref, r.alts[0])
            if key in planted:
                total += 1
                agree += sorted(r.samples["S2"]["GT"]) == sorted(planted[key])
    assert total >= 40
    assert agree / total >= 0.95


def test_joint_call_has_per_sample_genotypes(cohort, tmp_path):
    out = tmp_path / "joint.bcf"
    bams = [str(cohort.bams[s]) for s in sim.SAMPLES]
    assert main(["germline", "call", "--bam", *bams, "--ref", str(cohort.ref),
                 "--region", "chrA:1-30000", "--caller", "bcftools", "--out", str(out)]) == 0
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == list(sim.SAMPLES)
        assert {r.chrom for r in vf} == {"chrA"}
    for sample in sim.SAMPLES:
        truth = {k for k in truth_keys(cohort, sample, tmp_path) if k[0] == "chrA"}
        calls = called_keys(out, cohort.ref, tmp_path, sample)
        assert len(truth & calls) / len(truth) >= 0.9, sample
        assert len(calls - truth) <= 2, (sample, sorted(calls - truth))


def test_gvcf_then_joint_genotyping(cohort, tmp_path):
    gvcfs = []
    for s in sim.SAMPLES:
        out = tmp_path / f"{s}.g.vcf.gz"
        assert main(["germline", "gvcf", "--bam", str(cohort.bams[s]), "--ref", str(cohort.ref),
                     "--out", str(out)]) == 0
        with pysam.VariantFile(str(out)) as vf:
            recs = list(vf)
        assert any(r.stop - r.start > 100 for r in recs), "gVCF has reference blocks (END)"
        assert all("PL" in r.format for r in recs), "every gVCF record carries likelihoods"
        gvcfs.append(str(out))
    joint = tmp_path / "joint.vcf.gz"
    assert main(["germline", "joint", "--gvcf", *gvcfs, "--ref", str(cohort.ref),
                 "--out", str(joint)]) == 0
    with pysam.VariantFile(str(joint)) as vf:
        assert list(vf.header.samples) == list(sim.SAMPLES)
        recs = list(vf)
    # a site one sample carries gets a called (not missing) genotype in the others too
    called = sum(all(None not in (r.samples[s]["GT"] or (None,)) for s in sim.SAMPLES) for r in recs)
    assert called / len(recs) >= 0.95
    for sample in sim.SAMPLES:
        truth = truth_keys(cohort, sample, tmp_path)
        calls = called_keys(joint, cohort.ref, tmp_path, sample)
        assert len(truth & calls) / len(truth) >= 0.9, sample
        assert len(calls - truth) <= 3, (sample, sorted(calls - truth))


def _definition(path: Path, gene: str, positions: list[tuple[str, int]]) -> None:
    path.write_text(json.dumps({
        "gene": gene, "chromosome": positions[0][0],
        "variants": [{"chromosome": c, "position": p, "rsid": f"rs{i}", "ref": "N", "alts": []}
                     for i, (c, p) in enumerate(positions)],
        "namedAlleles": []}))


def test_genotype_positions_reference_variant_and_uncovered(cohort, tmp_path):
    het = next(v for v in cohort.variants if len(v.ref) == len(v.alt) == 1
               and sorted(cohort.genotype(v, "S1")) == [0, 1])
    planted_pos = {(v.chrom, p) for v in cohort.variants for p in range(v.pos - 5, v.pos + 6)}
    ref_pos = next(("chrA", p) for p in range(5000, 6000) if ("chrA", p) not in planted_pos)
    defs = tmp_path / "defs"
    defs.mkdir()
    _definition(defs / "GENE1_translation.json", "GENE1", [(het.chrom, het.pos), ref_pos])
    # chrN is all N: nothing maps there; chrZ is not in the reference at all (skipped)
    _definition(defs / "GENE2_translation.json", "GENE2", [("chrN", 500), ("chrZ", 10)])
    out = tmp_path / "pgx.vcf.gz"
    assert main(["germline", "genotype-positions", "--bam", str(cohort.bams["S1"]),
                 "--ref", str(cohort.ref), "--definitions", str(defs), "--out", str(out)]) == 0
    with pysam.VariantFile(str(out)) as vf:
        recs = {(r.chrom, r.pos): r for r in vf}
    assert set(recs) == {(het.chrom, het.pos), ref_pos, ("chrN", 500)}
    assert sorted(recs[(het.chrom, het.pos)].samples["S1"]["GT"]) == [0, 1]
    assert recs[(het.chrom, het.pos)].alts == (het.alt,)
    assert recs[ref_pos].samples["S1"]["GT"] == (0, 0)
    assert list(recs[ref_pos].filter) == ["PASS"]
    assert recs[ref_pos].info["PGX_GENE"] == "GENE1"
    unc = recs[("chrN", 500)]
    assert unc.samples["S1"]["GT"] == (None, None) and list(unc.filter) == ["NoCoverage"]


def test_genotype_positions_contig_mismatch_is_an_error(cohort, tmp_path):
    defs = tmp_path / "defs"
    defs.mkdir()
    _definition(defs / "G_translation.json", "G", [("A", 100)])
    positions = pgx_positions.definition_positions(defs)
    with pytest.raises(InputError, match="none of the 1 defined positions"):
        pgx_positions.genotype_positions(cohort.bams["S1"], cohort.ref, positions, tmp_path / "x.vcf.gz")
    assert not (tmp_path / "x.vcf.gz").exists()


def test_bad_inputs(cohort, tmp_path, capsys):
    # BAM without a read-group sample name
    nosm = tmp_path / "nosm.bam"
    subprocess.run(f"samtools view -h {cohort.bams['S1']} | grep -v '^@RG' | "
                   f"samtools view -b -o {nosm} - && samtools index {nosm}", shell=True, check=True)
    out = tmp_path / "o.vcf.gz"
    assert main(["germline", "call", "--bam", str(nosm), "--ref", str(cohort.ref),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nosm.bam" in err and "read-group sample name (SM)" in err
    assert not out.exists()
    # same sample twice
    with pytest.raises(InputError, match="more than one BAM"):
        g.check_bams([cohort.bams["S1"], cohort.bams["S1"]])
    # output type
    with pytest.raises(InputError, match=r"\.bcf or \.vcf\.gz"):
        g.output_type(tmp_path / "x.vcf")
    # a definitions directory without definitions
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no <GENE>_translation.json"):
        pgx_positions.definition_positions(tmp_path / "empty")
    with pytest.raises(InputError, match="unknown caller"):
        g.GermlineParams(caller="gatk")


def test_failed_call_leaves_no_output(cohort, tmp_path):
    out = tmp_path / "fail.vcf.gz"
    # a region on a contig the reference lacks makes bcftools fail
    rc = main(["germline", "call", "--bam", str(cohort.bams["S1"]), "--ref", str(cohort.ref),
               "--region", "chrQ:1-100", "--out", str(out)])
    assert rc != 0
    assert list(tmp_path.iterdir()) == []


def test_filters_unit():
    assert g.snv_clusters([("c", 10), ("c", 14), ("c", 19), ("c", 40)], 3, 10) == {
        ("c", 10), ("c", 14), ("c", 19)}
    assert g.snv_clusters([("c", 10), ("c", 14), ("c", 20)], 3, 10) == set()
    assert g.region_to_bed0("chr1:101-200") == "chr1:100-200"
    assert g.region_to_bed0("chr1") == "chr1"
    s = scoring.Score(tp=8, fp=2, fn=2)
    assert (s.precision, s.recall, round(s.f1, 3)) == (0.8, 0.8, 0.8)
    truth = {("c", 1, "A", "G"), ("c", 5, "AT", "A")}
    calls = {("c", 1, "A", "G"), ("c", 9, "C", "T")}
    sc = scoring.score(truth, calls, bed=[("c", 0, 4)])
    assert (sc["SNV"].tp, sc["SNV"].fp, sc["indel"].fn) == (1, 0, 0)


def test_bench_germline_scores_against_truth(cohort, tmp_path, capsys):
    truth = tmp_path / "truth.vcf"
    truth_keys(cohort, "S1", tmp_path)  # writes truth.S1.vcf
    calls = tmp_path / "calls.vcf"
    lines = (tmp_path / "truth.S1.vcf").read_text().splitlines()
    body = [ln for ln in lines if not ln.startswith("#")]
    snv = next(ln for ln in body if len(ln.split("\t")[3]) == len(ln.split("\t")[4]) == 1)
    calls.write_text("\n".join(ln for ln in lines if ln != snv) + "\n")
    truth.write_text("\n".join(lines) + "\n")
    out = tmp_path / "m.json"
    assert main(["bench", "germline", "--calls", str(calls), "--truth", str(truth), "--ref",
                 str(cohort.ref), "--out", str(out)]) == 0
    m = json.loads(out.read_text())
    n_snv = sum(1 for ln in body if len(ln.split("\t")[3]) == len(ln.split("\t")[4]) == 1)
    assert m["all"]["SNV"]["FN"] == 1 and m["all"]["SNV"]["FP"] == 0
    assert m["all"]["SNV"]["TP"] == n_snv - 1
    assert "all  SNV" in capsys.readouterr().out
    assert main(["bench", "germline", "--calls", str(tmp_path / "absent.vcf"), "--truth",
                 str(truth), "--ref", str(cohort.ref)]) == 2


def test_moved_names_still_resolve_from_calling_germline():
    """PGx position genotyping moved to bedside.pgx.positions and truth scoring to bedside.bench.scoring;
    the old names on bedside.calling.germline are the same objects."""
    assert g.genotype_positions is pgx_positions.genotype_positions
    assert g.definition_positions is pgx_positions.definition_positions and g.Position is pgx_positions.Position
    for name in ("Score", "normalise_for_scoring", "variant_keys", "variant_kind", "in_bed", "score", "read_bed3"):
        assert getattr(g, name) is getattr(scoring, name)
    with pytest.raises(AttributeError):
        g.no_such_name  # noqa: B018
