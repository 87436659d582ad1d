"""The demo's biomarkers beyond SNVs/indels: copy number, LOH, MSI and a gene fusion.

Planted events (per patient, in the tumor cells only; the tumor is a mixture of normal cells and tumor
cells at purity = 2 x the founding clone's VAF, the demo's clone model):

* PT01 (SKCM): CDKN2A homozygous deletion (both haplotypes, gene +- 4 kb);
* PT02 (LUAD): EML4-ALK, an inversion joining EML4 intron 13 to ALK intron 19 (EML4 exons 1-13 ::
  ALK exons 20-29, in frame, as in EML4-ALK variant 1). EGFR L858R and an ALK fusion rarely co-occur in
  real lung adenocarcinoma; the demo puts both in one patient to exercise both report sections;
* PT03 (COAD): microsatellite instability: 45 % of the demo microsatellites change length in the tumor
  (-3..+1 repeat units on haplotype A; on B as well with probability 0.5), an MSI-H colorectal tumor;
* PT04 (IDC, germline BRCA1 c.68_69del on haplotype A): ERBB2 amplification (haplotype A region x 8, 9
  copies in the tumor cells, from the gene to the end of its contig) and copy-neutral LOH over BRCA1 (haplotype B's region replaced by A's:
  the germline frameshift becomes homozygous in the tumor cells, the "second hit").

The biomarker genes and the microsatellites live in each contig's *appendix*, built after the core genome
from their own random stream, so the core's sequence, coordinates and planted variants do not depend on
them. Heterozygous background SNPs (germline, intergenic, about one per 600 bp per patient, each private
to one patient, in the population VCF at 5-50 %) give the
copy-number caller B-allele frequencies; they are planted after the core variants from their own stream.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bedside.demo.genes import CONTIGS, GENES, X_CONTIG, GeneSpec
from bedside.demo.variants import Planted

APPENDIX_SPACER = (900, 1400)
MS_PER_CONTIG = 9
MS_SPACING = (220, 320)
MS_UNITS = ("A", "T", "A", "T", "C", "G", "CA", "TG", "AG", "CT")
MSI_FRACTION = 0.45
BACKGROUND_SPACING = 150  # one site per ~150 bp, each private to one patient (~1 per 600 bp each)
CNV_PAD = 4000


def append_biomarker_blocks(seed: int, contigs: dict[str, str], protected: dict[str, list[int]]):
    """Append biomarker genes and microsatellites to every contig (new contigs are created);
    returns (contigs in CONTIGS order, gene models, microsatellites)."""
    from bedside.demo.reference import place_genes, random_bases

    rng = random.Random(f"bedside-demo-biomarker-reference-{seed}")
    out: dict[str, str] = {}
    genes = []
    ms: list[tuple[str, int, str, int]] = []
    for contig in CONTIGS:
        seq = contigs.get(contig, "")
        parts = [seq, random_bases(rng, rng.randrange(*APPENDIX_SPACER))]
        pos = sum(len(p) for p in parts)
        specs = [(i, s) for i, s in enumerate(GENES) if s.biomarker and s.contig == contig]
        pos = place_genes(specs, rng, protected, parts, pos, APPENDIX_SPACER, genes)
        for _ in range(MS_PER_CONTIG):
            flank = random_bases(rng, rng.randrange(*MS_SPACING))
            unit = rng.choice(MS_UNITS)
            copies = rng.randint(11, 18) if len(unit) == 1 else rng.randint(7, 11)
            # the flank bases next to the repeat must not extend it
            left = flank[:-1] + _other(flank[-1], unit[-1], rng)
            parts.append(left)
            pos += len(left)
            ms.append((contig, pos, unit, copies))
            rep = unit * copies
            parts.append(rep)
            pos += len(rep)
            parts.append(_other(rng.choice("ACGT"), unit[0], rng))
            pos += 1
        parts.append(random_bases(rng, rng.randrange(*APPENDIX_SPACER)))
        out[contig] = "".join(parts)
    return out, genes, ms


def _other(base: str, avoid: str, rng: random.Random) -> str:
    return base if base != avoid else rng.choice([b for b in "ACGT" if b != avoid])


# ------------------------------------------------------------------------------------------ patient plan

@dataclass
class CopyEvent:
    gene: str
    chrom: str
    start: int  # 0-based
    end: int
    copies_a: int
    copies_b: int  # -1: haplotype B's region replaced by haplotype A's (copy-neutral LOH)
    call: str  # the gene-level call a caller should make


@dataclass
class FusionEvent:
    gene5: str
    gene3: str
    chrom: str
    start: int  # 0-based inverted segment [start, end)
    end: int
    breakpoint5: int  # 1-based last base kept of the 5' gene
    breakpoint3: int  # 1-based base where the 3' gene's retained part begins (its genomic high side)
    exons5: str
    exons3: str
    frame: str


@dataclass
class BiomarkerPlan:
    patient: str
    purity: float
    copy: list[CopyEvent] = field(default_factory=list)
    fusions: list[FusionEvent] = field(default_factory=list)
    msi_unstable: list[tuple[str, int, str, int, int, int]] = field(default_factory=list)  # site, A, B copies


def _span(ref, gene: str, pad: int) -> tuple[str, int, int]:
    g = ref.gene(gene)
    lo = g.genomic_start - 1 - g.spec.upstream - pad if g.strand == "+" else g.genomic_start - 1 - g.spec.downstream - pad
    hi = g.genomic_end + (g.spec.downstream if g.strand == "+" else g.spec.upstream) + pad
    return g.contig, max(0, lo), min(len(ref.contigs[g.contig]), hi)


def plan_biomarkers(ref, plans: dict, seed: int) -> dict[str, BiomarkerPlan]:
    """The planted biomarker events of each patient (deterministic for a seed)."""
    rng = random.Random(f"bedside-demo-biomarkers-{seed}")
    out: dict[str, BiomarkerPlan] = {}
    for patient, pp in plans.items():
        top = max(v for _, v in pp.somatic)
        out[patient] = BiomarkerPlan(patient, round(2 * top, 4))
    c, a, b = _span(ref, "CDKN2A", CNV_PAD)
    out["PT01"].copy.append(CopyEvent("CDKN2A", c, a, b, 0, 0, "homozygous_deletion"))
    # ERBB2 amplicon: from 500 bp before the gene block to the end of the contig
    c, a, _b = _span(ref, "ERBB2", 500)
    out["PT04"].copy.append(CopyEvent("ERBB2", c, a, len(ref.contigs[c]), 8, 1, "amplification"))
    brca1 = ref.gene("BRCA1")
    # copy-neutral LOH from 6 kb before BRCA1 to the end of the core of chr17
    lo = brca1.genomic_start - 1 - 6000
    out["PT04"].copy.append(CopyEvent("BRCA1", "chr17", lo, ref.core_lengths["chr17"], 2, -1, "cn_loh"))
    eml4, alk = ref.gene("EML4"), ref.gene("ALK")
    # EML4 (+) intron 13 and ALK (-) intron 19 (between ALK exons 19 and 20 in transcript order)
    e13_end = eml4.local_to_genomic(eml4.exons[12][1] - 1)
    e14_start = eml4.local_to_genomic(eml4.exons[13][0])
    bp5 = (e13_end + e14_start) // 2
    a19 = alk.local_to_genomic(alk.exons[18][1] - 1)  # ALK '-' : exon 19 ends at a low genomic position
    a20 = alk.local_to_genomic(alk.exons[19][0])
    bp3 = (a19 + a20) // 2
    out["PT02"].fusions.append(FusionEvent("EML4", "ALK", "chr2", bp5, bp3, bp5, bp3, "EML4 exons 1-13",
                                           "ALK exons 20-29", "in-frame"))
    n = round(MSI_FRACTION * len(ref.microsatellites))
    for contig, start, unit, copies in sorted(rng.sample(ref.microsatellites, n)):
        da = rng.choice((-1, -1, -2, -2, -3, 1))
        db = rng.choice((-1, -2, 1)) if rng.random() < 0.5 else 0
        out["PT03"].msi_unstable.append((contig, start, unit, copies, copies + da, copies + db))
    # no somatic variant of the patient may lie in one of its copy-number or fusion regions (its expected
    # VAF would change); copy-neutral LOH copies only germline alleles, so somatic VAFs stay as planned
    for patient, bp in out.items():
        regions = [(e.chrom, e.start, e.end) for e in bp.copy if e.copies_b != -1]
        regions += [(f.chrom, f.start - 1, f.end + 1) for f in bp.fusions]
        for v, _ in plans[patient].somatic:
            for c, a, b in regions:
                if v.chrom == c and a <= v.pos - 1 < b:
                    raise AssertionError(f"{patient}: somatic {v.key} inside a planted copy-number/fusion region")
    return out


def background_snps(ref, plans: dict, seed: int, taken: set = frozenset()) -> dict[str, list[tuple[Planted, str]]]:
    """Heterozygous intergenic germline SNPs per patient (for B-allele frequencies), >= 40 bp from every
    planted variant and from the population/ClinVar sites in ``taken``; none on the X segment (a male's
    single X has no heterozygous site)."""
    rng = random.Random(f"bedside-demo-background-snps-{seed}")
    used = {(v.chrom, v.pos) for pp in plans.values() for v, _ in pp.germline + pp.somatic} | set(taken)
    genes = [(g.contig, min(g.genomic_start, g.genomic_end) - 300, max(g.genomic_start, g.genomic_end) + 300)
             for g in ref.genes]
    ms = [(c, s - 30, s + len(u) * n + 30) for c, s, u, n in ref.microsatellites]
    sites = []
    for contig, seq in ref.contigs.items():
        if contig == X_CONTIG:  # X has its own common SNPs (bedside.demo.patients.plan_x_snps)
            continue
        pos = rng.randrange(200, 200 + BACKGROUND_SPACING)
        while pos < len(seq) - 200:
            blocked = any(c == contig and a <= pos <= b for c, a, b in genes + ms) or any(
                c == contig and abs(p - pos) < 40 for c, p in used)
            if not blocked:
                r = seq[pos - 1]
                sites.append((contig, pos, r, rng.choice([b for b in "ACGT" if b != r])))
            pos += rng.randrange(BACKGROUND_SPACING // 2, BACKGROUND_SPACING * 3 // 2)
    out: dict[str, list[tuple[Planted, str]]] = {p: [] for p in plans}
    patients = list(plans)
    for contig, pos, r, a in sites:
        who = rng.choice(patients)
        out[who].append((Planted(f"background:{contig}:{pos}:{r}>{a}", contig, pos, r, a, None, None, None, None,
                                 "background", "intergenic"), rng.choice("AB")))
    return out


# --------------------------------------------------------------------------------------------- haplotypes

def haplotype_sequence(ref, variants: list[Planted], bp: BiomarkerPlan | None, hap: str) -> dict[str, str]:
    """Contig sequences of one tumor haplotype: small variants plus the patient's tumor events."""
    edits: list[tuple[str, int, int, object]] = []  # (chrom, start0, end0, fn(local seq) -> replacement)
    if bp is not None:
        for e in bp.copy:
            if e.copies_b == -1:  # copy-neutral LOH: the germline alleles are swapped (tumor_haplotypes)
                continue
            n = e.copies_a if hap == "A" else e.copies_b
            edits.append((e.chrom, e.start, e.end, (lambda k: (lambda s: s * k))(n)))
        if hap == "A":
            from bedside.demo.reference import revcomp

            for f in bp.fusions:
                edits.append((f.chrom, f.start, f.end, revcomp))
        for contig, start, unit, copies, ca, cb in bp.msi_unstable:
            k = ca if hap == "A" else cb
            edits.append((contig, start, start + len(unit) * copies, (lambda rep: (lambda s: rep))(unit * k)))
    return apply_edits(ref, variants, edits, hap)


def apply_edits(ref, variants: list[Planted], edits, hap: str) -> dict[str, str]:
    """Apply small variants and region edits (fn(region sequence with its variants) -> replacement),
    right to left on each contig; edits and variants may not overlap one another's edges."""
    out = dict(ref.contigs)
    by: dict[str, list[tuple[int, int, str]]] = {}
    consumed: set[int] = set()
    for chrom, start, end, fn in edits:
        inside = [v for v in variants if v.chrom == chrom and start < v.pos <= end]
        for v in variants:
            if v.chrom == chrom and v.pos <= start < v.pos - 1 + len(v.ref):
                raise AssertionError(f"variant {v.key} straddles a planted region edge")
        local = ref.contigs[chrom][start:end]
        for v in sorted(inside, key=lambda x: x.pos, reverse=True):
            a, b = v.pos - 1 - start, v.pos - 1 - start + len(v.ref)
            if b > len(local):
                raise AssertionError(f"variant {v.key} straddles a planted region edge")
            local = local[:a] + v.alt + local[b:]
            consumed.add(id(v))
        rep = fn(local)
        by.setdefault(chrom, []).append((start, end, rep))
    for v in variants:
        if id(v) not in consumed:
            by.setdefault(v.chrom, []).append((v.pos - 1, v.pos - 1 + len(v.ref), v.alt))
    for chrom, es in by.items():
        seq = ref.contigs[chrom]
        last = None
        for start, end, rep in sorted(es, key=lambda x: (x[0], x[1]), reverse=True):
            if last is not None and end > last:
                raise AssertionError(f"overlapping planted edits at {chrom}:{start}")
            seq = seq[:start] + rep + seq[end:]
            last = start
        out[chrom] = seq
    return out


def tumor_haplotypes(ref, germline_a: list[Planted], germline_b: list[Planted], clone_variants: list[Planted],
                     bp: BiomarkerPlan) -> tuple[dict[str, str], dict[str, str]]:
    """(tumor haplotype A with the clone's somatic variants, tumor haplotype B) with the tumor events."""
    a_vars = germline_a + clone_variants
    hap_a = haplotype_sequence(ref, a_vars, bp, "A")
    loh = [e for e in bp.copy if e.copies_b == -1]
    if not loh:
        return hap_a, haplotype_sequence(ref, germline_b, bp, "B")
    # haplotype B: LOH regions take haplotype A's germline alleles (no tumor events of A: the clone's
    # somatic variants stay on A, and A's CNV/fusion edits are outside the LOH regions)
    b_vars = [v for v in germline_b if not any(v.chrom == e.chrom and e.start < v.pos <= e.end for e in loh)]
    b_vars += [v for v in germline_a if any(v.chrom == e.chrom and e.start < v.pos <= e.end for e in loh)]
    others = BiomarkerPlan(bp.patient, bp.purity, [e for e in bp.copy if e.copies_b != -1], bp.fusions,
                           bp.msi_unstable)
    return hap_a, haplotype_sequence(ref, b_vars, others, "B")


# ------------------------------------------------------------------------------------------------ truth

def write_truth(plans: dict[str, BiomarkerPlan], ref, path: Path) -> None:
    data = {"note": ("Planted tumor biomarker events of the demo (tumor cells only; purity = fraction of tumor "
                     "cells). Coordinates: 0-based half-open regions, 1-based breakpoints."),
            "microsatellites": [{"chrom": c, "start": s, "unit": u, "copies": n} for c, s, u, n in ref.microsatellites],
            "patients": {}}
    for p, bp in plans.items():
        d = asdict(bp)
        d["msi_unstable"] = [{"chrom": c, "start": s, "unit": u, "ref_copies": n, "tumor_copies_a": a,
                              "tumor_copies_b": b} for c, s, u, n, a, b in bp.msi_unstable]
        d["msi_status"] = "MSI-H" if bp.msi_unstable else "MSS"
        data["patients"][p] = d
    path.write_text(json.dumps(data, indent=2) + "\n")


def readme_section(plans: dict[str, BiomarkerPlan], ref) -> str:
    rows = []
    for p, bp in plans.items():
        ev = [f"{e.gene} {e.call.replace('_', ' ')}" for e in bp.copy]
        ev += [f"{f.gene5}-{f.gene3} ({f.exons5} :: {f.exons3}, {f.frame})" for f in bp.fusions]
        if bp.msi_unstable:
            ev.append(f"MSI-H ({len(bp.msi_unstable)}/{len(ref.microsatellites)} microsatellites unstable)")
        rows.append(f"| {p} | {bp.purity:g} | {'; '.join(ev) or '-'} |")
    return ("| patient | tumor purity | planted biomarker events (tumor cells) |\n|---|---|---|\n"
            + "\n".join(rows))


def biomarker_gene_spec(name: str) -> GeneSpec:
    return next(g for g in GENES if g.name == name)
