"""`bedside msi`: microsatellite instability score of a tumor/normal pair (MSIsensor-style)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bedside.calling import msi

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "msi", help="microsatellite instability (tumor vs normal repeat-length distributions)",
        description="MSIsensor-style MSI: microsatellites scanned from the reference (or read from --sites), "
                    "tumor vs normal repeat-length distributions compared per site with Pearson's chi-squared "
                    "test (BH FDR < 0.05); score = %% unstable sites; MSI-H >= 10, indeterminate 3-10, MSS < 3 "
                    "(Middha et al. 2017, PMID 30211344). With only --ref and --write-sites: scan the "
                    "reference and write the site list. Scattered: one run per chunk with --region ... "
                    "--counts-out (repeat-length counts only), then --merge CHUNK.tsv ... --out (the tests, "
                    "score and class over all chunks; the same result as one unscattered run).")
    p.add_argument("--tumor", type=Path, help="tumor BAM (indexed, one SM)")
    p.add_argument("--normal", type=Path, help="matched normal BAM (indexed, one SM)")
    p.add_argument("--ref", required=True, type=Path, help="reference FASTA (with .fai)")
    p.add_argument("--out", type=Path, help="output JSON")
    p.add_argument("--counts-out", type=Path,
                   help="scatter chunk: write the repeat-length counts of the --region sites here (no score)")
    p.add_argument("--merge", type=Path, nargs="+", metavar="COUNTS",
                   help="merge chunk counts (from --counts-out) and score them; needs --ref and --out")
    p.add_argument("--sites", type=Path, help="microsatellite site list (from --write-sites); default: scan --ref")
    p.add_argument("--write-sites", type=Path, help="write the scanned site list here")
    p.add_argument("--sites-out", type=Path, help="per-site table (lengths, chi2, FDR, unstable)")
    p.add_argument("--region", nargs="+",
                   help="chr or chr:start-end (1-based), one or several: the sites whose first repeat base "
                        "lies in one of them")
    p.add_argument("--min-reads", type=int, default=msi.MIN_READS,
                   help=f"spanning reads needed in each sample per site [{msi.MIN_READS}]")
    p.add_argument("--min-sites", type=int, default=msi.MIN_SITES,
                   help=f"assessed sites needed for a score [{msi.MIN_SITES}]")
    p.add_argument("--patient", help="patient both samples must belong to")
    p.add_argument("--samples", type=Path, help="sample sheet: tumor and normal must share a patient")
    p.set_defaults(func=run)


def _sample_patients(args: argparse.Namespace) -> dict[str, str] | None:
    if not args.samples:
        return None
    from bedside.io.sheets import load_samples

    return {name: s.patient for name, s in load_samples(args.samples).items()}


def run(args: argparse.Namespace) -> int:
    from bedside.errors import InputError

    if args.merge:
        if args.tumor or args.normal or args.counts_out or args.region or args.out is None:
            raise InputError("--merge takes chunk counts, --ref and --out (and --sites-out); the BAMs and "
                             "regions were the chunks'", path=args.merge[0])
        res, results = msi.merge_counts(args.merge, args.ref, min_reads=args.min_reads, min_sites=args.min_sites)
        msi.write_result(res, results, args.out, args.sites_out)
        log.info("MSI %s vs %s (%d chunks merged): %s %s (%s/%s sites unstable)", res.tumor_sample,
                 res.normal_sample, len(args.merge), res.status, res.classification or res.reason, res.count,
                 res.assessed_sites)
        return 0
    if args.tumor is None and args.normal is None:
        if not args.write_sites:
            raise InputError("give --tumor and --normal (and --out), or --write-sites to scan the reference only",
                             path=args.ref)
        if not args.ref.exists():
            raise InputError("reference not found", path=args.ref)
        sites = msi.scan(args.ref, args.region)
        msi.write_sites(sites, args.write_sites, args.ref)
        log.info("%d microsatellite sites -> %s", len(sites), args.write_sites)
        return 0
    if args.counts_out is not None:
        if args.tumor is None or args.normal is None:
            raise InputError("MSI counts need --tumor and --normal", path=args.tumor or args.normal)
        sample_patients = _sample_patients(args)
        n = msi.count_msi(args.tumor, args.normal, args.ref, args.counts_out, sites=args.sites,
                          region=args.region, sample_patients=sample_patients,
                          sheet=str(args.samples) if args.samples else None, patient=args.patient)
        log.info("MSI counts of %d sites -> %s", n, args.counts_out)
        return 0
    if args.tumor is None or args.normal is None or args.out is None:
        raise InputError("MSI needs --tumor, --normal and --out (a matched normal is required)",
                         path=args.tumor or args.normal)
    sample_patients = _sample_patients(args)
    res, results = msi.call_msi(args.tumor, args.normal, args.ref, sites=args.sites, region=args.region,
                                min_reads=args.min_reads, min_sites=args.min_sites,
                                sample_patients=sample_patients,
                                sheet=str(args.samples) if args.samples else None, patient=args.patient)
    if args.write_sites:
        msi.write_sites([r.site for r in results], args.write_sites, args.ref)
    msi.write_result(res, results, args.out, args.sites_out)
    log.info("MSI %s vs %s: %s %s (%s/%s sites unstable)", res.tumor_sample, res.normal_sample, res.status,
             res.classification or res.reason, res.count, res.assessed_sites)
    return 0
