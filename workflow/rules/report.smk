# One case record per patient gathers everything the report shows; reports and the cohort summary
# are rendered from it.


rule case:
    input:
        unpack(case_inputs),
    output:
        "results/{patient}/case.json",
    log:
        "logs/{patient}/case.log",
    benchmark:
        "benchmarks/{patient}/case.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        args=case_args,
        build=cfg("reference", "build", default=""),
    shell:
        "bedside case --patient {wildcards.patient:q} --context {input.context:q} --qc {input.qc:q} "
        "{params.args:q} --build={params.build:q} --out {output:q} 2> {log:q}"


rule report:
    input:
        case="results/{patient}/case.json",
        cohort=expand("results/{patient}/case.json", patient=PATIENTS),
    output:
        html="results/{patient}/report.html",
        json="results/{patient}/report.json",
    log:
        "logs/{patient}/report.log",
    benchmark:
        "benchmarks/{patient}/report.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        institution=cfg("report", "institution", default=""),
        language=cfg("report", "language", default="en"),
    shell:
        "bedside report {input.case:q} --html {output.html:q} --json {output.json:q} "
        "--institution={params.institution:q} --language {params.language:q} "
        "--cohort {input.cohort:q} 2> {log:q}"


rule report_pdf:
    input:
        "results/{patient}/report.html",
    output:
        "results/{patient}/report.pdf",
    log:
        "logs/{patient}/report_pdf.log",
    benchmark:
        "benchmarks/{patient}/report_pdf.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "bedside report --pdf-from-html {input:q} --pdf {output:q} 2> {log:q}"


rule report_fhir:
    input:
        "results/{patient}/case.json",
    output:
        "results/{patient}/report.fhir.json",
    log:
        "logs/{patient}/report_fhir.log",
    benchmark:
        "benchmarks/{patient}/report_fhir.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "bedside report-fhir {input:q} --out {output:q} 2> {log:q}"


rule cohort_summary:
    input:
        cases=expand("results/{patient}/case.json", patient=PATIENTS),
        multiqc="results/cohort/multiqc/multiqc_report.html",
        platform=cohort_platform_page(),
    output:
        html="results/cohort/summary.html",
        tsv="results/cohort/summary.tsv",
        json="results/cohort/summary.json",
    log:
        "logs/cohort/summary.log",
    benchmark:
        "benchmarks/cohort/cohort_summary.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        platform=cohort_platform_args,
    shell:
        "bedside cohort {input.cases:q} --multiqc {input.multiqc:q} {params.platform:q} "
        "--html {output.html:q} --tsv {output.tsv:q} --json {output.json:q} 2> {log:q}"
