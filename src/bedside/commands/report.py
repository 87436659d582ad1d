"""`bedside report`: render case.json as HTML (offline), report.json (typed, schema-checked) and PDF.

One case: ``bedside report case.json --html H --json J [--pdf P] [--language ko] [--cohort C1.json ...]``.
Many cases in one process (cohorts, benchmarks): ``bedside report C1.json C2.json ... --out-dir DIR
[--jobs N]`` writes DIR/<patient>/report.html and report.json.
Every output of a case is written only once all of them rendered: a bad case record leaves none behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bedside.commands._util import atomic_path
from bedside.errors import InputError
from bedside.report import render


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="render case records as HTML / JSON / PDF")
    p.add_argument("case", nargs="*", help="case.json (bedside case); several with --out-dir")
    p.add_argument("--html", help="report.html (one case)")
    p.add_argument("--json", help="report.json (one case): typed content, checked against its schema")
    p.add_argument("--pdf", help="report.pdf (one case; A4, WeasyPrint)")
    p.add_argument("--pdf-from-html", help="convert an already rendered report.html to --pdf")
    p.add_argument("--out-dir", help="render every case given into OUT_DIR/<patient>/report.{html,json}")
    p.add_argument("--jobs", type=int, default=1, help="processes for --out-dir (default 1)")
    p.add_argument("--institution", default="")
    p.add_argument("--language", default="en", choices=render.LANGUAGES,
                   help="language of the report's fixed text (default en)")
    p.add_argument("--cohort", nargs="+", default=[], metavar="CASE_JSON",
                   help="the cohort's case.json files, for the TMB-against-cohort plot")
    p.set_defaults(func=run)


def _render_one(case_path: str, out: dict[str, str | None] | None, institution: str, language: str,
                cohort_tmb: list[dict], out_dir: str | None = None) -> str:
    case = render.load_case(case_path)
    content, html = render.build(case, institution, language, cohort_tmb, source=case_path)
    if out is None:  # batch: OUT_DIR/<patient>/report.{html,json}
        pid = case.patient_id
        if not pid or "/" in pid or "\\" in pid or pid in (".", ".."):
            raise InputError(f"patient_id {case.patient_id!r} cannot name an output folder", path=case_path)
        d = Path(out_dir or ".") / case.patient_id
        out = {"html": str(d / "report.html"), "json": str(d / "report.json")}
    with contextlib.ExitStack() as stack:
        # all outputs go to temporary files first; they replace the real ones only if every one succeeded
        if out.get("html"):
            stack.enter_context(atomic_path(out["html"])).write_text(html, encoding="utf-8")
        if out.get("json"):
            stack.enter_context(atomic_path(out["json"])).write_text(
                json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if out.get("pdf"):
            render.html_to_pdf(html, stack.enter_context(atomic_path(out["pdf"])))
    return case.patient_id


def _batch_one(job: tuple[str, str, str, str, list[dict]]) -> str:
    case_path, out_dir, institution, language, cohort_tmb = job
    return _render_one(case_path, None, institution, language, cohort_tmb, out_dir)


def run(args: argparse.Namespace) -> int:
    if args.pdf_from_html:
        if not args.pdf:
            raise InputError("--pdf-from-html needs --pdf")
        html = Path(args.pdf_from_html).read_text(encoding="utf-8")
        with atomic_path(args.pdf) as tmp:
            render.html_to_pdf(html, tmp)
        return 0
    if not args.case:
        raise InputError("give a case.json (or --pdf-from-html)")
    cohort_tmb = render.load_cohort_tmb(args.cohort) if args.cohort else []
    if args.out_dir:
        if args.html or args.json or args.pdf:
            raise InputError("--out-dir writes <patient>/report.{html,json}; drop --html/--json/--pdf")
        jobs = [(c, args.out_dir, args.institution, args.language, cohort_tmb) for c in args.case]
        workers = max(1, min(args.jobs, len(jobs), os.cpu_count() or 1))
        if workers == 1:
            for j in jobs:
                _batch_one(j)
        else:
            render.warm(args.language)  # workers forked from here inherit fonts, templates, schema
            with ProcessPoolExecutor(workers) as pool:
                list(pool.map(_batch_one, jobs, chunksize=max(1, len(jobs) // (workers * 8))))
        return 0
    if len(args.case) > 1:
        raise InputError("several case records need --out-dir")
    if not (args.html or args.json or args.pdf):
        raise InputError("nothing to write: give --html, --json and/or --pdf")
    _render_one(args.case[0], {"html": args.html, "json": args.json, "pdf": args.pdf},
                args.institution, args.language, cohort_tmb)
    return 0
