"""`bedside cohort-db build|update|qc|identity|query|report`: the Hail cohort platform (bedside.cohort).

Registered on its own as ``cohort-db``; :func:`route` lets ``bedside cohort qc|query|build ...`` reach the
same subcommands while ``bedside cohort CASES... --html ...`` (the cohort summary) keeps working.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SUBCOMMANDS = ("build", "update", "qc", "identity", "query", "report")
NAME = "cohort-db"


def route(argv: list[str]) -> list[str]:
    """``cohort <subcommand> ...`` -> ``cohort-db <subcommand> ...``; anything else unchanged."""
    if len(argv) >= 2 and argv[0] == "cohort" and argv[1] in SUBCOMMANDS:
        return [NAME, *argv[1:]]
    return argv


def _hail_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Spark / Hail")
    g.add_argument("--spark-master", help="Spark master URL (default: $BEDSIDE_SPARK_MASTER, else local[N] "
                   "with N the usable CPUs); e.g. spark://host:7077 or yarn")
    g.add_argument("--tmp-dir", help="Hail temporary folder (default: $BEDSIDE_HAIL_TMP or the system's)")
    g.add_argument("--driver-memory", help="Spark driver memory, e.g. 8g (default 4g locally)")


def _ref_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--build", help="reference build: GRCh37, GRCh38 or a custom name (config reference.build)")
    p.add_argument("--fai", help="the reference FASTA's .fai (defines a custom build's contigs)")


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("build", help="build the cohort store (Hail MatrixTable) from the joint VCF")
    b.add_argument("--vcf", required=True, help="joint germline VCF of the cohort's normals")
    b.add_argument("--cases", nargs="*", default=[], help="each patient's case.json")
    b.add_argument("--clinical", help="clinical/lifestyle table (for samples without a case.json)")
    b.add_argument("--samples", help="sample sheet (sample_name -> patient)")
    b.add_argument("--out", required=True, help="the store, e.g. results/cohort/cohort.mt")
    b.add_argument("--incremental", action="store_true", help="if the store exists, import only new samples "
                   "and refresh only changed case records (default: full rebuild)")
    b.add_argument("--summary", help="write a JSON summary (mode, samples added / refreshed) here")
    _ref_args(b)
    _hail_args(b)
    b.set_defaults(func=run_build)

    u = sub.add_parser("update", help="add patients / refresh changed case records without a rebuild")
    u.add_argument("--store", required=True)
    u.add_argument("--vcf", nargs="*", default=[], help="germline VCF(s) of the new patients' normals")
    u.add_argument("--cases", nargs="*", default=[])
    u.add_argument("--clinical")
    u.add_argument("--samples")
    u.add_argument("--fai")
    _hail_args(u)
    u.set_defaults(func=run_update)

    q = sub.add_parser("qc", help="sample QC, sex check, relatedness and ancestry PCA")
    src = q.add_mutually_exclusive_group(required=True)
    src.add_argument("--vcf", help="joint germline VCF")
    src.add_argument("--store", help="the cohort store (clinical sex from its records)")
    q.add_argument("--clinical", help="clinical table (sex); required with --vcf")
    q.add_argument("--samples", help="sample sheet (sample_name -> patient)")
    q.add_argument("--out-dir", required=True)
    q.add_argument("--pca-k", type=int, default=10)
    _ref_args(q)
    _hail_args(q)
    q.set_defaults(func=run_qc)

    i = sub.add_parser("identity", help="tumor-normal identity per patient (genotype concordance)")
    i.add_argument("--samples", required=True, help="sample sheet: tumor/normal pairs per patient")
    i.add_argument("--vcf", help="tumor and normal genotypes at common SNPs (else genotyped from --bams)")
    i.add_argument("--bams", nargs="*", default=[])
    i.add_argument("--ref", help="reference FASTA (with --bams)")
    i.add_argument("--population", help="population VCF with INFO/AF (common SNPs, with --bams)")
    i.add_argument("--genotypes-out", help="keep the genotyped VCF here (with --bams)")
    i.add_argument("--min-depth", type=int, default=8)
    i.add_argument("--min-sites", type=int, default=20)
    i.add_argument("--min-concordance", type=float, default=0.8)
    i.add_argument("--out", required=True, help="identity.tsv")
    i.set_defaults(func=run_identity)

    r = sub.add_parser("query", help="patients matching genome, clinical and lifestyle filters")
    r.add_argument("--store", required=True)
    r.add_argument("--gene", action="append", default=[], help="gene of a somatic/germline finding")
    r.add_argument("--origin", default="any", choices=["any", "somatic", "germline"])
    r.add_argument("--variant", action="append", default=[], help="CHROM:POS:REF:ALT")
    r.add_argument("--tier", action="append", default=[], help="somatic tier I..IV")
    r.add_argument("--acmg-sf", action="store_true", help="germline ACMG secondary finding")
    r.add_argument("--pgx", action="append", default=[], help="GENE=Phenotype[,Phenotype]")
    r.add_argument("--drug", action="append", default=[], help="current medication or drug class")
    r.add_argument("--diagnosis", action="append", default=[], help="OncoTree code (descendants included)")
    r.add_argument("--smoking", action="append", default=[], help="never / former / current")
    r.add_argument("--sex", action="append", default=[])
    for k in ("age", "pack-years", "alcohol", "bmi"):
        r.add_argument(f"--{k}", help="range MIN:MAX (either end may be empty)")
    r.add_argument("--out", help="TSV (default: standard output)")
    _hail_args(r)
    r.set_defaults(func=run_query)

    h = sub.add_parser("report", help="cohort report section (HTML fragment with inline SVG)")
    h.add_argument("--store")
    h.add_argument("--qc-dir", help="output folder of `qc`")
    h.add_argument("--identity", help="identity.tsv")
    h.add_argument("--out", required=True)
    _hail_args(h)
    h.set_defaults(func=run_report)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="cohort platform on Hail: store, QC, identity, queries (also `bedside "
                       "cohort qc|query|build ...`)", description=__doc__)
    inner = p.add_subparsers(dest="cohort_command", metavar="SUBCOMMAND", required=True)
    add_subcommands(inner)


def _init(args) -> None:
    from bedside.cohort import session

    session.init(args.spark_master, tmp_dir=args.tmp_dir, driver_memory=args.driver_memory)


def run_build(args) -> int:
    from bedside.cohort import store

    from bedside.tools import write_text

    _init(args)
    kw = dict(cases=args.cases, clinical=args.clinical, sample_sheet=args.samples, build=args.build, fai=args.fai)
    if args.incremental:
        summary = store.build_or_update(args.vcf, args.out, **kw)
    else:
        store.build(args.vcf, args.out, **kw)
        from bedside.cohort.records import vcf_samples

        summary = {"mode": "full", "added": vcf_samples(args.vcf), "refreshed": []}
    summary["store"] = str(args.out)
    if args.summary:
        write_text(args.summary, json.dumps(summary, indent=2) + "\n")
    return 0


def run_update(args) -> int:
    from bedside.cohort import store

    _init(args)
    _, added, refreshed = store.update(args.store, vcfs=args.vcf, cases=args.cases, clinical=args.clinical,
                                       sample_sheet=args.samples, fai=args.fai)
    print(json.dumps({"added": added, "refreshed": refreshed}))
    return 0


def run_qc(args) -> int:
    from bedside.cohort import qc, records, store
    from bedside.errors import InputError
    from bedside.tools import write_text

    _init(args)
    if args.vcf:
        if not args.clinical:
            raise InputError("--clinical is required with --vcf (the sex check and sample -> patient mapping)")
        from bedside.io.clinical import read_clinical_table

        ctx = read_clinical_table(args.clinical)
        samples = records.vcf_samples(args.vcf)
        patients = records.sample_patients(samples, sheet=args.samples, clinical_ids=ctx, vcf=args.vcf,
                                           clinical_path=args.clinical)
        mt = store.import_genotypes(args.vcf, args.build, args.fai)
        sex = {p: c.sex for p, c in ctx.items()}
        source = args.vcf
    else:
        mt = store.read(args.store)
        ct = mt.cols()
        cols = ct.select("patient_id", sex=ct.clinical.sex).to_pandas()
        patients = dict(zip(cols.s, cols.patient_id))
        sex = dict(zip(cols.patient_id, cols.sex))
        source = args.store
    res = qc.run(mt, clinical_sex=sex, patients=patients, pca_k=args.pca_k)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    comments = [f"bedside cohort qc of {source}", *res["notes"]]
    qc.write_tsv(res["sample_qc"], out / "sample_qc.tsv", comments)
    qc.write_tsv(res["relatedness"], out / "relatedness.tsv", comments[:1])
    write_text(out / "qc.json", json.dumps({"source": str(source), "notes": res["notes"],
                                            "eigenvalues": res["eigenvalues"],
                                            "flagged": int((res["sample_qc"]["flags"] != "").sum()),
                                            "markers": res["markers"], "timings": res["timings"]},
                                           indent=2) + "\n")
    return 0


def _pairs(sheet) -> dict[str, tuple[str, str]]:
    from bedside.io.sheets import load_samples

    by: dict[str, dict[str, str]] = {}
    for s in load_samples(sheet).values():
        by.setdefault(s.patient, {})[s.alias] = s.sample_name
    return {p: (d["tumor"], d["normal"]) for p, d in by.items() if "tumor" in d and "normal" in d}


def run_identity(args) -> int:
    import tempfile

    from bedside.cohort import identity, qc
    from bedside.errors import InputError

    pairs = _pairs(args.samples)
    if args.vcf:
        vcf = args.vcf
        df = identity.tumor_normal_identity(vcf, pairs, min_depth=args.min_depth, min_sites=args.min_sites,
                                            min_concordance=args.min_concordance)
    else:
        if not (args.bams and args.ref and args.population):
            raise InputError("give --vcf, or --bams with --ref and --population")
        with tempfile.TemporaryDirectory(prefix="bedside-identity-") as td:
            sites = identity.common_sites(args.population, Path(td) / "common.vcf.gz")
            vcf = args.genotypes_out or str(Path(td) / "tn.vcf.gz")
            identity.genotype_sites(args.bams, args.ref, sites, vcf)
            df = identity.tumor_normal_identity(vcf, pairs, min_depth=args.min_depth,
                                                min_sites=args.min_sites, min_concordance=args.min_concordance)
    qc.write_tsv(df, args.out, [f"bedside cohort identity: genotype concordance at common SNPs ({vcf})"])
    return 0


def run_query(args) -> int:
    import sys

    from bedside.cohort import query, store

    q = query.CohortQuery(gene=args.gene, origin=args.origin, variant=args.variant, tier=args.tier,
                          acmg_sf=args.acmg_sf, pgx=args.pgx, drug=args.drug, diagnosis=args.diagnosis,
                          smoking=args.smoking, sex=args.sex, age=query.parse_range(args.age, "age"),
                          pack_years=query.parse_range(args.pack_years, "pack-years"),
                          alcohol=query.parse_range(args.alcohol, "alcohol"),
                          bmi=query.parse_range(args.bmi, "bmi"))
    _init(args)
    mt = store.read(args.store)
    df = query.run(mt, q)
    if args.out:
        query.write_tsv(df, q, args.out, args.store)
    else:
        sys.stdout.write(f"# filters: {q.describe()}\n")
        df.to_csv(sys.stdout, sep="\t", index=False, na_rep="")
    return 0


def run_report(args) -> int:
    import pandas as pd

    from bedside.cohort import report
    from bedside.tools import write_text

    cols = qc_res = ident = None
    if args.store:
        from bedside.cohort import store

        _init(args)
        cols = store.columns(store.read(args.store))
    if args.qc_dir:
        d = Path(args.qc_dir)
        sq = pd.read_csv(d / "sample_qc.tsv", sep="\t", comment="#", keep_default_na=False, na_values=[""])
        sq["flags"] = sq["flags"].fillna("")
        rel = pd.read_csv(d / "relatedness.tsv", sep="\t", comment="#")
        pcs = sq[["s", *[c for c in sq.columns if c.startswith("PC")]]]
        notes = json.loads((d / "qc.json").read_text()).get("notes", []) if (d / "qc.json").exists() else []
        qc_res = {"sample_qc": sq, "relatedness": rel, "pcs": pcs, "notes": notes}
    if args.identity:
        ident = pd.read_csv(args.identity, sep="\t", comment="#")
    write_text(args.out, report.section_html(cols, qc_res, ident) + "\n")
    return 0
