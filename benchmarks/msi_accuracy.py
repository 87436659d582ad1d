"""MSI accuracy benchmark for `bedside msi` (MSIsensor-style).

One random genome (2 contigs x 100 kb) with 150 planted microsatellites (A/T/C/G homopolymers of
10-20 bp, CA/AG/TG x 6-12, AAT x 5-8) and one matched normal (40x). Tumors: a fraction of the sites made
unstable (repeat length -3..+1 units on one haplotype, on both with probability 0.5), at several
purities and depths, plus MSS tumors (no unstable site). Reads: ART HS25 2x150, bwa mem. Printed per
tumor: the planted unstable fraction, purity, depth, the score, the class, and unstable-site
sensitivity/false sites; then whether every tumor with >= 20 % unstable loci at >= 60x is MSI-H and
no MSS tumor is MSI-H, and the caller's time per Mb.

    .venv/bin/python benchmarks/msi_accuracy.py [--out-dir DIR] [--seed 7] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from bedside.calling import msi
from bedside.demo import biomarker_sim as bs

CONTIGS = {"chr1": 100000, "chr2": 100000}
N_SITES = 150
#: (unstable fraction, purity, tumor depth)
TUMORS = [(0.2, 0.3, 60), (0.2, 0.5, 60), (0.2, 0.8, 60), (0.3, 0.3, 100), (0.5, 0.5, 60), (0.2, 0.5, 100),
          (0.1, 0.5, 60), (0.2, 0.2, 40),
          (0.0, 0.5, 60), (0.0, 0.8, 100), (0.0, 0.3, 60)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/bedside_msi_bench"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    g = bs.build_genome(args.seed, CONTIGS, [], n_microsatellites=N_SITES)
    bs.write_reference(g, out / "ref.fa")
    if not (out / "N.bam").exists():
        bs.simulate_bam(bs.normal_components(g, out / "wn"), 40, out / "ref.fa", out / "N.bam", "BENCH-N", 1)
    sites = msi.scan(out / "ref.fa")
    msi.write_sites(sites, out / "sites.tsv", out / "ref.fa")
    rows, secs = [], []
    print("unstable\tpurity\tdepth\tassessed\tscore\tclass\tsite_sens\tfalse_sites\tseconds")
    ok = True
    for i, (frac, p, depth) in enumerate(TUMORS):
        rng = random.Random(args.seed * 100 + i)
        unstable = sorted(rng.sample(range(len(g.microsatellites)), round(frac * len(g.microsatellites))))
        d = out / f"t{i}"
        bam = d / "T.bam"
        if not bam.exists():
            bs.simulate_bam(bs.tumor_components(g, bs.TumorPlan(purity=p, unstable=unstable, seed=i + 1), d / "w"),
                            depth, out / "ref.fa", bam, "BENCH-T", 100 + i)
        t0 = time.perf_counter()
        res, results = msi.call_msi(bam, out / "N.bam", out / "ref.fa", sites=out / "sites.tsv")
        secs.append(time.perf_counter() - t0)
        planted = {(g.microsatellites[j].contig, g.microsatellites[j].start) for j in unstable}
        called = {(r.site.chrom, r.site.start) for r in results if r.unstable}
        assessed_planted = {(r.site.chrom, r.site.start) for r in results} & planted
        sens = len(called & planted) / len(assessed_planted) if assessed_planted else None
        false_sites = len(called - planted)
        rows.append({"unstable": frac, "purity": p, "depth": depth, "assessed": res.assessed_sites,
                     "score": res.value, "class": res.classification, "site_sensitivity": sens,
                     "false_sites": false_sites, "seconds": round(secs[-1], 2)})
        if frac >= 0.2 and depth >= 60 and res.classification != "MSI-H":
            ok = False
        if frac == 0 and res.classification == "MSI-H":
            ok = False
        print(f"{frac:g}\t{p:g}\t{depth}\t{res.assessed_sites}\t{res.value}\t{res.classification}\t"
              f"{'' if sens is None else f'{sens:.2f}'}\t{false_sites}\t{secs[-1]:.1f}", flush=True)
    mb = sum(CONTIGS.values()) / 1e6
    spm = sum(secs) / len(secs) / mb
    print(f"\nevery tumor with >= 20 % unstable loci at >= 60x called MSI-H and no MSS tumor MSI-H: {ok}")
    print(f"time per Mb of genome (150 sites per 0.2 Mb): {spm:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "ok": ok, "seconds_per_mb": spm}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
