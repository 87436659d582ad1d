"""Seeded simulations of tumor/normal read pairs carrying copy-number changes, microsatellite instability
and structural rearrangements (gene fusions), for the biomarker callers' tests and benchmarks.

A genome is random sequence (GC ≈ 41 %) with gene models (exons, CDS over every exon) written as an
Ensembl-style GFF3, planted microsatellites (A/T/C/G homopolymers of 10-20 bp, CA/AG/AAT repeats) away
from exons, and heterozygous germline SNPs about every ``snp_spacing`` bp with random phase.

The tumor is a mixture of normal cells (share ``1 - purity``) and one tumor clone whose two haplotypes
carry the planted events:

* copy number: per haplotype, a region copied ``k`` times (k = 0 deletes it; k > 1 adds k - 1 extra
  copies as separate FASTA records); a copy-neutral LOH copies haplotype A over haplotype B;
* microsatellite instability: the repeat length of an unstable site changes by -3..+1 units on
  haplotype A (and on B with probability 0.5);
* fusions: a derivative sequence joins the 5' part of gene A (up to a breakpoint in an intron) to the
  3' part of gene B (inversion when both lie on one contig on opposite strands, deletion when on one
  strand, reciprocal translocation when on two contigs).

Reads are simulated with ART (:func:`bedside.demo.simulate.simulate_mixture`: coverage per FASTA
record proportional to its share, so local depth follows the number of copies) and aligned with
``bwa mem``; ``samtools sort``/``index`` make indexed BAMs with one read group each. The same seed
gives the same genome, events and reads.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bedside import tools
from bedside.demo.reference import random_bases, revcomp
from bedside.demo.simulate import simulate_mixture


@dataclass(frozen=True)
class GeneSpec:
    name: str
    contig: str
    strand: str
    start: int  # 1-based position of the gene's lowest base
    n_exons: int = 8


@dataclass
class SimGene:
    name: str
    contig: str
    strand: str
    exons: list[tuple[int, int]]  # 1-based inclusive, ascending genomic order

    @property
    def start(self) -> int:
        return self.exons[0][0]

    @property
    def end(self) -> int:
        return self.exons[-1][1]

    def exons_5to3(self) -> list[tuple[int, int]]:
        return self.exons if self.strand == "+" else list(reversed(self.exons))

    def intron_point(self, k: int) -> int:
        """A 1-based position in the middle of intron ``k`` (1 = between exon 1 and 2, transcript order);
        the breakpoint lies between this base and the next."""
        ex = self.exons_5to3()
        a, b = ex[k - 1], ex[k]
        lo, hi = (a[1], b[0]) if self.strand == "+" else (b[1], a[0])
        return (lo + hi) // 2


@dataclass
class Microsatellite:
    contig: str
    start: int  # 0-based first repeat base
    unit: str
    copies: int

    @property
    def end(self) -> int:
        return self.start + len(self.unit) * self.copies


@dataclass
class Genome:
    contigs: dict[str, str]
    genes: list[SimGene]
    microsatellites: list[Microsatellite]
    snps: list[tuple[str, int, str, str, str]]  # contig, 0-based pos, ref, alt, haplotype (A|B)

    def gene(self, name: str) -> SimGene:
        return next(g for g in self.genes if g.name == name)


def build_genome(seed: int, contigs: dict[str, int], genes: Sequence[GeneSpec], *, n_microsatellites: int = 0,
                 snp_spacing: int = 800, exon_len: tuple[int, int] = (120, 200),
                 intron_len: tuple[int, int] = (700, 1600)) -> Genome:
    rng = random.Random(seed)
    seqs = {name: random_bases(rng, n) for name, n in contigs.items()}
    out_genes: list[SimGene] = []
    for spec in genes:
        pos = spec.start
        exons = []
        for i in range(spec.n_exons):
            ln = rng.randint(*exon_len)
            exons.append((pos, pos + ln - 1))
            pos += ln + (rng.randint(*intron_len) if i < spec.n_exons - 1 else 0)
        if pos >= contigs[spec.contig]:
            raise ValueError(f"gene {spec.name} runs past the end of {spec.contig}")
        out_genes.append(SimGene(spec.name, spec.contig, spec.strand, exons))
    # donor GT / acceptor AG at every intron (gene orientation), so splice sites look like splice sites
    for g in out_genes:
        s = list(seqs[g.contig])
        for (_a, e1), (s2, _b) in zip(g.exons, g.exons[1:]):
            if g.strand == "+":
                s[e1:e1 + 2] = "GT"
                s[s2 - 3:s2 - 1] = "AG"
            else:  # minus strand: donor at the high end -> genomic 'AC' before exon, acceptor 'CT' after
                s[e1:e1 + 2] = "CT"
                s[s2 - 3:s2 - 1] = "AC"
        seqs[g.contig] = "".join(s)
    exonic = {c: [(a - 30, b + 30) for g in out_genes if g.contig == c for a, b in g.exons] for c in contigs}
    ms: list[Microsatellite] = []
    names = list(contigs)
    tries = 0
    while len(ms) < n_microsatellites and tries < n_microsatellites * 50:
        tries += 1
        c = rng.choice(names)
        pos = rng.randint(200, contigs[c] - 250)
        kind = rng.random()
        if kind < 0.7:
            unit, copies = rng.choice("AATTCG"), rng.randint(10, 20)
        elif kind < 0.9:
            unit, copies = rng.choice(("CA", "AG", "TG")), rng.randint(6, 12)
        else:
            unit, copies = "AAT", rng.randint(5, 8)
        end = pos + len(unit) * copies
        if any(a <= end and pos <= b for a, b in exonic[c]):
            continue
        if any(abs(m.start - pos) < 400 for m in ms if m.contig == c):
            continue
        s = seqs[c]
        # flanks must not extend the repeat
        left, right = s[pos - 1], s[end]
        if left == unit[-1] or right == unit[0]:
            continue
        seqs[c] = s[:pos] + unit * copies + s[end:]
        ms.append(Microsatellite(c, pos, unit, copies))
    ms.sort(key=lambda m: (names.index(m.contig), m.start))
    snps = []
    for c, s in seqs.items():
        pos = rng.randint(50, snp_spacing)
        while pos < len(s) - 50:
            if not any(m.contig == c and m.start - 20 <= pos < m.end + 20 for m in ms):
                ref = s[pos]
                alt = rng.choice([b for b in "ACGT" if b != ref])
                snps.append((c, pos, ref, alt, rng.choice("AB")))
            pos += rng.randint(snp_spacing // 2, snp_spacing * 3 // 2)
    return Genome(seqs, out_genes, ms, snps)


def write_reference(genome: Genome, fasta: Path, gff3: Path | None = None) -> None:
    fasta.parent.mkdir(parents=True, exist_ok=True)
    _write_fasta(genome.contigs, fasta)
    tools.run_tool(["samtools", "faidx", fasta])
    if gff3 is not None:
        write_gff3(genome, gff3)


def write_gff3(genome: Genome, path: Path) -> None:
    lines = ["##gff-version 3"]
    for c, s in genome.contigs.items():
        lines.append(f"##sequence-region {c} 1 {len(s)}")
    for i, g in enumerate(genome.genes, 1):
        gid, tid = f"ENSGSIM{i:05d}", f"ENSTSIM{i:05d}"
        lines.append("\t".join([g.contig, "sim", "gene", str(g.start), str(g.end), ".", g.strand, ".",
                                f"ID=gene:{gid};Name={g.name};biotype=protein_coding"]))
        lines.append("\t".join([g.contig, "sim", "mRNA", str(g.start), str(g.end), ".", g.strand, ".",
                                f"ID=transcript:{tid};Parent=gene:{gid};Name={g.name}-201;"
                                "biotype=protein_coding;tag=basic,Ensembl_canonical,MANE_Select"]))
        done = 0
        phases = {}
        for a, b in g.exons_5to3():
            phases[(a, b)] = (3 - done % 3) % 3
            done += b - a + 1
        for n, (a, b) in enumerate(g.exons_5to3(), 1):
            lines.append("\t".join([g.contig, "sim", "exon", str(a), str(b), ".", g.strand, ".",
                                    f"Parent=transcript:{tid};exon_number={n}"]))
            lines.append("\t".join([g.contig, "sim", "CDS", str(a), str(b), ".", g.strand, str(phases[(a, b)]),
                                    f"ID=CDS:{tid};Parent=transcript:{tid}"]))
    path.write_text("\n".join(lines) + "\n")


def _write_fasta(seqs: dict[str, str], path: Path) -> None:
    with path.open("w") as fh:
        for name, s in seqs.items():
            fh.write(f">{name}\n")
            for i in range(0, len(s), 60):
                fh.write(s[i:i + 60] + "\n")


# ------------------------------------------------------------------------------------------ tumor events

@dataclass(frozen=True)
class CopyEvent:
    """Region [start, end) (0-based) of ``contig`` gets ``copies_a`` copies on haplotype A and ``copies_b`` on
    B (1, 1 = unchanged; 0 = deleted). Copy-neutral LOH: copies_a = 2, copies_b = 0 (A's alleles)."""

    contig: str
    start: int
    end: int
    copies_a: int
    copies_b: int

    @property
    def total(self) -> int:
        return self.copies_a + self.copies_b

    @property
    def minor(self) -> int:
        return min(self.copies_a, self.copies_b)


@dataclass(frozen=True)
class Fusion:
    """5' gene ``gene5`` (breakpoint after 1-based ``pos5``) joined to 3' gene ``gene3`` (breakpoint before
    1-based ``pos3``), in the genes' transcription orientation."""

    gene5: str
    pos5: int
    gene3: str
    pos3: int


@dataclass
class TumorPlan:
    purity: float = 0.6
    copy_events: list[CopyEvent] = field(default_factory=list)
    unstable: list[int] = field(default_factory=list)  # indices into genome.microsatellites
    fusions: list[Fusion] = field(default_factory=list)
    seed: int = 1


def _haplotype(genome: Genome, which: str) -> dict[str, str]:
    seqs = {c: list(s) for c, s in genome.contigs.items()}
    for c, pos, _ref, alt, hap in genome.snps:
        if hap == which:
            seqs[c][pos] = alt
    return {c: "".join(s) for c, s in seqs.items()}


def _msi_edits(genome: Genome, plan: TumorPlan, which: str, rng: random.Random) -> list[tuple[str, int, int, str]]:
    edits = []
    for i in plan.unstable:
        m = genome.microsatellites[i]
        r = rng.random()
        delta = rng.choice((-1, -1, -2, -2, -3, 1))
        if which == "B" and r < 0.5:
            continue
        copies = max(3, m.copies + delta)
        edits.append((m.contig, m.start, m.end, m.unit * copies))
    return edits


def _apply_edits(seqs: dict[str, str], edits: list[tuple[str, int, int, str]]) -> dict[str, str]:
    """Replace [start, end) of a contig by a sequence; edits may not overlap (applied right to left)."""
    out = dict(seqs)
    by: dict[str, list[tuple[int, int, str]]] = {}
    for c, a, b, rep in edits:
        by.setdefault(c, []).append((a, b, rep))
    for c, es in by.items():
        s = out[c]
        last = None
        for a, b, rep in sorted(es, reverse=True):
            if last is not None and b > last:
                raise ValueError(f"overlapping simulated events on {c} at {a}-{b}")
            s = s[:a] + rep + s[b:]
            last = a
        out[c] = s
    return out


def _orient(seq: str, strand: str) -> str:
    return seq if strand == "+" else revcomp(seq)


def _apply_fusions(genome: Genome, hap: dict[str, str], fusions: Sequence[Fusion]) -> dict[str, str]:
    """Rearranged haplotype (coordinates of unrelated contigs unchanged). Breakpoints use reference
    coordinates, so fusions go on a haplotype before any length-changing edit of those contigs."""
    out = dict(hap)
    for f in fusions:
        g5, g3 = genome.gene(f.gene5), genome.gene(f.gene3)
        if g5.contig == g3.contig:
            s = out[g5.contig]
            if g5.strand != g3.strand:  # inversion of the segment between the breakpoints
                if g5.strand == "+":  # 5' part left of pos5; 3' part (minus strand) below pos3
                    a, b = f.pos5, f.pos3
                else:
                    a, b = f.pos3 - 1, f.pos5 - 1
                if not a < b:
                    raise ValueError(f"fusion {f}: breakpoints in the wrong order for an inversion")
                out[g5.contig] = s[:a] + revcomp(s[a:b]) + s[b:]
            else:  # deletion between the breakpoints
                a, b = (f.pos5, f.pos3 - 1) if g5.strand == "+" else (f.pos3, f.pos5 - 1)
                if not a < b:
                    raise ValueError(f"fusion {f}: breakpoints in the wrong order for a deletion")
                out[g5.contig] = s[:a] + s[b:]
        else:
            s5, s3 = _orient(out[g5.contig], g5.strand), _orient(out[g3.contig], g3.strand)
            b5 = f.pos5 if g5.strand == "+" else len(s5) - f.pos5 + 1
            b3 = f.pos3 - 1 if g3.strand == "+" else len(s3) - f.pos3
            out[g5.contig] = s5[:b5] + s3[b3:]
            out[g3.contig] = s3[:b3] + s5[b5:]
    return out


def tumor_components(genome: Genome, plan: TumorPlan, workdir: Path) -> list[tuple[Path, float]]:
    """FASTA files of the tumor sample's cell populations with their coverage shares.

    Normal cells: haplotypes A and B at share (1 - purity) each; tumor clone: its haplotypes at purity
    each. A copy event writes the region ``copies`` times in tandem (0 = deleted), so local depth follows
    the copy number; unstable microsatellites inside a copy event are left unchanged."""
    rng = random.Random(plan.seed)
    workdir.mkdir(parents=True, exist_ok=True)
    hap = {w: _haplotype(genome, w) for w in "AB"}
    fused = {c for f in plan.fusions for c in (genome.gene(f.gene5).contig, genome.gene(f.gene3).contig)}
    if any(ev.contig in fused for ev in plan.copy_events):
        raise ValueError("copy events on a contig that carries a simulated fusion are not supported")
    comps: list[tuple[Path, float]] = []
    for w in "AB":
        p = workdir / f"normal_{w}.fa"
        _write_fasta(hap[w], p)
        comps.append((p, 1 - plan.purity))
    for w in "AB":
        seqs = dict(hap[w])
        if plan.fusions and w == "A":
            seqs = _apply_fusions(genome, seqs, plan.fusions)
        edits = []
        for ev in plan.copy_events:
            n = ev.copies_a if w == "A" else ev.copies_b
            edits.append((ev.contig, ev.start, ev.end, seqs[ev.contig][ev.start:ev.end] * n))
        for e in _msi_edits(genome, plan, w, rng):
            if not any(e[0] == ev.contig and e[1] < ev.end and ev.start < e[2] for ev in plan.copy_events):
                edits.append(e)
        p = workdir / f"tumor_{w}.fa"
        _write_fasta(_apply_edits(seqs, edits), p)
        comps.append((p, plan.purity))
    tot = sum(s for _, s in comps)
    return [(p, s / tot) for p, s in comps if s > 0]


def normal_components(genome: Genome, workdir: Path) -> list[tuple[Path, float]]:
    workdir.mkdir(parents=True, exist_ok=True)
    out = []
    for w in "AB":
        p = workdir / f"normal_{w}.fa"
        _write_fasta(_haplotype(genome, w), p)
        out.append((p, 0.5))
    return out


def bwa_index(ref: Path) -> None:
    if not Path(f"{ref}.bwt").exists():
        tools.run_tool(["bwa", "index", ref])


def simulate_bam(components: list[tuple[Path, float]], coverage: float, ref: Path, out_bam: Path, sample: str,
                 seed: int, *, threads: int = 2, read_len: int = 150, insert: int = 350) -> Path:
    """ART reads from the mixture, aligned with bwa mem into a sorted, indexed BAM with read group SM=sample.

    ``coverage`` is the fold coverage of a diploid (2-copy) region: records are simulated at
    ``coverage * share`` each, so a mixture whose shares are weighted by copies keeps that scale."""
    out_bam.parent.mkdir(parents=True, exist_ok=True)
    fq1, fq2 = out_bam.with_suffix(".R1.fq.gz"), out_bam.with_suffix(".R2.fq.gz")
    simulate_mixture(components, coverage, read_len, insert, fq1, fq2, seed, read_prefix=f"{sample}.")
    bwa_index(ref)
    rg = f"@RG\\tID:{sample}\\tSM:{sample}\\tPL:ILLUMINA"
    tools.pipe([["bwa", "mem", "-t", str(threads), "-R", rg, "-v", "1", ref, fq1, fq2],
                ["samtools", "sort", "-@", str(max(1, threads - 1)), "-o", out_bam, "-"]])
    tools.run_tool(["samtools", "index", out_bam])
    fq1.unlink()
    fq2.unlink()
    return out_bam
