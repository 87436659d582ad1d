"""`bedside cnv`: copy number (CNVkit), purity/ploidy, allele-specific copy number and gene-level calls."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bedside.calling import cnv

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "cnv", help="copy number with purity/ploidy, LOH and gene-level calls (CNVkit segmentation)",
        description="Binned depth ratios (CNVkit coverage/reference/fix: GC and repeat-content corrected), CBS "
                    "segmentation split further on B-allele frequencies at the normal's heterozygous SNPs, a "
                    "purity/ploidy grid fit with allele-specific integer copy numbers, and gene-level calls. "
                    "Writes DIR/segments.tsv, DIR/genes.tsv, DIR/cnv.json and DIR/cnv.png.")
    p.add_argument("--tumor", required=True, type=Path, help="tumor BAM (indexed, one SM)")
    p.add_argument("--normal", type=Path, help="matched normal BAM (else tumor-only against --pon or a flat "
                                                 "reference; purity then needs --germline-vcf)")
    p.add_argument("--pon", type=Path, nargs="+", default=[], help="normal BAMs for a tumor-only reference")
    p.add_argument("--ref", required=True, type=Path, help="reference FASTA (with .fai)")
    p.add_argument("--targets", type=Path, help="BED of targets (panel/exome); bins are targets split to --bin-size")
    p.add_argument("--region", nargs="+",
                   help="chr or chr:start-end (1-based) to restrict to; with --coverage-out, one or several: "
                        "the chunk's regions (the genome-wide bins starting in them)")
    p.add_argument("--gff3", type=Path, help="gene models for gene-level calls (canonical transcript spans)")
    p.add_argument("--germline-vcf", type=Path, help="germline SNP sites to genotype (default: call them)")
    p.add_argument("--somatic-vcf", type=Path, help="somatic VCF: purity from clonal VAFs is compared with the fit")
    p.add_argument("--samples", type=Path, help="sample sheet: tumor and normal must share a patient")
    p.add_argument("--patient", help="patient the samples must belong to")
    p.add_argument("--bin-size", type=int, default=cnv.BIN_SIZE, help=f"bin size in bp [{cnv.BIN_SIZE}]")
    p.add_argument("--min-bins", type=int, default=cnv.MIN_BINS,
                   help=f"bins needed for a purity estimate [{cnv.MIN_BINS}]")
    p.add_argument("--min-snps", type=int, default=cnv.MIN_SNPS,
                   help=f"heterozygous SNPs needed for a purity estimate [{cnv.MIN_SNPS}]")
    p.add_argument("--amp-cn", type=int, default=cnv.AMP_CN, help=f"copies called amplification [{cnv.AMP_CN}]")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-plot", action="store_true", help="skip DIR/cnv.png")
    p.add_argument("--coverage-out", type=Path, metavar="DIR",
                   help="scatter chunk: write only the CNVkit coverage of the bins starting in --region (and, "
                        "with --normal, the SNP pileup there) to DIR; no segmentation")
    p.add_argument("--coverage-chunks", type=Path, nargs="+", metavar="DIR", default=[],
                   help="chunk directories (from --coverage-out) covering every bin: merge them instead of "
                        "reading the BAMs' coverage; the result equals an unscattered run")
    p.add_argument("--out-dir", type=Path, help="output directory (not with --coverage-out)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bedside.errors import InputError

    if args.bin_size < 100:
        raise InputError(f"--bin-size {args.bin_size} is too small (>= 100 bp)")
    sample_patients = None
    if args.samples:
        from bedside.io.sheets import load_samples

        sample_patients = {name: s.patient for name, s in load_samples(args.samples).items()}
    sheet = str(args.samples) if args.samples else None
    if args.coverage_out is not None:
        if not args.region or args.coverage_chunks or args.out_dir:
            raise InputError("--coverage-out takes the chunk's --region list (and not --coverage-chunks or "
                             "--out-dir)", path=args.coverage_out)
        n = cnv.chunk_coverage(args.tumor, args.ref, args.coverage_out, args.region, normal=args.normal,
                               pon=args.pon, targets=args.targets, germline_vcf=args.germline_vcf,
                               bin_size=args.bin_size, threads=args.threads, sample_patients=sample_patients,
                               sheet=sheet, patient=args.patient)
        log.info("CNV coverage of %d bins -> %s", n, args.coverage_out)
        return 0
    if args.out_dir is None:
        raise InputError("--out-dir is required (or --coverage-out for a scatter chunk)")
    if args.region and len(args.region) > 1:
        raise InputError(f"one --region at a time ({len(args.region)} given; several only with --coverage-out)")
    if args.region and args.coverage_chunks:
        raise InputError("--coverage-chunks covers the whole genome; --region does not apply")
    res = cnv.call_cnv(args.tumor, args.ref, args.out_dir, normal=args.normal, pon=args.pon, targets=args.targets,
                       region=args.region[0] if args.region else None, coverage_chunks=args.coverage_chunks, gff3=args.gff3, germline_vcf=args.germline_vcf,
                       somatic_vcf=args.somatic_vcf, bin_size=args.bin_size, min_bins=args.min_bins,
                       min_snps=args.min_snps, amp_cn=args.amp_cn, threads=args.threads,
                       sample_patients=sample_patients, sheet=sheet, patient=args.patient,
                       plot=not args.no_plot)
    f = res.fit
    log.info("CNV %s: %d segments; purity %s ploidy %s%s; %d gene calls -> %s", res.tumor_sample,
             len(res.segments), f.purity, f.ploidy, f" ({f.reason})" if f.reason else "",
             sum(g.call != "neutral" for g in res.genes), args.out_dir)
    return 0
