"""Scattered vs unscattered `bedside msi` and `bedside cnv` (the workflow's msi_chunk/msi and cnv_chunk/cnv
rules): identical results, and where the time goes.

One seeded random genome (4 contigs x 500 kb by default, ``--contig-kb``; 4 genes; 200 planted
microsatellites per Mb; SNPs every 800 bp),
normal 30x and tumor 60x (purity 0.6, an amplification, a one-copy loss, a third of the microsatellites
unstable), ART HS25 2x150 + bwa mem. Each caller is run once over the whole genome (as before the scatter)
and once scattered over the plan's chunks (``--chunk-kb``, default 250: 8 chunks) and merged, as the
workflow runs them; the raw tools a CNV chunk wraps (``cnvkit coverage`` of T and N over all bins,
``bcftools mpileup | call`` at the germline SNPs) are timed beside it on the same inputs. Printed: whether
scattered == unscattered (score, site counts, segments, gene calls, purity), wall/CPU seconds of each
part, per Mb and per site, and the fixed cost of one chunk job (a 10 kb chunk). Two runs at different
genome sizes (same chunk count) give the marginal cost per Mb of each part.

    .venv/bin/python benchmarks/biomarker_scatter.py [--out-dir DIR] [--contig-kb 500] [--chunk-kb 250]
                                                     [--json FILE]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from bedside import biomarkers, plan
from bedside.calling import cnv
from bedside.demo import biomarker_sim as bs

BEDSIDE = str(Path(sys.executable).with_name("bedside"))


def timed(cmd: list, log: Path | None = None) -> tuple[float, float]:
    """Wall and CPU (children user+sys) seconds of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log or "/dev/null", "w") as err:
        subprocess.run([str(c) for c in cmd], check=True, stderr=err, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t0, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/bedside_biomarker_scatter"))
    ap.add_argument("--contig-kb", type=int, default=500)
    ap.add_argument("--chunk-kb", type=int, default=250)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    contig_map = {f"chr{i}": args.contig_kb * 1000 for i in range(1, 5)}
    n_ms = round(200 * sum(contig_map.values()) / 1e6)
    names = ["ERBB2", "PTEN", "KRAS", "TP53"]
    specs = [bs.GeneSpec(n, f"chr{i + 1}", "+", 200_000, 6) for i, n in enumerate(names)]
    g = bs.build_genome(args.seed, contig_map, specs, n_microsatellites=n_ms)
    ref, gff3 = out / "ref.fa", out / "genes.gff3"
    bs.write_reference(g, ref, gff3)
    tb, nb = out / "T.bam", out / "N.bam"
    if not nb.exists():
        bs.simulate_bam(bs.normal_components(g, out / "wn"), 30, ref, nb, "B1-N", 1)
    if not tb.exists():
        e, p = g.gene("ERBB2"), g.gene("PTEN")
        events = [bs.CopyEvent(e.contig, e.start - 20_000, e.end + 20_000, 6, 1),
                  bs.CopyEvent(p.contig, p.start - 40_000, p.end + 40_000, 1, 0)]
        plan_t = bs.TumorPlan(purity=0.6, copy_events=events, unstable=list(range(0, n_ms, 3)), seed=2)
        bs.simulate_bam(bs.tumor_components(g, plan_t, out / "wt"), 60, ref, tb, "B1-T", 2)
    mb = sum(contig_map.values()) / 1e6
    pair = ["--tumor", tb, "--normal", nb, "--ref", ref]
    contigs = plan.contig_lengths(ref)
    chunks = plan.plan_chunks(contigs, args.chunk_kb * 1000)
    tiles = biomarkers.scatter_territory(chunks, contigs)
    res: dict = {"genome_mb": mb, "chunks": len(chunks)}

    # germline SNP sites of the normal (what the workflow passes as --germline-vcf)
    germ = out / "germline.vcf.gz"
    if not germ.exists():
        subprocess.run(f"bcftools mpileup -f {ref} -a AD,DP -Ou {nb} | bcftools call -mv -V indels -Oz -o {germ} "
                       f"&& tabix -p vcf {germ}", shell=True, check=True)
    gv = ["--germline-vcf", germ]

    # ---- MSI
    sites = out / "msi_sites.tsv"
    res["msi_sites_scan"] = timed([BEDSIDE, "msi", "--ref", ref, "--write-sites", sites])
    n_sites = sum(1 for ln in sites.read_text().splitlines() if ln and not ln.startswith(("#", "chrom")))
    res["msi_whole"] = timed([BEDSIDE, "msi", *pair, "--sites", sites, "--out", out / "msi_whole.json",
                              "--sites-out", out / "msi_whole_sites.tsv"])
    ch_wall = ch_cpu = 0.0
    counts = []
    for c in chunks:
        counts.append(out / "msi_chunks" / f"{c.name}.tsv")
        w, u = timed([BEDSIDE, "msi", *pair, "--sites", sites, "--region", *tiles[c.name], "--counts-out",
                      counts[-1]])
        ch_wall, ch_cpu = ch_wall + w, ch_cpu + u
    res["msi_chunks"] = (ch_wall, ch_cpu)
    res["msi_merge"] = timed([BEDSIDE, "msi", "--ref", ref, "--merge", *counts, "--out", out / "msi_merged.json",
                              "--sites-out", out / "msi_merged_sites.tsv"])
    res["msi_chunk_10kb"] = timed([BEDSIDE, "msi", *pair, "--sites", sites, "--region", "chr1:1-10000",
                                   "--counts-out", out / "msi_tiny.tsv"])
    a, b = (json.loads((out / f"msi_{k}.json").read_text()) for k in ("whole", "merged"))
    res["msi_identical"] = a == b and filecmp.cmp(out / "msi_whole_sites.tsv", out / "msi_merged_sites.tsv",
                                                   shallow=False)
    res["msi"] = {k: a[k] for k in ("classification", "value", "count", "assessed_sites", "scanned_sites")}
    res["msi_sites"] = n_sites

    # ---- CNV
    tail = ["--gff3", gff3, "--no-plot"]
    res["cnv_whole"] = timed([BEDSIDE, "cnv", *pair, *gv, *tail, "--out-dir", out / "cnv_whole"],
                             out / "cnv_whole.log")
    ch_wall = ch_cpu = 0.0
    dirs = []
    for c in chunks:
        dirs.append(out / "cnv_chunks" / c.name)
        w, u = timed([BEDSIDE, "cnv", *pair, *gv, "--region", *tiles[c.name], "--coverage-out", dirs[-1]])
        ch_wall, ch_cpu = ch_wall + w, ch_cpu + u
    res["cnv_chunks"] = (ch_wall, ch_cpu)
    res["cnv_merge"] = timed([BEDSIDE, "cnv", *pair, *gv, *tail, "--coverage-chunks", *dirs, "--out-dir",
                              out / "cnv_merged"], out / "cnv_merged.log")
    res["cnv_chunk_10kb"] = timed([BEDSIDE, "cnv", *pair, *gv, "--region", "chr1:1-10000", "--coverage-out",
                                   out / "cnv_tiny"])
    res["cnv_identical"] = all(filecmp.cmp(out / "cnv_whole" / f, out / "cnv_merged" / f, shallow=False)
                               for f in ("segments.tsv", "genes.tsv", "cnv.json"))
    fit = json.loads((out / "cnv_whole" / "cnv.json").read_text())["fit"]
    res["cnv_fit"] = {k: fit.get(k) for k in ("status", "purity", "ploidy", "n_bins", "n_snps")}
    res["cnv_whole_log"] = [ln.split("INFO ", 1)[-1] for ln in (out / "cnv_whole.log").read_text().splitlines()
                            if "CNVkit coverage" in ln]
    # raw tools a CNV chunk wraps, over the whole genome
    bins = cnv.make_bins(dict(contigs), cnv.BIN_SIZE)
    bed = out / "bins.bed"
    bed.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in bins))
    w1, u1 = timed(["cnvkit", "coverage", tb, bed, "-q", "20", "-o", out / "raw_t.cnn"])
    w2, u2 = timed(["cnvkit", "coverage", nb, bed, "-q", "20", "-o", out / "raw_n.cnn"])
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(f"bcftools mpileup -f {ref} -a AD,DP -q 20 -Q 20 -d 1000 -I -T {germ} {tb} {nb} "
                   f"| bcftools call -mv -V indels -Oz -o {out / 'raw_snps.vcf.gz'}", shell=True, check=True,
                   stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    w3 = time.perf_counter() - t0
    u3 = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    res["raw_cnvkit_coverage_TN"] = (w1 + w2, u1 + u2)
    res["raw_snp_pileup"] = (w3, u3)

    print(f"genome {mb:.1f} Mb, {len(chunks)} chunks of {args.chunk_kb} kb; {n_sites} microsatellite sites")
    print(f"MSI  scattered == unscattered: {res['msi_identical']}  {res['msi']}")
    print(f"CNV  scattered == unscattered: {res['cnv_identical']}  {res['cnv_fit']}")
    print("part\twall s\tCPU s\tCPU s per Mb")
    for k in ("msi_sites_scan", "msi_whole", "msi_chunks", "msi_merge", "msi_chunk_10kb", "cnv_whole", "cnv_chunks",
              "cnv_merge", "cnv_chunk_10kb", "raw_cnvkit_coverage_TN", "raw_snp_pileup"):
        w, u = res[k]
        per = "" if k.endswith("10kb") else f"{u / mb:.2f}"
        print(f"{k}\t{w:.1f}\t{u:.1f}\t{per}")
    print(f"MSI CPU per site (whole run): {1000 * res['msi_whole'][1] / max(1, n_sites):.1f} ms")
    print("cnv (whole) breakdown:", *res["cnv_whole_log"])
    if args.json:
        args.json.write_text(json.dumps(res, indent=1) + "\n")
    return 0 if res["msi_identical"] and res["cnv_identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
