"""`bedside plan`: the scatter plan the workflow will use (chunks from the reference's .fai and the
targets), for an admin sizing a run before submitting it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bedside import plan
from bedside.commands._util import atomic_path
from bedside.errors import InputError


def _size(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number of bp, got {value!r}") from None


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "plan", help="the scatter chunks the workflow would call (from the reference .fai and targets)",
        description="Reads only REF.fai (and the targets BED): the chunks the calling rules scatter over, "
                    "as the workflow computes them (config calling.chunk_size / target_chunks / "
                    "min_chunk_size). Prints a JSON summary; --out writes one chunk per line "
                    "(name, regions).")
    p.add_argument("--fasta", required=True, type=Path, help="reference FASTA (read: its .fai, else one scan)")
    p.add_argument("--targets", type=Path, help="targets BED (panel / exome)")
    p.add_argument("--chunk-size", type=_size, default="auto", help="'auto' or bp [auto]")
    p.add_argument("--target-chunks", type=int, default=plan.DEFAULT_TARGET_CHUNKS,
                   help=f"auto: about this many chunks over the genome [{plan.DEFAULT_TARGET_CHUNKS}]")
    p.add_argument("--min-chunk-size", type=int, default=plan.DEFAULT_MIN_CHUNK,
                   help=f"auto: no chunk smaller than this, bp [{plan.DEFAULT_MIN_CHUNK}]")
    p.add_argument("--out", type=Path, help="write the chunk list (TSV: name, comma-separated regions)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.targets and not args.targets.exists():
        raise InputError("targets BED not found", path=args.targets)
    contigs = plan.contig_lengths(args.fasta)
    chunks = plan.plan_chunks(contigs, args.chunk_size, args.targets, target_chunks=args.target_chunks,
                              min_chunk_size=args.min_chunk_size)
    info = {"chunk_size": (plan.auto_chunk_size(contigs, args.target_chunks, args.min_chunk_size)
                           if args.chunk_size == "auto" else args.chunk_size),
            "mode": "targets" if args.targets else "whole genome", **plan.summary(chunks)}
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text("".join(f"{c.name}\t{','.join(c.samtools)}\n" for c in chunks))
    json.dump(info, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0
