"""Scoring calls against a truth set (precision, recall, F1 per SNV / indel), as the benchmarks and
``bedside bench`` use it. Calls and truth get the same treatment (:func:`normalise_for_scoring`), then
alleles are compared as (chrom, pos, ref, alt). (Moved here from ``bedside.calling.germline``, whose old
names still resolve.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bedside.calling.germline import index_vcf, norm_cmd
from bedside.tools import pipe

__all__ = ["Score", "in_bed", "normalise_for_scoring", "read_bed3", "score", "variant_keys", "variant_kind"]


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"TP": self.tp, "FP": self.fp, "FN": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "F1": round(self.f1, 4)}


def normalise_for_scoring(vcf: str | Path, ref: str | Path, out: str | Path,
                          pass_only: bool = True, rename: str | Path | None = None) -> None:
    """PASS records, non-reference genotypes' alleles split to biallelic, left-aligned against REF,
    exact duplicates removed: the same treatment for calls and truth."""
    cmds = [["bcftools", "view"] + (["-f", "PASS,."] if pass_only else []) + ["-Ou", str(vcf)]]
    if rename:
        cmds.append(["bcftools", "annotate", "--rename-chrs", str(rename), "-Ou", "-"])
    cmds += [norm_cmd(ref), ["bcftools", "norm", "-d", "exact", "-Ou", "-"],
             ["bcftools", "sort", "-Oz", "-"]]
    pipe(cmds, out, inputs=[vcf])
    index_vcf(out)


def variant_keys(vcf: str | Path, region: tuple[str, int, int] | None = None
                 ) -> set[tuple[str, int, str, str]]:
    """(chrom, pos, ref, alt) of every ALT allele carried by some sample (any non-reference GT) in a
    normalised VCF; without samples, every ALT allele."""
    import pysam

    out = set()
    with pysam.VariantFile(str(vcf)) as vf:
        for r in vf:
            if region and (r.chrom != region[0] or not region[1] <= r.pos <= region[2]):
                continue
            carried = None
            if r.samples:
                carried = set()
                for s in r.samples.values():
                    carried.update(g for g in (s.get("GT") or ()) if g)
            for i, a in enumerate(r.alts or (), start=1):
                if a in ("*", ".") or a.startswith("<"):
                    continue
                if carried is not None and i not in carried:
                    continue
                out.add((r.chrom, r.pos, r.ref, a))
    return out


def variant_kind(key: tuple[str, int, str, str]) -> str:
    return "SNV" if len(key[2]) == 1 and len(key[3]) == 1 else "indel"


def in_bed(key: tuple[str, int, str, str], bed: Iterable[tuple[str, int, int]]) -> bool:
    return any(key[0] == c and s < key[1] <= e for c, s, e in bed)


def score(truth: set, calls: set, bed: Sequence[tuple[str, int, int]] | None = None
          ) -> dict[str, Score]:
    """Allele-level comparison (genotype-agnostic): a call is a TP if its normalised
    (chrom, pos, ref, alt) is in the truth. With ``bed``, both sets are restricted to variants whose
    POS lies in the BED intervals."""
    out = {}
    for kind in ("SNV", "indel"):
        t = {k for k in truth if variant_kind(k) == kind and (bed is None or in_bed(k, bed))}
        c = {k for k in calls if variant_kind(k) == kind and (bed is None or in_bed(k, bed))}
        out[kind] = Score(tp=len(t & c), fp=len(c - t), fn=len(t - c))
    return out


def read_bed3(path: str | Path) -> list[tuple[str, int, int]]:
    from bedside.regions import read_bed

    return [(r.chrom, r.start, r.end) for r in read_bed(path)]
