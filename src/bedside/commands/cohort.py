"""`bedside cohort`: one summary table over every patient's case record."""

from __future__ import annotations

import argparse
import csv
import json

from bedside.commands._util import atomic_path
from bedside.report import render


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cohort", help="cohort summary (HTML / TSV / JSON) from case.json files")
    p.add_argument("cases", nargs="+")
    p.add_argument("--html")
    p.add_argument("--tsv")
    p.add_argument("--json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cases = [render.load_case(p) for p in args.cases]
    rows = render.cohort_rows(sorted(cases, key=lambda c: c.patient_id))
    if args.tsv:
        with atomic_path(args.tsv) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["patient_id"],
                               delimiter="\t")
            w.writeheader()
            w.writerows(rows)
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(rows, indent=2) + "\n")
    if args.html:
        with atomic_path(args.html) as tmp:
            tmp.write_text(render.render_cohort_html(rows))
    return 0
