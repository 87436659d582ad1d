#!/usr/bin/env python3
"""Germline accuracy against Genome in a Bottle NA12878 (hg19 chr20:10.0-10.1 Mb).

Turns the GIAB BAM back into FASTQ, runs Bedside's own workflow (fastp -> bwa mem -> markdup ->
scattered `bedside germline call` -> gather) through Snakemake on a generated config and sample
sheets, normalises calls and truth alike (PASS only, `bcftools norm -m -both -f REF`, left-aligned,
exact duplicates removed) and scores them allele by allele: a call is a true positive when its
normalised (chrom, pos, ref, alt) is in the truth, whatever the genotype. Scores are given for SNVs
and indels, inside the GIAB confident BED and over the whole 100 kb window (chr20:10,000,000-
10,100,000; outside the BED a call absent from the truth is not certainly false).

    .venv/bin/python benchmarks/germline_giab.py [--work DIR] [--reference full|truncated] [--ablation]

Writes DIR/giab_metrics.json and keeps DIR/giab_calls.norm.vcf.gz (paths printed), so other truth
sets can be scored against the same calls. ``--ablation`` re-calls the workflow's BAM with each
calling change switched on in turn and reports what each buys, and last the learned filter model that
replaced the thresholds (``bedside germline call``'s default since the held-out benchmark,
``benchmarks/germline_heldout.py``, which scores truth sets the filters were not tuned on).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from bedside.calling import germline as g

DATA = (REPO / ".." / "shared" / "data" / "giab-na12878-chr20").resolve()
BAM = "NA12878_S1.chr20.10_10p1mb.bam"
FASTA = "ucsc.hg19.chr20.unittest.fasta.gz"
TRUTH = "test_nist.b37_chr20_100kbp_at_10mb.vcf.gz"
BED = "test_nist.b37_chr20_100kbp_at_10mb.bed"
WINDOW = ("chr20", 10_000_000, 10_100_000)
V332 = REPO / "tests/data/giab/HG001_GRCh37_v3.3.2.20_10000000-10100000.vcf.gz"  # contig "20"
PATIENT, SAMPLE = "GIAB", "NA12878"
# the real sequence of the test reference ends near 11.095 Mb; "truncated" keeps chr20:1-11.1 Mb
# (same coordinates, still ~90 % N) so that bwa indexes 11 Mb instead of 63 Mb
TRUNCATE_AT = 11_100_000


def sh(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], check=True, **kw)


def prepare(work: Path, data: Path, reference: str, chunk_size: int, min_depth: int,
            caller: str) -> Path:
    """FASTQ from the BAM, reference, sheets and config in ``work``; returns the config path."""
    (work / "input").mkdir(parents=True, exist_ok=True)
    r1, r2 = work / "input/NA12878_R1.fastq.gz", work / "input/NA12878_R2.fastq.gz"
    if not r2.exists():
        collate = subprocess.Popen(["samtools", "collate", "-u", "-O", str(data / BAM)],
                                   stdout=subprocess.PIPE)
        sh(["samtools", "fastq", "-1", r1, "-2", r2, "-0", "/dev/null", "-s", "/dev/null", "-n", "-"],
           stdin=collate.stdout, stderr=subprocess.DEVNULL)
        if collate.wait() != 0:
            raise SystemExit("samtools collate failed")
    if reference == "full":
        fasta = data / FASTA  # bgzipped, with .fai and .gzi; the workflow decompresses it
    else:
        fasta = work / "input/chr20_head.fa"
        if not fasta.exists():
            with open(fasta, "w") as fh:
                out = sh(["samtools", "faidx", data / FASTA, f"chr20:1-{TRUNCATE_AT}"],
                         capture_output=True, text=True).stdout
                fh.write(">chr20\n" + out.split("\n", 1)[1])
            sh(["samtools", "faidx", fasta])
    # required by the config checks (one coding gene); the germline target does not use it
    (work / "input/genes.gff3").write_text(
        "##gff-version 3\n"
        "chr20\tbench\tgene\t10050001\t10051000\t.\t+\t.\tID=gene:BENCH;Name=BENCH;biotype=protein_coding\n"
        "chr20\tbench\tmRNA\t10050001\t10051000\t.\t+\t.\tID=transcript:BENCH-201;Parent=gene:BENCH;"
        "biotype=protein_coding\n"
        "chr20\tbench\texon\t10050001\t10051000\t.\t+\t.\tParent=transcript:BENCH-201\n"
        "chr20\tbench\tCDS\t10050001\t10050300\t.\t+\t0\tID=CDS:BENCH;Parent=transcript:BENCH-201\n")
    (work / "config").mkdir(exist_ok=True)
    (work / "config/samples.tsv").write_text(
        f"sample_name\tpatient\talias\tplatform\n{SAMPLE}\t{PATIENT}\tnormal\tILLUMINA\n")
    (work / "config/units.tsv").write_text(
        f"sample_name\tunit_name\tfq1\tfq2\n{SAMPLE}\tL1\t{r1}\t{r2}\n")
    config = {
        "samples": "config/samples.tsv",
        "units": "config/units.tsv",
        "reference": {"fasta": str(fasta), "gff3": str(work / "input/genes.gff3"),
                      "build": "hg19"},
        "resources": {"knowledge": []},
        "calling": {"chunk_size": chunk_size,
                    "germline": {"min_qual": 20, "min_depth": min_depth, "caller": caller}},
        "params": {"fastp": "", "bwa": ""},
        "report": {"pdf": False},
    }
    import yaml

    cfg_path = work / "config/config.yaml"
    cfg_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return cfg_path


def run_workflow(work: Path, cfg_path: Path, cores: int) -> Path:
    target = f"results/{PATIENT}/germline/{SAMPLE}.vcf.gz"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/Snakefile"),
                          "--directory", str(work), "--configfile", str(cfg_path),
                          "--cores", str(cores), "--quiet", "rules", "--", target],
                         env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"workflow failed:\n{res.stderr[-4000:]}")
    return work / target


def evaluate(calls: Path, ref: Path, data: Path, out_norm: Path) -> dict:
    truth_norm = out_norm.parent / "giab_truth.norm.vcf.gz"
    g.normalise_for_scoring(data / TRUTH, ref, truth_norm)
    g.normalise_for_scoring(calls, ref, out_norm)
    truth = g.variant_keys(truth_norm, WINDOW)
    found = g.variant_keys(out_norm, WINDOW)
    bed = g.read_bed3(data / BED)
    result = {}
    for scope, b in (("confident_bed", bed), ("window", None)):
        s = g.score(truth, found, b)
        result[scope] = {k: v.as_dict() for k, v in s.items()}
        sel = (lambda k: g.in_bed(k, bed)) if b else (lambda k: True)
        result[scope]["false_positives"] = [f"{c}:{p}:{r}>{a}" for c, p, r, a in sorted(found - truth)
                                            if sel((c, p, r, a))]
        result[scope]["false_negatives"] = [f"{c}:{p}:{r}>{a}" for c, p, r, a in sorted(truth - found)
                                            if sel((c, p, r, a))]
    if V332.exists():  # the newer GIAB release for the same window (held out from all tuning)
        rename = out_norm.parent / "rename_20_chr20.txt"
        rename.write_text("20\tchr20\n")
        v332_norm = out_norm.parent / "giab_truth_v3.3.2.norm.vcf.gz"
        g.normalise_for_scoring(V332, ref, v332_norm, rename=rename)
        truth = g.variant_keys(v332_norm, WINDOW)
        result["window_giab_v3.3.2"] = {k: v.as_dict() for k, v in g.score(truth, found).items()}
    return result


ABLATION = [  # (label, params) each step adds one change to the previous
    ("plain bcftools mpileup|call -m, QUAL>=20",
     g.GermlineParams(caller="bcftools", full_baq=False, gap_frac=0.05, cluster_window=0,
                      min_depth=0, min_alt_reads=0, min_indel_af=0.0)),
    ("+ full BAQ (mpileup -D)", None),
    ("+ indel candidates need 20% gapped reads (-F 0.2)", None),
    ("+ freebayes locus consensus", None),
    ("+ SnpCluster (3 SNVs in 10 bp)", None),
    ("+ >= 3 ALT reads (FORMAT/AD)", None),
    ("+ heterozygous indel ALT fraction >= 0.3", None),
    ("+ depth >= min_depth", None),
    ("filter model instead of the thresholds (shipped artifact)", None),
]


def ablation(bam: Path, ref: Path, data: Path, work: Path, min_depth: int) -> list[dict]:
    steps = []
    p = ABLATION[0][1]
    for i, (label, _) in enumerate(ABLATION):
        if i == 1:
            p = replace(p, full_baq=True)
        elif i == 2:
            p = replace(p, gap_frac=0.2)
        elif i == 3:
            p = replace(p, caller="both")
        elif i == 4:
            p = replace(p, cluster_window=10)
        elif i == 5:
            p = replace(p, min_alt_reads=3)
        elif i == 6:
            p = replace(p, min_indel_af=0.3)
        elif i == 7:
            p = replace(p, min_depth=min_depth)
        elif i == 8:  # the learned filter replaces every threshold (min_depth stays as a floor)
            p = g.GermlineParams(filter_model="default", min_depth=min_depth)
        out = work / f"ablation/step{i}.vcf.gz"
        out.parent.mkdir(exist_ok=True)
        g.call_germline([bam], ref, out, p, region=f"{WINDOW[0]}:{WINDOW[1] - 5000}-{WINDOW[2] + 5000}")
        m = evaluate(out, ref, data, work / f"ablation/step{i}.norm.vcf.gz")
        steps.append({"step": label, "window": {k: m["window"][k] for k in ("SNV", "indel")},
                      "confident_bed": {k: m["confident_bed"][k] for k in ("SNV", "indel")}})
    return steps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bedside-giab"))
    ap.add_argument("--reference", choices=("full", "truncated"), default="full",
                    help="full: the 63 Mb mostly-N chr20 as given; truncated: chr20:1-11.1 Mb")
    ap.add_argument("--chunk-size", type=int, default=1_000_000)
    ap.add_argument("--min-depth", type=int, default=15,
                    help="calling.germline.min_depth (about a third of this sample's ~45x) [15]")
    ap.add_argument("--caller", choices=g.CALLERS, default="both")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--ablation", action="store_true", help="also measure each calling change")
    args = ap.parse_args(argv)
    if not (args.data / BAM).exists():
        print(f"GIAB data not found in {args.data}", file=sys.stderr)
        return 2
    work = args.work.resolve()
    t0 = time.time()
    cfg_path = prepare(work, args.data, args.reference, args.chunk_size, args.min_depth, args.caller)
    calls = run_workflow(work, cfg_path, args.cores)
    t_workflow = time.time() - t0
    ref = work / "resources/reference/genome.fa"
    norm = work / "giab_calls.norm.vcf.gz"
    metrics = evaluate(calls, ref, args.data, norm)
    metrics["settings"] = {"reference": args.reference, "chunk_size": args.chunk_size,
                           "min_qual": 20, "min_depth": args.min_depth, "caller": args.caller,
                           "matching": "allele-level, genotype-agnostic, after bcftools norm "
                                       "-m -both -f REF (left-aligned), PASS calls only",
                           "window": f"{WINDOW[0]}:{WINDOW[1]}-{WINDOW[2]}",
                           "workflow_seconds": round(t_workflow, 1)}
    if args.ablation:
        metrics["ablation"] = ablation(work / f"results/{PATIENT}/align/{SAMPLE}.bam", ref,
                                       args.data, work, args.min_depth)
    out_json = work / "giab_metrics.json"
    out_json.write_text(json.dumps(metrics, indent=2) + "\n")
    for scope in ("confident_bed", "window", "window_giab_v3.3.2"):
        for kind in ("SNV", "indel"):
            if scope not in metrics:
                continue
            m = metrics[scope][kind]
            print(f"{scope:13s} {kind:5s} TP={m['TP']:4d} FP={m['FP']:3d} FN={m['FN']:3d} "
                  f"precision={m['precision']:.3f} recall={m['recall']:.3f} F1={m['F1']:.3f}")
    for step in metrics.get("ablation", []):
        w = step["window"]
        print(f"ablation: {step['step']:52s} SNV F1={w['SNV']['F1']:.3f} "
              f"(FP {w['SNV']['FP']}, FN {w['SNV']['FN']})  indel F1={w['indel']['F1']:.3f} "
              f"(FP {w['indel']['FP']}, FN {w['indel']['FN']})")
    print(f"workflow (FASTQ -> gathered VCF) took {t_workflow:.0f} s")
    print(f"metrics: {out_json}")
    print(f"normalised calls: {norm}")
    shutil.rmtree(work / ".snakemake" / "incomplete", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
