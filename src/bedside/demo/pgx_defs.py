"""Demo-coordinate PharmCAT allele definitions (``<GENE>_translation.json``).

The defining variants and named alleles are a subset of PharmCAT's real definitions
(PharmGKB/ClinPGx via PharmCAT, ``src/main/resources/org/pharmgkb/pharmcat/definition/alleles``,
version 2025-11-05-00-25, GRCh38.p14; MPL-2.0, CPIC content CC0): rsid, reference/alternate bases
as PharmCAT writes them (GRCh38 forward strand; the demo genes lie on the real genes' strands, so these
are also the demo forward-strand bases), named-allele names and PharmGKB ids. Only the positions move:
each variant is placed at its HGVS c. position in the demo gene model.

Simplifications, stated in the demo README: a named allele is kept only if all its defining positions
are in the subset, except CYP2C19*2 whose IUPAC-ambiguous rs58973490 'R' and its rs3758581 'G' (the
reference base for every allele kept) are dropped; CYP2C19's PharmCAT reference allele is *38, which
equals *1 at the kept positions, so *1 is marked as the reference here; UGT1A1*28 (a TA-repeat) is left
out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

PHARMCAT_VERSION = "2025-11-05-00-25"


@dataclass(frozen=True)
class DefVariant:
    rsid: str
    c: int  # HGVS c. position (negative: 5' of the ATG)
    offset: int  # intron offset (c.N+offset)
    hgvs_c: str
    ref: str  # GRCh38 forward-strand reference base (PharmCAT 'ref')
    alt: str


@dataclass(frozen=True)
class NamedAllele:
    name: str
    pgkb_id: str
    alleles: tuple[str | None, ...]  # aligned with the gene's variants (genomic order)
    reference: bool = False


# variants in PharmCAT order (ascending GRCh38 position)
DEFINITIONS: dict[str, tuple[tuple[DefVariant, ...], tuple[NamedAllele, ...], str]] = {
    "CYP2C19": (
        (
            DefVariant("rs12248560", -806, 0, "c.-806C>T", "C", "T"),
            DefVariant("rs12769205", 332, -23, "c.332-23A>G", "A", "G"),
            DefVariant("rs4986893", 636, 0, "c.636G>A", "G", "A"),
            DefVariant("rs4244285", 681, 0, "c.681G>A", "G", "A"),
        ),
        (
            NamedAllele("*1", "PA165980634", ("C", "A", "G", "G"), reference=True),
            NamedAllele("*2", "PA165980635", (None, "G", None, "A")),
            NamedAllele("*3", "PA165980636", (None, None, "A", None)),
            NamedAllele("*17", "PA165816533", ("T", None, None, None)),
        ),
        "2025-06-16T21:25:19.603Z",
    ),
    "CYP2C9": (
        (
            DefVariant("rs1799853", 430, 0, "c.430C>T", "C", "T"),
            DefVariant("rs1057910", 1075, 0, "c.1075A>C", "A", "C"),
        ),
        (
            NamedAllele("*1", "PA165816542", ("C", "A"), reference=True),
            NamedAllele("*2", "PA165816543", ("T", None)),
            NamedAllele("*3", "PA165816544", (None, "C")),
        ),
        "2025-06-16T21:30:22.303Z",
    ),
    # DPYD and TPMT lie on the minus strand: forward-strand bases are the complements of c. bases
    "DPYD": (
        (
            DefVariant("rs67376798", 2846, 0, "c.2846A>T", "T", "A"),
            DefVariant("rs3918290", 1905, 1, "c.1905+1G>A", "C", "T"),
            DefVariant("rs55886062", 1679, 0, "c.1679T>G", "A", "C"),
        ),
        (
            NamedAllele("Reference", "PA166171116", ("T", "C", "A"), reference=True),
            NamedAllele("c.1679T>G (*13)", "PA166171118", (None, None, "C")),
            NamedAllele("c.1905+1G>A (*2A)", "PA166171117", (None, "T", None)),
            NamedAllele("c.2846A>T", "PA166171119", ("A", None, None)),
        ),
        "2024-07-09T22:17:49.647Z",
    ),
    "NUDT15": (
        (DefVariant("rs116855232", 415, 0, "c.415C>T", "C", "T"),),
        (
            NamedAllele("*1", "PA166131619", ("C",), reference=True),
            NamedAllele("*3", "PA166131621", ("T",)),
        ),
        "2025-11-03T18:30:01.150Z",
    ),
    "TPMT": (
        (
            DefVariant("rs1142345", 719, 0, "c.719A>G", "T", "C"),
            DefVariant("rs1800460", 460, 0, "c.460G>A", "C", "T"),
            DefVariant("rs1800462", 238, 0, "c.238G>C", "C", "G"),
        ),
        (
            NamedAllele("*1", "PA165819268", ("T", "C", "C"), reference=True),
            NamedAllele("*2", "PA165819269", (None, None, "G")),
            NamedAllele("*3A", "PA165819270", ("C", "T", None)),
            NamedAllele("*3B", "PA165819271", (None, "T", None)),
            NamedAllele("*3C", "PA165819272", ("C", None, None)),
        ),
        "2021-10-14T03:54:49.779Z",
    ),
    "UGT1A1": (
        (
            DefVariant("rs887829", -364, 0, "c.-364C>T", "C", "T"),
            DefVariant("rs4148323", 211, 0, "c.211G>A", "G", "A"),
            DefVariant("rs35350960", 686, 0, "c.686C>A", "C", "A"),
        ),
        (
            NamedAllele("*1", "PA166115841", ("C", "G", "C"), reference=True),
            NamedAllele("*6", "PA166115858", (None, "A", None)),
            NamedAllele("*27", "PA166115865", (None, None, "A")),
            NamedAllele("*80", "PA166115850", ("T", None, None)),
        ),
        "2023-06-29T22:31:18.415Z",
    ),
}


def translation_json(gene: str, chromosome: str, positions: list[int], genome_build: str) -> dict:
    """PharmCAT ``<GENE>_translation.json`` content with the given demo positions (aligned with variants).

    Variants are re-sorted by demo position (PharmCAT lists them in ascending position), and every named
    allele's ``alleles`` array is permuted to match.
    """
    variants, named, modified = DEFINITIONS[gene]
    order = sorted(range(len(variants)), key=lambda i: positions[i])
    vs = []
    for i in order:
        v = variants[i]
        vs.append({
            "chromosome": chromosome,
            "position": positions[i],
            "cpicPosition": positions[i],
            "rsid": v.rsid,
            "chromosomeHgvsName": f"g.{positions[i]}{v.ref}>{v.alt}",
            "cpicAlleles": sorted({v.ref, v.alt}),
            "cpicToVcfAlleleMap": {v.ref: v.ref, v.alt: v.alt},
            "ref": v.ref,
            "alts": [v.alt],
        })
    nas = []
    for na in named:
        alleles = [na.alleles[i] for i in order]
        core = [] if na.reference else [vs[k]["position"] for k, a in enumerate(alleles) if a is not None]
        nas.append({
            "name": na.name,
            "id": na.pgkb_id,
            "alleles": alleles,
            "cpicAlleles": list(alleles),
            "reference": na.reference,
            "structuralVariant": False,
            "corePositions": core,
            "score": len(vs) if na.reference else len(core),
            "numCombinations": 0,
            "numPartials": 0,
        })
    pos_to_alleles: dict[str, list[str]] = {}
    for k, v in enumerate(vs):
        pos_to_alleles[str(v["position"])] = [na["name"] for na in nas if not na["reference"] and na["alleles"][k]]
    return {
        "formatVersion": "2",
        "source": f"Bedside demo (subset of PharmCAT/ClinPGx definitions {PHARMCAT_VERSION}, moved to demo coordinates)",
        "version": PHARMCAT_VERSION,
        "modificationDate": modified,
        "gene": gene,
        "orientation": None,
        "chromosome": chromosome,
        "genomeBuild": genome_build,
        "refSeqChromosomeId": None,
        "variants": vs,
        "namedAlleles": nas,
        "singularVariants": [v["position"] for v in vs],
        "positionToAlleles": pos_to_alleles,
        "positionToLocus": {str(v["position"]): k for k, v in enumerate(vs)},
        "hiddenCoreAlleles": [],
        "suballelesMap": {},
    }


def dumps(obj: dict) -> str:
    return json.dumps(obj, indent=2) + "\n"
