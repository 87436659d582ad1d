"""Tidy, render-ready data from a Case: every table the report shows, in display order.

Templates only lay these out; no decision is made in a template.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bedside.model import Case, Citation, Finding, Tier

TIER_ORDER = {Tier.I: 0, Tier.II: 1, Tier.III: 2, Tier.IV: 3, None: 4}
TIER_LABEL = {
    Tier.I: "Tier I — strong clinical significance",
    Tier.II: "Tier II — potential clinical significance",
    Tier.III: "Tier III — unknown significance",
    Tier.IV: "Tier IV — benign or likely benign",
}


def cite(c: Citation) -> dict[str, Any]:
    parts = [c.source]
    if c.version:
        parts.append(c.version)
    if c.date:
        parts.append(c.date)
    return {
        "text": ", ".join(p for p in parts if p),
        "pmid": c.pmid,
        "url": c.url or (f"https://pubmed.ncbi.nlm.nih.gov/{c.pmid}/" if c.pmid else None),
        "note": c.note,
    }


def match_label(matched: str | None) -> str:
    """How evidence matched the patient's tumor type (OncoTree), in words."""
    if not matched:
        return ""
    if matched == "self":
        return "patient's tumor type"
    if matched.startswith("ancestor:"):
        return f"via parent type {matched.split(':', 1)[1]}"
    if matched.startswith("other"):
        return "other tumor type"
    return matched


def _fmt_af(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.3f}" if x >= 0.001 else f"{x:.1e}"


def finding_row(f: Finding) -> dict[str, Any]:
    csq = f.consequence
    return {
        "gene": csq.gene if csq else "",
        "hgvs_p": (csq.hgvs_p or "") if csq else "",
        "hgvs_c": (csq.hgvs_c or "") if csq else "",
        "consequence": (csq.consequence or "").replace("_", " ") if csq else "",
        "transcript": (csq.transcript or "") if csq else "",
        "variant": f"{f.variant.chrom}:{f.variant.pos} {f.variant.ref}>{f.variant.alt}",
        "kind": f.variant.kind,
        "vaf": "—" if f.vaf is None else f"{f.vaf:.2f}",
        "depth": "—" if f.depth is None else str(f.depth),
        "normal_vaf": "—" if f.normal_vaf is None else f"{f.normal_vaf:.2f}",
        "population_af": _fmt_af(f.population_af),
        "clinvar": (f"{f.clinvar.clnsig} ({f.clinvar.stars}★)"
                    if f.clinvar and f.clinvar.clnsig else "—"),
        "tier": f.tier.value if f.tier else "—",
        "tier_label": TIER_LABEL.get(f.tier, "not tiered"),
        "filters": ", ".join(f.filters) if f.filters else "PASS",
        "tumor_only": f.tumor_only,
        "notes": f.notes,
        # knowledge-base evidence for the patient's tumor type (itself or an OncoTree ancestor)
        "evidence": [{"therapy": e.therapy, "direction": e.direction, "level": e.level,
                      "tumor_type": e.tumor_type, "matched": match_label(e.matched_tumor_type),
                      "citations": [cite(c) for c in e.citations]}
                     for e in f.evidence if not (e.matched_tumor_type or "").startswith("other")],
    }


def prepare(case: Case, institution: str = "") -> dict[str, Any]:
    ctx = case.context
    somatic = sorted(case.somatic, key=lambda f: (TIER_ORDER.get(f.tier, 4),
                                                   f.consequence.gene if f.consequence else ""))
    # therapy options: evidence of tier I/II findings, grouped by variant
    rules_by_drug: dict[str, list] = defaultdict(list)
    for r in case.rules:
        if r.status == "fired":
            rules_by_drug[r.drug.lower()].append(r)
    options = []
    for f in somatic:
        if f.tier not in (Tier.I, Tier.II):
            continue
        rows = []
        for e in sorted(f.evidence, key=lambda e: (e.level, e.direction != "sensitivity")):
            modifiers = []
            for drug in [d.strip().lower() for d in e.therapy.replace("+", ",").split(",")]:
                modifiers += [{"rule": r.rule_id, "reason": r.reason, "action": r.action,
                               "citations": [cite(c) for c in r.citations]}
                              for r in rules_by_drug.get(drug, [])]
            rows.append({
                "therapy": e.therapy, "direction": e.direction, "level": e.level,
                "tumor_type": e.tumor_type, "matched": match_label(e.matched_tumor_type),
                "citations": [cite(c) for c in e.citations], "modifiers": modifiers,
            })
        options.append({"finding": finding_row(f), "evidence": rows})
    tiers_count = defaultdict(int)
    for f in case.somatic:
        tiers_count[f.tier.value if f.tier else "untiered"] += 1
    pgx_rows = [{
        "gene": d.gene, "diplotypes": " or ".join(d.diplotypes) if d.diplotypes else "not called",
        "ambiguous": len(d.diplotypes) > 1, "phenotype": d.phenotype or "—",
        "activity_score": "—" if d.activity_score is None else f"{d.activity_score:g}",
        "missing": d.missing_positions, "source": d.source, "notes": d.notes,
    } for d in sorted(case.pgx, key=lambda d: d.gene)]
    recs = [{
        "drug": r.drug, "gene": r.gene or "", "phenotype": r.phenotype or "", "text": r.text,
        "classification": r.classification or "", "citations": [cite(c) for c in r.citations],
        "actionable": getattr(r, "actionable", None) is not False,
    } for r in sorted(case.recommendations, key=lambda r: (r.drug, r.gene or ""))]
    rules = {status: [{
        "rule_id": r.rule_id, "category": r.category, "drug": r.drug, "reason": r.reason,
        "action": r.action or "", "citations": [cite(c) for c in r.citations],
    } for r in case.rules if r.status == status] for status in ("fired", "not_evaluated", "not_fired")}
    qc_rows = [{
        "sample": m.sample, "metric": m.metric.replace("_", " "),
        "value": "—" if m.value is None else (f"{m.value:,.0f}" if m.value >= 100 else f"{m.value:g}"),
        "threshold": "" if m.threshold is None else f"{m.comparison} {m.threshold:g}",
        "status": {True: "pass", False: "FAIL", None: "info"}[m.passed], "source": m.source or "",
    } for m in case.qc]
    return {
        "patient_id": case.patient_id,
        "institution": institution,
        "generated": case.generated,
        "notices": case.notices,
        "context": {
            "age": ctx.age, "sex": ctx.sex, "diagnosis": ctx.diagnosis,
            "diagnosis_name": ctx.diagnosis_name, "medications": ctx.medications,
            "labs": [f"{lab.name.replace('_', ' ')}: {lab.value:g} {lab.unit}" for lab in ctx.labs],
            "smoking": ctx.smoking_status, "pack_years": ctx.pack_years,
            "alcohol": ctx.alcohol_units_per_week, "bmi": ctx.bmi, "diet": ctx.diet,
            "not_evaluated": ctx.not_evaluated,
        },
        "samples": {"tumor": case.tumor_sample, "normal": case.normal_sample},
        "tmb": case.tmb, "callable_mb": case.callable_mb,
        "options": options,
        "somatic": [finding_row(f) for f in somatic],
        "tiers_count": dict(tiers_count),
        "germline": [finding_row(f) for f in case.germline],
        "pgx": pgx_rows,
        "recommendations": recs,
        "rules": rules,
        "qc": qc_rows,
        "qc_failed": any(m.passed is False for m in case.qc),
        "versions": case.versions,
    }
