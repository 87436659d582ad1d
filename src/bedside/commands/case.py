"""`bedside case`: gather one patient's outputs into case.json."""

from __future__ import annotations

import argparse
import json

from bedside import case as case_mod
from bedside.commands._util import atomic_path
from bedside.model import to_dict


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("case", help="gather a patient's results into case.json")
    p.add_argument("--patient", required=True)
    p.add_argument("--context", required=True, help="clinical context JSON (bedside clinical)")
    p.add_argument("--qc", help="QC JSON (bedside qc)")
    p.add_argument("--tumor-sample")
    p.add_argument("--normal-sample")
    p.add_argument("--somatic", help="annotated somatic VCF (bedside annotate)")
    p.add_argument("--germline", help="annotated germline VCF (bedside annotate)")
    p.add_argument("--pgx", help="PGx JSON (bedside pgx)")
    p.add_argument("--tmb", help="TMB JSON (bedside tmb)")
    p.add_argument(
        "--knowledge",
        action="append",
        default=[],
        help="extra knowledge-base table (curated TSV or CIViC TSV); repeatable",
    )
    p.add_argument("--build", default="", help="reference build name for the report")
    p.add_argument(
        "--population", help="population-frequency VCF the run annotated with (its header names the release)"
    )
    p.add_argument("--clinvar", help="ClinVar VCF the run annotated with (its header names the release)")
    p.add_argument("--gff3", help="gene annotation (assay genes = genes with coding sequence in scope)")
    p.add_argument("--targets", help="assay target BED (panel / exome); whole reference when absent")
    p.add_argument(
        "--tumor-dist", help="tumor mosdepth *.dist.txt (region dist preferred) for the median depth"
    )
    p.add_argument("--normal-dist", help="normal mosdepth *.dist.txt for the median depth")
    p.add_argument(
        "--tumor-regions",
        help="tumor mosdepth *.regions.bed.gz (--by the coding BED of "
        "`bedside tmb --write-coding-bed`) for per-gene mean depth",
    )
    p.add_argument("--normal-regions", help="normal mosdepth *.regions.bed.gz, as --tumor-regions")
    p.add_argument(
        "--tumor-coverage",
        help="tumor mosdepth quantized/per-base BED(.gz): per-gene fraction of "
        "coding bases at the callable depth",
    )
    p.add_argument(
        "--normal-coverage", help="normal mosdepth quantized/per-base BED(.gz), as --tumor-coverage"
    )
    p.add_argument(
        "--pgx-definitions",
        help="allele-definition folder (version recorded); default: the folder named in the PGx JSON",
    )
    p.add_argument("--cnv-dir", help="bedside cnv output folder: reads genes.tsv, segments.tsv, cnv.json and "
                   "cnv.png from it (each overridable below)")
    p.add_argument("--cnv-genes", help="gene-level copy-number calls (bedside cnv genes.tsv)")
    p.add_argument("--cnv-segments", help="copy-number segments (bedside cnv segments.tsv): germline LOH in tumor")
    p.add_argument("--cnv-json", help="purity/ploidy fit (bedside cnv cnv.json)")
    p.add_argument("--cnv-plot", help="genome-wide copy-number plot (bedside cnv cnv.png) for the report")
    p.add_argument("--msi", help="MSI result (bedside msi msi.json)")
    p.add_argument("--fusions", help="fusions and MET exon 14 events (bedside sv fusions.json)")
    p.add_argument("--bam", nargs="+", default=[], help="the patient's final BAMs: the bwa/samtools versions "
                   "that made them are read from their @PG header lines")
    p.add_argument("--fastp-json", nargs="+", default=[], help="fastp JSON reports (fastp version)")
    ident = p.add_mutually_exclusive_group()
    ident.add_argument("--identity", help="tumor-normal identity table (bedside cohort identity identity.tsv): "
                       "the patient's row goes into the case record; a mismatch or swap is a warning on the "
                       "report's first page")
    ident.add_argument("--identity-not-run", metavar="REASON",
                       help="why no identity check was run (the report says 'not run (REASON)')")
    p.add_argument("--out", required=True)
    p.set_defaults(func=run)


def _cnv_paths(args: argparse.Namespace) -> dict[str, str | None]:
    """Explicit --cnv-* files, else the standard names inside --cnv-dir (the plot only when it exists)."""
    from pathlib import Path

    base = Path(args.cnv_dir) if args.cnv_dir else None
    if base is not None and not base.is_dir():
        from bedside.errors import InputError

        raise InputError("--cnv-dir is not a folder", path=base)

    def pick(explicit, name, optional=False):
        if explicit or base is None:
            return explicit
        p = base / name
        return str(p) if (p.exists() or not optional) else None

    return {"cnv_genes": pick(args.cnv_genes, "genes.tsv"),
            "cnv_segments": pick(args.cnv_segments, "segments.tsv", optional=True),
            "cnv_json": pick(args.cnv_json, "cnv.json"),
            "cnv_plot": pick(args.cnv_plot, "cnv.png", optional=True)}


def run(args: argparse.Namespace) -> int:
    context = case_mod.load_context(args.context)
    qc = case_mod.load_qc(args.qc) if args.qc else []
    case = case_mod.build_case(
        args.patient,
        context,
        tumor_sample=args.tumor_sample,
        normal_sample=args.normal_sample,
        somatic_vcf=args.somatic,
        germline_vcf=args.germline,
        pgx_json=args.pgx,
        tmb_json=args.tmb,
        qc=qc,
        knowledge_paths=args.knowledge,
        build=args.build,
        population=args.population,
        clinvar=args.clinvar,
        gff3=args.gff3,
        targets=args.targets,
        tumor_dist=args.tumor_dist,
        normal_dist=args.normal_dist,
        tumor_regions=args.tumor_regions,
        normal_regions=args.normal_regions,
        tumor_coverage=args.tumor_coverage,
        normal_coverage=args.normal_coverage,
        pgx_definitions=args.pgx_definitions,
        msi_json=args.msi,
        fusions_json=args.fusions,
        bams=args.bam,
        fastp_jsons=args.fastp_json,
        identity_tsv=args.identity,
        identity_not_run=args.identity_not_run,
        **_cnv_paths(args),
    )
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(to_dict(case), indent=2) + "\n")
    return 0
