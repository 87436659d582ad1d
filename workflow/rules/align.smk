rule bwa_mem:
    input:
        r1="results/{patient}/trimmed/{sample}.{unit}.R1.fastq.gz",
        r2="results/{patient}/trimmed/{sample}.{unit}.R2.fastq.gz",
        checked="results/{patient}/qc/fastq_check/{sample}.{unit}.json",
        ref=REF,
        idx=multiext(REF, ".amb", ".ann", ".bwt", ".pac", ".sa"),
    output:
        temp("results/{patient}/align/units/{sample}.{unit}.fastq.bam"),
    log:
        "logs/{patient}/bwa_mem/{sample}.{unit}.log",
    benchmark:
        "benchmarks/{patient}/bwa_mem/{sample}.{unit}.tsv"
    conda:
        "../envs/bwa.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=240,
    params:
        rg=read_group,
        extra=extra_args("bwa"),
    shell:
        "(bwa mem -t {threads} -R {params.rg:q} {params.extra:q} {input.ref:q} "
        "{input.r1:q} {input.r2:q} "
        "| samtools fixmate -m -u - - "
        "| samtools sort -@ {threads} -m 500M -T {output:q}.tmp -o {output:q} -) 2> {log:q}"


rule bam_input:
    input:
        bam=lambda wc: unit_of(wc).bam,
        ref=REF,
    output:
        temp("results/{patient}/align/units/{sample}.{unit}.input.bam"),
    log:
        "logs/{patient}/bam_input/{sample}.{unit}.log",
    benchmark:
        "benchmarks/{patient}/bam_input/{sample}.{unit}.tsv"
    conda:
        "../envs/samtools.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        # one read group named after the sample sheet, whatever the input BAM called it
        rg=input_read_group_args,
    shell:
        "(samtools collate -u -O --reference {input.ref:q} {input.bam:q} "
        "| samtools fixmate -m -u - - "
        "| samtools addreplacerg -u -m overwrite_all {params.rg:q} -o - - "
        "| samtools sort -@ {threads} -m 500M -T {output:q}.tmp -o {output:q} -) 2> {log:q}"


rule markdup:
    input:
        get_unit_bams,
    output:
        bam="results/{patient}/align/{sample}.bam",
        bai="results/{patient}/align/{sample}.bam.bai",
        metrics="results/{patient}/qc/{sample}.markdup.txt",
    log:
        "logs/{patient}/markdup/{sample}.log",
    benchmark:
        "benchmarks/{patient}/markdup/{sample}.tsv"
    conda:
        "../envs/samtools.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    shell:
        # --no-PG and -p (combine colliding @PG IDs): no random ID suffixes, identical bytes on rerun
        "(samtools merge -f --no-PG -p -@ {threads} -u -o - {input:q} "
        "| samtools markdup -@ {threads} -f {output.metrics:q} -s --write-index "
        "- {output.bam:q}##idx##{output.bai:q}) 2> {log:q}"
