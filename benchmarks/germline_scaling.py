#!/usr/bin/env python3
"""Germline calling time against the number of chunks and the number of samples.

Data: the simulated cohort of the tests (tests/data/germline/simulate.py: 50 kb of sequence, 30x
ART HiSeq reads per sample). For more samples than the three simulated, copies of their BAMs are
given new read-group sample names (same reads, so the cost per sample is the same).

    .venv/bin/python benchmarks/germline_scaling.py [--work DIR]

Prints wall-clock seconds (single run each, sequential, 1 core per job):
- chunks: one sample, `bedside germline call` per chunk, chunk sizes giving 1..16 chunks;
- samples: joint `bedside germline call` over N BAMs (bcftools and both callers), and the cohort
  path (per-sample gVCF, then `bedside germline joint` over N gVCFs), N = 1, 2, 4, 8.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from bedside import plan
from bedside.calling import germline as g


def load_sim():
    spec = importlib.util.spec_from_file_location("germline_sim",
                                                  REPO / "tests/data/germline/simulate.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["germline_sim"] = mod
    spec.loader.exec_module(mod)
    return mod


def relabel(bam: Path, name: str, out: Path) -> Path:
    """Copy of ``bam`` whose read group (ID and SM, header and reads) is ``name``."""
    if not out.exists():
        old = bam.stem
        view = subprocess.Popen(["samtools", "view", "-h", str(bam)], stdout=subprocess.PIPE)
        expr = (f"s/ID:{old}\\b/ID:{name}/; s/SM:{old}\\b/SM:{name}/; "
                f"s/RG:Z:{old}\\b/RG:Z:{name}/")
        sed = subprocess.Popen(["sed", expr],
                               stdin=view.stdout, stdout=subprocess.PIPE)
        subprocess.run(["samtools", "view", "-b", "-o", str(out), "-"], stdin=sed.stdout, check=True)
        subprocess.run(["samtools", "index", str(out)], check=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/bedside-germline-scaling"))
    args = ap.parse_args()
    sim = load_sim()
    work = args.work.resolve()
    cohort = sim.cohort(work) if not (work / "germline-cohort/S3.bam.bai").exists() else \
        sim.Cohort(work / "germline-cohort", work / "germline-cohort/ref.fa",
                   {s: work / f"germline-cohort/{s}.bam" for s in sim.SAMPLES}, [])
    ref = cohort.ref
    out = work / "out"
    out.mkdir(exist_ok=True)

    print("## chunks (one sample, caller both, sequential)")
    print("chunks\tchunk_size\tseconds\tseconds_per_chunk")
    bam = cohort.bams["S1"]
    for size in (100_000, 30_000, 15_000, 7_000, 3_500):
        chunks = plan.plan_chunks(plan.contig_lengths(ref, cache_dir=None), size)
        t = time.perf_counter()
        for c in chunks:
            g.call_germline([bam], ref, out / f"c.{c.name}.bcf", g.GermlineParams(),
                            region=c.samtools)
        s = time.perf_counter() - t
        print(f"{len(chunks)}\t{size}\t{s:.2f}\t{s / len(chunks):.2f}")

    bams = []
    for i in range(8):
        src = cohort.bams[sim.SAMPLES[i % 3]]
        bams.append(src if i < 3 else relabel(src, f"X{i}", work / f"X{i}.bam"))

    print("\n## samples (whole 50 kb, one job)")
    print("samples\tjoint_bcftools_s\tjoint_both_s\tgvcf_all_s\tjoint_genotype_s\tcohort_total_s")
    for n in (1, 2, 4, 8):
        sel = bams[:n]
        t = time.perf_counter()
        g.call_germline(sel, ref, out / f"j{n}.bcf", g.GermlineParams(caller="bcftools"))
        t_bc = time.perf_counter() - t
        t = time.perf_counter()
        g.call_germline(sel, ref, out / f"jb{n}.bcf", g.GermlineParams())
        t_both = time.perf_counter() - t
        gvcfs = [out / f"g{n}.{i}.g.bcf" for i in range(n)]
        t = time.perf_counter()
        for b, gv in zip(sel, gvcfs, strict=True):
            g.call_gvcf(b, ref, gv, g.GermlineParams())
        t_g = time.perf_counter() - t
        t = time.perf_counter()
        g.joint_genotype(gvcfs, ref, out / f"jg{n}.bcf", g.GermlineParams())
        t_j = time.perf_counter() - t
        print(f"{n}\t{t_bc:.2f}\t{t_both:.2f}\t{t_g:.2f}\t{t_j:.2f}\t{t_g + t_j:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
