"""The cohort summary: one row per patient, read from the stored case records, never recomputed.

Every list comes from what the case record already decided and what the patient's report shows:
therapy options from ``Case.therapy_options`` (by category: this tumor type, other tumor types, resistance),
biomarkers from ``Case.biomarkers`` shown with :func:`bedside.biomarkers.display` (the report's wording),
prescribing alerts from ``Case.prescribing``. The HTML adds an oncoprint-style gene x patient landscape of
the tier I-III somatic findings and germline findings (matplotlib, inline SVG, works offline).
"""

from __future__ import annotations

import functools
import io
import os
import re
from pathlib import Path
from typing import Any

from bedside import biomarkers as bm
from bedside.model import Case, Finding, Origin, Tier

TIER_COLORS = {"I": "#b3261e", "II": "#c98b00", "III": "#6b7785"}
GERMLINE_COLOR = "#5b3a8c"
CATEGORIES = (
    ("this_tumor_type", "therapies_this_tumor_type"),
    ("other_tumor_type", "therapies_other_tumor_type"),
    ("resistance", "resistance"),
)


def finding_label(f: Finding) -> str:
    csq = f.consequence
    if csq and csq.gene:
        return f"{csq.gene} {csq.hgvs_p or csq.hgvs_c or f.variant.key}"
    return f.variant.key


def _tier(f: Finding) -> str | None:
    return f.tier.value if isinstance(f.tier, Tier) else f.tier


def _option_text(o) -> str:
    text = f"{o.therapy} ({o.level})"
    if o.excluded_by_resistance:
        text += " [overruled by resistance]"
    return text


def _metric(case: Case, sample: str | None, metric: str) -> float | None:
    return next((m.value for m in case.qc if m.sample == sample and m.metric == metric), None)


def _rel(target: str | Path | None, start: str | Path | None) -> str | None:
    if target is None:
        return None
    if start is None:
        return str(target)
    return os.path.relpath(Path(target), Path(start)).replace(os.sep, "/")


def identity_text(case: Case) -> str:
    """The tumor-normal identity check as the case record holds it, in words (as the report's QC line)."""
    c = case.identity
    if c is None:
        return "not recorded in the case record"
    if c.swapped_with:
        return f"SWAPPED: tumor matches the normal of {c.swapped_with}"
    if c.status == "mismatch":
        return "MISMATCH: tumor and normal are not the same person"
    if c.status == "ok":
        return "passed" + (f" ({c.concordance:.3f} at {c.sites} SNPs)" if c.concordance is not None else "")
    return f"{c.status.replace('_', ' ')} ({c.reason})" if c.reason else c.status.replace("_", " ")


def cohort_row(case: Case, *, case_path: str | Path | None = None, out_dir: str | Path | None = None) -> dict:
    """One patient's summary row (typed values; lists stay lists)."""
    options = {key: [] for _, key in CATEGORIES}
    for o in case.therapy_options:
        key = dict(CATEGORIES).get(o.category)
        if key:
            options[key].append(_option_text(o))
    decided = bool(case.therapy_options)
    evidence_present = any(f.evidence for f in case.somatic + case.germline)
    tmb = bm.iter_codes(case.biomarkers, "TMB")
    report = Path(case_path).parent / "report.html" if case_path else None
    failed = [f"{m.sample} {m.metric}" for m in case.qc if m.passed is False]
    row: dict[str, Any] = {
        "patient_id": case.patient_id,
        "diagnosis": case.context.diagnosis or "",
        "diagnosis_name": case.context.diagnosis_name or "",
        "tumor_sample": case.tumor_sample,
        "normal_sample": case.normal_sample,
        "somatic_variants": len(case.somatic),
        "tier_I": [finding_label(f) for f in case.somatic if _tier(f) == "I"],
        "tier_II": [finding_label(f) for f in case.somatic if _tier(f) == "II"],
        **options,  # in the stored order (level, then the source's preference, then name), as the report
        # the case record holds no decision when therapy options were never stored (an older case.json)
        "therapy_options_recorded": decided or not evidence_present,
        "germline_findings": [finding_label(f) for f in case.germline],
        "pgx": [
            f"{d.gene} {' or '.join(d.diplotypes) or 'not called'} ({d.phenotype or 'no phenotype'})"
            for d in case.pgx
            if d.phenotype and "normal" not in d.phenotype.lower()
        ],
        "prescribing_alerts": [
            f"{v.drug} ({v.urgency})" for v in case.prescribing if v.urgency in ("alert", "caution")
        ],
        "prescribing_conflicts": [v.drug for v in case.prescribing if v.conflict],
        "tmb": bm.display(tmb),
        "tmb_status": tmb.status if tmb else None,
        "tmb_value": tmb.value if tmb and tmb.status == "assessable" else None,
        "tmb_class": tmb.classification if tmb else None,
        "mean_depth_tumor": _metric(case, case.tumor_sample, "mean_depth"),
        "mean_depth_normal": _metric(case, case.normal_sample, "mean_depth"),
        "duplicate_fraction_tumor": _metric(case, case.tumor_sample, "duplicate_fraction"),
        "mapped_fraction_tumor": _metric(case, case.tumor_sample, "mapped_fraction"),
        "qc": "FAIL" if failed else "pass",
        "qc_failed": failed,
        "identity": identity_text(case),
        "identity_problem": bool(case.identity and case.identity.problem),
        "report": _rel(report, out_dir),
    }
    return row


def cohort_rows(
    cases: list[Case], case_paths: list[str | Path] | None = None, out_dir: str | Path | None = None
) -> list[dict[str, Any]]:
    paths = list(case_paths) if case_paths else [None] * len(cases)
    pairs = sorted(zip(cases, paths, strict=True), key=lambda cp: cp[0].patient_id)
    return [cohort_row(c, case_path=p, out_dir=out_dir) for c, p in pairs]


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """The TSV form: lists joined with '; ', None as empty."""
    out = {}
    for k, v in row.items():
        if isinstance(v, list):
            v = "; ".join(map(str, v))
        out[k] = "" if v is None else v
    return out


# ------------------------------------------------------------------ actionability by drug and evidence level

LEVELS = ("A", "B", "C", "D")
CATEGORY_NAMES = {"this_tumor_type": "Own tumor type", "other_tumor_type": "Other tumor types",
                  "resistance": "Resistance (own tumor type)"}
OPTION_CATEGORIES = ("this_tumor_type", "other_tumor_type", "resistance")


def therapy_key(therapy: str) -> str:
    """One key per drug or drug combination whatever the order or case of its parts."""
    return " + ".join(sorted(p.strip().lower() for p in therapy.split("+") if p.strip()))


def drug_summary(cases: list[Case]) -> dict[str, Any]:
    """Every drug (or combination) in any patient's stored therapy options (``Case.therapy_options``, read,
    never recomputed): per category (this tumor type / other tumor types / resistance) and AMP level, the
    patients it is offered to. ``columns`` lists the (category, level) pairs that occur, in display order.

    A patient counts once per drug and category, at the best level; an option overruled by resistance
    evidence in the patient's tumor type is listed under ``overruled_by_resistance`` as well."""
    rows: dict[str, dict[str, Any]] = {}
    diagnosis = {c.patient_id: c.context.diagnosis for c in cases}
    for c in sorted(cases, key=lambda c: c.patient_id):
        for o in c.therapy_options:
            if o.category not in OPTION_CATEGORIES:
                continue
            row = rows.setdefault(therapy_key(o.therapy), {
                "therapy": o.therapy, **{cat: {} for cat in OPTION_CATEGORIES}, "overruled_by_resistance": []})
            levels = row[o.category]
            current = next((lv for lv, ps in levels.items() if c.patient_id in ps), None)
            if current is None or _level_rank(o.level) < _level_rank(current):
                if current is not None:  # counted once per category, at the best level
                    levels[current].remove(c.patient_id)
                    if not levels[current]:
                        del levels[current]
                levels.setdefault(o.level, []).append(c.patient_id)
            if o.excluded_by_resistance and c.patient_id not in row["overruled_by_resistance"]:
                row["overruled_by_resistance"].append(c.patient_id)
    out = []
    for row in rows.values():
        for cat in OPTION_CATEGORIES:
            row[cat] = {lv: row[cat][lv] for lv in sorted(row[cat], key=_level_rank)}
        offered = {p for cat in ("this_tumor_type", "other_tumor_type") for ps in row[cat].values() for p in ps}
        row["patients_offered"] = len(offered)
        row["patients_this_tumor_type"] = len({p for ps in row["this_tumor_type"].values() for p in ps})
        row["patients_other_tumor_type"] = len({p for ps in row["other_tumor_type"].values() for p in ps})
        row["patients_resistance"] = len({p for ps in row["resistance"].values() for p in ps})
        row["tumor_types"] = sorted({diagnosis[p] for p in offered if diagnosis.get(p)})
        out.append(row)

    def order(r: dict[str, Any]) -> tuple:
        best = min(((OPTION_CATEGORIES.index(cat), _level_rank(lv)) for cat in OPTION_CATEGORIES
                    for lv in r[cat]), default=(9, 9))
        return (best, -r["patients_offered"], r["therapy"].lower())

    out.sort(key=order)
    columns = [(cat, lv) for cat in OPTION_CATEGORIES for lv in sorted(
        {lv for r in out for lv in r[cat]}, key=_level_rank)]
    return {"drugs": out, "columns": columns, "patients": len(cases),
            "patients_with_options": len({c.patient_id for c in cases
                                          if any(o.category != "resistance" for o in c.therapy_options)})}


def _level_rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def pgx_summary(cases: list[Case]) -> dict[str, Any]:
    """Drugs with actionable PGx guidance (``Case.recommendations`` of kind pgx, actionable: a dosing change,
    an alternative drug or other guidance for the patient's phenotype) and, of those patients, who has the
    drug in play (``Case.prescribing``: current medication or recommended therapy) with its urgency.
    Guidance that could not be determined (genotype not called, phenotype not curated) is counted apart."""
    drugs: dict[str, dict[str, Any]] = {}
    undetermined: dict[str, dict[str, Any]] = {}
    for c in sorted(cases, key=lambda c: c.patient_id):
        views = {v.drug.lower(): v for v in c.prescribing}
        recs = [r for r in c.recommendations if r.kind == "pgx"]
        decided = {r.drug.lower() for r in recs if r.actionable is not None}
        for r in recs:
            key = r.drug.lower()
            if r.actionable is True:
                d = drugs.setdefault(key, {"drug": r.drug, "patients": []})
                seen = next((p for p in d["patients"] if p["patient_id"] == c.patient_id), None)
                if seen is not None:  # one entry per patient; every strength the guidance gives is kept
                    if r.classification and r.classification not in (seen["classification"] or "").split(", "):
                        seen["classification"] = ", ".join(filter(None, (seen["classification"],
                                                                         r.classification)))
                    continue
                v = views.get(key)
                d["patients"].append({
                    "patient_id": c.patient_id, "gene": r.gene, "phenotype": r.phenotype,
                    "classification": r.classification,
                    "in_play": list(v.in_play) if v else [], "urgency": v.urgency if v else None,
                    "gene_drug_modifier": bool(v and any(m.category == "gene-drug" for m in v.modifiers))})
            elif r.actionable is None and key not in decided:
                u = undetermined.setdefault(key, {"drug": r.drug, "genes": [], "patients": []})
                if r.gene and r.gene not in u["genes"]:
                    u["genes"].append(r.gene)
                if c.patient_id not in u["patients"]:
                    u["patients"].append(c.patient_id)
    rows = []
    for d in drugs.values():
        d["actionable"] = len(d["patients"])
        d["in_play"] = sum(1 for p in d["patients"] if p["in_play"])
        rows.append(d)
    rows.sort(key=lambda d: (-d["in_play"], -d["actionable"], d["drug"].lower()))
    return {"drugs": rows, "undetermined": sorted(undetermined.values(), key=lambda u: u["drug"].lower()),
            "patients_with_actionable": len({p["patient_id"] for d in rows for p in d["patients"]}),
            "patients_in_play": len({p["patient_id"] for d in rows for p in d["patients"] if p["in_play"]})}


# ------------------------------------------------------------------ landscape plot


@functools.cache
def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    return Figure, FigureCanvasSVG, Patch, Rectangle


def landscape(cases: list[Case]) -> tuple[list[str], list[str], dict[tuple[str, str], list[str]]]:
    """(genes, patients, cells): per gene x patient the kinds of alteration found (tier I-III somatic,
    germline findings). Genes ordered by the number of patients altered, then name."""
    patients = sorted(c.patient_id for c in cases)
    cells: dict[tuple[str, str], list[str]] = {}
    for c in cases:
        for f in c.somatic + c.germline:
            gene = f.consequence.gene if f.consequence and f.consequence.gene else None
            if not gene:
                continue
            if f.origin == Origin.GERMLINE:
                kind = "germline"
            else:
                tier = _tier(f)
                if tier not in TIER_COLORS:
                    continue
                kind = f"tier {tier}"
            cell = cells.setdefault((gene, c.patient_id), [])
            if kind not in cell:
                cell.append(kind)
    genes = sorted({g for g, _ in cells}, key=lambda g: (-sum(1 for p in patients if (g, p) in cells), g))
    return genes, patients, cells


def landscape_svg(cases: list[Case]) -> str | None:
    genes, patients, cells = landscape(cases)
    if not genes:
        return None
    Figure, Canvas, Patch, Rectangle = _mpl()
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "bedside-cohort", "font.size": 8}):
        fig = Figure(figsize=(1.6 + 0.55 * len(patients), 0.9 + 0.28 * len(genes)), dpi=72)
        Canvas(fig)
        ax = fig.add_subplot(1, 1, 1)
        color = {**{f"tier {t}": c for t, c in TIER_COLORS.items()}, "germline": GERMLINE_COLOR}
        for y, gene in enumerate(genes):
            for x, p in enumerate(patients):
                ax.add_patch(Rectangle((x + 0.05, y + 0.08), 0.9, 0.84, color="#eceff2", lw=0))
                kinds = cells.get((gene, p), [])
                for i, kind in enumerate(kinds):  # split the cell when several kinds meet
                    h = 0.84 / len(kinds)
                    ax.add_patch(Rectangle((x + 0.05, y + 0.08 + i * h), 0.9, h, color=color[kind], lw=0))
        ax.set_xlim(0, len(patients))
        ax.set_ylim(len(genes), 0)
        ax.set_xticks([i + 0.5 for i in range(len(patients))], patients, rotation=0)
        ax.set_yticks([i + 0.5 for i in range(len(genes))], genes)
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        for s in ax.spines.values():
            s.set_visible(False)
        used = sorted({k for v in cells.values() for k in v}, key=list(color).index)
        ax.legend(
            handles=[Patch(color=color[k], label=k) for k in used],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            fontsize=7,
        )
        buf = io.StringIO()
        fig.savefig(
            buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight", pad_inches=0.04
        )
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'(id="|url\(#|href="#)([^")]+)', lambda m: f"{m.group(1)}landscape-{m.group(2)}", text)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return text.replace("<svg ", '<svg role="img" aria-label="Gene by patient landscape" class="plot" ', 1)


def render_html(
    cases: list[Case],
    rows: list[dict[str, Any]],
    *,
    multiqc: str | None = None,
    generated: str | None = None,
    platform: str | None = None,
) -> str:
    """The cohort summary page; ``multiqc`` and ``platform`` (the cohort platform page: genome QC,
    relatedness, ancestry, tumor-normal identity) are links relative to the page."""
    from bedside.report.render import base_env

    env = base_env()
    links = {r["patient_id"]: r.get("report") for r in rows}
    return env.get_template("cohort.html.j2").render(
        rows=rows, landscape=landscape_svg(cases), multiqc=multiqc, generated=generated, platform=platform,
        drugs=drug_summary(cases), pgx=pgx_summary(cases), links=links,
        diagnosis={c.patient_id: c.context.diagnosis for c in cases},
        category_names=CATEGORY_NAMES,
    )
