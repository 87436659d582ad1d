"""GPU check of the somatic array core: run bedside.calling.somatic_core.score on CuPy arrays and compare
with the NumPy result on the same sites (TLOD/NLOD/VAF/strand G to 1e-9 relative, filter masks exactly),
then time both on --sites sites. Exit 0 = match, 1 = mismatch, 2 = no CuPy/GPU (prints what is missing).

Three figures per run, all on the same sites: NumPy on the CPU; CuPy with the sites already on the GPU
(the kernels alone); and CuPy from NumPy sites (``bedside somatic --device gpu``'s path: copy to the GPU,
score, copy back). The issue's goal is the array core >= 10x its NumPy run on 10 M sites.

    .venv/bin/pip install cupy-cuda12x   # on the GPU node (CUDA 12 driver)
    .venv/bin/python benchmarks/somatic_gpu_check.py [--sites 10000000] [--json out.json]

Record the printed figures in benchmarks/README.md ("Speed of the array core", the CuPy row) with the GPU
model, driver/CUDA version, CuPy version and the CPU the NumPy run used (docs/gpu.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from bedside.calling.somatic import DeviceUnavailable, array_module, score_on_device
from bedside.calling.somatic_core import Params, random_sites, score

GOAL = 10.0  # x NumPy on 10 M sites (issue #14)


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, default=10_000_000)
    ap.add_argument("--check-sites", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timed runs [3]")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    try:
        cp = array_module("gpu")
    except DeviceUnavailable as exc:
        print(f"no GPU check: {exc}")
        return 2
    props = cp.cuda.runtime.getDeviceProperties(0)
    device = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    print(f"device: {device}, CUDA runtime {cp.cuda.runtime.runtimeGetVersion()}, driver "
          f"{cp.cuda.runtime.driverGetVersion()}, cupy {cp.__version__}, numpy {np.__version__}, "
          f"CPU {platform.processor() or platform.machine()} x{os.cpu_count()}")
    ok = True
    for tumor_only in (False, True):
        ref = score(random_sites(args.check_sites, seed=5, tumor_only=tumor_only))
        got = score(random_sites(args.check_sites, seed=5, tumor_only=tumor_only, xp=cp))
        for k, v in ref.items():
            g = cp.asnumpy(got[k])
            same = np.array_equal(v, g) if k == "filter_mask" else np.allclose(v, g, rtol=1e-9, atol=1e-9,
                                                                              equal_nan=True)
            print(f"{'tumor-only' if tumor_only else 'tumor/normal'} {k}: {'match' if same else 'MISMATCH'}")
            ok &= bool(same)
    n = args.sites
    params = Params()
    cpu_sites = random_sites(n, seed=1)
    cpu = _best(lambda: score(cpu_sites, params), args.repeat)
    gpu_sites = random_sites(n, seed=1, xp=cp)
    score(random_sites(1000, seed=2, xp=cp))  # compile the kernels once

    def on_gpu():
        score(gpu_sites, params)
        cp.cuda.Device().synchronize()

    def from_host():
        score_on_device(cpu_sites, params, cp)  # returns NumPy: includes both copies

    gpu = _best(on_gpu, args.repeat)
    e2e = _best(from_host, args.repeat)
    pool = cp.get_default_memory_pool().total_bytes() / 2**20
    print(f"{n:,} sites: numpy {cpu:.3f} s; cupy (sites on the GPU) {gpu:.4f} s (x{cpu / gpu:.1f}); "
          f"cupy from numpy incl. copies {e2e:.3f} s (x{cpu / e2e:.1f}); GPU pool {pool:.0f} MiB")
    if n >= 10_000_000:
        print(f"goal x{GOAL:g} on 10 M sites (sites on the GPU): {'met' if cpu / gpu >= GOAL else 'NOT met'}")
    print("RESULT:", "match" if ok else "MISMATCH")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"sites": n, "device": device, "cupy": cp.__version__, "numpy": np.__version__,
                       "numpy_s": cpu, "cupy_resident_s": gpu, "cupy_from_host_s": e2e,
                       "speedup_resident": cpu / gpu, "speedup_from_host": cpu / e2e, "gpu_pool_mib": pool,
                       "match": ok}, fh, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
