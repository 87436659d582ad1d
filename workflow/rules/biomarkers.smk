# Biomarkers beyond SNVs/indels: copy number with purity/ploidy and LOH (CNVkit + bedside fit), MSI
# (MSIsensor-style) and somatic structural variants with fusion annotation (delly). Logic lives in the
# bedside package (bedside cnv / msi / sv); these rules only wire files.
# Scattered over the calling chunks where the work is per position (docs/biomarkers.md): MSI's
# repeat-length counts (msi_chunk) and CNV's bin coverage + SNP pileup (cnv_chunk) run per chunk over
# the chunk's share of the genome (biomarker_chunk_region: with targets, the chunks are widened to tile
# the genome); the tests/score (msi) and reference/segmentation/purity fit (cnv) stay one genome-wide
# job, with the same result as an unscattered run. SV (delly) stays one job per patient.
# The msi merge holds every site's counts in memory: ~1.5 GB per million sites (measured).


rule msi_sites:
    input:
        ref=REF,
    output:
        "resources/reference/msi_sites.tsv",
    log:
        "logs/cohort/msi_sites.log",
    benchmark:
        "benchmarks/cohort/msi_sites.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    shell:
        "bedside msi --ref {input.ref:q} --write-sites {output:q} 2> {log:q}"


rule msi_chunk:
    input:
        unpack(biomarker_pair),
        sites="resources/reference/msi_sites.tsv",
    output:
        temp("results/{patient}/biomarkers/msi_chunks/{chunk}.tsv"),
    log:
        "logs/{patient}/msi_chunk/{chunk}.log",
    benchmark:
        "benchmarks/{patient}/msi_chunk/{chunk}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        region=biomarker_chunk_region,
        samples=config["samples"],
    shell:
        "bedside msi --tumor {input.tumor:q} --normal {input.normal:q} --ref {input.ref:q} "
        "--sites {input.sites:q} --samples {params.samples:q} --patient {wildcards.patient:q} "
        "--region {params.region:q} --counts-out {output:q} 2> {log:q}"


rule msi:
    input:
        counts=expand(
            "results/{{patient}}/biomarkers/msi_chunks/{chunk}.tsv", chunk=CHUNKS
        ),
        ref=REF,
    output:
        json="results/{patient}/biomarkers/msi.json",
        sites="results/{patient}/biomarkers/msi_sites.tsv",
    log:
        "logs/{patient}/msi/{patient}.log",
    benchmark:
        "benchmarks/{patient}/msi/{patient}.tsv"
    conda:
        "../envs/bedside.yaml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=30,
    shell:
        "bedside msi --ref {input.ref:q} --merge {input.counts:q} --out {output.json:q} "
        "--sites-out {output.sites:q} 2> {log:q}"


rule cnv_chunk:
    input:
        unpack(cnv_chunk_inputs),
    output:
        temp(directory("results/{patient}/cnv/chunks/{chunk}")),
    log:
        "logs/{patient}/cnv_chunk/{chunk}.log",
    benchmark:
        "benchmarks/{patient}/cnv_chunk/{chunk}.tsv"
    conda:
        "../envs/cnvkit.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        region=biomarker_chunk_region,
        args=cnv_chunk_args,
        samples=config["samples"],
    shell:
        "bedside cnv --tumor {input.tumor:q} {params.args:q} --ref {input.ref:q} "
        "--samples {params.samples:q} --patient {wildcards.patient:q} "
        "--region {params.region:q} --coverage-out {output:q} 2> {log:q}"


rule cnv:
    input:
        unpack(cnv_inputs),
        chunks=expand("results/{{patient}}/cnv/chunks/{chunk}", chunk=CHUNKS),
    output:
        segments="results/{patient}/cnv/segments.tsv",
        genes="results/{patient}/cnv/genes.tsv",
        json="results/{patient}/cnv/cnv.json",
        plot="results/{patient}/cnv/cnv.png",
    log:
        "logs/{patient}/cnv/{patient}.log",
    benchmark:
        "benchmarks/{patient}/cnv/{patient}.tsv"
    conda:
        "../envs/cnvkit.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        args=cnv_args,
        samples=config["samples"],
        outdir=lambda wc: f"results/{wc.patient}/cnv",
    shell:
        "bedside cnv --tumor {input.tumor:q} {params.args:q} --ref {input.ref:q} "
        "--samples {params.samples:q} --patient {wildcards.patient:q} --threads {threads} "
        "--coverage-chunks {input.chunks:q} --out-dir {params.outdir:q} 2> {log:q}"


rule sv:
    input:
        unpack(biomarker_pair),
        gff3=GFF,
        somatic="results/{patient}/somatic/{patient}.vcf.gz",
    output:
        vcf="results/{patient}/sv/sv.vcf.gz",
        tbi="results/{patient}/sv/sv.vcf.gz.tbi",
        fusions="results/{patient}/sv/fusions.tsv",
        json="results/{patient}/sv/fusions.json",
    log:
        "logs/{patient}/sv/{patient}.log",
    benchmark:
        "benchmarks/{patient}/sv/{patient}.tsv"
    conda:
        "../envs/delly.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        samples=config["samples"],
    shell:
        "bedside sv --tumor {input.tumor:q} --normal {input.normal:q} --ref {input.ref:q} "
        "--gff3 {input.gff3:q} --somatic-vcf {input.somatic:q} --samples {params.samples:q} "
        "--out {output.vcf:q} --fusions {output.fusions:q} --fusions-json {output.json:q} 2> {log:q}"
