#!/usr/bin/env python3
"""Run every speed and accuracy benchmark in turn (`make bench`) and print their figures.

Each benchmark prints its own tables; results worth keeping are copied into benchmarks/README.md
by hand, with the date and the machine. Benchmarks that need ../shared/data or a GPU say so and skip.
Usage: python benchmarks/run_all.py [NAME ...]   (NAME = script name without .py; default: all)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"

# (script, arguments, needs shared data); a script exiting 2 could not run here (no GPU): skipped
SKIPPED_EXIT = 2
BENCHMARKS = [
    ("demo_data", [], False),
    ("annotate_speed", [], False),
    ("somatic_core_speed", [], False),
    ("somatic_accuracy", [], False),
    ("germline_scaling", [], False),
    ("germline_giab", [], True),
    ("germline_heldout", ["report"], False),
    ("germline_assembly_speed", [], False),
    ("pgx_clinical_speed", [], False),
    ("somatic_gpu_check", [], False),
    ("wgs_cost", ["--quick"], True),
    ("plan_wgs", ["--patients", "1", "2"], False),
]


def main(argv: list[str]) -> int:
    wanted = set(argv[1:])
    failed = []
    for name, args, needs_shared in BENCHMARKS:
        if wanted and name not in wanted:
            continue
        print(f"\n===== {name} =====", flush=True)
        if needs_shared and not SHARED.is_dir():
            print(f"skipped: needs the shared public data at {SHARED}")
            continue
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *args], check=False)
        print(f"----- {name}: exit {res.returncode}, {time.perf_counter() - t0:.0f} s", flush=True)
        if res.returncode == SKIPPED_EXIT and name == "somatic_gpu_check":
            print(f"skipped: {name} needs a CUDA GPU and CuPy (docs/gpu.md)")
        elif res.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
