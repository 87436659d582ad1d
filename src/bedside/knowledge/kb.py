"""Curated knowledge-base tables: loading with validation, and matching findings to evidence."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from bedside.annotate.hgvs import ProteinChange, parse_protein_change, protein_span
from bedside.errors import KnowledgeError
from bedside.knowledge.oncotree import DEFAULT_ONCOTREE, OncoTree, load_oncotree
from bedside.model import Citation, Evidence, Finding

DATA = Path(__file__).parent / "data"
DEFAULT_EVIDENCE = DATA / "somatic_evidence.tsv"
DEFAULT_ACMG = DATA / "acmg_sf_v3.2.tsv"

LEVELS = ("A", "B", "C", "D")
DIRECTIONS = ("sensitivity", "resistance")
ALTERATION_TYPES = ("protein_change", "codon", "codons", "inframe_deletion", "inframe_insertion",
                    "truncating", "deleterious", "other")
REQUIRED_COLUMNS = ("id", "gene", "alteration_type", "alteration", "tumor_type", "therapy", "direction",
                    "evidence_level", "source", "pmid", "citation", "date")
TRUNCATING_TERMS = {"stop_gained", "frameshift_variant", "splice_donor_variant", "splice_acceptor_variant"}
_PMID_RE = re.compile(r"^\d{1,9}$")
_RANGE_RE = re.compile(r"^(\d+)-(\d+)$")


@dataclass
class Entry:
    """One knowledge-base statement plus what is needed to match it against a finding."""

    evidence: Evidence
    alteration_type: str
    changes: tuple[ProteinChange, ...] = ()
    span: tuple[int, int] | None = None


@dataclass
class KnowledgeBase:
    entries: list[Entry]
    oncotree: OncoTree
    acmg_genes: set[str]
    versions: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)  # importer notes (e.g. CIViC diseases not in OncoTree)

    def by_gene(self, gene: str) -> list[Entry]:
        return [e for e in self.entries if e.evidence.gene == gene]


def _read_header_comments(path: Path) -> dict[str, str]:
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


def make_entry(row: dict[str, str], oncotree: OncoTree, *, path: Path | str, line: int) -> Entry:
    """Validate one curated row and turn it into an Entry (KnowledgeError names file and row)."""
    rid = row.get("id") or f"line{line}"

    def fail(msg: str) -> KnowledgeError:
        return KnowledgeError(msg, path=path, line=line, record=rid)

    for col in REQUIRED_COLUMNS:
        if row.get(col) is None:
            raise fail(f"missing column {col!r}")
    gene = row["gene"].strip()
    if not gene:
        raise fail("empty gene")
    level = row["evidence_level"].strip().upper()
    if level not in LEVELS:
        raise fail(f"unknown evidence level {row['evidence_level']!r} (expected one of {', '.join(LEVELS)})")
    direction = row["direction"].strip().lower()
    if direction not in DIRECTIONS:
        raise fail(f"unknown direction {row['direction']!r} (expected sensitivity or resistance)")
    tumor = row["tumor_type"].strip().upper()
    if tumor not in oncotree:
        raise fail(f"unknown OncoTree code {row['tumor_type']!r} (release {oncotree.release})")
    therapy = row["therapy"].strip()
    if not therapy:
        raise fail("empty therapy")
    source = row["source"].strip()
    if not source:
        raise fail("row has no source; every knowledge entry must be cited")
    pmids = [p.strip() for p in row["pmid"].split(";") if p.strip()]
    for p in pmids:
        if not _PMID_RE.match(p):
            raise fail(f"malformed PMID {p!r}")
    atype = row["alteration_type"].strip().lower()
    if atype not in ALTERATION_TYPES:
        raise fail(f"unknown alteration_type {row['alteration_type']!r} (expected one of {', '.join(ALTERATION_TYPES)})")
    alteration = row["alteration"].strip()
    changes: tuple[ProteinChange, ...] = ()
    span = None
    try:
        if atype == "protein_change":
            pc = parse_protein_change(alteration)
            if pc.alt is None:
                raise ValueError(f"malformed HGVS protein change {alteration!r} (no alternative residue)")
            changes = (pc,)
        elif atype in ("codon", "codons"):
            changes = tuple(parse_protein_change(a) for a in alteration.split(","))
        elif atype in ("inframe_deletion", "inframe_insertion"):
            m = _RANGE_RE.match(alteration)
            if not m or int(m.group(1)) > int(m.group(2)):
                raise ValueError(f"malformed protein range {alteration!r} (expected e.g. 729-761)")
            span = (int(m.group(1)), int(m.group(2)))
    except ValueError as exc:
        raise fail(str(exc)) from None
    citations = [Citation(source=source, pmid=p, date=row["date"].strip() or None, note=row["citation"].strip() or None,
                          url=f"https://pubmed.ncbi.nlm.nih.gov/{p}/") for p in pmids]
    if not citations:
        citations = [Citation(source=source, date=row["date"].strip() or None, note=row["citation"].strip() or None)]
    ev = Evidence(gene=gene, alteration=alteration if atype != "protein_change" else changes[0].hgvs,
                  tumor_type=tumor, therapy=therapy, direction=direction, level=level, citations=citations,
                  source_id=rid)
    return Entry(evidence=ev, alteration_type=atype, changes=changes, span=span)


def load_evidence_tsv(path: str | Path, oncotree: OncoTree) -> tuple[list[Entry], dict[str, str]]:
    """Read a curated evidence table (see data/somatic_evidence.tsv for the columns)."""
    path = Path(path)
    meta = _read_header_comments(path)
    entries: list[Entry] = []
    with open(path, newline="") as fh:
        numbered = [(i, ln) for i, ln in enumerate(fh, 1) if not ln.startswith("#") and ln.strip()]
    if not numbered:
        raise KnowledgeError("empty knowledge-base table", path=path)
    header = numbered[0][1].rstrip("\n").split("\t")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
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
    meta = _read_header_comments(path)
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
    tree = load_oncotree(oncotree_path or DEFAULT_ONCOTREE)
    genes, acmg_version = load_acmg(acmg_path or DEFAULT_ACMG)
    kb = KnowledgeBase(entries=[], oncotree=tree, acmg_genes=genes,
                       versions={"oncotree": tree.release, "acmg_sf": acmg_version})
    for p in paths or [DEFAULT_EVIDENCE]:
        p = Path(p)
        if not p.exists():
            raise KnowledgeError("knowledge-base file not found", path=p)
        if is_civic_table(p):
            from bedside.knowledge.civic import import_civic

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


# ---------------------------------------------------------------------------------------------- matching

def _terms(f: Finding) -> set[str]:
    return set((f.consequence.consequence or "").split("&")) if f.consequence else set()


def is_pathogenic(f: Finding) -> bool:
    sig = (f.clinvar.clnsig or "") if f.clinvar else ""
    sig = sig.lower()
    return ("pathogenic" in sig and "conflicting" not in sig and "benign" not in sig)


def is_truncating(f: Finding) -> bool:
    if _terms(f) & TRUNCATING_TERMS:
        return True
    hp = (f.consequence.hgvs_p or "") if f.consequence else ""
    return "fs" in hp or hp.endswith(("Ter", "*"))


def _finding_change(f: Finding) -> ProteinChange | None:
    hp = f.consequence.hgvs_p if f.consequence else None
    if not hp:
        return None
    try:
        return parse_protein_change(hp)
    except ValueError:
        return None


def entry_matches(entry: Entry, f: Finding) -> bool:
    gene = f.consequence.gene if f.consequence else None
    if gene != entry.evidence.gene:
        return False
    t = entry.alteration_type
    if t == "protein_change":
        fc = _finding_change(f)
        return fc is not None and any(fc == c for c in entry.changes)
    if t in ("codon", "codons"):
        fc = _finding_change(f)
        if fc is None or fc.alt in (None, fc.ref, "?", "Ter"):
            return False  # synonymous, unknown and nonsense changes are not "a mutation at this codon"
        return any(fc.pos == c.pos and fc.ref == c.ref for c in entry.changes)
    if t in ("inframe_deletion", "inframe_insertion"):
        term = "inframe_deletion" if t == "inframe_deletion" else "inframe_insertion"
        hp = (f.consequence.hgvs_p or "") if f.consequence else ""
        kind_ok = term in _terms(f) or (t == "inframe_deletion" and "del" in hp and "fs" not in hp) or (
            t == "inframe_insertion" and ("ins" in hp or "dup" in hp) and "fs" not in hp)
        span = protein_span(hp) if hp else None
        return bool(kind_ok and span and entry.span and entry.span[0] <= span[0] and span[1] <= entry.span[1])
    if t == "truncating":
        return is_truncating(f)
    if t == "deleterious":
        return is_truncating(f) or is_pathogenic(f)
    return False
