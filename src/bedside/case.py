"""Gather one patient's stage outputs into a :class:`~bedside.model.Case` (what case.json holds).

This module only joins: each piece of science is done by its own module (annotate, knowledge, pgx,
clinical, biomarkers); here the pieces are read and passed along. Every list the outputs show (therapy
options, biomarkers, the prescribing view) is decided here once and stored, so the report, the FHIR bundle
and the cohort summary read the same record and never recompute.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from bedside import RESEARCH_USE_NOTICE, __version__
from bedside.errors import InputError
from bedside.model import (
    Biomarker,
    Case,
    Diplotype,
    Finding,
    Origin,
    PatientContext,
    QCMetric,
    Recommendation,
    from_dict,
)


def _load_json(path: str | Path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise InputError("file not found", path=path) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from exc


def load_context(path: str | Path) -> PatientContext:
    return from_dict(PatientContext, _load_json(path))


def load_qc(path: str | Path) -> list[QCMetric]:
    return [from_dict(QCMetric, m) for m in _load_json(path)]


def load_pgx(path: str | Path, sample: str | None) -> tuple[list[Diplotype], list[Recommendation]]:
    """Read `bedside pgx --out-json` output for one sample."""
    from bedside import pgx

    return pgx.read_json(path, sample)


def tool_versions() -> dict[str, str]:
    versions = {"bedside": __version__}
    for tool, args in (
        ("bwa", []),
        ("samtools", ["--version"]),
        ("bcftools", ["--version"]),
        ("fastp", ["--version"]),
        ("mosdepth", ["--version"]),
    ):
        try:
            res = subprocess.run([tool, *args], capture_output=True, text=True, errors="replace", check=False)
        except FileNotFoundError:
            versions[tool] = "not installed where the case record was built"
            continue
        text = (res.stdout + res.stderr).strip().splitlines()
        line = next((ln for ln in text if "version" in ln.lower() or ln.startswith(tool)), "")
        if tool == "bwa":
            line = next((ln for ln in text if ln.startswith("Version")), line)
        versions[tool] = line.replace("Version:", "").strip() or "version not reported"
    return versions


# ------------------------------------------------------------------ resource versions

_VERSION_KEYS = ("fileDate", "source", "version", "reference", "gnomAD_version", "dbSNP_BUILD_ID")


def vcf_header_version(path: str | Path) -> str:
    """What a VCF's header says about its release: ##source, ##fileDate, ##version (never empty).

    Returns ``"not recorded in <file>"`` when the header has none of them and ``"<file> not found"`` when
    the file is absent.
    """
    path = Path(path)
    if not path.exists():
        return f"{path} not found"
    found: dict[str, str] = {}
    opener = gzip.open if path.suffix in (".gz", ".bgz") else open
    try:
        with opener(path, "rt", errors="replace") as fh:
            for line in fh:
                if not line.startswith("##"):
                    break
                key, _, value = line[2:].rstrip("\n").partition("=")
                if key in _VERSION_KEYS and key not in found and value:
                    found[key] = value.strip()
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read VCF header: {exc}", path=path) from exc
    parts = [
        found[k] if k == "source" else f"{k} {found[k]}"
        for k in _VERSION_KEYS
        if k in found and k != "reference"
    ]
    if not parts:
        return f"not recorded in {path}"
    return f"{'; '.join(parts)} ({path.name})"


def vcf_header_lines(vcf: str | Path | None, prefix: str = "##bedside_") -> dict[str, str]:
    """``##bedside_<key>=value`` header lines of a (b)gzipped VCF (first occurrence of each key)."""
    out: dict[str, str] = {}
    if not vcf or not Path(vcf).exists():
        return out
    with gzip.open(vcf, "rt", errors="replace") as fh:
        for line in fh:
            if not line.startswith("##"):
                break
            if line.startswith(prefix) and "=" in line:
                key, _, value = line[len(prefix) :].rstrip("\n").partition("=")
                out.setdefault(key, value.strip())
    return out


def _url_path(value: str) -> str:
    return value[len("file://") :] if value.startswith("file://") else value


def resource_versions(
    population: str | None, clinvar: str | None, annotated: list[str | None]
) -> dict[str, str]:
    """Population and ClinVar resource versions, read from the resource VCF's own header (##source,
    ##fileDate, ##version). The resource is the one given, else the one a stage VCF names in a
    ``##bedside_population=`` / ``##bedside_clinvar=`` header line; "not configured" when neither
    (never null).
    """
    named: dict[str, str] = {}
    for vcf in annotated:
        for k, v in vcf_header_lines(vcf).items():
            if k in ("population", "clinvar"):
                named.setdefault(k, _url_path(v))
    out = {}
    for key, label, path in (
        ("population", "population frequencies", population),
        ("clinvar", "ClinVar", clinvar),
    ):
        path = path or named.get(key)
        out[label] = vcf_header_version(path) if path else f"not configured (no resources.{key} in the run)"
    return out


def knowledge_versions(kb, pgx_json: dict | None) -> dict[str, str]:
    from bedside import knowledge
    from bedside.clinical.rules import load_rules

    out = dict(knowledge.versions(kb))
    out["interaction rules"] = f"bedside-rules {load_rules()[0]}"
    out["CPIC"] = cpic_version(pgx_json)
    return out


def cpic_version(pgx_json: dict | None) -> str:
    """The CPIC content version: the bundled subset's PharmCAT data version, or the user's folder."""
    source = Path(__file__).parent / "pgx" / "data" / "SOURCE.md"
    guidelines = (pgx_json or {}).get("guidelines", "bundled CPIC subset")
    if guidelines == "bundled CPIC subset":
        m = re.search(r"PharmCAT data version ([0-9-]+)", source.read_text()) if source.exists() else None
        return (
            f"bundled CPIC subset (PharmCAT data version {m.group(1)})"
            if m
            else f"bundled CPIC subset (version not recorded in {source})"
        )
    return f"CPIC guideline files in {guidelines} (per-guideline versions cited with each recommendation)"


def definitions_version(definitions: str | None) -> str | None:
    if not definitions:
        return None
    files = sorted(Path(definitions).glob("*_translation.json"))
    if not files:
        return f"no *_translation.json in {definitions}"
    try:
        versions = sorted({json.loads(f.read_text()).get("version") or "?" for f in files})
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read allele definitions: {exc}", path=definitions) from exc
    return f"PharmCAT-format allele definitions {', '.join(versions)} ({definitions})"


# ------------------------------------------------------------------ assay scope


def median_depth(dist: str | Path) -> float | None:
    """Median depth from a mosdepth ``*.dist.txt`` (cumulative: proportion of bases at >= depth, 'total')."""
    dist = Path(dist)
    if not dist.exists():
        raise InputError("mosdepth distribution file not found", path=dist)
    best = None
    with open(dist) as fh:
        for lineno, line in enumerate(fh, 1):
            f = line.rstrip("\n").split("\t")
            if len(f) != 3:
                raise InputError("mosdepth dist line needs chrom, depth, proportion", path=dist, line=lineno)
            if f[0] != "total":
                continue
            try:
                depth, prop = int(f[1]), float(f[2])
            except ValueError as exc:
                raise InputError(f"bad mosdepth dist value: {exc}", path=dist, line=lineno) from exc
            if prop >= 0.5 and (best is None or depth > best):
                best = depth
    return None if best is None else float(best)


def gene_mean_depth(regions: str | Path) -> dict[str, float]:
    """Length-weighted mean depth per gene from a mosdepth ``*.regions.bed.gz`` (``--by`` a named BED)."""
    regions = Path(regions)
    if not regions.exists():
        raise InputError("mosdepth regions file not found", path=regions)
    bases: dict[str, float] = {}
    length: dict[str, int] = {}
    opener = gzip.open if regions.suffix == ".gz" else open
    with opener(regions, "rt") as fh:
        for lineno, line in enumerate(fh, 1):
            f = line.rstrip("\n").split("\t")
            if len(f) < 5:
                raise InputError(
                    "expected chrom, start, end, gene, mean depth (mosdepth --by a named BED)",
                    path=regions,
                    line=lineno,
                )
            try:
                n = int(f[2]) - int(f[1])
                mean = float(f[4])
            except ValueError as exc:
                raise InputError(f"bad mosdepth region value: {exc}", path=regions, line=lineno) from exc
            bases[f[3]] = bases.get(f[3], 0.0) + mean * n
            length[f[3]] = length.get(f[3], 0) + n
    return {g: round(bases[g] / length[g], 1) for g in sorted(bases) if length[g]}


def coverage_fraction(coverage: str | Path, min_depth: int, by_gene: dict) -> dict[str, float]:
    """Fraction of each gene's coding bases at depth >= min_depth, from a mosdepth quantized/per-base BED."""
    from bedside import biomarkers
    from bedside.calling.somatic import read_callable

    callable_iv = biomarkers.merge(
        {c: [(int(s), int(e)) for s, e in v] for c, v in read_callable(Path(coverage), min_depth).items()}
    )
    out = {}
    for gene, iv in by_gene.items():
        total = biomarkers.total_bp(iv)
        if total:
            out[gene] = round(biomarkers.total_bp(biomarkers.intersect(iv, callable_iv)) / total, 4)
    return out


def build_assay(
    *,
    tmb: dict | None,
    gff3: str | None,
    targets: str | None,
    build: str = "",
    somatic_vcf: str | None = None,
    samples: dict[str, str | None] | None = None,
    dist: dict[str, str | None] | None = None,
    regions: dict[str, str | None] | None = None,
    coverage: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """Assay scope for the report's first page and limitations (keys read by bedside.report.prepare).

    ``dist``/``regions``/``coverage`` map role (tumor, normal) to a mosdepth ``*.dist.txt``, a
    ``*.regions.bed.gz`` (``--by`` the named coding BED) and a quantized/per-base BED respectively.
    """
    samples, dist, regions, coverage = samples or {}, dist or {}, regions or {}, coverage or {}
    assay: dict[str, Any] = {
        "name": Path(targets).name if targets else "whole reference",
        "kind": "targets" if targets else "whole reference",
        "build": build or None,
        "targets": str(targets) if targets else None,
        "genes": [],
        "target_mb": None,
        "callable_mb": None,
        "coding_callable_mb": None,
        "min_depth": None,
        "min_vaf": None,
        "min_alt_reads": None,
        "variant_classes": ["SNV", "MNV", "indel"],
        "median_depth": {"tumor": None, "normal": None},
        "coverage": [],
    }
    if targets:
        from bedside import biomarkers

        assay["target_mb"] = round(biomarkers.total_bp(biomarkers.read_bed_intervals(targets)) / 1e6, 4)
    params = vcf_header_lines(somatic_vcf).get("somatic_params") if somatic_vcf else None
    if params:
        try:
            assay["min_vaf"] = json.loads(params).get("min_vaf")
        except json.JSONDecodeError as exc:
            raise InputError(f"bad ##bedside_somatic_params header: {exc.msg}", path=somatic_vcf) from exc
    if tmb:
        if tmb.get("callable_bp") is not None:
            assay["callable_mb"] = round(tmb["callable_bp"] / 1e6, 4)
        if tmb.get("coding_callable_bp") is not None:
            assay["coding_callable_mb"] = round(tmb["coding_callable_bp"] / 1e6, 4)
        assay["min_depth"] = tmb.get("min_depth")
    by_gene: dict = {}
    if gff3:
        from bedside import biomarkers

        by_gene = biomarkers.coding_by_gene(gff3)
        if targets:
            tiv = biomarkers.read_bed_intervals(targets)
            by_gene = {g: biomarkers.intersect(iv, tiv) for g, iv in by_gene.items()}
            by_gene = {g: iv for g, iv in by_gene.items() if biomarkers.total_bp(iv)}
        assay["genes"] = sorted(by_gene)
    min_depth = int(assay["min_depth"] or 20)
    for role in ("tumor", "normal"):
        if dist.get(role):
            assay["median_depth"][role] = median_depth(dist[role])
        means = gene_mean_depth(regions[role]) if regions.get(role) else {}
        fracs = (
            coverage_fraction(coverage[role], min_depth, by_gene) if coverage.get(role) and by_gene else {}
        )
        for gene in sorted(set(means) | set(fracs)):
            assay["coverage"].append(
                {
                    "gene": gene,
                    "role": role,
                    "sample": samples.get(role),
                    "mean_depth": means.get(gene),
                    "fraction_at_min_depth": fracs.get(gene),
                }
            )
    return assay


def generated_timestamp() -> str:
    """ISO time of generation; SOURCE_DATE_EPOCH (reproducible-builds.org) when set, for identical bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            when = _dt.datetime.fromtimestamp(int(epoch), _dt.UTC)
        except (ValueError, OverflowError) as exc:
            raise InputError(f"SOURCE_DATE_EPOCH must be integer seconds, got {epoch!r}") from exc
    else:
        when = _dt.datetime.now(_dt.UTC)
    return when.isoformat(timespec="seconds")


def build_case(
    patient: str,
    context: PatientContext,
    *,
    tumor_sample: str | None = None,
    normal_sample: str | None = None,
    somatic_vcf: str | None = None,
    germline_vcf: str | None = None,
    pgx_json: str | None = None,
    tmb_json: str | None = None,
    qc: list[QCMetric] | None = None,
    knowledge_paths: list[str] | None = None,
    build: str = "",
    population: str | None = None,
    clinvar: str | None = None,
    gff3: str | None = None,
    targets: str | None = None,
    tumor_dist: str | None = None,
    normal_dist: str | None = None,
    tumor_regions: str | None = None,
    normal_regions: str | None = None,
    tumor_coverage: str | None = None,
    normal_coverage: str | None = None,
    pgx_definitions: str | None = None,
) -> Case:
    from bedside import annotate, biomarkers, clinical, knowledge

    if context.patient_id != patient:
        raise InputError(f"clinical context is for patient '{context.patient_id}', not '{patient}'")
    kb = knowledge.load_knowledge(knowledge_paths or None)
    case = Case(
        patient_id=patient,
        context=context,
        tumor_sample=tumor_sample,
        normal_sample=normal_sample,
        qc=qc or [],
    )
    case.notices.append(RESEARCH_USE_NOTICE)
    tumor_type = context.diagnosis
    if somatic_vcf:
        somatic: list[Finding] = annotate.read_findings(somatic_vcf, Origin.SOMATIC, sample=tumor_sample,
                                                        require_annotation=True)
        if tumor_type:
            somatic = knowledge.tier_findings(somatic, tumor_type, kb)
        else:
            case.notices.append(
                "No diagnosis (OncoTree code) in the clinical record: somatic "
                "variants were not tiered against tumor-type-specific evidence."
            )
        case.somatic = somatic
    if germline_vcf:
        germ = annotate.read_findings(germline_vcf, Origin.GERMLINE, sample=normal_sample,
                                     require_annotation=True)
        case.germline = knowledge.germline_findings(germ)
        if tumor_type:
            case.germline = knowledge.germline_evidence(case.germline, tumor_type, kb)
    diplotypes: list[Diplotype] = []
    pgx_recs: list[Recommendation] = []
    pgx_meta = None
    if pgx_json:
        diplotypes, pgx_recs = load_pgx(pgx_json, normal_sample)
        pgx_meta = {k: v for k, v in _load_json(pgx_json).items() if k != "samples"}
    case.pgx = diplotypes
    # therapy options: decided once by bedside.knowledge, stored, read by every output
    case.therapy_options = knowledge.therapy_options(case.somatic + case.germline)
    therapies = knowledge.therapies(case.somatic + case.germline)
    case.rules = clinical.evaluate(context, therapies, diplotypes, pgx_recs)
    case.recommendations = pgx_recs
    case.prescribing = clinical.prescribing_view(context, therapies, diplotypes, pgx_recs, case.rules)
    tmb = None
    if tmb_json:
        tmb = _load_json(tmb_json)
        case.biomarkers = biomarkers.biomarkers_from_tmb_json(tmb)
    elif somatic_vcf:
        case.biomarkers = [biomarkers.tmb_biomarker(None, None, reason="TMB was not computed for this run")]
    tmb_b: Biomarker | None = biomarkers.iter_codes(case.biomarkers, "TMB")
    # back-compat fields: the per-Mb value only when assessable (never a figure the verdict withholds)
    if tmb_b is not None:
        case.tmb = tmb_b.value if tmb_b.status == "assessable" else None
        case.callable_mb = tmb_b.territory_mb
    case.assay = build_assay(
        tmb=tmb,
        gff3=gff3,
        targets=targets,
        build=build,
        somatic_vcf=somatic_vcf,
        samples={"tumor": tumor_sample, "normal": normal_sample},
        dist={"tumor": tumor_dist, "normal": normal_dist},
        regions={"tumor": tumor_regions, "normal": normal_regions},
        coverage={"tumor": tumor_coverage, "normal": normal_coverage},
    )
    case.versions = {
        **tool_versions(),
        **knowledge_versions(kb, pgx_meta),
        **resource_versions(population, clinvar, [somatic_vcf, germline_vcf]),
    }
    defs = definitions_version(pgx_definitions or (pgx_meta or {}).get("definitions"))
    if defs:
        case.versions["PGx allele definitions"] = defs
    if gff3:
        case.versions["gene annotation"] = Path(gff3).name
    if build:
        case.versions["reference build"] = build
    case.generated = generated_timestamp()
    failed = [m for m in case.qc if m.passed is False]
    if failed:
        case.notices.append(
            "QC gates failed: "
            + ", ".join(
                f"{m.sample} {m.metric} {m.value} (needs {m.comparison} {m.threshold})" for m in failed
            )
            + ". Interpret findings with caution."
        )
    return case
