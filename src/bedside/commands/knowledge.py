"""`bedside knowledge`: knowledge-base maintenance (import a CIViC release into the curated-table format)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bedside.commands._util import atomic_path
from bedside.errors import InputError
from bedside.knowledge.civic import import_civic, write_curated
from bedside.knowledge.oncotree import default_oncotree

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("knowledge", help="knowledge-base maintenance (CIViC import)",
                              description="Knowledge-base maintenance commands.")
    sub = p.add_subparsers(dest="knowledge_command", metavar="SUBCOMMAND", required=True)
    c = sub.add_parser("import-civic", help="turn a CIViC clinical-evidence TSV release into a curated table",
                       description="Import a CIViC ClinicalEvidenceSummaries TSV (monthly release or nightly; CC0) "
                                   "into Bedside's curated knowledge format, recording the release and its date. "
                                   "Only accepted predictive evidence (levels A-D) with an OncoTree-mapped disease "
                                   "and a PubMed source is written; the rest is counted in the file header.")
    c.add_argument("civic_tsv", metavar="CIVIC_TSV", help="e.g. 01-Nov-2026-ClinicalEvidenceSummaries.tsv")
    c.add_argument("--out", required=True, help="curated TSV to write (use it with --knowledge)")
    c.add_argument("--release-date", help="ISO date of the release (default: from a monthly file name; "
                                          "required for nightly files)")
    c.add_argument("--curated", help="curation (import) date to record, ISO (default: today)")
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    src = Path(args.civic_tsv)
    if not src.is_file():
        raise InputError("CIViC TSV not found", path=src)
    for name in ("release_date", "curated"):
        value = getattr(args, name, None)
        if value and not _ISO.match(value):
            raise InputError(f"--{name.replace('_', '-')} {value!r} is not an ISO date (YYYY-MM-DD)")
    tree = default_oncotree()
    result = import_civic(src, tree)
    if args.release_date:
        result.release_date = args.release_date
    if not result.release_date:
        raise InputError("cannot tell the CIViC release date from the file name; give --release-date", path=src)
    with atomic_path(args.out) as tmp:
        n, dropped = write_curated(result, tmp, tree, source_file=src.name, curated=args.curated)
    print(f"{result.release} ({result.release_date}): {n} rows written to {args.out}; "
          f"{result.skipped} skipped at import, {len(dropped)} left out (unmapped disease or no PubMed source)",
          file=sys.stderr)
    for d in dropped[:20]:
        print(f"  left out {d}", file=sys.stderr)
    return 0
