"""Time the demo generator: full build (with ART reads) and the parts of it.

Usage: .venv/bin/python benchmarks/demo_data.py [--seed N] [--threads N] [--keep DIR]
Prints wall-clock seconds for: reference + gene models, variant plan, the whole build without reads,
the whole build with reads, plus the build size (genome bp, read pairs, FASTQ bytes).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
import time
from pathlib import Path

from bedside.demo import generate as gen
from bedside.demo.patients import PROTECTED, plan_variants
from bedside.demo.reference import build_reference


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=gen.DEFAULT_SEED)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="write the full build here instead of a temporary folder")
    args = ap.parse_args()
    ref, t_ref = timed(build_reference, args.seed, PROTECTED)
    _, t_plan = timed(plan_variants, ref, args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="bedside-demo-bench."))
    try:
        _, t_noreads = timed(gen.generate, tmp / "noreads", args.seed, threads=args.threads, reads=False)
        out = args.keep or tmp / "full"
        manifest, t_full = timed(gen.generate, out, args.seed, threads=args.threads)
        fq = [f for f in manifest["files"] if f["path"].startswith("fastq/")]
        pairs = 0
        for f in fq:
            if f["path"].endswith("_R1.fastq.gz"):
                with gzip.open(out / f["path"], "rb") as fh:
                    pairs += sum(1 for _ in fh) // 4
        print(json.dumps({
            "seed": args.seed, "threads": args.threads,
            "genome_bp": ref.size, "genes": len(ref.genes),
            "reference_s": round(t_ref, 3), "variant_plan_s": round(t_plan, 3),
            "build_without_reads_s": round(t_noreads, 2), "build_with_reads_s": round(t_full, 2),
            "read_pairs": pairs, "fastq_files": len(fq), "fastq_mb": round(sum(f["size"] for f in fq) / 1e6, 1),
            "files": len(manifest["files"]),
        }, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
