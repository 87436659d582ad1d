"""`bedside germline ...`: germline calling (single sample or joint), gVCF, joint genotyping of gVCFs,
gathering chunks, and genotyping at pharmacogene positions."""

from __future__ import annotations

import argparse
import logging

from bedside.calling import germline as g
from bedside.errors import InputError
from bedside.pgx import positions as pgx_positions
from bedside.tools import atomic_indexed

log = logging.getLogger(__name__)


def _atomic_with_index(out: str, fn) -> None:
    """Write ``out`` and its index atomically: both appear only if ``fn(tmp)`` succeeds."""
    with atomic_indexed(out) as tmp:
        fn(str(tmp))


def _params(args) -> g.GermlineParams:
    caller = getattr(args, "caller", "bcftools")
    model = getattr(args, "filter_model", "hand")
    if model == "hand" or caller != "both":  # the model needs freebayes agreement: hand thresholds
        if model not in ("hand", "default"):
            raise InputError(f"--filter-model needs --caller both (got --caller {caller})")
        model = ""
    return g.GermlineParams(min_qual=args.min_qual, min_depth=args.min_depth, caller=caller,
                            keep_filtered=getattr(args, "keep_filtered", False), filter_model=model,
                            median_depth=getattr(args, "median_depth", 0.0),
                            assembly=getattr(args, "assembly", False))


def run_call(args) -> int:
    params = _params(args)
    result = {}

    def work(tmp):
        result.update(g.call_germline(args.bam, args.ref, tmp, params, region=args.region,
                                      targets=args.targets_file))

    _atomic_with_index(args.out, work)
    log.info("germline call %s: %s", args.out, result)
    return 0


def run_gvcf(args) -> int:
    params = g.GermlineParams(min_depth=args.min_depth, caller="bcftools")
    _atomic_with_index(args.out, lambda tmp: g.call_gvcf(args.bam, args.ref, tmp, params,
                                                         region=args.region,
                                                         targets=args.targets_file))
    return 0


def run_joint(args) -> int:
    params = g.GermlineParams(min_qual=args.min_qual, min_depth=args.min_depth, caller="bcftools")
    _atomic_with_index(args.out, lambda tmp: g.joint_genotype(args.gvcf, args.ref, tmp, params,
                                                              region=args.region))
    return 0


def run_gather(args) -> int:
    _atomic_with_index(args.out, lambda tmp: g.gather(args.chunks, tmp))
    return 0


def run_positions(args) -> int:
    positions = pgx_positions.definition_positions(args.definitions)
    result = {}

    def work(tmp):
        result.update(pgx_positions.genotype_positions(args.bam, args.ref, positions, tmp,
                                           min_depth=args.min_depth))

    _atomic_with_index(args.out, work)
    log.info("genotype-positions %s: %s", args.out, result)
    return 0


def _common(p: argparse.ArgumentParser, qual: bool = True) -> None:
    p.add_argument("--ref", required=True, help="reference FASTA (faidx-indexed)")
    p.add_argument("--region", nargs="+", metavar="REGION",
                   help="restrict to chr:start-end (1-based inclusive); several = one chunk of packed contigs")
    p.add_argument("--targets-file", help="BED restricting calling (panels, exomes)")
    if qual:
        p.add_argument("--min-qual", type=float, default=20.0, help="minimum QUAL [20]")
    p.add_argument("--min-depth", type=int, default=5,
                   help="minimum depth (FORMAT/DP) of a carrier [5]")
    p.add_argument("--out", required=True, help="output .bcf or .vcf.gz (indexed)")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("germline", help="germline variant calling")
    sub = p.add_subparsers(dest="germline_command", metavar="SUBCOMMAND", required=True)

    c = sub.add_parser("call", help="call germline variants of one or more samples (jointly)")
    c.add_argument("--bam", nargs="+", required=True, help="indexed BAM/CRAM(s); sample = read-group SM")
    _common(c)
    c.add_argument("--caller", choices=g.CALLERS, default="both",
                   help="bcftools, freebayes, or both (bcftools calls confirmed by freebayes) [both]")
    c.add_argument("--keep-filtered", action="store_true",
                   help="keep failing records with FILTER set instead of dropping them")
    c.add_argument("--filter-model", default="default", metavar="default|hand|MODEL.json",
                   help="filter: 'default' = the shipped learned model (INFO/GMP, FILTER LowModelScore; "
                        "--min-qual unused, --min-depth a floor), 'hand' = the hand thresholds, or a model "
                        "JSON trained with benchmarks/germline_heldout.py train; with --caller other than "
                        "both the hand thresholds apply [default]")
    c.add_argument("--median-depth", type=float, default=0.0,
                   help="the sample's median coverage, the filter model's depth reference; 0 = the median "
                        "depth of the region's calls (scattered chunks may then differ slightly) [0]")
    c.add_argument("--no-assembly", dest="assembly", action="store_false",
                   help="do not re-call indel regions by local reassembly (one BAM only; with several BAMs "
                        "the pileup calls stand) [reassembly on]")
    c.set_defaults(func=run_call)

    v = sub.add_parser("gvcf", help="per-sample genotype-likelihood gVCF (bcftools mpileup -g)")
    v.add_argument("--bam", required=True)
    _common(v, qual=False)
    v.set_defaults(func=run_gvcf)

    j = sub.add_parser("joint", help="joint genotyping of per-sample gVCFs into one multi-sample VCF")
    j.add_argument("--gvcf", nargs="+", required=True)
    j.add_argument("--ref", required=True)
    j.add_argument("--region", nargs="+", metavar="REGION")
    j.add_argument("--min-qual", type=float, default=20.0)
    j.add_argument("--min-depth", type=int, default=5)
    j.add_argument("--out", required=True)
    j.set_defaults(func=run_joint)

    ga = sub.add_parser("gather", help="concatenate per-chunk calls into one sorted indexed file")
    ga.add_argument("chunks", nargs="+")
    ga.add_argument("--out", required=True)
    ga.set_defaults(func=run_gather)

    gp = sub.add_parser("genotype-positions",
                        help="genotype every position of PharmCAT allele definitions (reference calls too)")
    gp.add_argument("--bam", required=True)
    gp.add_argument("--ref", required=True)
    gp.add_argument("--definitions", required=True, help="directory of <GENE>_translation.json")
    gp.add_argument("--min-depth", type=int, default=5)
    gp.add_argument("--out", required=True)
    gp.set_defaults(func=run_positions)

    p.set_defaults(func=lambda args: p.print_help() or 1)
