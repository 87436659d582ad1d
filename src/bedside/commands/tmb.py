"""`bedside tmb`: tumor mutational burden over the callable coding territory, with its assessability."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from bedside import biomarkers
from bedside.commands._util import atomic_path
from bedside.errors import InputError

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "tmb",
        help="tumor mutational burden (PASS somatic coding SNVs+indels per callable coding Mb)",
        description="TMB = PASS somatic SNVs, MNVs and short indels in coding sequence (GFF3 CDS, within "
        "--targets when given; synonymous included) at positions where the tumor depth >= "
        "--min-depth, per Mb of that callable coding territory. Assessable only when the "
        "territory reaches --min-coding-mb (default 0.8); otherwise 'not_assessable' with the "
        "reason. Class High at >= --high (default 10 mut/Mb, FDA TMB-H, KEYNOTE-158), with an "
        "exact Poisson 95%% CI. Coverage: mosdepth per-base BED(.gz) or quantized BED (a bin "
        "counts when its lower bound >= --min-depth). With --write-coding-bed only the coding "
        "territory BED (gene names in column 4, for mosdepth --by) is written.",
    )
    p.add_argument("--vcf", type=Path, help="somatic VCF (bedside somatic)")
    p.add_argument("--coverage", type=Path, help="tumor mosdepth per-base/quantized BED(.gz)")
    p.add_argument("--gff3", type=Path, help="gene annotation (coding territory = CDS features)")
    p.add_argument("--targets", type=Path, help="assay target BED (panel / exome); coding ∩ targets")
    p.add_argument("--min-depth", type=int, default=20, help="callable when depth >= this [20]")
    p.add_argument(
        "--min-coding-mb",
        type=float,
        default=biomarkers.MIN_CODING_MB,
        help=f"minimum callable coding territory for an assessable TMB [{biomarkers.MIN_CODING_MB}]",
    )
    p.add_argument(
        "--high",
        type=float,
        default=biomarkers.TMB_HIGH,
        help=f"TMB-High threshold in mut/Mb [{biomarkers.TMB_HIGH:g}]",
    )
    p.add_argument(
        "--write-coding-bed",
        type=Path,
        metavar="BED",
        help="write the coding territory BED (needs --gff3) and exit",
    )
    p.add_argument("--out", type=Path, help="output JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.write_coding_bed:
        if not args.gff3:
            raise InputError("--write-coding-bed needs --gff3")
        bp = biomarkers.write_coding_bed(args.gff3, args.write_coding_bed, args.targets)
        log.info("coding territory %s: %d bp", args.write_coding_bed, bp)
        return 0
    missing = [f"--{n}" for n in ("vcf", "coverage", "out") if getattr(args, n) is None]
    if missing:
        raise InputError("missing required option(s): " + ", ".join(missing))
    if args.min_coding_mb <= 0:
        raise InputError(f"--min-coding-mb must be > 0, got {args.min_coding_mb}")
    res = biomarkers.compute_tmb(
        args.vcf,
        args.coverage,
        gff3=args.gff3,
        targets=args.targets,
        min_depth=args.min_depth,
        min_mb=args.min_coding_mb,
        threshold=args.high,
    )
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(res, indent=2) + "\n")
    b = res["biomarker"]
    log.info(
        "TMB %s: %s coding mutations / %s callable coding bp: %s",
        args.vcf,
        res.get("coding_count"),
        res.get("coding_callable_bp"),
        b.get("value") if b["status"] == "assessable" else b["reason"],
    )
    return 0
