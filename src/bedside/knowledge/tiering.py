"""AMP/ASCO/CAP 2017 somatic tiers (Li MM et al., J Mol Diagn 2017;19:4-23, PMID 27993330) and
ACMG SF v3.2 germline secondary findings (Miller DT et al., Genet Med 2023, PMID 37347242).

Rules, in order (documented in the report and in tests/cases/tier):
  Tier I   — level A or B evidence (sensitivity or resistance) for the patient's tumor type, the tumor type
             matched exactly or through an OncoTree ancestor (a LUAD patient matches NSCLC evidence).
  Tier II  — level A/B evidence in another tumor type, or level C/D evidence in the patient's tumor type.
  Tier IV  — no such evidence and benign: ClinVar benign / likely benign, or population allele frequency
             >= COMMON_AF (1 %), or a synonymous change (no protein change; AMP treats these as benign
             unless evidence says otherwise — Bedside decides IV for synonymous without evidence).
  Tier III — everything else (unknown significance).
"""

from __future__ import annotations

import copy

from bedside.knowledge.kb import KnowledgeBase, entry_matches, is_pathogenic
from bedside.model import Evidence, Finding, Origin, Tier

COMMON_AF = 0.01  # population AF at or above which a variant without evidence is tier IV
SYNONYMOUS_TERMS = {"synonymous_variant"}
_LEVEL_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}


def _is_benign(f: Finding) -> str | None:
    sig = ((f.clinvar.clnsig or "") if f.clinvar else "").lower()
    if sig and ("benign" in sig) and "pathogenic" not in sig and "conflicting" not in sig:
        return f"ClinVar {f.clinvar.clnsig}"
    if f.population_af is not None and f.population_af >= COMMON_AF:
        return f"population AF {f.population_af:g} >= {COMMON_AF:g}"
    terms = set((f.consequence.consequence or "").split("&")) if f.consequence else set()
    hp = (f.consequence.hgvs_p or "") if f.consequence else ""
    if terms & SYNONYMOUS_TERMS or hp.endswith("="):
        return "synonymous (no protein change) without evidence"
    return None


def match_evidence(f: Finding, tumor_type: str, kb: KnowledgeBase) -> list[Evidence]:
    """All knowledge-base evidence for this finding, each with matched_tumor_type set."""
    gene = f.consequence.gene if f.consequence else None
    if not gene:
        return []
    out: list[Evidence] = []
    for entry in kb.by_gene(gene):
        if not entry_matches(entry, f):
            continue
        ev = copy.copy(entry.evidence)
        rel = kb.oncotree.relation(tumor_type, ev.tumor_type)
        ev.matched_tumor_type = rel if rel else f"other:{ev.tumor_type}"
        out.append(ev)
    out.sort(key=lambda e: (e.matched_tumor_type.startswith("other"), _LEVEL_RANK.get(e.level, 9), e.therapy))
    return out


def tier_for(evidence: list[Evidence], f: Finding) -> tuple[Tier, str]:
    in_type = [e for e in evidence if not (e.matched_tumor_type or "").startswith("other")]
    other = [e for e in evidence if (e.matched_tumor_type or "").startswith("other")]
    if any(e.level in ("A", "B") for e in in_type):
        return Tier.I, "level A/B evidence in the patient's tumor type"
    if any(e.level in ("A", "B") for e in other):
        return Tier.II, "level A/B evidence in another tumor type"
    if any(e.level in ("C", "D") for e in in_type):
        return Tier.II, "level C/D evidence in the patient's tumor type"
    benign = _is_benign(f)
    if benign:
        return Tier.IV, benign
    return Tier.III, "unknown significance (no tier I/II evidence, not benign)"


def tier_findings(findings: list[Finding], tumor_type: str, kb: KnowledgeBase) -> list[Finding]:
    """Fill tier and evidence of each finding (in place) and return the list."""
    code = tumor_type.strip().upper()
    if code not in kb.oncotree:
        from bedside.errors import KnowledgeError

        raise KnowledgeError(f"unknown OncoTree code {tumor_type!r} for the patient's tumor type "
                             f"(release {kb.oncotree.release})")
    for f in findings:
        f.evidence = match_evidence(f, code, kb)
        f.tier, reason = tier_for(f.evidence, f)
        f.notes = [n for n in f.notes if not n.startswith("tier: ")] + [f"tier: {reason}"]
    return findings


def germline_findings(findings: list[Finding], kb: KnowledgeBase | None = None) -> list[Finding]:
    """ClinVar pathogenic / likely pathogenic findings with >= 1 review star in ACMG SF v3.2 genes."""
    if kb is None:
        from bedside.knowledge.kb import DEFAULT_ACMG, load_acmg

        genes, version = load_acmg(DEFAULT_ACMG)
    else:
        genes, version = kb.acmg_genes, kb.versions.get("acmg_sf", "ACMG_SF_v3.2")
    out = []
    for f in findings:
        if not f.clinvar or not is_pathogenic(f) or (f.clinvar.stars or 0) < 1:
            continue
        gene_names = set()
        if f.consequence and f.consequence.gene:
            gene_names.add(f.consequence.gene)
        if f.clinvar.gene_info:
            gene_names.update(g.split(":")[0] for g in f.clinvar.gene_info.split("|"))
        hit = sorted(gene_names & genes)
        if hit:
            note = f"secondary finding: {hit[0]} is on {version} (PMID 37347242)"
            if note not in f.notes:
                f.notes.append(note)
            out.append(f)
    return out


def germline_evidence(findings: list[Finding], tumor_type: str, kb: KnowledgeBase) -> list[Finding]:
    """Attach matching knowledge-base evidence to germline findings (in place) and return the list.

    Germline findings stay germline: no AMP/ASCO/CAP tier is set (that scheme is for somatic variants) and
    ``origin`` is untouched. Evidence is matched as for somatic findings (e.g. a germline BRCA1 frameshift
    matches the "deleterious" BRCA1 rows: PARP inhibitors in breast cancer), each with matched_tumor_type
    set; findings that ClinVar calls benign / likely benign get no evidence.
    """
    code = tumor_type.strip().upper()
    if code not in kb.oncotree:
        from bedside.errors import KnowledgeError

        raise KnowledgeError(f"unknown OncoTree code {tumor_type!r} for the patient's tumor type "
                             f"(release {kb.oncotree.release})")
    for f in findings:
        if f.origin is not Origin.GERMLINE:
            raise ValueError(f"germline_evidence() got a {f.origin.value} finding ({f.variant.key})")
        sig = ((f.clinvar.clnsig or "") if f.clinvar else "").lower()
        if "benign" in sig and "pathogenic" not in sig:
            f.evidence = []
            continue
        f.evidence = match_evidence(f, code, kb)
        in_type = [e for e in f.evidence if not (e.matched_tumor_type or "").startswith("other")]
        f.notes = [n for n in f.notes if not n.startswith("germline evidence: ")]
        if in_type:
            f.notes.append("germline evidence: " + ", ".join(
                f"{e.therapy} ({e.direction}, level {e.level})" for e in in_type))
    return findings


def therapies(findings: list[Finding]) -> list[str]:
    """Therapies with sensitivity evidence for the patient's tumor type in tier I/II somatic findings
    and in germline findings carrying evidence (see :func:`germline_evidence`).

    Pass somatic and germline findings together (``case.somatic + case.germline``). Germline findings
    have no tier; their attached evidence counts as it stands. Only evidence that matched the patient's tumor type (itself or an OncoTree ancestor) counts; a therapy
    that also has level A/B resistance evidence for the patient's tumor type in any tier I/II finding is
    dropped (e.g. EGFR L858R + T790M in NSCLC: osimertinib stays, erlotinib/gefitinib are excluded).
    """
    sens: list[str] = []
    resist: set[str] = set()
    for f in findings:
        if f.origin is not Origin.GERMLINE and f.tier not in (Tier.I, Tier.II):
            continue
        for e in f.evidence:
            if (e.matched_tumor_type or "").startswith("other"):
                continue
            if e.direction == "sensitivity" and e.therapy not in sens:
                sens.append(e.therapy)
            elif e.direction == "resistance" and e.level in ("A", "B"):
                resist.add(e.therapy)
    return [t for t in sens if t not in resist]
