#!/usr/bin/env python3
"""Can another caller available here close the indel gap of issue 15? Raw (unfiltered except QUAL >= 20)
calls of each candidate caller on the truth sets of ``germline_heldout.py``, scored the same way
(allele-level after ``bcftools norm``, haplotype rescue, stratified; window F1 and confident-BED FP).

Callers compared (all on the same BAM, region = window +- 5 kb, argument lists, no shell):

- ``bcftools 1.16 (Debian)``: ``mpileup -a AD,DP | call -mv`` — the baseline row of every table;
- ``bcftools 1.24 (pysam) --indels-2.0`` and ``--indels-cns``: the newer indel callers of bcftools
  (``--indels-cns`` appeared in 1.20), run through the bcftools that the PyPI ``pysam`` wheel bundles
  (``pysam.bcftools``), since Debian ships 1.16;
- ``freebayes`` (Debian 1.3.6) with its defaults and with ``--min-repeat-entropy 1`` (the setting its
  README suggests for indels in repeats) and ``--haplotype-length 50``.

    .venv/bin/python benchmarks/germline_callers.py [--work DIR] [--sets a,b]

Nothing here is used by the workflow: it records what was tried and measured (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

_spec = importlib.util.spec_from_file_location("germline_heldout", REPO / "benchmarks" / "germline_heldout.py")
gh = importlib.util.module_from_spec(_spec)
sys.modules["germline_heldout"] = gh
_spec.loader.exec_module(gh)

from bedside.tools import pipe  # noqa: E402

CALLERS = {
    "bcftools 1.16 (Debian)": ("bcftools", []),
    "bcftools 1.24 (pysam) --indels-2.0": ("pysam", ["--indels-2.0"]),
    "bcftools 1.24 (pysam) --indels-cns": ("pysam", ["--indels-cns"]),
    "freebayes 1.3.6": ("freebayes", []),
    "freebayes --min-repeat-entropy 1": ("freebayes", ["--min-repeat-entropy", "1"]),
    "freebayes --haplotype-length 50 --min-repeat-entropy 1": ("freebayes", ["--haplotype-length", "50",
                                                                            "--min-repeat-entropy", "1"]),
}


def call(kind: str, extra: list[str], bam: Path, ref: Path, region: str, raw: Path) -> None:
    """Raw calls of one caller into ``raw`` (BCF)."""
    if kind == "bcftools":
        pipe([["bcftools", "mpileup", "-f", str(ref), "-r", region, "-a", "AD,DP", "-Ou", str(bam)],
              ["bcftools", "call", "-mv", "-Ob"]], raw)
    elif kind == "pysam":
        from pysam import bcftools as pb

        mp = Path(f"{raw}.mpileup.bcf")
        pb.mpileup("-f", str(ref), "-r", region, "-a", "AD,DP", "-Ou", "-o", str(mp), *extra, str(bam),
                   catch_stdout=False)
        pb.call("-mv", "-Ob", "-o", str(raw), str(mp), catch_stdout=False)
    else:
        pipe([["freebayes", "-f", str(ref), "-r", gh.g.region_to_bed0(region), *extra, str(bam)],
              ["bcftools", "view", "-Ob"]], raw)


def pysam_bcftools_version() -> str:
    import pysam.version

    return pysam.version.__bcftools_version__


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bedside-callers")
    ap.add_argument("--sets", help="comma-separated set names (default: every available set called on its "
                                   "given BAM)")
    args = ap.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    sets = [s for s in gh.SETS if not s.realign and gh.available(s)
            and (not args.sets or s.name in args.sets.split(","))]
    print(f"pysam bundles bcftools {pysam_bcftools_version()}")
    print("| set | role | caller | SNV F1 (TP/FP/FN) | indel F1 (TP/FP/FN) | in-BED FP |")
    print("|---|---|---|---|---|---|")
    for ts in sets:
        ref = gh.reference(ts.ref_kind, work)
        truth_gt = gh.truth_genotypes(ts, ref, work)
        bed = gh.bed_of(ts)
        called = {}
        for i, (label, (kind, extra)) in enumerate(CALLERS.items()):
            stem = f"{work / gh.slug(ts.name)}.caller{i}"
            raw = Path(f"{stem}.raw.bcf")
            call(kind, extra, ts.bam, ref, gh.calling_region(ts), raw)
            vcf = Path(f"{stem}.vcf.gz")
            subprocess.run(["bcftools", "view", "-i", "QUAL>=20", "-Oz", "-o", str(vcf), str(raw)], check=True)
            subprocess.run(["bcftools", "index", "-f", "-t", str(vcf)], check=True)
            norm = Path(f"{stem}.norm.vcf.gz")
            gh.scoring.normalise_for_scoring(vcf, ref, norm)
            called[label] = gh.haplotypes.genotypes(norm, ts.window)
            row(ts, label, called[label], truth_gt, ref, bed)
        # freebayes' indels added to bcftools' calls (where bcftools has no call of that allele)
        base, fb = called["bcftools 1.16 (Debian)"], called["freebayes 1.3.6"]
        union = {**base, **{k: v for k, v in fb.items() if len(k[2]) != len(k[3]) and k not in base}}
        row(ts, "bcftools 1.16 + freebayes indels (union)", union, truth_gt, ref, bed)
    return 0


def row(ts, label: str, genotypes: dict, truth_gt: dict, ref: Path, bed) -> None:
    calls, _, _ = gh.haplotypes.rescue(truth_gt, genotypes, ref)
    st = gh.stratified(set(truth_gt), calls, ref, bed)
    w, ib = st["window"], st.get("in_bed")

    def f(m):
        return f"{m['F1']:.3f} ({m['TP']}/{m['FP']}/{m['FN']})"

    fp = "-" if not ib else ib["SNV"]["all"]["FP"] + ib["indel"]["all"]["FP"]
    print(f"| {ts.name} | {ts.role} | {label} | {f(w['SNV']['all'])} | {f(w['indel']['all'])} | {fp} |",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
