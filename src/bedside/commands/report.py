"""`bedside report`: render case.json as HTML (offline), JSON and PDF."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bedside.commands._util import atomic_path
from bedside.errors import InputError
from bedside.report import render


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="render a case record as HTML / JSON / PDF")
    p.add_argument("case", nargs="?", help="case.json (bedside case)")
    p.add_argument("--html")
    p.add_argument("--json")
    p.add_argument("--pdf")
    p.add_argument("--pdf-from-html", help="convert an already rendered report.html to --pdf")
    p.add_argument("--institution", default="")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.pdf_from_html:
        if not args.pdf:
            raise InputError("--pdf-from-html needs --pdf")
        html = Path(args.pdf_from_html).read_text()
        with atomic_path(args.pdf) as tmp:
            render.html_to_pdf(html, tmp)
        return 0
    if not args.case:
        raise InputError("give a case.json (or --pdf-from-html)")
    case = render.load_case(args.case)
    html = render.render_html(case, args.institution)
    if args.html:
        with atomic_path(args.html) as tmp:
            tmp.write_text(html)
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(render.report_json(case, args.institution), indent=2) + "\n")
    if args.pdf:
        with atomic_path(args.pdf) as tmp:
            render.html_to_pdf(html, tmp)
    return 0
