import os
import shlex
import sys
from pathlib import Path

from bedside.errors import BedsideError
from bedside.io import sheets as bsheets
from bedside import plan as bplan
from bedside.io import preflight as bchecks


def _fail(message):
    """Stop before any job starts, with every problem found (each naming its file and row)."""
    sys.stderr.write(f"\nBedside: input error, nothing was run.\n{message}\n\n")
    raise SystemExit(2)


# 1. the configuration: unknown keys refused, types and ranges checked, defaults filled in from the
#    schema (the one source of the workflow's defaults)
# (relative to this file, so the workflow also works imported as a Snakemake module)
CONFIG_SCHEMA = Path(workflow.current_basedir).parent / "schemas" / "config.schema.yaml"
_config_problems = bchecks.config_problems(config, CONFIG_SCHEMA, workflow.configfiles)
if _config_problems:
    _fail("invalid configuration:\n  " + "\n  ".join(_config_problems))
bchecks.fill_defaults(config, CONFIG_SCHEMA)

# 2. every input file that can be checked without running a job, all problems listed at once
try:
    SHEET = bsheets.load_sheets(config["samples"], config["units"])
    _input_problems = []
except BedsideError as exc:
    SHEET, _input_problems = None, [str(exc)]
except (OSError, UnicodeDecodeError, ValueError) as exc:
    SHEET, _input_problems = None, [
        f"{config['samples']} / {config['units']}: cannot read: {exc}"
    ]
# (a cluster job re-parsing the workflow was checked by its main process)
if workflow.is_main_process:
    _input_problems += bchecks.input_problems(config, SHEET)
if _input_problems:
    _fail(
        f"{len(_input_problems)} problem(s) in the inputs:\n  "
        + "\n  ".join(p.replace("\n", "\n  ") for p in _input_problems)
    )
# 3. the scatter plan, from the reference's .fai and the targets only (bedside.plan): no job and no
#    parse (main process or cluster job) reads the genome or a BAM for it
try:
    CHUNKS = {
        c.name: c
        for c in bplan.plan_chunks(
            bplan.contig_lengths(config["reference"]["fasta"]),
            config["calling"]["chunk_size"],
            config["reference"].get("targets") or None,
            target_chunks=config["calling"]["target_chunks"],
            min_chunk_size=config["calling"]["min_chunk_size"],
        )
    }
except BedsideError as exc:
    _fail(exc)

PATIENTS = SHEET.patients()
SAMPLES = sorted(SHEET.samples)
NORMALS = sorted(s.sample_name for s in SHEET.normals())
TUMOR_PATIENTS = sorted({s.patient for s in SHEET.tumors()})
PAIRED_PATIENTS = sorted(
    p for p in TUMOR_PATIENTS if SHEET.sample_of(p, "normal") is not None
)
REF = "resources/reference/genome.fa"
FAI = "resources/reference/genome.fa.fai"
GFF = "resources/reference/genes.gff3"


wildcard_constraints:
    patient="|".join(PATIENTS),
    sample="|".join(SAMPLES),
    unit="|".join(sorted({u.unit_name for u in SHEET.units})),
    chunk=r"[0-9][0-9][0-9][0-9]+-[A-Za-z0-9._+-]+",
    kind="somatic|germline",


def cfg(*keys, default=None):
    node = config
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return default
        node = node[k]
    return node


def patient_of(sample):
    return SHEET.samples[sample].patient


def tumor_of(patient):
    s = SHEET.sample_of(patient, "tumor")
    return s.sample_name if s else None


def normal_of(patient):
    s = SHEET.sample_of(patient, "normal")
    return s.sample_name if s else None


def unit_of(wildcards):
    for u in SHEET.units_of(wildcards.sample):
        if u.unit_name == wildcards.unit:
            return u
    raise ValueError(f"unknown unit {wildcards.sample}/{wildcards.unit}")


def get_fastqs(wildcards):
    u = unit_of(wildcards)
    return {"r1": u.fq1, "r2": u.fq2} if u.fq2 else {"r1": u.fq1}


def get_unit_bams(wildcards):
    return [
        f"results/{wildcards.patient}/align/units/{wildcards.sample}.{u.unit_name}"
        + (".input.bam" if u.bam else ".fastq.bam")
        for u in SHEET.units_of(wildcards.sample)
    ]


def get_fastp_jsons():
    return [
        f"results/{patient_of(u.sample_name)}/qc/fastp/{u.sample_name}.{u.unit_name}.json"
        for u in SHEET.units
        if not u.bam
    ]


def get_fastq_checks():
    return [
        f"results/{patient_of(u.sample_name)}/qc/fastq_check/{u.sample_name}.{u.unit_name}.json"
        for u in SHEET.units
        if not u.bam
    ]


def sample_bam(sample):
    return f"results/{patient_of(sample)}/align/{sample}.bam"


def sample_bai(sample):
    return f"results/{patient_of(sample)}/align/{sample}.bam.bai"


def read_group(wildcards):
    s = SHEET.samples[wildcards.sample]
    return (
        f"@RG\\tID:{wildcards.sample}.{wildcards.unit}\\tSM:{wildcards.sample}"
        f"\\tLB:{wildcards.sample}\\tPL:{s.platform}\\tPU:{wildcards.unit}"
    )


def input_read_group_args(wildcards):
    """samtools addreplacerg -r arguments: one read group named after the sample sheet."""
    s = SHEET.samples[wildcards.sample]
    fields = [
        f"ID:{wildcards.sample}.{wildcards.unit}",
        f"SM:{wildcards.sample}",
        f"LB:{wildcards.sample}",
        f"PL:{s.platform}",
        f"PU:{wildcards.unit}",
    ]
    return [word for field in fields for word in ("-r", field)]


def chunk_region(wildcards):
    """The chunk's region(s) as a list of words (several when small contigs are packed together)."""
    return CHUNKS[wildcards.chunk].samtools


def resource_vcf(key):
    """Path of resource VCF ``key`` (population, clinvar) as the rules should read it: the configured
    file, or with reference.contig_map its copy renamed to the reference's contig names.
    """
    path = cfg("resources", key)
    if path and cfg("reference", "contig_map"):
        return f"resources/renamed/{key}.vcf.gz"
    return path


def optional(key_path):
    """A resource path from the config, or [] when unset (for rule inputs)."""
    value = cfg(*key_path)
    return value if value else []


# Argument helpers return lists of words; the rules format them with `:q`, so every word reaches the
# tool as one argument whatever characters a configured value or path holds.


def extra_args(tool):
    """The user's extra arguments for ``tool`` (config params.<tool>) split like a shell would."""
    return shlex.split(cfg("params", tool, default="") or "")


def clinical_source_args():
    if cfg("clinical", "table"):
        return ["--table", cfg("clinical", "table")]
    if cfg("clinical", "omop"):
        return ["--omop", cfg("clinical", "omop")]
    return []


def targets_opt(flag):
    """[flag, targets BED] when reference.targets is set, else [] (for a :q-quoted params list)."""
    targets = cfg("reference", "targets")
    return [flag, targets] if targets else []


def targets_args():
    targets = cfg("reference", "targets")
    return ["--targets-file", targets] if targets else []


def germline_filter_args():
    return [
        "--min-qual",
        str(cfg("calling", "germline", "min_qual")),
        "--min-depth",
        str(cfg("calling", "germline", "min_depth")),
    ]


def qc_gate_args():
    args = []
    for name, value in (cfg("qc", default={}) or {}).items():
        args += ["--gate", f"{name}={value}"]
    return args


def get_final_outputs():
    outs = ["results/cohort/multiqc/multiqc_report.html", "results/cohort/summary.html"]
    for p in PATIENTS:
        outs += [
            f"results/{p}/report.html",
            f"results/{p}/report.json",
            f"results/{p}/report.fhir.json",
        ]
        if cfg("report", "pdf", default=True):
            outs.append(f"results/{p}/report.pdf")
    if len(NORMALS) > 1:
        outs.append("results/cohort/germline/joint.vcf.gz")
        if cfg("cohort", "enabled", default=True):
            outs += ["results/cohort/cohort.mt.json", "results/cohort/qc/sample_qc.tsv"]
            # tumor-normal identity is checked at common SNPs of the population resource
            if cfg("resources", "population"):
                outs += [
                    "results/cohort/identity/identity.tsv",
                    "results/cohort/cohort_platform.html",
                ]
    return outs


def somatic_inputs(wc):
    t = tumor_of(wc.patient)
    n = normal_of(wc.patient)
    inputs = {
        "tumor": sample_bam(t),
        "tumor_bai": sample_bai(t),
        "ref": REF,
    }
    if n and not cfg("calling", "somatic", "tumor_only", default=False):
        inputs["normal"] = sample_bam(n)
        inputs["normal_bai"] = sample_bai(n)
    if (
        cfg("calling", "somatic", "panel_of_normals", default=True)
        and len(NORMALS) >= 2
    ):
        inputs["pon"] = "results/cohort/pon/pon.vcf.gz"
    if cfg("resources", "population"):
        inputs["population"] = resource_vcf("population")
    return inputs


def somatic_args(wc, input):
    args = ["--normal", input.normal] if "normal" in input.keys() else ["--tumor-only"]
    for key in ("pon", "population"):
        if key in input.keys():
            args += [f"--{key}", input[key]]
    if cfg("reference", "targets"):
        args += ["--regions-bed", cfg("reference", "targets")]
    return args


def annotate_inputs(wc):
    inputs = {"ref": REF, "gff3": GFF}
    if wc.kind == "somatic":
        inputs["vcf"] = f"results/{wc.patient}/somatic/{wc.patient}.vcf.gz"
    else:
        inputs["vcf"] = f"results/{wc.patient}/germline/{normal_of(wc.patient)}.vcf.gz"
    inputs.update(annotation_resource_inputs())
    if inputs.keys() & {"population", "clinvar"}:
        inputs["prepared"] = "resources/annotate-cache/prepared.txt"
    if cfg("reference", "transcripts"):
        inputs["transcripts"] = cfg("reference", "transcripts")
    return inputs


def annotation_resource_inputs():
    return {
        key: resource_vcf(key)
        for key in ("population", "clinvar")
        if cfg("resources", key)
    }


def annotate_args(wc, input):
    args = []
    for key in ("population", "clinvar", "transcripts"):
        if key in input.keys():
            args += [f"--{key}", input[key]]
    if "prepared" in input.keys():
        args += ["--cache-dir", "resources/annotate-cache"]
    return args


def case_inputs(wc):
    inputs = {
        "context": f"results/{wc.patient}/clinical/context.json",
        "qc": f"results/{wc.patient}/qc/qc.json",
    }
    if tumor_of(wc.patient):
        inputs["somatic"] = f"results/{wc.patient}/annotate/somatic.vcf.gz"
        inputs["tmb"] = f"results/{wc.patient}/somatic/tmb.json"
    if normal_of(wc.patient):
        inputs["germline"] = f"results/{wc.patient}/annotate/germline.vcf.gz"
        if cfg("resources", "pgx_definitions"):
            inputs["pgx"] = f"results/{wc.patient}/pgx/pgx.json"
    inputs["knowledge"] = cfg("resources", "knowledge", default=[]) or []
    inputs["gff3"] = GFF
    for key in ("population", "clinvar"):
        if cfg("resources", key):
            inputs[key] = resource_vcf(key)
    if tumor_of(wc.patient):
        d = f"results/{wc.patient}/cnv"
        inputs.update(
            cnv_genes=f"{d}/genes.tsv",
            cnv_segments=f"{d}/segments.tsv",
            cnv_json=f"{d}/cnv.json",
            cnv_plot=f"{d}/cnv.png",
        )
        if normal_of(wc.patient):
            inputs["msi"] = f"results/{wc.patient}/biomarkers/msi.json"
            inputs["fusions"] = f"results/{wc.patient}/sv/fusions.json"
    # the jobs that made the BAMs and trimmed the reads recorded their tool versions in them
    inputs["bams"] = [
        sample_bam(s) for s in (tumor_of(wc.patient), normal_of(wc.patient)) if s
    ]
    inputs["fastp_jsons"] = [
        f"results/{wc.patient}/qc/fastp/{u.sample_name}.{u.unit_name}.json"
        for u in SHEET.units
        if not u.bam and patient_of(u.sample_name) == wc.patient
    ]
    # the cohort's tumor-normal identity check (rules/cohort_hail.smk) when it runs; it is made from the
    # BAMs and the population resource, never from case records (no cycle)
    if (
        tumor_of(wc.patient)
        and normal_of(wc.patient)
        and len(NORMALS) > 1
        and cfg("cohort", "enabled", default=True)
        and cfg("resources", "population")
    ):
        inputs["identity"] = "results/cohort/identity/identity.tsv"
    for role, sample in (
        ("tumor", tumor_of(wc.patient)),
        ("normal", normal_of(wc.patient)),
    ):
        if sample:
            prefix = f"results/{wc.patient}/qc/mosdepth/{sample}"
            inputs[f"{role}_dist"] = f"{prefix}.mosdepth.region.dist.txt"
            inputs[f"{role}_regions"] = f"{prefix}.regions.bed.gz"
            inputs[f"{role}_coverage"] = f"{prefix}.quantized.bed.gz"
    return inputs


def case_args(wc, input):
    args = ["--tumor-sample", tumor_of(wc.patient)] if tumor_of(wc.patient) else []
    if normal_of(wc.patient):
        args += ["--normal-sample", normal_of(wc.patient)]
    for key in ("somatic", "germline", "pgx", "tmb"):
        if key in input.keys():
            args += [f"--{key}", input[key]]
    for kb in input.knowledge:
        args += ["--knowledge", kb]
    if input.bams:
        args += ["--bam", *input.bams]
    if input.fastp_jsons:
        args += ["--fastp-json", *input.fastp_jsons]
    for key in (
        "gff3",
        "population",
        "clinvar",
        "tumor_dist",
        "tumor_regions",
        "tumor_coverage",
        "normal_dist",
        "normal_regions",
        "normal_coverage",
        "cnv_genes",
        "cnv_segments",
        "cnv_json",
        "cnv_plot",
        "msi",
        "fusions",
    ):
        if key in input.keys():
            args += [f"--{key.replace('_', '-')}", input[key]]
    if "identity" in input.keys():
        args += ["--identity", input.identity]
    elif tumor_of(wc.patient) and normal_of(wc.patient):
        if len(NORMALS) < 2:
            why = "the identity check runs with two or more normals in the cohort"
        elif not cfg("cohort", "enabled", default=True):
            why = "the cohort platform is off (cohort.enabled: false)"
        else:
            why = "no population resource (resources.population) to choose common SNPs from"
        args += ["--identity-not-run", why]
    args += targets_opt("--targets")
    return args


# ---- biomarkers beyond small variants (rules/biomarkers.smk)


def biomarker_pair(wc):
    t, n = tumor_of(wc.patient), normal_of(wc.patient)
    inputs = {"tumor": sample_bam(t), "tumor_bai": sample_bai(t), "ref": REF}
    if n:
        inputs["normal"] = sample_bam(n)
        inputs["normal_bai"] = sample_bai(n)
    return inputs


def cnv_chunk_inputs(wc):
    inputs = biomarker_pair(wc)
    n = normal_of(wc.patient)
    if n:
        inputs["germline"] = f"results/{wc.patient}/germline/{n}.vcf.gz"
    return inputs


def cnv_inputs(wc):
    inputs = cnv_chunk_inputs(wc)
    inputs["gff3"] = GFF
    inputs["somatic"] = f"results/{wc.patient}/somatic/{wc.patient}.vcf.gz"
    return inputs


def cnv_args(wc, input):
    args = ["--gff3", input.gff3, "--somatic-vcf", input.somatic]
    return args + cnv_chunk_args(wc, input)


def cnv_chunk_args(wc, input):
    """The normal (or panel of normals), SNP sites, targets and bin size: what the coverage chunks and
    the genome-wide `bedside cnv` job must agree on."""
    args = []
    if "normal" in input.keys():
        args += ["--normal", input.normal, "--germline-vcf", input.germline]
    elif len(NORMALS) >= 1:
        args += ["--pon", *[sample_bam(s) for s in NORMALS]]
    args += targets_opt("--targets")
    size = cfg("calling", "cnv", "bin_size")
    if size:
        args += ["--bin-size", str(size)]
    return args


def biomarker_chunk_region(wildcards):
    """The chunk's share of the genome for the scattered biomarker jobs (MSI counts, copy-number
    coverage): its regions, with targets also the stretch up to the next chunk, so the chunks tile
    the genome and the merged result is the unscattered one (bedside.biomarkers)."""
    from bedside.biomarkers import scatter_territory

    fasta = config["reference"]["fasta"]
    tiles = scatter_territory(CHUNKS.values(), bplan.contig_lengths(fasta))
    return tiles[wildcards.chunk]


# ---- the Hail cohort platform (rules/cohort_hail.smk)


def cohort_spark_args():
    master = cfg("cohort", "spark_master")
    args = ["--spark-master", master] if master else []
    memory = cfg("cohort", "driver_memory")
    return args + (["--driver-memory", memory] if memory else [])


def cohort_tn_bams():
    return [
        sample_bam(s)
        for p in PATIENTS
        if tumor_of(p) and normal_of(p)
        for s in (tumor_of(p), normal_of(p))
    ]


def cohort_platform_page():
    """The cohort platform page when the workflow makes one (same condition as in `all_outputs`), so the
    cohort summary can link it."""
    if (
        len(NORMALS) > 1
        and cfg("cohort", "enabled", default=True)
        and cfg("resources", "population")
    ):
        return ["results/cohort/cohort_platform.html"]
    return []


def cohort_platform_args(wc, input):
    return ["--platform", input.platform] if input.get("platform") else []
