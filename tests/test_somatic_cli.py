"""`bedside somatic`, `bedside pon`, `bedside tmb` on a small real tumor/normal BAM pair simulated in the
test (ART + bwa mem + samtools), and the bad-input errors."""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bedside.cli import main
from bedside.commands import pon as pon_cmd
from bedside.commands import tmb as tmb_cmd
from bedside.demo.somatic_bench import evaluate, load_truth, make_bench
from bedside.errors import InputError

TOOLS = ("art_illumina", "bwa", "samtools", "bcftools", "tabix")
pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                                reason=f"needs {', '.join(TOOLS)} on PATH")


def sh(*args) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    d = tmp_path_factory.mktemp("somatic_bench")
    return make_bench(d, seed=3, length=40_000, n_contigs=1, per_band_snv=4, per_band_indel=2, n_germline=20,
                      tumor_cov=80, normal_cov=30)


def run_cmd(module, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    module.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def records(vcf: Path, fmt: str = "%CHROM\t%POS\t%REF\t%ALT\t%FILTER\n") -> list[list[str]]:
    return [x.split("\t") for x in sh("bcftools", "query", "-f", fmt, vcf).splitlines()]


@pytest.fixture(scope="module")
def tn_vcf(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("tn") / "calls.vcf.gz"
    assert main(["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(bench.normal_bam), "--ref",
                 str(bench.ref), "--out", str(out), "--threads", "2"]) == 0
    return out


def test_somatic_vcf_readable_and_declared(tn_vcf, bench):
    assert Path(str(tn_vcf) + ".tbi").exists()
    header = sh("bcftools", "view", "-h", tn_vcf)
    assert header.splitlines()[-1].split("\t")[9:] == ["BENCH-T", "BENCH-N"]
    for tag in ("FILTER=<ID=PASS", "FILTER=<ID=strand_bias", "FILTER=<ID=low_vaf", "FILTER=<ID=normal_artifact",
                "FILTER=<ID=clustered_events", "FILTER=<ID=low_depth", "FILTER=<ID=panel_of_normals",
                "FILTER=<ID=germline_risk", "INFO=<ID=TLOD", "INFO=<ID=NLOD", "INFO=<ID=SOMATIC",
                "INFO=<ID=TUMOR_ONLY", "FORMAT=<ID=GT", "FORMAT=<ID=AD", "FORMAT=<ID=AF", "FORMAT=<ID=DP"):
        assert tag in header, tag
    # bcftools parses every record and field (a region query uses the tabix index)
    rows = records(tn_vcf, "%CHROM\t%POS\t%FILTER\t%INFO/TLOD\t%INFO/SOMATIC[\t%GT:%AD:%AF:%DP]\n")
    assert rows and all(len(r) == 7 for r in rows)
    assert sh("bcftools", "view", "-H", "-r", "chr1:1-40000", tn_vcf).count("\n") == len(rows)
    passed = [r for r in rows if r[2] == "PASS"]
    assert passed and all(r[4] == "1" for r in passed)
    assert all(r[5].startswith("0/1:") and r[6].startswith("0/0:") for r in rows)


def test_somatic_calls_planted_and_no_germline(tn_vcf, bench):
    calls = [(c, int(p), r, a) for c, p, r, a, f in records(tn_vcf) if f == "PASS"]
    ev = evaluate(calls, load_truth(bench.truth))
    assert ev.germline_called_somatic == 0
    assert ev.precision >= 0.95
    assert ev.sensitivity["vaf_0.20"] == 1.0 and ev.sensitivity["vaf_0.40"] == 1.0
    # every germline site the caller saw is filtered, as germline_risk / normal_artifact
    germ = {(v.chrom, v.pos) for v in load_truth(bench.truth) if v.origin == "germline"}
    flt = [f for c, p, r, a, f in records(tn_vcf) if (c, int(p)) in germ and len(r) == len(a) == 1]
    assert flt and all("germline_risk" in f or "normal_artifact" in f for f in flt)


def test_region_restricts(bench, tmp_path):
    out = tmp_path / "r.vcf.gz"
    assert main(["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(bench.normal_bam), "--ref",
                 str(bench.ref), "--out", str(out), "--region", "chr1:1-10000"]) == 0
    assert all(int(r[1]) <= 10000 for r in records(out))
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t0\t10000\n")
    out2 = tmp_path / "b.vcf.gz"
    assert main(["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(bench.normal_bam), "--ref",
                 str(bench.ref), "--out", str(out2), "--regions-bed", str(bed)]) == 0
    assert records(out2) == records(out)


def test_tumor_only_marks_and_uses_population(bench, tmp_path):
    # population VCF: the planted germline variants at AF 0.3, normalised like the caller's alleles
    pop_raw = tmp_path / "pop_raw.vcf"
    with gzip.open(bench.truth_vcf, "rt") as fh:
        lines = fh.read().splitlines()
    out = []
    for line in lines:
        if line.startswith("##INFO=<ID=ORIGIN"):
            out.append('##INFO=<ID=AF,Number=A,Type=Float,Description="Population AF">')
        if line.startswith("#"):
            out.append(line)
        elif "ORIGIN=germline" in line:
            f = line.split("\t")
            out.append("\t".join(f[:7] + ["AF=0.3"]))
    pop_raw.write_text("\n".join(out) + "\n")
    pop = tmp_path / "pop.vcf.gz"
    sh("bcftools", "norm", "-f", bench.ref, "-Oz", "-o", pop, pop_raw)
    sh("tabix", "-p", "vcf", pop)
    vcf = tmp_path / "to.vcf.gz"
    assert main(["somatic", "--tumor", str(bench.tumor_bam), "--tumor-only", "--population", str(pop), "--ref",
                 str(bench.ref), "--out", str(vcf)]) == 0
    header = sh("bcftools", "view", "-h", vcf).splitlines()
    assert header[-1].split("\t")[9:] == ["BENCH-T"]
    rows = records(vcf, "%CHROM\t%POS\t%REF\t%ALT\t%FILTER\t%INFO/TUMOR_ONLY\t%INFO/NLOD\n")
    assert rows and all(r[5] == "1" and r[6] == "." for r in rows)
    calls = [(c, int(p), r, a) for c, p, r, a, f, *_ in rows if f == "PASS"]
    ev = evaluate(calls, load_truth(bench.truth))
    assert ev.germline_called_somatic == 0 and ev.true_pos > 0


def test_pon_and_tmb(bench, tn_vcf, tmp_path):
    pon = tmp_path / "pon.vcf.gz"
    # two "normals" (the tumor stands in for a second normal): shared germline sites enter the panel
    assert run_cmd(pon_cmd, ["pon", "--normals", str(bench.normal_bam), str(bench.tumor_bam), "--ref",
                             str(bench.ref), "--out", str(pon)]) == 0
    pon_sites = {(c, int(p)) for c, p, *_ in records(pon)}
    germ = {(v.chrom, v.pos) for v in load_truth(bench.truth) if v.origin == "germline"}
    assert len(pon_sites & germ) >= len(germ) * 0.8
    out = tmp_path / "pon_calls.vcf.gz"
    assert main(["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(bench.normal_bam), "--ref",
                 str(bench.ref), "--out", str(out), "--pon", str(pon)]) == 0
    rows = records(out, "%CHROM\t%POS\t%REF\t%ALT\t%FILTER\t%INFO/PON\n")
    assert any("panel_of_normals" in r[4] and r[5] == "1" for r in rows)
    assert all(("panel_of_normals" in r[4]) == (r[5] == "1") for r in rows)

    # TMB over a per-base coverage BED: depth 50 on chr1:0-20000 (callable at --min-depth 20), 5 after
    cov = tmp_path / "cov.per-base.bed.gz"
    with gzip.open(cov, "wt") as fh:
        fh.write("chr1\t0\t20000\t50\nchr1\t20000\t40000\t5\n")
    tmb_json = tmp_path / "tmb.json"
    assert run_cmd(tmb_cmd, ["tmb", "--vcf", str(tn_vcf), "--coverage", str(cov), "--min-depth", "20",
                             "--out", str(tmb_json)]) == 0
    res = json.loads(tmb_json.read_text())
    n_pass = sum(1 for r in records(tn_vcf) if r[4] == "PASS" and int(r[1]) <= 20000)
    assert res["callable_bp"] == 20000 and res["count"] == n_pass
    assert res["tmb_per_mb"] == pytest.approx(n_pass / 0.02, rel=1e-3)
    # quantized mosdepth bins: lower bound of the label decides
    q = tmp_path / "cov.quantized.bed"
    q.write_text("chr1\t0\t30000\t20:80\nchr1\t30000\t40000\t0:20\n")
    assert run_cmd(tmb_cmd, ["tmb", "--vcf", str(tn_vcf), "--coverage", str(q), "--out", str(tmb_json)]) == 0
    assert json.loads(tmb_json.read_text())["callable_bp"] == 30000


# ------------------------------------------------------------------ bad input

def _rename_sample(bam: Path, sm: str, out: Path) -> Path:
    sh("samtools", "addreplacerg", "-m", "overwrite_all", "-r", f"@RG\tID:{sm}\tSM:{sm}", "-o", out, bam)
    sh("samtools", "index", out)
    return out


def _err(capsys, argv) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_missing_normal_in_tn_mode(bench, tmp_path, capsys):
    err = _err(capsys, ["somatic", "--tumor", str(bench.tumor_bam), "--ref", str(bench.ref), "--out",
                        str(tmp_path / "x.vcf.gz")])
    assert "needs --normal" in err and not (tmp_path / "x.vcf.gz").exists()


def test_different_patients(bench, tmp_path, capsys):
    other = _rename_sample(bench.normal_bam, "OTHER-N", tmp_path / "other.bam")
    out = tmp_path / "x.vcf.gz"
    err = _err(capsys, ["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(other), "--ref",
                        str(bench.ref), "--out", str(out)])
    assert "different patients" in err and "BENCH-T" in err and "OTHER-N" in err and not out.exists()
    err = _err(capsys, ["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(bench.normal_bam), "--ref",
                        str(bench.ref), "--out", str(out), "--patient", "P9"])
    assert "does not belong to patient 'P9'" in err
    # an explicit matching patient passes
    assert main(["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(bench.normal_bam), "--ref",
                 str(bench.ref), "--out", str(out), "--patient", "BENCH", "--region", "chr1:1-2000"]) == 0


def test_different_references(bench, tmp_path, capsys):
    hdr = sh("samtools", "view", "-H", bench.normal_bam).replace("LN:40000", "LN:40001")
    (tmp_path / "h.sam").write_text(hdr)
    bad = tmp_path / "bad.bam"
    with open(bad, "wb") as fh:
        subprocess.run(["samtools", "reheader", str(tmp_path / "h.sam"), str(bench.normal_bam)], stdout=fh,
                       check=True)
    sh("samtools", "index", bad)
    err = _err(capsys, ["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(bad), "--ref",
                        str(bench.ref), "--out", str(tmp_path / "x.vcf.gz")])
    assert "different references" in err and "chr1 length 40001 vs 40000" in err
    err = _err(capsys, ["somatic", "--tumor", str(bad), "--tumor-only", "--ref", str(bench.ref), "--out",
                        str(tmp_path / "x.vcf.gz")])
    assert "do not match the reference" in err


def test_unindexed_and_no_readgroup(bench, tmp_path, capsys):
    noidx = tmp_path / "noidx.bam"
    shutil.copy(bench.tumor_bam, noidx)
    err = _err(capsys, ["somatic", "--tumor", str(noidx), "--tumor-only", "--ref", str(bench.ref), "--out",
                        str(tmp_path / "x.vcf.gz")])
    assert "no index" in err
    norg = tmp_path / "norg.bam"
    hdr = "\n".join(x for x in sh("samtools", "view", "-H", bench.tumor_bam).splitlines()
                    if not x.startswith("@RG")) + "\n"
    (tmp_path / "h.sam").write_text(hdr)
    with open(norg, "wb") as fh:
        subprocess.run(["samtools", "reheader", str(tmp_path / "h.sam"), str(bench.tumor_bam)], stdout=fh,
                       check=True)
    with pytest.raises(InputError, match="SM tag"):
        from bedside.calling.somatic import bam_sample
        bam_sample(norg)


def test_patient_of():
    from bedside.calling.somatic import patient_of
    assert patient_of("P1-T") == patient_of("P1-N") == patient_of("P1_tumor") == patient_of("P1.normal2") == "P1"
    assert patient_of("DEMO01") == "DEMO01"


def test_missing_pon_and_bad_bed(bench, tmp_path, capsys):
    out = tmp_path / "x.vcf.gz"
    err = _err(capsys, ["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(bench.normal_bam), "--ref",
                        str(bench.ref), "--out", str(out), "--pon", str(tmp_path / "nope.vcf.gz")])
    assert "nope.vcf.gz: VCF not found" in err
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t0\t100\nchrZ\t0\t100\n")
    err = _err(capsys, ["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(bench.normal_bam), "--ref",
                        str(bench.ref), "--out", str(out), "--regions-bed", str(bed)])
    assert "bad.bed, line 2" in err and "chrZ" in err and not out.exists()


def test_sample_sheet_decides_the_pairing(bench, tmp_path, capsys):
    """With --samples, the sheet (not the names) says who belongs to whom: arbitrary SM names pass
    when the sheet pairs them, and a pairing across two patients of the sheet is refused."""
    tumor = _rename_sample(bench.tumor_bam, "TUMOR1", tmp_path / "t.bam")
    normal = _rename_sample(bench.normal_bam, "GERMLINE7", tmp_path / "n.bam")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample_name\tpatient\talias\nTUMOR1\tP1\ttumor\nGERMLINE7\tP1\tnormal\n")
    out = tmp_path / "x.vcf.gz"
    assert main(["somatic", "--tumor", str(tumor), "--normal", str(normal), "--ref", str(bench.ref),
                 "--out", str(out), "--samples", str(sheet), "--region", "chr1:1-2000"]) == 0
    sheet.write_text("sample_name\tpatient\talias\nTUMOR1\tP1\ttumor\nGERMLINE7\tP2\tnormal\n")
    out.unlink()
    err = _err(capsys, ["somatic", "--tumor", str(tumor), "--normal", str(normal), "--ref",
                        str(bench.ref), "--out", str(out), "--samples", str(sheet)])
    assert "belong to different patients (P1, P2) per the sample sheet" in err and not out.exists()
    err = _err(capsys, ["somatic", "--tumor", str(bench.tumor_bam), "--normal", str(normal), "--ref",
                        str(bench.ref), "--out", str(out), "--samples", str(sheet)])
    assert "'BENCH-T' is not in the sample sheet" in err
