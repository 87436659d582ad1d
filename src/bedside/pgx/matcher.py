"""Named-allele matching from unphased genotypes, after PharmCAT's NamedAlleleMatcher.

* Every phasing of the heterozygous positions is tried; a haplotype matches a named allele when it
  carries the allele's defined base at every present defining position (IUPAC codes such as ``R`` accept
  either base) and the reference allele's base wherever the definition is null. The reference named
  allele therefore matches a haplotype without any defining variant.
* A diplotype's score is the sum of its alleles' scores (number of non-null, non-missing positions in
  the definition, as PharmCAT's ``score``); the top-scoring diplotypes are reported (e.g. TPMT
  *1/*3A over *3B/*3C). Several at the top score = an ambiguous call; every one is reported.
* Positions missing from the VCF (no record or a no-call) are removed from every definition and listed;
  a named allele whose differences from the reference all lie at missing positions cannot be tested and
  is named in the result. If every defining position is missing, nothing is called.
* DPYD uses PharmCAT's DPYD approach: each defined DPYD allele is a variant; from unphased data the two
  lowest-activity alleles found (counting homozygous variants twice, padding with Reference) make the
  diplotype, so that the activity score is the conservative one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bedside.pgx.definitions import GeneDefinition, NamedAllele
from bedside.pgx.genotypes import Genotype

MAX_HET = 16  # 2**15 phasings at most


@dataclass
class MatchResult:
    gene: str
    diplotypes: list[tuple[str, str]] = field(default_factory=list)  # top-scoring, ordered
    score: int | None = None
    missing_positions: list[str] = field(default_factory=list)
    untested_alleles: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    called: bool = True

    def names(self) -> list[str]:
        return [f"{a}/{b}" for a, b in self.diplotypes]


def _prepare(defn: GeneDefinition, present: list[int]) -> tuple[list[tuple[NamedAllele, list[int], int]], list[str]]:
    """Candidate alleles restricted to present positions: (allele, constrained indices, score)."""
    pres = set(present)
    cands, untested = [], []
    for allele in defn.alleles:
        diffs = defn.defining_indices(allele)
        if not allele.reference and any(i not in pres for i in diffs):
            untested.append(allele.name)
            if not any(i in pres for i in diffs):
                continue  # indistinguishable from the reference with the positions at hand
        eff = NamedAllele(allele.name, tuple(a if a is not None else r for a, r in
                                             zip(allele.alleles, defn.reference_allele.alleles)),
                          allele.reference)
        score = sum(1 for i, a in enumerate(allele.alleles) if a is not None and i in pres)
        cands.append((eff, present, score))
    return cands, untested


def _hap_matches(hap: dict[int, str], cands) -> list[tuple[NamedAllele, int]]:
    return [(a, score) for a, idx, score in cands if all(a.accepts(i, hap[i]) for i in idx)]


def _order(defn: GeneDefinition, a: str, b: str) -> tuple[str, str]:
    return (a, b) if defn.order.get(a, 1 << 30) <= defn.order.get(b, 1 << 30) else (b, a)


def match_gene(defn: GeneDefinition, calls: dict[int, Genotype],
               activity: dict[str, float] | None = None) -> MatchResult:
    """Match one sample's genotypes (defining-position index -> genotype) against ``defn``."""
    res = MatchResult(gene=defn.gene)
    present = sorted(calls)
    res.missing_positions = [defn.positions[i].label for i in range(len(defn.positions)) if i not in calls]
    if not present:
        res.called = False
        res.notes.append(f"not called: all {len(defn.positions)} defining positions are missing from the VCF")
        return res
    cands, res.untested_alleles = _prepare(defn, present)
    if res.untested_alleles:
        res.notes.append(
            f"call may be incomplete: {len(res.missing_positions)} defining position(s) missing, so these "
            f"alleles were not fully tested: {', '.join(res.untested_alleles)}")
    if defn.gene == "DPYD":
        return _match_dpyd(defn, calls, cands, res, activity or {})
    het = [i for i in present if calls[i][0] != calls[i][1]]
    if len(het) > MAX_HET:
        res.called = False
        res.notes.append(f"not called: {len(het)} heterozygous defining positions (more than {MAX_HET})")
        return res
    base = {i: calls[i][0] for i in present}
    best: dict[tuple[str, str], int] = {}
    for flips in itertools.product((False, True), repeat=max(0, len(het) - 1)):
        h1, h2 = dict(base), dict(base)
        for k, i in enumerate(het):
            a, b = calls[i]
            flip = flips[k - 1] if k > 0 else False
            h1[i], h2[i] = (b, a) if flip else (a, b)
        for i in present:
            if i not in het:
                h2[i] = calls[i][1]
        m1, m2 = _hap_matches(h1, cands), _hap_matches(h2, cands)
        for (a, sa), (b, sb) in itertools.product(m1, m2):
            key = _order(defn, a.name, b.name)
            best[key] = max(best.get(key, -1), sa + sb)
    if not best:
        res.called = False
        res.notes.append("no combination of named alleles fits the genotypes (novel or undocumented "
                         "allele combination); reported as not called")
        return res
    top = max(best.values())
    res.score = top
    res.diplotypes = sorted((k for k, v in best.items() if v == top),
                            key=lambda k: (defn.order.get(k[0], 0), defn.order.get(k[1], 0)))
    if len(res.diplotypes) > 1:
        res.notes.append(f"ambiguous: {len(res.diplotypes)} diplotypes fit the unphased genotypes equally well")
    for i in present:
        for x in calls[i]:
            if x.startswith("?") or (x != defn.positions[i].ref and x not in defn.positions[i].alts):
                res.notes.append(f"{defn.positions[i].label}: allele {x.lstrip('?')} is not among the "
                                 f"defined alleles")
    return res


def _match_dpyd(defn: GeneDefinition, calls: dict[int, Genotype], cands, res: MatchResult,
                activity: dict[str, float]) -> MatchResult:
    ref = defn.reference_allele
    found: dict[str, int] = {}
    diffsets: dict[str, set[int]] = {}
    for allele, idx, _ in cands:
        if allele.reference:
            continue
        diffs = [i for i in defn.defining_indices(allele) if i in calls]
        if not diffs:
            continue
        copies = min(sum(allele.accepts(i, x) for x in calls[i]) for i in diffs)
        # positions the allele fixes to reference must not be contradicted on both chromosomes
        if copies > 0:
            found[allele.name] = copies
            diffsets[allele.name] = set(diffs)
    # an allele whose variants are a subset of another found allele's is explained by it (e.g. HapB3)
    for a in list(found):
        for b in list(found):
            if a != b and b in found and a in found and diffsets[a] < diffsets[b]:
                found[a] -= found[b]
                if found[a] <= 0:
                    del found[a]
    hap = [name for name, n in found.items() for _ in range(min(n, 2))]
    unknown = [h for h in hap if h not in activity]
    if unknown and activity:
        res.notes.append(f"no activity value for {', '.join(unknown)}")
    hap.sort(key=lambda n: (activity.get(n, 1.0), defn.order.get(n, 0)))
    if len(hap) > 2:
        res.notes.append(f"{len(hap)} DPYD variant alleles found in unphased data; the two with the lowest "
                         f"activity are used (PharmCAT DPYD approach): {', '.join(hap)}")
    pick = (hap + [ref.name, ref.name])[:2]
    res.diplotypes = [_order(defn, pick[0], pick[1])]
    res.score = None
    for i, gt in calls.items():
        for x in gt:
            if x.startswith("?") or (x != defn.positions[i].ref and x not in defn.positions[i].alts):
                res.notes.append(f"{defn.positions[i].label}: allele {x.lstrip('?')} is not among the defined alleles")
    return res
