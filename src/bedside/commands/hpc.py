"""`bedside hpc`: Slurm preflight of a partition, the profile's per-attempt resources, the per-rule table
(the same as ``python -m bedside.hpc``; docs/hpc.md)."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "hpc", help="Slurm: preflight a partition, write a site profile, per-rule resources (docs/hpc.md)",
        description="bedside hpc preflight --partition P [--account A] [--write-profile DIR] | growth "
                    "[--write] | table   (see `bedside hpc -- --help`)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bedside.hpc.__main__ import main

    rest = [a for a in args.rest if a != "--"] if args.rest[:1] == ["--"] else args.rest
    return main(rest or ["--help"])
