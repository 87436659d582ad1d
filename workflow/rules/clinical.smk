# Clinical and lifestyle context of each patient, from the validated table or an OMOP CDM extract.


rule clinical_context:
    input:
        optional(("clinical", "table")) or optional(("clinical", "omop")),
    output:
        "results/{patient}/clinical/context.json",
    log:
        "logs/{patient}/clinical_context.log",
    benchmark:
        "benchmarks/{patient}/clinical_context.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        source=clinical_source_args(),
    shell:
        "bedside clinical {params.source:q} --patient {wildcards.patient:q} --out {output:q} 2> {log:q}"
