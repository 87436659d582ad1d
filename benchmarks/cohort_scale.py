"""Cohort platform scale and identity benchmarks (bedside.cohort on Hail, local Spark).

    .venv/bin/python benchmarks/cohort_scale.py [--sizes 1000x100000 10000x100000] [--seed 1]
        [--workdir /tmp/bedside-cohort-bench] [--identity-seeds 1 2 3] [--king-compare 2000x20000]
        [--cap-sweep 2000 5000 10000 20000] [--skip-scale] [--json OUT]

Scale: for each SAMPLESxVARIANTS a seeded synthetic cohort (bedside.cohort.synthetic: two populations,
Fst 0.05, planted duplicates / relatives / sex mismatch / low call rate, 5 % of sites on chrX) is written as a
bgzipped VCF (not timed), then timed: ``build`` (VCF -> cohort.mt with column records from the clinical
table), ``qc`` (sample QC + sex check + kinship + PCA k=10 on the store, with qc.run's per-stage times:
checkpoint, sample_qc, sex, markers (selecting and exporting the bounded marker set), kinship (all pairs,
KING-robust), pca), ``query`` (a germline variant joined with a BMI range), and beside it
``bcftools stats -s -`` (per-sample counts) on the same VCF; the ratio is Hail sample QC (call rate, Ti/Tv,
het/hom -- the part bcftools also computes) over bcftools. Peak memory of a Hail step is the largest resident
set of this process and the JVM together, sampled every 0.2 s (the JVM heap does not shrink, so a later
step's peak includes what earlier steps grew); bcftools' is its own maximum RSS (wait4).

Marker cap (``--cap-sweep``): on 1,000 samples x 40,000 variants per identity seed, the spread of unrelated
pairs' kinship and the smallest planted relative's at each cap (NumPy only), the evidence for
``qc.MAX_MARKERS``.

Kinship comparison (``--king-compare``): ``hl.king`` and ``qc.king_robust`` on the same bounded marker set of
one cohort: wall time of each and the largest difference in kinship over the pairs both report.

Identity: per seed, a cohort of 200 samples x 30,000 variants (28,500 autosomal, so kinship/PCA run on the
thinned ``qc.MAX_MARKERS``) with two planted duplicates, one parent-child and one sibling pair, and a
tumor/normal set of 40 patients with one swapped pair: every planted case must be flagged and nothing else
(also checks sex mismatch and low call rate). The first seed is the development seed; the others are held
out.

Also measures cyvcf2 against pysam reading GT+DP of a 400-sample x 5,000-site VCF (the identity reader).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np
import psutil

from bedside.cohort import identity, qc, query, session, store, synthetic


class PeakRSS:
    """Peak resident set size (bytes) of this process and all its descendants while in the block."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()

    def _poll(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def __enter__(self):
        self._t = threading.Thread(target=self._poll, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def timed(fn, *a, **kw):
    with PeakRSS() as m:
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        dt = time.perf_counter() - t0
    return out, dt, m.peak / 2**30


def hail_sample_qc(mt):
    import hail as hl

    ct = hl.sample_qc(mt.select_entries("GT")).cols()
    return ct.select(cr=ct.sample_qc.call_rate, titv=ct.sample_qc.r_ti_tv,
                     hh=ct.sample_qc.r_het_hom_var).to_pandas()


def scale(n_samples: int, n_variants: int, seed: int, work: Path) -> dict:
    d = work / f"{n_samples}x{n_variants}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    t0 = time.perf_counter()
    g, sites, truth = synthetic.simulate(n_samples, n_variants, seed)
    vcf = synthetic.write_vcf(d / "cohort.vcf.gz", g, sites, truth.samples)
    clinical = synthetic.write_clinical(d / "clinical.tsv", truth)
    sheet = synthetic.write_samples(d / "samples.tsv", truth)
    gen = time.perf_counter() - t0
    del g
    print(f"  {n_samples}x{n_variants}: generated in {gen:.0f} s", flush=True)
    row = {"samples": n_samples, "variants": n_variants, "vcf_mb": round(vcf.stat().st_size / 2**20, 1),
           "generate_s": round(gen, 1)}
    _, row["build_s"], row["build_peak_gb"] = timed(store.build, vcf, d / "cohort.mt", clinical=clinical,
                                                    sample_sheet=sheet, build="synthetic")
    mt = store.read(d / "cohort.mt")
    _, row["sample_qc_s"], row["sample_qc_peak_gb"] = timed(hail_sample_qc, mt)
    sex = {truth.patients[s]: truth.sex[s] for s in truth.samples}
    res, row["qc_all_s"], row["qc_all_peak_gb"] = timed(qc.run, mt, clinical_sex=sex, patients=truth.patients)
    rel = res["relatedness"]
    found = {frozenset((a, b)) for a, b, r in zip(rel.sample_a, rel.sample_b, rel.relationship)
             if r in qc.FLAG_RELATIONSHIPS}
    row["related_pairs_recovered"] = f"{len(found & truth.related_pairs())}/{len(truth.related_pairs())}"
    row["false_related_pairs"] = len(found - truth.related_pairs())
    row["third_degree_listed"] = int((rel.relationship == "third-degree").sum())
    row["qc_stages_s"] = res["timings"]
    row["markers"] = res["markers"]
    row["kinship_pairs"] = n_samples * (n_samples - 1) // 2
    key = f"{sites['chrom'][0]}:{sites['pos'][0]}:{sites['ref'][0]}:{sites['alt'][0]}"
    q = query.CohortQuery(variant=[key], bmi=(25.0, None))
    out, row["query_s"], row["query_peak_gb"] = timed(query.run, mt, q)
    row["query_hits"] = len(out)
    bt = shutil.which("bcftools")

    t0 = time.perf_counter()
    proc = subprocess.Popen([bt, "stats", "-s", "-", str(vcf)], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage: its peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"bcftools stats failed on {vcf}")
    row["bcftools_stats_s"] = time.perf_counter() - t0
    row["bcftools_peak_gb"] = usage.ru_maxrss / 2**20
    row["ratio_sample_qc_vs_bcftools"] = round(row["sample_qc_s"] / row["bcftools_stats_s"], 2)
    row["ratio_qc_all_vs_bcftools"] = round(row["qc_all_s"] / row["bcftools_stats_s"], 2)
    for k, v in list(row.items()):
        if isinstance(v, float):
            row[k] = round(v, 2)
    shutil.rmtree(d, ignore_errors=True)
    return row


def identity_check(seed: int, work: Path) -> dict:
    d = work / f"identity-{seed}"
    d.mkdir(parents=True, exist_ok=True)
    g, sites, truth = synthetic.simulate(200, 30_000, seed)
    vcf = synthetic.write_vcf(d / "cohort.vcf.gz", g, sites, truth.samples)
    mt = store.import_genotypes(vcf, "synthetic")
    sex = {truth.patients[s]: (("male" if truth.sex[s] == "female" else "female") if s in truth.sex_mismatch
                               else truth.sex[s]) for s in truth.samples}
    res = qc.run(mt, clinical_sex=sex, patients=truth.patients)
    sq = res["sample_qc"]
    flagged = {s for s, f in zip(sq.s, sq["flags"]) if f}
    planted = ({s for p in truth.related_pairs() for s in p} | set(truth.sex_mismatch) | set(truth.low_call_rate))
    rel = res["relatedness"]
    kinds = {frozenset((a, b)): r for a, b, r in zip(rel.sample_a, rel.sample_b, rel.relationship)}
    rng = np.random.default_rng(seed)
    i, j = (int(x) for x in rng.choice(40, 2, replace=False))
    tn, swapped = synthetic.tumor_normal_vcf(d / "tn.vcf.gz", n_patients=40, n_sites=1000, seed=seed, swap=(i, j))
    pairs = {f"P{k + 1:05d}": (f"P{k + 1:05d}-T", f"P{k + 1:05d}-N") for k in range(40)}
    idf = identity.tumor_normal_identity(tn, pairs)
    tn_flagged = set(idf.patient_id[idf.status != "ok"])
    out = {
        "seed": seed,
        "duplicates": f"{sum(kinds.get(frozenset(p)) == 'duplicate' for p in truth.duplicates)}"
                      f"/{len(truth.duplicates)}",
        "first_degree": f"{sum(kinds.get(frozenset(p)) == 'first-degree' for p in truth.first_degree)}"
                        f"/{len(truth.first_degree)}",
        "sex_mismatch": f"{len(set(truth.sex_mismatch) & {s for s, f in zip(sq.s, sq['flags']) if 'sex_mismatch' in f})}"
                        f"/{len(truth.sex_mismatch)}",
        "low_call_rate": f"{len(set(truth.low_call_rate) & flagged)}/{len(truth.low_call_rate)}",
        "false_sample_flags": sorted(flagged - planted),
        "swapped_tn_flagged": f"{len(tn_flagged & set(swapped))}/{len(swapped)}",
        "false_tn_flags": sorted(tn_flagged - set(swapped)),
        "markers": res["markers"],
        "max_unrelated_kinship": float(rel.kinship[~rel.relationship.isin(qc.FLAG_RELATIONSHIPS)].max())
        if (~rel.relationship.isin(qc.FLAG_RELATIONSHIPS)).any() else None,
    }
    shutil.rmtree(d, ignore_errors=True)
    return out


def king_compare(n_samples: int, n_variants: int, seed: int, work: Path) -> dict:
    """hl.king against qc.king_robust on the same bounded marker set (pairs above the third-degree cut)."""
    import hail as hl

    d = work / f"king-{n_samples}x{n_variants}"
    d.mkdir(parents=True, exist_ok=True)
    g, sites, truth = synthetic.simulate(n_samples, n_variants, seed)
    vcf = synthetic.write_vcf(d / "cohort.vcf.gz", g, sites, truth.samples)
    del g
    mt = store.import_genotypes(vcf, "synthetic").select_entries("GT").checkpoint(str(d / "gt.mt"))
    (codes, samples, eligible), t_markers, _ = timed(qc.marker_genotypes, mt)
    (i, j, phi), t_np, peak_np = timed(qc.king_robust, codes)
    cut = qc.KINSHIP_DEGREES[-1][0]

    def with_hail():
        auto = qc._common_autosomal_snps(mt)
        gp = np.sort(np.asarray(auto.aggregate_rows(hl.agg.collect(auto.locus.global_position())), np.int64))
        if len(gp) > qc.MAX_MARKERS:
            gp = np.unique(gp[np.linspace(0, len(gp) - 1, qc.MAX_MARKERS).round().astype(np.int64)])
        sub = mt.filter_rows(hl.literal({int(x) for x in gp}, dtype=hl.tset(hl.tint64))
                             .contains(mt.locus.global_position()))
        k = hl.king(sub.GT)
        k = k.filter_entries((k.s_1 < k.s) & (k.phi > cut))
        return k.entries().select("phi").to_pandas()

    pairs, t_hl, peak_hl = timed(with_hail)
    s = np.asarray(samples)
    mine = {frozenset((s[a], s[b])): p for a, b, p in zip(i, j, phi)}
    theirs = {frozenset((a, b)): p for a, b, p in zip(pairs.s_1, pairs.s, pairs.phi)}
    both = set(mine) & set(theirs)
    shutil.rmtree(d, ignore_errors=True)
    return {"samples": n_samples, "markers": int(codes.shape[0]), "eligible": eligible,
            "marker_export_s": round(t_markers, 1), "king_robust_numpy_s": round(t_np, 1),
            "numpy_peak_gb": round(peak_np, 2), "hl_king_s": round(t_hl, 1), "hl_king_peak_gb": round(peak_hl, 2),
            "pairs_numpy": len(mine), "pairs_hail": len(theirs), "pairs_both": len(both),
            "max_abs_diff": float(max((abs(mine[x] - theirs[x]) for x in both), default=0.0))}


def cap_sweep(n_samples: int, n_variants: int, seeds: list[int], caps: list[int]) -> list[dict]:
    """Why qc.MAX_MARKERS: KING-robust (qc.king_robust) on the seeded cohorts' qualifying autosomal SNPs
    thinned to each cap as qc.marker_genotypes thins them: spread of unrelated pairs' kinship against the
    planted relatives', and the wall time (NumPy only, no Hail)."""
    out = []
    for seed in seeds:
        g, sites, truth = synthetic.simulate(n_samples, n_variants, seed)
        called = (g >= 0).mean(axis=1)
        af = np.where(g >= 0, g, 0).sum(axis=1) / np.maximum(2 * (g >= 0).sum(axis=1), 1)
        ok = np.flatnonzero((sites["chrom"] != synthetic.X) & (called >= 0.95) & (af >= qc.MARKER_MIN_AF)
                            & (af <= 1 - qc.MARKER_MIN_AF))
        idx = {s: k for k, s in enumerate(truth.samples)}
        related = {frozenset(idx[s] for s in p) for p in truth.related_pairs()}
        for cap in caps:
            codes = g[ok[np.linspace(0, len(ok) - 1, min(cap, len(ok))).round().astype(np.int64)]]
            (i, j, phi), dt, _ = timed(qc.king_robust, codes, -np.inf)
            rel = np.array([frozenset((a, b)) in related for a, b in zip(i, j)])
            un = phi[~rel]
            out.append({"seed": seed, "markers": int(codes.shape[0]), "pairs": len(phi),
                        "unrelated_sd": round(float(un.std()), 4), "unrelated_max": round(float(un.max()), 4),
                        "related_min": round(float(phi[rel].min()), 3), "kinship_s": round(dt, 2)})
    return out


def reader_speed(work: Path) -> dict:
    import pysam

    vcf, _ = synthetic.tumor_normal_vcf(work / "reader.vcf.gz", n_patients=200, n_sites=5000, seed=5, swap=None)

    def with_cyvcf2():
        return identity.read_genotypes(vcf)[1].shape

    def with_pysam():
        gts, dps = [], []
        with pysam.VariantFile(str(vcf)) as f:
            names = list(f.header.samples)
            for rec in f:
                gts.append([tuple(-1 if a is None else a for a in rec.samples[s]["GT"]) for s in names])
                dps.append([rec.samples[s]["DP"] for s in names])
        return np.array(gts, dtype=np.int8).shape

    out = {}
    for name, fn in (("cyvcf2", with_cyvcf2), ("pysam", with_pysam)):
        best = min(timed(fn)[1] for _ in range(3))
        out[f"{name}_s"] = round(best, 3)
    out["speedup_cyvcf2"] = round(out["pysam_s"] / out["cyvcf2_s"], 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="*", default=["1000x100000", "10000x100000"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--identity-seeds", nargs="*", type=int, default=[1, 2, 3])
    ap.add_argument("--workdir", default="/tmp/bedside-cohort-bench")
    ap.add_argument("--king-compare", default="2000x20000", help="SAMPLESxVARIANTS, or 'none'")
    ap.add_argument("--cap-sweep", nargs="*", type=int, default=[2000, 5000, 10000, 20000],
                    help="marker caps to compare on 1,000 samples x 40,000 variants, identity seeds (none: skip)")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    session.init(tmp_dir=str(work / "hail-tmp"))
    print(f"load average {os.getloadavg()}, cpus {len(os.sched_getaffinity(0))}, master {session.default_master()}",
          flush=True)
    results = {"reader": reader_speed(work)}
    print("VCF reader (GT+DP, 400 samples x 5,000 sites, best of 3):", json.dumps(results["reader"]), flush=True)
    results["identity"] = []
    for s in args.identity_seeds:
        r = identity_check(s, work)
        results["identity"].append(r)
        print("identity", json.dumps(r), flush=True)
    if args.cap_sweep and args.identity_seeds:
        results["cap_sweep"] = cap_sweep(1000, 40_000, args.identity_seeds, args.cap_sweep)
        for r in results["cap_sweep"]:
            print("cap_sweep", json.dumps(r), flush=True)
    if args.king_compare != "none":
        n, m = (int(x) for x in args.king_compare.lower().split("x"))
        results["king_compare"] = king_compare(n, m, args.seed, work)
        print("king_compare", json.dumps(results["king_compare"]), flush=True)
    results["scale"] = []

    def save():  # after every step: a long run killed late keeps what it measured
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")

    save()
    if not args.skip_scale:
        for size in args.sizes:
            n, m = (int(x) for x in size.lower().split("x"))
            r = scale(n, m, args.seed, work)
            results["scale"].append(r)
            print("scale", json.dumps(r), flush=True)
            save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
