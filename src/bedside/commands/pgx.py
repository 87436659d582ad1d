"""``bedside pgx``: star alleles, phenotypes and CPIC recommendations from a germline VCF."""

from __future__ import annotations

import argparse
import csv
import json

from bedside.commands._util import atomic_path
from bedside.model import to_dict


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "pgx", help="pharmacogenes: diplotypes, phenotypes, CPIC recommendations",
        description="Match PharmCAT-format named-allele definitions against a (multi-sample) VCF, assign "
                    "phenotypes / activity scores and CPIC recommendations. Positions absent from the VCF "
                    "or no-called are reported, never assumed reference; when they (or unphased genotypes) leave several "
                    "diplotypes possible, every one is listed with its phenotype (PharmCAT-style), and a REF "
                    "that disagrees with the definitions (other build) leaves the gene not called.")
    p.add_argument("vcf", nargs="?", help="germline VCF/BCF (bgzipped+indexed or plain)")
    p.add_argument("--definitions", required=True, help="folder of <GENE>_translation.json files")
    p.add_argument("--sample", help="only this sample (default: every sample in the VCF)")
    p.add_argument("--outside-calls", help="TSV gene<TAB>diplotype[<TAB>phenotype[<TAB>activity_score]] "
                                           "(e.g. CYP2D6 from a dedicated caller)")
    p.add_argument("--phenotypes", help="folder of <GENE>.json phenotype tables (default: bundled CPIC subset)")
    p.add_argument("--guidelines", help="folder of CPIC guideline JSON files (default: bundled CPIC subset)")
    p.add_argument("--genes", help="comma-separated genes to call (default: every definition file)")
    p.add_argument("--out-json")
    p.add_argument("--out-tsv")
    p.add_argument("--positions-out", help="write the defining positions as a sites VCF (for bcftools -T) "
                                          "and exit; no VCF needed")
    p.set_defaults(func=run)


def _cite(c) -> str:
    return c.source + (f" PMID:{c.pmid}" if c.pmid else "") + (f" {c.version}" if c.version else "")


def run(args: argparse.Namespace) -> int:
    from bedside.errors import InputError
    from bedside.pgx import call_genes, recommend, write_positions

    if args.positions_out:
        with atomic_path(args.positions_out) as tmp:
            write_positions(args.definitions, tmp)
        return 0
    if not (args.vcf and args.out_json and args.out_tsv):
        raise InputError("pgx needs VCF, --out-json and --out-tsv (or --positions-out)")
    genes = [g.strip() for g in args.genes.split(",")] if args.genes else None
    calls = call_genes(args.vcf, args.definitions, sample=args.sample, outside_calls=args.outside_calls,
                       phenotypes_dir=args.phenotypes, genes=genes)
    doc = {"vcf": str(args.vcf), "definitions": str(args.definitions),
           "phenotypes": str(args.phenotypes or "bundled CPIC subset"),
           "guidelines": str(args.guidelines or "bundled CPIC subset"), "samples": {}}
    rows = []
    for sample, dips in calls.items():
        recs = recommend(dips, args.guidelines, args.phenotypes)
        doc["samples"][sample] = {"diplotypes": to_dict(dips), "recommendations": to_dict(recs)}
        for d in dips:
            gene_recs = [r for r in recs if r.gene and d.gene in r.gene.split(", ")]
            rows.append({
                "sample": sample, "gene": d.gene, "diplotypes": " | ".join(d.diplotypes) or "not called",
                "phenotype": d.phenotype or "", "status": d.status, "phenotypes": " | ".join(d.phenotypes),
                "activity_score": "" if d.activity_score is None else d.activity_score,
                "source": d.source, "n_missing_positions": len(d.missing_positions),
                "missing_positions": ";".join(d.missing_positions), "notes": " | ".join(d.notes),
                "recommendations": " | ".join(
                    f"{r.drug}: [{r.classification or '-'}] {r.text} ({'; '.join(_cite(c) for c in r.citations[:1])})"
                    for r in gene_recs),
            })
    with atomic_path(args.out_json) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
    with atomic_path(args.out_tsv) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["sample", "gene"], delimiter="\t",
                           lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return 0
