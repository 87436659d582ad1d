"""`bedside annotate`: consequence + HGVS on one transcript per gene, population AF and ClinVar."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bedside.annotate import annotate_vcf
from bedside.annotate.pipeline import prepare_resources
from bedside.tools import atomic_path
from bedside.errors import InputError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "annotate", help="normalise a VCF and add consequence/HGVS, population AF and ClinVar",
        description="Normalise (bcftools norm -m -both, left-align) and annotate a VCF. Transcript per gene: "
                    "--transcripts override > GFF3 tag MANE_Select > Ensembl_canonical > longest CDS.")
    p.add_argument("--vcf", help="input VCF/BCF (bgzipped or plain)")
    p.add_argument("--fasta", required=True, help="reference FASTA (faidx-indexed or indexable)")
    p.add_argument("--gff3", help="Ensembl-style GFF3 with gene/mRNA/exon/CDS features")
    p.add_argument("--population", help="population VCF whose INFO/AF becomes POP_AF")
    p.add_argument("--clinvar", help="ClinVar VCF (CLNSIG, CLNREVSTAT, GENEINFO; ID = variation ID)")
    p.add_argument("--transcripts", help="TSV gene<TAB>transcript overriding the transcript choice")
    p.add_argument("--threads", type=int, default=2, help="worker processes for the consequence pass (inputs over ~1 MB) [2]")
    p.add_argument("--out", help="output .vcf.gz (tabix index written beside it)")
    p.add_argument("--cache-dir", help="where the normalised population/ClinVar table is cached and reused "
                                       "(default $BEDSIDE_CACHE_DIR or ~/.cache/bedside)")
    p.add_argument("--no-cache", action="store_true", help="build the resource table for this run only")
    p.add_argument("--prepare-only", action="store_true",
                   help="only build the cached resource table (needs --fasta and --population/--clinvar)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.prepare_only:
        table = prepare_resources(args.fasta, args.population, args.clinvar, cache_dir=args.cache_dir)
        if args.out:
            with atomic_path(args.out) as tmp:
                tmp.write_text(f"{table}\n")
        print(table)
        return 0
    missing = [f"--{k}" for k in ("vcf", "gff3", "out") if not getattr(args, k)]
    if missing:
        raise InputError(f"missing {', '.join(missing)} (only --prepare-only runs without them)")
    cache = False if args.no_cache else (Path(args.cache_dir) if args.cache_dir else True)
    stats = annotate_vcf(args.vcf, args.fasta, args.gff3, args.out, population=args.population,
                         clinvar=args.clinvar, transcripts=args.transcripts, threads=args.threads,
                         cache=cache)
    logging.getLogger("bedside.annotate").info("%d records, %d with a consequence", stats["records"],
                                               stats["annotated"])
    return 0
