"""What local reassembly costs: ``bedside germline call`` with and without it, beside the raw
``bcftools mpileup | bcftools call`` on the same reads and region, on the GIAB windows that the accuracy
benchmark uses (``germline_heldout.py``). Prints a table of median wall times (after one warm-up run,
which also compiles the pair-HMM) and the ratios; results go to benchmarks/README.md.

    .venv/bin/python benchmarks/germline_assembly_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

import germline_heldout as gh  # noqa: E402

from bedside.calling import assembly as asm  # noqa: E402
from bedside.calling.reassemble import parse_regions  # noqa: E402
from bedside.calling import germline as g  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, object]:
    fn()  # warm-up (numba compiles the pair-HMM once per process; the cache keeps it on disk)
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bedside-asm-speed")
    args = ap.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    sets = [s for s in gh.SETS if s.name in ("NA12878/GIAB-v3.3.2", "HG001-HiSeqX/GIAB-v3.3.2")
            and gh.available(s)]
    print("| reads | region | raw bcftools mpileup\\|call (s) | bedside germline call, no reassembly (s) "
          "| with reassembly (s) | active regions | reassembly alone (s) | with / raw | with / without |")
    print("|---|---|---|---|---|---|---|---|---|")
    for ts in sets:
        ref = gh.reference(ts.ref_kind, work)
        region = gh.calling_region(ts)
        bam = ts.bam
        out = work / f"{gh.slug(ts.name)}.vcf.gz"
        plain = g.GermlineParams(caller="bcftools", full_baq=False, gap_frac=0.05)

        def raw(bam=bam, ref=ref, region=region, plain=plain):
            g.run_pipeline([g.mpileup_cmd([bam], ref, plain, region), g.call_cmd()], work / "raw.bcf")

        def without(bam=bam, ref=ref, region=region, out=out):
            return g.call_germline([bam], ref, out, gh.CANDIDATES, region=region)

        def with_asm(bam=bam, ref=ref, region=region, out=out):
            return g.call_germline([bam], ref, out, replace(gh.CANDIDATES, assembly=True), region=region)

        def asm_only(bam=bam, ref=ref, region=region):
            import pysam

            n = 0
            with pysam.AlignmentFile(str(bam)) as b, pysam.FastaFile(str(ref)) as fa:
                for chrom, s, e in parse_regions(region, [(fa.references[0], fa.lengths[0])]):
                    for reg in asm.active_regions(b, fa, chrom, s, e):
                        asm.call_region(b, fa, reg)
                        n += 1
            return n

        t_raw, _ = timed(raw, args.repeats)
        t_without, _ = timed(without, args.repeats)
        t_with, counts = timed(with_asm, args.repeats)
        t_asm, _ = timed(asm_only, args.repeats)
        c, s, e = ts.window
        kb = (e - s + 10_000) / 1000
        print(f"| {ts.name.split('/')[0]} | {region} ({kb:.0f} kb) | {t_raw:.2f} | {t_without:.2f} | {t_with:.2f} "
              f"| {counts['assembly_regions']} | {t_asm:.2f} | x{t_with / t_raw:.1f} | x{t_with / t_without:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
