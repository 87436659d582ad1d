"""`bedside tmb`: tumor mutational burden from a somatic VCF and the tumor's coverage."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from bedside.calling.somatic import compute_tmb
from bedside.commands._util import atomic_path

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "tmb", help="tumor mutational burden (PASS somatic SNVs+indels per callable Mb)",
        description="TMB = PASS somatic SNVs and indels (coding and non-coding) at positions where the "
                    "tumor depth >= --min-depth, divided by the number of such positions in Mb. Coverage: "
                    "mosdepth per-base BED(.gz) or quantized BED (a bin counts when its lower bound >= "
                    "--min-depth).")
    p.add_argument("--vcf", required=True, type=Path, help="somatic VCF (bedside somatic)")
    p.add_argument("--coverage", required=True, type=Path, help="tumor mosdepth per-base/quantized BED(.gz)")
    p.add_argument("--min-depth", type=int, default=20, help="callable when depth >= this [20]")
    p.add_argument("--out", required=True, type=Path, help="output JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    res = compute_tmb(args.vcf, args.coverage, args.min_depth)
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(res, indent=2) + "\n")
    log.info("TMB %s: %s mutations / %s callable bp = %s per Mb", args.vcf, res["count"], res["callable_bp"],
             res["tmb_per_mb"])
    return 0
