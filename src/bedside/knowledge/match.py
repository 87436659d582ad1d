"""Tumor-type match, AMP level re-grading and "therapies in play": decided here and nowhere else.

How a knowledge statement relates to the patient's tumor type (model.TumorMatch):
  SAME      the statement's OncoTree code is the patient's
  ANCESTOR  the statement's code is an OncoTree ancestor of the patient's (LUAD patient, NSCLC statement)
  AGNOSTIC  a tumor-agnostic statement (the OncoTree root, TISSUE) whose exclusions do not cover the patient
  EXCLUDED  a tumor-agnostic statement whose exclusions cover the patient (BRAF V600E solid tumors: not
            colorectal); it is not evidence for this patient at any level
  OTHER     any other tumor type (including CIViC diseases not mapped to OncoTree)

AMP/ASCO/CAP 2017 re-grading (Li et al., J Mol Diagn 2017, PMID 27993330): an FDA-approved or guideline
statement (level A/B) about another tumor type is level C for this patient; statements in this tumor type
(SAME/ANCESTOR) and tumor-agnostic approvals (AGNOSTIC) keep their level; level C/D stay C/D.

Prognostic statements (direction "prognostic") keep their level in their own tumor type (SAME/ANCESTOR), are
not evidence anywhere else, tier the event like any statement of that level and are never therapy options.

therapy_options() turns the matched evidence of a patient's findings into model.TherapyOption rows in three
categories: this_tumor_type (level A/B here), other_tumor_type (level C: approved elsewhere) and resistance
(resistance evidence in this tumor type). A sensitivity option overruled by level A/B resistance evidence in
this tumor type (EGFR L858R + T790M: erlotinib) is kept, flagged excluded_by_resistance. A therapy listed
under this_tumor_type is not repeated under other_tumor_type, and a therapy whose tumor-agnostic label
excludes the patient's tumor type (dabrafenib + trametinib for BRAF V600E colorectal cancer) is not offered as
an other-tumor-type option.
"""

from __future__ import annotations

import copy
import re

from bedside.knowledge.oncotree import OncoTree
from bedside.model import CopyNumberCall, Evidence, Finding, Origin, TherapyOption, Tier, TumorMatch

AGNOSTIC_CODE = "TISSUE"  # the OncoTree root: a statement for every tumor type
IN_TYPE = (TumorMatch.SAME, TumorMatch.ANCESTOR, TumorMatch.AGNOSTIC)
LEVEL_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}
CATEGORIES = ("this_tumor_type", "other_tumor_type", "resistance")


def tumor_match(tree: OncoTree, patient_code: str, evidence: Evidence) -> TumorMatch:
    ev_code = evidence.tumor_type.upper()
    patient = patient_code.upper()
    if ev_code == patient:
        return TumorMatch.SAME
    known = patient in tree.names
    if ev_code == AGNOSTIC_CODE:
        if known and any(tree.covers(x, patient) for x in evidence.exclusions):
            return TumorMatch.EXCLUDED
        return TumorMatch.AGNOSTIC
    if known and ev_code in tree.names and tree.covers(ev_code, patient):
        return TumorMatch.ANCESTOR
    return TumorMatch.OTHER


def patient_level(match: TumorMatch, level: str, direction: str = "sensitivity") -> str | None:
    """The AMP level of a statement for this patient (None: not evidence for this patient).

    A prognostic statement (e.g. WHO CNS5: CDKN2A/B homozygous deletion makes an IDH-mutant astrocytoma CNS WHO
    grade 4) holds only in its own tumor type: in any other type it is not evidence (Li et al. 2017 re-grade
    therapies approved elsewhere to level C, not prognostic statements)."""
    if match is TumorMatch.EXCLUDED:
        return None
    if direction == "prognostic" and match not in IN_TYPE:
        return None
    if match is TumorMatch.OTHER and level in ("A", "B"):
        return "C"
    return level


def legacy_label(match: TumorMatch, evidence: Evidence) -> str:
    """The old Evidence.matched_tumor_type string ('self', 'ancestor:CODE', 'other:CODE', ...)."""
    if match is TumorMatch.SAME:
        return "self"
    if match is TumorMatch.ANCESTOR:
        return f"ancestor:{evidence.tumor_type}"
    if match is TumorMatch.AGNOSTIC:
        return "agnostic"
    if match is TumorMatch.EXCLUDED:
        return f"other:excluded:{evidence.tumor_type}"
    return f"other:{evidence.tumor_type}"


def annotate(tree: OncoTree, patient_code: str, evidence: Evidence) -> Evidence:
    """A copy of ``evidence`` with match, patient_level and matched_tumor_type set for this patient."""
    ev = copy.copy(evidence)
    m = tumor_match(tree, patient_code, ev)
    ev.match = m
    ev.patient_level = patient_level(m, ev.level, ev.direction)
    ev.matched_tumor_type = legacy_label(m, ev)
    return ev


_MATCH_RANK = {TumorMatch.SAME: 0, TumorMatch.ANCESTOR: 1, TumorMatch.AGNOSTIC: 2, TumorMatch.OTHER: 3,
               TumorMatch.EXCLUDED: 4}


def sort_key(ev: Evidence) -> tuple:
    m = ev.match or TumorMatch.OTHER
    return (m not in IN_TYPE, m is TumorMatch.EXCLUDED, LEVEL_RANK.get(ev.patient_level or "", 9),
            ev.direction != "sensitivity", ev.preference or 99, _MATCH_RANK[m], ev.therapy)


def in_type(ev: Evidence) -> bool:
    return ev.match in IN_TYPE


def shown(ev: Evidence) -> bool:
    """Whether a matched statement is listed with the finding: everything except a prognostic statement about
    another tumor type (it says nothing about this patient)."""
    return not (ev.direction == "prognostic" and ev.patient_level is None)


def counts(f: Finding) -> bool:
    """Whether a finding's evidence is in play: tier I/II somatic findings, germline findings with evidence."""
    return getattr(f, "origin", None) is Origin.GERMLINE or f.tier in (Tier.I, Tier.II)


def finding_label(f: Finding) -> str:
    if not isinstance(f, Finding):  # copy-number / fusion / MET exon 14 / MSI / TMB events label themselves
        return f.label
    c = f.consequence
    if c and c.gene:
        return f"{c.gene} {c.hgvs_p or c.hgvs_c or c.consequence or f.variant.key}".strip()
    return f.variant.key


# "HER2-", "HER2−" (not "HER2-positive" / "HER2-mutated"), "HER2-negative", "HER2 negative"
HER2_NEGATIVE = re.compile(r"HER2(?:[-\u2212 ]\s*negative|[-\u2212](?![a-z]))", re.IGNORECASE)


def therapy_options(findings: list[Finding]) -> list[TherapyOption]:
    """The therapies in play for one patient, by category (see the module docstring).

    Pass somatic and germline findings together, already tiered / matched (tier_findings,
    germline_evidence). Order: this_tumor_type (level, then preference, then name), resistance,
    other_tumor_type.
    """
    resisted: set[str] = set()
    not_indicated: set[str] = set()  # a tumor-agnostic label that excludes this tumor type (BRAF V600E in CRC)
    for f in findings:
        if not counts(f):
            continue
        for e in f.evidence:
            if e.direction == "resistance" and in_type(e) and e.patient_level in ("A", "B"):
                resisted.add(e.therapy)
            elif e.match is TumorMatch.EXCLUDED and e.direction == "sensitivity":
                not_indicated.add(e.therapy)
    opts: dict[tuple[str, str], TherapyOption] = {}
    for f in findings:
        if not counts(f):
            continue
        label = finding_label(f)
        for e in f.evidence:
            if e.patient_level is None or e.direction == "prognostic":
                continue  # not evidence here / a prognostic statement: shown with the finding, never a therapy
            if e.direction == "resistance":
                if not in_type(e):
                    continue
                cat = "resistance"
            elif in_type(e) and e.patient_level in ("A", "B"):
                cat = "this_tumor_type"
            elif e.patient_level == "C" and not in_type(e):
                cat = "other_tumor_type"
            else:
                continue  # level C/D in this tumor type, level D elsewhere: evidence, not a therapy option
            key = (cat, e.therapy)
            opt = opts.get(key)
            if opt is None:
                opt = opts[key] = TherapyOption(therapy=e.therapy, category=cat, level=e.patient_level)
            if LEVEL_RANK[e.patient_level] < LEVEL_RANK[opt.level]:
                opt.level = e.patient_level
            if label not in opt.findings:
                opt.findings.append(label)
            opt.evidence.append(e)
            if e.eligibility and not opt.eligibility:
                opt.eligibility = e.eligibility
            if e.preference is not None and (opt.preference is None or e.preference < opt.preference):
                opt.preference = e.preference
    here = {t for (c, t) in opts if c == "this_tumor_type"}
    her2_amplified = any(isinstance(f, CopyNumberCall) and f.gene == "ERBB2" and f.call == "amplification"
                         for f in findings)
    if her2_amplified:
        for opt in opts.values():
            if opt.eligibility and HER2_NEGATIVE.search(opt.eligibility):
                opt.eligibility_conflict = (
                    "eligibility requires HER2-negative disease, but this tumor has an ERBB2 amplification: "
                    "confirm HER2 status (IHC/ISH) before prescribing")
    out = []
    for (cat, therapy), opt in opts.items():
        if cat == "other_tumor_type" and (therapy in here or therapy in not_indicated):
            continue
        if cat == "this_tumor_type" and therapy in resisted:
            opt.excluded_by_resistance = True
        out.append(opt)
    order = {c: i for i, c in enumerate(("this_tumor_type", "resistance", "other_tumor_type"))}
    out.sort(key=lambda o: (order[o.category], o.excluded_by_resistance, LEVEL_RANK[o.level],
                            o.preference or 99, o.therapy))
    return out


def therapies(findings: list[Finding]) -> list[str]:
    """Recommended therapies in this tumor type (level A/B, not overruled by resistance), in order."""
    return [o.therapy for o in therapy_options(findings)
            if o.category == "this_tumor_type" and not o.excluded_by_resistance]
