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
    CopyNumberCall,
    CopyNumberProfile,
    Diplotype,
    Finding,
    FusionCall,
    MetExon14Event,
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


def recorded_tool_versions(bams: list[str] | None = None, vcfs: list[str | None] | None = None,
                           fastp_jsons: list[str] | None = None) -> dict[str, str]:
    """Tool versions as recorded by the jobs that ran them, read from their outputs: the BAMs' @PG lines
    (bwa, samtools), the VCFs' ``##bcftools_<command>Version`` and ``##bedside_<tool>Version`` lines (bcftools,
    freebayes: written by the calling jobs) and fastp's JSON report.
    Each value names the file it came from; tools no output records are left to :func:`tool_versions`."""
    import pysam

    found: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}

    def add(tool: str, version: str, path: str) -> None:
        found.setdefault(tool, set()).add(version)
        sources.setdefault(tool, set()).add(Path(path).name)

    for bam in bams or []:
        try:
            header = pysam.AlignmentFile(bam, "rb", check_sq=False).header.to_dict()
        except (OSError, ValueError):
            continue
        for pg in header.get("PG", []):
            if pg.get("PN") in ("bwa", "samtools") and pg.get("VN"):
                add(pg["PN"], pg["VN"], bam)
    for vcf in [v for v in (vcfs or []) if v]:
        try:
            with pysam.VariantFile(vcf) as vf:
                for rec in vf.header.records:
                    m = re.fullmatch(r"bcftools_\w+Version|bedside_(\w+)Version", rec.key or "")
                    if m and rec.value:
                        add(m.group(1) or "bcftools", rec.value.split("+")[0], vcf)
        except (OSError, ValueError):
            continue
    for js in fastp_jsons or []:
        try:
            version = json.loads(Path(js).read_text()).get("summary", {}).get("fastp_version")
        except (OSError, ValueError):
            continue
        if version:
            add("fastp", version, js)
    return {tool: f"{', '.join(sorted(found[tool]))} (recorded in {', '.join(sorted(sources[tool]))})"
            for tool in sorted(found)}


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


def _bad(path, exc: Exception, what: str) -> InputError:
    return InputError(f"not a valid {what} ({type(exc).__name__}: {exc})", path=path)


def load_copy_number(genes: str | None, segments: str | None, summary: str | None,
                     plot: str | None = None):
    """CNV outputs (bedside cnv) -> (CopyNumberProfile with the non-neutral gene calls, segments or None)."""
    from bedside.calling import cnv

    fit: dict = {}
    method = None
    calls_json: list[dict] = []
    if summary:
        d = _load_json(summary)
        try:
            fit = d["fit"]
            method = d.get("method")
            calls_json = d.get("calls", [])
            fit["status"]  # noqa: B018
        except (KeyError, TypeError) as exc:
            raise _bad(summary, exc, "cnv.json (needs fit.status)") from exc
    calls: list[CopyNumberCall] = []
    if genes:
        try:
            gene_calls = cnv.read_gene_calls(genes)
        except (KeyError, ValueError, IndexError, OSError) as exc:
            raise _bad(genes, exc, "gene-level copy-number table (genes.tsv)") from exc
        calls = [CopyNumberCall(gene=g.gene, call=g.call, chrom=g.chrom, start=g.start, end=g.end,
                                copy_number=g.copy_number, minor_cn=g.minor_cn, log2=g.log2, n_bins=g.n_bins,
                                basis=g.basis) for g in gene_calls if g.call != "neutral"]
    elif calls_json:
        try:
            calls = [CopyNumberCall(gene=c["gene"], call=c["call"], chrom=c.get("chrom"), start=c.get("start"),
                                    end=c.get("end"), copy_number=c.get("copy_number"),
                                    minor_cn=c.get("minor_cn"), log2=c.get("log2"), n_bins=c.get("n_bins"),
                                    basis=c.get("basis")) for c in calls_json if c.get("call") != "neutral"]
        except (KeyError, TypeError, AttributeError) as exc:
            raise _bad(summary, exc, "cnv.json calls list") from exc
    segs = None
    if segments:
        try:
            segs = cnv.read_segments(segments)
        except (KeyError, ValueError, IndexError, OSError) as exc:
            raise _bad(segments, exc, "copy-number segment table (segments.tsv)") from exc
    if plot and not Path(plot).is_file():
        raise InputError("copy-number plot not found", path=plot)
    order = {"homozygous_deletion": 0, "amplification": 1, "cn_loh": 2, "loss": 3, "gain": 4}
    calls.sort(key=lambda c: (order.get(c.call, 9), c.gene))
    profile = CopyNumberProfile(
        status=fit.get("status", "not_assessable" if not summary else "assessable"),
        purity=fit.get("purity"), ploidy=fit.get("ploidy"),
        reason=fit.get("reason") or (None if summary else "purity fit (cnv.json) not provided"),
        purity_from_vafs=fit.get("purity_from_vafs"), vaf_agreement=fit.get("vaf_agreement"), method=method,
        n_segments=len(segs) if segs is not None else None, calls=calls, plot=str(plot) if plot else None,
        sex=fit.get("sex"))
    return profile, segs


def sex_mismatch(genetic: str | None, clinical: str | None) -> str | None:
    """The clinical sex when it contradicts the genetic sex from X depth ("male (one X)" / "female (two X)");
    None when they agree or either is unknown (other clinical values are not compared)."""
    if not genetic or not clinical:
        return None
    g = genetic.split()[0].lower()
    c = clinical.strip().lower()
    if c not in ("male", "female") or g not in ("male", "female"):
        return None
    return clinical if g != c else None


def tumor_vafs(somatic_vcf: str | None, tumor_sample: str | None, germline: list[Finding]) -> dict[str, float]:
    """Tumor allele fraction (FORMAT/AD) of each germline variant from the somatic VCF, which keeps
    germline-filtered records; variants absent there are left out."""
    if not somatic_vcf or not tumor_sample or not germline:
        return {}
    import pysam

    wanted = {f.variant.key for f in germline}
    out: dict[str, float] = {}
    try:
        with pysam.VariantFile(str(somatic_vcf)) as vf:
            if tumor_sample not in vf.header.samples:
                return {}
            for f in germline:
                v = f.variant
                try:
                    recs = vf.fetch(v.chrom, v.pos - 1, v.pos)
                except ValueError:  # no index or contig: not assessable from this file
                    return out
                for rec in recs:
                    if rec.pos != v.pos or rec.ref != v.ref or v.alt not in (rec.alts or ()):
                        continue
                    ad = rec.samples[tumor_sample].get("AD")
                    i = rec.alts.index(v.alt) + 1
                    if ad and len(ad) > i and ad[0] is not None and ad[i] is not None and ad[0] + ad[i] > 0:
                        key = v.key
                        if key in wanted:
                            out[key] = ad[i] / (ad[0] + ad[i])
    except OSError as exc:
        raise InputError(f"cannot read tumor allele counts ({exc})", path=somatic_vcf) from exc
    return out


def set_tumor_zygosity(germline: list[Finding], segments, purity: float | None,
                       vafs: dict[str, float] | None = None) -> None:
    """Zygosity in the tumor of each germline finding (LOH / retained) from the allele-specific segments;
    with the tumor VAF, which allele the tumor kept (the variant: a second hit)."""
    from bedside.calling import cnv

    for f in germline:
        f.tumor_zygosity = cnv.germline_zygosity(segments, f.variant.chrom, f.variant.pos,
                                                 (vafs or {}).get(f.variant.key), purity)


def sv_not_assessable(path: str) -> str | None:
    """The reason `bedside sv` gave for not assessing SVs (too little data), or None."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable fusions.json: {exc}", path=path) from exc
    return doc.get("reason") if isinstance(doc, dict) and doc.get("status") == "not_assessable" else None


def load_fusions(path: str):
    """fusions.json (bedside sv) -> (FusionCall list, MetExon14Event list)."""
    from bedside.calling import sv

    try:
        fusions, met = sv.read_fusions(path)
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise _bad(path, exc, "fusions.json") from exc
    fc = [FusionCall(gene5=f.gene5, gene3=f.gene3, frame=f.frame, transcript5=f.transcript5,
                     transcript3=f.transcript3, breakpoint5=f.breakpoint5, breakpoint3=f.breakpoint3,
                     region5=f.region5, region3=f.region3, svtype=f.svtype, tumor_pairs=f.tumor_pairs,
                     tumor_split=f.tumor_split, normal_alt=f.normal_alt, known_partner=f.known_partner,
                     relevant=f.relevant, junction=f.junction, filter=f.filter, sv_id=f.sv_id) for f in fusions]
    fc.sort(key=lambda f: (not f.relevant, f.frame != "in-frame", f.gene5, f.gene3))
    me = [MetExon14Event(record=m.record, mechanism=m.mechanism, source=m.source, chrom=m.chrom, start=m.start,
                         end=m.end, tumor_support=m.tumor_support) for m in met]
    return fc, me


def load_msi(path: str) -> Biomarker:
    from bedside.calling import msi

    try:
        return msi.to_biomarker(path)
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(path, exc, "msi.json") from exc
    except OSError as exc:
        raise InputError(f"cannot read MSI result ({exc})", path=path) from exc


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


def case_identity(patient: str, tumor_sample: str | None, normal_sample: str | None,
                  identity_tsv: str | None = None, not_run_reason: str | None = None):
    """The patient's tumor-normal identity check for the case record: its row of the cohort identity table
    (``bedside cohort identity``), else "not run" with the reason."""
    from bedside.cohort import identity

    if not (tumor_sample and normal_sample):
        return identity.not_run("no matched tumor-normal pair (tumor-only or normal-only)", tumor_sample,
                                normal_sample)
    if identity_tsv:
        return identity.case_identity(identity_tsv, patient, tumor_sample, normal_sample)
    return identity.not_run(not_run_reason or "no identity table was given to `bedside case` (--identity)",
                            tumor_sample, normal_sample)


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
    cnv_genes: str | None = None,
    cnv_segments: str | None = None,
    cnv_json: str | None = None,
    cnv_plot: str | None = None,
    msi_json: str | None = None,
    fusions_json: str | None = None,
    bams: list[str] | None = None,
    fastp_jsons: list[str] | None = None,
    identity_tsv: str | None = None,
    identity_not_run: str | None = None,
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
    segments = None
    if cnv_genes or cnv_json or cnv_segments:
        case.copy_number, segments = load_copy_number(cnv_genes, cnv_segments, cnv_json, cnv_plot)
        if tumor_type:
            knowledge.tier_copy_number(case.copy_number.calls, tumor_type, kb)
        case.copy_number.sex_mismatch = sex_mismatch(case.copy_number.sex, context.sex)
        if case.copy_number.sex_mismatch:
            case.notices.append(
                f"Sex check failed: the X-chromosome depth of {normal_sample or tumor_sample} indicates "
                f"{case.copy_number.sex}, but the clinical record says {context.sex}. The samples may "
                "belong to another patient: confirm the sample identity before acting on this report.")
        if segments:
            set_tumor_zygosity(case.germline, segments, case.copy_number.purity,
                               tumor_vafs(somatic_vcf, tumor_sample, case.germline))
    sv_reason = None
    if fusions_json:
        sv_reason = sv_not_assessable(fusions_json)
        if sv_reason:
            case.notices.append(f"Structural variants and fusions not assessable: {sv_reason}.")
        case.fusions, case.met_exon14 = load_fusions(fusions_json)
        if tumor_type:
            knowledge.tier_fusions(case.fusions, tumor_type, kb)
            knowledge.tier_met_exon14(case.met_exon14, tumor_type, kb)
    tmb = None
    if tmb_json:
        tmb = _load_json(tmb_json)
        case.biomarkers = biomarkers.biomarkers_from_tmb_json(tmb)
    elif somatic_vcf:
        case.biomarkers = [biomarkers.tmb_biomarker(None, None, reason="TMB was not computed for this run")]
    if msi_json:
        case.biomarkers.append(load_msi(msi_json))
    if tumor_type:
        knowledge.tier_biomarkers(case.biomarkers, tumor_type, kb)
    # therapy options: decided once by bedside.knowledge, stored, read by every output
    events = [*case.somatic, *case.germline, *(case.copy_number.calls if case.copy_number else []),
              *case.fusions, *case.met_exon14, *case.biomarkers]
    case.therapy_options = knowledge.therapy_options(events)
    therapies = knowledge.therapies(events)
    case.rules = clinical.evaluate(context, therapies, diplotypes, pgx_recs)
    case.recommendations = pgx_recs
    case.prescribing = clinical.prescribing_view(context, therapies, diplotypes, pgx_recs, case.rules)
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
    ran = (["CNV"] if case.copy_number else []) + (["SV", "fusion"] if fusions_json and not sv_reason else []) \
        + (["MSI"] if msi_json else [])
    case.assay["variant_classes"] = [*case.assay.get("variant_classes", []), *ran]
    case.versions = {
        **{k: f"{v} (the case job's environment; no output records it)" if k != "bedside" else v
           for k, v in tool_versions().items()},
        **recorded_tool_versions(bams, [somatic_vcf, germline_vcf], fastp_jsons),
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
    if case.copy_number and case.copy_number.method:
        case.versions["copy number"] = case.copy_number.method
    case.generated = generated_timestamp()
    case.identity = case_identity(patient, tumor_sample, normal_sample, identity_tsv, identity_not_run)
    if case.identity.problem:
        from bedside.cohort.identity import problem_notice

        case.notices.append(problem_notice(case.identity))
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
