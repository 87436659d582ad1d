"""`bedside cohort`: one summary over every patient's case record (HTML / TSV / JSON)."""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

from bedside.commands._util import atomic_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cohort",
        help="cohort summary (HTML / TSV / JSON) from case.json files",
        description="Reads each case.json (the record each patient's report renders) and "
        "lists, per patient, the stored therapy options, biomarkers, alerts and QC; "
        "links to each report (results/<patient>/report.html beside the case.json) "
        "and to MultiQC by relative paths.",
    )
    p.add_argument("cases", nargs="+")
    p.add_argument("--html")
    p.add_argument("--tsv")
    p.add_argument("--json")
    p.add_argument("--multiqc", help="MultiQC HTML report to link from the summary")
    p.add_argument(
        "--platform",
        help="cohort platform page (genome QC, relatedness, ancestry, identity) to link from the summary; "
        "default: cohort_platform.html beside --html when it exists",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bedside.case import generated_timestamp
    from bedside.report import cohort
    from bedside.report.render import load_case

    cases = [load_case(p) for p in args.cases]
    out_dir = Path(args.html or args.json or args.tsv or ".").parent
    rows = cohort.cohort_rows(cases, args.cases, out_dir=out_dir)
    if args.tsv:
        flat = [cohort.flat(r) for r in rows]
        with atomic_path(args.tsv) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(
                fh, fieldnames=list(flat[0]) if flat else ["patient_id"], delimiter="\t", lineterminator="\n"
            )
            w.writeheader()
            w.writerows(flat)
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    if args.html:
        multiqc = os.path.relpath(args.multiqc, Path(args.html).parent) if args.multiqc else None
        platform = args.platform or Path(args.html).parent / "cohort_platform.html"
        platform = (
            os.path.relpath(platform, Path(args.html).parent) if args.platform or platform.exists() else None
        )
        with atomic_path(args.html) as tmp:
            tmp.write_text(
                cohort.render_html(
                    cases, rows, multiqc=multiqc, generated=generated_timestamp(), platform=platform
                )
            )
    return 0
