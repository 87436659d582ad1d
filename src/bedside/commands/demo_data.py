"""``bedside demo-data DIR [--seed N]``: write the deterministic synthetic demo build."""

from __future__ import annotations

import argparse
import logging

from bedside.demo.generate import DEFAULT_SEED, generate

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "demo-data",
        help="generate the synthetic demo (reference, GFF3, resources, truth, FASTQ, sample sheets)",
        description="Write a deterministic synthetic demo build to DIR: reference/genome.fa + genes.gff3, "
        "resources/ (population, ClinVar-style VCFs, PharmCAT-format allele definitions), truth/ VCFs, "
        "fastq/ reads simulated with ART, samples.tsv, units.tsv, clinical.tsv, README.md and "
        "MANIFEST.json. The same seed gives byte-identical files.",
    )
    p.add_argument("outdir", metavar="DIR", help="output folder (new, empty, or a previous demo build)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--threads", type=int, default=2, help="parallel read simulations (default 2)")
    p.add_argument("--no-reads", action="store_true", help="skip FASTQ simulation (reference, resources, truth only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    manifest = generate(args.outdir, args.seed, threads=args.threads, reads=not args.no_reads)
    log.info("wrote %d files (seed %d) to %s", len(manifest["files"]), manifest["seed"], args.outdir)
    return 0
