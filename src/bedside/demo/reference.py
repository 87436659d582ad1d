"""Synthetic demo reference: random genome with gene models that keep the real hotspot codons.

Everything is drawn from one ``random.Random(seed)``; nothing depends on the environment, so a seed
gives the same genome, GFF3 and coordinates everywhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bedside.demo.genes import (
    CONTIGS,
    CORE_CONTIGS,
    GENES,
    SENSE_CODONS,
    STOPS,
    X_CONTIG,
    X_LENGTH,
    GeneSpec,
    gene_ids,
)

#: base composition of random (non-coding) sequence: GC ≈ 41 %
BASE_WEIGHTS = {"A": 0.295, "C": 0.205, "G": 0.205, "T": 0.295}
MIN_CONTIG = 35_000
INTERGENIC = (3_000, 6_000)
INTRON = (250, 900)
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def random_bases(rng: random.Random, n: int) -> str:
    return "".join(rng.choices("ACGT", weights=[BASE_WEIGHTS[b] for b in "ACGT"], k=n))


@dataclass
class GeneModel:
    """One gene placed in the genome. Local coordinates are 0-based in gene orientation, 0 = tx start."""

    spec: GeneSpec
    gene_id: str
    transcript_id: str
    alt_transcript_id: str | None
    cds: str  # coding sequence incl. stop, gene strand
    exons: list[tuple[int, int]]  # local [start, end) of canonical transcript exons, 5'->3'
    tx_len: int  # local length of the transcript span (exon 1 start .. last exon end)
    genomic_start: int = 0  # 1-based genomic coordinate of the lowest base of the transcript span
    exonic: list[int] = field(default_factory=list)  # local coordinate of every exonic base

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def strand(self) -> str:
        return self.spec.strand

    @property
    def contig(self) -> str:
        return self.spec.contig

    @property
    def genomic_end(self) -> int:
        return self.genomic_start + self.tx_len - 1

    def local_to_genomic(self, local: int) -> int:
        if self.strand == "+":
            return self.genomic_start + local
        return self.genomic_end - local

    def c_to_local(self, c: int, offset: int = 0) -> int:
        """Local coordinate of HGVS c.<c><+/-offset>; c<0 is 5' of the ATG (c.-1 is the base before)."""
        utr5 = self.spec.utr5
        if c > 0:
            idx = utr5 + c - 1
        else:
            idx = utr5 + c
        if idx < 0:  # upstream of the transcript start: exon 1 holds the whole 5' UTR
            if offset:
                raise ValueError("offset on an upstream position")
            return idx
        if idx >= len(self.exonic):
            raise ValueError(f"c.{c} beyond the transcript of {self.name}")
        return self.exonic[idx] + offset

    def c_to_genomic(self, c: int, offset: int = 0) -> int:
        return self.local_to_genomic(self.c_to_local(c, offset))

    def codon_c(self, aa_pos: int) -> int:
        """c. position of the first base of codon ``aa_pos``."""
        return 3 * (aa_pos - 1) + 1


@dataclass
class Reference:
    seed: int
    contigs: dict[str, str]  # name -> sequence (upper case, no N)
    genes: list[GeneModel]
    #: length of each contig's core part (before the biomarker appendix); random variants stay in it
    core_lengths: dict[str, int] = field(default_factory=dict)
    #: planted microsatellites (contig, 0-based start, unit, copies), in the biomarker appendices
    microsatellites: list[tuple[str, int, str, int]] = field(default_factory=list)

    def gene(self, name: str) -> GeneModel:
        for g in self.genes:
            if g.name == name:
                return g
        raise KeyError(name)

    def base(self, contig: str, pos: int, length: int = 1) -> str:
        """Reference bases at 1-based ``pos``."""
        return self.contigs[contig][pos - 1:pos - 1 + length]

    @property
    def size(self) -> int:
        return sum(len(s) for s in self.contigs.values())


def _make_cds(spec: GeneSpec, rng: random.Random) -> str:
    codons = ["ATG"] + [rng.choice(SENSE_CODONS) for _ in range(spec.protein_len - 1)] + [rng.choice(STOPS)]
    for pos, codon in spec.fixed_codons.items():
        codons[pos - 1] = codon
    if spec.name == "BRCA1":
        _brca1_frameshift(codons, rng)
    cds = "".join(codons)
    assert len(cds) == spec.cds_len
    assert not any(cds[i:i + 3] in STOPS for i in range(0, len(cds) - 3, 3)), spec.name
    return cds


def _brca1_frameshift(codons: list[str], rng: random.Random) -> None:
    """Make c.68_69delAG read p.Glu23ValfsTer17: no stop in the shifted frame before new codon 39.

    After deleting c.68-69 (the 'AG' of Glu23 GAG), new codon k (k ≥ 24) is base 3 of old codon k plus
    bases 1-2 of old codon k+1. Codon 39 TGT + codon 40 GAT give TGA at new codon 39 (Ter17, counting
    Val23 as 1). Codons 25..38 are redrawn until the shifted frame has no earlier stop.
    """
    def shifted_stop(k: int) -> bool:
        return codons[k - 1][2] + codons[k][:2] in STOPS

    for k in range(24, 39):
        while shifted_stop(k):
            if k + 1 > 38:  # old codons 39/40 are fixed
                raise AssertionError("BRCA1 frameshift design failed")
            codons[k] = rng.choice(SENSE_CODONS)  # redraw old codon k+1
    assert codons[38][2] + codons[39][:2] == "TGA"


def _exon_cuts(spec: GeneSpec, rng: random.Random, protected: list[int]) -> list[int]:
    """CDS positions after which an intron starts (exon ends at c.cut)."""
    n_cuts = spec.n_exons - 1
    forced = set(spec.exon_ends) | {s - 1 for s in spec.exon_starts}
    cuts = set(forced)
    guard = [p for p in protected]
    attempts = 0
    while len(cuts) < n_cuts:
        attempts += 1
        if attempts > 100_000:
            raise RuntimeError(f"cannot place exons for {spec.name}")
        c = rng.randrange(60, spec.cds_len - 60)
        if any(abs(c - x) < 60 for x in cuts):
            continue
        if any(abs(c - p) < 12 or abs(c + 1 - p) < 12 for p in guard):
            continue
        cuts.add(c)
    return sorted(cuts)


def _build_gene(spec: GeneSpec, index: int, rng: random.Random, protected: list[int]) -> tuple[GeneModel, str]:
    """Return the model and the block sequence in gene orientation (upstream flank + tx + downstream)."""
    cds = _make_cds(spec, rng)
    cuts = _exon_cuts(spec, rng, protected)
    # exonic segments of the mRNA: UTR5 + CDS + UTR3 split at the cuts (positions in CDS coordinates)
    mrna = random_bases(rng, spec.utr5) + cds + random_bases(rng, spec.utr3)
    # avoid an upstream ATG in the 5' UTR changing nothing for csq, but keep it clean anyway
    mrna = mrna[: spec.utr5].replace("ATG", "ACG") + mrna[spec.utr5:]
    bounds = [0] + [spec.utr5 + c for c in cuts] + [len(mrna)]
    seq_parts: list[str] = []
    exons: list[tuple[int, int]] = []
    exonic: list[int] = []
    local = 0
    for i in range(len(bounds) - 1):
        seg = mrna[bounds[i]:bounds[i + 1]]
        exons.append((local, local + len(seg)))
        exonic.extend(range(local, local + len(seg)))
        seq_parts.append(seg)
        local += len(seg)
        if i < len(bounds) - 2:
            n = rng.randrange(*(spec.intron or INTRON))
            intron = "GT" + random_bases(rng, n - 4) + "AG"
            seq_parts.append(intron)
            local += n
    tx = "".join(seq_parts)
    gene_id, tx_id, alt_id = gene_ids(index)
    model = GeneModel(spec=spec, gene_id=gene_id, transcript_id=tx_id,
                      alt_transcript_id=alt_id if spec.alt_transcript else None,
                      cds=cds, exons=exons, tx_len=len(tx), exonic=exonic)
    block = random_bases(rng, spec.upstream) + tx + random_bases(rng, spec.downstream)
    return model, block



def place_genes(specs, rng: random.Random, protected: dict[str, list[int]], parts: list[str], pos: int,
                spacer: tuple[int, int], genes: list) -> int:
    """Append each (index, GeneSpec)'s gene block (reverse-complemented on the minus strand) and a random
    spacer to ``parts``, set each model's genomic start, collect the models in ``genes``; return the new
    0-based offset. The one gene-placement routine for the core reference and the biomarker appendix."""
    for index, spec in specs:
        model, block = _build_gene(spec, index, rng, protected.get(spec.name, []))
        if spec.strand == "+":
            model.genomic_start = pos + spec.upstream + 1
        else:
            block = revcomp(block)
            model.genomic_start = pos + spec.downstream + 1
        parts.append(block)
        pos += len(block)
        gap = random_bases(rng, rng.randrange(*spacer))
        parts.append(gap)
        pos += len(gap)
        genes.append(model)
    return pos

def build_reference(seed: int, protected: dict[str, list[int]] | None = None) -> Reference:
    """Build the demo genome. ``protected`` maps gene -> c. positions kept ≥12 bp from exon edges.

    The core genome (the non-biomarker genes, on CORE_CONTIGS) is drawn first from the main random
    stream; then every contig gets a biomarker appendix from its own stream (biomarker genes and planted
    microsatellites, :func:`bedside.demo.biomarkers.append_biomarker_blocks`), so the core's sequence and
    coordinates do not depend on the biomarker design. Last comes the X segment (``X_CONTIG``, random
    sequence without genes, from its own stream)."""
    rng = random.Random(f"bedside-demo-reference-{seed}")
    protected = protected or {}
    by_contig: dict[str, list[tuple[int, GeneSpec]]] = {c: [] for c in CONTIGS}
    for i, spec in enumerate(GENES):
        if not spec.biomarker:
            by_contig[spec.contig].append((i, spec))
    contigs: dict[str, str] = {}
    genes: list[GeneModel] = []
    for contig in CORE_CONTIGS:
        parts = [random_bases(rng, rng.randrange(*INTERGENIC))]
        pos = len(parts[0])  # 0-based offset where the next block starts
        pos = place_genes(by_contig[contig], rng, protected, parts, pos, INTERGENIC, genes)
        if pos < MIN_CONTIG:
            parts.append(random_bases(rng, MIN_CONTIG - pos + rng.randrange(0, 2000)))
        contigs[contig] = "".join(parts)
    core_lengths = {c: len(s) for c, s in contigs.items()}
    from bedside.demo.biomarkers import append_biomarker_blocks

    contigs, extra_genes, microsatellites = append_biomarker_blocks(seed, contigs, protected)
    genes += extra_genes
    for g in genes:
        for c, offset, base in g.spec.pinned:
            gpos = g.c_to_genomic(c, offset)
            b = base if g.strand == "+" else base.translate(COMPLEMENT)
            seq = contigs[g.contig]
            contigs[g.contig] = seq[:gpos - 1] + b + seq[gpos:]
    # the X segment: last, from its own stream (the autosomes above do not depend on it); not in core_lengths,
    # so no random autosomal-style variant lands on it (its common SNPs: bedside.demo.patients.plan_x_snps)
    contigs[X_CONTIG] = random_bases(random.Random(f"bedside-demo-chrx-{seed}"), X_LENGTH)
    ref = Reference(seed=seed, contigs=contigs, genes=genes, core_lengths=core_lengths,
                    microsatellites=microsatellites)
    _check(ref)
    return ref


def _check(ref: Reference) -> None:
    """The genome spells each CDS at the exon coordinates (catches coordinate bugs)."""
    for g in ref.genes:
        seq = ref.contigs[g.contig]
        got = []
        for c in range(1, len(g.cds) + 1):
            b = seq[g.c_to_genomic(c) - 1]
            got.append(b if g.strand == "+" else b.translate(COMPLEMENT))
        if "".join(got) != g.cds:
            raise AssertionError(f"gene model of {g.name} does not match the genome")


def write_fasta(ref: Reference, path, width: int = 60) -> None:
    with open(path, "w") as fh:
        for name, seq in ref.contigs.items():
            fh.write(f">{name}\n")
            fh.writelines(seq[i:i + width] + "\n" for i in range(0, len(seq), width))


def write_gff3(ref: Reference, path) -> None:
    """Ensembl-style GFF3 that ``bcftools csq -g`` reads."""
    lines = ["##gff-version 3"]
    for name, seq in ref.contigs.items():
        lines.append(f"##sequence-region   {name} 1 {len(seq)}")
    for name in ref.contigs:
        for g in (x for x in ref.genes if x.contig == name):
            lines.extend(_gene_lines(g))
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def _gene_lines(g: GeneModel) -> list[str]:
    s = g.spec
    out: list[str] = []

    def row(ftype: str, lo_local: int, hi_local: int, attrs: str, phase: str = ".") -> str:
        a, b = g.local_to_genomic(lo_local), g.local_to_genomic(hi_local - 1)
        start, end = min(a, b), max(a, b)
        return "\t".join([g.contig, "bedside_demo", ftype, str(start), str(end), ".", g.strand, phase, attrs])

    tx_variants = [(g.transcript_id, True, 0, 0)]
    if g.alt_transcript_id:
        # alternative transcript: same CDS, 5' UTR 30 bp shorter, 3' UTR 150 bp shorter
        tx_variants.append((g.alt_transcript_id, False, 30, 150))
    out.append(row("gene", 0, g.tx_len,
                   f"ID=gene:{g.gene_id};Name={s.name};biotype=protein_coding;gene_id={g.gene_id};"
                   f"description={s.name} (Bedside demo model);version=1"))
    cds_first = g.exonic[s.utr5]
    cds_last = g.exonic[s.utr5 + len(g.cds) - 1]
    for tx_id, canonical, trim5, trim3 in tx_variants:
        exons = list(g.exons)
        exons[0] = (exons[0][0] + trim5, exons[0][1])
        exons[-1] = (exons[-1][0], exons[-1][1] - trim3)
        tag = ";tag=basic,Ensembl_canonical,MANE_Select" if canonical else ";tag=basic"
        out.append(row("mRNA", exons[0][0], exons[-1][1],
                       f"ID=transcript:{tx_id};Parent=gene:{g.gene_id};Name={s.name}-{'201' if canonical else '202'};"
                       f"biotype=protein_coding;transcript_id={tx_id};version=1{tag}"))
        cds_done = 0
        for n, (lo, hi) in enumerate(exons, 1):
            out.append(row("exon", lo, hi, f"Parent=transcript:{tx_id};Name={tx_id}-E{n};exon_number={n};rank={n}"))
            # UTR parts
            if lo < cds_first:
                out.append(row("five_prime_UTR", lo, min(hi, cds_first), f"Parent=transcript:{tx_id}"))
            if hi - 1 > cds_last:
                out.append(row("three_prime_UTR", max(lo, cds_last + 1), hi, f"Parent=transcript:{tx_id}"))
            clo, chi = max(lo, cds_first), min(hi, cds_last + 1)
            if clo < chi:
                phase = (3 - cds_done % 3) % 3
                out.append(row("CDS", clo, chi, f"ID=CDS:{tx_id};Parent=transcript:{tx_id};protein_id={tx_id.replace('ENST', 'ENSP')}",
                               str(phase)))
                cds_done += chi - clo
    # GFF3 readers want features sorted within a gene by start on the forward strand
    head, rest = out[0], out[1:]
    return [head] + rest
