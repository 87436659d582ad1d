"""Speed of the somatic array core (bedside.calling.somatic_core.score) on many candidate sites, against
a per-site Python loop doing the same math (score_loop), plus peak memory; on CuPy when a GPU is there.

The loop is timed on --loop-sites sites and extrapolated linearly to --sites (it says so).

    .venv/bin/python benchmarks/somatic_core_speed.py [--sites 10000000] [--loop-sites 100000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc

import numpy as np

from bedside.calling.somatic_core import random_sites, score, score_loop


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sites", type=int, default=10_000_000)
    ap.add_argument("--loop-sites", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    n = args.sites

    t = time.perf_counter()
    sites = random_sites(n, seed=1)
    gen = time.perf_counter() - t
    input_mb = sum(v.nbytes for v in vars(sites).values() if isinstance(v, np.ndarray)) / 2**20
    print(f"sites: {n:,} (generated in {gen:.1f} s; input arrays {input_mb:.0f} MiB)")

    score(random_sites(1000, seed=2))  # warm-up
    tracemalloc.start()
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        res = score(sites)
        times.append(time.perf_counter() - t)
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(times)
    npass = int((res["filter_mask"] == 0).sum())
    print(f"numpy array core: {best:.2f} s best of {args.repeats} ({n / best / 1e6:.1f} M sites/s); "
          f"peak traced allocation during scoring {peak / 2**20:.0f} MiB; process max RSS {rss_mb():.0f} MiB; "
          f"PASS {npass:,}")
    del res

    small = random_sites(args.loop_sites, seed=1)
    t = time.perf_counter()
    score_loop(small)
    loop = time.perf_counter() - t
    est = loop * n / args.loop_sites
    print(f"python per-site loop: {loop:.2f} s on {args.loop_sites:,} sites -> extrapolated {est:.0f} s for "
          f"{n:,} sites (linear extrapolation, not run); array core speed-up x{est / best:.0f}")

    try:
        import cupy as cp
        ndev = cp.cuda.runtime.getDeviceCount()
    except (ImportError, RuntimeError) as exc:  # no CuPy, or no driver/GPU
        print(f"cupy: skipped ({type(exc).__name__}: {exc})")
        return 0
    if ndev < 1:
        print("cupy: skipped (no CUDA device)")
        return 0
    gsites = random_sites(n, seed=1, xp=cp)
    score(random_sites(1000, seed=2, xp=cp))
    cp.cuda.Device().synchronize()
    pool = cp.get_default_memory_pool()
    gt = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        r = score(gsites)
        cp.cuda.Device().synchronize()
        gt.append(time.perf_counter() - t)
    print(f"cupy array core: {min(gt):.3f} s best of {args.repeats} ({n / min(gt) / 1e6:.0f} M sites/s); "
          f"GPU memory pool {pool.total_bytes() / 2**20:.0f} MiB; PASS {int((r['filter_mask'] == 0).sum()):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
