"""``bedside check-fastq``: FASTQ integrity (gzip, records, >= 1 read, mate parity), optionally against
what fastp read.

Used by the workflow's fastp rule, because fastp 0.23.2 exits 0 on a truncated gzip input.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from bedside.commands._util import atomic_path
from bedside.errors import InputError
from bedside.io.fastq import check_pair


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-fastq", help="check FASTQ integrity and read-1/read-2 parity",
        description="Read each FASTQ (plain or gzip) to the end: a truncated or corrupt gzip, a malformed "
                    "record, an empty file, or read 1 and read 2 differing in read count or read names is "
                    "an error naming the file and the record (exit 2).")
    p.add_argument("r1", help="read 1 FASTQ (or a single-end FASTQ)")
    p.add_argument("r2", nargs="?", help="read 2 FASTQ")
    p.add_argument("--fastp-json", help="fastp JSON report of the same files: its read counts must match")
    p.add_argument("--out", help="write the read and base counts as JSON")
    p.set_defaults(func=run)


def _fastp_reads(path: str) -> tuple[int | None, int | None]:
    try:
        with open(path) as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the fastp JSON report: {exc}", path=path) from exc
    if not isinstance(doc, dict):
        raise InputError("not a fastp JSON report", path=path)

    def reads(key: str) -> int | None:
        section = doc.get(key)
        return section.get("total_reads") if isinstance(section, dict) else None

    r1 = reads("read1_before_filtering")
    if r1 is None:
        summary = (doc.get("summary") or {}).get("before_filtering") or {}
        if "total_reads" not in summary:
            raise InputError("fastp JSON report has no before_filtering read count", path=path)
        return summary["total_reads"], None
    return r1, reads("read2_before_filtering")


def run(args: argparse.Namespace) -> int:
    stats = check_pair(args.r1, args.r2)
    if args.fastp_json:
        fp1, fp2 = _fastp_reads(args.fastp_json)
        if fp2 is None:  # only the summary: read 1 + read 2
            expected, seen = sum(s.reads for s in stats), fp1
        else:
            expected, seen = tuple(s.reads for s in stats), (fp1, fp2)[:len(stats)]
        if seen != expected:
            raise InputError(f"fastp read {seen} reads but the FASTQ files hold {expected}: fastp did not "
                             f"read the whole input ({', '.join(s.path for s in stats)})",
                             path=args.fastp_json)
    summary = {"files": [asdict(s) for s in stats]}
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(summary, indent=2) + "\n")
    for s in stats:
        print(f"ok: {s.path}: {s.reads} reads, {s.bases} bases")
    return 0
