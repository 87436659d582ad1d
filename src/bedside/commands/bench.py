"""`bedside bench germline`: score a germline call set against a truth set (e.g. Genome in a Bottle).

Calls and truth are normalised alike (PASS only, split multiallelics, left-aligned against the
reference, exact duplicates removed) and matched allele by allele on (chrom, pos, ref, alt),
genotype-agnostic; TP/FP/FN, precision, recall and F1 for SNVs and indels, over the whole (optional)
region and inside the (optional) confident BED. The end-to-end GIAB harness that also runs the workflow
is ``benchmarks/germline_giab.py``; the held-out truth sets and the filter model's evaluation are
``benchmarks/germline_heldout.py``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bedside.calling import germline as g
from bedside.commands._util import atomic_path
from bedside.errors import InputError


def _region(text: str | None) -> tuple[str, int, int] | None:
    if not text:
        return None
    chrom, _, span = text.rpartition(":")
    try:
        start, end = (int(x.replace(",", "")) for x in span.split("-"))
    except ValueError as exc:
        raise InputError(f"region must look like chr:start-end, got '{text}'") from exc
    return chrom, start, end


def score_files(calls: str | Path, truth: str | Path, ref: str | Path, bed: str | Path | None = None,
                region: str | None = None, stratify: bool = False) -> dict:
    """Score ``calls`` against ``truth``; returns a JSON-ready dict. With ``stratify`` also
    ``stratified``: SNV/indel x (window, in BED, outside BED) x repeat context (homopolymer, tandem
    repeat, other), with clusters written differently matched on haplotype sequence
    (:mod:`bedside.bench.haplotypes`)."""
    for p, what in ((calls, "calls"), (truth, "truth"), (ref, "reference")):
        if not Path(p).exists():
            raise InputError(f"{what} file not found", path=p)
    win = _region(region)
    with tempfile.TemporaryDirectory(prefix="bedside-bench-") as tmp:
        tn, cn = Path(tmp) / "truth.vcf.gz", Path(tmp) / "calls.vcf.gz"
        g.normalise_for_scoring(truth, ref, tn)
        g.normalise_for_scoring(calls, ref, cn)
        t, c = g.variant_keys(tn, win), g.variant_keys(cn, win)
        strat = None
        if stratify:
            from bedside.bench import haplotypes
            from bedside.bench.stratified import stratified

            tg, cg = haplotypes.genotypes(tn, win), haplotypes.genotypes(cn, win)
            rescued, _, _ = haplotypes.rescue(tg, cg, ref)
            strat = stratified(set(tg), rescued, ref, g.read_bed3(bed) if bed else None)
    result: dict = {"calls": str(calls), "truth": str(truth), "region": region,
                    "matching": "allele-level, genotype-agnostic, after bcftools norm -m -both -f REF",
                    "all": {k: v.as_dict() for k, v in g.score(t, c).items()}}
    if bed:
        b = g.read_bed3(bed)
        result["bed"] = {k: v.as_dict() for k, v in g.score(t, c, b).items()}
        result["bed_file"] = str(bed)
    if strat is not None:
        result["stratified"] = strat
    return result


def run_germline(args) -> int:
    result = score_files(args.calls, args.truth, args.ref, args.bed, args.region, args.stratify)
    for scope in ("all", "bed"):
        for kind, m in result.get(scope, {}).items():
            print(f"{scope:4s} {kind:5s} TP={m['TP']} FP={m['FP']} FN={m['FN']} "
                  f"precision={m['precision']:.3f} recall={m['recall']:.3f} F1={m['F1']:.3f}")
    for scope, kinds in (result.get("stratified") or {}).items():
        if scope in ("false_positives", "false_negatives"):
            continue
        for kind, strata in kinds.items():
            for st, m in strata.items():
                print(f"{scope:11s} {kind:5s} {st:13s} TP={m['TP']} FP={m['FP']} FN={m['FN']} F1={m['F1']:.3f}")
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="score call sets against truth sets")
    sub = p.add_subparsers(dest="bench_command", metavar="SUBCOMMAND", required=True)
    gp = sub.add_parser("germline", help="score germline calls against a truth VCF (e.g. GIAB)")
    gp.add_argument("--calls", required=True, help="call set (VCF/BCF)")
    gp.add_argument("--truth", required=True, help="truth VCF")
    gp.add_argument("--ref", required=True, help="reference FASTA used to left-align both")
    gp.add_argument("--bed", help="confident-region BED: also score inside it")
    gp.add_argument("--region", help="restrict scoring to chr:start-end (1-based inclusive)")
    gp.add_argument("--out", help="write the metrics as JSON")
    gp.add_argument("--stratify", action="store_true",
                    help="also score by repeat context (homopolymer / tandem repeat / other, from the "
                         "reference) inside and outside the BED, matching differently written clusters "
                         "on haplotype sequence")
    gp.set_defaults(func=run_germline)
    p.set_defaults(func=lambda args: p.print_help() or 1)
