"""`bedside cnv`: CNVkit segmentation + Bedside purity/ploidy fit and gene calls on tumor/normal reads
simulated with ART + bwa mem (ERBB2 amplification, CDKN2A homozygous deletion, PTEN one-copy loss,
copy-neutral LOH over BRCA1, at purity 0.6), the fit on synthetic segments, and bad-input errors."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from bedside import cli
from bedside.calling import cnv
from bedside.demo import biomarker_sim as bs

TOOLS = ("art_illumina", "bwa", "samtools", "bcftools", "cnvkit", "Rscript")
needs_tools = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason=f"needs {TOOLS}")


@pytest.fixture
def bedside(monkeypatch):
    assert "cnv" in cli.COMMANDS  # registered in the CLI
    return cli.main


def _expected(p, na, nb, psi=2.0):
    l2 = math.log2((p * (na + nb) + 2 * (1 - p)) / (p * psi + 2 * (1 - p)))
    beta = (p * nb + 1 - p) / (p * (na + nb) + 2 * (1 - p))
    return l2, beta


@pytest.mark.parametrize("purity", [0.3, 0.55, 0.8])
def test_fit_recovers_purity_from_synthetic_segments(purity):
    rng = np.random.default_rng(1)
    states = [(1, 1), (1, 0), (7, 1), (0, 0), (2, 0), (2, 1), (1, 1)]
    segs, se, snps = [], [], []
    for i, (na, nb) in enumerate(states):
        l2, beta = _expected(purity, na, nb)
        segs.append(cnv.Segment("c", i * 100, i * 100 + 100, l2 + rng.normal(0, 0.02), 40))
        se.append(0.04)
        d = rng.poisson(60, 40).astype(float)
        k = np.where(rng.random(40) < 0.5, rng.binomial(d.astype(int), beta), rng.binomial(d.astype(int), 1 - beta))
        snps.append((k.astype(float), d))
    p, psi, _, got = cnv.fit_purity(segs, se, snps)
    assert abs(p - purity) <= 0.05
    assert [(a + b, b) for a, b in got] == [(na + nb, min(na, nb)) for na, nb in states]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    if any(shutil.which(t) is None for t in TOOLS):
        pytest.skip(f"needs {TOOLS}")
    d = tmp_path_factory.mktemp("cnv")
    names = ["ERBB2", "CDKN2A", "BRCA1", "PTEN", "KRAS", "EGFR", "TP53", "MYC", "NRAS"]
    contigs = {"chr1": 140000, "chr2": 140000, "chr3": 140000}
    pos = dict.fromkeys(contigs, 20000)
    specs = []
    for i, n in enumerate(names):
        c = list(contigs)[i % 3]
        specs.append(bs.GeneSpec(n, c, "+" if i % 2 == 0 else "-", pos[c], 6))
        pos[c] += 38000
    g = bs.build_genome(5, contigs, specs)
    bs.write_reference(g, d / "ref.fa", d / "genes.gff3")

    def around(name, pad, a, b):
        x = g.gene(name)
        return bs.CopyEvent(x.contig, x.start - 1 - pad, x.end + pad, a, b)

    events = [around("ERBB2", 8000, 7, 1), around("CDKN2A", 6000, 0, 0), around("BRCA1", 12000, 2, 0),
              around("PTEN", 9000, 1, 0)]
    bs.simulate_bam(bs.normal_components(g, d / "wn"), 30, d / "ref.fa", d / "N.bam", "P1-N", 11)
    bs.simulate_bam(bs.tumor_components(g, bs.TumorPlan(purity=0.6, copy_events=events, seed=3), d / "wt"), 40,
                    d / "ref.fa", d / "T.bam", "P1-T", 12)
    return d, g


@pytest.mark.slow
@needs_tools
def test_cnv_calls_on_simulated_reads(sim, bedside, tmp_path):
    d, _ = sim
    out = tmp_path / "cnv"
    assert bedside(["cnv", "--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa"),
                    "--gff3", str(d / "genes.gff3"), "--out-dir", str(out), "--threads", "2"]) == 0
    summary = json.loads((out / "cnv.json").read_text())
    fit = summary["fit"]
    assert fit["status"] == "assessable" and abs(fit["purity"] - 0.6) <= 0.1
    assert abs(fit["ploidy"] - 2.0) <= 0.3
    rows = [ln.split("\t") for ln in (out / "genes.tsv").read_text().splitlines()]
    assert rows[0][:7] == ["gene", "chrom", "start", "end", "call", "copy_number", "minor_cn"]
    calls = {r[0]: r for r in rows[1:]}
    assert calls["ERBB2"][4] == "amplification" and int(calls["ERBB2"][5]) >= 6
    assert calls["CDKN2A"][4] == "homozygous_deletion" and calls["CDKN2A"][5] == "0"
    assert calls["PTEN"][4] == "loss" and calls["PTEN"][5] == "1"
    assert calls["BRCA1"][4] == "cn_loh" and calls["BRCA1"][6] == "0"
    for g in ("KRAS", "EGFR", "TP53", "MYC", "NRAS"):
        assert calls[g][4] == "neutral", calls[g]
    seg_head = (out / "segments.tsv").read_text().splitlines()[0].split("\t")
    assert seg_head[:7] == ["chrom", "start", "end", "log2", "copy_number", "minor_cn", "n_bins"]
    assert (out / "cnv.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
@needs_tools
def test_cnv_not_assessable_and_bad_inputs(sim, bedside, tmp_path, capsys):
    d, _ = sim
    out = tmp_path / "few"
    # a 20 kb region: 20 bins (< 30) -> purity not assessable, with the reason, and no number
    assert bedside(["cnv", "--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa"),
                    "--region", "chr3:60001-80000", "--out-dir", str(out), "--no-plot"]) == 0
    fit = json.loads((out / "cnv.json").read_text())["fit"]
    assert fit["status"] == "not_assessable" and fit["purity"] is None and "bins" in fit["reason"]
    rc = bedside(["cnv", "--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa"),
                  "--region", "chr3:100000-900000", "--out-dir", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert rc == 2 and "outside" in err and "ref.fa" in err
    shutil.copy(d / "T.bam", tmp_path / "noidx.bam")
    rc = bedside(["cnv", "--tumor", str(tmp_path / "noidx.bam"), "--normal", str(d / "N.bam"), "--ref",
                  str(d / "ref.fa"), "--out-dir", str(tmp_path / "y")])
    err = capsys.readouterr().err
    assert rc == 2 and "noidx.bam" in err
    assert not (tmp_path / "y" / "segments.tsv").exists()


def test_germline_zygosity_from_segments():
    segs = [cnv.Segment("chr17", 0, 5000, 0.0, 5, copy_number=2, minor_cn=0),
            cnv.Segment("chr17", 5000, 9000, -0.4, 4, copy_number=1, minor_cn=0),
            cnv.Segment("chr17", 9000, 20000, 0.0, 11, copy_number=2, minor_cn=1),
            cnv.Segment("chr9", 0, 900, 0.0, 1)]
    assert cnv.germline_zygosity(segs, "chr17", 100, 0.83, 0.7) == \
        "LOH (copy-neutral); variant allele retained (tumor VAF 0.83, purity 0.70)"
    assert cnv.germline_zygosity(segs, "chr17", 6000, 0.2).startswith("LOH (with copy loss); reference allele")
    assert cnv.germline_zygosity(segs, "chr17", 12000) == "heterozygous (retained)"
    assert cnv.germline_zygosity(segs, "chr9", 10) is None and cnv.germline_zygosity(segs, "chr1", 10) is None


def test_sex_from_x_depth_and_haploid_x_gene_calls(tmp_path):
    def table(name, x_depth):
        rows = [f"chr1\t{i * 1000}\t{i * 1000 + 1000}\t-\t30\t4.9" for i in range(20)]
        rows += [f"chrX\t{i * 1000}\t{i * 1000 + 1000}\t-\t{x_depth}\t4" for i in range(10)]
        (tmp_path / name).write_text(cnv.COVERAGE_HEADER + "\n" + "\n".join(rows) + "\n")
        return tmp_path / name

    assert cnv.one_x(table("m.cnn", 15)) is True and cnv.one_x(table("f.cnn", 29)) is False
    (tmp_path / "auto.cnn").write_text(cnv.COVERAGE_HEADER + "\nchr1\t0\t1000\t-\t30\t4.9\n")
    assert cnv.one_x(tmp_path / "auto.cnn") is None  # no X bins: sex unknown
    # a male's X: one copy is neutral (not a loss, and minor copy number 0 is not LOH); none is a deletion
    fit = cnv.Fit("assessable", purity=0.7, ploidy=2.0)
    segs = [cnv.Segment("chrX", 0, 9000, 0.0, 9, copy_number=1, minor_cn=0),
            cnv.Segment("chrX", 9000, 20000, -2.5, 11, copy_number=0, minor_cn=0),
            cnv.Segment("chr1", 0, 9000, 0.0, 9, copy_number=2, minor_cn=0)]
    genes = [("AR", "chrX", 100, 5000), ("DMD", "chrX", 10000, 15000), ("G1", "chr1", 100, 5000)]
    calls = {g.gene: g.call for g in cnv.call_genes(genes, segs, fit, haploid={"chrX", "chrY"})}
    assert calls == {"AR": "neutral", "DMD": "homozygous_deletion", "G1": "cn_loh"}
    # the same X in a female (two X expected) is a loss with LOH
    assert cnv.call_genes(genes[:1], segs, fit)[0].call == "loss"


def test_segment_and_gene_tables_round_trip(tmp_path):
    fit = cnv.Fit("assessable", purity=0.6, ploidy=2.1)
    segs = [cnv.Segment("c", 0, 9000, 1.4, 9, 12, 0.21, 8, 1, 8.1), cnv.Segment("c", 9000, 30000, 0.0, 21)]
    genes = [cnv.GeneCall("ERBB2", "c", 100, 5000, "amplification", 8, 1, 1.4, 9, "purity fit")]
    cnv.write_outputs(cnv.CnvResult("T", "N", fit, segs, genes), tmp_path, [], None, plot=False)
    assert cnv.read_segments(tmp_path / "segments.tsv") == segs
    assert cnv.read_gene_calls(tmp_path / "genes.tsv") == genes
    assert json.loads((tmp_path / "cnv.json").read_text())["calls"][0]["gene"] == "ERBB2"


def test_demo_copy_number_plan(tmp_path):
    """Demo plants: PT01 CDKN2A homozygous deletion, PT04 ERBB2 amplification and copy-neutral LOH over
    BRCA1 (whose germline c.68_69del is on haplotype A, the one kept); heterozygous background SNPs."""
    import pysam

    from bedside.demo import generate as gen

    gen.generate(tmp_path / "demo", gen.DEFAULT_SEED, reads=False)
    pats = json.loads((tmp_path / "demo/truth/biomarkers.json").read_text())["patients"]
    assert [(e["gene"], e["call"]) for e in pats["PT01"]["copy"]] == [("CDKN2A", "homozygous_deletion")]
    assert [(e["gene"], e["call"]) for e in pats["PT04"]["copy"]] == [("ERBB2", "amplification"), ("BRCA1", "cn_loh")]
    assert 0.6 <= pats["PT04"]["purity"] <= 0.9
    with pysam.VariantFile(str(tmp_path / "demo/truth/PT04.germline.vcf.gz")) as vf:
        recs = list(vf)
    assert sum(r.info["CATEGORY"] == "background" for r in recs) >= 300
    brca = next(r for r in recs if r.info.get("GENE") == "BRCA1")
    assert brca.samples[0]["GT"] == (1, 0)  # haplotype A: kept by the copy-neutral LOH
