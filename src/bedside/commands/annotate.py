"""`bedside annotate`: consequence + HGVS on one transcript per gene, population AF and ClinVar."""

from __future__ import annotations

import argparse
import logging

from bedside.annotate import annotate_vcf


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "annotate", help="normalise a VCF and add consequence/HGVS, population AF and ClinVar",
        description="Normalise (bcftools norm -m -both, left-align) and annotate a VCF. Transcript per gene: "
                    "--transcripts override > GFF3 tag MANE_Select > Ensembl_canonical > longest CDS.")
    p.add_argument("--vcf", required=True, help="input VCF/BCF (bgzipped or plain)")
    p.add_argument("--fasta", required=True, help="reference FASTA (faidx-indexed or indexable)")
    p.add_argument("--gff3", required=True, help="Ensembl-style GFF3 with gene/mRNA/exon/CDS features")
    p.add_argument("--population", help="population VCF whose INFO/AF becomes POP_AF")
    p.add_argument("--clinvar", help="ClinVar VCF (CLNSIG, CLNREVSTAT, GENEINFO; ID = variation ID)")
    p.add_argument("--transcripts", help="TSV gene<TAB>transcript overriding the transcript choice")
    p.add_argument("--threads", type=int, default=2, help="worker processes for the consequence pass (inputs over ~1 MB) [2]")
    p.add_argument("--out", required=True, help="output .vcf.gz (tabix index written beside it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stats = annotate_vcf(args.vcf, args.fasta, args.gff3, args.out, population=args.population,
                         clinvar=args.clinvar, transcripts=args.transcripts, threads=args.threads)
    logging.getLogger("bedside.annotate").info("%d records, %d with a consequence", stats["records"],
                                               stats["annotated"])
    return 0
