"""`bedside somatic`: call somatic SNVs/indels for a tumor/normal pair (or a tumor alone)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from bedside.calling.somatic import call_somatic
from bedside.calling.somatic_core import Params

log = logging.getLogger(__name__)
_D = Params()


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "somatic", help="call somatic variants (tumor/normal or tumor-only) with the array core",
        description="Somatic SNV/indel calling from bcftools mpileup allele counts: MuTect-style TLOD/NLOD "
                    "and filters; writes a bgzipped, tabix-indexed VCF (samples TUMOR then NORMAL).")
    p.add_argument("--tumor", required=True, type=Path, help="tumor BAM (indexed, one SM)")
    p.add_argument("--normal", type=Path, help="matched normal BAM (required unless --tumor-only)")
    p.add_argument("--ref", required=True, type=Path, help="reference FASTA (with .fai)")
    p.add_argument("--out", required=True, type=Path, help="output VCF (.vcf.gz)")
    p.add_argument("--region", help="chr:start-end to call")
    p.add_argument("--regions-bed", type=Path, help="BED of regions to call")
    p.add_argument("--pon", type=Path, help="panel of normals VCF (bedside pon)")
    p.add_argument("--population", type=Path, help="population VCF with INFO/AF, normalised (bcftools norm -f REF), indexed; AF > --max-population-af -> germline_risk")
    p.add_argument("--tumor-only", action="store_true", help="call without a matched normal")
    p.add_argument("--patient", help="patient both samples must belong to (else inferred from SM names)")
    p.add_argument("--samples", type=Path,
                   help="sample sheet (samples.tsv): tumor and normal SM must be listed under one patient")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--min-vaf", type=float, default=_D.min_vaf, help=f"low_vaf below this [{_D.min_vaf}]")
    p.add_argument("--tlod", type=float, default=_D.tlod_min, help=f"TLOD threshold [{_D.tlod_min}]")
    p.add_argument("--nlod", type=float, default=_D.nlod_min, help=f"NLOD threshold [{_D.nlod_min}]")
    p.add_argument("--min-depth", type=int, default=_D.min_tumor_depth,
                   help=f"low_depth below this tumor depth [{_D.min_tumor_depth}]")
    p.add_argument("--min-normal-depth", type=int, default=_D.min_normal_depth)
    p.add_argument("--max-population-af", type=float, default=_D.max_population_af)
    p.add_argument("--min-alt", type=int, default=2, help="tumor alt reads for a candidate [2]")
    p.add_argument("--emit-lod", type=float, default=3.0, help="write candidates with TLOD >= this [3.0]")
    p.add_argument("--min-bq", type=int, default=13, help="minimum base quality (mpileup -Q) [13]")
    p.add_argument("--min-mq", type=int, default=20, help="minimum mapping quality (mpileup -q) [20]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    params = Params(tlod_min=args.tlod, nlod_min=args.nlod, min_vaf=args.min_vaf,
                    min_tumor_depth=args.min_depth, min_normal_depth=args.min_normal_depth,
                    max_population_af=args.max_population_af)
    sample_patients = None
    if args.samples:
        from bedside.io.sheets import load_samples

        sample_patients = {name: s.patient for name, s in load_samples(args.samples).items()}
    t0 = time.perf_counter()
    res = call_somatic(args.tumor, args.normal, args.ref, args.out, region=args.region,
                       regions_bed=args.regions_bed, pon=args.pon, population=args.population,
                       tumor_only=args.tumor_only, threads=args.threads, patient=args.patient, params=params,
                       min_alt=args.min_alt, emit_lod=args.emit_lod, min_bq=args.min_bq, min_mq=args.min_mq,
                       sample_patients=sample_patients, sheet=str(args.samples) if args.samples else None)
    log.info("somatic %s vs %s: %d candidates, %d records, %d PASS -> %s (%.1f s)", res.tumor_sample,
             res.normal_sample or "(tumor-only)", res.n_candidates, res.n_records, res.n_pass, args.out,
             time.perf_counter() - t0)
    return 0
