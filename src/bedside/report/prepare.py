"""The report's typed content: everything the report shows, taken from a Case, in display order.

This is what ``report.json`` holds (validated against ``schema/report.schema.json``) and what the
templates lay out. Values stay typed (numbers, booleans, codes); wording and number formatting belong
to the templates, their filters and the message catalogues (``i18n/``).

Nothing clinical is decided here: therapies in play come from ``Case.therapy_options``, biomarker
classes from ``Case.biomarkers``, prescribing modifiers and their urgency from ``Case.prescribing``.
This module only groups, orders and looks up.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from bedside.model import (
    Biomarker,
    Case,
    Citation,
    CopyNumberProfile,
    FusionCall,
    MetExon14Event,
    Diplotype,
    DrugView,
    Evidence,
    Finding,
    Recommendation,
    TherapyOption,
    Tier,
)

SCHEMA_VERSION = "1.0.0"
SCHEMA_ID = "https://bedside.invalid/schema/report/1.0.0/report.schema.json"

TIER_ORDER = {Tier.I: 0, Tier.II: 1, Tier.III: 2, Tier.IV: 3, None: 4}
URGENCY_ORDER = {"alert": 0, "caution": 1, "info": 2, "none": 3}
CATEGORY_ORDER = {"this_tumor_type": 0, "other_tumor_type": 1, "resistance": 2}
LEVEL_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}
# Variant classes a small-variant assay does not detect unless a caller reports them in the case record.
NOT_DETECTED_CLASSES = ("CNV", "SV", "fusion", "MSI")
# Components the methods section always lists; a missing one is shown as "not recorded".
REQUIRED_VERSIONS = ("bedside", "bwa", "samtools", "bcftools", "fastp", "mosdepth", "clinvar",
                     "population", "reference build")
# Sensitivity at which the detection limit is stated (probability of >= min_alt_reads alt reads).
LOD_SENSITIVITY = 0.95


def cite(c: Citation) -> dict[str, Any]:
    return {
        "source": c.source,
        "pmid": c.pmid,
        "url": c.url or (f"https://pubmed.ncbi.nlm.nih.gov/{c.pmid}/" if c.pmid else None),
        "version": c.version,
        "date": c.date,
        "note": c.note,
    }


def finding_label(f: Finding) -> str:
    """How therapy options name a finding, e.g. 'BRAF p.Val600Glu'."""
    csq = f.consequence
    if csq is None:
        return f.variant.key
    return f"{csq.gene} {csq.hgvs_p or csq.hgvs_c or f.variant.key}"


def _num(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def finding_row(f: Finding) -> dict[str, Any]:
    csq = f.consequence
    onc = f.oncogenicity
    return {
        "label": finding_label(f),
        "origin": f.origin.value,
        "gene": csq.gene if csq else None,
        "hgvs_p": csq.hgvs_p if csq else None,
        "hgvs_c": csq.hgvs_c if csq else None,
        "transcript": csq.transcript if csq else None,
        "consequence": [t for t in (csq.consequence or "").split("&") if t] if csq else [],
        "chrom": f.variant.chrom,
        "pos": f.variant.pos,
        "ref": f.variant.ref,
        "alt": f.variant.alt,
        "kind": f.variant.kind,
        "tier": f.tier.value if f.tier else None,
        "vaf": _num(f.vaf),
        "depth": f.depth,
        "alt_reads": f.alt_reads,
        "normal_vaf": _num(f.normal_vaf),
        "population_af": _num(f.population_af),
        "clinvar": None if not (f.clinvar and f.clinvar.clnsig) else {
            "significance": f.clinvar.clnsig, "review_status": f.clinvar.review_status,
            "stars": f.clinvar.stars, "variation_id": f.clinvar.variation_id,
        },
        "oncogenicity": None if onc is None else {
            "classification": onc.classification, "points": onc.points, "criteria": list(onc.criteria),
            "citations": [cite(c) for c in onc.citations],
        },
        "filters": list(f.filters),
        "tumor_only": f.tumor_only,
        "notes": list(f.notes),
        "tumor_zygosity": f.tumor_zygosity,
    }


def evidence_row(e: Evidence) -> dict[str, Any]:
    return {
        "gene": e.gene, "alteration": e.alteration, "tumor_type": e.tumor_type, "therapy": e.therapy,
        "direction": e.direction, "level": e.level,
        "patient_level": e.patient_level or e.level,
        "match": e.match.value if e.match else None,
        "eligibility": e.eligibility, "preference": e.preference, "source_id": e.source_id,
        "citations": [cite(c) for c in e.citations],
    }


def option_row(o: TherapyOption) -> dict[str, Any]:
    return {
        "therapy": o.therapy, "category": o.category, "level": o.level, "findings": list(o.findings),
        "eligibility": o.eligibility, "preference": o.preference,
        "excluded_by_resistance": o.excluded_by_resistance,
        "eligibility_conflict": o.eligibility_conflict,
        "evidence": [evidence_row(e) for e in o.evidence],
    }


def _option_key(o: TherapyOption) -> tuple:
    return (CATEGORY_ORDER.get(o.category, 9), LEVEL_ORDER.get(o.level, 9),
            o.preference if o.preference is not None else 99, o.therapy.lower())


def drug_view_row(d: DrugView) -> dict[str, Any]:
    return {
        "drug": d.drug, "in_play": list(d.in_play), "urgency": d.urgency, "conflict": d.conflict,
        "modifiers": [{
            "category": m.category, "rule_id": m.rule_id, "action": m.action, "effect": m.effect,
            "strength": m.strength, "reason": m.reason, "citations": [cite(c) for c in m.citations],
        } for m in d.modifiers],
        "checked": list(d.checked), "not_available": list(d.not_available),
    }


def biomarker_row(b: Biomarker) -> dict[str, Any]:
    return {
        "name": b.name, "status": b.status, "value": _num(b.value), "unit": b.unit,
        "classification": b.classification, "ci_low": _num(b.ci_low), "ci_high": _num(b.ci_high),
        "threshold": _num(b.threshold), "territory_mb": _num(b.territory_mb),
        "min_territory_mb": _num(b.min_territory_mb), "count": b.count, "reason": b.reason,
        "definition": b.definition, "citations": [cite(c) for c in b.citations],
        "tier": b.tier.value if b.tier else None,
    }


def copy_number_section(p: CopyNumberProfile | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "status": p.status, "purity": _num(p.purity), "ploidy": _num(p.ploidy), "reason": p.reason,
        "purity_from_vafs": _num(p.purity_from_vafs), "vaf_agreement": p.vaf_agreement, "method": p.method,
        "n_segments": p.n_segments, "plot": p.plot, "sex": p.sex, "sex_mismatch": p.sex_mismatch,
        "calls": [{
            "label": c.label, "gene": c.gene, "call": c.call, "chrom": c.chrom, "start": c.start, "end": c.end,
            "copy_number": c.copy_number, "minor_cn": c.minor_cn, "log2": _num(c.log2), "basis": c.basis,
            "tier": c.tier.value if c.tier else None, "notes": list(c.notes),
            "evidence": [evidence_row(e) for e in c.evidence],
        } for c in sorted(p.calls, key=lambda c: (TIER_ORDER.get(c.tier, 4), c.gene))],
    }


def fusion_row(f: FusionCall) -> dict[str, Any]:
    return {
        "label": f.label, "gene5": f.gene5, "gene3": f.gene3, "frame": f.frame,
        "transcript5": f.transcript5, "transcript3": f.transcript3,
        "breakpoint5": f.breakpoint5, "breakpoint3": f.breakpoint3, "region5": f.region5, "region3": f.region3,
        "svtype": f.svtype, "tumor_pairs": f.tumor_pairs, "tumor_split": f.tumor_split,
        "normal_alt": f.normal_alt, "known_partner": f.known_partner, "relevant": f.relevant,
        "junction": f.junction, "tier": f.tier.value if f.tier else None, "notes": list(f.notes),
        "evidence": [evidence_row(e) for e in f.evidence],
    }


def met14_row(m: MetExon14Event) -> dict[str, Any]:
    return {
        "label": m.label, "record": m.record, "mechanism": m.mechanism, "source": m.source,
        "tumor_support": m.tumor_support, "tier": m.tier.value if m.tier else None, "notes": list(m.notes),
        "evidence": [evidence_row(e) for e in m.evidence],
    }


def diplotype_row(d: Diplotype) -> dict[str, Any]:
    phenotypes = list(d.phenotypes) or ([d.phenotype] if d.phenotype else [])
    return {
        "gene": d.gene, "diplotypes": list(d.diplotypes), "status": d.status,
        "ambiguous": d.status == "ambiguous" or len(d.diplotypes) > 1,
        "phenotype": d.phenotype, "phenotypes": phenotypes, "activity_score": _num(d.activity_score),
        "missing_positions": list(d.missing_positions), "source": d.source, "notes": list(d.notes),
    }


def recommendation_row(r: Recommendation) -> dict[str, Any]:
    return {
        "drug": r.drug, "gene": r.gene, "phenotype": r.phenotype, "text": r.text,
        "classification": r.classification, "actionable": r.actionable,
        "citations": [cite(c) for c in r.citations],
    }


def detection_limit(depth: float, min_alt_reads: int, min_vaf: float | None,
                    sensitivity: float = LOD_SENSITIVITY) -> float | None:
    """Lowest allele fraction detected with ``sensitivity`` at ``depth`` reads needing ``min_alt_reads``.

    Binomial model of alt-read sampling (no sequencing error, no subclonality): the smallest f with
    P(X >= min_alt_reads | X ~ Binom(depth, f)) >= sensitivity, floored at the caller's ``min_vaf``.
    Returns None when the depth is too low for any allele fraction to reach it.
    """
    n = int(round(depth))
    k = int(min_alt_reads)
    if n < k or n <= 0:
        return None

    def p_detect(f: float) -> float:
        # P(X >= k) = 1 - sum_{i<k} C(n,i) f^i (1-f)^(n-i), in log space for large n
        if f >= 1.0:
            return 1.0
        tail = 0.0
        for i in range(k):
            tail += math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                             + (i * math.log(f) if i else 0.0) + (n - i) * math.log1p(-f))
        return 1.0 - tail

    lo, hi = 1e-6, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if p_detect(mid) >= sensitivity:
            hi = mid
        else:
            lo = mid
    return max(hi, min_vaf or 0.0)


def _assay(case: Case) -> dict[str, Any]:
    a = case.assay or {}
    # depth per role: the case record's median (preferred: robust to spikes), else its mean, else QC's mean
    depth: dict[str, float | None] = {"tumor": None, "normal": None}
    stat: dict[str, str | None] = {"tumor": None, "normal": None}
    for role, sample in (("tumor", case.tumor_sample), ("normal", case.normal_sample)):
        for key in ("median_depth", "mean_depth"):
            given = a.get(key)
            if isinstance(given, dict) and _num(given.get(role)) is not None:
                depth[role], stat[role] = _num(given.get(role)), key.split("_")[0]
                break
        else:
            for m in case.qc:
                if m.sample == sample and m.metric == "mean_depth" and _num(m.value) is not None:
                    depth[role], stat[role] = _num(m.value), "mean"
    coverage = []
    for row in a.get("coverage") or []:
        if not isinstance(row, dict) or "gene" not in row:
            continue
        coverage.append({"gene": str(row["gene"]), "role": row.get("role"), "sample": row.get("sample"),
                         "mean_depth": _num(row.get("mean_depth")),
                         "fraction_at_min_depth": _num(row.get("fraction_at_min_depth"))})
    min_alt = a.get("min_alt_reads")
    min_vaf = _num(a.get("min_vaf"))
    lod = None
    if isinstance(min_alt, int) and not isinstance(min_alt, bool) and depth["tumor"]:
        lod = detection_limit(depth["tumor"], min_alt, min_vaf)
    detected = a.get("variant_classes")
    return {
        "name": a.get("name"), "kind": a.get("kind"),
        "build": a.get("build") or case.versions.get("reference build"),
        "genes": [str(g) for g in a.get("genes") or []],
        "target_mb": _num(a.get("target_mb")),
        "callable_mb": _num(a.get("callable_mb", case.callable_mb)),
        "coding_callable_mb": _num(a.get("coding_callable_mb")),
        "min_depth": _num(a.get("min_depth")),
        "min_vaf": min_vaf,
        "min_alt_reads": min_alt if isinstance(min_alt, int) and not isinstance(min_alt, bool) else None,
        "variant_classes": [str(c) for c in detected] if isinstance(detected, list) else ["SNV", "indel"],
        "variant_classes_recorded": isinstance(detected, list),
        "depth": depth,
        "depth_statistic": stat,
        "detection_limit_vaf": lod,
        "detection_limit_sensitivity": LOD_SENSITIVITY if lod is not None else None,
        "coverage": coverage,
    }


def _limitations(case: Case, assay: dict[str, Any], biomarkers: list[dict[str, Any]]) -> list[dict]:
    items: list[dict[str, Any]] = []
    items.append({"code": "assay_scope", "params": {
        "genes": len(assay["genes"]), "callable_mb": assay["callable_mb"], "kind": assay["kind"],
        "classes": assay["variant_classes"]}})
    if assay["detection_limit_vaf"] is not None:
        items.append({"code": "detection_limit", "params": {
            "vaf": assay["detection_limit_vaf"], "depth": assay["depth"]["tumor"],
            "min_alt_reads": assay["min_alt_reads"], "sensitivity": assay["detection_limit_sensitivity"]}})
    elif assay["min_vaf"] is not None:
        items.append({"code": "min_vaf", "params": {"vaf": assay["min_vaf"],
                                                    "depth": assay["depth"]["tumor"]}})
    else:
        items.append({"code": "detection_limit_unknown", "params": {"depth": assay["depth"]["tumor"]}})
    present = {b["name"].upper() for b in biomarkers}
    classes = {c.upper() for c in assay["variant_classes"]}
    missing = [c for c in NOT_DETECTED_CLASSES if c.upper() not in present and c.upper() not in classes]
    if missing:
        items.append({"code": "not_detected", "params": {"classes": missing}})
    if case.normal_sample is None or any(f.tumor_only for f in case.somatic):
        items.append({"code": "tumor_only", "params": {}})
    if any(m.passed is False for m in case.qc):
        items.append({"code": "qc_failed", "params": {}})
    items.append({"code": "germline_scope", "params": {}})
    items.append({"code": "pgx_scope", "params": {
        "genes": sorted({d.gene for d in case.pgx}),
        "not_called": sorted(d.gene for d in case.pgx if d.status in ("not_called", "indeterminate"))}})
    return items


def identity_section(case: Case) -> dict[str, Any]:
    """The tumor-normal identity check as the case record holds it; an older record without one says so."""
    c = case.identity
    if c is None:
        return {"status": "not_run", "problem": False, "tumor_sample": case.tumor_sample,
                "normal_sample": case.normal_sample, "sites": None, "concordance": None,
                "opposite_homozygous": None, "best_normal": None, "best_concordance": None,
                "swapped_with": None, "reason": "not recorded in the case record", "source": None}
    return {"status": c.status, "problem": c.problem, "tumor_sample": c.tumor_sample,
            "normal_sample": c.normal_sample, "sites": c.sites, "concordance": _num(c.concordance),
            "opposite_homozygous": _num(c.opposite_homozygous), "best_normal": c.best_normal,
            "best_concordance": _num(c.best_concordance), "swapped_with": c.swapped_with, "reason": c.reason,
            "source": c.source}


def _methods(case: Case) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    seen = set()
    for name, version in sorted(case.versions.items(), key=lambda kv: kv[0].lower()):
        rows.append({"name": name, "version": version if version not in (None, "") else None})
        seen.add(name.lower())
    missing = []
    for name in REQUIRED_VERSIONS:
        if not any(name in s for s in seen):
            rows.append({"name": name, "version": None})
            missing.append(name)
    unversioned = [r["name"] for r in rows if r["version"] is None and r["name"] not in missing]
    return {"components": rows, "not_recorded": missing + unversioned}


def _report_date(case: Case) -> str:
    if case.generated:
        try:
            return _dt.datetime.fromisoformat(case.generated).date().isoformat()
        except ValueError:
            pass
    return _dt.datetime.now(_dt.UTC).date().isoformat()


def prepare(case: Case, institution: str = "", language: str = "en",
            cohort_tmb: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The report's typed content (what report.json holds)."""
    ctx = case.context
    somatic = sorted(case.somatic, key=lambda f: (TIER_ORDER.get(f.tier, 4), finding_label(f)))
    options = sorted(case.therapy_options, key=_option_key)
    prescribing = sorted(case.prescribing, key=lambda d: URGENCY_ORDER.get(d.urgency, 9))
    biomarkers = [biomarker_row(b) for b in case.biomarkers]
    assay = _assay(case)

    # Key findings: every finding named by a therapy option (in the option's own order), then the
    # remaining tier I/II somatic findings and the reportable germline findings without options.
    by_label: dict[str, dict[str, Any]] = {}
    rows_by_label = {finding_label(f): f for f in somatic + list(case.germline)}
    for o in options:
        label = " + ".join(o.findings) if o.findings else ""
        group = by_label.setdefault(label, {
            "label": label, "finding": finding_row(rows_by_label[o.findings[0]])
            if len(o.findings) == 1 and o.findings[0] in rows_by_label else None,
            "this_tumor_type": [], "other_tumor_type": [], "resistance": []})
        group.setdefault(o.category, []).append(option_row(o))
    for f in somatic + list(case.germline):
        label = finding_label(f)
        if label in by_label or (f.origin.value == "somatic" and f.tier not in (Tier.I, Tier.II)):
            continue
        by_label[label] = {"label": label, "finding": finding_row(f), "this_tumor_type": [],
                           "other_tumor_type": [], "resistance": []}
    key_findings = list(by_label.values())

    # drugs in play: the prescribing view's drugs, the recorded medications and the recommended therapies
    drugs_in_play = {d.drug.lower() for d in case.prescribing} | {m.lower() for m in ctx.medications}
    drugs_in_play |= {part.strip().lower() for o in options if o.category != "resistance"
                      for part in o.therapy.split("+")}
    recs = sorted(case.recommendations, key=lambda r: (r.drug.lower(), r.gene or ""))
    pgx_in_play = [recommendation_row(r) for r in recs if r.drug.lower() in drugs_in_play]
    # drugs not in play: only guidance that changes prescribing for this genotype (if the drug is started);
    # "no change" or undetermined entries are counted, not listed
    not_in_play = [r for r in recs if r.drug.lower() not in drugs_in_play]
    pgx_appendix = [recommendation_row(r) for r in not_in_play if r.actionable is True]

    rules = {status: [{
        "rule_id": r.rule_id, "category": r.category, "drug": r.drug, "reason": r.reason,
        "action": r.action, "citations": [cite(c) for c in r.citations],
    } for r in case.rules if r.status == status] for status in ("fired", "not_evaluated", "not_fired")}

    tiers_count: dict[str, int] = {}
    for f in case.somatic:
        key = f.tier.value if f.tier else "untiered"
        tiers_count[key] = tiers_count.get(key, 0) + 1

    tmb = next((b for b in biomarkers if b["name"].upper() == "TMB"), None)
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "language": language,
        "patient": {"id": case.patient_id, "age": ctx.age, "sex": ctx.sex},
        "report_date": _report_date(case),
        "generated": case.generated,
        "institution": institution,
        "diagnosis": {"code": ctx.diagnosis, "name": ctx.diagnosis_name},
        "specimens": {"tumor": case.tumor_sample, "normal": case.normal_sample,
                      "tumor_only": case.normal_sample is None
                      or any(f.tumor_only for f in case.somatic)},
        "clinical": {
            "medications": list(ctx.medications),
            "labs": [{"name": lab.name, "value": _num(lab.value), "unit": lab.unit} for lab in ctx.labs],
            "smoking_status": ctx.smoking_status, "pack_years": _num(ctx.pack_years),
            "alcohol_units_per_week": _num(ctx.alcohol_units_per_week), "bmi": _num(ctx.bmi),
            "diet": list(ctx.diet), "not_evaluated": list(ctx.not_evaluated),
        },
        "assay": assay,
        "biomarkers": biomarkers,
        "tmb_recorded": tmb is not None,
        "alerts": [drug_view_row(d) for d in prescribing if d.urgency == "alert"],
        "key_findings": key_findings,
        "therapy_options": [option_row(o) for o in options],
        "somatic": [finding_row(f) for f in somatic],
        "tiers_count": tiers_count,
        "germline": [finding_row(f) for f in case.germline],
        "copy_number": copy_number_section(case.copy_number),
        "fusions": [fusion_row(f) for f in sorted(case.fusions, key=lambda f: (TIER_ORDER.get(f.tier, 4),
                                                                                f.label))],
        "met_exon14": [met14_row(m) for m in case.met_exon14],
        "prescribing": [drug_view_row(d) for d in prescribing],
        "pgx": {"diplotypes": [diplotype_row(d) for d in sorted(case.pgx, key=lambda d: d.gene)],
                "in_play": pgx_in_play, "appendix": pgx_appendix,
                "appendix_omitted": len(not_in_play) - len(pgx_appendix)},
        "rules": rules,
        "identity": identity_section(case),
        "qc": {"failed": any(m.passed is False for m in case.qc), "metrics": [{
            "sample": m.sample, "metric": m.metric, "value": _num(m.value), "threshold": _num(m.threshold),
            "comparison": m.comparison, "passed": m.passed, "source": m.source} for m in case.qc]},
        "limitations": _limitations(case, assay, biomarkers),
        "methods": _methods(case),
        "cohort_tmb": cohort_tmb or [],
        "notices": list(case.notices),
    }
