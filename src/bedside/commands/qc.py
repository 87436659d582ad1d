"""`bedside qc`: collect QC metrics of a patient's samples and apply the configured gates."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bedside import qc
from bedside.commands._util import atomic_path
from bedside.errors import InputError
from bedside.model import to_dict


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qc", help="QC metrics and gates for one patient (JSON)")
    p.add_argument("--tumor", default="", help="tumor sample name")
    p.add_argument("--normal", default="", help="normal sample name")
    p.add_argument("--samtools-stats", nargs="*", default=[], help="<sample>.samtools_stats.txt")
    p.add_argument("--mosdepth", nargs="*", default=[], help="<sample>.mosdepth.summary.txt")
    p.add_argument("--fastp", nargs="*", default=[], help="fastp JSONs (<sample>.<unit>.json)")
    p.add_argument("--gate", action="append", default=[], metavar="NAME=VALUE",
                   help=f"override a gate; names: {', '.join(qc.DEFAULT_GATES)}")
    p.add_argument("--out", required=True)
    p.set_defaults(func=run)


def _for_sample(paths: list[str], sample: str, suffix: str) -> str | None:
    for p in paths:
        if Path(p).name == f"{sample}{suffix}":
            return p
    return None


def run(args: argparse.Namespace) -> int:
    gates = {}
    for item in args.gate:
        name, _, value = item.partition("=")
        if name not in qc.DEFAULT_GATES:
            raise InputError(f"unknown QC gate '{name}' (known: {', '.join(qc.DEFAULT_GATES)})")
        try:
            gates[name] = float(value)
        except ValueError as exc:
            raise InputError(f"QC gate {name}: not a number: {value!r}") from exc
    metrics = []
    for role, sample in (("tumor", args.tumor), ("normal", args.normal)):
        if not sample:
            continue
        stats_path = _for_sample(args.samtools_stats, sample, ".samtools_stats.txt")
        mos_path = _for_sample(args.mosdepth, sample, ".mosdepth.summary.txt")
        if not stats_path or not mos_path:
            raise InputError(f"no samtools stats / mosdepth summary given for sample {sample}")
        fastp = [qc.parse_fastp(p) for p in args.fastp if Path(p).name.startswith(f"{sample}.")]
        metrics += qc.sample_metrics(sample, role, qc.parse_samtools_stats(stats_path),
                                     qc.parse_mosdepth_summary(mos_path), fastp, gates)
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps([to_dict(m) for m in metrics], indent=2) + "\n")
    return 0
