rule fastp:
    input:
        unpack(get_fastqs),
    output:
        r1=temp("results/{patient}/trimmed/{sample}.{unit}.R1.fastq.gz"),
        r2=temp("results/{patient}/trimmed/{sample}.{unit}.R2.fastq.gz"),
        json="results/{patient}/qc/fastp/{sample}.{unit}.json",
        html="results/{patient}/qc/fastp/{sample}.{unit}.html",
    log:
        "logs/{patient}/fastp/{sample}.{unit}.log",
    benchmark:
        "benchmarks/{patient}/fastp/{sample}.{unit}.tsv"
    conda:
        "../envs/fastp.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        extra=extra_args("fastp"),
        title=lambda wc: f"{wc.sample}.{wc.unit}",
    shell:
        "fastp --in1 {input.r1:q} --in2 {input.r2:q} --out1 {output.r1:q} --out2 {output.r2:q} "
        "--json {output.json:q} --html {output.html:q} --thread {threads} "
        "--report_title {params.title:q} {params.extra:q} 2> {log:q}"


rule fastq_check:
    # fastp 0.23.2 exits 0 on a truncated gzip (keeping the reads read so far): every FASTQ is read to
    # the end (gzip integrity, FASTQ records, >= 1 read, read-1/read-2 count and name parity) and
    # fastp's read counts are compared with the files'. Alignment, MultiQC and the QC gates wait for
    # this check; a defect fails the job naming the file and the record.
    input:
        unpack(get_fastqs),
        fastp="results/{patient}/qc/fastp/{sample}.{unit}.json",
    output:
        "results/{patient}/qc/fastq_check/{sample}.{unit}.json",
    log:
        "logs/{patient}/fastq_check/{sample}.{unit}.log",
    benchmark:
        "benchmarks/{patient}/fastq_check/{sample}.{unit}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
    shell:
        "bedside check-fastq {input.r1:q} {input.r2:q} --fastp-json {input.fastp:q} "
        "--out {output:q} > {log:q} 2>&1"


rule samtools_stats:
    input:
        bam="results/{patient}/align/{sample}.bam",
        ref=REF,
    output:
        "results/{patient}/qc/{sample}.samtools_stats.txt",
    log:
        "logs/{patient}/samtools_stats/{sample}.log",
    benchmark:
        "benchmarks/{patient}/samtools_stats/{sample}.tsv"
    conda:
        "../envs/samtools.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    shell:
        "samtools stats --reference {input.ref:q} {input.bam:q} > {output:q} 2> {log:q}"


rule mosdepth:
    input:
        bam="results/{patient}/align/{sample}.bam",
        bai="results/{patient}/align/{sample}.bam.bai",
        coding="resources/reference/coding.bed",
    output:
        summary="results/{patient}/qc/mosdepth/{sample}.mosdepth.summary.txt",
        dist="results/{patient}/qc/mosdepth/{sample}.mosdepth.global.dist.txt",
        quantized="results/{patient}/qc/mosdepth/{sample}.quantized.bed.gz",
        regions="results/{patient}/qc/mosdepth/{sample}.regions.bed.gz",
        region_dist="results/{patient}/qc/mosdepth/{sample}.mosdepth.region.dist.txt",
    log:
        "logs/{patient}/mosdepth/{sample}.log",
    benchmark:
        "benchmarks/{patient}/mosdepth/{sample}.tsv"
    conda:
        "../envs/mosdepth.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        prefix=lambda wc, output: output.summary.replace(".mosdepth.summary.txt", ""),
    shell:
        "mosdepth --no-per-base --threads {threads} --quantize 0:1:20: --by {input.coding:q} "
        "{params.prefix:q} {input.bam:q} 2> {log:q}"


# Duplicate rates reach MultiQC through samtools stats of the duplicate-marked BAMs (reads_duplicated);
# MultiQC 1.35 does not parse the plain-text stats of samtools 1.16 markdup.
rule multiqc:
    input:
        reports=[
            *get_fastp_jsons(),
            *expand(
                "results/{s.patient}/qc/{s.sample_name}.samtools_stats.txt",
                s=SHEET.samples.values(),
            ),
            *expand(
                "results/{s.patient}/qc/mosdepth/{s.sample_name}.mosdepth.summary.txt",
                s=SHEET.samples.values(),
            ),
            *expand(
                "results/{s.patient}/qc/mosdepth/{s.sample_name}.mosdepth.global.dist.txt",
                s=SHEET.samples.values(),
            ),
            *expand(
                "results/{s.patient}/qc/mosdepth/{s.sample_name}.mosdepth.region.dist.txt",
                s=SHEET.samples.values(),
            ),
        ],
        checks=get_fastq_checks(),
    output:
        "results/cohort/multiqc/multiqc_report.html",
        directory("results/cohort/multiqc/multiqc_report_data"),
    log:
        "logs/cohort/multiqc.log",
    benchmark:
        "benchmarks/cohort/multiqc.tsv"
    conda:
        "../envs/multiqc.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        outdir=lambda wc, output: str(Path(output[0]).parent),
    shell:
        "multiqc --force --outdir {params.outdir:q} --filename multiqc_report.html "
        "--title 'Bedside cohort QC' {input.reports:q} > {log:q} 2>&1"


rule qc_gates:
    input:
        stats=lambda wc: [
            f"results/{wc.patient}/qc/{s}.samtools_stats.txt"
            for s in (tumor_of(wc.patient), normal_of(wc.patient))
            if s
        ],
        mosdepth=lambda wc: [
            f"results/{wc.patient}/qc/mosdepth/{s}.mosdepth.summary.txt"
            for s in (tumor_of(wc.patient), normal_of(wc.patient))
            if s
        ],
        fastp=lambda wc: [
            f for f in get_fastp_jsons() if f.startswith(f"results/{wc.patient}/")
        ],
        checks=lambda wc: [
            f for f in get_fastq_checks() if f.startswith(f"results/{wc.patient}/")
        ],
    output:
        "results/{patient}/qc/qc.json",
    log:
        "logs/{patient}/qc_gates.log",
    benchmark:
        "benchmarks/{patient}/qc_gates.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        tumor=lambda wc: tumor_of(wc.patient) or "",
        normal=lambda wc: normal_of(wc.patient) or "",
        gates=qc_gate_args(),
    shell:
        "bedside qc --tumor={params.tumor:q} --normal={params.normal:q} "
        "--samtools-stats {input.stats:q} --mosdepth {input.mosdepth:q} --fastp {input.fastp:q} "
        "{params.gates:q} --out {output:q} 2> {log:q}"
