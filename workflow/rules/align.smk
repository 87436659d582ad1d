rule bwa_mem:
    input:
        r1="results/{patient}/trimmed/{sample}.{unit}.R1.fastq.gz",
        r2="results/{patient}/trimmed/{sample}.{unit}.R2.fastq.gz",
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
        extra=cfg("params", "bwa", default=""),
    shell:
        "(bwa mem -t {threads} -R '{params.rg}' {params.extra} {input.ref} {input.r1} {input.r2} "
        "| samtools fixmate -m -u - - "
        "| samtools sort -@ {threads} -m 500M -T {output}.tmp -o {output} -) 2> {log}"


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
        rg=lambda wc: (
            f"-r ID:{wc.sample}.{wc.unit} -r SM:{wc.sample} -r LB:{wc.sample} "
            f"-r PL:{SHEET.samples[wc.sample].platform} -r PU:{wc.unit}"
        ),
    shell:
        "(samtools collate -u -O --reference {input.ref} {input.bam} "
        "| samtools fixmate -m -u - - "
        "| samtools addreplacerg -u -m overwrite_all {params.rg} -o - - "
        "| samtools sort -@ {threads} -m 500M -T {output}.tmp -o {output} -) 2> {log}"


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
        "(samtools merge -f -@ {threads} -u -o - {input} "
        "| samtools markdup -@ {threads} -f {output.metrics} -s --write-index "
        "- {output.bam}##idx##{output.bai}) 2> {log}"
