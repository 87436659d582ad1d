"""Command line: argument parsing and errors -> messages and exit codes. No science here.

Each subcommand lives in ``bedside/commands/<name>.py`` and exposes ``add_parser(subparsers)`` which
registers itself and sets ``func=run`` (a callable taking the parsed ``argparse.Namespace``).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
import traceback

from bedside import __version__
from bedside.errors import BedsideError, InputError

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
    "fhir",
    "knowledge",
    "check_fastq",
    "cnv",
    "msi",
    "sv",
    "cohort_platform",
    "plan",
    "hpc",
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


def _user_files(argv: list[str]) -> list[str]:
    """Values on the command line that name existing files (for naming the file behind an error that
    does not say which file it came from)."""
    out = []
    for a in argv:
        for v in (a, a.split("=", 1)[-1]):
            if v and not v.startswith("-") and os.path.isfile(v) and v not in out:
                out.append(v)
    return out


def _not_utf8(exc: UnicodeDecodeError, argv: list[str]) -> InputError:
    """Name the command-line file that is not UTF-8 text, with the byte offset and line of the first
    offending byte (found by decoding each file given; the exception itself does not carry the name)."""
    for path in _user_files(argv):
        if path.endswith((".gz", ".bgz", ".bam", ".cram", ".bcf", ".bai", ".tbi", ".csi", ".sqlite", ".db",
                          ".duckdb", ".pdf")):
            continue
        try:
            with open(path, "rb") as fh:
                data = fh.read(64 << 20)
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            line = data.count(b"\n", 0, bad.start) + 1
            return InputError(f"not UTF-8 text: byte 0x{data[bad.start]:02x} at byte offset {bad.start}; "
                              "save the file as UTF-8", path=path, line=line)
        except OSError:
            continue
    return InputError(f"an input file is not UTF-8 text ({exc.reason} at byte offset {exc.start}); "
                      "save it as UTF-8")


def _report(command: str, exc: BedsideError) -> int:
    print(f"bedside {command}: error: {exc}", file=sys.stderr)
    if exc.detail:  # the tool's own text, for the log
        print("  " + exc.detail.strip().replace("\n", "\n  "), file=sys.stderr)
    return exc.exit_code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from bedside.commands.cohort_platform import route

    argv = route(argv)  # `bedside cohort qc|query|...` -> the Hail cohort platform; `bedside cohort CASES` stays
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    command = args.command
    try:
        rc = args.func(args)
    except BedsideError as exc:
        return _report(command, exc)
    except UnicodeDecodeError as exc:
        return _report(command, _not_utf8(exc, argv))
    except OSError as exc:  # a file the user named cannot be read or written
        if exc.errno in (errno.EPIPE,):
            return 141
        where = exc.filename if exc.filename is not None else None
        return _report(command, InputError(f"cannot access: {exc.strerror or exc}", path=where))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: short message, the traceback with --verbose
        if args.verbose or os.environ.get("BEDSIDE_DEBUG"):
            traceback.print_exc()
        print(f"bedside {command}: internal error: {type(exc).__name__}: {exc} (a bug: please report it "
              "with the command line; -v shows the traceback)", file=sys.stderr)
        return 1
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
