"""The cohort store: one Hail MatrixTable (``results/cohort/cohort.mt``).

Rows are the biallelic germline variants of the joint VCF (multi-allelic sites split), columns are the
patients' normal samples, entries keep GT, DP and AD. Each column carries the patient's record
(:mod:`bedside.cohort.records`): clinical/lifestyle context, somatic and germline findings with their
annotations and tiers, PGx diplotypes/phenotypes, TMB and the path of the patient's report. The schema is
documented in docs/cohort.md and checked by :func:`check_schema`.

Writes go to a temporary path beside the store, which is moved into place only when complete, so a failed
build never leaves a half-written store. :func:`update` adds new patients (their own germline VCF,
union of columns) or refreshes changed case records without re-importing any VCF already in the store.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil
import uuid
from pathlib import Path

from bedside import __version__
from bedside.cohort import records
from bedside.cohort.session import init, reference
from bedside.errors import InputError

log = logging.getLogger(__name__)


def _types():
    import hail as hl

    finding = hl.tstruct(chrom=hl.tstr, pos=hl.tint32, ref=hl.tstr, alt=hl.tstr, gene=hl.tstr,
                         consequence=hl.tstr, hgvs_c=hl.tstr, hgvs_p=hl.tstr, tier=hl.tstr, vaf=hl.tfloat64,
                         clnsig=hl.tstr, clinvar_stars=hl.tint32, acmg_sf=hl.tbool,
                         therapies=hl.tarray(hl.tstr), evidence_levels=hl.tarray(hl.tstr))
    clinical = hl.tstruct(age=hl.tint32, sex=hl.tstr, diagnosis=hl.tstr, diagnosis_name=hl.tstr,
                          diagnosis_lineage=hl.tarray(hl.tstr), medications=hl.tarray(hl.tstr),
                          drug_classes=hl.tarray(hl.tstr),
                          labs=hl.tarray(hl.tstruct(name=hl.tstr, value=hl.tfloat64, unit=hl.tstr)),
                          smoking_status=hl.tstr, pack_years=hl.tfloat64, alcohol_units_per_week=hl.tfloat64,
                          bmi=hl.tfloat64, diet=hl.tarray(hl.tstr))
    pgx = hl.tstruct(gene=hl.tstr, diplotype=hl.tstr, phenotype=hl.tstr, activity_score=hl.tfloat64,
                     status=hl.tstr)
    return hl.tstruct(s=hl.tstr, patient_id=hl.tstr, tumor_sample=hl.tstr, clinical=clinical,
                      somatic=hl.tarray(finding), germline_findings=hl.tarray(finding), pgx=hl.tarray(pgx),
                      tmb=hl.tfloat64, case_path=hl.tstr, report_path=hl.tstr, case_sha256=hl.tstr)


def column_table(recs: list[dict]):
    """Hail Table of column records keyed by ``s``."""
    import hail as hl

    return hl.Table.parallelize(recs, schema=_types(), key="s", n_partitions=max(1, min(8, len(recs) // 500)))


def patient_records(samples: list[str], *, cases: list[str | Path] = (), clinical: str | Path | None = None,
                    sample_sheet: str | Path | None = None, vcf: str | Path = "<vcf>") -> dict[str, dict]:
    """Column records for ``samples`` (VCF names): case.json where given, else the clinical table."""
    by_sample: dict[str, dict] = {}
    for p in cases:
        rec = records.case_record(p)
        if rec["s"] in by_sample:
            raise InputError(f"two case records for sample {rec['s']!r} ({by_sample[rec['s']]['case_path']} "
                             f"and {p})", path=p)
        by_sample[rec["s"]] = rec
    ctx = {}
    if clinical:
        from bedside.io.clinical import read_clinical_table

        ctx = read_clinical_table(clinical)
    mapping = records.sample_patients(samples, sheet=sample_sheet, cases=by_sample, clinical_ids=ctx,
                                      vcf=vcf, clinical_path=clinical)
    out = {}
    for s in samples:
        rec = by_sample.get(s) or records.empty_record(s, mapping[s])
        if rec["clinical"] is None and mapping[s] in ctx:
            rec["clinical"] = records.clinical_record(ctx[mapping[s]])
        out[s] = rec
    return out


def import_genotypes(vcf: str | Path, build: str | None, fai: str | Path | None = None, *,
                     min_partitions: int | None = None):
    """Joint (or single-sample) germline VCF -> MatrixTable of biallelic rows with GT, DP, AD entries."""
    import hail as hl

    init()
    records.vcf_samples(vcf)  # duplicate sample IDs -> InputError before Hail sees them
    rg = reference(vcf, build, fai)
    try:
        mt = hl.import_vcf(str(vcf), reference_genome=rg, force_bgz=str(vcf).endswith(".gz"),
                           min_partitions=min_partitions, array_elements_required=False)
    except hl.utils.FatalError as exc:  # pragma: no cover - depends on the file
        raise InputError(f"Hail cannot read the VCF: {str(exc).splitlines()[0]}", path=vcf) from exc
    ef = mt.entry
    mt = mt.select_entries(GT=ef.GT if "GT" in ef else hl.missing(hl.tcall),
                           DP=ef.DP if "DP" in ef else hl.missing(hl.tint32),
                           AD=ef.AD if "AD" in ef else hl.missing(hl.tarray(hl.tint32)))
    mt = hl.split_multi_hts(mt.select_rows("rsid", "qual", "filters"))
    return mt.select_rows("rsid", "qual", "filters", "a_index", "was_split")


def _globals(vcf_digests: dict[str, str], build: str) -> dict:
    return {"bedside_version": __version__, "schema_version": records.SCHEMA_VERSION, "reference_build": build,
            "vcfs": vcf_digests, "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def _write(mt, out: str | Path) -> Path:
    """Write ``mt`` to a temporary path beside ``out`` and move it into place (replacing an old store)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = out.with_name(f".{out.name}.tmp-{tag}")
    old = out.with_name(f".{out.name}.old-{tag}")
    try:
        mt.write(str(tmp), overwrite=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        os.rename(out, old)
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def build(vcf: str | Path, out: str | Path, *, cases: list[str | Path] = (), clinical: str | Path | None = None,
          sample_sheet: str | Path | None = None, build: str | None = None, fai: str | Path | None = None) -> Path:
    """Build the store from the joint germline VCF and every patient's records."""
    import hail as hl

    mt = import_genotypes(vcf, build, fai)
    samples = records.vcf_samples(vcf)
    recs = patient_records(samples, cases=cases, clinical=clinical, sample_sheet=sample_sheet, vcf=vcf)
    cols = column_table([recs[s] for s in samples])
    mt = mt.annotate_cols(**cols[mt.s])
    g = _globals({str(vcf): records.sha256(vcf)}, mt.locus.dtype.reference_genome.name)
    mt = mt.annotate_globals(bedside=hl.literal(g, dtype=_globals_type()))
    log.info("cohort store: %d samples", len(samples))
    return _write(mt, out)


build_ = build


def _globals_type():
    import hail as hl

    return hl.tstruct(bedside_version=hl.tstr, schema_version=hl.tint32, reference_build=hl.tstr,
                      vcfs=hl.tdict(hl.tstr, hl.tstr), updated=hl.tstr)


def read(store: str | Path):
    import hail as hl

    init()
    if not Path(store, "metadata.json.gz").exists():
        raise InputError("not a Hail MatrixTable (no metadata.json.gz); build it with `bedside cohort build`",
                         path=store)
    mt = hl.read_matrix_table(str(store))
    check_schema(mt, store)
    return mt


def check_schema(mt, where: str | Path = "<store>") -> None:
    want = _types()
    got = mt.col.dtype
    for name, t in want.items():
        if name not in got or got[name] != t:
            raise InputError(f"cohort store column field {name!r} missing or of another type (store schema "
                             f"version {records.SCHEMA_VERSION} expected; rebuild the store)", path=where)


def update(store: str | Path, *, vcfs: list[str | Path] = (), cases: list[str | Path] = (),
           clinical: str | Path | None = None, sample_sheet: str | Path | None = None,
           fai: str | Path | None = None) -> tuple[Path, list[str], list[str]]:
    """Add patients / refresh records without rebuilding: samples of ``vcfs`` not yet in the store are
    added (union of columns, outer join on variants: a site absent from one side is a missing genotype,
    not hom-ref); case records whose sha256 changed are replaced. Returns (store, added, refreshed)."""
    import hail as hl

    mt = read(store)
    build_name = mt.locus.dtype.reference_genome.name
    meta = hl.eval(mt.bedside)
    have = set(mt.s.collect())
    old_digest = dict(mt.aggregate_cols(hl.agg.collect((mt.s, mt.case_sha256))))
    added: list[str] = []
    vcf_digests = dict(meta.vcfs)
    for vcf in vcfs:
        new = [s for s in records.vcf_samples(vcf) if s not in have]
        digest = records.sha256(vcf)
        if vcf_digests.get(str(vcf), digest) != digest:
            log.warning("%s changed since the store was built: the genotypes of samples already in the store "
                        "are not re-imported (run a full build after re-genotyping the cohort)", vcf)
        if not new:
            continue
        nm = import_genotypes(vcf, build_name, fai)
        nm = nm.filter_cols(hl.literal(set(new)).contains(nm.s))
        recs = patient_records(new, cases=[c for c in cases if records.case_record(c)["s"] in new],
                               clinical=clinical, sample_sheet=sample_sheet, vcf=vcf)
        nm = nm.annotate_cols(**column_table([recs[s] for s in new])[nm.s])
        mt = mt.union_cols(nm.select_rows(*mt.row_value), row_join_type="outer")
        added += new
        have |= set(new)
        vcf_digests[str(vcf)] = digest
    refreshed = []
    changed = []
    for c in cases:
        rec = records.case_record(c)
        if rec["s"] in added:
            continue
        if rec["s"] not in have:
            raise InputError(f"case of sample {rec['s']!r} has no genotypes in the store; give its germline "
                             "VCF with --vcf", path=c)
        if old_digest.get(rec["s"]) != rec["case_sha256"]:
            changed.append(rec)
    if changed:
        keep = {r["s"] for r in changed}
        ct = column_table(changed)
        new_cols = ct[mt.s]
        mt = mt.annotate_cols(**{k: hl.if_else(hl.literal(keep).contains(mt.s), new_cols[k], mt[k])
                                 for k in new_cols.dtype if k != "s"})
        refreshed = sorted(keep)
    if not added and not refreshed:
        log.info("cohort store up to date")
        return Path(store), [], []
    g = _globals(vcf_digests, build_name)
    mt = mt.annotate_globals(bedside=hl.literal(g, dtype=_globals_type()))
    return _write(mt, store), added, refreshed


def _regenotyped(store: str | Path, vcf: str | Path) -> bool:
    """True when ``vcf`` holds exactly the store's samples but is not the file the store was built from: the
    same cohort was genotyped again (new reference regions, callers, filters), so every sample's genotypes
    are stale and only a full build is right. A VCF that brings new samples is an incremental addition."""
    import hail as hl

    mt = read(store)
    if set(records.vcf_samples(vcf)) != set(mt.s.collect()):
        return False
    built_from = dict(hl.eval(mt.bedside).vcfs)
    if built_from.get(str(vcf)) == records.sha256(vcf):
        return False
    log.info("%s holds the store's samples but differs from what the store was built from: full rebuild", vcf)
    return True


def build_or_update(vcf: str | Path, out: str | Path, *, cases: list[str | Path] = (),
                    clinical: str | Path | None = None, sample_sheet: str | Path | None = None,
                    build: str | None = None, fai: str | Path | None = None) -> dict:
    """Incremental build: with no store yet, a full :func:`build`; otherwise only the VCF samples not yet in
    the store are imported (their columns of ``vcf``) and only case records whose sha256 changed are
    replaced. Samples already in the store keep the genotypes they were imported with; when ``vcf`` holds
    exactly the store's samples but changed (the cohort was genotyped again), the store is rebuilt in full."""
    if not Path(out, "metadata.json.gz").exists() or _regenotyped(out, vcf):
        build_(vcf, out, cases=cases, clinical=clinical, sample_sheet=sample_sheet, build=build, fai=fai)
        return {"mode": "full", "added": records.vcf_samples(vcf), "refreshed": []}
    _, added, refreshed = update(out, vcfs=[vcf], cases=cases, clinical=clinical, sample_sheet=sample_sheet,
                                 fai=fai)
    return {"mode": "incremental", "added": added, "refreshed": refreshed}


def columns(mt):
    """The column records as pandas (one row per sample, nested fields as Python objects)."""
    return mt.cols().to_pandas(flatten=False)
