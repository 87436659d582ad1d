"""Patient context (clinical & lifestyle table or OMOP CDM extract) and the rules that tailor advice.

Python API::

    patients = load_patients("clinical.tsv")            # patient_id -> PatientContext
    patients = load_omop("omop_dir_or.sqlite")           # same, from an OMOP CDM extract
    results = evaluate(patients["P1"], ["erlotinib"], diplotypes, recommendations)   # [RuleResult]
    views = prescribing_view(patients["P1"], ["erlotinib"], diplotypes, recommendations, results)  # [DrugView]
    in_play, appendix = pgx_in_play(recommendations, views)   # CPIC guidance for drugs in play / the rest
"""

from __future__ import annotations

from pathlib import Path

from bedside.model import PatientContext

__all__ = ["evaluate", "load_omop", "load_patients", "pgx_in_play", "prescribing_view"]


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


def prescribing_view(context, therapies, diplotypes, recommendations, rules):
    from bedside.clinical.prescribing import prescribing_view as _view

    return _view(context, therapies, diplotypes, recommendations, rules)


def pgx_in_play(recommendations, views):
    from bedside.clinical.prescribing import pgx_in_play as _split

    return _split(recommendations, views)


prescribing_view.__doc__ = "See :func:`bedside.clinical.prescribing.prescribing_view`."
pgx_in_play.__doc__ = "See :func:`bedside.clinical.prescribing.pgx_in_play`."
