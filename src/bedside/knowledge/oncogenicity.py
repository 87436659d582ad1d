"""Oncogenicity of somatic variants: ClinGen/CGC/VICC SOP (Horak P et al., Genet Med 2022;24:986-998,
PMID 35101336), with the criteria Bedside can evaluate from its own data.

Points (SOP Tables 2-4): very strong 8, strong 4, moderate 2, supporting 1 (benign: -8, -4, -1).
Classes: Oncogenic >= 10, Likely Oncogenic 6..9, VUS 0..5, Likely Benign -1..-6, Benign <= -7.

Criteria evaluated (everything else, e.g. OS2 functional studies, OP1 in-silico predictors, is not evaluated
and is listed as such in docs/knowledge.md):
  OVS1 (+8)  null variant (nonsense, frameshift, canonical +-1/2 splice site, start lost) in a bona fide
             tumor-suppressor gene (data/oncogenicity_genes.tsv, role TSG)
  OS1  (+4)  same amino-acid change as an established oncogenic variant. Bedside takes "established" from
             (a) a level A/B statement for exactly this protein change in the loaded knowledge base, or
             (b) ClinVar pathogenic / likely pathogenic with >= 2 review stars and no conflict (a documented
             Bedside adaptation: ClinVar's germline classification, not an oncogenicity classification)
  OS3  (+4)  cancerhotspots.org v2 hotspot residue with >= 50 samples, this amino-acid change >= 10 samples
  OM3  (+2)  hotspot residue with < 50 samples, this amino-acid change >= 10 samples
  OP3  (+1)  hotspot residue (or in-frame indel hotspot range), this change < 10 samples
  OM1  (+2)  inside a critical functional region (data/oncogenicity_genes.tsv region rows, UniProtKB)
  OM2  (+2)  in-frame deletion/insertion in a known oncogene or tumor suppressor, or stop-loss in a tumor
             suppressor (not with OVS1)
  OP4  (+1)  absent from the population resource (only when one was used for this run)
  SBVS1 (-8) population allele frequency > 5 %;  SBS1 (-4) > 1 % (the SOP asks for any of five continental
             populations; Bedside has the one AF its population resource gives)
  SBP2 (-1)  synonymous (Bedside has no splice predictor: applied to synonymous variants outside the
             canonical splice sites)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bedside.annotate.hgvs import AA1, protein_span
from bedside.knowledge.entry import finding_change, is_pathogenic, is_truncating
from bedside.model import Citation, Finding, Oncogenicity

DATA = Path(__file__).parent / "data"
HOTSPOTS = DATA / "cancerhotspots_v2.tsv"
GENES = DATA / "oncogenicity_genes.tsv"
SOP = Citation(source="ClinGen/CGC/VICC oncogenicity SOP (Horak et al., Genet Med 2022)", pmid="35101336",
               url="https://pubmed.ncbi.nlm.nih.gov/35101336/")
HOTSPOT_CITATION = Citation(source="cancerhotspots.org v2 (Chang et al., Cancer Discov 2018)", pmid="29247016",
                            url="https://www.cancerhotspots.org", version="cancerhotspots_v2")
NULL_TERMS = {"stop_gained", "frameshift_variant", "splice_donor_variant", "splice_acceptor_variant",
              "start_lost"}
INFRAME_TERMS = {"inframe_deletion", "inframe_insertion", "protein_altering_variant"}
# The hotspot table (2017) names some genes by symbols HGNC has since replaced; a current annotation writes
# the approved symbol. Previous symbol -> approved symbol (HGNC; the 2020 histone renaming and CCNQ), used to
# index those hotspots under both names. Residue numbering is unchanged (the table already counts the
# initiator methionine: H3F3A K28 is H3-3A p.Lys28, legacy "K27M").
HOTSPOT_GENE_ALIASES = {"H3F3A": "H3-3A", "HIST1H3B": "H3C2", "HIST1H3C": "H3C3", "HIST1H3H": "H3C10",
                        "HIST1H1C": "H1-2", "FAM58A": "CCNQ"}


def classify_points(points: int) -> str:
    if points >= 10:
        return "Oncogenic"
    if points >= 6:
        return "Likely Oncogenic"
    if points >= 0:
        return "VUS"
    if points >= -6:
        return "Likely Benign"
    return "Benign"


@dataclass
class Hotspot:
    gene: str
    residue: str
    position: int | None
    span: tuple[int, int] | None
    samples: int
    variants: dict[str, int] = field(default_factory=dict)  # alt amino acid (1-letter) or indel string -> n


@dataclass
class Resources:
    version: str
    residues: dict[tuple[str, int], Hotspot]
    indels: dict[str, list[Hotspot]]
    roles: dict[str, str]
    regions: dict[str, list[tuple[int, int, str, str]]]
    genes_version: str


def _header(path: Path) -> dict[str, str]:
    meta: dict[str, str] = {}
    with open(path) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            if ":" in line:
                k, v = line[1:].split(":", 1)
                meta.setdefault(k.strip().lower(), v.strip())
    return meta


@lru_cache(maxsize=2)
def load_resources(hotspots: str = str(HOTSPOTS), genes: str = str(GENES)) -> Resources:
    residues: dict[tuple[str, int], Hotspot] = {}
    indels: dict[str, list[Hotspot]] = {}
    with open(hotspots, newline="") as fh:
        for row in csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t"):
            variants = {}
            for tok in (row["variants"] or "").split("|"):
                if ":" in tok:
                    k, n = tok.rsplit(":", 1)
                    variants[k] = int(n)
            res = row["residue"]
            if "-" in res or row["indel_size"]:
                a, _, b = res.partition("-")
                if a.isdigit():
                    hs = Hotspot(row["gene"], res, None, (int(a), int(b or a)), int(row["samples"]), variants)
                    indels.setdefault(row["gene"], []).append(hs)
                continue
            pos = row["position"]
            if not pos.isdigit():
                continue  # splice-site hotspots (X1010 ...) have no residue
            residues[(row["gene"], int(pos))] = Hotspot(row["gene"], res, int(pos), None, int(row["samples"]),
                                                        variants)
    roles: dict[str, str] = {}
    regions: dict[str, list[tuple[int, int, str, str]]] = {}
    with open(genes, newline="") as fh:
        for row in csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t"):
            roles[row["gene"]] = row["role"]
            if row.get("region_start"):
                regions.setdefault(row["gene"], []).append(
                    (int(row["region_start"]), int(row["region_end"]), row["region"], row["source"]))
    for (gene, pos), hs in list(residues.items()):
        if gene in HOTSPOT_GENE_ALIASES:
            residues[(HOTSPOT_GENE_ALIASES[gene], pos)] = hs
    for gene in [g for g in indels if g in HOTSPOT_GENE_ALIASES]:
        indels[HOTSPOT_GENE_ALIASES[gene]] = indels[gene]
    return Resources(version=_header(Path(hotspots)).get("version", "unknown").split()[0], residues=residues,
                     indels=indels, roles=roles, regions=regions,
                     genes_version=_header(Path(genes)).get("version", "unknown"))


def _terms(f: Finding) -> set[str]:
    return set((f.consequence.consequence or "").split("&")) if f.consequence else set()


def _one_letter(aa3: str) -> str:
    return AA1.get(aa3, aa3)


def classify(f: Finding, *, established: set[tuple[str, str]] | None = None,
             population_checked: bool = False, resources: Resources | None = None) -> Oncogenicity | None:
    """Oncogenicity of one finding (None when it has no gene / protein consequence to judge)."""
    r = resources or load_resources()
    c = f.consequence
    if c is None or not c.gene:
        return None
    gene = c.gene
    terms = _terms(f)
    hp = c.hgvs_p or ""
    role = r.roles.get(gene)
    crit: list[tuple[str, int, str]] = []
    cites = [SOP]
    null = bool(terms & NULL_TERMS) or is_truncating(f)
    if null and role == "TSG":
        crit.append(("OVS1", 8, f"null variant in the tumor-suppressor gene {gene}"))
    fc = finding_change(f)
    missense = fc is not None and fc.alt not in (None, fc.ref, "?", "Ter")
    # OS1: same amino-acid change as an established oncogenic variant
    if missense and established and (gene, fc.hgvs) in established:
        crit.append(("OS1", 4, f"{gene} {fc.hgvs} has level A/B therapeutic evidence in the knowledge base"))
    elif (missense or null) and f.clinvar and is_pathogenic(f) and (f.clinvar.stars or 0) >= 2:
        crit.append(("OS1", 4, f"ClinVar {f.clinvar.clnsig} ({f.clinvar.stars} stars): established pathogenic "
                               "(Bedside adaptation of OS1)"))
    # hotspots
    if missense:
        hs = r.residues.get((gene, fc.pos))
        if hs is not None:
            n = hs.variants.get(_one_letter(fc.alt), 0)
            cites.append(HOTSPOT_CITATION)
            if hs.samples >= 50 and n >= 10:
                crit.append(("OS3", 4, f"cancerhotspots v2 {gene} {hs.residue}: {hs.samples} samples at the "
                                       f"residue, {n} with this change"))
            elif n >= 10:
                crit.append(("OM3", 2, f"cancerhotspots v2 {gene} {hs.residue}: {hs.samples} samples at the "
                                       f"residue, {n} with this change"))
            else:
                crit.append(("OP3", 1, f"cancerhotspots v2 {gene} {hs.residue}: {n} samples with this change "
                                       f"(< 10)"))
    elif terms & INFRAME_TERMS or (("del" in hp or "ins" in hp or "dup" in hp) and "fs" not in hp):
        span = protein_span(hp) if hp else None
        if span:
            for hs in r.indels.get(gene, []):
                if hs.span and hs.span[0] <= span[0] and span[1] <= hs.span[1]:
                    cites.append(HOTSPOT_CITATION)
                    crit.append(("OP3", 1, f"cancerhotspots v2 in-frame indel hotspot {gene} {hs.residue} "
                                           f"({hs.samples} samples)"))
                    break
    # OM1: critical functional region
    if (missense or terms & INFRAME_TERMS) and fc is not None:
        for a, b, name, src in r.regions.get(gene, []):
            if a <= fc.pos <= b:
                crit.append(("OM1", 2, f"{gene} residue {fc.pos} in the {name} ({src} {a}-{b})"))
                break
    # OM2: in-frame length change in a known cancer gene, stop-loss in a tumor suppressor
    if not null and role in ("TSG", "OG") and (terms & {"inframe_deletion", "inframe_insertion"}):
        crit.append(("OM2", 2, f"in-frame length change in the known {'tumor suppressor' if role == 'TSG' else 'oncogene'}"
                               f" {gene}"))
    elif role == "TSG" and "stop_lost" in terms:
        crit.append(("OM2", 2, f"stop-loss in the tumor-suppressor gene {gene}"))
    # population
    af = f.population_af
    if af is not None and af > 0.05:
        crit.append(("SBVS1", -8, f"population allele frequency {af:g} > 5 %"))
    elif af is not None and af > 0.01:
        crit.append(("SBS1", -4, f"population allele frequency {af:g} > 1 %"))
    elif population_checked and (af is None or af < 1e-5):
        crit.append(("OP4", 1, "absent (or < 0.001 %) in the population resource"))
    if "synonymous_variant" in terms and not (terms & NULL_TERMS) and not crit:
        crit.append(("SBP2", -1, "synonymous, not at a canonical splice site (no splice predictor run)"))
    points = sum(p for _, p, _ in crit)
    return Oncogenicity(classification=classify_points(points), points=points,
                        criteria=[f"{code} ({p:+d}): {why}" for code, p, why in crit], citations=cites)


def established_changes(entries) -> set[tuple[str, str]]:
    """(gene, p.Xxx123Yyy) of knowledge-base rows stating a level A/B effect of an exact protein change."""
    out: set[tuple[str, str]] = set()
    for e in entries:
        if e.evidence.level in ("A", "B") and e.alteration_type in ("protein_change", "protein_changes"):
            for ch in e.changes:
                out.add((e.evidence.gene, ch.hgvs))
    return out


def annotate_findings(findings: list[Finding], *, established: set[tuple[str, str]] | None = None,
                      population_checked: bool | None = None) -> list[Finding]:
    """Set Finding.oncogenicity on each finding (in place) and return the list."""
    if population_checked is None:
        population_checked = any(f.population_af is not None for f in findings)
    r = load_resources()
    for f in findings:
        f.oncogenicity = classify(f, established=established, population_checked=population_checked, resources=r)
    return findings


def versions() -> dict[str, str]:
    r = load_resources()
    return {"cancerhotspots": r.version, "oncogenicity_genes": r.genes_version}
