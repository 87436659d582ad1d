"""Planted variants: the demo patients' germline haplotypes and somatic clones.

Named variants (hotspots, pharmacogenomic alleles, the BRCA1 frameshift) are placed by their HGVS c.
notation in the demo gene models; passengers and common/rare background variants are drawn at random
positions (synonymous, missense, intronic, intergenic) with the seeded generator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bedside.demo.genes import CODON_TABLE, THREE_LETTER
from bedside.demo.reference import COMPLEMENT, GeneModel, Reference, random_bases


@dataclass(frozen=True)
class Planted:
    key: str  # unique label, e.g. BRAF:c.1799T>A
    chrom: str
    pos: int
    ref: str
    alt: str
    gene: str | None = None
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    rsid: str | None = None
    category: str = ""  # hotspot | pgx | pathogenic | common | rare | passenger | background
    consequence: str = ""  # expected: missense, synonymous, stop_gained, frameshift, splice_donor, ...


@dataclass
class PatientPlan:
    patient: str
    germline: list[tuple[Planted, str]] = field(default_factory=list)  # (variant, 'A' | 'B' | 'AB')
    somatic: list[tuple[Planted, float]] = field(default_factory=list)  # (variant, expected VAF)


# ---------------------------------------------------------------------------------------------------
# named variants


def coding_snv(ref: Reference, gene: str, c: int, ref_base: str, alt_base: str, *, offset: int = 0,
               category: str, rsid: str | None = None, key: str | None = None) -> Planted:
    """SNV at c.<c>[+offset]<ref>><alt> (gene-strand bases); checks the demo genome carries ``ref_base``."""
    g = ref.gene(gene)
    gpos = g.c_to_genomic(c, offset)
    fwd_ref = _fwd(g, ref_base)
    if ref.base(g.contig, gpos) != fwd_ref:
        raise AssertionError(f"{gene} c.{c}{offset:+d}: genome has {ref.base(g.contig, gpos)}, expected {fwd_ref}")
    hgvs_c = f"c.{c}{_off(offset)}{ref_base}>{alt_base}"
    hgvs_p, csq = None, ""
    if offset == 0 and 1 <= c <= len(g.cds):
        hgvs_p, csq = _protein_change(g, c, alt_base)
    elif offset in (1, 2) or offset in (-1, -2):
        csq = "splice_donor" if offset > 0 else "splice_acceptor"
    elif offset:
        csq = "intron"
    elif c < 0:
        csq = "upstream" if c + g.spec.utr5 < 0 else "5_prime_utr"
    return Planted(key or f"{gene}:{hgvs_c}", g.contig, gpos, fwd_ref, _fwd(g, alt_base), gene, hgvs_c,
                   hgvs_p, rsid, category, csq)


def coding_deletion(ref: Reference, gene: str, c_first: int, c_last: int, deleted: str, *, category: str,
                    hgvs_p: str | None, key: str | None = None) -> Planted:
    """Deletion of c.<first>_<last> (gene-strand ``deleted``), written left-aligned in VCF form."""
    g = ref.gene(gene)
    a, b = g.c_to_genomic(c_first), g.c_to_genomic(c_last)
    lo, hi = min(a, b), max(a, b)
    fwd = ref.base(g.contig, lo, hi - lo + 1)
    expect = deleted if g.strand == "+" else deleted.translate(COMPLEMENT)[::-1]
    if fwd != expect:
        raise AssertionError(f"{gene} c.{c_first}_{c_last}: genome has {fwd}, expected {expect}")
    pos, r, alt = left_align(ref, g.contig, lo - 1, ref.base(g.contig, lo - 1, hi - lo + 2), ref.base(g.contig, lo - 1))
    hgvs_c = f"c.{c_first}_{c_last}del{deleted}"
    return Planted(key or f"{gene}:{hgvs_c}", g.contig, pos, r, alt, gene, hgvs_c, hgvs_p, None, category,
                   "frameshift")


def left_align(ref: Reference, chrom: str, pos: int, r: str, a: str) -> tuple[int, str, str]:
    """Left-align and trim a VCF allele pair (Tan et al. 2015 algorithm, as ``bcftools norm`` does)."""
    seq = ref.contigs[chrom]
    while True:
        changed = False
        if r and a and r[-1] == a[-1]:
            r, a = r[:-1], a[:-1]
            changed = True
        if (not r or not a) and pos > 1:
            pos -= 1
            prev = seq[pos - 1]
            r, a = prev + r, prev + a
            changed = True
        if not changed:
            break
    while len(r) > 1 and len(a) > 1 and r[0] == a[0]:
        r, a = r[1:], a[1:]
        pos += 1
    return pos, r, a


def _off(offset: int) -> str:
    return "" if offset == 0 else f"{offset:+d}"


def _fwd(g: GeneModel, base: str) -> str:
    return base if g.strand == "+" else base.translate(COMPLEMENT)


def _protein_change(g: GeneModel, c: int, alt_base: str) -> tuple[str, str]:
    aa_pos = (c - 1) // 3 + 1
    codon = g.cds[3 * (aa_pos - 1):3 * aa_pos]
    i = (c - 1) % 3
    new = codon[:i] + alt_base + codon[i + 1:]
    a, b = CODON_TABLE[codon], CODON_TABLE[new]
    if a == b:
        return f"p.{THREE_LETTER[a]}{aa_pos}=", "synonymous"
    if b == "*":
        return f"p.{THREE_LETTER[a]}{aa_pos}Ter", "stop_gained"
    return f"p.{THREE_LETTER[a]}{aa_pos}{THREE_LETTER[b]}", "missense"


# ---------------------------------------------------------------------------------------------------
# random background and passenger variants


class Picker:
    """Draws non-overlapping random variant sites (≥ ``spacing`` bp from every site drawn so far)."""

    def __init__(self, ref: Reference, rng: random.Random, reserved: list[tuple[str, int]], spacing: int = 30):
        self.ref, self.rng, self.spacing = ref, rng, spacing
        self.used: list[tuple[str, int]] = list(reserved)

    def _free(self, chrom: str, pos: int) -> bool:
        return all(c != chrom or abs(p - pos) >= self.spacing for c, p in self.used)

    def _take(self, chrom: str, pos: int) -> None:
        self.used.append((chrom, pos))

    def _gene(self, genes: list[str] | None) -> GeneModel:
        # biomarker genes (bedside.demo.biomarkers) carry planted copy-number/fusion events: no random variants
        pool = [g for g in self.ref.genes if (genes is None and not g.spec.biomarker) or (genes and g.name in genes)]
        return self.rng.choice(pool)

    def coding(self, kind: str, category: str, genes: list[str] | None = None) -> Planted:
        """A synonymous (third base) or missense (second base) SNV in a random codon."""
        for _ in range(10_000):
            g = self._gene(genes)
            aa = self.rng.randrange(2, len(g.cds) // 3)
            if aa in g.spec.fixed_codons or any(abs(aa - f) < 3 for f in g.spec.fixed_codons):
                continue
            c0 = 3 * (aa - 1) + 1
            locals_ = [g.c_to_local(c0 + k) for k in range(3)]
            # whole codon inside one exon and ≥ 6 bp from its edges
            if locals_[2] - locals_[0] != 2 or not self._inside_exon(g, locals_[0], locals_[2], 6):
                continue
            codon = g.cds[c0 - 1:c0 + 2]
            i = 2 if kind == "synonymous" else 1
            options = []
            for b in "ACGT":
                if b == codon[i]:
                    continue
                new = codon[:i] + b + codon[i + 1:]
                if CODON_TABLE[new] == "*":
                    continue
                same = CODON_TABLE[new] == CODON_TABLE[codon]
                if (kind == "synonymous") == same:
                    options.append(b)
            if not options:
                continue
            alt = self.rng.choice(options)
            gpos = g.c_to_genomic(c0 + i)
            if not self._free(g.contig, gpos):
                continue
            self._take(g.contig, gpos)
            return coding_snv(self.ref, g.name, c0 + i, codon[i], alt, category=category)
        raise RuntimeError("no free coding site")

    @staticmethod
    def _inside_exon(g: GeneModel, lo: int, hi: int, margin: int) -> bool:
        return any(s + margin <= lo and hi < e - margin for s, e in g.exons)

    def _intron_site(self, genes: list[str] | None) -> tuple[GeneModel, int, int, int]:
        """(gene, genomic pos, c anchor, offset) of a random intronic base ≥ 25 bp from exons."""
        for _ in range(10_000):
            g = self._gene(genes)
            k = self.rng.randrange(len(g.exons) - 1)
            lo, hi = g.exons[k][1], g.exons[k + 1][0]  # intron local [lo, hi)
            if hi - lo < 80:
                continue
            local = self.rng.randrange(lo + 25, hi - 25)
            gpos = g.local_to_genomic(local)
            if not self._free(g.contig, gpos):
                continue
            # HGVS anchor: nearest exon end / start
            idx_end = g.exonic.index(lo - 1) - g.spec.utr5 + 1
            idx_start = g.exonic.index(hi) - g.spec.utr5 + 1
            if local - (lo - 1) <= hi - local:
                c, off = idx_end, local - (lo - 1)
            else:
                c, off = idx_start, -(hi - local)
            c = c if c > 0 else c - 1  # no c.0
            self._take(g.contig, gpos)
            return g, gpos, c, off
        raise RuntimeError("no free intronic site")

    def intronic_snv(self, category: str, genes: list[str] | None = None) -> Planted:
        g, gpos, c, off = self._intron_site(genes)
        fwd_ref = self.ref.base(g.contig, gpos)
        fwd_alt = self.rng.choice([b for b in "ACGT" if b != fwd_ref])
        gref = fwd_ref if g.strand == "+" else fwd_ref.translate(COMPLEMENT)
        galt = fwd_alt if g.strand == "+" else fwd_alt.translate(COMPLEMENT)
        hgvs_c = f"c.{c}{_off(off)}{gref}>{galt}"
        return Planted(f"{g.name}:{hgvs_c}", g.contig, gpos, fwd_ref, fwd_alt, g.name, hgvs_c, None, None,
                       category, "intron")

    def intronic_indel(self, category: str, kind: str, genes: list[str] | None = None) -> Planted:
        """A 1–6 bp deletion or a 1–4 bp insertion inside an intron, left-aligned (no gene HGVS)."""
        g, gpos = self._intron_site(genes)[:2]
        chrom = g.contig
        if kind == "deletion":
            n = self.rng.randrange(1, 7)
            r = self.ref.base(chrom, gpos, n + 1)
            a = r[0]
        else:
            n = self.rng.randrange(1, 5)
            r = self.ref.base(chrom, gpos)
            ins = random_bases(self.rng, n)
            a = r + ins
        pos, r, a = left_align(self.ref, chrom, gpos, r, a)
        return Planted(f"{g.name}:intron:{chrom}:{pos}:{r}>{a}", chrom, pos, r, a, g.name, None, None, None,
                       category, "intron")

    def intergenic_snv(self, category: str) -> Planted:
        for _ in range(10_000):
            # the core genome only (the biomarker appendices are planned separately)
            core = self.ref.core_lengths or {c: len(q) for c, q in self.ref.contigs.items()}
            chrom = self.rng.choice(sorted(core))
            pos = self.rng.randrange(500, core[chrom] - 500)
            if any(g.contig == chrom and g.genomic_start - 2_000 <= pos <= g.genomic_end + 2_000
                   for g in self.ref.genes):
                continue
            if not self._free(chrom, pos):
                continue
            self._take(chrom, pos)
            r = self.ref.base(chrom, pos)
            a = self.rng.choice([b for b in "ACGT" if b != r])
            return Planted(f"intergenic:{chrom}:{pos}:{r}>{a}", chrom, pos, r, a, None, None, None, None,
                           category, "intergenic")
        raise RuntimeError("no free intergenic site")
