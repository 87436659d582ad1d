"""Haplotype-level matching for variants written differently by caller and truth (a simplified take on
what vcfeval / hap.py do).

Allele-level matching (``bedside.bench.scoring``) misses a call that describes the same sequence change
with other alleles, as happens in repeats (``TA>T`` + ``CA>C`` in the truth, ``AAC>A`` in the calls; an
insertion plus SNVs against a longer insertion). Here every truth and call allele is grouped into
clusters (alleles whose reference spans lie within ``gap`` bp of each other, chained); in a cluster where
allele-level matching left something unmatched, both sides' alleles are applied to the reference to
build haplotype sequences (phased genotypes as given; every phasing of unphased heterozygous ones tried;
overlapping alleles on one haplotype make that phasing impossible). If some phasing of the calls and
some phasing of the truth give the same set of non-reference haplotype sequences, every truth allele of
the cluster counts as found and no call allele of it as false (genotype-agnostic, like the allele-level
score: a heterozygous call of a homozygous truth variant still matches).

:func:`rescue` returns the call set to score with: the calls with rescued call alleles replaced by the
rescued truth alleles, so ``score(truth, rescued_calls)`` counts them as TP and not as FP/FN.
"""

from __future__ import annotations

import itertools
from pathlib import Path

Key = tuple[str, int, str, str]

MAX_UNPHASED = 8  # phasings tried per side: 2 ** MAX_UNPHASED at most
MAX_ALLELES = 16  # larger clusters are left to allele-level matching


def genotypes(vcf: str | Path, region: tuple[str, int, int] | None = None) -> dict[Key, tuple[int, int, bool]]:
    """{(chrom, pos, ref, alt): (allele on haplotype 1, on haplotype 2, phased)} of a normalised,
    biallelic VCF (first sample; 1 = carries this ALT). Records without samples count as heterozygous."""
    import pysam

    out: dict[Key, tuple[int, int, bool]] = {}
    with pysam.VariantFile(str(vcf)) as vf:
        for r in vf:
            if region and (r.chrom != region[0] or not region[1] <= r.pos <= region[2]):
                continue
            for i, a in enumerate(r.alts or (), start=1):
                if a in ("*", ".") or a.startswith("<"):
                    continue
                if r.samples:
                    s = r.samples[0]
                    gt = tuple(s.get("GT") or ())
                    if not gt or i not in gt:
                        continue
                    h1 = int(gt[0] == i)
                    h2 = int(len(gt) > 1 and gt[1] == i) if len(gt) > 1 else h1
                    phased = bool(s.phased) and len(gt) > 1
                else:
                    h1, h2, phased = 1, 0, False
                key = (r.chrom, r.pos, r.ref, a)
                prev = out.get(key)
                out[key] = (max(h1, prev[0]), max(h2, prev[1]), phased) if prev else (h1, h2, phased)
    return out


def _span(k: Key) -> tuple[int, int]:
    return k[1], k[1] + len(k[2]) - 1


def clusters(keys, gap: int = 10) -> list[list[Key]]:
    out: list[list[Key]] = []
    end = None
    for k in sorted(keys, key=lambda k: (k[0], k[1], k[2], k[3])):
        s, e = _span(k)
        if out and out[-1][0][0] == k[0] and end is not None and s <= end + gap:
            out[-1].append(k)
            end = max(end, e)
        else:
            out.append([k])
            end = e
    return out


def _apply(refseq: str, start: int, alleles: list[Key]) -> str | None:
    """``refseq`` (starting at 1-based ``start``) with ``alleles`` applied; None if two overlap."""
    out, cur = [], start
    for k in sorted(alleles, key=lambda k: k[1]):
        s, e = _span(k)
        if s < cur:
            return None
        out.append(refseq[cur - start:s - start])
        out.append(k[3])
        cur = e + 1
    out.append(refseq[cur - start:])
    return "".join(out)


def _hap_sets(alleles: list[Key], gts: dict, refseq: str, start: int) -> set[frozenset[str]]:
    fixed1, fixed2, free = [], [], []
    for k in alleles:
        h1, h2, phased = gts.get(k, (1, 0, False))
        if h1 and h2:
            fixed1.append(k)
            fixed2.append(k)
        elif phased:
            (fixed1 if h1 else fixed2).append(k)
        else:
            free.append(k)
    if len(free) > MAX_UNPHASED:
        return set()
    out = set()
    for choice in itertools.product((0, 1), repeat=len(free)):
        a = fixed1 + [k for k, c in zip(free, choice, strict=True) if c == 0]
        b = fixed2 + [k for k, c in zip(free, choice, strict=True) if c == 1]
        s1, s2 = _apply(refseq, start, a), _apply(refseq, start, b)
        if s1 is None or s2 is None:
            continue
        out.add(frozenset(x for x in (s1, s2) if x != refseq))
    return out


def rescue(truth: dict[Key, tuple], calls: dict[Key, tuple], ref: str | Path,
           gap: int = 10) -> tuple[set[Key], set[Key], set[Key]]:
    """(calls to score with, truth alleles rescued, call alleles rescued); see the module docstring."""
    import pysam

    t_keys, c_keys = set(truth), set(calls)
    rescued_t: set[Key] = set()
    rescued_c: set[Key] = set()
    fa = pysam.FastaFile(str(ref))
    try:
        for cl in clusters(t_keys | c_keys, gap):
            tk = [k for k in cl if k in t_keys]
            ck = [k for k in cl if k in c_keys]
            if not tk or not ck or set(tk) == set(ck) or len(cl) > MAX_ALLELES:
                continue
            start = min(_span(k)[0] for k in cl) - 1
            end = max(_span(k)[1] for k in cl) + 1
            refseq = fa.fetch(cl[0][0], start - 1, end).upper()
            ts = _hap_sets(tk, truth, refseq, start)
            cs = _hap_sets(ck, calls, refseq, start)
            if ts & cs:
                rescued_t.update(tk)
                rescued_c.update(ck)
    finally:
        fa.close()
    return (c_keys - rescued_c) | rescued_t, rescued_t - c_keys, rescued_c - t_keys
