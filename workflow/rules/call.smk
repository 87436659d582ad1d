# Germline calling on each normal and joint calling of the cohort's normals, scattered over genomic
# chunks (config calling.chunk_size; optional reference.targets BED; all-N chunks are skipped) and
# gathered per sample. Cohort: per-sample genotype-likelihood gVCFs, merged and genotyped jointly.


rule germline_chunk:
    input:
        bam=lambda wc: sample_bam(wc.sample),
        bai=lambda wc: sample_bai(wc.sample),
        ref=REF,
        fai=FAI,
    output:
        bcf=temp("results/{patient}/germline/chunks/{sample}.{chunk}.bcf"),
        csi=temp("results/{patient}/germline/chunks/{sample}.{chunk}.bcf.csi"),
    log:
        "logs/{patient}/germline_chunk/{sample}.{chunk}.log",
    benchmark:
        "benchmarks/{patient}/germline_chunk/{sample}.{chunk}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        region=chunk_region,
        targets=targets_args(),
        filters=germline_filter_args(),
        model=["--filter-model", cfg("calling", "germline", "filter_model")],
        assembly=[] if cfg("calling", "germline", "assembly") else ["--no-assembly"],
        caller=cfg("calling", "germline", "caller"),
    shell:
        "bedside germline call --bam {input.bam:q} --ref {input.ref:q} --region {params.region:q} "
        "{params.targets:q} {params.filters:q} {params.model:q} {params.assembly:q} "
        "--caller {params.caller:q} --out {output.bcf:q} 2> {log:q}"


rule germline_gather:
    input:
        bcf=lambda wc: expand(
            "results/{{patient}}/germline/chunks/{{sample}}.{chunk}.bcf", chunk=CHUNKS
        ),
        csi=lambda wc: expand(
            "results/{{patient}}/germline/chunks/{{sample}}.{chunk}.bcf.csi",
            chunk=CHUNKS,
        ),
    output:
        vcf="results/{patient}/germline/{sample}.vcf.gz",
        tbi="results/{patient}/germline/{sample}.vcf.gz.tbi",
    log:
        "logs/{patient}/germline_gather/{sample}.log",
    benchmark:
        "benchmarks/{patient}/germline_gather/{sample}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "bedside germline gather {input.bcf:q} --out {output.vcf:q} 2> {log:q}"


rule pgx_genotype:
    input:
        bam=lambda wc: sample_bam(normal_of(wc.patient)),
        bai=lambda wc: sample_bai(normal_of(wc.patient)),
        ref=REF,
        definitions=optional(("resources", "pgx_definitions")),
    output:
        vcf="results/{patient}/pgx/pgx_positions.vcf.gz",
        tbi="results/{patient}/pgx/pgx_positions.vcf.gz.tbi",
    log:
        "logs/{patient}/pgx_genotype.log",
    benchmark:
        "benchmarks/{patient}/pgx_genotype.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        min_depth=cfg("calling", "germline", "min_depth"),
    shell:
        "bedside germline genotype-positions --bam {input.bam:q} --ref {input.ref:q} "
        "--definitions {input.definitions:q} --min-depth {params.min_depth:q} "
        "--out {output.vcf:q} 2> {log:q}"


rule gvcf_chunk:
    input:
        bam=lambda wc: sample_bam(wc.sample),
        bai=lambda wc: sample_bai(wc.sample),
        ref=REF,
        fai=FAI,
    output:
        bcf=temp("results/{patient}/germline/gvcf_chunks/{sample}.{chunk}.g.bcf"),
        csi=temp("results/{patient}/germline/gvcf_chunks/{sample}.{chunk}.g.bcf.csi"),
    log:
        "logs/{patient}/gvcf_chunk/{sample}.{chunk}.log",
    benchmark:
        "benchmarks/{patient}/gvcf_chunk/{sample}.{chunk}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        region=chunk_region,
        targets=targets_args(),
        min_depth=cfg("calling", "germline", "min_depth"),
    shell:
        "bedside germline gvcf --bam {input.bam:q} --ref {input.ref:q} --region {params.region:q} "
        "{params.targets:q} --min-depth {params.min_depth:q} --out {output.bcf:q} 2> {log:q}"


rule gvcf_gather:
    input:
        bcf=lambda wc: expand(
            "results/{{patient}}/germline/gvcf_chunks/{{sample}}.{chunk}.g.bcf",
            chunk=CHUNKS,
        ),
        csi=lambda wc: expand(
            "results/{{patient}}/germline/gvcf_chunks/{{sample}}.{chunk}.g.bcf.csi",
            chunk=CHUNKS,
        ),
    output:
        vcf="results/{patient}/germline/{sample}.g.vcf.gz",
        tbi="results/{patient}/germline/{sample}.g.vcf.gz.tbi",
    log:
        "logs/{patient}/gvcf_gather/{sample}.log",
    benchmark:
        "benchmarks/{patient}/gvcf_gather/{sample}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "bedside germline gather {input.bcf:q} --out {output.vcf:q} 2> {log:q}"


rule joint_chunk:
    input:
        gvcfs=[f"results/{patient_of(s)}/germline/{s}.g.vcf.gz" for s in NORMALS],
        tbis=[f"results/{patient_of(s)}/germline/{s}.g.vcf.gz.tbi" for s in NORMALS],
        ref=REF,
    output:
        bcf=temp("results/cohort/germline/chunks/{chunk}.bcf"),
        csi=temp("results/cohort/germline/chunks/{chunk}.bcf.csi"),
    log:
        "logs/cohort/joint_chunk/{chunk}.log",
    benchmark:
        "benchmarks/cohort/joint_chunk/{chunk}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        region=chunk_region,
        filters=germline_filter_args(),
    shell:
        "bedside germline joint --gvcf {input.gvcfs:q} --ref {input.ref:q} --region {params.region:q} "
        "{params.filters:q} --out {output.bcf:q} 2> {log:q}"


rule joint_gather:
    input:
        bcf=expand("results/cohort/germline/chunks/{chunk}.bcf", chunk=CHUNKS),
        csi=expand("results/cohort/germline/chunks/{chunk}.bcf.csi", chunk=CHUNKS),
    output:
        vcf="results/cohort/germline/joint.vcf.gz",
        tbi="results/cohort/germline/joint.vcf.gz.tbi",
    log:
        "logs/cohort/joint_gather.log",
    benchmark:
        "benchmarks/cohort/joint_gather.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "bedside germline gather {input.bcf:q} --out {output.vcf:q} 2> {log:q}"
