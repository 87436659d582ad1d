"""Scattered biomarker jobs give the unscattered result: MSI repeat-length counts per chunk merged into one
score (`bedside msi --counts-out` / `--merge`) and CNVkit coverage + SNP pileup per chunk merged into one
segmentation and purity fit (`bedside cnv --coverage-out` / `--coverage-chunks`), on tumor/normal reads
simulated with ART + bwa mem (seeded; unstable microsatellites, an amplification and a one-copy loss at
purity 0.6), over a scatter plan whose chunk boundaries fall inside bins; and the territory that makes the
chunks tile the genome when the plan follows targets."""

from __future__ import annotations

import filecmp
import json
import shutil

import pytest

from bedside import biomarkers, cli, plan
from bedside.calling import msi
from bedside.demo import biomarker_sim as bs
from bedside.errors import InputError

TOOLS = ("art_illumina", "bwa", "samtools", "bcftools", "cnvkit", "Rscript")
needs_tools = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason=f"needs {TOOLS}")
CONTIGS = {"chr1": 70_500, "chr2": 70_300}  # 25 kb chunks: three 23.5 kb pieces per contig, off the 1 kb bins


# ------------------------------------------------------------------------------------------ territory

def _bases(regions: list[str]) -> set[tuple[str, int]]:
    out = set()
    for r in regions:
        c, _, rng = r.partition(":")
        a, b = map(int, rng.split("-"))
        out |= {(c, i) for i in range(a, b + 1)}
    return out


def test_territory_is_the_chunks_for_whole_genome_plans():
    contigs = [("c1", 100_000), ("c2", 31_000), ("c3", 2_000), ("c4", 1_500)]
    chunks = plan.plan_chunks(contigs, 40_000)
    tiles = biomarkers.scatter_territory(chunks, contigs)
    assert [tiles[c.name] for c in chunks] == [c.samtools for c in chunks]


def test_territory_tiles_the_genome_when_chunks_follow_targets(tmp_path):
    contigs = [("c1", 3_000), ("c2", 5_000), ("c3", 4_000), ("c4", 2_000)]
    bed = tmp_path / "t.bed"
    bed.write_text("c2\t100\t200\nc2\t4000\t4500\nc3\t10\t60\nc3\t3000\t3100\n")
    chunks = plan.plan_chunks(contigs, 1_000, bed)
    assert len(chunks) >= 2
    tiles = biomarkers.scatter_territory(chunks, contigs)
    per = [_bases(tiles[c.name]) for c in chunks]
    genome = {(c, i) for c, n in contigs for i in range(1, n + 1)}
    assert set().union(*per) == genome and sum(map(len, per)) == len(genome)  # every base exactly once
    for c, bases in zip(chunks, per):
        assert _bases(c.samtools) <= bases  # a chunk keeps its own targets
    # c1 (no targets) goes to the first chunk, c4 (after the last target) to the last
    assert ("c1", 1) in per[0] and ("c4", 2_000) in per[-1]


def test_territory_refuses_an_unordered_plan():
    contigs = [("c1", 100_000), ("c2", 100_000)]
    chunks = plan.plan_chunks(contigs, 50_000)
    with pytest.raises(InputError, match="reference order"):
        biomarkers.scatter_territory(list(reversed(chunks)), contigs)


def test_select_sites_assigns_a_boundary_site_to_the_chunk_of_its_start():
    s = msi.Site("c", 95, 110, "A", 15, "ACGTA", "CGTAC")
    assert msi.select_sites([s], [("c", 0, 100)]) == [s]
    assert msi.select_sites([s], [("c", 100, 200)]) == []


# ----------------------------------------------------------------------------------- simulated reads

@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    if any(shutil.which(t) is None for t in TOOLS):
        pytest.skip(f"needs {TOOLS}")
    d = tmp_path_factory.mktemp("scatter")
    specs = [bs.GeneSpec("ERBB2", "chr1", "+", 20_000, 5), bs.GeneSpec("PTEN", "chr2", "-", 30_000, 5),
             bs.GeneSpec("KRAS", "chr1", "-", 50_000, 5), bs.GeneSpec("TP53", "chr2", "+", 52_000, 5)]
    g = bs.build_genome(21, CONTIGS, specs, n_microsatellites=70)
    bs.write_reference(g, d / "ref.fa", d / "genes.gff3")
    erbb2, pten = g.gene("ERBB2"), g.gene("PTEN")
    events = [bs.CopyEvent("chr1", erbb2.start - 6_000, erbb2.end + 6_000, 6, 1),
              bs.CopyEvent("chr2", pten.start - 8_000, pten.end + 8_000, 1, 0)]
    unstable = list(range(0, len(g.microsatellites), 3))
    bs.simulate_bam(bs.normal_components(g, d / "wn"), 40, d / "ref.fa", d / "N.bam", "P1-N", 31)
    bs.simulate_bam(bs.tumor_components(g, bs.TumorPlan(purity=0.6, copy_events=events, unstable=unstable,
                                                         seed=7), d / "wt"), 60, d / "ref.fa", d / "T.bam",
                    "P1-T", 32)
    chunks = plan.plan_chunks(plan.contig_lengths(d / "ref.fa"), 25_000)
    tiles = biomarkers.scatter_territory(chunks, plan.contig_lengths(d / "ref.fa"))
    assert len(chunks) == 6 and any(int(c.samtools[0].split("-")[-1]) % 1000 for c in chunks)
    return d, [tiles[c.name] for c in chunks]


@pytest.mark.slow
@needs_tools
def test_msi_scattered_equals_unscattered(sim, tmp_path):
    d, tiles = sim
    pair = ["--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa")]
    sites = tmp_path / "sites.tsv"
    assert cli.main(["msi", "--ref", str(d / "ref.fa"), "--write-sites", str(sites)]) == 0
    whole, whole_sites = tmp_path / "whole.json", tmp_path / "whole_sites.tsv"
    assert cli.main(["msi", *pair, "--sites", str(sites), "--min-sites", "20", "--out", str(whole),
                     "--sites-out", str(whole_sites)]) == 0
    counts = []
    for i, regions in enumerate(tiles):
        counts.append(tmp_path / f"chunk{i}.tsv")
        assert cli.main(["msi", *pair, "--sites", str(sites), "--region", *regions, "--counts-out",
                         str(counts[-1])]) == 0
    merged, merged_sites = tmp_path / "merged.json", tmp_path / "merged_sites.tsv"
    # chunk order does not matter: the merge puts the sites back in reference order
    assert cli.main(["msi", "--ref", str(d / "ref.fa"), "--merge", *map(str, reversed(counts)), "--min-sites", "20",
                     "--out", str(merged), "--sites-out", str(merged_sites)]) == 0
    a, b = json.loads(whole.read_text()), json.loads(merged.read_text())
    assert a["status"] == "assessable" and a["classification"] == "MSI-H" and a["count"] >= 10
    assert (b["value"], b["count"], b["assessed_sites"], b["scanned_sites"]) == \
        (a["value"], a["count"], a["assessed_sites"], a["scanned_sites"])
    assert a == b  # the whole record
    assert filecmp.cmp(whole_sites, merged_sites, shallow=False)  # every site's lengths, tests and call
    n_rows = sum(len(msi.read_counts(c)[1]) for c in counts)
    assert n_rows == a["scanned_sites"]  # each site in exactly one chunk
    # without a site list the chunks scan whole contigs, so they see the same sites
    c0 = tmp_path / "scan0.tsv"
    assert cli.main(["msi", *pair, "--region", *tiles[0], "--counts-out", str(c0)]) == 0
    assert msi.read_counts(c0)[1] == msi.read_counts(counts[0])[1]


@pytest.mark.slow
@needs_tools
def test_msi_merge_refuses_overlapping_or_foreign_chunks(sim, tmp_path, capsys):
    d, tiles = sim
    pair = ["--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa")]
    a = tmp_path / "a.tsv"
    assert cli.main(["msi", *pair, "--region", *tiles[0], "--counts-out", str(a)]) == 0
    rc = cli.main(["msi", "--ref", str(d / "ref.fa"), "--merge", str(a), str(a), "--out", str(tmp_path / "m.json")])
    assert rc == 2 and "overlapping chunks" in capsys.readouterr().err
    other = tmp_path / "other.tsv"
    other.write_text(a.read_text().replace('"tumor": "P1-T"', '"tumor": "P9-T"'))
    b = tmp_path / "b.tsv"
    assert cli.main(["msi", *pair, "--region", *tiles[1], "--counts-out", str(b)]) == 0
    rc = cli.main(["msi", "--ref", str(d / "ref.fa"), "--merge", str(b), str(other), "--out",
                   str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "other.tsv" in err and "P9-T" in err
    bad = tmp_path / "bad.tsv"
    bad.write_text(a.read_text() + "chr1\t5\t20\tA\t15\tACGTA\tCGTAC\t15=3\t.\n")
    rc = cli.main(["msi", "--ref", str(d / "ref.fa"), "--merge", str(bad), "--out", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.tsv" in err and "length:reads" in err
    assert not (tmp_path / "m.json").exists()


def _cnv(args):
    assert cli.main(["cnv", *args]) == 0


@pytest.mark.slow
@needs_tools
def test_cnv_scattered_equals_unscattered(sim, tmp_path, capsys):
    d, tiles = sim
    pair = ["--tumor", str(d / "T.bam"), "--normal", str(d / "N.bam"), "--ref", str(d / "ref.fa")]
    tail = ["--gff3", str(d / "genes.gff3"), "--no-plot"]
    _cnv([*pair, *tail, "--out-dir", str(tmp_path / "whole")])
    dirs = []
    for i, regions in enumerate(tiles):
        dirs.append(tmp_path / "chunks" / f"c{i}")
        _cnv([*pair, "--region", *regions, "--coverage-out", str(dirs[-1])])
    _cnv([*pair, *tail, "--coverage-chunks", *map(str, reversed(dirs)), "--out-dir", str(tmp_path / "merged")])
    whole = json.loads((tmp_path / "whole" / "cnv.json").read_text())
    assert whole["fit"]["status"] == "assessable" and abs(whole["fit"]["purity"] - 0.6) <= 0.1
    calls = {r.split("\t")[0]: r.split("\t")[4] for r in (tmp_path / "whole/genes.tsv").read_text().splitlines()[1:]}
    assert calls["ERBB2"] == "amplification" and calls["PTEN"] == "loss"
    for f in ("segments.tsv", "genes.tsv", "cnv.json"):
        assert filecmp.cmp(tmp_path / "whole" / f, tmp_path / "merged" / f, shallow=False), f
    bins = sum(json.loads((x / "meta.json").read_text())["bins"] for x in dirs)
    assert bins == sum(n // 1000 + (n % 1000 > 0) for n in CONTIGS.values())  # each bin in exactly one chunk
    # a missing chunk is an error naming what is missing, never a result over part of the genome
    rc = cli.main(["cnv", *pair, *tail, "--coverage-chunks", *map(str, dirs[1:]), "--out-dir",
                   str(tmp_path / "part")])
    err = capsys.readouterr().err
    assert rc == 2 and "in no chunk" in err and "chr1:0-1000" in err
    assert not (tmp_path / "part" / "segments.tsv").exists()
