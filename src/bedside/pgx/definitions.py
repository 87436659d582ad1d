"""PharmCAT-format named-allele definitions (``<GENE>_translation.json``).

Each file lists the gene's defining positions (``variants[]``, VCF-style ``ref``/``alts``) and its named
alleles (``namedAlleles[]``), whose ``alleles`` array is aligned with ``variants[]``: a base/sequence,
an IUPAC ambiguity code (e.g. ``R`` = A or G), or ``null`` (position not part of that definition, so
any allele is accepted there). One named allele has ``reference: true``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bedside.errors import InputError

IUPAC: dict[str, frozenset[str]] = {
    "A": frozenset("A"), "C": frozenset("C"), "G": frozenset("G"), "T": frozenset("T"),
    "R": frozenset("AG"), "Y": frozenset("CT"), "S": frozenset("GC"), "W": frozenset("AT"),
    "K": frozenset("GT"), "M": frozenset("AC"), "B": frozenset("CGT"), "D": frozenset("AGT"),
    "H": frozenset("ACT"), "V": frozenset("ACG"), "N": frozenset("ACGT"),
}


@dataclass(frozen=True)
class DefiningPosition:
    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    rsid: str | None = None
    hgvs: str | None = None

    @property
    def label(self) -> str:
        return f"{self.chrom}:{self.pos}" + (f" ({self.rsid})" if self.rsid else "")


@dataclass(frozen=True)
class NamedAllele:
    name: str
    alleles: tuple[str | None, ...]  # aligned with GeneDefinition.positions
    reference: bool = False

    def accepts(self, index: int, allele: str) -> bool:
        """Does this allele's definition accept ``allele`` (a VCF-frame sequence) at position ``index``?"""
        want = self.alleles[index]
        if want is None:
            return True
        if len(want) == 1 and len(allele) == 1:
            return allele in IUPAC.get(want, frozenset(want))
        return want == allele


@dataclass
class GeneDefinition:
    gene: str
    chrom: str
    positions: list[DefiningPosition]
    alleles: list[NamedAllele]
    version: str | None = None
    build: str | None = None
    source_path: str | None = None
    order: dict[str, int] = field(default_factory=dict)
    exemption: dict = field(default_factory=dict)  # PharmCAT exemptions.json entry for this gene, if any

    def __post_init__(self) -> None:
        self.order = {a.name: i for i, a in enumerate(self.alleles)}

    @property
    def reference_allele(self) -> NamedAllele:
        return next(a for a in self.alleles if a.reference)

    def defining_indices(self, allele: NamedAllele) -> list[int]:
        """Positions where ``allele`` can differ from the reference allele."""
        ref = self.reference_allele
        return [i for i, a in enumerate(allele.alleles)
                if a is not None and a != ref.alleles[i]]


def load_definition(path: str | Path) -> GeneDefinition:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read allele definition JSON: {exc}", path=path) from exc
    try:
        gene = data["gene"]
        positions = [
            DefiningPosition(chrom=v["chromosome"], pos=int(v["position"]), ref=v["ref"],
                             alts=tuple(v.get("alts") or ()), rsid=v.get("rsid"),
                             hgvs=v.get("chromosomeHgvsName"))
            for v in data["variants"]
        ]
        alleles = []
        for i, n in enumerate(data["namedAlleles"]):
            al = n["alleles"]
            if len(al) != len(positions):
                raise InputError(f"named allele {n.get('name')!r} has {len(al)} alleles for "
                                 f"{len(positions)} positions", path=path, record=f"namedAlleles[{i}]")
            alleles.append(NamedAllele(name=n["name"], alleles=tuple(al), reference=bool(n.get("reference"))))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a PharmCAT allele definition (missing/invalid field {exc})", path=path) from exc
    if sum(a.reference for a in alleles) != 1:
        raise InputError("allele definition must have exactly one reference named allele", path=path)
    ref = next(a for a in alleles if a.reference)
    for i, (p, a) in enumerate(zip(positions, ref.alleles)):
        if a is None:
            raise InputError(f"reference allele has no allele at {p.label}", path=path, record=f"variants[{i}]")
    return GeneDefinition(gene=gene, chrom=data.get("chromosome") or positions[0].chrom,
                          positions=positions, alleles=alleles, version=data.get("version"),
                          build=data.get("genomeBuild"), source_path=str(path))


def load_definitions(directory: str | Path, genes: list[str] | None = None) -> dict[str, GeneDefinition]:
    """All ``<GENE>_translation.json`` files in ``directory`` (optionally only ``genes``)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("allele definitions directory not found", path=directory)
    out: dict[str, GeneDefinition] = {}
    for path in sorted(directory.glob("*_translation.json")):
        gene = path.name[: -len("_translation.json")]
        if genes is not None and gene not in genes:
            continue
        d = load_definition(path)
        out[d.gene] = d
    if not out:
        raise InputError("no <GENE>_translation.json allele definitions found", path=directory)
    exemptions = load_exemptions(directory / "exemptions.json")
    for gene, d in out.items():
        d.exemption = exemptions.get(gene, {})
    return out


def load_exemptions(path: str | Path) -> dict[str, dict]:
    """PharmCAT's ``exemptions.json`` (next to the definitions), if present: gene -> exemption. Only
    ``unphasedDiplotypePriorities`` is used (NAT2); ignored positions/alleles are already removed from
    PharmCAT's published definitions."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        for gene, e in data.items():
            for p in e.get("unphasedDiplotypePriorities") or []:
                if not isinstance(p["list"], list) or p["pick"] not in p["list"]:
                    raise ValueError(f"{gene}: priority pick {p['pick']!r} not in its list")
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"not a PharmCAT exemptions file: {exc}", path=path) from exc
    return data
