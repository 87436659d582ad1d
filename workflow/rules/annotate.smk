# Normalise, annotate consequences (HGVS c./p.), population frequency and ClinVar; genotype and
# interpret pharmacogenes.


rule annotation_resources:
    input:
        unpack(lambda wc: annotation_resource_inputs()),
        ref=REF,
        fai=FAI,
    output:
        "resources/annotate-cache/prepared.txt",
    log:
        "logs/ref/annotation_resources.log",
    benchmark:
        "benchmarks/ref/annotation_resources.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        args=lambda wc, input: " ".join(
            f"--{key} {input[key]}"
            for key in ("population", "clinvar")
            if key in input.keys()
        ),
    shell:
        "bedside annotate --prepare-only --fasta {input.ref} {params.args} "
        "--cache-dir resources/annotate-cache --out {output} 2> {log}"


rule annotate:
    input:
        unpack(annotate_inputs),
    output:
        vcf="results/{patient}/annotate/{kind}.vcf.gz",
        tbi="results/{patient}/annotate/{kind}.vcf.gz.tbi",
    log:
        "logs/{patient}/annotate/{kind}.log",
    benchmark:
        "benchmarks/{patient}/annotate/{kind}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        args=annotate_args,
    shell:
        "bedside annotate --vcf {input.vcf} --fasta {input.ref} --gff3 {input.gff3} "
        "{params.args} --out {output.vcf} 2> {log}"


rule pgx:
    input:
        vcf="results/{patient}/pgx/pgx_positions.vcf.gz",
        definitions=optional(("resources", "pgx_definitions")),
        outside=optional(("resources", "pgx_outside_calls")),
    output:
        json="results/{patient}/pgx/pgx.json",
        tsv="results/{patient}/pgx/pgx.tsv",
    log:
        "logs/{patient}/pgx.log",
    benchmark:
        "benchmarks/{patient}/pgx.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        sample=lambda wc: normal_of(wc.patient),
        outside=lambda wc, input: (
            f"--outside-calls {input.outside}" if input.outside else ""
        ),
    shell:
        "bedside pgx {input.vcf} --definitions {input.definitions} --sample {params.sample} "
        "{params.outside} --out-json {output.json} --out-tsv {output.tsv} 2> {log}"
