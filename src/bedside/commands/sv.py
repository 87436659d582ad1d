"""`bedside sv`: somatic structural variants (delly) and gene-fusion / MET exon 14 annotation."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bedside.calling import sv

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sv", help="somatic structural variants (delly) with fusion annotation",
        description="delly call over tumor and normal, delly filter -f somatic; breakpoints annotated onto gene "
                    "pairs (5'/3' partner from delly's connection type and the genes' strands) with the reading "
                    "frame across the junction; therapy-relevant partners ALK, ROS1, RET, NTRK1-3, BRAF, NRG1 "
                    "(3') and FGFR2/3 (5'); MET exon 14 skipping from deletions and splice-site variants.")
    p.add_argument("--tumor", required=True, type=Path, help="tumor BAM (indexed, one SM)")
    p.add_argument("--normal", required=True, type=Path, help="matched normal BAM (indexed, one SM)")
    p.add_argument("--ref", required=True, type=Path, help="reference FASTA (with .fai)")
    p.add_argument("--out", required=True, type=Path, help="somatic SV VCF (.vcf.gz, tabix-indexed)")
    p.add_argument("--gff3", type=Path, help="gene models: write fusions (default next to --out)")
    p.add_argument("--fusions", type=Path, help="fusions TSV [OUT without .vcf.gz + .fusions.tsv]")
    p.add_argument("--fusions-json", type=Path, help="fusions and MET exon 14 events as JSON")
    p.add_argument("--somatic-vcf", type=Path, help="somatic small variants: MET exon 14 splice-site variants")
    p.add_argument("--exclude", type=Path, help="BED of regions delly should skip (e.g. centromeres)")
    p.add_argument("--min-qual", type=int, default=200, help="delly filter minimum site quality [200]")
    p.add_argument("--samples", type=Path, help="sample sheet: tumor and normal must share a patient")
    p.add_argument("--patient", help="patient both samples must belong to")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bedside.errors import InputError

    if not str(args.out).endswith(".vcf.gz"):
        raise InputError("--out must end in .vcf.gz", path=args.out)
    for p in (args.gff3, args.somatic_vcf):
        if p is not None and not p.is_file():
            raise InputError("file not found", path=p)
    sample_patients = None
    if args.samples:
        from bedside.io.sheets import load_samples

        sample_patients = {name: s.patient for name, s in load_samples(args.samples).items()}
    try:
        t_sm, n_sm = sv.call_sv(args.tumor, args.normal, args.ref, args.out, exclude=args.exclude,
                                min_qual=args.min_qual, sample_patients=sample_patients,
                                sheet=str(args.samples) if args.samples else None, patient=args.patient,
                                threads=args.threads)
    except sv.SVNotAssessable as exc:
        log.warning("SV not assessable: %s", exc)
        if args.gff3:
            tsv = args.fusions or Path(str(args.out)[:-len(".vcf.gz")] + ".fusions.tsv")
            sv.write_fusions([], [], tsv, args.fusions_json, not_assessable=str(exc))
        return 0
    if args.gff3:
        fusions = sv.annotate_fusions(args.out, args.gff3, t_sm, n_sm)
        met = sv.met_exon14(sv.Genes(args.gff3), args.out, args.somatic_vcf, t_sm)
        tsv = args.fusions or Path(str(args.out)[:-len(".vcf.gz")] + ".fusions.tsv")
        sv.write_fusions(fusions, met, tsv, args.fusions_json)
        log.info("SV %s vs %s: %d fusions (%d therapy-relevant), %d MET exon 14 events -> %s", t_sm, n_sm,
                 len(fusions), sum(f.relevant for f in fusions), len(met), tsv)
    return 0
