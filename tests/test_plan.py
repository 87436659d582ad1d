"""The scatter plan (bedside.plan): chunk size from the genome and the calling mode, small contigs packed,
read from the .fai alone; and a whole-genome tumor/normal configuration planned by a Snakemake dry run
within the issue-14 budget of 2,000 jobs per patient."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bedside import plan
from bedside.bench.wgs_plan import grch38_primary, hs38dh_like, write_project
from bedside.cli import main
from bedside.errors import InputError

REPO = Path(__file__).resolve().parents[1]
PRIMARY = grch38_primary()


def test_auto_whole_genome_about_200_chunks():
    chunks = plan.plan_chunks(PRIMARY)
    size = plan.auto_chunk_size(PRIMARY)
    assert size == 15_500_000  # 3.09 Gb / 200, rounded up to 100 kb
    assert 190 <= len(chunks) <= 230
    assert sum(c.bp for c in chunks) == sum(n for _, n in PRIMARY)  # every base once
    assert max(c.bp for c in chunks) <= size
    # chr21 (46.7 Mb) in four equal pieces, not three of 15.5 Mb and a tail
    chr21 = [c for c in chunks if c.regions[0].chrom == "chr21"]
    assert len(chr21) == 4 and max(c.bp for c in chr21) - min(c.bp for c in chr21) <= 1
    # chrM (16.6 kb) is packed, not a chunk of its own... with chrY's neighbour or alone at the end
    assert any(len(c.regions) == 1 and c.regions[0].chrom == "chrM" for c in chunks) or \
        any(r.chrom == "chrM" for c in chunks if len(c.regions) > 1 for r in c.regions)


def test_thousands_of_small_contigs_are_packed():
    contigs = hs38dh_like()
    chunks = plan.plan_chunks(contigs)
    assert len(contigs) == 2825
    assert len(chunks) <= 260, len(chunks)  # not one chunk per decoy
    names = [c.name for c in chunks]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[0-9][0-9][0-9][0-9]+-[A-Za-z0-9._+-]+", n) for n in names)  # the workflow's constraint
    flat = [(r.chrom, r.start, r.end) for c in chunks for r in c.regions]
    assert sum(e - s for _, s, e in flat) == sum(n for _, n in contigs)
    order = {c: i for i, (c, _) in enumerate(contigs)}
    assert flat == sorted(flat, key=lambda x: (order[x[0]], x[1]))  # reference order: gathers concatenate
    packed = [c for c in chunks if len(c.regions) > 1]
    assert packed and all(c.bp <= plan.auto_chunk_size(contigs) for c in packed)


def test_targets_chunks_follow_the_targets(tmp_path):
    bed = tmp_path / "panel.bed"
    rows = [("chr7", 55_019_000, 55_211_700), ("chr7", 140_719_300, 140_924_900),
            ("chr17", 7_661_700, 7_687_600), ("chr12", 25_205_200, 25_250_999)]
    bed.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows))
    chunks = plan.plan_chunks(PRIMARY, "auto", bed)
    # a four-gene panel: one packed chunk (the groups are far smaller than a chunk), targets in genome order
    assert len(chunks) == 1 and [r.chrom for r in chunks[0].regions] == ["chr7", "chr7", "chr12", "chr17"]
    # an exome-like BED over every contig: about as many chunks as the whole genome, never more
    exome = tmp_path / "exome.bed"
    with open(exome, "w") as fh:
        for c, n in PRIMARY:
            for s in range(10_000, n - 1000, 50_000):
                fh.write(f"{c}\t{s}\t{s + 200}\n")
    assert len(plan.plan_chunks(PRIMARY, "auto", exome)) <= 230
    bad = tmp_path / "bad.bed"
    bad.write_text("chr99\t1\t100\n")
    with pytest.raises(InputError, match="chr99"):
        plan.plan_chunks(PRIMARY, "auto", bad)


def test_fixed_size_and_bad_values():
    chunks = plan.plan_chunks([("a", 25_000), ("b", 25_000)], 10_000)
    assert [c.samtools for c in chunks][:1] == [["a:1-8334"]] and len(chunks) == 6
    for bad in (0, -5, "big", 1.5, True):
        with pytest.raises(InputError, match="chunk size"):
            plan.plan_chunks(PRIMARY, bad)


def test_contig_lengths_never_writes_beside_the_reference(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ref = tmp_path / "ref" / "genome.fa.gz"
    ref.parent.mkdir()
    with gzip.open(ref, "wt") as fh:
        fh.write(">chrA desc\nACGT\nAC\n>chrB\n" + "N" * 70 + "\n")
    before = sorted(p.name for p in ref.parent.iterdir())
    assert plan.contig_lengths(ref) == [("chrA", 6), ("chrB", 70)]
    assert sorted(p.name for p in ref.parent.iterdir()) == before  # no .fai written beside it
    cached = list((tmp_path / ".snakemake/bedside-fai").iterdir())
    assert len(cached) == 1
    assert plan.contig_lengths(ref) == [("chrA", 6), ("chrB", 70)]
    dup = tmp_path / "dup.fa"
    dup.write_text(">x\nA\n>x\nC\n")
    with pytest.raises(InputError, match="appears twice"):
        plan.contig_lengths(dup)
    notfa = tmp_path / "reads.fa"
    notfa.write_text("@r1\nACGT\n")
    with pytest.raises(InputError, match="not a FASTA"):
        plan.contig_lengths(notfa)


def test_plan_command(tmp_path, capsys):
    fa = tmp_path / "g.fa"
    fa.write_text(">a\nACGT\n")
    (tmp_path / "g.fa.fai").write_text("".join(f"{c}\t{n}\t0\t60\t61\n" for c, n in hs38dh_like()))
    out = tmp_path / "chunks.tsv"
    assert main(["plan", "--fasta", str(fa), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert '"chunks":' in printed and '"packed_chunks":' in printed
    lines = out.read_text().splitlines()
    assert 190 <= len(lines) <= 260 and all(len(line.split("\t")) == 2 for line in lines)


@pytest.mark.slow
def test_wgs_tumor_normal_dry_run_within_2000_jobs_per_patient(tmp_path):
    """A 30x whole-genome T/N configuration (GRCh38 + 2,800 decoy/HLA contigs, 8 lanes per sample, two
    patients so the cohort rules are planned too), dry-run: the plan stays within 2,000 jobs per patient.
    A dry run reads only the reference's .fai (the FASTA here holds a placeholder sequence; its index
    carries the real GRCh38 lengths), the sheets and the configuration."""
    contigs = hs38dh_like()
    config = write_project(tmp_path, REPO / "config/config.yaml", patients=2, lanes=8, contigs=contigs)
    assert yaml.safe_load(config.read_text())["calling"]["chunk_size"] == "auto"
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/Snakefile"),
                          "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"),
                          "-n", "--quiet", "rules", "--cores", "16"],
                         capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.MULTILINE)}
    n_chunks = len(plan.plan_chunks(contigs))
    assert counts["somatic_chunk"] == 2 * n_chunks and counts["germline_chunk"] == 2 * n_chunks
    assert counts["joint_chunk"] == n_chunks
    assert counts["total"] / 2 <= 2000, counts
    # nothing was written beside the reference, and no job ran
    assert sorted(p.name for p in (tmp_path / "ref").iterdir()) == ["genes.gff3", "genome.fa", "genome.fa.fai"]
    assert not (tmp_path / "results").exists()
    print(f"WGS T/N dry run: {counts['total']} jobs for 2 patients ({n_chunks} chunks) in {seconds:.1f} s")
