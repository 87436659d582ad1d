"""``bedside clinical``: patient context from a clinical table or an OMOP extract (+ optional rule join)."""

from __future__ import annotations

import argparse
import json

from bedside.tools import atomic_path
from bedside.errors import InputError
from bedside.model import to_dict


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "clinical", help="patient context (clinical table or OMOP CDM) and the tailoring rules",
        description="Validate a clinical & lifestyle table (docs/clinical.md) or import an OMOP CDM extract, "
                    "and write each patient's context as JSON. With --therapy and/or --pgx, also apply the "
                    "cited gene-drug, drug-drug, drug-lifestyle and organ-function rules.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--table", help="clinical TSV")
    src.add_argument("--omop", help="OMOP CDM extract: folder of CSV files, SQLite or DuckDB file")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--patient", help="patient_id (OMOP: person_id)")
    who.add_argument("--all", action="store_true", help="write every patient (JSON object keyed by id)")
    p.add_argument("--strict", action="store_true",
                   help="unknown drugs, labs or OncoTree codes are errors instead of not_evaluated entries")
    p.add_argument("--as-of", help="OMOP: reference date (YYYY-MM-DD) for age and current medications")
    p.add_argument("--therapy", action="append", default=[],
                   help="recommended therapy to check (repeatable; 'a + b' for combinations)")
    p.add_argument("--pgx", help="JSON written by `bedside pgx` (diplotypes and CPIC recommendations)")
    p.add_argument("--pgx-sample", help="sample in the pgx JSON (default: the only sample, or the patient id)")
    p.add_argument("--out", required=True, help="output JSON")
    p.set_defaults(func=run)


def _pgx_for(path: str, sample: str | None, patient: str):
    from bedside.pgx import read_json

    if sample is None:
        import json

        try:
            names = list(json.loads(open(path).read())["samples"])  # noqa: SIM115
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a `bedside pgx` JSON: {exc}", path=path) from exc
        sample = names[0] if len(names) == 1 else patient
    return read_json(path, sample)


def run(args: argparse.Namespace) -> int:
    from bedside.clinical import evaluate, load_omop, load_patients

    if args.table:
        patients = load_patients(args.table, strict=args.strict)
        source = args.table
    else:
        patients = load_omop(args.omop, as_of=args.as_of)
        source = args.omop
    if args.patient and args.patient not in patients:
        raise InputError(f"patient {args.patient!r} not found", path=source)
    chosen = patients if args.all else {args.patient: patients[args.patient]}
    docs = {}
    for pid, ctx in chosen.items():
        doc = to_dict(ctx)
        if args.therapy or args.pgx:
            dips, recs = _pgx_for(args.pgx, args.pgx_sample, pid) if args.pgx else ([], [])
            doc = {"context": doc, "therapies": args.therapy,
                   "rules": to_dict(evaluate(ctx, args.therapy, dips, recs))}
        docs[pid] = doc
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(docs if args.all else docs[args.patient], indent=2) + "\n")
    return 0
