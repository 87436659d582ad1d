"""Command line: argument parsing and errors -> messages and exit codes. No science here.

Each subcommand lives in ``bedside/commands/<name>.py`` and exposes ``add_parser(subparsers)`` which
registers itself and sets ``func=run`` (a callable taking the parsed ``argparse.Namespace``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bedside import __version__
from bedside.errors import BedsideError

# module name in bedside.commands -> registered in this order
COMMANDS = [
    "demo_data",
    "validate",
    "somatic",
    "pon",
    "tmb",
    "germline",
    "annotate",
    "tier",
    "pgx",
    "clinical",
    "case",
    "report",
    "cohort",
    "qc",
    "bench",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bedside",
        description="Bedside: sequencing reads to a patient treatment report (research use only).",
    )
    parser.add_argument("--version", action="version", version=f"bedside {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"bedside.commands.{name}")
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name == f"bedside.commands.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        rc = args.func(args)
    except BedsideError as exc:
        print(f"bedside {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
