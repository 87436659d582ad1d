"""Fusion accuracy benchmark for `bedside sv` (delly somatic + Bedside fusion annotation).

One random genome (8 contigs x 80 kb, two genes per contig on opposite strands, 8-12 exons each) named
after fusion partners, and one matched normal (30x). Each tumor plants 5 fusions between random genes
(3 reciprocal translocations between contig pairs, 2 inversions inside a contig), breakpoints in random
introns, on one haplotype of the tumor clone; purity and depth vary per tumor. Reads: ART HS25 2x150
(insert 350), bwa mem. A planted fusion is found when a reported fusion has the same 5' and 3' genes
(observed junction, or the reciprocal inferred from the balanced event); breakpoint error is the larger
of the two distances to the planted breakpoints. A reported fusion whose gene pair is neither planted
nor the reciprocal of a planted one is false. Expected supporting fragments per junction is
(depth x purity / 2) x (insert + read length - 2 x 25) / (2 x read length): clone haploid coverage
times the span over which a pair or a split read (>= 25 bp anchor) reaches across the junction.

    .venv/bin/python benchmarks/sv_accuracy.py [--out-dir DIR] [--seed 9] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from bedside.calling import sv
from bedside.demo import biomarker_sim as bs

NAMES = ["EML4", "ALK", "CD74", "ROS1", "KIF5B", "RET", "TPM3", "NTRK1", "ETV6", "NTRK3", "FGFR2", "BICC1",
         "FGFR3", "TACC3", "SLC3A2", "NRG1"]
CONTIGS = {f"chr{i + 1}": 80000 for i in range(8)}
#: (purity, tumor depth)
TUMORS = [(0.3, 40), (0.5, 40), (0.8, 30), (0.5, 60), (0.15, 30)]


def expected_support(purity: float, depth: float, read_len: int = 150, insert: int = 350) -> float:
    return depth * purity / 2 * (insert + read_len - 50) / (2 * read_len)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/bedside_sv_bench"))
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    specs = []
    for i, c in enumerate(CONTIGS):
        specs.append(bs.GeneSpec(NAMES[2 * i], c, "+", 8000, rng.randint(8, 12)))
        specs.append(bs.GeneSpec(NAMES[2 * i + 1], c, "-", 44000, rng.randint(8, 12)))
    g = bs.build_genome(args.seed, CONTIGS, specs)
    bs.write_reference(g, out / "ref.fa", out / "genes.gff3")
    if not (out / "N.bam").exists():
        bs.simulate_bam(bs.normal_components(g, out / "wn"), 30, out / "ref.fa", out / "N.bam", "BENCH-N", 1)
    contigs = list(CONTIGS)
    rows, secs = [], []
    pooled = {"found": 0, "n": 0, "found_5": 0, "n_5": 0, "false": 0, "bp_err": []}
    print("purity\tdepth\texp_support\tfound\tfalse\tmax_bp_err\tmedian_support\tseconds")
    for t, (p, depth) in enumerate(TUMORS):
        r = random.Random(args.seed * 100 + t)
        order = contigs[:]
        r.shuffle(order)
        fusions = []
        for a, b in ((order[0], order[1]), (order[2], order[3]), (order[4], order[5])):
            ga = r.choice([x for x in g.genes if x.contig == a])
            gb = r.choice([x for x in g.genes if x.contig == b])
            fusions.append(bs.Fusion(ga.name, ga.intron_point(r.randint(1, len(ga.exons) - 1)), gb.name,
                                     gb.intron_point(r.randint(1, len(gb.exons) - 1))))
        for c in order[6:8]:
            g5, g3 = [x for x in g.genes if x.contig == c]  # '+' gene first: inversion makes g5::g3
            fusions.append(bs.Fusion(g5.name, g5.intron_point(r.randint(1, len(g5.exons) - 1)), g3.name,
                                     g3.intron_point(r.randint(1, len(g3.exons) - 1))))
        d = out / f"t{t}"
        bam = d / "T.bam"
        if not bam.exists():
            bs.simulate_bam(bs.tumor_components(g, bs.TumorPlan(purity=p, fusions=fusions, seed=t + 1), d / "w"),
                            depth, out / "ref.fa", bam, "BENCH-T", 100 + t)
        t0 = time.perf_counter()
        sv.call_sv(bam, out / "N.bam", out / "ref.fa", d / "sv.vcf.gz")
        found_f = sv.annotate_fusions(d / "sv.vcf.gz", out / "genes.gff3")
        secs.append(time.perf_counter() - t0)
        truth = {(f.gene5, f.gene3): f for f in fusions}
        allowed = set(truth) | {(b, a) for a, b in truth}
        got = {(f.gene5, f.gene3): f for f in found_f}
        found, errs, support = 0, [], []
        for key, f in truth.items():
            h = got.get(key)
            if h is None:
                continue
            found += 1
            e = max(abs(int(h.breakpoint5.split(":")[1]) - f.pos5), abs(int(h.breakpoint3.split(":")[1]) - f.pos3))
            errs.append(e)
            support.append(h.tumor_pairs + h.tumor_split)
        false = [k for k in got if k not in allowed]
        es = expected_support(p, depth)
        pooled["found"] += found
        pooled["n"] += len(truth)
        if es >= 5:
            pooled["found_5"] += found
            pooled["n_5"] += len(truth)
        pooled["false"] += len(false)
        pooled["bp_err"] += errs
        med = sorted(support)[len(support) // 2] if support else None
        rows.append({"purity": p, "depth": depth, "expected_support": round(es, 1), "found": found, "n": len(truth),
                     "false": false, "bp_err": errs, "support": support, "seconds": round(secs[-1], 2)})
        print(f"{p:g}\t{depth}\t{es:.1f}\t{found}/{len(truth)}\t{len(false)}\t{max(errs) if errs else ''}\t{med}\t"
              f"{secs[-1]:.1f}", flush=True)
    recall5 = pooled["found_5"] / max(1, pooled["n_5"])
    fps = pooled["false"] / len(TUMORS)
    maxerr = max(pooled["bp_err"]) if pooled["bp_err"] else None
    mb = sum(CONTIGS.values()) / 1e6
    spm = sum(secs) / len(secs) / mb
    print(f"\nrecall at >= 5 expected supporting fragments: {recall5:.3f} ({pooled['found_5']}/{pooled['n_5']}); "
          f"all tumors {pooled['found']}/{pooled['n']}")
    print(f"false fusions per sample: {fps:.2f}; max breakpoint error: {maxerr} bp")
    print(f"time per Mb (delly call + filter + annotation, T+N): {spm:.2f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "recall_at_5": recall5, "false_per_sample": fps,
                                         "max_bp_err": maxerr, "seconds_per_mb": spm}, indent=2) + "\n")
    return 0 if recall5 >= 0.9 and fps <= 1 and maxerr is not None and maxerr <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
