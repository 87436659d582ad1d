#!/usr/bin/env python3
"""Germline accuracy on truth the filters were not tuned on: GIAB truth sets scored with a stratified
report, plain ``bcftools mpileup | call`` as the baseline row of every table.

Truth sets (``SETS``; sources, versions and licences in tests/data/giab/README.md):

- ``NA12878/NIST-2016`` **tuned**: the reads the hand thresholds were tuned on and the filter model is
  trained on (DeepVariant test data NA12878_S1, 2x101 bp, ~50x, hg19 ``chr20``) with the NIST truth of
  2016-03 shipped beside them (``../shared/data/giab-na12878-chr20``), chr20:10.0-10.1 Mb.
- ``NA12878/GIAB-v3.3.2`` **held out (truth)**: the same reads scored against GIAB HG001 v3.3.2
  (2016-08, GRCh37, ``20`` naming, renamed to ``chr20`` for scoring), chr20:10.0-10.1 Mb.
- ``HG001-HiSeqX/GIAB-v3.3.2`` **held out (reads and truth)**: another NA12878/HG001 library and run
  (Washington University HiSeq X, 2x150 bp, bwa mem on GRCh37, DeepTrio test data), 20:10.00-10.01 Mb,
  against GIAB v3.3.2 and its 10 kb confident BED. Lives in tests/data/giab (no ../shared needed).

Rows: ``plain bcftools`` (mpileup defaults, ``call -m``, QUAL >= 20), ``hand filters`` (Bedside's
threshold filters with the workflow defaults, min_depth 5), ``hand filters (as tuned)`` (min_depth 15,
what the first landing reported), ``filter model`` (the shipped logistic-regression artifact). All rows
call the given BAMs directly over the window +- 5 kb (no realignment).

Scores: allele-level, genotype-agnostic after ``bcftools norm -m -both -f REF``; SNV / indel; whole
window, inside the confident BED, outside it; repeat strata from a reference scan (homopolymer >= 6 bp;
tandem repeat of a 2-6 bp unit, >= 3 copies, >= 10 bp; other).

    .venv/bin/python benchmarks/germline_heldout.py report [--work DIR] [--sets a,b] [--json OUT]
    .venv/bin/python benchmarks/germline_heldout.py train  [--work DIR] [--out MODEL.json]

``train`` is the recipe of the shipped model: candidates on the tuned set only, labelled by its truth
over the whole window, L2 logistic regression, threshold = the one maximising training F1 (SNV+indel).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from bedside.bench import haplotypes, scoring  # noqa: E402
from bedside.bench.stratified import stratified  # noqa: E402
from bedside.calling import germline as g  # noqa: E402
from bedside.calling import germline_model as gm  # noqa: E402

SHARED = (REPO / ".." / "shared" / "data" / "giab-na12878-chr20").resolve()
LOCAL = REPO / "tests" / "data" / "giab"
V332 = LOCAL / "HG001_GRCh37_v3.3.2.20_10000000-10100000.vcf.gz"
MODEL_VERSION = "germline-filter-lr-1.0.0"


@dataclass(frozen=True)
class TruthSet:
    name: str
    role: str  # "tuned" or "held-out"
    bam: Path
    ref_kind: str  # "hg19-chr20" (../shared, truncated) or "hs37d5-20" (tests/data/giab)
    truth: Path
    bed: Path
    window: tuple[str, int, int]
    rename_truth: bool = False  # truth and BED use "20", the calls "chr20"
    needs_shared: bool = True
    realign: bool = False  # call on Bedside's own alignment of these reads (workflow: FASTQ -> bwa mem)


SETS = [
    TruthSet("NA12878/NIST-2016", "tuned", SHARED / "NA12878_S1.chr20.10_10p1mb.bam", "hg19-chr20",
             SHARED / "test_nist.b37_chr20_100kbp_at_10mb.vcf.gz",
             SHARED / "test_nist.b37_chr20_100kbp_at_10mb.bed", ("chr20", 10_000_000, 10_100_000)),
    TruthSet("NA12878/GIAB-v3.3.2", "held-out", SHARED / "NA12878_S1.chr20.10_10p1mb.bam", "hg19-chr20",
             V332, LOCAL / "test_giab.b37_chr20_100kbp_at_10mb.bed", ("chr20", 10_000_000, 10_100_000),
             rename_truth=True),
    TruthSet("NA12878-bwa/NIST-2016", "tuned", SHARED / "NA12878_S1.chr20.10_10p1mb.bam", "hg19-chr20",
             SHARED / "test_nist.b37_chr20_100kbp_at_10mb.vcf.gz",
             SHARED / "test_nist.b37_chr20_100kbp_at_10mb.bed", ("chr20", 10_000_000, 10_100_000),
             realign=True),
    TruthSet("NA12878-bwa/GIAB-v3.3.2", "held-out", SHARED / "NA12878_S1.chr20.10_10p1mb.bam", "hg19-chr20",
             V332, LOCAL / "test_giab.b37_chr20_100kbp_at_10mb.bed", ("chr20", 10_000_000, 10_100_000),
             rename_truth=True, realign=True),
    TruthSet("HG001-HiSeqX/GIAB-v3.3.2", "held-out", LOCAL / "HG001.chr20.10_10p1mb_sorted.bam",
             "hs37d5-20", V332, LOCAL / "test_giab.b37_chr20_100kbp_at_10mb.bed",
             ("20", 10_000_000, 10_010_000), needs_shared=False),
]

# candidates the model sees: BAQ as the hand filters, indel candidates at bcftools' default gap fraction
CANDIDATES = g.GermlineParams(filter_model="default", gap_frac=0.05)
PLAIN = g.GermlineParams(caller="bcftools", full_baq=False, gap_frac=0.05, cluster_window=0,
                         min_depth=0, min_alt_reads=0, min_indel_af=0.0)
ROWS = [
    ("plain bcftools (mpileup, call -m, QUAL >= 20)", PLAIN),
    ("hand filters (workflow defaults, min_depth 5)", g.GermlineParams(min_depth=5)),
    ("hand filters (as tuned, min_depth 15)", g.GermlineParams(min_depth=15)),
    ("filter model (shipped artifact)", CANDIDATES),
    ("filter model + local reassembly", replace(CANDIDATES, assembly=True)),
]


def sh(args: list) -> None:
    subprocess.run([str(a) for a in args], check=True)


def reference(kind: str, work: Path) -> Path:
    """A plain (uncompressed, faidx-indexed) FASTA that freebayes and bcftools both read."""
    work.mkdir(parents=True, exist_ok=True)
    if kind == "hg19-chr20":
        fa = work / "hg19_chr20_1-11.1mb.fa"
        src, region, name = SHARED / "ucsc.hg19.chr20.unittest.fasta.gz", "chr20:1-11100000", "chr20"
    else:
        fa = work / "hs37d5_20.fa"
        src, region, name = LOCAL / "hs37d5.chr20.fa.gz", "20:1-10200000", "20"
    if not fa.exists():
        out = subprocess.run(["samtools", "faidx", str(src), region], check=True, capture_output=True,
                             text=True).stdout
        fa.write_text(f">{name}\n" + out.split("\n", 1)[1])
        sh(["samtools", "faidx", fa])
    return fa


def bam_of(ts: TruthSet, work: Path) -> Path:
    """The BAM to call: as given, or (``realign``) Bedside's workflow run on the reads turned back into
    FASTQ (fastp -> bwa mem -> markdup; ``benchmarks/germline_giab.py``), once per work directory."""
    if not ts.realign:
        return ts.bam
    import importlib.util

    wf = work / "workflow"
    bam = wf / "results/GIAB/align/NA12878.bam"
    if not bam.exists():
        spec = importlib.util.spec_from_file_location("germline_giab", REPO / "benchmarks/germline_giab.py")
        giab = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(giab)
        cfg = giab.prepare(wf, SHARED, "truncated", 1_000_000, 5, "both")
        giab.run_workflow(wf, cfg, 2)
    return bam


def calling_region(ts: TruthSet) -> str:
    c, s, e = ts.window
    return f"{c}:{max(s - 5000, 1)}-{e + 5000}"


def truth_genotypes(ts: TruthSet, ref: Path, work: Path) -> dict:
    """{normalised allele: (hap1, hap2, phased)} of the truth over the window."""
    out = work / f"{slug(ts.name)}.truth.norm.vcf.gz"
    rename = None
    if ts.rename_truth:
        rename = work / "rename_20_chr20.txt"
        rename.write_text("20\tchr20\n")
    scoring.normalise_for_scoring(ts.truth, ref, out, rename=rename)
    return haplotypes.genotypes(out, ts.window)


def other_release(ts: TruthSet, ref: Path, work: Path) -> tuple[str, dict] | None:
    """The other GIAB release's truth for the same genome over ``ts.window`` (NIST 2016 for v3.3.2 and
    the reverse), normalised the same way: (name, genotypes); None when its file is not here."""
    chrom = ts.window[0]
    if ts.truth == V332:
        name, src, native = "NIST-2016", SHARED / "test_nist.b37_chr20_100kbp_at_10mb.vcf.gz", "chr20"
    else:
        name, src, native = "GIAB-v3.3.2", V332, "20"
    if not src.exists():
        return None
    rename = None
    if native != chrom:
        rename = work / f"rename_{native}_{chrom}.txt"
        rename.write_text(f"{native}\t{chrom}\n")
    out = work / f"{slug(ts.name)}.other-release.norm.vcf.gz"
    scoring.normalise_for_scoring(src, ref, out, rename=rename)
    return name, haplotypes.genotypes(out, ts.window)


def release_disagreement(truth: set, calls: set, other: set) -> dict:
    """How many of a row's errors sit where the two GIAB releases disagree: false positives that the
    other release lists, false negatives that the other release does not list."""
    fp, fn = calls - truth, truth - calls
    return {"FP": len(fp), "FP_in_other_release": len(fp & other),
            "FN": len(fn), "FN_absent_from_other_release": len(fn - other)}


def truth_keys(ts: TruthSet, ref: Path, work: Path) -> set:
    return set(truth_genotypes(ts, ref, work))


def bed_of(ts: TruthSet) -> list[tuple[str, int, int]]:
    bed = scoring.read_bed3(ts.bed)
    if ts.rename_truth:
        bed = [("chr20" if c == "20" else c, s, e) for c, s, e in bed]
    return bed


def slug(name: str) -> str:
    return name.replace("/", "_").replace(" ", "_")


def call_genotypes(ts: TruthSet, ref: Path, params: g.GermlineParams, work: Path, label: str) -> dict:
    out = work / f"{slug(ts.name)}.{label}.vcf.gz"
    g.call_germline([bam_of(ts, work)], ref, out, params, region=calling_region(ts))
    norm = work / f"{slug(ts.name)}.{label}.norm.vcf.gz"
    scoring.normalise_for_scoring(out, ref, norm)
    return haplotypes.genotypes(norm, ts.window)


def call_keys(ts: TruthSet, ref: Path, params: g.GermlineParams, work: Path, label: str) -> set:
    return set(call_genotypes(ts, ref, params, work, label))


def available(ts: TruthSet) -> bool:
    return all(p.exists() for p in (ts.bam, ts.truth, ts.bed))


def report(sets: list[TruthSet], work: Path, rows=None) -> dict:
    result = {"matching": "allele-level, genotype-agnostic, after bcftools norm -m -both -f REF; PASS only; "
                          "clusters written differently matched on haplotype sequence (bench.haplotypes)",
              "strata": {"homopolymer": f"run >= {gm.HP_MIN} bp touching the variant",
                         "tandem_repeat": f"unit 2-6 bp, >= 3 copies, >= {gm.TR_MIN_SPAN} bp (not homopolymer)",
                         "other": "neither"},
              "model": gm.FilterModel.load().version, "sets": []}
    for ts in sets:
        if not available(ts):
            print(f"skip {ts.name}: data not found ({ts.bam.parent})", file=sys.stderr)
            continue
        t0 = time.time()
        ref = reference(ts.ref_kind, work)
        truth_gt = truth_genotypes(ts, ref, work)
        truth = set(truth_gt)
        bed = bed_of(ts)
        entry = {"name": ts.name, "role": ts.role, "window": "%s:%d-%d" % ts.window,
                 "truth": str(ts.truth.relative_to(REPO.parent) if ts.truth.is_relative_to(REPO.parent)
                              else ts.truth),
                 "truth_variants": len(truth), "rows": []}
        other = other_release(ts, ref, work)
        if other:
            entry["other_release"] = other[0]
        for i, (label, params) in enumerate(rows or ROWS):
            calls_gt = call_genotypes(ts, ref, params, work, f"row{i}")
            allele_level = scoring.score(truth, set(calls_gt))
            calls, rescued_t, rescued_c = haplotypes.rescue(truth_gt, calls_gt, ref)
            row = {"row": label, **stratified(truth, calls, ref, bed),
                   "allele_level_window": {k: v.as_dict() for k, v in allele_level.items()},
                   "haplotype_rescued": {"truth": [f"{c}:{p}:{r}>{a}" for c, p, r, a in sorted(rescued_t)],
                                         "calls": [f"{c}:{p}:{r}>{a}" for c, p, r, a in sorted(rescued_c)]}}
            if other:
                row["release_disagreement"] = {
                    kind: release_disagreement({k for k in truth if scoring.variant_kind(k) == kind},
                                               {k for k in calls if scoring.variant_kind(k) == kind},
                                               set(other[1]))
                    for kind in ("SNV", "indel")}
            entry["rows"].append(row)
        if other:  # the other release itself, scored as if it were a call set: how far the truths differ
            calls, _, _ = haplotypes.rescue(truth_gt, other[1], ref)
            entry["rows"].append({"row": f"reference: the {other[0]} truth scored as calls",
                                  **stratified(truth, calls, ref, bed)})
        entry["seconds"] = round(time.time() - t0, 1)
        result["sets"].append(entry)
    return result


def table(result: dict) -> str:
    lines = []
    for s in result["sets"]:
        lines.append(f"\n**{s['name']}** ({s['role']}; {s['window']}; {s['truth_variants']} truth alleles)\n")
        lines.append("| row | SNV F1 (TP/FP/FN) | indel F1 (TP/FP/FN) | in BED: FP (SNV+indel) / FN "
                     "| homopolymer indel F1 | tandem-repeat indel F1 "
                     f"| indel FP listed by {s.get('other_release', 'the other release')} "
                     "/ indel FN it does not list |")
        lines.append("|---|---|---|---|---|---|---|")
        for r in s["rows"]:
            w = r["window"]
            snv, ind = w["SNV"]["all"], w["indel"]["all"]
            bed = r.get("in_bed")
            bed_txt = "-"
            if bed:
                bed_txt = (f"{bed['SNV']['all']['FP'] + bed['indel']['all']['FP']} / "
                           f"{bed['SNV']['all']['FN'] + bed['indel']['all']['FN']}")
            hp, tr = w["indel"]["homopolymer"], w["indel"]["tandem_repeat"]

            def f(m):
                return f"{m['F1']:.3f} ({m['TP']}/{m['FP']}/{m['FN']})"

            dis = r.get("release_disagreement", {}).get("indel")
            dis_txt = (f"{dis['FP_in_other_release']} of {dis['FP']} / "
                       f"{dis['FN_absent_from_other_release']} of {dis['FN']}") if dis else "-"
            lines.append(f"| {r['row']} | {f(snv)} | {f(ind)} | {bed_txt} | {f(hp)} | {f(tr)} | {dis_txt} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# training recipe


def training_rows(ts: TruthSet, work: Path, params: g.GermlineParams = CANDIDATES):
    """(features, label, key) for every candidate of ``ts``: label 1 when its normalised allele is in
    the truth over the window."""
    ref = reference(ts.ref_kind, work)
    truth = truth_keys(ts, ref, work)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bedside-train-") as tmp:
        cand, support = g.call_candidates([bam_of(ts, work)], ref, Path(tmp), params,
                                          region=calling_region(ts))
        for rec, feats in g.candidate_features(cand, ref, support, params.consensus_window):
            key = (rec.chrom, rec.pos, rec.ref, rec.alts[0])
            c, s, e = ts.window
            if rec.chrom != c or not s <= rec.pos <= e:
                continue
            rows.append((feats, int(key in truth), key))
    return rows, truth


def best_threshold(probs: list[float], labels: list[int], n_truth: int) -> tuple[float, float]:
    best = (0.5, -1.0)
    for t in sorted(set(round(p, 3) for p in probs)):
        tp = sum(1 for p, y in zip(probs, labels, strict=True) if p >= t and y)
        fp = sum(1 for p, y in zip(probs, labels, strict=True) if p >= t and not y)
        f1 = 2 * tp / (2 * tp + fp + (n_truth - tp)) if n_truth else 0.0
        if f1 > best[1] + 1e-9:
            best = (t, f1)
    return best


L2_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
CV_FOLDS = 5


def blocked_cv(rows, window: tuple[str, int, int], l2: float, features=gm.FEATURES) -> float:
    """Log-loss of ``CV_FOLDS``-fold cross-validation with contiguous genomic blocks as folds (so that
    neighbouring, correlated candidates never sit on both sides)."""
    import math

    _, start, end = window
    size = (end - start + 1) / CV_FOLDS
    loss = 0.0
    for fold in range(CV_FOLDS):
        lo, hi = start + fold * size, start + (fold + 1) * size

        def inside(r, lo=lo, hi=hi):
            return lo <= r[2][1] < hi

        train_rows = [r for r in rows if not inside(r)]
        m = gm.fit([r[0] for r in train_rows], [r[1] for r in train_rows], l2=l2, features=features)
        for f, y, _ in (r for r in rows if inside(r)):
            p = min(max(m.probability(f), 1e-6), 1 - 1e-6)
            loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
    return loss


def train(work: Path, out: Path, l2: float | None, features=gm.FEATURES) -> gm.FilterModel:
    """Fit on the tuned sets only (the NA12878 reads as given and as Bedside realigns them, both with
    the 2016 NIST truth): the examples of both alignments are pooled."""
    tuned = [s for s in SETS if s.role == "tuned"]
    missing = [s.name for s in tuned if not available(s)]
    if missing:
        raise SystemExit(f"training data not found: {', '.join(missing)}")
    rows, n_truth = [], 0
    for ts in tuned:
        r, truth = training_rows(ts, work)
        rows += r
        n_truth += len(truth)
    feats = [r[0] for r in rows]
    labels = [r[1] for r in rows]
    cv = {}
    if l2 is None:  # choose the penalty by blocked cross-validation on the training set only
        cv = {str(v): round(blocked_cv(rows, tuned[0].window, v, features), 3) for v in L2_GRID}
        l2 = min(L2_GRID, key=lambda v: cv[str(v)])
    model = gm.fit(feats, labels, l2=l2, features=features)
    probs = [model.probability(f) for f in feats]
    thr, f1 = best_threshold(probs, labels, n_truth)
    model = replace(model, threshold=min(thr, 0.5), version=MODEL_VERSION,
                    candidates={"full_baq": CANDIDATES.full_baq, "gap_frac": CANDIDATES.gap_frac}, meta={
        "trained_on": [f"{ts.name}: {ts.bam.name}{' realigned by the workflow' if ts.realign else ''} x "
                       f"{ts.truth.name}, " + "%s:%d-%d" % ts.window for ts in tuned],
        "candidates": "bcftools mpileup -D -F %s -a AD,DP,SP | call -m, split + left-aligned; freebayes "
                      "agreement" % CANDIDATES.gap_frac,
        "examples": len(rows), "positives": sum(labels), "l2": l2,
        "l2_rule": f"min log-loss of {CV_FOLDS}-fold blocked cross-validation (contiguous 20 kb blocks) "
                   f"over {list(L2_GRID)}" if cv else "given", "cv_log_loss": cv,
        "threshold_rule": "max training F1 (SNV+indel, whole window), capped at 0.5",
        "training_f1_at_threshold": round(f1, 4),
        "recipe": "benchmarks/germline_heldout.py train",
        "held_out": [s.name for s in SETS if s.role == "held-out"]})
    out.write_text(model.to_json())
    return model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=("report", "train"))
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bedside-heldout")
    ap.add_argument("--sets", help="comma-separated set names (default: all available)")
    ap.add_argument("--json", type=Path, help="report: write the metrics here")
    ap.add_argument("--out", type=Path, default=gm.DEFAULT_MODEL, help="train: model JSON to write")
    ap.add_argument("--l2", type=float, default=None,
                    help="train: L2 penalty [chosen by blocked cross-validation on the training set]")
    args = ap.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.command == "train":
        m = train(work, args.out, args.l2)
        print(f"wrote {args.out}: {m.version}, threshold {m.threshold}, "
              f"{m.meta['examples']} examples ({m.meta['positives']} true)")
        for name, w in sorted(zip(m.features, m.coef, strict=True), key=lambda x: -abs(x[1])):
            print(f"  {name:14s} {w:+.3f}")
        return 0
    sets = SETS if not args.sets else [s for s in SETS if s.name in args.sets.split(",")]
    t0 = time.time()
    result = report(sets, work)
    result["seconds"] = round(time.time() - t0, 1)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"metrics: {args.json}")
    print(f"took {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
