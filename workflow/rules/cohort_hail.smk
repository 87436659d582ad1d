# The cohort platform on Hail (docs/cohort.md): the cohort store, sample QC / relatedness / ancestry,
# tumor-normal identity and the cohort report section. Spark runs locally (local[N], N = threads) unless
# cohort.spark_master names a cluster.


# The store is updated in place (new samples imported, changed case records refreshed), so it is not a
# declared output (Snakemake would delete it first); the summary JSON stands for it.
rule cohort_store:
    input:
        vcf="results/cohort/germline/joint.vcf.gz",
        tbi="results/cohort/germline/joint.vcf.gz.tbi",
        cases=expand("results/{patient}/case.json", patient=PATIENTS),
        samples=config["samples"],
        fai=FAI,
    output:
        summary="results/cohort/cohort.mt.json",
    log:
        "logs/cohort/cohort_store.log",
    benchmark:
        "benchmarks/cohort/cohort_store.tsv"
    conda:
        "../envs/hail.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    params:
        store=lambda wc, output: output.summary.removesuffix(".json"),
        build=cfg("reference", "build", default="custom"),
        spark=cohort_spark_args(),
    shell:
        "BEDSIDE_SPARK_MASTER=local[{threads}] bedside cohort-db build --incremental "
        "--vcf {input.vcf:q} --cases {input.cases:q} --samples {input.samples:q} "
        "--build {params.build:q} --fai {input.fai:q} --out {params.store:q} "
        "--summary {output.summary:q} {params.spark:q} 2> {log:q}"


rule cohort_qc:
    input:
        summary="results/cohort/cohort.mt.json",
    output:
        qc="results/cohort/qc/sample_qc.tsv",
        rel="results/cohort/qc/relatedness.tsv",
        json="results/cohort/qc/qc.json",
    log:
        "logs/cohort/cohort_qc.log",
    benchmark:
        "benchmarks/cohort/cohort_qc.tsv"
    conda:
        "../envs/hail.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    params:
        store=lambda wc, input: input.summary.removesuffix(".json"),
        out_dir=lambda wc, output: os.path.dirname(output[0]),
        spark=cohort_spark_args(),
    shell:
        "BEDSIDE_SPARK_MASTER=local[{threads}] bedside cohort-db qc --store {params.store:q} "
        "--out-dir {params.out_dir:q} {params.spark:q} 2> {log:q}"


rule cohort_identity:
    input:
        bams=cohort_tn_bams(),
        ref=REF,
        fai=FAI,
        population=lambda wc: resource_vcf("population") or [],
        samples=config["samples"],
    output:
        tsv="results/cohort/identity/identity.tsv",
        vcf="results/cohort/identity/tumor_normal_snps.vcf.gz",
    log:
        "logs/cohort/cohort_identity.log",
    benchmark:
        "benchmarks/cohort/cohort_identity.tsv"
    conda:
        "../envs/hail.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "bedside cohort-db identity --samples {input.samples:q} --bams {input.bams:q} "
        "--ref {input.ref:q} --population {input.population:q} --genotypes-out {output.vcf:q} "
        "--out {output.tsv:q} 2> {log:q}"


rule cohort_platform_section:
    input:
        summary="results/cohort/cohort.mt.json",
        qc="results/cohort/qc/sample_qc.tsv",
        identity="results/cohort/identity/identity.tsv",
    output:
        html="results/cohort/cohort_platform.html",
    log:
        "logs/cohort/cohort_platform_section.log",
    conda:
        "../envs/hail.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=30,
    params:
        store=lambda wc, input: input.summary.removesuffix(".json"),
        qc_dir=lambda wc, input: os.path.dirname(input.qc),
        spark=cohort_spark_args(),
    shell:
        "BEDSIDE_SPARK_MASTER=local[{threads}] bedside cohort-db report --store {params.store:q} "
        "--qc-dir {params.qc_dir:q} --identity {input.identity:q} --out {output.html:q} "
        "{params.spark:q} 2> {log:q}"
