"""Local reassembly of indel regions for germline calling (a haplotype caller in miniature).

bcftools and freebayes call indels from the read alignments as bwa wrote them. In tandem repeats and
next to other variants bwa often writes the same read sequence differently from read to read (a 2 bp
deletion here, two 1 bp deletions there, an insertion as a run of mismatches or a soft clip), and the
pileup callers then call the wrong allele or none. This module re-derives the alleles from the read
*sequences*, the way GATK HaplotypeCaller does (Poplin et al. 2018, doi:10.1101/201178):

1. **Active regions** (:func:`active_regions`): reference positions where >= ``min_evidence`` reads
   (MAPQ >= ``min_mapq``, not duplicate/secondary/QC-fail) show an insertion or deletion in their CIGAR
   or are soft-clipped by >= ``min_clip`` bases, padded and widened to cover the whole homopolymer or
   tandem repeat they lie in; nearby regions are merged.
2. **Assembly** (:func:`assemble`): a de Bruijn graph of the reads' k-mers (bases with quality
   < ``min_base_qual`` break k-mers) threaded on the reference k-mers of the padded window; k-mer
   transitions seen in < ``min_edge`` reads are pruned; k grows (25 ... 95) until the reference k-mers
   are unique and the graph is acyclic. The best-scoring source-to-sink paths (at most
   ``max_haplotypes``) are the candidate haplotypes, with the reference always among them.
3. **Read likelihoods** (:func:`read_likelihoods`): every read, clipped to the window (soft clips kept),
   is aligned to every haplotype with a pair hidden Markov model (base qualities as mismatch
   probabilities, gap open Q45, gap extension Q10, free start and end on the haplotype), as in GATK;
   one read can move a haplotype's likelihood by at most the global mis-mapping rate (Q45).
4. **Genotypes** (:func:`genotype_region`): each haplotype is aligned to the reference (Smith-Waterman
   scores of GATK's haplotype-to-reference alignment) and decomposed into events (left-aligned
   SNVs/indels). Per event start, a read's likelihood for an allele is its best likelihood over the
   haplotypes that carry it (the reference allele: haplotypes with no event over that base); diploid
   genotype likelihoods, priors (heterozygosity 1e-3 for SNVs, 1.25e-4 for indels) and QUAL =
   -10 log10 P(no ALT | reads), as HaplotypeCaller does.

Inside an active region the reassembled calls replace the pileup callers' records
(:mod:`bedside.calling.reassemble`); everywhere else the pileup calls and their filter stand. One sample
at a time. Measured on GIAB truth in ``benchmarks/germline_heldout.py`` (``benchmarks/README.md``).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

VERSION = "bedside-assembly-1"

_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[ord(chr(_b).lower())] = _i


@dataclass(frozen=True)
class AssemblyParams:
    min_mapq: int = 20
    min_base_qual: int = 10  # k-mers with a weaker base are not counted
    min_evidence: int = 2  # reads with an indel (or a long soft clip) at a position to make it active
    min_clip: int = 5
    pad: int = 25  # bp added around active positions before the repeat widening
    flank: int = 40  # bp of reference added around a region for assembly anchors and read context
    kmer_sizes: tuple[int, ...] = (25, 35, 45, 55, 65, 75, 85, 95)
    min_edge: int = 2  # reads supporting a k-mer transition that is not in the reference
    max_haplotypes: int = 24
    gop: int = 45  # pair-HMM gap open (phred)
    gcp: int = 10  # pair-HMM gap continuation (phred)
    mismapping: float = 4.5  # log10 cap of one read's effect (global mis-mapping rate Q45)
    het_snv: float = 1e-3
    het_indel: float = 1.25e-4
    min_qual: float = 20.0
    max_region: int = 600  # longer windows are left to the pileup callers
    max_reads: int = 400  # reads per window (deeper windows are downsampled evenly)


@dataclass(frozen=True)
class Region:
    chrom: str
    start: int  # 0-based, half-open: calls starting here are replaced by the assembly's
    end: int


@dataclass(frozen=True, order=True)
class Event:
    pos: int  # 0-based genome position of the first REF base (the anchor for indels)
    ref: str
    alt: str

    @property
    def is_indel(self) -> bool:
        return len(self.ref) != len(self.alt)

    @property
    def end(self) -> int:
        return self.pos + len(self.ref)


@dataclass
class Call:
    chrom: str
    pos: int  # 0-based
    ref: str
    alts: list[str]
    gt: tuple[int, int]
    qual: float
    gq: int
    dp: int
    ad: list[int]
    pl: list[int] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# reads


@dataclass
class Fragment:
    seq: np.ndarray  # uint8 codes 0-3, 4 = N
    qual: np.ndarray  # uint8 phred
    text: str


def _usable(read, min_mapq: int) -> bool:
    return not (read.is_unmapped or read.is_secondary or read.is_duplicate or read.is_qcfail
                or read.is_supplementary or read.mapping_quality < min_mapq or read.query_sequence is None)


def clip_to_window(read, ws: int, we: int) -> tuple[int, int] | None:
    """Query interval of ``read`` that lies over reference [ws, we); soft clips at a read end that is
    itself inside the window are kept (an insertion bwa could not place often hides there)."""
    pairs = read.get_aligned_pairs()
    qlen = read.query_length
    qs = qe = None
    if read.reference_start >= ws:
        qs = 0
    if read.reference_end is not None and read.reference_end <= we:
        qe = qlen
    if qs is None:
        for q, r in pairs:
            if q is not None and r is not None and r >= ws:
                qs = q
                break
    if qe is None:
        for q, r in reversed(pairs):
            if q is not None and r is not None and r < we:
                qe = q + 1
                break
    if qs is None or qe is None or qe - qs < 20:
        return None
    return qs, qe


def fragments(bam, chrom: str, ws: int, we: int, params: AssemblyParams) -> list[Fragment]:
    out = []
    for read in bam.fetch(chrom, ws, we):
        if not _usable(read, params.min_mapq):
            continue
        span = clip_to_window(read, ws, we)
        if span is None:
            continue
        qs, qe = span
        text = read.query_sequence[qs:qe]
        quals = read.query_qualities
        q = (np.full(qe - qs, 30, dtype=np.uint8) if quals is None
             else np.minimum(np.asarray(quals[qs:qe], dtype=np.uint8), 40))
        out.append(Fragment(_CODE[np.frombuffer(text.encode(), dtype=np.uint8)], q, text))
    if len(out) > params.max_reads:  # even downsampling, deterministic
        step = len(out) / params.max_reads
        out = [out[int(i * step)] for i in range(params.max_reads)]
    return out


# ---------------------------------------------------------------------------------------------
# active regions


def repeat_span(seq: str, pos: int) -> tuple[int, int]:
    """The homopolymer / tandem repeat of ``seq`` containing ``pos`` (germline_model.repeat_tract)."""
    from bedside.calling.germline_model import repeat_tract

    return repeat_tract(seq.upper(), pos)


def evidence_positions(bam, chrom: str, start: int, end: int, params: AssemblyParams) -> list[int]:
    """Reference positions in [start, end) with >= ``min_evidence`` reads showing an indel there or
    soft-clipped (>= ``min_clip`` bases) there."""
    counts: Counter[int] = Counter()
    for read in bam.fetch(chrom, start, end):
        if not _usable(read, params.min_mapq) or read.cigartuples is None:
            continue
        pos = read.reference_start
        seen = set()
        cig = read.cigartuples
        for i, (op, length) in enumerate(cig):
            if op in (0, 7, 8):
                pos += length
            elif op == 1:
                seen.add(pos)
            elif op == 2:
                seen.add(pos)
                pos += length
            elif op == 4 and length >= params.min_clip:
                seen.add(pos if i > 0 else pos - 1)
        for p in seen:
            if start <= p < end:
                counts[p] += 1
    return sorted(p for p, n in counts.items() if n >= params.min_evidence)


def active_regions(bam, fasta, chrom: str, start: int, end: int,
                   params: AssemblyParams = AssemblyParams(),
                   extra: Iterable[int] = ()) -> list[Region]:
    """Merged regions around the evidence positions (and ``extra`` positions, e.g. indel calls),
    each widened to the repeat tract it touches; clipped to [start, end)."""
    points = sorted(set(evidence_positions(bam, chrom, start, end, params)) | {p for p in extra
                                                                                if start <= p < end})
    if not points:
        return []
    clen = fasta.get_reference_length(chrom)
    spans = []
    for p in points:
        lo, hi = max(0, p - 60), min(clen, p + 61)
        seq = fasta.fetch(chrom, lo, hi).upper()
        a, b = repeat_span(seq, p - lo)
        a2, b2 = repeat_span(seq, min(p + 1 - lo, len(seq) - 1))  # an insertion sits after p
        a, b = min(a, a2) + lo, max(b, b2) + lo
        spans.append((max(start, min(a, p) - params.pad), min(end, max(b, p + 1) + params.pad)))
    spans.sort()
    merged = [list(spans[0])]
    for a, b in spans[1:]:
        if a <= merged[-1][1] + 10:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [Region(chrom, a, b) for a, b in merged]


# ---------------------------------------------------------------------------------------------
# assembly


def _kmers_ok(ref: str, k: int) -> bool:
    seen = set()
    for i in range(len(ref) - k + 1):
        km = ref[i:i + k]
        if km in seen or "N" in km:
            return False
        seen.add(km)
    return True


def _edge_counts(frags: Sequence[Fragment], k: int, min_bq: int) -> Counter[str]:
    """(k+1)-mers (graph edges), counted once per read."""
    counts: Counter[str] = Counter()
    for f in frags:
        text, q = f.text, f.qual
        n = len(text)
        if n < k + 1:
            continue
        weak = np.flatnonzero((q < min_bq) | (f.seq > 3))
        seen = set()
        # split at weak bases
        cuts = [-1, *weak.tolist(), n]
        for a, b in zip(cuts, cuts[1:]):
            seg = text[a + 1:b]
            for i in range(len(seg) - k):
                seen.add(seg[i:i + k + 1])
        counts.update(seen)
    return counts


def _graph(ref: str, frags: Sequence[Fragment], k: int, params: AssemblyParams):
    counts = _edge_counts(frags, k, params.min_base_qual)
    ref_edges = {ref[i:i + k + 1] for i in range(len(ref) - k)}
    out: dict[str, list[tuple[str, int]]] = {}
    for edge, n in counts.items():
        if n >= params.min_edge or edge in ref_edges:
            out.setdefault(edge[:k], []).append((edge[1:], n))
    for edge in ref_edges:
        succ = out.setdefault(edge[:k], [])
        if not any(s == edge[1:] for s, _ in succ):
            succ.append((edge[1:], 0))
    return out


def _acyclic_from(graph, source: str) -> bool:
    state: dict[str, int] = {}
    stack = [(source, iter(graph.get(source, ())))]
    state[source] = 1
    while stack:
        node, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            state[node] = 2
            stack.pop()
            continue
        succ = nxt[0]
        s = state.get(succ, 0)
        if s == 1:
            return False
        if s == 0:
            state[succ] = 1
            stack.append((succ, iter(graph.get(succ, ()))))
    return True


def assemble(ref: str, frags: Sequence[Fragment], params: AssemblyParams = AssemblyParams()
             ) -> tuple[list[str], int]:
    """Candidate haplotypes over ``ref`` (the reference haplotype first) and the k used; ([ref], 0)
    when no k gives unique reference k-mers and an acyclic graph."""
    for k in params.kmer_sizes:
        if k + 1 >= len(ref) or not _kmers_ok(ref, k):
            continue
        graph = _graph(ref, frags, k, params)
        source, sink = ref[:k], ref[-k:]
        if not _acyclic_from(graph, source):
            continue
        return _best_paths(graph, source, sink, ref, params.max_haplotypes), k
    return [ref], 0


def _best_paths(graph, source: str, sink: str, ref: str, limit: int) -> list[str]:
    """Up to ``limit`` source-to-sink paths, best first by the product of each step's share of its
    node's outgoing read support (k-best search over an acyclic graph)."""
    found = [ref]
    heap = [(0.0, source)]
    pops = 0
    max_len = len(ref) * 2 + 200
    while heap and len(found) < limit + 1 and pops < 20_000:
        cost, path = heapq.heappop(heap)
        pops += 1
        node = path[-len(sink):]
        if node == sink:
            if path not in found:
                found.append(path)
            continue
        succ = graph.get(node, ())
        total = sum(max(n, 1) for _, n in succ)
        if len(path) > max_len:
            continue
        for nxt, n in succ:
            heapq.heappush(heap, (cost - math.log(max(n, 1) / total), path + nxt[-1]))
    return found[: limit + 1]


# ---------------------------------------------------------------------------------------------
# pair-HMM and haplotype-to-reference alignment


def read_likelihoods(frags: Sequence[Fragment], haps: Sequence[str],
                     params: AssemblyParams = AssemblyParams()) -> np.ndarray:
    """log10 P(read | haplotype), reads x haplotypes, each read capped at its best minus the global
    mis-mapping penalty."""
    if not frags or not haps:
        return np.zeros((len(frags), len(haps)))
    reads = np.concatenate([f.seq for f in frags])
    quals = np.concatenate([f.qual for f in frags]).astype(np.float64)
    roff = np.cumsum([0] + [len(f.seq) for f in frags]).astype(np.int64)
    hcodes = [_CODE[np.frombuffer(h.encode(), dtype=np.uint8)] for h in haps]
    hap_arr = np.concatenate(hcodes)
    hoff = np.cumsum([0] + [len(h) for h in hcodes]).astype(np.int64)
    from bedside.calling.assembly_dp import all_pairs  # numba: imported only where a region is called

    lk = all_pairs(reads, quals, roff, hap_arr, hoff, 10.0 ** (-params.gop / 10.0),
                   10.0 ** (-params.gcp / 10.0))
    best = lk.max(axis=1, keepdims=True)
    return np.maximum(lk, best - params.mismapping)


def left_align(pos: int, ref: str, alt: str, seq: str, offset: int) -> tuple[int, str, str]:
    """Trim and left-align one event against ``seq`` (the reference from genome position ``offset``)."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    if len(ref) != len(alt) and min(len(ref), len(alt)) == 1 and ref[0] == alt[0]:
        while pos - 1 >= offset and ref[-1] == alt[-1]:
            pos -= 1
            base = seq[pos - offset]
            ref, alt = base + ref[:-1], base + alt[:-1]
    return pos, ref, alt


def haplotype_events(hap: str, ref: str, offset: int) -> list[Event]:
    """The SNVs and indels that turn ``ref`` (genome position ``offset``) into ``hap``, left-aligned."""
    if hap == ref:
        return []
    from bedside.calling.assembly_dp import SW, align

    ops = align(_CODE[np.frombuffer(hap.encode(), dtype=np.uint8)],
                _CODE[np.frombuffer(ref.encode(), dtype=np.uint8)], *SW)
    events = []
    i = j = 0
    k = 0
    while k < len(ops):
        op = ops[k]
        if op == 0:
            if hap[i] != ref[j]:
                events.append(Event(offset + j, ref[j], hap[i]))
            i += 1
            j += 1
            k += 1
            continue
        run = 0
        while k + run < len(ops) and ops[k + run] == op:
            run += 1
        if j == 0:  # a gap before the first reference base cannot be anchored: not an event here
            i += run if op == 1 else 0
            j += run if op == 2 else 0
            k += run
            continue
        anchor = ref[j - 1]
        if op == 1:
            events.append(Event(offset + j - 1, anchor, anchor + hap[i:i + run]))
            i += run
        else:
            events.append(Event(offset + j - 1, anchor + ref[j:j + run], anchor))
            j += run
        k += run
    out = []
    for e in events:
        p, r, a = left_align(e.pos, e.ref, e.alt, ref, offset)
        out.append(Event(p, r, a))
    return sorted(set(out))


# ---------------------------------------------------------------------------------------------
# genotyping


def _logsumexp10(x: np.ndarray, axis=None) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return (m + np.log10(np.sum(10.0 ** (x - m), axis=axis, keepdims=True))).squeeze(axis)


def genotype_region(chrom: str, region: Region, window_start: int, ref: str, haps: Sequence[str],
                    lk: np.ndarray, params: AssemblyParams = AssemblyParams()) -> list[Call]:
    """Diploid calls at each event start inside ``region`` from the read x haplotype likelihoods."""
    hap_events = [set(haplotype_events(h, ref, window_start)) for h in haps]
    starts = sorted({e.pos for evs in hap_events for e in evs if region.start <= e.pos < region.end})
    calls = []
    nreads = lk.shape[0]
    for pos in starts:
        alleles = sorted({e for evs in hap_events for e in evs if e.pos == pos},
                         key=lambda e: (len(e.ref), e.alt))
        # haplotypes carrying no event over this base carry the reference allele
        ref_haps = [i for i, evs in enumerate(hap_events)
                    if not any(e.pos <= pos < max(e.end, e.pos + 1) for e in evs)]
        cols = [ref_haps] + [[i for i, evs in enumerate(hap_events) if a in evs] for a in alleles]
        # haplotypes with an event that starts elsewhere but spans this base: the '*' allele
        star = [i for i in range(len(haps)) if i not in ref_haps and not any(i in c for c in cols[1:])]
        if star:
            cols.append(star)
        allele_lk = np.full((nreads, len(cols)), -1e9)
        for c, hs in enumerate(cols):
            if hs:
                allele_lk[:, c] = lk[:, hs].max(axis=1)
        # reads that cannot tell the alleles apart add nothing; spanning-deletion haplotypes are ignored
        informative = (allele_lk.max(axis=1) - np.where(allele_lk > -1e8, allele_lk, np.inf).min(axis=1)) > 1e-6
        a_lk = allele_lk[informative]
        n_all = len(cols)
        gts = [(a, b) for b in range(n_all) for a in range(b + 1)]  # VCF order
        gl = np.empty(len(gts))
        for g, (a, b) in enumerate(gts):
            if a_lk.shape[0] == 0:
                gl[g] = 0.0
            else:
                pair = np.logaddexp(a_lk[:, a] * math.log(10), a_lk[:, b] * math.log(10)) / math.log(10)
                gl[g] = float(np.sum(pair - math.log10(2.0)))
        prior = np.empty(len(gts))
        n_alt = len(alleles)
        for g, (a, b) in enumerate(gts):
            lp = 0.0
            for x in {a, b} - {0}:
                if x > n_alt:  # '*': its own event is priced at its own start
                    continue
                h = params.het_indel if alleles[x - 1].is_indel else params.het_snv
                lp += math.log10(h) + (math.log10(0.5) if a == b else 0.0)
            prior[g] = lp
        post = gl + prior
        post = post - _logsumexp10(post)
        best = int(np.argmax(post))
        gt = gts[best]
        if not any(0 < x <= n_alt for x in gt):
            continue
        # QUAL: the probability that no ALT of this site is present (reference or '*' only)
        p_ref = float(_logsumexp10(np.array([post[g] for g, (a, b) in enumerate(gts)
                                             if not (0 < a <= n_alt or 0 < b <= n_alt)])))
        qual = min(-10.0 * p_ref, 9999.0) if p_ref < 0 else 0.0
        if qual < params.min_qual:
            continue
        others = np.delete(post, best)
        gq = int(min(99, round(-10.0 * float(_logsumexp10(others))))) if len(others) else 99
        pl_raw = -10.0 * (gl - gl.max())
        # allele depths: reads whose best allele beats the others by >= 0.2 log10
        ad = [0] * n_all
        srt = np.sort(allele_lk, axis=1)
        for r in range(nreads):
            if srt[r, -1] - srt[r, -2] >= 0.2:
                ad[int(np.argmax(allele_lk[r]))] += 1
        used = sorted(x for x in set(gt) if 0 < x <= n_alt)
        keep = [0] + used
        remap = {old: new for new, old in enumerate(keep)}
        gt = tuple(x if x <= n_alt else 0 for x in gt)  # '*' is written as not this site's ALT
        ref_allele = max((alleles[x - 1].ref for x in used), key=len)
        alts = []
        for x in used:
            e = alleles[x - 1]
            alts.append(e.alt + ref_allele[len(e.ref):])
        sub_gts = [(a, b) for b in range(len(keep)) for a in range(b + 1)]
        lookup = {g: i for i, g in enumerate(gts)}
        pl = []
        for a, b in sub_gts:
            oa, ob = keep[a], keep[b]
            pl.append(int(round(pl_raw[lookup[(min(oa, ob), max(oa, ob))]])))
        calls.append(Call(chrom, pos, ref_allele, alts, (remap[gt[0]], remap[gt[1]]), round(qual, 2), gq,
                          int(nreads), [ad[x] for x in keep], [p - min(pl) for p in pl]))
    return calls


def cigar_events(bam, chrom: str, ws: int, we: int, ref: str, params: AssemblyParams) -> list[Event]:
    """Insertions and deletions that >= ``min_evidence`` reads carry in their CIGAR inside [ws, we),
    as events against ``ref`` (the reference from ``ws``): candidates the assembly may have missed
    (low base qualities in a homopolymer break its k-mers)."""
    counts: Counter[Event] = Counter()
    for read in bam.fetch(chrom, ws, we):
        if not _usable(read, params.min_mapq) or read.cigartuples is None:
            continue
        pos, q = read.reference_start, 0
        seq = read.query_sequence
        for op, length in read.cigartuples:
            if op in (0, 7, 8):
                pos += length
                q += length
            elif op == 1:
                if ws < pos < we - 1:
                    counts[Event(pos - 1, ref[pos - 1 - ws], ref[pos - 1 - ws] + seq[q:q + length])] += 1
                q += length
            elif op == 2:
                if ws < pos and pos + length < we - 1:
                    counts[Event(pos - 1, ref[pos - 1 - ws:pos + length - ws], ref[pos - 1 - ws])] += 1
                pos += length
            elif op == 4:
                q += length
    out = set()
    for e, n in counts.items():
        if n >= params.min_evidence and "N" not in e.alt:
            out.add(Event(*left_align(e.pos, e.ref, e.alt, ref, ws)))
    return sorted(out)


def apply_events(ref: str, offset: int, events: Iterable[Event]) -> str:
    out, at = [], 0
    for e in sorted(events):
        i = e.pos - offset
        out.append(ref[at:i])
        out.append(e.alt)
        at = i + len(e.ref)
    out.append(ref[at:])
    return "".join(out)


def add_event_haplotypes(haps: list[str], events: Sequence[Event], ref: str, offset: int,
                         params: AssemblyParams) -> list[str]:
    """``haps`` plus, for each read-CIGAR event, each assembled haplotype with that event added where it
    does not overlap the haplotype's own events (at most ``max_haplotypes`` * 3 in all)."""
    out = list(haps)
    seen = set(out)
    bases = [set(haplotype_events(h, ref, offset)) for h in haps]
    for e in events:
        for evs in bases:
            if e in evs or any(x.pos <= e.end and e.pos <= x.end for x in evs):
                continue
            h = apply_events(ref, offset, evs | {e})
            if h not in seen and len(out) < params.max_haplotypes * 3:
                seen.add(h)
                out.append(h)
    return out


def call_region(bam, fasta, region: Region, params: AssemblyParams = AssemblyParams()) -> list[Call] | None:
    """Reassemble one region; None when it cannot be assembled (the pileup calls then stand)."""
    clen = fasta.get_reference_length(region.chrom)
    ws, we = max(0, region.start - params.flank), min(clen, region.end + params.flank)
    if we - ws > params.max_region:
        return None
    ref = fasta.fetch(region.chrom, ws, we).upper()
    if "N" in ref:
        return None
    frags = fragments(bam, region.chrom, ws, we, params)
    if not frags:
        return None
    haps, k = assemble(ref, frags, params)
    if k == 0:
        return None
    haps = add_event_haplotypes(haps, cigar_events(bam, region.chrom, ws, we, ref, params), ref, ws, params)
    lk = read_likelihoods(frags, haps, params)
    return genotype_region(region.chrom, region, ws, ref, haps, lk, params)
