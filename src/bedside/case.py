"""Gather one patient's stage outputs into a :class:`~bedside.model.Case` (what case.json holds).

This module only joins: each piece of science is done by its own module (annotate, knowledge, pgx,
clinical); here the pieces are read and passed along.
"""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
from pathlib import Path

from bedside import RESEARCH_USE_NOTICE, __version__
from bedside.errors import InputError
from bedside.model import (
    Case,
    Diplotype,
    Finding,
    Origin,
    PatientContext,
    QCMetric,
    Recommendation,
    from_dict,
)


def _load_json(path: str | Path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise InputError("file not found", path=path) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from exc


def load_context(path: str | Path) -> PatientContext:
    return from_dict(PatientContext, _load_json(path))


def load_qc(path: str | Path) -> list[QCMetric]:
    return [from_dict(QCMetric, m) for m in _load_json(path)]


def load_pgx(path: str | Path, sample: str | None) -> tuple[list[Diplotype], list[Recommendation]]:
    """Read `bedside pgx --out-json` output for one sample."""
    from bedside import pgx

    return pgx.read_json(path, sample)


def tool_versions() -> dict[str, str]:
    versions = {"bedside": __version__}
    for tool, args in (("bwa", []), ("samtools", ["--version"]), ("bcftools", ["--version"]),
                       ("fastp", ["--version"]), ("mosdepth", ["--version"])):
        try:
            res = subprocess.run([tool, *args], capture_output=True, text=True, errors="replace",
                                 check=False)
        except FileNotFoundError:
            continue
        text = (res.stdout + res.stderr).strip().splitlines()
        line = next((ln for ln in text if "version" in ln.lower() or ln.startswith(tool)), "")
        if tool == "bwa":
            line = next((ln for ln in text if ln.startswith("Version")), line)
        versions[tool] = line.replace("Version:", "").strip()
    return versions


def build_case(patient: str, context: PatientContext, *, tumor_sample: str | None = None,
               normal_sample: str | None = None, somatic_vcf: str | None = None,
               germline_vcf: str | None = None, pgx_json: str | None = None,
               tmb_json: str | None = None, qc: list[QCMetric] | None = None,
               knowledge_paths: list[str] | None = None, build: str = "") -> Case:
    from bedside import annotate, clinical, knowledge

    if context.patient_id != patient:
        raise InputError(f"clinical context is for patient '{context.patient_id}', not '{patient}'")
    kb = knowledge.load_knowledge(knowledge_paths or None)
    case = Case(patient_id=patient, context=context, tumor_sample=tumor_sample,
                normal_sample=normal_sample, qc=qc or [])
    case.notices.append(RESEARCH_USE_NOTICE)
    tumor_type = context.diagnosis
    if somatic_vcf:
        somatic: list[Finding] = annotate.read_findings(somatic_vcf, Origin.SOMATIC,
                                                        sample=tumor_sample)
        if tumor_type:
            somatic = knowledge.tier_findings(somatic, tumor_type, kb)
        else:
            case.notices.append("No diagnosis (OncoTree code) in the clinical record: somatic "
                                "variants were not tiered against tumor-type-specific evidence.")
        case.somatic = somatic
    if germline_vcf:
        germ = annotate.read_findings(germline_vcf, Origin.GERMLINE, sample=normal_sample)
        case.germline = knowledge.germline_findings(germ)
        if tumor_type:
            case.germline = knowledge.germline_evidence(case.germline, tumor_type, kb)
    diplotypes: list[Diplotype] = []
    pgx_recs: list[Recommendation] = []
    if pgx_json:
        diplotypes, pgx_recs = load_pgx(pgx_json, normal_sample)
    case.pgx = diplotypes
    therapies = knowledge.therapies(case.somatic + case.germline)
    case.rules = clinical.evaluate(context, therapies, diplotypes, pgx_recs)
    case.recommendations = pgx_recs
    if tmb_json:
        tmb = _load_json(tmb_json)
        case.tmb = tmb.get("tmb_per_mb")
        callable_bp = tmb.get("callable_bp")
        case.callable_mb = round(callable_bp / 1e6, 4) if callable_bp else None
    case.versions = {**tool_versions(), **knowledge.versions(kb)}
    if build:
        case.versions["reference build"] = build
    case.generated = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    failed = [m for m in case.qc if m.passed is False]
    if failed:
        case.notices.append("QC gates failed: " + ", ".join(
            f"{m.sample} {m.metric} {m.value} (needs {m.comparison} {m.threshold})" for m in failed)
            + ". Interpret findings with caution.")
    return case
