# The GPU engine (config `engine: parabricks`; docs/gpu.md): NVIDIA Parabricks aligns (pbrun fq2bam) and
# calls (pbrun deepvariant|haplotypecaller for the normals, pbrun mutectcaller for the tumors) on GPU
# nodes, writing the same files the CPU rules write, so everything downstream is unchanged. Defined only
# when engine == parabricks; `ruleorder` then prefers these rules over markdup, germline_gather and
# somatic_gather (whose chunked jobs are not planned at all). Argument lists come from
# bedside.calling.parabricks; each word reaches the shell quoted (`:q`).
import re

from bedside.calling import parabricks as bpb

PB = config["parabricks"]
PB_REF_DICT = "resources/reference/genome.dict"
# samples whose every unit is a FASTQ pair (a sample re-entering from a BAM keeps the CPU path)
PB_FASTQ_SAMPLES = [
    s
    for s in SAMPLES
    if SHEET.units_of(s) and all(not u.bam for u in SHEET.units_of(s))
]
# the Slurm request of a GPU job (snakemake-executor-plugin-slurm 2.8.0: gpu -> --gpus=[model:]N);
# memory and time grow with the attempt, as profiles/slurm makes them grow for the CPU rules
PB_RESOURCES = {
    "gpu": PB["gpus"],
    "cpus_per_task": PB["threads"],
    "mem_mb": lambda wc, attempt: PB["mem_mb"] * attempt,
    "runtime": lambda wc, attempt: PB["runtime"] * attempt,
}
if PB["gpu_model"]:
    PB_RESOURCES["gpu_model"] = PB["gpu_model"]
if PB["partition"]:
    PB_RESOURCES["slurm_partition"] = PB["partition"]
# the normal mutectcaller is given: the CPU path's choice (common.smk somatic_inputs)
PB_PAIRED = lambda wc: "normal" in somatic_inputs(wc)


if config["engine"] == "parabricks":

    ruleorder: pb_fq2bam > markdup
    ruleorder: pb_germline_filter > germline_gather
    ruleorder: pb_somatic_import > somatic_gather

    rule pb_reference_dict:
        input:
            REF,
        output:
            PB_REF_DICT,
        log:
            "logs/ref/pb_reference_dict.log",
        conda:
            "../envs/samtools.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        shell:
            "samtools dict {input:q} -o {output:q} 2> {log:q}"

    rule pb_fq2bam:
        # bwa mem + coordinate sort + duplicate marking of all units of one sample on the GPU: the BAM,
        # index and duplicate metrics markdup writes on the CPU path
        input:
            r1=lambda wc: [
                f"results/{wc.patient}/trimmed/{wc.sample}.{u.unit_name}.R1.fastq.gz"
                for u in SHEET.units_of(wc.sample)
            ],
            r2=lambda wc: [
                f"results/{wc.patient}/trimmed/{wc.sample}.{u.unit_name}.R2.fastq.gz"
                for u in SHEET.units_of(wc.sample)
            ],
            checked=lambda wc: [
                f"results/{wc.patient}/qc/fastq_check/{wc.sample}.{u.unit_name}.json"
                for u in SHEET.units_of(wc.sample)
            ],
            ref=REF,
            fai=FAI,
            idx=multiext(REF, ".amb", ".ann", ".bwt", ".pac", ".sa"),
        output:
            bam="results/{patient}/align/{sample}.bam",
            bai="results/{patient}/align/{sample}.bam.bai",
            metrics="results/{patient}/qc/{sample}.markdup.txt",
        log:
            "logs/{patient}/pb_fq2bam/{sample}.log",
        benchmark:
            "benchmarks/{patient}/pb_fq2bam/{sample}.tsv"
        wildcard_constraints:
            sample="|".join(map(re.escape, PB_FASTQ_SAMPLES)),
        container:
            PB["image"]
        threads: PB["threads"]
        resources:
            **PB_RESOURCES,
        params:
            cmd=lambda wc, input, output, resources: bpb.fq2bam_args(
                PB,
                input.ref,
                bpb.sample_pairs(SHEET, wc.sample, input.r1, input.r2),
                output.bam,
                output.metrics,
                resources.tmpdir,
            ),
        shell:
            "{params.cmd:q} > {log:q} 2>&1"

    rule pb_germline:
        input:
            bam=lambda wc: sample_bam(wc.sample),
            bai=lambda wc: sample_bai(wc.sample),
            ref=REF,
            fai=FAI,
            refdict=PB_REF_DICT,
        output:
            temp("results/{patient}/germline/pb/{sample}.raw.vcf"),
        log:
            "logs/{patient}/pb_germline/{sample}.log",
        benchmark:
            "benchmarks/{patient}/pb_germline/{sample}.tsv"
        wildcard_constraints:
            sample="|".join(map(re.escape, NORMALS)),
        container:
            PB["image"]
        threads: PB["threads"]
        resources:
            **PB_RESOURCES,
        params:
            cmd=lambda wc, input, output, resources: bpb.germline_args(
                PB, input.ref, input.bam, output[0], resources.tmpdir
            ),
        shell:
            "{params.cmd:q} > {log:q} 2>&1"

    rule pb_germline_filter:
        # the GPU caller's calls soft-filtered (FILTER LowQual) with the workflow's germline thresholds
        input:
            "results/{patient}/germline/pb/{sample}.raw.vcf",
        output:
            vcf="results/{patient}/germline/{sample}.vcf.gz",
            tbi="results/{patient}/germline/{sample}.vcf.gz.tbi",
        log:
            "logs/{patient}/pb_germline_filter/{sample}.log",
        wildcard_constraints:
            sample="|".join(map(re.escape, NORMALS)),
        conda:
            "../envs/bcftools.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=30,
        params:
            expr=bpb.germline_filter_expression(
                cfg("calling", "germline", "min_qual"),
                cfg("calling", "germline", "min_depth"),
            ),
        shell:
            "(bcftools filter --no-version -m + -s LowQual -e {params.expr:q} -Oz "
            "-o {output.vcf:q} {input:q} && tabix -p vcf {output.vcf:q}) 2> {log:q}"

    rule pb_mutectcaller:
        input:
            unpack(
                lambda wc: {
                    k: v
                    for k, v in somatic_inputs(wc).items()
                    if k in ("tumor", "tumor_bai", "normal", "normal_bai", "ref")
                }
            ),
            fai=FAI,
            refdict=PB_REF_DICT,
        output:
            "results/{patient}/somatic/pb/{patient}.mutect2.vcf",
        log:
            "logs/{patient}/pb_mutectcaller/{patient}.log",
        benchmark:
            "benchmarks/{patient}/pb_mutectcaller/{patient}.tsv"
        container:
            PB["image"]
        threads: PB["threads"]
        resources:
            **PB_RESOURCES,
        params:
            cmd=lambda wc, input, output, resources: bpb.mutect_args(
                PB,
                input.ref,
                input.tumor,
                tumor_of(wc.patient),
                output[0],
                input.normal if PB_PAIRED(wc) else None,
                normal_of(wc.patient) if PB_PAIRED(wc) else None,
                resources.tmpdir,
            ),
        shell:
            "{params.cmd:q} > {log:q} 2>&1"

    rule pb_somatic_import:
        # Mutect2's VCF -> the bedside somatic VCF (samples, FORMAT, filters downstream reads)
        input:
            unpack(
                lambda wc: {
                    k: v
                    for k, v in somatic_inputs(wc).items()
                    if k in ("ref", "pon", "population")
                }
            ),
            vcf="results/{patient}/somatic/pb/{patient}.mutect2.vcf",
            fai=FAI,
        output:
            vcf="results/{patient}/somatic/{patient}.vcf.gz",
            tbi="results/{patient}/somatic/{patient}.vcf.gz.tbi",
        log:
            "logs/{patient}/pb_somatic_import/{patient}.log",
        benchmark:
            "benchmarks/{patient}/pb_somatic_import/{patient}.tsv"
        conda:
            "../envs/bedside.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=30,
        params:
            names=lambda wc: ["--tumor-sample", tumor_of(wc.patient)]
            + (
                ["--normal-sample", normal_of(wc.patient)]
                if PB_PAIRED(wc)
                else ["--tumor-only"]
            ),
            resources=lambda wc, input: [
                word
                for key in ("pon", "population")
                if key in input.keys()
                for word in (f"--{key}", input[key])
            ],
            min_vaf=cfg("calling", "somatic", "min_vaf"),
            samples=config["samples"],
        shell:
            "bedside somatic import --caller mutect2 --vcf {input.vcf:q} --ref {input.ref:q} "
            "{params.names:q} {params.resources:q} --samples {params.samples:q} "
            "--patient {wildcards.patient:q} --min-vaf {params.min_vaf:q} --out {output.vcf:q} 2> {log:q}"
