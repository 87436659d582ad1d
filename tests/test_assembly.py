"""Local reassembly of indel regions (bedside.calling.assembly): its parts on constructed sequences,
then the whole caller on real GIAB reads (HG001 HiSeq X, shipped in tests/data/giab) at a CA repeat that
bwa writes inconsistently and the pileup callers get wrong."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedside.calling import assembly as A
from bedside.cli import main

from .conftest import require_tools

REPO = Path(__file__).resolve().parents[1]
GIAB = REPO / "tests" / "data" / "giab"
HISEQX = GIAB / "HG001.chr20.10_10p1mb_sorted.bam"
HS37 = GIAB / "hs37d5.chr20.fa.gz"
V332 = GIAB / "HG001_GRCh37_v3.3.2.20_10000000-10100000.vcf.gz"


def _frag(text: str, q: int = 35) -> A.Fragment:
    return A.Fragment(A._CODE[np.frombuffer(text.encode(), dtype=np.uint8)],
                      np.full(len(text), q, dtype=np.uint8), text)


def _random_seq(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(n))


# ---------------------------------------------------------------------------------------------
# parts


def test_repeat_span_finds_the_whole_tract():
    seq = "GCGTCAAAAAAAGCTCCACACACACACGTGA"
    a, b = A.repeat_span(seq, seq.index("AAAA") + 2)
    assert seq[a:b] == "AAAAAAA"
    i = seq.index("CACACA")
    a, b = A.repeat_span(seq, i + 3)
    assert seq[a:b].startswith("CACACACACA") and b - a >= 10
    assert A.repeat_span("ACGTTGCA", 3) == (3, 4)  # no repeat: the base itself


def test_left_align_moves_indels_to_the_start_of_their_repeat():
    ref = "GGTACACACAGG"
    #      0123456789
    # deleting the last "CA" (positions 8-9, anchor 7 'A') is the same as deleting the first one
    assert A.left_align(107, "ACA", "A", ref, 100) == (102, "TAC", "T")
    # an inserted A in an A run moves to the base before the run
    ref2 = "CTGAAAAT"
    assert A.left_align(105, "A", "AA", ref2, 100) == (102, "G", "GA")
    # SNVs and MNP-like pairs are only trimmed
    assert A.left_align(103, "AC", "AT", ref, 100) == (104, "C", "T")


def test_haplotype_events_recovers_snv_insertion_and_deletion():
    ref = _random_seq(120, 1)
    events = {A.Event(1020, ref[20], "T" if ref[20] != "T" else "G"),
              A.Event(1050, ref[50], ref[50] + "GATTACA"),
              A.Event(1080, ref[80:84], ref[80])}
    hap = A.apply_events(ref, 1000, events)
    got = set(A.haplotype_events(hap, ref, 1000))
    assert A.apply_events(ref, 1000, got) == hap
    assert got == {A.Event(*A.left_align(e.pos, e.ref, e.alt, ref, 1000)) for e in events}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), spec=st.lists(st.tuples(st.integers(5, 110), st.integers(-4, 4)),
                                                  min_size=1, max_size=4))
def test_events_round_trip_to_the_same_haplotype(seed, spec):
    """Whatever the events, decomposing the haplotype they make gives events that make it again."""
    ref = _random_seq(130, seed)
    rng = random.Random(seed)
    events, taken = set(), set()
    for pos, kind in spec:
        span = set(range(pos - 1, pos + abs(kind) + 2))
        if span & taken:
            continue
        taken |= span
        if kind == 0:
            events.add(A.Event(pos, ref[pos], rng.choice([b for b in "ACGT" if b != ref[pos]])))
        elif kind > 0:
            events.add(A.Event(pos, ref[pos], ref[pos] + "".join(rng.choice("ACGT") for _ in range(kind))))
        else:
            events.add(A.Event(pos, ref[pos:pos - kind + 1], ref[pos]))
    hap = A.apply_events(ref, 0, events)
    assert A.apply_events(ref, 0, A.haplotype_events(hap, ref, 0)) == hap


def test_pairhmm_prefers_the_haplotype_the_read_came_from():
    ref = _random_seq(200, 2)
    alt = ref[:100] + ref[103:]  # a 3 bp deletion
    read_ref, read_alt = ref[40:150], alt[40:147]
    lk = A.read_likelihoods([_frag(read_ref), _frag(read_alt)], [ref, alt])
    assert lk[0, 0] > lk[0, 1] + 2 and lk[1, 1] > lk[1, 0] + 2
    # a read matching perfectly at Q35 loses ~110 * 10^-3.5 in log10 space, plus the uniform start
    assert lk[0, 0] == pytest.approx(np.log10(1 / len(ref)) + 110 * np.log10(1 - 10 ** -3.5), abs=0.05)
    # no read moves a haplotype by more than the mis-mapping cap
    assert (lk.max(axis=1) - lk.min(axis=1) <= A.AssemblyParams().mismapping + 1e-9).all()


def test_assemble_and_genotype_a_heterozygous_deletion():
    ref = _random_seq(260, 3)
    alt = ref[:130] + ref[134:]  # 4 bp deletion
    frags = []
    for hap in (ref, alt):
        for start in range(0, len(hap) - 100, 7):
            frags.append(_frag(hap[start:start + 100]))
    haps, k = A.assemble(ref, frags)
    assert k == 25 and ref in haps and alt in haps
    lk = A.read_likelihoods(frags, haps)
    calls = A.genotype_region("c", A.Region("c", 1100, 1160), 1000, ref, haps, lk)
    assert len(calls) == 1
    c = calls[0]
    assert (c.pos, c.ref, c.alts, c.gt) == (1129, ref[129:134], [ref[129]], (0, 1))
    assert c.qual > 100 and c.ad[0] > 5 and c.ad[1] > 5
    # only reference reads: nothing to call
    ref_only = [f for f in frags if f.text in ref]
    haps2, _ = A.assemble(ref, ref_only)
    lk2 = A.read_likelihoods(ref_only, haps2)
    assert A.genotype_region("c", A.Region("c", 1100, 1160), 1000, ref, haps2, lk2) == []


def test_repetitive_reference_needs_a_larger_k():
    unit = _random_seq(30, 4)
    ref = _random_seq(40, 5) + unit * 2 + _random_seq(40, 6)  # a 30 bp unit twice: k <= 30 repeats
    frags = [_frag(ref[i:i + 90]) for i in range(0, len(ref) - 90, 5)]
    haps, k = A.assemble(ref, frags)
    assert k > 30 and haps == [ref]


# ---------------------------------------------------------------------------------------------
# real reads


def _truth(chrom, start, end):
    with pysam.VariantFile(str(V332)) as vf:
        return {(r.pos, r.ref, a) for r in vf.fetch(chrom, start, end) for a in r.alts}


def test_ca_repeat_is_called_as_giab_v332_has_it():
    """20:10,008,9xx: the reads say TTTAACCACAC...; bwa writes a 2 bp deletion at the wrong place, so
    bcftools/freebayes call AAC>A there. The reassembly gives exactly GIAB v3.3.2's three records
    (TA>T hom, CACACACACACA>CCACACACACA / C het-het, C>CA het)."""
    with pysam.AlignmentFile(str(HISEQX)) as bam, pysam.FastaFile(str(HS37)) as fa:
        regions = A.active_regions(bam, fa, "20", 10_008_900, 10_009_000)
        assert len(regions) == 1
        calls = A.call_region(bam, fa, regions[0])
    got = {(c.pos + 1, c.ref, tuple(c.alts), c.gt) for c in calls}
    assert got == {(10008921, "C", ("CA",), (0, 1)), (10008948, "TA", ("T",), (1, 1)),
                   (10008952, "CACACACACACA", ("CCACACACACA", "C"), (1, 2))}
    truth = _truth("20", 10_008_900, 10_009_000)
    assert {(c.pos + 1, c.ref, a) for c in calls for a in c.alts} == truth


@pytest.fixture(scope="module")
def hs37_plain(tmp_path_factory):
    """An uncompressed slice of the reference (freebayes reads no bgzip)."""
    require_tools("samtools")
    d = tmp_path_factory.mktemp("ref")
    out = subprocess.run(["samtools", "faidx", str(HS37), "20:1-10200000"], check=True,
                         capture_output=True, text=True).stdout
    fa = d / "hs37d5_20.fa"
    fa.write_text(">20\n" + out.split("\n", 1)[1])
    pysam.faidx(str(fa))
    return fa


def test_cli_reassembles_by_default_and_not_with_no_assembly(tmp_path, hs37_plain):
    require_tools("bcftools", "freebayes")
    base = ["germline", "call", "--bam", str(HISEQX), "--ref", str(hs37_plain),
            "--region", "20:10008000-10010000"]
    assert main(base + ["--out", str(tmp_path / "asm.vcf.gz")]) == 0
    assert main(base + ["--no-assembly", "--out", str(tmp_path / "plain.vcf.gz")]) == 0
    with pysam.VariantFile(str(tmp_path / "asm.vcf.gz")) as vf:
        assert "ASM" in vf.header.info and "bedside-assembly-1" in str(vf.header)
        recs = list(vf)
    with pysam.VariantFile(str(tmp_path / "plain.vcf.gz")) as vf:
        assert "ASM" not in vf.header.info
        plain = {(r.pos, r.ref, r.alts[0]) for r in vf}
    asm = {(r.pos, r.ref, r.alts[0]) for r in recs}
    assert (10008948, "TA", "T") in asm and (10008948, "TA", "T") not in plain
    # records outside active regions are the pileup calls, unchanged (SNVs in plain sequence)
    assert {(10009227, "A", "G"), (10009400, "T", "A")} <= asm & plain
    assert all("ASM" in r.info for r in recs if r.pos in (10008921, 10008948, 10008952))
    # every written record is sorted, biallelic, has a genotype and depth
    assert [r.pos for r in recs] == sorted(r.pos for r in recs)
    for r in recs:
        assert len(r.alts) == 1 and None not in r.samples[0]["GT"]
        if "ASM" in r.info:
            assert r.qual >= 20 and r.samples[0]["DP"] > 0 and len(r.samples[0]["AD"]) == 2
