"""Importer for CIViC's clinical-evidence TSV (nightly-ClinicalEvidenceSummaries.tsv / monthly releases).

Column names as CIViC publishes them (v2 data model): molecular_profile, molecular_profile_id, disease, doid,
phenotypes, therapies, therapy_interaction_type, evidence_type, evidence_direction, evidence_level,
significance, evidence_statement, citation_id, source_type, asco_abstract_id, citation, nct_ids, rating,
evidence_status, evidence_id, variant_origin, last_review_date, evidence_civic_url,
molecular_profile_civic_url, is_flagged. The legacy (v1) layout with gene / variant / drugs /
drug_interaction_type / clinical_significance columns is read too.

Only accepted, predictive evidence that supports sensitivity/response or resistance is imported. CIViC
evidence levels A-D are carried over as AMP levels A-D (as PCGR does); level E (inferential) is skipped.
Diseases are mapped to OncoTree by DOID or name; unmapped diseases are recorded and kept under their
DOID (they can still raise a finding to tier II as "another tumor type"). ``variant_origin`` becomes the
statement's origin (Somatic -> somatic, Rare/Common Germline -> germline, otherwise either).

``bedside knowledge import-civic`` (bedside/commands/knowledge.py) writes the import in Bedside's curated-table
format with the release and its date (write_curated); CIViC data are CC0 (https://civicdb.org).
"""

from __future__ import annotations

import csv
import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from bedside.annotate.hgvs import parse_protein_change
from bedside.errors import KnowledgeError
from bedside.knowledge.entry import Entry
from bedside.knowledge.oncotree import DEFAULT_ONCOTREE, OncoTree, load_oncotree
from bedside.model import Citation, Evidence

# Disease Ontology -> OncoTree for the branches Bedside covers (DOIDs as used by CIViC).
DOID_TO_ONCOTREE = {
    "3908": "NSCLC",  # lung non-small cell carcinoma
    "3910": "LUAD",  # lung adenocarcinoma
    "3907": "LUSC",  # lung squamous cell carcinoma
    "9256": "COADREAD",  # colorectal cancer
    "1909": "MEL",  # melanoma
    "8923": "SKCM",  # skin melanoma
    "1612": "BREAST",  # breast cancer
    "3459": "BRCA",  # breast carcinoma
    "3008": "IDC",  # invasive ductal carcinoma
    "1793": "PANCREAS",  # pancreatic cancer
    "10283": "PROSTATE",  # prostate cancer
    "2394": "OVARY",  # ovarian cancer
    "9119": "AML",  # acute myeloid leukemia
    "4947": "CHOL",  # cholangiocarcinoma
}
NAME_TO_ONCOTREE = {
    "lung non-small cell carcinoma": "NSCLC",
    "non-small cell lung carcinoma": "NSCLC",
    "lung adenocarcinoma": "LUAD",
    "lung squamous cell carcinoma": "LUSC",
    "colorectal cancer": "COADREAD",
    "colorectal adenocarcinoma": "COADREAD",
    "colon adenocarcinoma": "COAD",
    "rectum adenocarcinoma": "READ",
    "melanoma": "MEL",
    "skin melanoma": "SKCM",
    "cutaneous melanoma": "SKCM",
    "breast cancer": "BREAST",
    "breast carcinoma": "BRCA",
    "invasive ductal carcinoma": "IDC",
    "breast ductal carcinoma": "IDC",
    "acute myeloid leukemia": "AML",
    "cholangiocarcinoma": "CHOL",
    "intrahepatic cholangiocarcinoma": "IHCH",
    "gastrointestinal stromal tumor": "GIST",
    "medullary thyroid carcinoma": "THME",
    "thyroid gland medullary carcinoma": "THME",
    "anaplastic thyroid carcinoma": "THAP",
    "thyroid gland anaplastic carcinoma": "THAP",
    "urinary bladder urothelial carcinoma": "BLCA",
    "bladder urothelial carcinoma": "BLCA",
    "prostate adenocarcinoma": "PRAD",
    "pancreatic adenocarcinoma": "PAAD",
    "pancreatic ductal adenocarcinoma": "PAAD",
    "high grade serous ovarian cancer": "HGSOC",
    "ovarian serous carcinoma": "SOC",
    "glioblastoma": "GB",
    "endometrial carcinoma": "UCEC",
}
LEVELS = {"A": "A", "B": "B", "C": "C", "D": "D"}
SENSITIVITY = {"sensitivity/response", "sensitivity", "sensitivity/response "}
RESISTANCE = {"resistance", "reduced sensitivity", "resistance or non-response"}


ORIGINS = {"somatic": "somatic", "rare germline": "germline", "common germline": "germline",
           "germline": "germline"}


@dataclass
class CivicImport:
    entries: list[Entry]
    release: str
    unmapped_diseases: list[str] = field(default_factory=list)
    skipped: int = 0
    release_date: str | None = None  # ISO date of the CIViC release (from the file name or given)


def _release_from_name(path: Path) -> str:
    m = re.match(r"^(\d{2}-[A-Z][a-z]{2}-\d{4}|nightly)", path.name)
    return f"CIViC {m.group(1)}" if m else f"CIViC ({path.name})"


def release_date_from_name(path: str | Path) -> str | None:
    """ISO date of a monthly release file named like 01-Nov-2026-ClinicalEvidenceSummaries.tsv."""
    m = re.match(r"^(\d{2}-[A-Z][a-z]{2}-\d{4})", Path(path).name)
    if not m:
        return None
    return _dt.datetime.strptime(m.group(1), "%d-%b-%Y").date().isoformat()


def _gene_variant(row: dict[str, str]) -> tuple[str, str] | None:
    if row.get("gene") and row.get("variant"):
        return row["gene"].strip(), row["variant"].strip()
    mp = (row.get("molecular_profile") or "").strip()
    if not mp or " AND " in mp.upper() or " OR " in mp.upper() or mp.upper().startswith("NOT "):
        return None
    parts = mp.split(None, 1)
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def _therapy_names(row: dict[str, str]) -> list[str]:
    raw = row.get("therapies") if row.get("therapies") is not None else row.get("drugs", "")
    drugs = [d.strip().lower() for d in (raw or "").split(",") if d.strip()]
    kind = (row.get("therapy_interaction_type") or row.get("drug_interaction_type") or "").strip().lower()
    if not drugs:
        return []
    if kind == "combination":
        return [" + ".join(drugs)]
    return drugs


def import_civic(path: str | Path, oncotree: OncoTree | None = None) -> CivicImport:
    path = Path(path)
    tree = oncotree or load_oncotree(DEFAULT_ONCOTREE)
    result = CivicImport(entries=[], release=_release_from_name(path), release_date=release_date_from_name(path))
    unmapped: dict[str, None] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = reader.fieldnames or []
        needed = {"disease", "doid", "evidence_type", "evidence_direction", "evidence_level", "citation_id"}
        missing = needed - set(header)
        if missing:
            raise KnowledgeError(f"not a CIViC clinical-evidence TSV: missing columns {', '.join(sorted(missing))}",
                                 path=path, line=1)
        sig_col = "significance" if "significance" in header else "clinical_significance"
        for lineno, row in enumerate(reader, 2):
            eid = (row.get("evidence_id") or "").strip()
            record = f"EID{eid}" if eid else None
            if (row.get("evidence_type") or "").strip().lower() != "predictive":
                result.skipped += 1
                continue
            status = (row.get("evidence_status") or "accepted").strip().lower()
            if status != "accepted" or (row.get("evidence_direction") or "").strip().lower() != "supports":
                result.skipped += 1
                continue
            raw_level = (row.get("evidence_level") or "").strip().upper()
            if raw_level == "E":
                result.skipped += 1
                continue
            if raw_level not in LEVELS:
                raise KnowledgeError(f"unknown evidence level {raw_level!r}", path=path, line=lineno, record=record)
            sig = (row.get(sig_col) or "").strip().lower()
            direction = "sensitivity" if sig in SENSITIVITY else "resistance" if sig in RESISTANCE else None
            if direction is None:
                result.skipped += 1
                continue
            gv = _gene_variant(row)
            if gv is None:
                result.skipped += 1
                continue
            gene, variant = gv
            try:
                change = parse_protein_change(variant)
                atype = "protein_change" if change.alt else "codon"
                changes = (change,)
                alteration = change.hgvs
            except ValueError:
                # exon-level, fusion, expression, "Mutation" ... : kept for display, never matched to a variant
                atype, changes, alteration = "other", (), variant
            doid = (row.get("doid") or "").strip()
            disease = (row.get("disease") or "").strip()
            code = DOID_TO_ONCOTREE.get(doid) or NAME_TO_ONCOTREE.get(disease.lower())
            if code is None or code not in tree:
                label = f"{disease} (DOID:{doid})" if doid else disease
                unmapped.setdefault(label, None)
                code = f"DOID:{doid}" if doid else disease or "unknown"
            pmid = (row.get("citation_id") or "").strip()
            is_pubmed = (row.get("source_type") or "PubMed").strip().lower() == "pubmed"
            if is_pubmed and pmid and not pmid.isdigit():
                raise KnowledgeError(f"malformed PubMed id {pmid!r}", path=path, line=lineno, record=record)
            cit = Citation(source="CIViC", pmid=pmid if is_pubmed and pmid else None,
                           url=(row.get("evidence_civic_url") or None), version=result.release,
                           date=(row.get("last_review_date") or None), note=(row.get("citation") or None))
            origin = ORIGINS.get((row.get("variant_origin") or "").strip().lower(), "either")
            for therapy in _therapy_names(row):
                ev = Evidence(gene=gene, alteration=alteration, tumor_type=code, therapy=therapy,
                              direction=direction, level=LEVELS[raw_level], citations=[cit], source_id=record,
                              origin=origin)
                result.entries.append(Entry(evidence=ev, alteration_type=atype, changes=changes))
    result.unmapped_diseases = list(unmapped)
    return result


def load_civic_tsv(path: str | Path) -> list[Evidence]:
    """CIViC clinical-evidence TSV -> Evidence list (predictive, accepted, supporting, levels A-D)."""
    return [e.evidence for e in import_civic(path).entries]


CURATED_COLUMNS = ["id", "gene", "biomarker_type", "alteration_type", "alteration", "tumor_type", "exclusions",
                   "therapy", "direction", "evidence_level", "origin", "eligibility", "preference", "source",
                   "label", "label_revision", "label_url", "guideline", "pmid", "citation", "curated", "note"]


def _clean(text: str | None) -> str:
    return " ".join((text or "").replace("\t", " ").split())


def curated_rows(result: CivicImport, tree: OncoTree, curated: str) -> tuple[list[dict[str, str]], list[str]]:
    """Rows of Bedside's curated-table format for an import, and why rows were left out."""
    rows: list[dict[str, str]] = []
    dropped: list[str] = []
    seen: dict[str, int] = {}
    for e in result.entries:
        ev = e.evidence
        cit = ev.citations[0]
        if ev.tumor_type not in tree:
            dropped.append(f"{ev.source_id}: disease {ev.tumor_type} not mapped to OncoTree")
            continue
        if not cit.pmid:
            dropped.append(f"{ev.source_id}: no PubMed source (every curated row needs a PMID or guideline)")
            continue
        base = f"CIVIC-{ev.source_id}"
        n = seen.get(base, 0) + 1
        seen[base] = n
        atype = e.alteration_type if e.alteration_type in ("protein_change", "codon") else "other"
        rows.append({
            "id": base if n == 1 else f"{base}-{n}", "gene": ev.gene, "biomarker_type": "small_variant",
            "alteration_type": atype, "alteration": ev.alteration, "tumor_type": ev.tumor_type, "exclusions": "",
            "therapy": ev.therapy, "direction": ev.direction, "evidence_level": ev.level, "origin": ev.origin,
            "eligibility": "", "preference": "", "source": f"{result.release}", "label": "", "label_revision": "",
            "label_url": "", "guideline": "", "pmid": cit.pmid, "citation": _clean(cit.note), "curated": curated,
            "note": _clean(" ".join(x for x in (cit.url or "", f"CIViC last review {cit.date}" if cit.date else "")
                                    if x)),
        })
    return rows, dropped


def write_curated(result: CivicImport, out: str | Path, tree: OncoTree, *, source_file: str,
                  curated: str | None = None) -> tuple[int, list[str]]:
    """Write an import as a curated knowledge table (loadable with --knowledge); returns (rows, dropped)."""
    curated = curated or _dt.date.today().isoformat()
    rows, dropped = curated_rows(result, tree, curated)
    out = Path(out)
    header = [
        f"# CIViC clinical evidence imported by `bedside knowledge import-civic` from {Path(source_file).name}",
        f"# version: {result.release.replace(' ', '-')}",
        f"# release: {result.release}",
        f"# release_date: {result.release_date or 'unknown'}",
        f"# curated: {curated} (import date); CIViC data are CC0 1.0 (https://civicdb.org)",
        f"# imported rows: {len(rows)}; skipped at import: {result.skipped} (not predictive / not accepted / level E /"
        f" complex profiles); left out here: {len(dropped)} (unmapped disease or no PubMed source)",
    ]
    with open(out, "w", newline="") as fh:
        fh.write("\n".join(header) + "\n")
        w = csv.DictWriter(fh, fieldnames=CURATED_COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return len(rows), dropped
