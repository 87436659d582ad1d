"""Render a Case as HTML (self-contained, works offline), JSON, PDF; and the cohort summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from bedside.errors import InputError
from bedside.model import Case, Tier, from_dict, to_dict
from bedside.report.prepare import prepare

SECTIONS = ["summary", "therapy", "somatic", "germline", "pgx", "rules", "qc", "methods"]


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bedside.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def load_case(path: str | Path) -> Case:
    try:
        with open(path) as fh:
            data = json.load(fh)
    except FileNotFoundError as exc:
        raise InputError("case file not found", path=path) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from exc
    try:
        return from_dict(Case, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a Bedside case record: {exc}", path=path) from exc


def render_html(case: Case, institution: str = "") -> str:
    return _env().get_template("base.html.j2").render(r=prepare(case, institution),
                                                      sections=SECTIONS)


def report_json(case: Case, institution: str = "") -> dict[str, Any]:
    """The report's content as JSON: the same tables the HTML shows, plus the full case record."""
    return {"report": prepare(case, institution), "case": to_dict(case)}


def html_to_pdf(html: str, out: str | Path) -> None:
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    logging.getLogger("weasyprint.progress").setLevel(logging.ERROR)
    weasyprint.HTML(string=html).write_pdf(str(out))


def cohort_rows(cases: list[Case]) -> list[dict[str, Any]]:
    rows = []
    for c in cases:
        t1 = [f for f in c.somatic if f.tier == Tier.I]
        t2 = [f for f in c.somatic if f.tier == Tier.II]
        label = lambda f: f"{f.consequence.gene} {f.consequence.hgvs_p or f.consequence.hgvs_c}" if f.consequence else f.variant.key
        # therapies with sensitivity evidence in this patient's tumor type (tier I findings)
        therapies = sorted({e.therapy for f in t1 + c.germline for e in f.evidence
                            if e.direction == "sensitivity" and e.level in ("A", "B")
                            and not (e.matched_tumor_type or "other").startswith("other")})
        rows.append({
            "patient_id": c.patient_id,
            "diagnosis": c.context.diagnosis or "",
            "somatic_variants": len(c.somatic),
            "tier_I": "; ".join(label(f) for f in t1),
            "tier_II": "; ".join(label(f) for f in t2),
            "therapies": "; ".join(therapies),
            "germline_findings": "; ".join(label(f) for f in c.germline),
            "pgx": "; ".join(f"{d.gene} {'/'.join(d.diplotypes[:1]) or '?'} ({d.phenotype or '?'})"
                             for d in c.pgx if d.phenotype and "normal" not in d.phenotype.lower()),
            "rules_fired": "; ".join(f"{r.drug}: {r.rule_id}" for r in c.rules if r.status == "fired"),
            "rules_not_evaluated": sum(1 for r in c.rules if r.status == "not_evaluated"),
            "tmb_per_mb": "" if c.tmb is None else round(c.tmb, 2),
            "qc": "FAIL" if any(m.passed is False for m in c.qc) else "pass",
        })
    return rows


def render_cohort_html(rows: list[dict[str, Any]]) -> str:
    return _env().get_template("cohort.html.j2").render(rows=rows)
