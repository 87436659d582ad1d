"""One knowledge-base row: validation of a curated row, and matching it against a finding.

Shared by the curated-table loader (kb.py) and the CIViC importer (civic.py); neither imports the other's
loader, so there is no import cycle.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import lru_cache

from bedside.annotate.hgvs import ProteinChange, parse_protein_change, protein_span
from bedside.errors import KnowledgeError
from bedside.knowledge.oncotree import OncoTree
from bedside.model import Citation, Evidence, Finding, Origin

LEVELS = ("A", "B", "C", "D")
# "prognostic": a statement about outcome / grade (e.g. WHO CNS5 grading), shown with the event and tiered by its
# level (Li et al. 2017: prognostic biomarkers in professional guidelines are level A), never a therapy option;
# its `therapy` column is empty and `eligibility` holds the statement.
DIRECTIONS = ("sensitivity", "resistance", "prognostic")
# The explicit PMID-field marker for an FDA-approved indication whose pivotal-trial PMID could not be verified
# offline: allowed only on a label row (the label, with its revision date and link, is then the source) as its
# only PMID, with the trial named in `citation`. Shown wherever a PMID is shown; never a number that was guessed.
PMID_NOT_VERIFIED = "not verified offline"
ORIGINS = ("somatic", "germline", "either")
BIOMARKER_TYPES = ("small_variant", "amplification", "deletion", "fusion", "exon_skipping", "msi", "tmb",
                   "expression")
# alteration_type for small variants (how a row matches a variant):
#   protein_change   one HGVS p. substitution (p.V600E / p.Val600Glu)
#   protein_changes  a comma list of substitutions (p.E545K,p.H1047R)
#   codon / codons   any missense change at the given codon(s) (G12 / G12,G13,Q61)
#   missense_range   any missense change within residues a-b (310-547)
#   inframe_deletion / inframe_insertion   an in-frame deletion / insertion (or dup) inside residues a-b
#   truncating       nonsense, frameshift, canonical splice donor/acceptor
#   truncating_range a nonsense or frameshift change whose first affected residue lies within residues a-b (an
#                    exon's codon span, e.g. NPM1 exon 11 = 283-294); splice-site variants (no residue) do not match
#   deleterious      truncating, or ClinVar pathogenic / likely pathogenic (not conflicting)
#   oncogenic        a missense / in-frame change classified Oncogenic or Likely Oncogenic (Horak 2022 SOP)
# and, for the other biomarker types (matched by the callers that produce them, not by small variants):
#   other            free text (e.g. "EML4-ALK fusion", "exon 14 skipping", "MSI-H", ">= 10 mut/Mb")
SMALL_VARIANT_TYPES = ("protein_change", "protein_changes", "codon", "codons", "missense_range",
                       "inframe_deletion", "inframe_insertion", "truncating", "truncating_range", "deleterious",
                       "oncogenic")
ALTERATION_TYPES = (*SMALL_VARIANT_TYPES, "other")
TRUNCATING_TERMS = {"stop_gained", "frameshift_variant", "splice_donor_variant", "splice_acceptor_variant"}
ONCOGENIC_CLASSES = ("Oncogenic", "Likely Oncogenic")
_PMID_RE = re.compile(r"^\d{1,9}$")
_RANGE_RE = re.compile(r"^(\d+)-(\d+)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


@dataclass
class Entry:
    """One knowledge-base statement plus what is needed to match it against a finding."""

    evidence: Evidence
    alteration_type: str
    changes: tuple[ProteinChange, ...] = ()
    span: tuple[int, int] | None = None


def _check_date(value: str, what: str, fail) -> str:
    v = value.strip()
    if not _DATE_RE.match(v):
        raise fail(f"{what} {value!r} is not an ISO date (YYYY-MM-DD or YYYY-MM)")
    try:
        _dt.date.fromisoformat(v if len(v) == 10 else v + "-01")
    except ValueError:
        raise fail(f"{what} {value!r} is not a valid date") from None
    return v


def is_label_source(source: str) -> bool:
    return "fda label" in source.lower()


def make_entry(row: dict[str, str], oncotree: OncoTree, *, path, line: int) -> Entry:
    """Validate one curated row and turn it into an Entry (KnowledgeError names file, line and row id)."""
    rid = (row.get("id") or "").strip() or f"line{line}"

    def fail(msg: str) -> KnowledgeError:
        return KnowledgeError(msg, path=path, line=line, record=rid)

    def col(name: str) -> str:
        return (row.get(name) or "").strip()

    gene = col("gene")
    if not gene:
        raise fail("empty gene")
    level = col("evidence_level").upper()
    if level not in LEVELS:
        raise fail(f"unknown evidence level {row.get('evidence_level')!r} (expected one of {', '.join(LEVELS)})")
    direction = col("direction").lower()
    if direction not in DIRECTIONS:
        raise fail(f"unknown direction {row.get('direction')!r} (expected sensitivity, resistance or prognostic)")
    tumor = col("tumor_type").upper()
    if tumor not in oncotree:
        raise fail(oncotree.unknown_message(col("tumor_type")))
    exclusions = [x.strip().upper() for x in col("exclusions").split(",") if x.strip()]
    for x in exclusions:
        if x not in oncotree:
            raise fail("exclusions: " + oncotree.unknown_message(x))
    therapy = col("therapy")
    if direction == "prognostic":
        if therapy:
            raise fail(f"a prognostic row offers no therapy: leave 'therapy' empty (found {therapy!r})")
        if not col("eligibility"):
            raise fail("a prognostic row needs its statement in 'eligibility' (e.g. the grade it assigns)")
    elif not therapy:
        raise fail("empty therapy")
    source = col("source")
    if not source:
        raise fail("row has no source; every knowledge entry must be cited")
    curated = col("curated") or col("date")
    if not curated:
        raise fail("row has no curation date (column 'curated')")
    curated = _check_date(curated, "curation date", fail)
    pmids = [p.strip() for p in col("pmid").split(";") if p.strip()]
    for p in pmids:
        if p == PMID_NOT_VERIFIED:
            if not is_label_source(source) or len(pmids) != 1 or not col("citation"):
                raise fail(f"PMID marker {PMID_NOT_VERIFIED!r} is allowed only on an FDA label row (the label is "
                           "then the source), as its only PMID, with the pivotal trial named in 'citation'")
        elif not _PMID_RE.match(p):
            raise fail(f"malformed PMID {p!r}")
    guideline = col("guideline")
    if not pmids and not guideline:
        raise fail("row has neither a PMID nor a guideline; every statement needs its primary evidence")
    label, label_revision, label_url = col("label"), col("label_revision"), col("label_url")
    if is_label_source(source):
        if not label_revision:
            raise fail("FDA label row without label_revision (the label version the row was curated from)")
        label_revision = _check_date(label_revision, "label_revision", fail)
        if not label_url.startswith("https://"):
            raise fail("FDA label row without a label_url (DailyMed setid or Drugs@FDA link)")
    origin = col("origin").lower() or "either"
    if origin not in ORIGINS:
        raise fail(f"unknown origin {row.get('origin')!r} (expected somatic, germline or either)")
    btype = col("biomarker_type").lower() or "small_variant"
    if btype not in BIOMARKER_TYPES:
        raise fail(f"unknown biomarker_type {row.get('biomarker_type')!r} (expected one of {', '.join(BIOMARKER_TYPES)})")
    pref = col("preference")
    preference = None
    if pref:
        if not pref.isdigit() or int(pref) < 1:
            raise fail(f"preference {pref!r} is not a positive integer")
        preference = int(pref)
    atype = col("alteration_type").lower()
    if atype not in ALTERATION_TYPES:
        raise fail(f"unknown alteration_type {row.get('alteration_type')!r} "
                   f"(expected one of {', '.join(ALTERATION_TYPES)})")
    if btype != "small_variant" and atype != "other":
        raise fail(f"biomarker_type {btype} needs alteration_type 'other' (it is not matched to small variants)")
    alteration = col("alteration")
    changes: tuple[ProteinChange, ...] = ()
    span = None
    try:
        if atype == "protein_change":
            pc = parse_protein_change(alteration)
            if pc.alt is None:
                raise ValueError(f"malformed HGVS protein change {alteration!r} (no alternative residue)")
            changes = (pc,)
        elif atype == "protein_changes":
            changes = tuple(parse_protein_change(a) for a in alteration.split(",") if a.strip())
            if not changes or any(c.alt is None for c in changes):
                raise ValueError(f"malformed HGVS protein change list {alteration!r}")
        elif atype in ("codon", "codons"):
            changes = tuple(parse_protein_change(a) for a in alteration.split(","))
        elif atype in ("inframe_deletion", "inframe_insertion", "missense_range", "truncating_range"):
            m = _RANGE_RE.match(alteration)
            if not m or int(m.group(1)) > int(m.group(2)):
                raise ValueError(f"malformed protein range {alteration!r} (expected e.g. 729-761)")
            span = (int(m.group(1)), int(m.group(2)))
        elif not alteration:
            raise ValueError("empty alteration")
    except ValueError as exc:
        raise fail(str(exc)) from None
    note = col("citation") or None
    citations: list[Citation] = []
    if is_label_source(source):
        # one citation per pivotal trial, each naming the label version it was curated from (url, version)
        label_note = label or None
        if col("note"):
            label_note = f"{label}. {col('note')}" if label else col("note")
        for p in pmids or [None]:
            text = "; ".join(x for x in (label_note, f"pivotal trial: {note}" if note and p else None) if x)
            citations.append(Citation(source=source, pmid=p, url=label_url, version=label_revision, date=curated,
                                      note=text or None))
    else:
        citations += [Citation(source=source, pmid=p, date=curated, note=note,
                               url=f"https://pubmed.ncbi.nlm.nih.gov/{p}/") for p in pmids]
    if guideline:
        citations.append(Citation(source=guideline, date=curated, note=None if pmids else note))
    ev = Evidence(gene=gene, alteration=alteration if atype != "protein_change" else changes[0].hgvs,
                  tumor_type=tumor, therapy=therapy, direction=direction, level=level, citations=citations,
                  source_id=rid, eligibility=col("eligibility") or None, preference=preference, origin=origin,
                  biomarker_type=btype, exclusions=exclusions)
    return Entry(evidence=ev, alteration_type=atype, changes=changes, span=span)


# ---------------------------------------------------------------------------------------------- matching

def _terms(f: Finding) -> set[str]:
    return set((f.consequence.consequence or "").split("&")) if f.consequence else set()


def is_pathogenic(f: Finding) -> bool:
    sig = (f.clinvar.clnsig or "") if f.clinvar else ""
    sig = sig.lower()
    return "pathogenic" in sig and "conflicting" not in sig and "benign" not in sig


def is_truncating(f: Finding) -> bool:
    if _terms(f) & TRUNCATING_TERMS:
        return True
    hp = (f.consequence.hgvs_p or "") if f.consequence else ""
    return "fs" in hp or hp.endswith(("Ter", "*"))


def truncating_in_range(f: Finding, span: tuple[int, int] | None) -> bool:
    """A nonsense or frameshift change whose first affected residue lies within ``span`` (inclusive).

    The residue is the first position of the HGVS p. expression (p.Trp288CysfsTer12 -> 288, p.Gln150Ter -> 150);
    a variant without one (canonical splice site, p.?) is not placed in a range and does not match.
    """
    if span is None or not f.consequence or not f.consequence.hgvs_p:
        return False
    hp = f.consequence.hgvs_p
    terms = _terms(f)
    nonsense_or_fs = bool(terms & {"stop_gained", "frameshift_variant"}) or "fs" in hp or hp.rstrip(")").endswith(
        ("Ter", "*"))
    if not nonsense_or_fs or "ext" in hp:
        return False
    pos = protein_span(hp)
    return pos is not None and span[0] <= pos[0] <= span[1]


@lru_cache(maxsize=65536)
def _parse_cached(hp: str) -> ProteinChange | None:
    try:
        return parse_protein_change(hp)
    except ValueError:
        return None


def finding_change(f: Finding) -> ProteinChange | None:
    hp = f.consequence.hgvs_p if f.consequence else None
    return _parse_cached(hp) if hp else None


def _is_missense(fc: ProteinChange | None) -> bool:
    return fc is not None and fc.alt not in (None, fc.ref, "?", "Ter")


def origin_ok(entry_origin: str, f: Finding) -> bool:
    """A germline-only statement (e.g. a label for germline BRCA) does not cover a somatic variant and
    vice versa; tumor-only calls (origin unknown) may match either."""
    if entry_origin == "either" or f.tumor_only:
        return True
    return entry_origin == ("germline" if f.origin is Origin.GERMLINE else "somatic")


def entry_matches(entry: Entry, f: Finding) -> bool:
    gene = f.consequence.gene if f.consequence else None
    if gene != entry.evidence.gene or entry.evidence.biomarker_type != "small_variant":
        return False
    if not origin_ok(entry.evidence.origin, f):
        return False
    t = entry.alteration_type
    if t in ("protein_change", "protein_changes"):
        fc = finding_change(f)
        return fc is not None and fc in entry.changes
    if t in ("codon", "codons"):
        fc = finding_change(f)
        if not _is_missense(fc):
            return False  # synonymous, unknown and nonsense changes are not "a mutation at this codon"
        return any(fc.pos == c.pos and fc.ref == c.ref for c in entry.changes)
    if t == "missense_range":
        fc = finding_change(f)
        return _is_missense(fc) and entry.span is not None and entry.span[0] <= fc.pos <= entry.span[1]
    if t in ("inframe_deletion", "inframe_insertion"):
        hp = (f.consequence.hgvs_p or "") if f.consequence else ""
        if "fs" in hp:
            return False
        terms = _terms(f)
        if t == "inframe_deletion":
            kind_ok = "inframe_deletion" in terms or "del" in hp  # delins counts (EGFR exon 19)
        else:
            kind_ok = "inframe_insertion" in terms or "ins" in hp or "dup" in hp
        span = protein_span(hp) if hp else None
        return bool(kind_ok and span and entry.span and entry.span[0] <= span[0] and span[1] <= entry.span[1])
    if t == "truncating":
        return is_truncating(f)
    if t == "truncating_range":
        return truncating_in_range(f, entry.span)
    if t == "deleterious":
        return is_truncating(f) or is_pathogenic(f)
    if t == "oncogenic":
        onc = f.oncogenicity
        return (onc is not None and onc.classification in ONCOGENIC_CLASSES and not is_truncating(f))
    return False
