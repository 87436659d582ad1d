"""`bedside somatic import --caller mutect2`: a hand-made Mutect2-style VCF (what Parabricks mutectcaller
and GATK Mutect2 write) becomes the bedside somatic VCF that annotate, TMB, CNV and the case read."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest

from bedside.annotate.findings import read_findings
from bedside.calling.somatic import array_module, score_on_device
from bedside.calling.somatic_core import Params, random_sites, score
from bedside.cli import main
from bedside.model import Origin

pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in ("bcftools", "tabix")),
                                reason="needs bcftools and tabix on PATH")

HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=germline,Description="Evidence indicates this site is germline, not somatic">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles in the order listed">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate alleles in the tumor">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth (reads with MQ=255 or with bad mates are filtered)">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=SB,Number=4,Type=Integer,Description="Per-sample component statistics which comprise the Fisher's Exact Test to detect strand bias.">
##GATKCommandLine=<ID=Mutect2,CommandLine="Mutect2 --tumor-sample P1-T --normal-sample P1-N",Version="4.2.0.0">
##INFO=<ID=AS_SB_TABLE,Number=1,Type=String,Description="Allele-specific forward/reverse read counts for strand bias tests. Includes the reference and alleles separated by |.">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth; some reads may have been filtered">
##INFO=<ID=MBQ,Number=R,Type=Integer,Description="median base quality by allele">
##INFO=<ID=NLOD,Number=A,Type=Float,Description="Normal log 10 likelihood ratio of diploid het or hom alt genotypes">
##INFO=<ID=TLOD,Number=A,Type=Float,Description="Log 10 likelihood ratio score of variant existing versus not existing">
##contig=<ID=chr1,length=2000>
##normal_sample=P1-N
##source=Mutect2
##tumor_sample=P1-T
"""


def other(base: str) -> str:
    return "C" if base != "C" else "G"


@pytest.fixture(scope="module")
def ref(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("m2ref")
    rnd = random.Random(11)
    seq = "".join(rnd.choice("ACGT") for _ in range(2000))
    fa = d / "genome.fa"
    fa.write_text(">chr1\n" + "\n".join(seq[i:i + 60] for i in range(0, 2000, 60)) + "\n")
    pysam.faidx(str(fa))
    return fa


def base(ref: Path, pos: int, n: int = 1) -> str:
    with pysam.FastaFile(str(ref)) as fa:
        return fa.fetch("chr1", pos - 1, pos - 1 + n).upper()


def m2_vcf(path: Path, ref: Path, tumor_only: bool = False) -> dict[str, tuple]:
    """Write a Mutect2-style VCF (NORMAL column first, as Mutect2 orders BAMs) and return its variants."""
    b = {p: base(ref, p) for p in (100, 300, 500, 700, 1100)}
    dele = base(ref, 900, 2)
    while dele[0] == dele[1]:  # keep the deletion unambiguous (not inside a homopolymer)
        raise AssertionError("pick another seed")
    alt2 = next(x for x in "ACGT" if x not in (b[700], other(b[700])))
    # (pos, ref, alts, filter, INFO, normal FORMAT, tumor FORMAT)
    rows = [
        (100, b[100], other(b[100]), ".", "AS_SB_TABLE=20,20|10,10;DP=90;MBQ=30,30;NLOD=9.03;TLOD=60.12",
         "0/0:30,0:0.032:30:15,15,0,0", "0/1:40,20:0.33:60:20,20,10,10"),
        (300, b[300], other(b[300]), ".", "DP=90;MBQ=30,30;NLOD=-3.10;TLOD=80.5",
         "0/1:15,15:0.5:30:8,7,8,7", "0/1:30,30:0.5:60:15,15,15,15"),
        (500, b[500], other(b[500]), ".", "DP=132;MBQ=30,20;NLOD=9.0;TLOD=3.2",
         "0/0:30,0:0.03:30:15,15,0,0", "0/1:100,2:0.02:102:50,50,1,1"),
        (700, b[700], f"{other(b[700])},{alt2}", ".", "AS_SB_TABLE=25,25|5,5|20,0;DP=108;MBQ=30,30,30;"
         "NLOD=9.0,9.0;TLOD=25.0,40.0", "0/0:30,0,0:0.03,0.03:30:15,15,0,0",
         "0/1/2:50,10,20:0.125,0.25:80:25,25,25,5"),
        (900, dele, dele[0], ".", "DP=85;MBQ=30,30;NLOD=9.0;TLOD=40.0",
         "0/0:30,0:0.03:30:15,15,0,0", "0/1:40,15:0.27:55:20,20,8,7"),
        (1100, b[1100], other(b[1100]), "germline", "DP=90;MBQ=30,30;NLOD=5.0;TLOD=50.0",
         "0/0:30,0:0.03:30:15,15,0,0", "0/1:40,20:0.33:60:20,20,10,10"),
    ]
    header = HEADER
    cols = ["P1-N", "P1-T"]
    if tumor_only:
        header = header.replace("##normal_sample=P1-N\n", "")
        cols = ["P1-T"]
    lines = [header.rstrip("\n"),
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *cols])]
    for pos, r, a, flt, info, normal, tumor in rows:
        gts = [tumor] if tumor_only else [normal, tumor]
        lines.append("\t".join(["chr1", str(pos), ".", r, a, ".", flt, info, "GT:AD:AF:DP:SB", *gts]))
    path.write_text("\n".join(lines) + "\n")
    return {pos: (r, a) for pos, r, a, *_ in rows}


def query(vcf: Path, fmt: str, *extra: str) -> list[list[str]]:
    out = subprocess.run(["bcftools", "query", *extra, "-f", fmt, str(vcf)], check=True, capture_output=True,
                         text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_tumor_normal_import(ref: Path, tmp_path: Path) -> None:
    src = tmp_path / "m2.vcf"
    v = m2_vcf(src, ref)
    out = tmp_path / "somatic.vcf.gz"
    assert main(["somatic", "import", "--caller", "mutect2", "--vcf", str(src), "--ref", str(ref),
                 "--out", str(out)]) == 0
    assert Path(str(out) + ".tbi").exists()
    with pysam.VariantFile(str(out)) as vf:
        # the tumor first (cnv reads the first sample as the tumor), whatever Mutect2's column order
        assert list(vf.header.samples) == ["P1-T", "P1-N"]
        assert {"TLOD", "NLOD", "SOMATIC", "MUTECT2_TLOD"} <= set(vf.header.info)
        assert "germline" in vf.header.filters  # the caller's own filter stays declared
    rows = {(int(p), r, a): (f, info) for p, r, a, f, info in
            query(out, "%POS\t%REF\t%ALT\t%FILTER\t%INFO/SOMATIC;%INFO/MUTECT2_TLOD\n")}
    r700, alts700 = v[700]
    a1, a2 = alts700.split(",")
    dele = v[900]
    assert len(rows) == 7  # the multi-allelic record is split per alt allele
    passed = {k[0] for k, (f, _) in rows.items() if f == "PASS"}
    assert passed == {100, 700, 900}
    assert rows[(700, r700, a1)][0] == "PASS"
    assert "strand_bias" in rows[(700, r700, a2)][0]  # 20 forward, 0 reverse alt reads (AS_SB_TABLE)
    assert "germline_risk" in rows[(300, *v[300])][0] and "normal_artifact" in rows[(300, *v[300])][0]
    assert "weak_evidence" in rows[(500, *v[500])][0]
    assert rows[(1100, *v[1100])][0] == "germline"  # Mutect2's filter kept; not SOMATIC
    assert rows[(1100, *v[1100])][1].startswith(".;")
    assert rows[(100, *v[100])][1] == "1;60.12"
    assert (900, *dele) in rows
    # genotype fields as bedside somatic writes them
    gt = query(out, "%POS[\t%GT:%AD:%AF:%DP]\n", "-i", "POS=100")
    assert gt == [["100", "0/1:40,20:0.333:60", "0/0:30,0:0:30"]]
    # the TMB path (bcftools FILTER="PASS") and the report's findings see the same PASS calls
    assert len(query(out, "%POS\n", "-i", 'FILTER="PASS"')) == 3
    findings = read_findings(out, Origin.SOMATIC, sample="P1-T")
    f100 = next(f for f in findings if f.variant.pos == 100)
    assert f100.vaf == pytest.approx(20 / 60, abs=1e-3) and f100.normal_vaf == pytest.approx(0.0)
    assert {f.variant.pos for f in findings} == {100, 700, 900}


def test_tumor_only_import_and_thresholds(ref: Path, tmp_path: Path) -> None:
    src = tmp_path / "m2_to.vcf"
    m2_vcf(src, ref, tumor_only=True)
    out = tmp_path / "to.vcf.gz"
    assert main(["somatic", "import", "--caller", "mutect2", "--vcf", str(src), "--ref", str(ref),
                 "--tumor-only", "--min-vaf", "0.3", "--out", str(out)]) == 0
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == ["P1-T"]
        recs = list(vf)
    assert recs and all(r.info.get("TUMOR_ONLY") for r in recs)
    by_pos = {r.pos: list(r.filter.keys()) for r in recs if len(r.alts[0]) == len(r.ref)}
    assert by_pos[100] == ["PASS"]  # VAF 0.33 >= 0.3
    assert "low_vaf" in by_pos[700]  # both alleles of 700 are below 0.3


@pytest.mark.parametrize("extra, message", [
    (["--tumor-sample", "P9-T"], "tumor sample 'P9-T' is not in the VCF"),
    (["--normal-sample", "P1-T"], "tumor and normal are the same sample"),
])
def test_bad_samples_exit_2(ref, tmp_path, capsys, extra, message) -> None:
    src = tmp_path / "m2.vcf"
    m2_vcf(src, ref)
    rc = main(["somatic", "import", "--caller", "mutect2", "--vcf", str(src), "--ref", str(ref),
               "--out", str(tmp_path / "o.vcf.gz"), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and str(src) in err


def test_tumor_normal_mode_needs_the_normal(ref, tmp_path, capsys) -> None:
    src = tmp_path / "m2_to.vcf"
    m2_vcf(src, ref, tumor_only=True)
    rc = main(["somatic", "import", "--caller", "mutect2", "--vcf", str(src), "--ref", str(ref),
               "--out", str(tmp_path / "o.vcf.gz")])
    err = capsys.readouterr().err
    assert rc == 2 and "needs the normal sample" in err and "--tumor-only" in err


def test_contig_not_in_reference(ref, tmp_path, capsys) -> None:
    src = tmp_path / "m2.vcf"
    m2_vcf(src, ref)
    text = src.read_text().replace("##contig=<ID=chr1,length=2000>", "##contig=<ID=chr1,length=2000>\n"
                                   "##contig=<ID=chrZ,length=5000>")
    src.write_text(text + "chrZ\t10\t.\tA\tC\t.\t.\tTLOD=9\tGT:AD:AF:DP:SB\t0/0:9,0:0:9:5,4,0,0\t"
                          "0/1:9,9:0.5:18:5,4,5,4\n")
    rc = main(["somatic", "import", "--caller", "mutect2", "--vcf", str(src), "--ref", str(ref),
               "--out", str(tmp_path / "o.vcf.gz")])
    err = capsys.readouterr().err
    assert rc == 2 and "contig 'chrZ' is not in the reference" in err and "chrZ:10" in err


def test_sheet_must_hold_the_samples(ref, tmp_path, capsys) -> None:
    src = tmp_path / "m2.vcf"
    m2_vcf(src, ref)
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample_name\tpatient\talias\tplatform\nP1-T\tP1\ttumor\tILLUMINA\n"
                     "P1-N\tP2\tnormal\tILLUMINA\n")
    rc = main(["somatic", "import", "--caller", "mutect2", "--vcf", str(src), "--ref", str(ref),
               "--samples", str(sheet), "--out", str(tmp_path / "o.vcf.gz")])
    err = capsys.readouterr().err
    assert rc == 2 and "belong to different patients" in err


# ---- --device: the array core on another namespace; the error where there is no GPU


def test_device_gpu_without_cupy_exits_2(ref, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError, as without CuPy
    src = tmp_path / "m2.vcf"
    m2_vcf(src, ref)
    out = tmp_path / "o.vcf.gz"
    rc = main(["somatic", "import", "--caller", "mutect2", "--vcf", str(src), "--ref", str(ref),
               "--out", str(out), "--device", "gpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "--device gpu needs CuPy" in err and "--device cpu" in err
    assert not out.exists()
    # `bedside somatic` stops before any pileup (its BAMs need not even exist)
    rc = main(["somatic", "--tumor", str(tmp_path / "t.bam"), "--tumor-only", "--ref", str(ref),
               "--out", str(out), "--device", "gpu"])
    assert rc == 2 and "--device gpu needs CuPy" in capsys.readouterr().err


class _NoDeviceCupy:
    """A CuPy import that finds no CUDA driver: what the real CuPy 14.2.0 (cupy-cuda12x) raised on the
    GPU-less build machine (cudaErrorInsufficientDriver), so the test runs where CuPy is absent."""

    __version__ = "test"

    class cuda:  # noqa: N801 (mirrors cupy.cuda)
        class runtime:  # noqa: N801
            @staticmethod
            def getDeviceCount() -> int:  # noqa: N802
                raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")


def test_device_gpu_without_cuda_device(monkeypatch) -> None:
    from bedside.calling.somatic import DeviceUnavailable

    monkeypatch.setitem(sys.modules, "cupy", _NoDeviceCupy)
    with pytest.raises(DeviceUnavailable, match="no usable CUDA device or driver.*InsufficientDriver"):
        array_module("gpu")
    assert DeviceUnavailable("x").exit_code == 2
    assert array_module("cpu") is np


def test_scoring_on_another_array_namespace_matches_numpy() -> None:
    """The device path (arrays moved to the namespace, scored, moved back) on array_api_strict, a
    non-NumPy namespace like CuPy: the same TLOD/NLOD/VAF/filters as NumPy."""
    xps = pytest.importorskip("array_api_strict")
    for tumor_only in (False, True):
        sites = random_sites(2000, seed=4, tumor_only=tumor_only)
        ref = score(sites, Params())
        got = score_on_device(sites, Params(), xps)
        for k, v in ref.items():
            assert isinstance(got[k], np.ndarray), k
            if k == "filter_mask":
                assert np.array_equal(v, got[k])
            else:
                assert np.allclose(v, got[k], rtol=1e-12, atol=1e-12, equal_nan=True), k


def test_pooled_strand_counts_split_per_allele(ref, tmp_path) -> None:
    """Without INFO/AS_SB_TABLE a multi-allelic record's FORMAT/SB pools the alt alleles (as in raw
    Mutect2 4.1 output): each allele gets its own AD split in the pooled forward/reverse proportion."""
    from bedside.calling.mutect_import import read_mutect2
    from bedside.calling.somatic import fasta_contigs

    src = tmp_path / "m2.vcf"
    m2_vcf(src, ref)
    src.write_text(src.read_text().replace("AS_SB_TABLE=25,25|5,5|20,0;", ""))
    cand, rows, _ = read_mutect2(src, ref, "P1-T", "P1-N", fasta_contigs(ref))
    c = cand.cols
    i, j = [k for k, p in enumerate(cand.pos) if p == 700]
    # pooled SB of the record: 25 forward, 5 reverse alt reads; AD alt 10 and 20
    assert (c["t_alt_fwd"][i], c["t_alt_rev"][i]) == (8, 2)
    assert (c["t_alt_fwd"][j], c["t_alt_rev"][j]) == (17, 3)
    assert all(c["t_alt_fwd"][k] + c["t_alt_rev"][k] == c["t_alt"][k] for k in range(len(cand)))
    assert rows[i].m2_tlod == 25.0 and rows[j].m2_tlod == 40.0
