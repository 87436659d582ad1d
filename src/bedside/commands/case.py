"""`bedside case`: gather one patient's outputs into case.json."""

from __future__ import annotations

import argparse
import json

from bedside import case as case_mod
from bedside.commands._util import atomic_path
from bedside.model import to_dict


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("case", help="gather a patient's results into case.json")
    p.add_argument("--patient", required=True)
    p.add_argument("--context", required=True, help="clinical context JSON (bedside clinical)")
    p.add_argument("--qc", help="QC JSON (bedside qc)")
    p.add_argument("--tumor-sample")
    p.add_argument("--normal-sample")
    p.add_argument("--somatic", help="annotated somatic VCF (bedside annotate)")
    p.add_argument("--germline", help="annotated germline VCF (bedside annotate)")
    p.add_argument("--pgx", help="PGx JSON (bedside pgx)")
    p.add_argument("--tmb", help="TMB JSON (bedside tmb)")
    p.add_argument("--knowledge", action="append", default=[],
                   help="extra knowledge-base table (curated TSV or CIViC TSV); repeatable")
    p.add_argument("--build", default="", help="reference build name for the report")
    p.add_argument("--out", required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    context = case_mod.load_context(args.context)
    qc = case_mod.load_qc(args.qc) if args.qc else []
    case = case_mod.build_case(
        args.patient, context, tumor_sample=args.tumor_sample, normal_sample=args.normal_sample,
        somatic_vcf=args.somatic, germline_vcf=args.germline, pgx_json=args.pgx, tmb_json=args.tmb,
        qc=qc, knowledge_paths=args.knowledge, build=args.build)
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(to_dict(case), indent=2) + "\n")
    return 0
