"""Stratified truth scoring for germline benchmarks: SNV / indel x (whole window, inside the confident
BED, outside it) x repeat context (homopolymer, tandem repeat, other; from a reference scan, see
:func:`bedside.calling.germline_model.repeat_context`). Matching as :mod:`bedside.bench.scoring`:
allele-level, genotype-agnostic, after normalising calls and truth alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bedside.bench.scoring import Score, in_bed, variant_kind

SCOPES = ("window", "in_bed", "outside_bed")
STRATA = ("all", "homopolymer", "tandem_repeat", "other")


def contexts(keys, ref: str | Path) -> dict:
    """Repeat stratum of every (chrom, pos, ref, alt) key, from the reference."""
    from bedside.calling.germline_model import RefWindow, stratum

    refw = RefWindow(ref)
    try:
        return {k: stratum(*refw.context(*k)) for k in keys}
    finally:
        refw.close()


def stratified(truth: set, calls: set, ref: str | Path,
               bed: Sequence[tuple[str, int, int]] | None) -> dict:
    """{scope: {kind: {stratum: Score.as_dict()}}} plus the FP/FN lists of the whole window."""
    ctx = contexts(truth | calls, ref)
    out: dict = {}
    for scope in SCOPES:
        if scope != "window" and bed is None:
            continue

        def keep(k, scope=scope):
            if scope == "window":
                return True
            inside = in_bed(k, bed)
            return inside if scope == "in_bed" else not inside

        out[scope] = {}
        for kind in ("SNV", "indel"):
            out[scope][kind] = {}
            for st in STRATA:
                t = {k for k in truth if variant_kind(k) == kind and keep(k) and st in ("all", ctx[k])}
                c = {k for k in calls if variant_kind(k) == kind and keep(k) and st in ("all", ctx[k])}
                out[scope][kind][st] = Score(tp=len(t & c), fp=len(c - t), fn=len(t - c)).as_dict()
    out["false_positives"] = [f"{c}:{p}:{r}>{a} ({ctx[(c, p, r, a)]})" for c, p, r, a in sorted(calls - truth)]
    out["false_negatives"] = [f"{c}:{p}:{r}>{a} ({ctx[(c, p, r, a)]})" for c, p, r, a in sorted(truth - calls)]
    return out
