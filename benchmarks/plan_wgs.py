#!/usr/bin/env python3
"""Planning a whole genome (issue 14): Snakemake dry-run time and jobs per patient for 30x WGS tumor/normal
projects (GRCh38 + 2,800 decoy/HLA-like contigs, 8 lanes per sample), with the automatic chunk plan and,
beside it in the same run, a fixed 1 Mb chunk size (the workflow's old default) for comparison.

    .venv/bin/python benchmarks/plan_wgs.py [--patients 1 2 10]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bedside import plan
from bedside.bench.wgs_plan import hs38dh_like, write_project

REPO = Path(__file__).resolve().parents[1]


def dry_run(root: Path) -> tuple[float, dict[str, int]]:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/Snakefile"),
                          "--directory", str(root), "--configfile", str(root / "config.yaml"), "-n", "--quiet",
                          "rules", "--cores", "16"], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"dry run failed in {root}:\n{(res.stdout + res.stderr)[-3000:]}")
    return seconds, {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", res.stdout + res.stderr,
                                                           re.MULTILINE)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, nargs="+", default=[1, 2, 10])
    args = ap.parse_args(argv)
    contigs = hs38dh_like()
    print(f"reference: {len(contigs)} contigs, {sum(n for _, n in contigs) / 1e9:.2f} Gb")
    print("patients\tchunk_size\tchunks\tjobs\tjobs_per_patient\tdry_run_s\tratio_s_vs_auto")
    for n in args.patients:
        auto_s = None
        # the fixed 1 Mb plan only for small cohorts: at 10 patients it is ~100,000 jobs
        for size in ("auto", 1_000_000) if n <= 2 else ("auto",):
            with tempfile.TemporaryDirectory(prefix="bedside-plan-") as tmp:
                root = Path(tmp)
                cfg_path = write_project(root, REPO / "config/config.yaml", patients=n, contigs=contigs)
                cfg = yaml.safe_load(cfg_path.read_text())
                cfg["calling"]["chunk_size"] = size
                cfg_path.write_text(yaml.safe_dump(cfg))
                seconds, counts = dry_run(root)
            chunks = len(plan.plan_chunks(contigs, size))
            auto_s = seconds if size == "auto" else auto_s
            print(f"{n}\t{size}\t{chunks}\t{counts['total']}\t{counts['total'] / n:.0f}\t{seconds:.1f}\t"
                  f"{seconds / auto_s:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
