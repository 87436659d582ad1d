rule reference_fasta:
    input:
        cfg("reference", "fasta"),
    output:
        fa=REF,
        fai=FAI,
    log:
        "logs/ref/reference_fasta.log",
    benchmark:
        "benchmarks/ref/reference_fasta.tsv"
    conda:
        "../envs/samtools.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "(if gzip -t {input:q} 2>/dev/null; then gzip -dc {input:q} > {output.fa:q}; "
        "else cp {input:q} {output.fa:q}; fi && samtools faidx {output.fa:q}) 2> {log:q}"


rule reference_gff3:
    input:
        cfg("reference", "gff3"),
    output:
        GFF,
    log:
        "logs/ref/reference_gff3.log",
    benchmark:
        "benchmarks/ref/reference_gff3.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    shell:
        "bedside validate gff3 {input:q} --out {output:q} 2> {log:q}"


rule bwa_index:
    input:
        REF,
    output:
        multiext(REF, ".amb", ".ann", ".bwt", ".pac", ".sa"),
    log:
        "logs/ref/bwa_index.log",
    benchmark:
        "benchmarks/ref/bwa_index.tsv"
    conda:
        "../envs/bwa.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    shell:
        "bwa index {input:q} 2> {log:q}"


rule resource_vcf_renamed:
    # with reference.contig_map: resource VCF contigs renamed to the reference's names
    input:
        vcf=lambda wc: cfg("resources", wc.key),
        map=cfg("reference", "contig_map", default=[]) or [],
    output:
        vcf="resources/renamed/{key}.vcf.gz",
        tbi="resources/renamed/{key}.vcf.gz.tbi",
    log:
        "logs/ref/resource_vcf_renamed/{key}.log",
    benchmark:
        "benchmarks/ref/resource_vcf_renamed/{key}.tsv"
    wildcard_constraints:
        key="population|clinvar",
    conda:
        "../envs/bcftools.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "(bcftools annotate --no-version --rename-chrs {input.map:q} -Oz -o {output.vcf:q} "
        "{input.vcf:q} "
        "&& tabix -f -p vcf {output.vcf:q}) 2> {log:q}"


rule coding_bed:
    input:
        gff3=GFF,
    output:
        "resources/reference/coding.bed",
    log:
        "logs/ref/coding_bed.log",
    benchmark:
        "benchmarks/ref/coding_bed.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        targets=lambda wc: targets_opt("--targets"),
    shell:
        "bedside tmb --gff3 {input.gff3:q} {params.targets:q} --write-coding-bed {output:q} 2> {log:q}"
