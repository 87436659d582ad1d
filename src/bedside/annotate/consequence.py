"""Variant consequence and HGVS c./p. on one transcript, computed from the GFF3 transcript model.

Conventions (HGVS, https://hgvs-nomenclature.org): c. positions are relative to the A of the ATG (c.1);
5' UTR and upstream positions are c.-N, 3' UTR / downstream c.*N, intronic c.N+d / c.N-d from the
nearest exon (the middle of an odd intron goes to +). Insertions and deletions are shifted to their most
3' position in the transcript before being described; an insertion repeating the preceding bases is a
dup. Protein changes use 3-letter codes: p.Val600Glu, p.Pro227= (synonymous), p.Arg213Ter (nonsense),
p.Glu23ValfsTer17, p.Glu746_Ala750del, p.Met1? (start lost), p.Ter394GlnextTer5 (stop lost). Variants
that touch an intron are described at protein level as p.? (effect unknown without RNA evidence).
Sequence Ontology terms and impacts follow Ensembl VEP's table.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from bedside.annotate.hgvs import _AAS, AA3, CODON_TABLE, translate
from bedside.annotate.transcripts import Transcript, revcomp

UPSTREAM = 5000  # bp 5' of the transcript reported as upstream_gene_variant (VEP default)
DOWNSTREAM = 5000

IMPACT = {
    "splice_acceptor_variant": "HIGH", "splice_donor_variant": "HIGH", "stop_gained": "HIGH",
    "frameshift_variant": "HIGH", "stop_lost": "HIGH", "start_lost": "HIGH",
    "inframe_insertion": "MODERATE", "inframe_deletion": "MODERATE", "missense_variant": "MODERATE",
    "protein_altering_variant": "MODERATE",
    "splice_region_variant": "LOW", "synonymous_variant": "LOW", "stop_retained_variant": "LOW",
    "start_retained_variant": "LOW", "coding_sequence_variant": "MODIFIER",
    "5_prime_UTR_variant": "MODIFIER", "3_prime_UTR_variant": "MODIFIER",
    "non_coding_transcript_exon_variant": "MODIFIER", "intron_variant": "MODIFIER",
    "upstream_gene_variant": "MODIFIER", "downstream_gene_variant": "MODIFIER",
}
ORDER = list(IMPACT)
_IMPACT_RANK = {"HIGH": 0, "MODERATE": 1, "LOW": 2, "MODIFIER": 3}


@dataclass
class Annotation:
    gene: str
    transcript: str
    terms: list[str]
    hgvs_c: str
    hgvs_p: str
    protein_position: int | None

    @property
    def consequence(self) -> str:
        return "&".join(self.terms)

    @property
    def impact(self) -> str:
        if len(self.terms) == 1:
            return IMPACT[self.terms[0]]
        return min((IMPACT[t] for t in self.terms), key=_IMPACT_RANK.__getitem__)

    def csq_field(self) -> str:
        return "|".join([self.gene, self.transcript, self.consequence, self.hgvs_c, self.hgvs_p, self.impact,
                         "" if self.protein_position is None else str(self.protein_position)])


def trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Remove shared suffix then prefix: returns (start, core_ref, core_alt); empty core_ref = insertion
    before ``start``."""
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


class Locator:
    """Position arithmetic on one transcript (genomic <-> cDNA <-> c.)."""

    def __init__(self, tx: Transcript):
        self.tx = tx
        self.starts = [s for s, _ in tx.exons]
        self.ends = [e for _, e in tx.exons]
        self.plus = tx.strand == "+"
        self._op: list[int] = []
        acc = 0
        for s, e in tx.exons:
            self._op.append(acc)
            acc += e - s + 1
        self._om = [0] * len(tx.exons)
        acc = 0
        for i in range(len(tx.exons) - 1, -1, -1):
            s, e = tx.exons[i]
            self._om[i] = acc
            acc += e - s + 1
        self._offs = self._op if self.plus else self._om

    def exon_index(self, g: int) -> int | None:
        i = bisect_right(self.starts, g) - 1
        if i >= 0 and g <= self.ends[i]:
            return i
        return None

    def cdna(self, g: int) -> int | None:
        i = bisect_right(self.starts, g) - 1
        if i < 0 or g > self.ends[i]:
            return None
        if self.plus:
            return self._offs[i] + g - self.starts[i] + 1
        return self._offs[i] + self.ends[i] - g + 1

    @property
    def _offsets_plus(self) -> list[int]:
        return self._op

    @property
    def _offsets_minus(self) -> list[int]:
        return self._om

    def c_of_cdna(self, cdna: int) -> str:
        tx = self.tx
        if not tx.coding:
            return str(cdna)
        if cdna < tx.cds_start:
            return f"-{tx.cds_start - cdna}"
        if cdna > tx.cds_end:
            return f"*{cdna - tx.cds_end}"
        return str(cdna - tx.cds_start + 1)

    def intron_offset(self, g: int) -> tuple[int, int] | None:
        """(anchor cDNA, signed offset) for an intronic position, None when not intronic."""
        starts, ends = self.starts, self.ends
        i = bisect_right(starts, g) - 1
        if i < 0 or i >= len(starts) - 1 or g <= ends[i]:
            return None
        left_end = ends[i]
        right_start = starts[i + 1]
        dl, dr = g - left_end, right_start - g
        offs = self._offs
        if self.plus:
            if dl <= dr:
                return offs[i] + left_end - starts[i] + 1, dl
            return offs[i + 1] + 1, -dr
        # minus strand: the right exon is 5' in the transcript
        if dr <= dl:
            return offs[i + 1] + ends[i + 1] - right_start + 1, dr
        return offs[i] + 1, -dl

    def c_pos(self, g: int) -> str:
        tx = self.tx
        starts, ends = self.starts, self.ends
        i = bisect_right(starts, g) - 1
        if i >= 0 and g <= ends[i]:  # exonic
            return self.c_of_cdna(self._offs[i] + (g - starts[i] + 1 if self.plus else ends[i] - g + 1))
        if 0 <= i < len(starts) - 1:  # intronic
            anchor, off = self.intron_offset(g)  # type: ignore[misc]
            return f"{self.c_of_cdna(anchor)}{'+' if off > 0 else '-'}{abs(off)}"
        # outside the transcript
        five = g < tx.start if tx.strand == "+" else g > tx.end
        d = (tx.start - g) if g < tx.start else (g - tx.end)
        if five:
            return f"-{(tx.cds_start - 1 if tx.coding else 0) + d}"
        return f"*{(tx.length - tx.cds_end if tx.coding else 0) + d}" if tx.coding else f"+{d}"

    def region_terms(self, g: int) -> tuple[str, frozenset[str]]:
        """('exon'|'intron'|'outside', splice terms) for one genomic base."""
        starts, ends = self.starts, self.ends
        n = len(starts)
        i = bisect_right(starts, g) - 1
        if i >= 0 and g <= ends[i]:
            # exonic bases within 3 bp of a splice site (not the transcript ends)
            if (i > 0 and g - starts[i] < 3) or (i < n - 1 and ends[i] - g < 3):
                return "exon", _SR
            return "exon", _NONE
        if i < 0 or i >= n - 1:
            return "outside", _NONE
        dl, dr = g - ends[i], starts[i + 1] - g
        if self.plus:
            off = dl if dl <= dr else -dr
        else:
            off = dr if dr <= dl else -dl
        a = off if off > 0 else -off
        if a <= 2:
            return "intron", _DONOR if off > 0 else _ACCEPTOR
        if a <= 8:
            return "intron", _SR
        return "intron", _NONE


_NONE: frozenset[str] = frozenset()
_SR = frozenset({"splice_region_variant"})
_DONOR = frozenset({"splice_donor_variant"})
_ACCEPTOR = frozenset({"splice_acceptor_variant"})


_SHIFT_MAX = 2000  # bases searched for the 3' shift of an indel
_SHIFT_PROBE = 64  # a first, small window; the full one is fetched only when the shift reaches its edge


def _shift3(fasta, chrom: str, start: int, ref: str, alt: str, strand: str) -> tuple[int, str, str]:
    """Shift a pure insertion/deletion (trimmed, 1-based start) to its most 3' position on the transcript
    (at most 2000 bases)."""
    if ref and alt:
        return start, ref, alt
    res = _shift3_window(fasta, chrom, start, ref, alt, strand, _SHIFT_PROBE)
    if res is None:
        res = _shift3_window(fasta, chrom, start, ref, alt, strand, _SHIFT_MAX)
        assert res is not None
    return res


def _shift3_window(fasta, chrom: str, start: int, ref: str, alt: str, strand: str,
                   span: int) -> tuple[int, str, str] | None:
    """:func:`_shift3` over a window of ``span`` bases; None when the shift ran to the end of a window
    shorter than the full search (the caller retries with the full window, so the result is the same)."""
    seq = ref or alt
    n = len(seq)
    full = span >= _SHIFT_MAX
    if strand == "+":
        window = fasta.fetch(chrom, start - 1, start - 1 + n + span).upper() if ref else \
            fasta.fetch(chrom, start - 1, start - 1 + span).upper()
        short = not full and len(window) == (n + span if ref else span)  # else: the contig ends inside
        k = 0
        if ref:  # deletion of window[0:n]; shift while next base equals first deleted base
            while n + k < len(window) and window[k] == window[n + k]:
                k += 1
            if short and n + k >= len(window):
                return None
            return start + k, window[k:k + n], ""
        s = seq
        while k < len(window) and window[k] == s[0]:
            s = s[1:] + s[0]
            k += 1
        if short and k >= len(window):
            return None
        return start + k, "", s
    # minus strand: shift towards lower genomic coordinates
    lo = max(0, start - 1 - span)
    short = not full and lo > 0 and lo > start - 1 - _SHIFT_MAX
    if ref:
        window = fasta.fetch(chrom, lo, start - 1 + n).upper()
        end = len(window)  # window[end-n:end] is the deletion
        k = 0
        while end - n - k - 1 >= 0 and window[end - k - 1] == window[end - n - k - 1]:
            k += 1
        if short and end - n - k - 1 < 0:
            return None
        return start - k, window[end - n - k:end - k], ""
    window = fasta.fetch(chrom, lo, start - 1).upper()
    s, k = seq, 0
    while k < len(window) and window[len(window) - 1 - k] == s[-1]:
        s = s[-1] + s[:-1]
        k += 1
    if short and k >= len(window):
        return None
    return start - k, "", s


def _p3(aa: str) -> str:
    return "".join(AA3.get(a, "Xaa") for a in aa)


def describe_protein(p_ref: str, q_alt: str, frameshift: bool) -> tuple[str, str, int | None]:
    """(SO term, HGVS p., first changed residue) from reference and alternative protein sequences.

    ``p_ref`` ends with '*'; ``q_alt`` is translated until its first stop (with '*' when one was found)."""
    n = min(len(p_ref), len(q_alt))
    i = 0
    while i + 64 <= n and p_ref[i:i + 64] == q_alt[i:i + 64]:  # skip the shared prefix in slices
        i += 64
    while i < n and p_ref[i] == q_alt[i]:
        i += 1
    if i == len(p_ref) == len(q_alt):
        return "synonymous_variant", "", None  # caller fills p.X=
    if i >= len(p_ref):
        return "synonymous_variant", "", None
    if i == 0 and p_ref[0] == "M" and (not q_alt or q_alt[0] != "M"):
        return "start_lost", "p.Met1?", 1
    ref_aa = p_ref[i]
    if ref_aa == "*":
        # stop lost: extension
        new = q_alt[i] if i < len(q_alt) else "X"
        stop = q_alt.find("*", i + 1)
        ext = f"Ter{stop - i}" if stop > 0 else "Ter?"
        return "stop_lost", f"p.Ter{i + 1}{_p3(new)}ext{ext}", i + 1
    if i < len(q_alt) and q_alt[i] == "*":
        # a frameshift whose first changed residue is a stop is written as a nonsense change (HGVS)
        return ("frameshift_variant" if frameshift else "stop_gained"), f"p.{_p3(ref_aa)}{i + 1}Ter", i + 1
    if frameshift:
        if i >= len(q_alt):
            return "frameshift_variant", f"p.{_p3(ref_aa)}{i + 1}fs", i + 1
        stop = q_alt.find("*", i)
        tail = f"Ter{stop - i + 1}" if stop >= 0 else "Ter?"
        return "frameshift_variant", f"p.{_p3(ref_aa)}{i + 1}{_p3(q_alt[i])}fs{tail}", i + 1
    # in-frame: common suffix
    m = 0
    while m < len(p_ref) - i and m < len(q_alt) - i and p_ref[-1 - m] == q_alt[-1 - m]:
        m += 1
    dele = p_ref[i:len(p_ref) - m]
    ins = q_alt[i:len(q_alt) - m]
    pos = i + 1
    if len(dele) == 1 and len(ins) == 1:
        return "missense_variant", f"p.{_p3(dele)}{pos}{_p3(ins)}", pos
    if not ins:
        if len(dele) == 1:
            return "inframe_deletion", f"p.{_p3(dele)}{pos}del", pos
        return "inframe_deletion", f"p.{_p3(dele[0])}{pos}_{_p3(dele[-1])}{pos + len(dele) - 1}del", pos
    if not dele:
        L = len(ins)
        if L <= i and p_ref[i - L:i] == ins:
            if L == 1:
                return "inframe_insertion", f"p.{_p3(ins)}{i}dup", i
            return "inframe_insertion", f"p.{_p3(ins[0])}{i - L + 1}_{_p3(ins[-1])}{i}dup", i - L + 1
        return "inframe_insertion", f"p.{_p3(p_ref[i - 1])}{i}_{_p3(p_ref[i])}{i + 1}ins{_p3(ins)}", i
    term = "inframe_deletion" if len(dele) > len(ins) else "inframe_insertion" if len(ins) > len(dele) \
        else "missense_variant" if len(dele) == 1 else "protein_altering_variant"
    rng = f"{_p3(dele[0])}{pos}" + (f"_{_p3(dele[-1])}{pos + len(dele) - 1}" if len(dele) > 1 else "")
    return term, f"p.{rng}delins{_p3(ins)}", pos


class TranscriptAnnotator:
    """Annotates variants against one transcript; caches the spliced sequence and protein."""

    def __init__(self, tx: Transcript, fasta):
        self.tx = tx
        self.fasta = fasta
        self.loc = Locator(tx)
        self._protein: str | None = None

    @property
    def lo(self) -> int:
        return self.tx.start - (UPSTREAM if self.tx.strand == "+" else DOWNSTREAM)

    @property
    def hi(self) -> int:
        return self.tx.end + (DOWNSTREAM if self.tx.strand == "+" else UPSTREAM)

    def seq(self) -> str:
        return self.tx.sequence(self.fasta)

    def protein(self) -> str:
        if self._protein is None:
            s = self.seq()
            p = translate(s[self.tx.cds_start - 1:self.tx.cds_end])
            if "*" in p:
                p = p[:p.index("*") + 1]
            self._protein = p
        return self._protein

    def annotate(self, pos: int, ref: str, alt: str) -> Annotation | None:
        tx = self.tx
        start, r, a = trim(pos, ref.upper(), alt.upper())
        if not r and not a:
            return None
        if r:
            g_lo, g_hi = start, start + len(r) - 1
        else:
            g_lo, g_hi = start - 1, start  # insertion between these two bases
        if g_hi < self.lo or g_lo > self.hi:
            return None
        if (not r or not a) and (tx.start <= g_hi and g_lo <= tx.end):
            start, r, a = _shift3(self.fasta, tx.chrom, start, r, a, tx.strand)
            g_lo, g_hi = (start, start + len(r) - 1) if r else (start - 1, start)
        terms: set[str] = set()
        hgvs_p, ppos = "", None
        if g_hi < tx.start or g_lo > tx.end:
            five = (g_hi < tx.start) == (tx.strand == "+")
            terms.add("upstream_gene_variant" if five else "downstream_gene_variant")
        else:
            positions = range(g_lo, g_hi + 1) if g_hi - g_lo < 2000 else (g_lo, g_hi)
            regions = set()
            splice: set[str] = set()
            per = [self.loc.region_terms(g) for g in positions]
            for reg, st in per:
                regions.add(reg)
                splice |= st
            if not r:
                # an insertion disrupts a splice dinucleotide only when both flanks lie inside it
                core = {"splice_donor_variant", "splice_acceptor_variant"}
                inside = all(reg == "intron" and st & core for reg, st in per)
                if splice and not inside:
                    splice = {"splice_region_variant"}
            terms |= splice
            if "intron" in regions:
                terms.add("intron_variant")
            if "exon" in regions:
                t2, hgvs_p, ppos = self._exonic(start, r, a, g_lo, g_hi, regions)
                terms |= t2
            if "intron" in regions and "exon" in regions and tx.coding and not hgvs_p:
                hgvs_p = "p.?"
        hgvs_c = self._hgvs_c(start, r, a, g_lo, g_hi)
        if not terms:
            # insertion exactly at a transcript end (one flank outside): up/downstream by side
            five = (g_lo < tx.start + 1) == (tx.strand == "+")
            terms.add("upstream_gene_variant" if five else "downstream_gene_variant")
        if len(terms) == 1:
            ordered = list(terms)
            if ordered[0] not in IMPACT:
                ordered = []
        else:
            ordered = [t for t in ORDER if t in terms]
        if "intron_variant" in ordered and len(ordered) > 1 and (
                "splice_donor_variant" in ordered or "splice_acceptor_variant" in ordered):
            ordered.remove("intron_variant")
        return Annotation(tx.gene, tx.id, ordered, hgvs_c, hgvs_p, ppos)

    # -- exonic consequences
    def _exonic(self, start: int, r: str, a: str, g_lo: int, g_hi: int, regions: set[str]):
        tx = self.tx
        if not tx.coding:
            return {"non_coding_transcript_exon_variant"}, "", None
        loc = self.loc
        if r:
            c1, c2 = loc.cdna(g_lo), loc.cdna(g_hi)
        else:
            c1, c2 = loc.cdna(g_lo), loc.cdna(g_hi)
            if c1 is None or c2 is None:  # insertion at an exon edge: treat as intronic/UTR
                return set(), "", None
        exonic = [c for c in (c1, c2) if c is not None]
        lo_c, hi_c = min(exonic), max(exonic)
        if hi_c < tx.cds_start:
            return {"5_prime_UTR_variant"}, "", None
        if lo_c > tx.cds_end:
            return {"3_prime_UTR_variant"}, "", None
        if "intron" in regions or c1 is None or c2 is None:
            return {"coding_sequence_variant"}, "p.?", None
        # transcript-orientation alleles and cDNA interval [x, y) replaced by alt
        if tx.strand == "+":
            rr, aa = r, a
        else:
            rr, aa = revcomp(r), revcomp(a)
        if rr:
            x, y = lo_c - 1, hi_c  # 0-based half-open
        else:
            x = y = max(c1, c2) - 1  # insert before the 3' flank (transcript orientation)
            if x <= tx.cds_start - 1:
                return {"5_prime_UTR_variant"}, "", None
            if x >= tx.cds_end:
                return {"3_prime_UTR_variant"}, "", None
        if x < tx.cds_start - 1 or y > tx.cds_end:
            terms = set()
            if x < tx.cds_start - 1 <= y:
                terms.add("start_lost" if self.seq()[tx.cds_start - 1:tx.cds_start + 2] == "ATG" else
                          "coding_sequence_variant")
                return terms, "p.?", 1
            return {"coding_sequence_variant", "3_prime_UTR_variant"}, "p.?", None
        seq = self.seq()
        cds0 = tx.cds_start - 1
        a0, b0 = x - cds0, y - cds0  # CDS coordinates (0-based, half-open)
        P = self.protein()
        frameshift = (len(aa) - len(rr)) % 3 != 0
        ci = a0 // 3
        if ci >= len(P):  # beyond an in-frame stop of the annotated CDS (e.g. selenoprotein, bad model)
            return {"coding_sequence_variant"}, "p.?", None
        if len(rr) == len(aa) == 1:
            codon = seq[cds0 + 3 * ci:cds0 + 3 * ci + 3]
            k = a0 - 3 * ci
            new = codon[:k] + aa + codon[k + 1:]
            ra, na = CODON_TABLE.get(codon, "X"), CODON_TABLE.get(new, "X")
            if ra == na:
                if ra == "*":
                    return {"stop_retained_variant"}, f"p.Ter{ci + 1}=", ci + 1
                if ci == 0 and ra == "M":
                    return {"start_retained_variant"}, "p.Met1=", 1
                return {"synonymous_variant"}, f"p.{_p3(ra)}{ci + 1}=", ci + 1
            if ra != "*" and na != "*" and not (ci == 0 and ra == "M"):
                return {"missense_variant"}, f"p.{_p3(ra)}{ci + 1}{_p3(na)}", ci + 1
        alt_tail_start = cds0 + 3 * ci
        if not frameshift:
            ce = -(-b0 // 3) if b0 > a0 else ci + (1 if a0 % 3 else 0)
            ce = max(ce, ci)
            seg = seq[alt_tail_start:cds0 + a0] + aa + seq[cds0 + b0:cds0 + 3 * ce]
            q = P[:ci] + translate(seg) + P[ce:]
            if "*" in q:
                q = q[:q.index("*") + 1]
            else:
                q += self._readthrough(seq, cds0 + 3 * ce + (len(aa) - len(rr)) * 0, seg, ci, ce)
        else:
            alt_seq = seq[alt_tail_start:cds0 + a0] + aa + seq[cds0 + b0:]
            q = P[:ci]
            chunk = 0
            while True:
                piece = translate(alt_seq[chunk:chunk + 600])
                if "*" in piece:
                    q += piece[:piece.index("*") + 1]
                    break
                q += piece
                chunk += 600
                if chunk >= len(alt_seq):
                    break
        term, hp, pos = describe_protein(P, q, frameshift)
        if term == "synonymous_variant":
            return {"synonymous_variant"}, f"p.{_p3(P[ci])}{ci + 1}=", ci + 1
        return {term}, hp, pos

    def _readthrough(self, seq: str, utr_start: int, seg: str, ci: int, ce: int) -> str:
        """Translate beyond the lost stop codon into the 3' UTR until the next stop."""
        tail = translate(seq[self.tx.cds_end:])
        return tail[:tail.index("*") + 1] if "*" in tail else tail

    # -- c. description
    def _hgvs_c(self, start: int, r: str, a: str, g_lo: int, g_hi: int) -> str:
        loc, tx = self.loc, self.tx
        prefix = "c." if tx.coding else "n."
        plus = tx.strand == "+"
        rr, aa = (r, a) if plus else (revcomp(r), revcomp(a))
        if r:
            p5, p3 = (loc.c_pos(g_lo), loc.c_pos(g_hi)) if plus else (loc.c_pos(g_hi), loc.c_pos(g_lo))
            rng = p5 if g_lo == g_hi else f"{p5}_{p3}"
            if len(r) == 1 and len(a) == 1:
                return f"{prefix}{p5}{rr}>{aa}"
            if not a:
                return f"{prefix}{rng}del"
            return f"{prefix}{rng}delins{aa}"
        # insertion between g_lo and g_hi; duplicate of the preceding (5') bases?
        L = len(a)
        if plus:
            prev = self.fasta.fetch(tx.chrom, g_lo - L, g_lo).upper()
            if prev == a:
                d5, d3 = loc.c_pos(g_lo - L + 1), loc.c_pos(g_lo)
                return f"{prefix}{d5 if L == 1 else d5 + '_' + d3}dup"
            return f"{prefix}{loc.c_pos(g_lo)}_{loc.c_pos(g_hi)}ins{aa}"
        prev = revcomp(self.fasta.fetch(tx.chrom, g_hi - 1, g_hi - 1 + L).upper())
        if prev == aa:
            d5, d3 = loc.c_pos(g_hi + L - 1), loc.c_pos(g_hi)
            return f"{prefix}{d5 if L == 1 else d5 + '_' + d3}dup"
        return f"{prefix}{loc.c_pos(g_hi)}_{loc.c_pos(g_lo)}ins{aa}"


_COMP1 = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}
_ACGT1 = frozenset("ACGT")

# vectorised SNV path (FastSNV.csq_many): bases as 0-3 in the genetic-code order T, C, A, G (255: other symbol)
_TCAG = np.full(256, 255, dtype=np.uint8)
for _i, _b in enumerate(b"TCAG"):
    _TCAG[_b] = _i
_COMP4 = np.array([2, 3, 0, 1], dtype=np.uint8)  # T<->A, C<->G on the 0-3 codes
_PAIR = [f"{x}>{y}" for x in "TCAG" for y in "TCAG"]  # index 4 * ref + alt
_AA_CODE = np.frombuffer(_AAS.encode(), dtype=np.uint8)  # amino acid (1-letter byte) of codon code 16a+4b+c
_AA3_OF = [AA3[x] for x in _AAS] + ["="]  # 3-letter code of codon code; 64: '=' (synonymous)
_SIGN = ["-", "+"]


class FastSNV:
    """Precomputed arrays for the common case (a single-base substitution) on one transcript.

    Produces exactly what :meth:`TranscriptAnnotator.annotate` produces for SNVs (tested), without the
    general machinery; anything unusual falls back to the general path (returns None).
    """

    def __init__(self, ta: TranscriptAnnotator):
        tx = ta.tx
        self.ta = ta
        # load the spliced sequence first: it settles cds_end (a GTF-style CDS is extended over its stop)
        self._seq: str | None = None
        self._prot: str = ""
        if tx.coding:
            try:
                self._seq, self._prot = ta.seq(), ta.protein()
            except (KeyError, ValueError):  # contig absent from the FASTA: coding SNVs take the general path
                self._seq = None
        self.starts = [s for s, _ in tx.exons]
        self.ends = [e for _, e in tx.exons]
        self.n = len(tx.exons)
        loc = ta.loc
        self.offs = loc._offsets_plus if tx.strand == "+" else loc._offsets_minus
        self.plus = tx.strand == "+"
        self.tstart, self.tend = tx.start, tx.end
        self.coding = tx.coding
        self.cs, self.ce = tx.cds_start, tx.cds_end
        self.length = tx.length
        self.prefix = f"{tx.gene}|{tx.id}|"
        self.cp = "c." if tx.coding else "n."
        self._vec_init()

    def _vec_init(self) -> None:
        """Arrays and string parts for :meth:`csq_many`."""
        self.a_starts = np.array(self.starts, dtype=np.int64)
        self.a_ends = np.array(self.ends, dtype=np.int64)
        self.a_offs = np.array(self.offs, dtype=np.int64)
        self.a_seq = _TCAG[np.frombuffer(self._seq.encode("ascii", "replace"), dtype=np.uint8)] \
            if self._seq is not None else None
        pre, cp = self.prefix, self.cp
        # plain heads (then number, ref>alt, tail): 0 upstream, 1 downstream, 2/3 non-coding exon, 4/5 5' UTR,
        # 6/7 3' UTR (odd: with splice_region_variant)
        down = "*" if self.coding else "+"
        heads = [(f"{pre}upstream_gene_variant|{cp}-", "||MODIFIER|"),
                 (f"{pre}downstream_gene_variant|{cp}{down}", "||MODIFIER|")]
        for t, c in (("non_coding_transcript_exon_variant", ""), ("5_prime_UTR_variant", "-"),
                     ("3_prime_UTR_variant", "*")):
            heads += [(f"{pre}{t}|{cp}{c}", "||MODIFIER|"), (f"{pre}splice_region_variant&{t}|{cp}{c}", "||LOW|")]
        self.v_head = [h for h, _ in heads]
        self.v_tail = [t for _, t in heads]
        # intronic heads 3 * term + c. prefix of the anchor; term 0 donor, 1 acceptor, 2 splice region, 3 intron
        iterms = [("splice_donor_variant", "||HIGH|"), ("splice_acceptor_variant", "||HIGH|"),
                  ("splice_region_variant&intron_variant", "||LOW|"), ("intron_variant", "||MODIFIER|")]
        self.i_head = [f"{pre}{t}|{cp}{c}" for t, _ in iterms for c in ("", "-", "*")]
        self.i_tail = [tail for _, tail in iterms for _c in range(3)]
        # coding heads 2 * class + splice region; class 0 synonymous, 1 stop retained, 2 start retained, 3 missense
        self.k_head, self.k_tail = [], []
        for t in ("synonymous_variant", "stop_retained_variant", "start_retained_variant", "missense_variant"):
            for sr in (False, True):
                terms = [x for x in ORDER if x == t or (sr and x == "splice_region_variant")]
                imp = min((IMPACT[x] for x in terms), key=_IMPACT_RANK.__getitem__)
                self.k_head.append(f"{pre}{'&'.join(terms)}|{cp}")
                self.k_tail.append(f"|{imp}|")

    def csq_many(self, pos: np.ndarray, ref: np.ndarray, alt: np.ndarray) -> tuple[
            list[tuple[np.ndarray, list[str]]], np.ndarray]:
        """Vectorised :meth:`csq` for SNVs inside this transcript's annotation span: ``pos`` (int64) and the
        VCF REF/ALT bases as 0-3 codes (:data:`_TCAG` order; every one A/C/G/T). Returns groups of (indices
        into the input, BEDSIDE_CSQ strings) and the indices this path leaves to :meth:`csq` (ref == alt,
        stop gained/lost, start lost, a codon with another symbol, a CDS beyond an in-frame stop), which
        give exactly what :meth:`csq` gives for them."""
        if not self.plus:
            ref, alt = _COMP4[ref], _COMP4[alt]
        key = (ref.astype(np.int64) << 2) | alt
        pair = _PAIR
        groups: list[tuple[np.ndarray, list[str]]] = []
        fb = [np.flatnonzero(ref == alt)]
        ok = ref != alt
        plus = self.plus
        head, tail = self.v_head, self.v_tail

        def plain(sel: np.ndarray, h: np.ndarray, num: np.ndarray) -> None:
            if len(sel):
                groups.append((sel, [f"{head[a]}{b}{pair[c]}{tail[a]}" for a, b, c in
                                     zip(h.tolist(), num.tolist(), key[sel].tolist())]))

        # outside the transcript: upstream / downstream
        up_g, dn_g = pos < self.tstart, pos > self.tend
        out = np.flatnonzero(ok & (up_g | dn_g))
        if len(out):
            p = pos[out]
            d = np.where(p < self.tstart, self.tstart - p, p - self.tend)
            five = (p < self.tstart) == plus
            far = (self.length - self.ce) + d if self.coding else d
            plain(out, np.where(five, 0, 1), np.where(five, (self.cs - 1 if self.coding else 0) + d, far))
        inside = ok & ~up_g & ~dn_g
        i = np.searchsorted(self.a_starts, pos, side="right") - 1
        ic = np.clip(i, 0, self.n - 1)
        s, e = self.a_starts[ic], self.a_ends[ic]
        exonic = inside & (i >= 0) & (pos <= e)
        intronic = inside & (i >= 0) & (i < self.n - 1) & (pos > e)
        fb.append(np.flatnonzero(inside & ~exonic & ~intronic))
        # exonic
        ex = np.flatnonzero(exonic)
        if len(ex):
            p, ie, s_, e_ = pos[ex], i[ex], s[ex], e[ex]
            cdna = self.a_offs[ie] + (p - s_ + 1 if plus else e_ - p + 1)
            sr = ((ie > 0) & (p - s_ < 3)) | ((ie < self.n - 1) & (e_ - p < 3))
            if not self.coding:
                plain(ex, 2 + sr, cdna)
            else:
                utr5, utr3 = cdna < self.cs, cdna > self.ce
                u = utr5 | utr3
                if u.any():
                    plain(ex[u], np.where(utr5[u], 4, 6) + sr[u], np.where(utr5[u], self.cs - cdna[u],
                                                                           cdna[u] - self.ce))
                cd = ~u
                if cd.any():
                    self._coding_many(ex[cd], cdna[cd], sr[cd], key[ex[cd]], ref[ex[cd]], alt[ex[cd]], groups, fb)
        # intronic
        it = np.flatnonzero(intronic)
        if len(it):
            p, ii = pos[it], i[it]
            left_end, right_start = self.a_ends[ii], self.a_starts[ii + 1]
            dl, dr = p - left_end, right_start - p
            offs = self.a_offs
            if plus:
                near = dl <= dr
                anchor = np.where(near, offs[ii] + (left_end - self.a_starts[ii] + 1), offs[ii + 1] + 1)
                off = np.where(near, dl, -dr)
            else:
                near = dr <= dl
                anchor = np.where(near, offs[ii + 1] + (self.a_ends[ii + 1] - right_start + 1), offs[ii] + 1)
                off = np.where(near, dr, -dl)
            a = np.abs(off)
            term = np.where(a <= 2, np.where(off > 0, 0, 1), np.where(a <= 8, 2, 3))
            if self.coding:
                pc = np.where(anchor < self.cs, 1, np.where(anchor > self.ce, 2, 0))
                num = np.where(anchor < self.cs, self.cs - anchor,
                               np.where(anchor > self.ce, anchor - self.ce, anchor - self.cs + 1))
            else:
                pc = np.zeros(len(it), dtype=np.int64)
                num = anchor
            ih, itl, sign = self.i_head, self.i_tail, _SIGN
            groups.append((it, [f"{ih[h]}{b}{sign[g]}{d}{pair[k]}{itl[h]}" for h, b, g, d, k in
                                zip((3 * term + pc).tolist(), num.tolist(), (off > 0).tolist(), a.tolist(),
                                    key[it].tolist())]))
        return groups, np.concatenate(fb)

    def _coding_many(self, sel: np.ndarray, cdna: np.ndarray, sr: np.ndarray, key: np.ndarray, ref: np.ndarray,
                     alt: np.ndarray, groups: list, fb: list) -> None:
        """Coding SNVs of :meth:`csq_many` (``ref``/``alt`` in transcript orientation): synonymous, missense,
        stop- and start-retained changes; the rest to ``fb``."""
        seq = self.a_seq
        if seq is None or len(seq) < 3:
            fb.append(sel)
            return
        a0 = cdna - self.cs
        ci = a0 // 3
        c0 = (self.cs - 1) + 3 * ci
        good = (ci < len(self._prot)) & (c0 + 2 < len(seq))
        c0 = np.where(good, c0, 0)
        b = seq[c0], seq[c0 + 1], seq[c0 + 2]
        good &= (b[0] < 4) & (b[1] < 4) & (b[2] < 4)
        k = a0 - 3 * ci
        code = (b[0].astype(np.int64) << 4) | (b[1].astype(np.int64) << 2) | b[2]
        code = np.where(good, code, 0)
        shift = 2 * (2 - k)
        new = (code & ~(3 << shift)) | (alt.astype(np.int64) << shift)
        ra, na = _AA_CODE[code], _AA_CODE[new]
        same = ra == na
        stop_r, stop_n = ra == 42, na == 42  # '*'
        met1 = (ci == 0) & (ra == 77)  # 'M'
        cls = np.where(same, np.where(stop_r, 1, np.where(met1, 2, 0)), 3)
        good &= same | (~stop_r & ~stop_n & ~met1)
        fb.append(sel[~good])
        g = np.flatnonzero(good)
        if not len(g):
            return
        cls = cls[g]
        h = 2 * cls + sr[g]
        nx = np.where(cls == 3, new[g], 64)
        kh, kt, pair, a3 = self.k_head, self.k_tail, _PAIR, _AA3_OF
        groups.append((sel[g], [f"{kh[x]}{c}{pair[y]}|p.{a3[r]}{n}{a3[z]}{kt[x]}{n}" for x, c, y, r, z, n in
                                zip(h.tolist(), (a0[g] + 1).tolist(), key[g].tolist(), code[g].tolist(),
                                    nx.tolist(), (ci[g] + 1).tolist())]))

    def _coding(self, cdna: int, sr: bool, ref: str, alt: str, cp: str, c: str) -> str | None:
        """Coding SNV (``ref``/``alt`` already in transcript orientation): synonymous, missense, stop- and
        start-retained changes, exactly as the general path writes them; anything else (stop gained/lost,
        start lost, bases outside A/C/G/T, a CDS beyond an in-frame stop) returns None for the general
        path."""
        if ref not in _ACGT1 or alt not in _ACGT1 or ref == alt:
            return None
        seq = self._seq
        if seq is None:
            return None
        a0 = cdna - self.cs  # 0-based CDS offset
        ci = a0 // 3
        if ci >= len(self._prot):
            return None
        cds0 = self.cs - 1
        codon = seq[cds0 + 3 * ci:cds0 + 3 * ci + 3]
        k = a0 - 3 * ci
        ra = CODON_TABLE.get(codon, "X")
        na = CODON_TABLE.get(codon[:k] + alt + codon[k + 1:], "X")
        n = ci + 1
        if ra == na:
            if ra == "*":
                t, hp = "stop_retained_variant", f"p.Ter{n}="
            elif ci == 0 and ra == "M":
                t, hp = "start_retained_variant", "p.Met1="
            else:
                t, hp = "synonymous_variant", f"p.{_p3(ra)}{n}="
        elif ra != "*" and na != "*" and not (ci == 0 and ra == "M"):
            t, hp = "missense_variant", f"p.{_p3(ra)}{n}{_p3(na)}"
        else:
            return None
        if sr:
            terms = [x for x in ORDER if x == t or x == "splice_region_variant"]
            imp = min((IMPACT[x] for x in terms), key=_IMPACT_RANK.__getitem__)
            return f"{self.prefix}{'&'.join(terms)}|{cp}{c}{ref}>{alt}|{hp}|{imp}|{n}"
        return f"{self.prefix}{t}|{cp}{c}{ref}>{alt}|{hp}|{IMPACT[t]}|{n}"

    def c_of_cdna(self, cdna: int) -> str:
        # same as TranscriptAnnotator.c_of_cdna on attributes cached for the hot SNV path
        if not self.coding:
            return str(cdna)
        if cdna < self.cs:
            return f"-{self.cs - cdna}"
        if cdna > self.ce:
            return f"*{cdna - self.ce}"
        return str(cdna - self.cs + 1)

    def csq(self, pos: int, ref: str, alt: str) -> str | None:
        if not self.plus:
            ref, alt = _COMP1.get(ref, "N"), _COMP1.get(alt, "N")
        i = bisect_right(self.starts, pos) - 1
        cp = self.cp
        if pos < self.tstart or pos > self.tend:
            d = (self.tstart - pos) if pos < self.tstart else (pos - self.tend)
            five = (pos < self.tstart) == self.plus
            if five:
                c = f"-{(self.cs - 1 if self.coding else 0) + d}"
                return f"{self.prefix}upstream_gene_variant|{cp}{c}{ref}>{alt}||MODIFIER|"
            c = f"*{(self.length - self.ce) + d}" if self.coding else f"+{d}"
            return f"{self.prefix}downstream_gene_variant|{cp}{c}{ref}>{alt}||MODIFIER|"
        if pos <= self.ends[i]:
            s, e = self.starts[i], self.ends[i]
            cdna = self.offs[i] + (pos - s + 1 if self.plus else e - pos + 1)
            sr = (i > 0 and pos - s < 3) or (i < self.n - 1 and e - pos < 3)
            c = self.c_of_cdna(cdna)
            if not self.coding:
                t, imp = "non_coding_transcript_exon_variant", "MODIFIER"
            elif cdna < self.cs:
                t, imp = "5_prime_UTR_variant", "MODIFIER"
            elif cdna > self.ce:
                t, imp = "3_prime_UTR_variant", "MODIFIER"
            else:
                return self._coding(cdna, sr, ref, alt, cp, c)
            if sr:
                return f"{self.prefix}splice_region_variant&{t}|{cp}{c}{ref}>{alt}||LOW|"
            return f"{self.prefix}{t}|{cp}{c}{ref}>{alt}||{imp}|"
        # intronic
        left_end, right_start = self.ends[i], self.starts[i + 1]
        dl, dr = pos - left_end, right_start - pos
        if self.plus:
            if dl <= dr:
                anchor, off = self.offs[i] + (left_end - self.starts[i] + 1), dl
            else:
                anchor, off = self.offs[i + 1] + 1, -dr
        elif dr <= dl:
            anchor, off = self.offs[i + 1] + (self.ends[i + 1] - right_start + 1), dr
        else:
            anchor, off = self.offs[i] + 1, -dl
        a = off if off > 0 else -off
        c = f"{self.c_of_cdna(anchor)}{'+' if off > 0 else '-'}{a}"
        if a <= 2:
            t = "splice_donor_variant" if off > 0 else "splice_acceptor_variant"
            return f"{self.prefix}{t}|{cp}{c}{ref}>{alt}||HIGH|"
        if a <= 8:
            return f"{self.prefix}splice_region_variant&intron_variant|{cp}{c}{ref}>{alt}||LOW|"
        return f"{self.prefix}intron_variant|{cp}{c}{ref}>{alt}||MODIFIER|"
