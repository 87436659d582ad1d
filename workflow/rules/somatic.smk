# Somatic calling of each tumor against its matched normal (or tumor-only), scattered over chunks.


rule panel_of_normals:
    input:
        bams=[sample_bam(s) for s in NORMALS],
        bais=[sample_bai(s) for s in NORMALS],
        ref=REF,
    output:
        "results/cohort/pon/pon.vcf.gz",
    log:
        "logs/cohort/panel_of_normals.log",
    benchmark:
        "benchmarks/cohort/panel_of_normals.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    shell:
        "bedside pon --normals {input.bams:q} --ref {input.ref:q} --threads {threads} "
        "--out {output:q} 2> {log:q}"


rule somatic_chunk:
    input:
        unpack(somatic_inputs),
    output:
        vcf=temp("results/{patient}/somatic/chunks/{chunk}.vcf.gz"),
        tbi=temp("results/{patient}/somatic/chunks/{chunk}.vcf.gz.tbi"),
    log:
        "logs/{patient}/somatic_chunk/{chunk}.log",
    benchmark:
        "benchmarks/{patient}/somatic_chunk/{chunk}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        region=chunk_region,
        args=somatic_args,
        min_vaf=cfg("calling", "somatic", "min_vaf"),
        samples=config["samples"],
    shell:
        "bedside somatic --tumor {input.tumor:q} {params.args:q} --ref {input.ref:q} "
        "--samples {params.samples:q} --patient {wildcards.patient:q} "
        "--region {params.region:q} --min-vaf {params.min_vaf:q} --out {output.vcf:q} 2> {log:q}"


rule somatic_gather:
    input:
        vcfs=expand("results/{{patient}}/somatic/chunks/{chunk}.vcf.gz", chunk=CHUNKS),
        tbis=expand(
            "results/{{patient}}/somatic/chunks/{chunk}.vcf.gz.tbi", chunk=CHUNKS
        ),
    output:
        vcf="results/{patient}/somatic/{patient}.vcf.gz",
        tbi="results/{patient}/somatic/{patient}.vcf.gz.tbi",
    log:
        "logs/{patient}/somatic_gather/{patient}.log",
    benchmark:
        "benchmarks/{patient}/somatic_gather/{patient}.tsv"
    conda:
        "../envs/bcftools.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "(bcftools concat --no-version -a -Ou {input.vcfs:q} "
        "| bcftools sort -Oz -o {output.vcf:q} "
        "&& tabix -p vcf {output.vcf:q}) 2> {log:q}"


rule tmb:
    input:
        vcf="results/{patient}/somatic/{patient}.vcf.gz",
        coverage=lambda wc: (
            f"results/{wc.patient}/qc/mosdepth/{tumor_of(wc.patient)}.quantized.bed.gz"
        ),
        gff3=GFF,
    output:
        "results/{patient}/somatic/tmb.json",
    log:
        "logs/{patient}/tmb.log",
    benchmark:
        "benchmarks/{patient}/tmb.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        targets=lambda wc: targets_opt("--targets"),
        min_coding_mb=cfg("calling", "tmb", "min_coding_mb"),
        high=cfg("calling", "tmb", "high"),
        min_depth=cfg("calling", "tmb", "min_depth"),
    shell:
        "bedside tmb --vcf {input.vcf:q} --coverage {input.coverage:q} --gff3 {input.gff3:q} "
        "{params.targets:q} --min-coding-mb {params.min_coding_mb:q} --high {params.high:q} "
        "--min-depth {params.min_depth:q} --out {output:q} 2> {log:q}"
