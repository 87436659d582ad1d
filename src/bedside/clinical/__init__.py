"""Patient context (clinical & lifestyle table or OMOP CDM extract) and the rules that tailor advice.

Python API::

    patients = load_patients("clinical.tsv")            # patient_id -> PatientContext
    patients = load_omop("omop_dir_or.sqlite")           # same, from an OMOP CDM extract
    results = evaluate(patients["P1"], ["erlotinib"], diplotypes, recommendations)   # [RuleResult]
"""

from __future__ import annotations

from pathlib import Path

from bedside.model import PatientContext

__all__ = ["evaluate", "load_omop", "load_patients"]


def load_patients(path: str | Path, *, strict: bool = False) -> dict[str, PatientContext]:
    from bedside.io.clinical import read_clinical_table

    return read_clinical_table(path, strict=strict)


def load_omop(path: str | Path, **kwargs) -> dict[str, PatientContext]:
    from bedside.io.omop import read_omop

    return read_omop(path, **kwargs)


def evaluate(context, therapies, diplotypes, recommendations, **kwargs):
    from bedside.clinical.rules import evaluate as _evaluate

    return _evaluate(context, therapies, diplotypes, recommendations, **kwargs)


evaluate.__doc__ = "See :func:`bedside.clinical.rules.evaluate`."
