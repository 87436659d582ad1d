"""AMP/ASCO/CAP 2017 somatic tiers (Li MM et al., J Mol Diagn 2017;19:4-23, PMID 27993330) and
ACMG SF v3.2 germline secondary findings (Miller DT et al., Genet Med 2023, PMID 37347242).

Evidence is matched to the patient's tumor type in one place (bedside.knowledge.match), which sets each
statement's ``match`` and its AMP level for this patient (``patient_level``: an approval in another tumor
type is level C; a tumor-agnostic approval is level A unless its exclusions cover the patient's type).

Rules, in order (documented in docs/knowledge.md and tested in tests/cases/tier):
  Tier I   — patient_level A or B (sensitivity or resistance).
  Tier II  — patient_level C or D.
  Tier IV  — no such evidence and benign: ClinVar benign / likely benign, population allele frequency
             >= COMMON_AF (1 %), oncogenicity Benign / Likely Benign (Horak et al. 2022 SOP), or a
             synonymous change without evidence.
  Tier III — everything else (unknown significance); the oncogenicity class is shown with it.
"""

from __future__ import annotations

from bedside.errors import KnowledgeError
from bedside.knowledge import match as _match
from bedside.knowledge.entry import entry_matches, is_pathogenic
from bedside.knowledge.kb import KnowledgeBase
from bedside.knowledge.oncogenicity import annotate_findings, established_changes
from bedside.model import Evidence, Finding, Origin, Tier

COMMON_AF = 0.01  # population AF at or above which a variant without evidence is tier IV
SYNONYMOUS_TERMS = {"synonymous_variant"}
_LEVEL_RANK = _match.LEVEL_RANK


def _is_benign(f: Finding) -> str | None:
    sig = ((f.clinvar.clnsig or "") if f.clinvar else "").lower()
    if sig and ("benign" in sig) and "pathogenic" not in sig and "conflicting" not in sig:
        return f"ClinVar {f.clinvar.clnsig}"
    if f.population_af is not None and f.population_af >= COMMON_AF:
        return f"population AF {f.population_af:g} >= {COMMON_AF:g}"
    onc = f.oncogenicity
    if onc is not None and onc.classification in ("Benign", "Likely Benign"):
        return f"oncogenicity {onc.classification} ({onc.points:+d} points, Horak et al. 2022)"
    terms = set((f.consequence.consequence or "").split("&")) if f.consequence else set()
    hp = (f.consequence.hgvs_p or "") if f.consequence else ""
    if terms & SYNONYMOUS_TERMS or hp.endswith("="):
        return "synonymous (no protein change) without evidence"
    return None


def _check_tumor(tumor_type: str, kb: KnowledgeBase) -> str:
    code = (tumor_type or "").strip().upper()
    if code not in kb.oncotree:
        raise KnowledgeError(kb.oncotree.unknown_message(tumor_type) + " for the patient's tumor type")
    return code


def match_evidence(f: Finding, tumor_type: str, kb: KnowledgeBase) -> list[Evidence]:
    """All knowledge-base evidence for this finding, each with match / patient_level set for this patient."""
    gene = f.consequence.gene if f.consequence else None
    if not gene:
        return []
    out = [_match.annotate(kb.oncotree, tumor_type, entry.evidence)
           for entry in kb.by_gene(gene) if entry_matches(entry, f)]
    out = [e for e in out if _match.shown(e)]
    out.sort(key=_match.sort_key)
    return out


def evidence_tier(evidence: list[Evidence]) -> tuple[Tier, str] | None:
    """Tier I/II from evidence graded for this patient (patient_level), or None when no evidence tiers it.
    The one AMP/ASCO/CAP evidence rule for small variants and for CNV / fusion / MSI events alike."""
    levels = {e.patient_level for e in evidence if e.patient_level}
    if levels & {"A", "B"}:
        how = {e.match.value for e in evidence if e.patient_level in ("A", "B") and e.match}
        return Tier.I, ("level A/B evidence in the patient's tumor type"
                        + (" (tumor-agnostic approval)" if how == {"agnostic"} else ""))
    if "C" in levels:
        if any(e.patient_level == "C" and not _match.in_type(e) for e in evidence):
            return Tier.II, "level C: approved or guideline-backed in another tumor type"
        return Tier.II, "level C evidence in the patient's tumor type"
    if "D" in levels:
        return Tier.II, "level D evidence (preclinical or case reports)"
    return None


def tier_for(evidence: list[Evidence], f: Finding) -> tuple[Tier, str]:
    graded = evidence_tier(evidence)
    if graded:
        return graded
    benign = _is_benign(f)
    if benign:
        return Tier.IV, benign
    onc = f.oncogenicity
    if onc is not None and onc.classification in ("Oncogenic", "Likely Oncogenic"):
        return Tier.III, f"no therapeutic evidence; oncogenicity {onc.classification} ({onc.points:+d} points)"
    return Tier.III, "unknown significance (no tier I/II evidence, not benign)"


def _established(kb: KnowledgeBase) -> set[tuple[str, str]]:
    cached = getattr(kb, "_established", None)
    if cached is None or cached[0] != len(kb.entries):
        cached = (len(kb.entries), established_changes(kb.entries))
        kb._established = cached  # type: ignore[attr-defined]
    return cached[1]


def tier_findings(findings: list[Finding], tumor_type: str, kb: KnowledgeBase, *,
                  population_checked: bool | None = None) -> list[Finding]:
    """Fill oncogenicity, evidence (matched to the tumor type) and tier of each finding, in place."""
    code = _check_tumor(tumor_type, kb)
    annotate_findings(findings, established=_established(kb), population_checked=population_checked)
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
    ``origin`` is untouched. Evidence is matched as for somatic findings, respecting each statement's origin
    (a germline-BRCA label covers a germline BRCA1 frameshift), each with its tumor-type match set;
    findings that ClinVar calls benign / likely benign get no evidence.
    """
    code = _check_tumor(tumor_type, kb)
    for f in findings:
        if f.origin is not Origin.GERMLINE:
            raise ValueError(f"germline_evidence() got a {f.origin.value} finding ({f.variant.key})")
        sig = ((f.clinvar.clnsig or "") if f.clinvar else "").lower()
        if "benign" in sig and "pathogenic" not in sig:
            f.evidence = []
            continue
        f.evidence = match_evidence(f, code, kb)
        here = [e for e in f.evidence if _match.in_type(e)]
        f.notes = [n for n in f.notes if not n.startswith("germline evidence: ")]
        if here:
            f.notes.append("germline evidence: " + ", ".join(
                f"{e.therapy} ({e.direction}, level {e.patient_level})" for e in here))
    return findings


therapy_options = _match.therapy_options
therapies = _match.therapies
