"""Somatic accuracy benchmark: generate the tumor/normal benchmark (bedside.demo.somatic_bench), then call
it with (a) bedside somatic, (b) the skeleton's approach (bcftools mpileup + call -m over T+N, keep sites
where the normal is 0/0 and the tumor carries the alt) and (c) freebayes on both BAMs
(--pooled-continuous, keep alleles with no alt read in the normal and >= 2 in the tumor); print
sensitivity per VAF band, precision and germline-called-somatic for each.

    .venv/bin/python benchmarks/somatic_accuracy.py [--out-dir DIR] [--seeds 7 11 13] [--threads 2]

Each seed is a fresh benchmark (own reference, variants and reads); the table has one row per caller and
seed, then the pooled counts over all seeds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bedside.calling.somatic import call_somatic
from bedside.demo.somatic_bench import evaluate, load_truth, make_bench


def sh(args: list, **kw) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kw).stdout


def ours(b, out: Path, threads: int) -> list[tuple]:
    call_somatic(b.tumor_bam, b.normal_bam, b.ref, out / "bedside.vcf.gz", threads=threads)
    q = sh(["bcftools", "query", "-i", 'FILTER="PASS"', "-f", "%CHROM\t%POS\t%REF\t%ALT\n",
            out / "bedside.vcf.gz"])
    return [(c, int(p), r, a) for c, p, r, a in (x.split("\t") for x in q.splitlines())]


def skeleton(b, out: Path, threads: int) -> list[tuple]:
    bcf = out / "skeleton.bcf"
    p1 = subprocess.Popen(["bcftools", "mpileup", "-f", b.ref, "-a", "AD,DP", "-Ou", b.tumor_bam, b.normal_bam],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    subprocess.run(["bcftools", "call", "-mv", "-Ob", "-o", bcf], stdin=p1.stdout, check=True,
                   stderr=subprocess.DEVNULL)
    p1.wait()
    norm = out / "skeleton.norm.bcf"
    sh(["bcftools", "norm", "-f", b.ref, "-m", "-any", "-Ob", "-o", norm, bcf])
    q = sh(["bcftools", "query", "-s", "BENCH-T,BENCH-N", "-f", "%CHROM\t%POS\t%REF\t%ALT[\t%GT]\n", norm])
    calls = []
    for line in q.splitlines():
        c, p, r, a, tgt, ngt = line.split("\t")
        if ngt.replace("|", "/") == "0/0" and any(x not in ("0", ".") for x in tgt.replace("|", "/").split("/")):
            calls.append((c, int(p), r, a))
    return calls


def freebayes(b, out: Path, threads: int) -> list[tuple]:
    vcf = out / "freebayes.vcf"
    with open(vcf, "w") as fh:
        subprocess.run(["freebayes", "-f", str(b.ref), "--pooled-continuous", "--min-alternate-fraction", "0.03",
                        "--min-alternate-count", "2", str(b.tumor_bam), str(b.normal_bam)], stdout=fh,
                       check=True, stderr=subprocess.DEVNULL)
    norm = out / "freebayes.norm.bcf"
    sh(["bcftools", "norm", "-f", b.ref, "-m", "-any", "-a", "-Ob", "-o", norm, vcf])
    q = sh(["bcftools", "query", "-s", "BENCH-T,BENCH-N", "-f", "%CHROM\t%POS\t%REF\t%ALT[\t%AD]\n", norm])
    calls = set()
    for line in q.splitlines():
        c, p, r, a, tad, nad = line.split("\t")
        ta = [int(x) if x != "." else 0 for x in tad.split(",")]
        na = [int(x) if x != "." else 0 for x in nad.split(",")]
        if len(ta) > 1 and ta[1] >= 2 and (len(na) < 2 or na[1] == 0) and a != "*":
            calls.add((c, int(p), r, a))
    return sorted(calls)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/bedside-somatic-accuracy"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13])
    ap.add_argument("--length", type=int, default=150_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write results here too")
    args = ap.parse_args(argv)
    callers = (("bedside somatic", ours), ("skeleton: bcftools call -m, normal 0/0", skeleton),
               ("freebayes --pooled-continuous, normal AO=0", freebayes))
    results: dict[str, dict] = {}
    pooled: dict[str, list] = {name: [] for name, _ in callers}
    truth_all: list = []
    for seed in args.seeds:
        d = args.out_dir / f"seed{seed}"
        t0 = time.perf_counter()
        b = make_bench(d, seed=seed, length=args.length, threads=args.threads)
        print(f"benchmark data seed {seed}: {d} ({time.perf_counter() - t0:.1f} s)")
        truth = load_truth(b.truth)
        # keep variants distinct across seeds when pooling
        truth_all += [v.__class__(**(v.__dict__ | {"chrom": f"s{seed}_{v.chrom}"})) for v in truth]
        for name, fn in callers:
            t = time.perf_counter()
            calls = fn(b, d, args.threads)
            secs = time.perf_counter() - t
            results[f"{name} | seed {seed}"] = evaluate(calls, truth).as_dict() | {"seconds": round(secs, 1)}
            pooled[name] += [(f"s{seed}_{c}", p, r, a) for c, p, r, a in calls]
    for name, _ in callers:
        results[f"{name} | pooled {len(args.seeds)} seeds"] = evaluate(pooled[name], truth_all).as_dict() | {
            "seconds": round(sum(r["seconds"] for k, r in results.items() if k.startswith(name + " |")), 1)}
    bands = [k for k in next(iter(results.values()))["sensitivity"]]
    print("| caller | data | " + " | ".join(f"sens {k}" for k in bands) + " | precision | TP | FP | germline "
          "called somatic | time (s) |")
    print("|---" * (len(bands) + 7) + "|")
    for key in sorted(results, key=lambda k: ([n for n, _ in callers].index(k.split(" | ")[0]), "pooled" in k)):
        r = results[key]
        sens = " | ".join(f"{r['sensitivity'][k]:.3f} ({r['found'][k]}/{r['planted'][k]})" for k in bands)
        print(f"| {key} | {sens} | {r['precision']:.3f} | {r['true_pos']} | {r['false_pos']} | "
              f"{r['germline_called_somatic']} | {r['seconds']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
