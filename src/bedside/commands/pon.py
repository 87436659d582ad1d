"""`bedside pon`: build a panel of normals (sites with alt evidence in >= 2 normals)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bedside.calling.somatic import build_pon

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "pon", help="build a panel of normals VCF from normal BAMs",
        description="Pile up normal BAMs (bcftools mpileup) and keep alleles with alt evidence (>= "
                    "--min-alt reads) in >= --min-normals normals; bgzipped, tabix-indexed VCF.")
    p.add_argument("--normals", required=True, nargs="+", type=Path, help="normal BAMs (indexed)")
    p.add_argument("--ref", required=True, type=Path, help="reference FASTA (with .fai)")
    p.add_argument("--out", required=True, type=Path, help="output VCF (.vcf.gz)")
    p.add_argument("--min-normals", type=int, default=2, help="normals with alt evidence [2]")
    p.add_argument("--min-alt", type=int, default=2, help="alt reads for evidence in one normal [2]")
    p.add_argument("--min-vaf", type=float, default=0.0, help="alt fraction for evidence [0]")
    p.add_argument("--region", help="chr:start-end")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    n = build_pon(args.normals, args.ref, args.out, min_normals=args.min_normals, min_alt=args.min_alt,
                  min_vaf=args.min_vaf, threads=args.threads, region=args.region)
    log.info("panel of normals from %d BAMs: %d sites -> %s", len(args.normals), n, args.out)
    return 0
