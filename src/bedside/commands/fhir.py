"""`bedside report-fhir`: the case record as an HL7 FHIR R4 Bundle (Genomics Reporting IG STU3)."""

from __future__ import annotations

import argparse
import json

from bedside.commands._util import atomic_path
from bedside.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report-fhir",
        help="FHIR R4 Bundle (Genomics Reporting IG) from case.json",
        description="Builds a FHIR R4 Bundle (DiagnosticReport + variant, diagnostic- and "
        "therapeutic-implication, genotype and TMB Observations) from a Bedside "
        "case record and validates it with the fhir.resources models before "
        "writing it.",
    )
    p.add_argument("case", help="case.json (bedside case)")
    p.add_argument("--out", required=True, help="output report.fhir.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pydantic

    from bedside.report import fhir
    from bedside.report.render import load_case

    case = load_case(args.case)
    bundle = fhir.build_bundle(case)
    try:
        fhir.validate(bundle)
    except pydantic.ValidationError as exc:  # a bug in the builder, reported against the case it came from
        err = exc.errors()[0]
        raise InputError(
            f"FHIR bundle failed validation at {'.'.join(map(str, err['loc']))}: {err['msg']}", path=args.case
        ) from exc
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n")
    return 0
