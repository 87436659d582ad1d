"""`bedside somatic`: call somatic SNVs/indels for a tumor/normal pair (or a tumor alone)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from bedside.calling.mutect_import import CALLERS, import_mutect2
from bedside.calling.somatic import DEVICES, array_module, call_somatic
from bedside.calling.somatic_core import Params
from bedside.errors import InputError

log = logging.getLogger(__name__)
_D = Params()


def _filter_args(p: argparse.ArgumentParser) -> None:
    """The somatic filter thresholds (one set for calling and for importing another caller's VCF)."""
    p.add_argument("--min-vaf", type=float, default=_D.min_vaf, help=f"low_vaf below this [{_D.min_vaf}]")
    p.add_argument("--tlod", type=float, default=_D.tlod_min, help=f"TLOD threshold [{_D.tlod_min}]")
    p.add_argument("--nlod", type=float, default=_D.nlod_min, help=f"NLOD threshold [{_D.nlod_min}]")
    p.add_argument("--min-depth", type=int, default=_D.min_tumor_depth,
                   help=f"low_depth below this tumor depth [{_D.min_tumor_depth}]")
    p.add_argument("--min-normal-depth", type=int, default=_D.min_normal_depth)
    p.add_argument("--max-population-af", type=float, default=_D.max_population_af)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "somatic", help="call somatic variants (tumor/normal or tumor-only) with the array core",
        description="Somatic SNV/indel calling from bcftools mpileup allele counts: MuTect-style TLOD/NLOD "
                    "and filters; writes a bgzipped, tabix-indexed VCF (samples TUMOR then NORMAL).")
    p.add_argument("--tumor", type=Path, help="tumor BAM (indexed, one SM; required)")
    p.add_argument("--normal", type=Path, help="matched normal BAM (required unless --tumor-only)")
    p.add_argument("--ref", type=Path, help="reference FASTA (with .fai; required)")
    p.add_argument("--out", type=Path, help="output VCF (.vcf.gz; required)")
    p.add_argument("--region", nargs="+", metavar="REGION",
                   help="chr:start-end to call; several = one chunk of packed small contigs")
    p.add_argument("--regions-bed", type=Path, help="BED of regions to call")
    p.add_argument("--pon", type=Path, help="panel of normals VCF (bedside pon)")
    p.add_argument("--population", type=Path, help="population VCF with INFO/AF, normalised (bcftools norm -f REF), indexed; AF > --max-population-af -> germline_risk")
    p.add_argument("--tumor-only", action="store_true", help="call without a matched normal")
    p.add_argument("--patient", help="patient both samples must belong to (else inferred from SM names)")
    p.add_argument("--samples", type=Path,
                   help="sample sheet (samples.tsv): tumor and normal SM must be listed under one patient")
    p.add_argument("--threads", type=int, default=1)
    _filter_args(p)
    p.add_argument("--min-alt", type=int, default=2, help="tumor alt reads for a candidate [2]")
    p.add_argument("--emit-lod", type=float, default=3.0, help="write candidates with TLOD >= this [3.0]")
    p.add_argument("--min-bq", type=int, default=13, help="minimum base quality (mpileup -Q) [13]")
    p.add_argument("--min-mq", type=int, default=20, help="minimum mapping quality (mpileup -q) [20]")
    p.add_argument("--device", choices=DEVICES, default="cpu",
                   help="where the array core scores the candidates: cpu (NumPy) or gpu (CuPy on a CUDA "
                        "device; exit 2 naming what is missing when there is none) [cpu]")
    p.set_defaults(func=run)
    # `bedside somatic import`: another caller's VCF (Mutect2, e.g. Parabricks mutectcaller) -> this layout
    sub = p.add_subparsers(dest="somatic_action", metavar="{import}")
    imp = sub.add_parser(
        "import", help="turn a Mutect2 VCF (GATK or Parabricks mutectcaller) into the bedside somatic VCF",
        description="Re-write a Mutect2 VCF in the layout `bedside somatic` writes (samples TUMOR then NORMAL, "
                    "GT:AD:AF:DP, one record per alt allele) with the bedside filters applied to Mutect2's "
                    "allele depths, strand counts and base qualities (same thresholds as `bedside somatic`); "
                    "Mutect2's own TLOD/NLOD are kept as INFO/MUTECT2_TLOD, MUTECT2_NLOD.")
    imp.add_argument("--caller", required=True, choices=CALLERS, help="the caller that wrote --vcf")
    imp.add_argument("--vcf", required=True, type=Path, help="the caller's VCF (.vcf or .vcf.gz)")
    imp.add_argument("--ref", required=True, type=Path, help="reference FASTA (with .fai) the VCF is on")
    imp.add_argument("--out", required=True, type=Path, help="output VCF (.vcf.gz, tabix-indexed)")
    imp.add_argument("--tumor-sample", help="tumor sample in the VCF [its ##tumor_sample header line]")
    imp.add_argument("--normal-sample", help="normal sample in the VCF [its ##normal_sample header line]")
    imp.add_argument("--tumor-only", action="store_true", help="the VCF was called without a normal")
    imp.add_argument("--pon", type=Path, help="panel of normals VCF (bedside pon)")
    imp.add_argument("--population", type=Path, help="population VCF with INFO/AF (as for bedside somatic)")
    imp.add_argument("--patient", help="patient the samples must belong to")
    imp.add_argument("--samples", type=Path, help="sample sheet: the VCF's samples must be one patient's")
    _filter_args(imp)
    imp.add_argument("--device", choices=DEVICES, default="cpu", help="cpu (NumPy) or gpu (CuPy) [cpu]")
    imp.set_defaults(func=run_import)


def _params(args: argparse.Namespace) -> Params:
    return Params(tlod_min=args.tlod, nlod_min=args.nlod, min_vaf=args.min_vaf,
                  min_tumor_depth=args.min_depth, min_normal_depth=args.min_normal_depth,
                  max_population_af=args.max_population_af)


def _sheet_patients(args: argparse.Namespace) -> dict[str, str] | None:
    if not args.samples:
        return None
    from bedside.io.sheets import load_samples

    return {name: s.patient for name, s in load_samples(args.samples).items()}


def run_import(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    res = import_mutect2(args.vcf, args.ref, args.out, tumor_sample=args.tumor_sample,
                         normal_sample=args.normal_sample, tumor_only=args.tumor_only, pon=args.pon,
                         population=args.population, params=_params(args),
                         sample_patients=_sheet_patients(args), sheet=str(args.samples) if args.samples else None,
                         patient=args.patient, xp=array_module(args.device))
    log.info("somatic import (%s) %s vs %s: %d records, %d PASS -> %s (%.1f s)", args.caller, res.tumor_sample,
             res.normal_sample or "(tumor-only)", res.n_records, res.n_pass, args.out, time.perf_counter() - t0)
    return 0


def run(args: argparse.Namespace) -> int:
    missing = [f"--{k}" for k in ("tumor", "ref", "out") if getattr(args, k) is None]
    if missing:
        raise InputError(f"the following arguments are required: {', '.join(missing)}")
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
                       sample_patients=sample_patients, sheet=str(args.samples) if args.samples else None,
                       device=args.device)
    log.info("somatic %s vs %s: %d candidates, %d records, %d PASS -> %s (%.1f s)", res.tumor_sample,
             res.normal_sample or "(tumor-only)", res.n_candidates, res.n_records, res.n_pass, args.out,
             time.perf_counter() - t0)
    return 0
