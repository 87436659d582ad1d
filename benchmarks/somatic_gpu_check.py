"""GPU check of the somatic array core: run bedside.calling.somatic_core.score on CuPy arrays and compare
with the NumPy result on the same sites (TLOD/NLOD/VAF/strand G to 1e-9 relative, filter masks exactly),
then time both on --sites sites. Exit 0 = match, 1 = mismatch, 2 = no CuPy/GPU (prints why).

    .venv/bin/pip install cupy-cuda12x   # on the GPU node
    .venv/bin/python benchmarks/somatic_gpu_check.py [--sites 10000000]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bedside.calling.somatic_core import random_sites, score


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sites", type=int, default=10_000_000)
    ap.add_argument("--check-sites", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    try:
        import cupy as cp

        ndev = cp.cuda.runtime.getDeviceCount()
    except (ImportError, RuntimeError) as exc:
        print(f"no GPU check: {type(exc).__name__}: {exc}")
        return 2
    if ndev < 1:
        print("no GPU check: no CUDA device")
        return 2
    print(f"device: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}, cupy {cp.__version__}")
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
    cpu_sites = random_sites(n, seed=1)
    t = time.perf_counter()
    score(cpu_sites)
    cpu = time.perf_counter() - t
    gpu_sites = random_sites(n, seed=1, xp=cp)
    score(random_sites(1000, seed=2, xp=cp))
    cp.cuda.Device().synchronize()
    t = time.perf_counter()
    score(gpu_sites)
    cp.cuda.Device().synchronize()
    gpu = time.perf_counter() - t
    print(f"{n:,} sites: numpy {cpu:.2f} s, cupy {gpu:.3f} s (x{cpu / gpu:.0f}); "
          f"GPU pool {cp.get_default_memory_pool().total_bytes() / 2**20:.0f} MiB")
    print("RESULT:", "match" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
