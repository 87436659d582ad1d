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
        args=lambda wc, input: [
            word
            for key in ("population", "clinvar")
            if key in input.keys()
            for word in (f"--{key}", input[key])
        ],
    shell:
        "bedside annotate --prepare-only --fasta {input.ref:q} {params.args:q} "
        "--cache-dir resources/annotate-cache --out {output:q} 2> {log:q}"


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
    # worker processes of the consequence pass (the piped bcftools/tabix steps are mostly idle)
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        args=annotate_args,
    shell:
        "bedside annotate --vcf {input.vcf:q} --fasta {input.ref:q} --gff3 {input.gff3:q} "
        "{params.args:q} --threads {threads} --out {output.vcf:q} 2> {log:q}"


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
            ["--outside-calls", input.outside] if input.outside else []
        ),
    shell:
        "bedside pgx {input.vcf:q} --definitions {input.definitions:q} --sample {params.sample:q} "
        "{params.outside:q} --out-json {output.json:q} --out-tsv {output.tsv:q} 2> {log:q}"
