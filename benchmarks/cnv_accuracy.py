"""Copy-number accuracy benchmark for `bedside cnv` (CNVkit segmentation + Bedside purity/ploidy fit).

One random genome (4 contigs x 200 kb, 20 gene models, heterozygous SNPs every ~800 bp) and one matched
normal (30x); one tumor (40x for a 2-copy region) per purity. In each tumor, genes drawn at random (seeded)
carry: 2 amplifications (total 6-9 copies), 2 homozygous deletions, 1 one-copy loss, 1 copy-neutral LOH;
the other genes stay at two balanced copies. Reads: ART HS25 2x150, bwa mem. Printed: per purity the
estimated purity and ploidy, and the gene calls against the truth; then pooled amplification
sensitivity (purity >= 0.3), homozygous-deletion sensitivity (purity >= 0.5), false gene-level calls
per 100 copy-neutral genes, purity error, and the caller's time per Mb of territory.

    .venv/bin/python benchmarks/cnv_accuracy.py [--out-dir DIR] [--purities P ...]
        [--seed 5] [--threads 2] [--json FILE]   (defaults: purities 0.3 0.35 0.45 0.5 0.6 0.7 0.8 0.9)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from bedside.calling import cnv
from bedside.demo import biomarker_sim as bs

CONTIGS = {"chr1": 200000, "chr2": 200000, "chr3": 200000, "chr4": 200000}
GENES_PER_CONTIG = 5


def build(out: Path, seed: int):
    specs = []
    k = 0
    for c in CONTIGS:
        for j in range(GENES_PER_CONTIG):
            specs.append(bs.GeneSpec(f"G{k:02d}", c, "+" if k % 2 else "-", 15000 + j * 37000, 6))
            k += 1
    g = bs.build_genome(seed, CONTIGS, specs)
    bs.write_reference(g, out / "ref.fa", out / "genes.gff3")
    if not (out / "N.bam").exists():
        bs.simulate_bam(bs.normal_components(g, out / "wn"), 30, out / "ref.fa", out / "N.bam", "BENCH-N", seed * 10)
    return g


def plan_events(g, rng: random.Random):
    names = [x.name for x in g.genes]
    rng.shuffle(names)
    kinds = ["amp", "amp", "homdel", "homdel", "loss", "cnloh"]
    truth = dict.fromkeys(names, "neutral")
    events = []
    for name, kind in zip(names, kinds):
        x = g.gene(name)
        pad = rng.randint(4000, 9000)
        lo, hi = max(0, x.start - 1 - pad), x.end + pad
        if kind == "amp":
            a = rng.randint(5, 8)
            events.append(bs.CopyEvent(x.contig, lo, hi, a, 1))
            truth[name] = "amplification"
        elif kind == "homdel":
            events.append(bs.CopyEvent(x.contig, lo, hi, 0, 0))
            truth[name] = "homozygous_deletion"
        elif kind == "loss":
            events.append(bs.CopyEvent(x.contig, lo, hi, 1, 0))
            truth[name] = "loss"
        else:
            events.append(bs.CopyEvent(x.contig, lo, hi, 2, 0))
            truth[name] = "cn_loh"
    return events, truth


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/bedside_cnv_bench"))
    ap.add_argument("--purities", type=float, nargs="+", default=[0.3, 0.35, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9])
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    g = build(out, args.seed)
    territory_mb = sum(CONTIGS.values()) / 1e6
    rows = []
    pooled = {"amp": [0, 0], "homdel": [0, 0], "neutral_genes": 0, "false_calls": 0, "purity_err": [], "secs": []}
    print("purity\testimate\tploidy\tamp\thomdel\tloss\tcn_loh\tfalse_on_neutral\tseconds")
    for p in args.purities:
        rng = random.Random(f"{args.seed}-{p:g}")
        events, truth = plan_events(g, rng)
        d = out / f"p{p:g}"
        bam = d / "T.bam"
        if not bam.exists():
            k = round(p * 1000)
            bs.simulate_bam(bs.tumor_components(g, bs.TumorPlan(purity=p, copy_events=events, seed=k), d / "wt"),
                            40, out / "ref.fa", bam, "BENCH-T", args.seed * 10000 + k)
        t0 = time.perf_counter()
        res = cnv.call_cnv(bam, out / "ref.fa", d / "cnv", normal=out / "N.bam", gff3=out / "genes.gff3",
                           threads=args.threads, plot=False)
        secs = time.perf_counter() - t0
        calls = {c.gene: c.call for c in res.genes}
        stat = {}
        for kind in ("amplification", "homozygous_deletion", "loss", "cn_loh"):
            want = [n for n, t in truth.items() if t == kind]
            stat[kind] = (sum(calls.get(n) == kind for n in want), len(want))
        neutral = [n for n, t in truth.items() if t == "neutral"]
        false = [n for n in neutral if calls.get(n, "neutral") != "neutral"]
        est = res.fit.purity
        rows.append({"purity": p, "estimate": est, "ploidy": res.fit.ploidy, "status": res.fit.status,
                     "calls": stat, "neutral": len(neutral), "false": false, "seconds": round(secs, 1)})
        pooled["amp"][0] += stat["amplification"][0]
        pooled["amp"][1] += stat["amplification"][1]
        if p >= 0.5:
            pooled["homdel"][0] += stat["homozygous_deletion"][0]
            pooled["homdel"][1] += stat["homozygous_deletion"][1]
        pooled["neutral_genes"] += len(neutral)
        pooled["false_calls"] += len(false)
        if est is not None:
            pooled["purity_err"].append(abs(est - p))
        pooled["secs"].append(secs)
        f = "\t".join(f"{a}/{b}" for a, b in stat.values())
        print(f"{p:g}\t{est}\t{res.fit.ploidy}\t{f}\t{len(false)}/{len(neutral)}\t{secs:.1f}", flush=True)
    amp = pooled["amp"][0] / max(1, pooled["amp"][1])
    hd = pooled["homdel"][0] / max(1, pooled["homdel"][1])
    fp100 = 100 * pooled["false_calls"] / max(1, pooled["neutral_genes"])
    perr = max(pooled["purity_err"]) if pooled["purity_err"] else None
    spm = sum(pooled["secs"]) / len(pooled["secs"]) / territory_mb
    summary = {"amp_sensitivity": amp, "amp_n": pooled["amp"][1], "homdel_sensitivity_p>=0.5": hd,
               "homdel_n": pooled["homdel"][1], "false_per_100_neutral": fp100,
               "neutral_genes": pooled["neutral_genes"], "max_purity_error": perr,
               "purity_assessable": f"{len(pooled['purity_err'])}/{len(args.purities)}",
               "seconds_per_mb": round(spm, 1), "territory_mb": territory_mb}
    print(f"\namplification sensitivity (purity >= 0.3): {amp:.3f} ({pooled['amp'][0]}/{pooled['amp'][1]})")
    print(f"homozygous deletion sensitivity (purity >= 0.5): {hd:.3f} ({pooled['homdel'][0]}/{pooled['homdel'][1]})")
    print(f"false gene-level calls per 100 copy-neutral genes: {fp100:.2f} "
          f"({pooled['false_calls']}/{pooled['neutral_genes']})")
    print(f"max |purity estimate - truth|: {perr} (assessable {summary['purity_assessable']})")
    print(f"time per Mb of territory (T 40x + N 30x, 1 kb bins, {args.threads} threads): {spm:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=2) + "\n")
    ok = amp >= 0.95 and hd >= 0.9 and fp100 <= 1 and perr is not None and perr <= 0.1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
