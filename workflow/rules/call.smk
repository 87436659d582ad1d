# Germline calling on each normal and joint calling of the cohort's normals, scattered over genomic
# chunks (config calling.chunk_size; optional reference.targets BED) and gathered per sample.


rule germline_chunk:
    input:
        bam=lambda wc: sample_bam(wc.sample),
        bai=lambda wc: sample_bai(wc.sample),
        ref=REF,
        fai=FAI,
    output:
        temp("results/{patient}/germline/chunks/{sample}.{chunk}.bcf"),
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
        targets=lambda wc: (
            f"--targets-file {cfg('reference', 'targets')}"
            if cfg("reference", "targets")
            else ""
        ),
        min_qual=cfg("calling", "germline", "min_qual", default=20),
        min_depth=cfg("calling", "germline", "min_depth", default=5),
    shell:
        "bedside germline call --bam {input.bam} --ref {input.ref} --region {params.region} "
        "{params.targets} --min-qual {params.min_qual} --min-depth {params.min_depth} "
        "--out {output} 2> {log}"


rule germline_gather:
    input:
        lambda wc: expand(
            "results/{{patient}}/germline/chunks/{{sample}}.{chunk}.bcf", chunk=CHUNKS
        ),
    output:
        vcf="results/{patient}/germline/{sample}.vcf.gz",
        tbi="results/{patient}/germline/{sample}.vcf.gz.tbi",
    log:
        "logs/{patient}/germline_gather/{sample}.log",
    benchmark:
        "benchmarks/{patient}/germline_gather/{sample}.tsv"
    conda:
        "../envs/bcftools.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "(bcftools concat --naive-force -Ou {input} | bcftools sort -Oz -o {output.vcf} "
        "&& tabix -p vcf {output.vcf}) 2> {log}"


rule pgx_genotype:
    input:
        bam=lambda wc: sample_bam(normal_of(wc.patient)),
        bai=lambda wc: sample_bai(normal_of(wc.patient)),
        ref=REF,
        definitions=optional(("resources", "pgx_definitions")),
    output:
        vcf="results/{patient}/pgx/pgx_positions.vcf.gz",
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
    shell:
        "bedside germline genotype-positions --bam {input.bam} --ref {input.ref} "
        "--definitions {input.definitions} --out {output.vcf} 2> {log}"


rule joint_chunk:
    input:
        bams=[sample_bam(s) for s in NORMALS],
        bais=[sample_bai(s) for s in NORMALS],
        ref=REF,
    output:
        temp("results/cohort/germline/chunks/{chunk}.bcf"),
    log:
        "logs/cohort/joint_chunk/{chunk}.log",
    benchmark:
        "benchmarks/cohort/joint_chunk/{chunk}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        region=chunk_region,
        min_qual=cfg("calling", "germline", "min_qual", default=20),
        min_depth=cfg("calling", "germline", "min_depth", default=5),
    shell:
        "bedside germline call --bam {input.bams} --ref {input.ref} --region {params.region} "
        "--min-qual {params.min_qual} --min-depth {params.min_depth} --out {output} 2> {log}"


rule joint_gather:
    input:
        expand("results/cohort/germline/chunks/{chunk}.bcf", chunk=CHUNKS),
    output:
        vcf="results/cohort/germline/joint.vcf.gz",
        tbi="results/cohort/germline/joint.vcf.gz.tbi",
    log:
        "logs/cohort/joint_gather.log",
    benchmark:
        "benchmarks/cohort/joint_gather.tsv"
    conda:
        "../envs/bcftools.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "(bcftools concat --naive-force -Ou {input} | bcftools sort -Oz -o {output.vcf} "
        "&& tabix -p vcf {output.vcf}) 2> {log}"
