"""Knowledge matching and AMP/ASCO/CAP tiering of the biomarkers that are not small variants: gene-level copy
number (bedside.calling.cnv), gene fusions and MET exon 14 skipping (bedside.calling.sv), MSI
(bedside.calling.msi) and TMB (bedside.biomarkers).

A knowledge row's ``biomarker_type`` says which caller's output it matches (its ``alteration_type`` is
``other``, free text for the reader); the tumor-type match and the AMP level re-grading are the same as for
small variants (bedside.knowledge.match), and the matched events go into the one ``therapy_options``
decision together with the small-variant findings.

Rules (a row matches an event when):
  amplification  the gene's call is ``amplification`` (>= 6 total copies at the fitted purity; never claimed
                 from log2 thresholds alone)
  deletion       the gene's call is ``homozygous_deletion`` (e.g. the prognostic WHO CNS5 row: CDKN2A/B
                 homozygous deletion in an IDH-mutant astrocytoma = CNS WHO grade 4; shown only in that type)
  fusion         the row's gene is the fusion's therapy-relevant partner in its expected orientation
                 (sv.annotate_fusions ``known_partner`` / ``relevant``), the SV passed delly's filters, and the
                 fusion is not out of frame
                 (an exonic DNA breakpoint, frame "unknown", matches with a note: the RNA junction is not
                 fixed by it; confirm at RNA level)
  exon_skipping  a MET exon 14 skipping event (MET rows)
  msi            MSI assessable and classified MSI-H (an MSIsensor score in the indeterminate range matches
                 nothing)
  tmb            TMB assessable and classified High (the row's ">= 10 mut/Mb" is the label's cut-off)

Tiers (Li et al. 2017, PMID 27993330): level A/B for this patient -> tier I; C/D -> tier II; otherwise
amplifications, homozygous deletions and relevant in-frame / unknown-frame fusions are tier III (known
class of driver event without curated therapy evidence here), other calls carry no tier.
"""

from __future__ import annotations

from bedside.knowledge import match as _match
from bedside.knowledge.kb import KnowledgeBase
from bedside.knowledge.tiering import evidence_tier
from bedside.model import (
    Biomarker,
    CopyNumberCall,
    Evidence,
    FusionCall,
    MetExon14Event,
    Tier,
)

CNV_ROW_TYPES = {"amplification": "amplification", "homozygous_deletion": "deletion"}


def _rows(kb: KnowledgeBase, gene: str, btype: str, tumor_type: str) -> list[Evidence]:
    out = [_match.annotate(kb.oncotree, tumor_type, e.evidence) for e in kb.by_gene(gene)
           if e.evidence.biomarker_type == btype]
    out = [e for e in out if _match.shown(e)]
    out.sort(key=_match.sort_key)
    return out


def _tier(evidence: list[Evidence], default: Tier | None) -> tuple[Tier | None, str]:
    graded = evidence_tier(evidence)
    if graded:
        return graded
    if default is None:
        return None, "no knowledge-base row for this event"
    return default, "no therapeutic evidence curated for this event (not curated)"


def _set(obj, evidence: list[Evidence], default: Tier | None) -> None:
    obj.evidence = evidence
    obj.tier, reason = _tier(evidence, default)
    notes = getattr(obj, "notes", None)
    if notes is not None:
        obj.notes = [n for n in notes if not n.startswith("tier: ")] + [f"tier: {reason}"]


def tier_copy_number(calls: list[CopyNumberCall], tumor_type: str, kb: KnowledgeBase) -> list[CopyNumberCall]:
    """Evidence and tier of gene-level copy-number calls, in place."""
    code = _check(tumor_type, kb)
    for c in calls:
        btype = CNV_ROW_TYPES.get(c.call)
        if btype == "amplification" and c.basis != "purity fit":
            btype = None  # CNVkit log2 thresholds do not claim amplification
        ev = _rows(kb, c.gene, btype, code) if btype else []
        _set(c, ev, Tier.III if btype else None)
    return calls


def tier_fusions(fusions: list[FusionCall], tumor_type: str, kb: KnowledgeBase) -> list[FusionCall]:
    """Evidence and tier of annotated fusions, in place."""
    code = _check(tumor_type, kb)
    for f in fusions:
        passed = f.filter in (None, "", "PASS", ".")
        ok = passed and f.relevant and f.known_partner and f.frame not in ("out-of-frame", "not coding")
        if f.relevant and not passed:
            f.notes.append(f"SV filter {f.filter}: not matched to fusion-directed therapy")
        ev = _rows(kb, f.known_partner, "fusion", code) if ok else []
        _set(f, ev, Tier.III if ok else None)
        if ok and f.frame == "unknown":
            f.notes.append("breakpoint in an exon: reading frame of the fused transcript not determined from "
                           "DNA; confirm the fusion transcript (RNA) before treatment")
        if f.relevant and f.frame == "out-of-frame":
            f.notes.append("out of frame at the DNA breakpoints: not matched to fusion-directed therapy")
    return fusions


def tier_met_exon14(events: list[MetExon14Event], tumor_type: str, kb: KnowledgeBase) -> list[MetExon14Event]:
    code = _check(tumor_type, kb)
    for m in events:
        _set(m, _rows(kb, "MET", "exon_skipping", code), Tier.III)
    return events


def tier_biomarkers(biomarkers: list[Biomarker], tumor_type: str, kb: KnowledgeBase) -> list[Biomarker]:
    """MSI-H / TMB-High: evidence and tier, in place; other classifications get none."""
    code = _check(tumor_type, kb)
    for b in biomarkers:
        name = b.name.upper()
        hit = b.status == "assessable" and (
            (name == "MSI" and b.classification == "MSI-H") or (name == "TMB" and b.classification == "High"))
        if hit:
            _set(b, _rows(kb, name, name.lower(), code), None)
        else:
            b.evidence, b.tier = [], None
    return biomarkers


def _check(tumor_type: str, kb: KnowledgeBase) -> str:
    from bedside.knowledge.tiering import _check_tumor

    return _check_tumor(tumor_type, kb)
