"""`bedside tier`: AMP/ASCO/CAP tiers, therapies, evidence levels and citations for variants."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from bedside.tools import atomic_path
from bedside.errors import InputError
from bedside.knowledge import load_knowledge, therapies, therapy_options, tier_findings, versions
from bedside.knowledge.lookup import findings_from_table, tier_table_rows
from bedside.model import Origin, to_dict

TSV_COLUMNS = ["gene", "hgvs_p", "tumor_type", "variant", "consequence", "tier", "therapies_sensitive",
               "therapies_resistant", "evidence_levels", "citations", "evidence_ids", "oncogenicity"]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "tier", help="tier variants (AMP/ASCO/CAP 2017) and list therapies with citations",
        description="Tier variants from a TSV (gene, hgvs_p, tumor_type) or an annotated VCF plus --tumor-type.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="TSV with columns gene, hgvs_p, tumor_type")
    src.add_argument("--vcf", help="annotated VCF (from `bedside annotate`)")
    p.add_argument("--tumor-type", help="OncoTree code (required with --vcf; default for TSV rows without one)")
    p.add_argument("--sample", help="sample of the VCF to read allele fractions from (default: first)")
    p.add_argument("--all", action="store_true", help="with --vcf, include non-PASS records")
    p.add_argument("--knowledge", action="append", help="evidence table (curated TSV or CIViC "
                   "ClinicalEvidenceSummaries TSV); repeatable; default: the bundled table")
    p.add_argument("--keep-going", action="store_true",
                   help="with --input, skip rows whose tumor type is not an OncoTree code (each reported) and "
                        "tier the other rows; without it the first such row stops the run (exit 2)")
    p.add_argument("--out-tsv", required=True)
    p.add_argument("--out-json", required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kb = load_knowledge(args.knowledge)
    groups: list[tuple[str, list]] = []
    if args.vcf:
        if not args.tumor_type:
            raise InputError("--tumor-type is required with --vcf")
        from bedside.annotate import read_findings

        fs = read_findings(args.vcf, Origin.SOMATIC, sample=args.sample, pass_only=not args.all,
                           require_annotation=True)
        groups.append((args.tumor_type.upper(), fs))
    else:
        errors: list[str] | None = [] if args.keep_going else None
        for tumor, fs in findings_from_table(Path(args.input), args.tumor_type, errors=errors).items():
            groups.append((tumor, fs))
        for msg in errors or []:
            print(f"bedside tier: skipped: {msg}", file=sys.stderr)
    rows, payload = [], []
    for tumor, fs in groups:
        tier_findings(fs, tumor, kb)
        rows.extend(tier_table_rows(fs, tumor, oncogenicity=True))
        payload.append({"tumor_type": tumor, "therapies": therapies(fs),
                        "therapy_options": [to_dict(o) for o in therapy_options(fs)],
                        "findings": [to_dict(f) for f in fs]})
    with atomic_path(args.out_tsv) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=TSV_COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with atomic_path(args.out_json) as tmp:
        Path(tmp).write_text(json.dumps({"knowledge_versions": versions(kb), "tiering":
                                         "AMP/ASCO/CAP 2017 (Li et al., PMID 27993330)", "groups": payload},
                                        indent=2) + "\n")
    return 0
