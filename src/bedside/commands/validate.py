"""`bedside validate`: check sample sheets, the clinical table and a GFF3 before a run."""

from __future__ import annotations

import argparse
import shutil

from bedside.tools import atomic_path
from bedside.io import gff3, sheets


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check sample sheets / clinical table / GFF3")
    vsub = p.add_subparsers(dest="what", required=True)
    s = vsub.add_parser("sheets", help="samples.tsv + units.tsv (+ clinical table)")
    s.add_argument("--samples", required=True)
    s.add_argument("--units", required=True)
    s.add_argument("--clinical", help="clinical TSV: every patient must be present")
    s.add_argument("--base", default=".", help="directory FASTQ/BAM paths are relative to")
    s.add_argument("--no-file-check", action="store_true", help="do not check that FASTQs exist")
    s.set_defaults(func=run_sheets)
    g = vsub.add_parser("gff3", help="check a GFF3 and optionally copy it")
    g.add_argument("gff3")
    g.add_argument("--out", help="copy the checked file here")
    g.set_defaults(func=run_gff3)


def run_sheets(args: argparse.Namespace) -> int:
    sheet = sheets.load_sheets(args.samples, args.units, args.base,
                               check_files=not args.no_file_check)
    if args.clinical:
        sheets.check_patients_in_clinical(sheet, sheets.clinical_patient_ids(args.clinical),
                                          args.clinical)
    print(f"ok: {len(sheet.samples)} samples, {len(sheet.units)} units, "
          f"{len(sheet.patients())} patients")
    return 0


def run_gff3(args: argparse.Namespace) -> int:
    counts = gff3.check_gff3(args.gff3)
    if args.out:
        with atomic_path(args.out) as tmp:
            if args.gff3.endswith(".gz"):
                import gzip

                with gzip.open(args.gff3, "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            else:
                shutil.copyfile(args.gff3, tmp)
    print("ok: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0
