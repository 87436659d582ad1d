"""Curated knowledge-base tables: loading with validation, and the knowledge base object.

Row validation and variant matching live in entry.py (shared with the CIViC importer in civic.py).
Columns of a curated table (see data/somatic_evidence.tsv and docs/knowledge.md):
  required: id, gene, alteration_type, alteration, tumor_type, therapy, direction, evidence_level, source,
            pmid, citation, curated (ISO date the row was curated; the legacy name ``date`` is read too)
  optional: biomarker_type, exclusions, origin, eligibility, preference, label, label_revision, label_url,
            guideline, note
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from bedside.errors import KnowledgeError
from bedside.knowledge.civic import import_civic
from bedside.knowledge.entry import (  # noqa: F401  (re-exported for callers of the old module)
    ALTERATION_TYPES,
    DIRECTIONS,
    LEVELS,
    TRUNCATING_TERMS,
    Entry,
    entry_matches,
    is_pathogenic,
    is_truncating,
    make_entry,
)
from bedside.knowledge.oncotree import DEFAULT_ONCOTREE, OncoTree, default_oncotree, load_oncotree

DATA = Path(__file__).parent / "data"
DEFAULT_EVIDENCE = DATA / "somatic_evidence.tsv"
DEFAULT_ACMG = DATA / "acmg_sf_v3.2.tsv"

REQUIRED_COLUMNS = ("id", "gene", "alteration_type", "alteration", "tumor_type", "therapy", "direction",
                    "evidence_level", "source", "pmid", "citation", "curated")
OPTIONAL_COLUMNS = ("biomarker_type", "exclusions", "origin", "eligibility", "preference", "label",
                    "label_revision", "label_url", "guideline", "note")


@dataclass
class KnowledgeBase:
    entries: list[Entry]
    oncotree: OncoTree
    acmg_genes: set[str]
    versions: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)  # importer notes (e.g. CIViC diseases not in OncoTree)
    _by_gene: dict[str, list[Entry]] | None = field(default=None, repr=False)

    def by_gene(self, gene: str) -> list[Entry]:
        if self._by_gene is None or sum(map(len, self._by_gene.values())) != len(self.entries):
            idx: dict[str, list[Entry]] = {}
            for e in self.entries:
                idx.setdefault(e.evidence.gene, []).append(e)
            self._by_gene = idx
        return self._by_gene.get(gene, [])

    def therapies(self, small_variant_only: bool = False) -> list[str]:
        """Every therapy name the knowledge base can recommend (sensitivity rows), sorted."""
        return sorted({e.evidence.therapy for e in self.entries if e.evidence.direction == "sensitivity"
                       and (not small_variant_only or e.evidence.biomarker_type == "small_variant")})


def read_header_comments(path: Path) -> dict[str, str]:
    meta: dict[str, str] = {}
    with open(path) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            body = line[1:].strip()
            if ":" in body:
                k, v = body.split(":", 1)
                meta.setdefault(k.strip().lower(), v.strip())
    return meta


_read_header_comments = read_header_comments  # old private name


def load_evidence_tsv(path: str | Path, oncotree: OncoTree) -> tuple[list[Entry], dict[str, str]]:
    """Read a curated evidence table (see data/somatic_evidence.tsv for the columns)."""
    path = Path(path)
    meta = read_header_comments(path)
    entries: list[Entry] = []
    with open(path, newline="") as fh:
        numbered = [(i, ln) for i, ln in enumerate(fh, 1) if not ln.startswith("#") and ln.strip()]
    if not numbered:
        raise KnowledgeError("empty knowledge-base table", path=path)
    header = numbered[0][1].rstrip("\n").split("\t")
    cols = set(header)
    if "curated" not in cols and "date" in cols:
        cols.add("curated")  # legacy tables: 'date' was the curation date
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        raise KnowledgeError(f"missing columns {', '.join(missing)}", path=path, line=numbered[0][0])
    seen: set[str] = set()
    for lineno, line in numbered[1:]:
        values = line.rstrip("\n").split("\t")
        if len(values) != len(header):
            raise KnowledgeError(f"expected {len(header)} tab-separated fields, found {len(values)}",
                                 path=path, line=lineno)
        row = dict(zip(header, values))
        entry = make_entry(row, oncotree, path=path, line=lineno)
        if entry.evidence.source_id in seen:
            raise KnowledgeError("duplicate id", path=path, line=lineno, record=entry.evidence.source_id)
        seen.add(entry.evidence.source_id or "")
        entries.append(entry)
    return entries, meta


def load_acmg(path: str | Path = DEFAULT_ACMG) -> tuple[set[str], str]:
    path = Path(path)
    meta = read_header_comments(path)
    genes: set[str] = set()
    with open(path, newline="") as fh:
        reader = csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t")
        for row in reader:
            genes.add(row["gene"].strip())
    return genes, meta.get("version", "unknown")


def is_civic_table(path: str | Path) -> bool:
    with open(path) as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            return "evidence_civic_url" in cols or "molecular_profile" in cols
    return False


def load_knowledge(paths: list[str | Path] | None = None, oncotree_path: str | Path | None = None,
                   acmg_path: str | Path | None = None) -> KnowledgeBase:
    """Load the bundled tables (default) or the given curated / CIViC evidence tables."""
    tree = load_oncotree(oncotree_path) if oncotree_path else default_oncotree(DEFAULT_ONCOTREE)
    genes, acmg_version = load_acmg(acmg_path or DEFAULT_ACMG)
    from bedside.knowledge.oncogenicity import versions as oncogenicity_versions

    kb = KnowledgeBase(entries=[], oncotree=tree, acmg_genes=genes,
                       versions={"oncotree": tree.release, "acmg_sf": acmg_version, **oncogenicity_versions()})
    for p in paths or [DEFAULT_EVIDENCE]:
        p = Path(p)
        if not p.exists():
            raise KnowledgeError("knowledge-base file not found", path=p)
        if is_civic_table(p):
            result = import_civic(p, tree)
            kb.entries.extend(result.entries)
            kb.unmapped.extend(result.unmapped_diseases)
            kb.versions[f"civic:{p.name}"] = result.release
        else:
            entries, meta = load_evidence_tsv(p, tree)
            kb.entries.extend(entries)
            kb.versions[p.stem] = meta.get("version", "unknown")
    return kb


def versions(kb: KnowledgeBase) -> dict[str, str]:
    return dict(kb.versions)
