"""Named-allele matching from VCF genotypes, following PharmCAT's NamedAlleleMatcher (v3).

Re-implemented from PharmCAT's documented behaviour and public source (MPL-2.0, PharmGKB/PharmCAT); no code
copied. What it does, step by step:

* **Positions.** A defining position is *present* when the sample has a genotype there; missing positions
  (no record, no-call, REF mismatch) are removed from every named allele. A named allele keeps its
  *score* = number of its defined (non-null) alleles at present positions; an allele with score 0 is
  dropped. Null alleles of non-reference named alleles are then read as the reference allele's base.
  So with CYP2C19 rs12248560 missing, ``*1`` and ``*17`` look the same and score the same: every
  diplotype made of them is reported (``*1/*1``, ``*1/*17``, ``*17/*17``).
* **Sequences.** Unphased heterozygous positions can be on either chromosome; positions phased in the VCF
  (``0|1``) are kept together. A named allele *matches* a sample sequence when it accepts the sample's
  base at every present position (IUPAC codes such as ``R`` accept either base).
* **Diplotypes.** Two matched alleles form a diplotype when one sequence of each makes up the sample's
  genotype (homozygous positions equal, heterozygous positions different). Its score is the sum of the
  two allele scores (a wobble position scores only where the sample is not reference there, as in
  PharmCAT). PharmCAT's default (``topCandidateOnly``) reports every diplotype with the top score: more
  defining positions matched wins (TPMT ``*1/*3A`` over ``*3B/*3C``).
* **Unphased priorities.** For genes with PharmCAT's ``unphasedDiplotypePriorities`` exemption (NAT2), the
  top-score filter is not applied to unphased data and a listed pick replaces a listed set of candidates.
* **No call.** Nothing present, a half-missing genotype (``./1``), or no pair of named alleles that explains
  the genotypes -> not called (PharmCAT reports no diplotype in these cases).
* **Lowest-function genes (DPYD).** Effectively phased data (at most one heterozygous position, or
  phased) are matched as above; when no pair of single alleles fits, each chromosome is named by the
  variant alleles it carries (``Reference/[c.62G>A + c.3067C>A]``, a combination counting as its
  lowest-function part). Unphased data with several variants: every DPYD variant allele found is listed
  and the diplotype is made of the two lowest-function alleles (PharmCAT's DPYD approach), so the
  activity score is the conservative one. HapB3's intronic variant alone is reported as that allele.
* **Wobbles / undocumented alleles.** Undocumented ALT alleles are read as reference for the genes PharmCAT
  lists (CACNA1S, DPYD, G6PD, NUDT15, RYR1, TPMT); elsewhere they match no named allele.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from bedside.pgx.definitions import IUPAC, GeneDefinition, NamedAllele
from bedside.pgx.genotypes import Genotype

MAX_UNITS = 20  # unphased heterozygous positions considered at most (2**20 sequences)
LOWEST_FUNCTION_GENES = frozenset({"DPYD"})
# PharmCAT NamedAlleleMatcher.TREAT_UNDOCUMENTED_VARIATIONS_AS_REFERENCE
UNDOCUMENTED_AS_REFERENCE = frozenset({"CACNA1S", "DPYD", "G6PD", "NUDT15", "RYR1", "TPMT"})
MISSING = "."


@dataclass
class MatchResult:
    gene: str
    diplotypes: list[tuple[str, ...]] = field(default_factory=list)  # ordered as PharmCAT: score, then name
    score: int | None = None
    scores: dict[tuple[str, ...], int] = field(default_factory=dict)
    missing_positions: list[str] = field(default_factory=list)
    untested_alleles: list[str] = field(default_factory=list)
    mismatched_positions: list[str] = field(default_factory=list)
    haplotypes: list[str] = field(default_factory=list)  # lowest-function genes: variant alleles found
    notes: list[str] = field(default_factory=list)
    called: bool = True
    effectively_phased: bool = True

    def names(self) -> list[str]:
        return ["/".join(d) for d in self.diplotypes]


_TOKEN = re.compile(r"(\d+)")


def _natural(name: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in _TOKEN.split(name) if p != "")


def name_key(name: str) -> tuple:
    """Order of allele names as PharmCAT sorts them: natural order (``*2`` < ``*10``), combinations
    (``[A + B]``) after single alleles, fewer components first."""
    if name.startswith("[") and name.endswith("]"):
        parts = name[1:-1].split(" + ")
        return (1, len(parts), tuple(_natural(p) for p in parts))
    return (0, 1, (_natural(name),))


def combination_name(names: list[str]) -> str:
    names = sorted(names, key=_natural)
    return names[0] if len(names) == 1 else "[" + " + ".join(names) + "]"


def combination_parts(name: str) -> list[str]:
    return name[1:-1].split(" + ") if name.startswith("[") and name.endswith("]") else [name]


@dataclass
class _Cand:
    allele: NamedAllele
    bases: tuple[str, ...]  # at present positions (null -> reference base)
    score: int
    wobble: tuple[int, ...]  # indexes into present positions where the definition uses an IUPAC code


def _accepts(want: str, got: str) -> bool:
    if want == got:
        return True
    if len(want) == 1 and len(got) == 1:
        return got in IUPAC.get(want, frozenset(want))
    return False


def _candidates(defn: GeneDefinition, present: list[int]) -> tuple[list[_Cand], list[str]]:
    ref = defn.reference_allele
    pres = set(present)
    out, untested = [], []
    for a in defn.alleles:
        score = sum(1 for i in present if a.alleles[i] is not None)
        diffs = defn.defining_indices(a)
        if not a.reference and any(i not in pres for i in diffs):
            untested.append(a.name)
        if score == 0:
            continue
        bases = []
        for i in present:
            x = a.alleles[i]
            if x is None:
                r = ref.alleles[i]
                x = defn.positions[i].ref if (len(r) == 1 and r in IUPAC and len(IUPAC[r]) > 1) else r
            bases.append(x)
        wob = tuple(k for k, x in enumerate(bases) if len(x) == 1 and x in IUPAC and len(IUPAC[x]) > 1)
        out.append(_Cand(a, tuple(bases), score, wob))
    return out, untested


def _units(calls: dict[int, Genotype], present: list[int], phased: set[int]):
    """Split present positions into fixed (homozygous) bases and switchable units.

    A unit is a list of present-position indexes whose two alleles travel together: one unit per unphased
    heterozygous position, and one unit for all phased heterozygous positions. Choice 0 puts allele 1 of
    each position of the unit on the sequence, choice 1 allele 2."""
    fixed: dict[int, str] = {}
    units: list[list[int]] = []
    phased_unit: list[int] = []
    for k, i in enumerate(present):
        a, b = calls[i][0], calls[i][-1]
        if a == b:
            fixed[k] = a
        elif i in phased:
            phased_unit.append(k)
        else:
            units.append([k])
    if phased_unit:
        units.insert(0, phased_unit)
    return fixed, units


def _options(c: _Cand, alleles: list[tuple[str, str]], fixed: dict[int, str], units: list[list[int]]):
    """For each unit, the choices (0/1) under which ``c`` accepts the sample's bases; None if ``c`` cannot
    match any sequence."""
    for k, x in fixed.items():
        if not _accepts(c.bases[k], x):
            return None
    opts = []
    for u in units:
        o = tuple(ch for ch in (0, 1) if all(_accepts(c.bases[k], alleles[k][ch]) for k in u))
        if not o:
            return None
        opts.append(o)
    return opts


def _wobble_score(c: _Cand, seqs: list[dict[int, str]], defn_ref: list[str]) -> int:
    score = c.score
    for k in c.wobble:
        if all(s[k] == defn_ref[k] for s in seqs):
            score -= 1
    return score


def match_gene(defn: GeneDefinition, calls: dict[int, Genotype], activity: dict[str, float] | None = None,
               *, phased: set[int] | frozenset[int] = frozenset(), top_candidate_only: bool = True,
               indistinguishable: bool = True, priorities: list[dict] | None = None) -> MatchResult:
    """Match one sample's genotypes (defining-position index -> genotype) against ``defn``.

    ``top_candidate_only`` keeps the top-scoring diplotypes (PharmCAT's default); False lists every
    diplotype that fits, best first (PharmCAT ``-ma``). ``indistinguishable`` (Bedside's default) adds,
    to the top-scoring diplotypes, every diplotype whose alleles carry exactly the same bases at the
    positions the sample has (they differ only at missing positions, so the data cannot tell them
    apart): with CYP2C19 rs12248560 missing, ``*1/*1`` scores highest but ``*1/*17`` and ``*17/*17``
    are as consistent with the data and are listed too."""
    res = MatchResult(gene=defn.gene)
    present = sorted(calls)
    res.missing_positions = [defn.positions[i].label for i in range(len(defn.positions)) if i not in calls]
    if not present:
        res.called = False
        res.notes.append(f"not called: none of the {len(defn.positions)} defining positions has a genotype")
        return res
    if defn.gene in UNDOCUMENTED_AS_REFERENCE:
        fixed_calls = {}
        for i in present:
            p = defn.positions[i]
            fixed_calls[i] = tuple(x if x in (MISSING, p.ref) or x in p.alts else p.ref for x in calls[i])
            if fixed_calls[i] != tuple(calls[i]):
                res.notes.append(f"{p.label}: undocumented allele(s) {'/'.join(x.lstrip('?') for x in calls[i])} "
                                 f"read as reference (PharmCAT rule for {defn.gene})")
        calls = fixed_calls
    partial = [defn.positions[i].label for i in present if MISSING in calls[i]]
    if partial:
        res.called = False
        res.notes.append("not called: half-missing genotype (e.g. ./1) at " + ", ".join(partial))
        return res
    cands, res.untested_alleles = _candidates(defn, present)
    if res.untested_alleles:
        res.notes.append(
            f"{len(res.missing_positions)} defining position(s) missing, so these alleles were not fully "
            f"tested: {', '.join(res.untested_alleles)}")
    haploid = all(len(calls[i]) == 1 for i in present)
    alleles = [(calls[i][0], calls[i][-1]) for i in present]
    fixed, units = _units(calls, present, set(phased))
    res.effectively_phased = haploid or len(units) <= 1
    if len(units) > MAX_UNITS:
        res.called = False
        res.notes.append(f"not called: {len(units)} unphased heterozygous positions (more than {MAX_UNITS})")
        return res
    _undocumented_notes(defn, calls, present, res)
    if defn.gene in LOWEST_FUNCTION_GENES and not res.effectively_phased:
        return _lowest_function(defn, cands, alleles, fixed, units, res, activity or {})

    matched = []
    for c in cands:
        o = _options(c, alleles, fixed, units)
        if o is not None:
            matched.append((c, o))
    ref_bases = [defn.positions[i].ref for i in present]
    scores: dict[tuple[str, ...], int] = {}
    if haploid:
        for c, _ in matched:
            scores[(c.allele.name,)] = c.score
    elif not units:
        seq = [alleles[k][0] for k in range(len(present))]
        seqd = dict(enumerate(seq))
        if len(matched) == 1:
            c = matched[0][0]
            scores[(c.allele.name, c.allele.name)] = 2 * _wobble_score(c, [seqd], ref_bases)
        else:
            for (c1, _), (c2, _) in itertools.combinations_with_replacement(matched, 2):
                s = _wobble_score(c1, [seqd], ref_bases) + _wobble_score(c2, [seqd], ref_bases)
                key = _pair(c1.allele.name, c2.allele.name)
                scores[key] = max(scores.get(key, -1), s)
    else:
        for (c1, o1), (c2, o2) in itertools.combinations_with_replacement(matched, 2):
            s = _pair_score(c1, o1, c2, o2, alleles, fixed, units, ref_bases)
            if s is None:
                continue
            key = _pair(c1.allele.name, c2.allele.name)
            scores[key] = max(scores.get(key, -1), s)
    if not scores and defn.gene in LOWEST_FUNCTION_GENES:
        return _phased_lowest_function(defn, cands, alleles, fixed, units, res)
    if not scores:
        res.called = False
        res.notes.append("not called: no pair of named alleles explains the genotypes (novel or undocumented "
                         "allele combination)")
        return res
    ordered = sorted(scores, key=lambda k: (-scores[k], [name_key(n) for n in k]))
    priority_mode = bool(priorities) and not res.effectively_phased
    if top_candidate_only and not priority_mode:
        top = scores[ordered[0]]
        keep = [k for k in ordered if scores[k] == top]
        if indistinguishable and not haploid:
            alias = _aliases([c for c, _ in matched])
            extra = {_pair(x, y) for a, b in keep for x in alias[a] for y in alias[b]}
            extra = {k for k in extra if k in scores and k not in keep}
            if extra:
                res.notes.append(
                    "the missing position(s) cannot tell apart " + "; ".join(
                        sorted({" = ".join(sorted(alias[n], key=name_key)) for k in keep for n in k
                                if len(alias[n]) > 1})) + ": every diplotype they allow is listed")
            keep += sorted(extra, key=lambda k: (-scores[k], [name_key(n) for n in k]))
        ordered = keep
    if priority_mode:
        names = {"/".join(k) for k in ordered}
        for p in priorities or []:
            if len(ordered) > 1 and set(p["list"]) <= names:
                pick = next(k for k in ordered if "/".join(k) == p["pick"])
                res.notes.append(f"unphased {defn.gene} variants fit {', '.join(p['list'])}; PharmCAT's "
                                 f"unphased-diplotype priority (frequency based) picks {p['pick']}")
                ordered = [pick]
                break
    res.diplotypes = ordered
    res.scores = {k: scores[k] for k in ordered}
    res.score = scores[ordered[0]]
    if len(ordered) > 1:
        res.notes.append(f"ambiguous: {len(ordered)} diplotypes fit the genotypes"
                         + (" equally well" if len(set(res.scores.values())) == 1 else ""))
    return res


def _aliases(cands: list[_Cand]) -> dict[str, set[str]]:
    by_bases: dict[tuple[str, ...], set[str]] = {}
    for c in cands:
        by_bases.setdefault(c.bases, set()).add(c.allele.name)
    return {c.allele.name: by_bases[c.bases] for c in cands}


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if name_key(a) <= name_key(b) else (b, a)


def _pair_score(c1, o1, c2, o2, alleles, fixed, units, ref_bases) -> int | None:
    """Best score of (c1, c2) over the sequence pairs that make up the genotype, or None if none does."""
    per_unit = []
    for u1, u2 in zip(o1, o2):
        ch = [x for x in u1 if (1 - x) in u2]
        if not ch:
            return None
        per_unit.append(ch)
    if not c1.wobble and not c2.wobble:
        return c1.score + c2.score
    best = None
    for choice in itertools.islice(itertools.product(*per_unit), 4096):
        s1, s2 = dict(fixed), dict(fixed)
        for u, ch in zip(units, choice):
            for k in u:
                s1[k], s2[k] = alleles[k][ch], alleles[k][1 - ch]
        same = c1.allele.name == c2.allele.name
        sc = (_wobble_score(c1, [s1] if same else [s1, s2], ref_bases)
              + _wobble_score(c2, [s2] if same else [s1, s2], ref_bases))
        best = sc if best is None else max(best, sc)
    return best


def _undocumented_notes(defn: GeneDefinition, calls, present, res: MatchResult) -> None:
    for i in present:
        p = defn.positions[i]
        odd = sorted({x for x in calls[i] if x != MISSING and x != p.ref and x not in p.alts})
        if odd:
            res.notes.append(f"{p.label}: allele {'/'.join(x.lstrip('?') for x in odd)} is not among the "
                             f"defined alleles ({p.ref}>{','.join(p.alts)})")


def _variant_alleles(cands: list[_Cand], seq: dict[int, str]) -> list[str]:
    """Variant (non-reference) alleles whose every difference from the reference is on ``seq``; an allele
    whose differences are part of a larger one found is explained by it (HapB3's intronic variant)."""
    ref_bases = next(c for c in cands if c.allele.reference).bases
    found: dict[str, frozenset[int]] = {}
    for c in cands:
        if c.allele.reference:
            continue
        diff = frozenset(k for k, b in enumerate(c.bases) if b != ref_bases[k])
        if diff and all(_accepts(c.bases[k], seq[k]) for k in diff):
            found[c.allele.name] = diff
    return [a for a, d in found.items() if not any(d < e for b, e in found.items() if b != a)]


def _phased_lowest_function(defn, cands, alleles, fixed, units, res: MatchResult) -> MatchResult:
    """Effectively phased data that no pair of single named alleles explains: each chromosome is the
    combination of the variant alleles it carries (PharmCAT names it ``[A + B]``; its function is that of
    its lowest-function part)."""
    s1, s2 = dict(fixed), dict(fixed)
    for u in units:  # at most one unit here
        for k in u:
            s1[k], s2[k] = alleles[k][0], alleles[k][1]
    ref = defn.reference_allele.name
    haps = []
    for seq in (s1, s2):
        found = _variant_alleles(cands, seq)
        res.haplotypes += found
        haps.append(combination_name(found) if found else ref)
    res.diplotypes = [_pair(haps[0], haps[1])]
    res.notes.append(f"{defn.gene}: the chromosomes carry {haps[0]} and {haps[1]}; a combination's function is "
                     f"that of its lowest-function allele (PharmCAT)")
    return res


def _lowest_function(defn: GeneDefinition, cands: list[_Cand], alleles, fixed, units, res: MatchResult,
                     activity: dict[str, float]) -> MatchResult:
    """Unphased data with several heterozygous variants: list every variant allele whose defining bases are
    all present in the sample, count copies, keep the two lowest-function ones (PharmCAT's DPYD rule)."""
    ref = defn.reference_allele
    seen: dict[str, int] = {}
    diffsets: dict[str, frozenset[int]] = {}
    ref_bases = {k: b for k, b in enumerate(next(c for c in cands if c.allele.reference).bases)}
    for c in cands:
        if c.allele.reference:
            continue
        diff = [k for k, b in enumerate(c.bases) if b != ref_bases[k]]
        if not diff:
            continue
        copies = 2
        for k in diff:
            n = sum(_accepts(c.bases[k], x) for x in alleles[k])
            copies = min(copies, n)
        if copies > 0:
            seen[c.allele.name] = copies
            diffsets[c.allele.name] = frozenset(diff)
    # an allele whose variants are part of a larger allele found in the sample is explained by it (HapB3)
    for a in list(seen):
        for b in list(seen):
            if a != b and a in seen and b in seen and diffsets[a] < diffsets[b]:
                seen[a] -= seen[b]
                if seen[a] <= 0:
                    del seen[a]
    haps = [n for n, k in seen.items() for _ in range(k)]
    haps.sort(key=lambda n: (activity.get(n, 1.0), name_key(n)))
    res.haplotypes = list(haps)
    if not haps:
        res.called = False
        res.notes.append("not called: heterozygous positions fit no defined variant allele")
        return res
    unknown = [h for h in haps if h not in activity]
    if unknown and activity:
        res.notes.append(f"no activity value for {', '.join(sorted(set(unknown)))}")
    if len(haps) > 2:
        res.notes.append(f"{len(haps)} {defn.gene} variant alleles in unphased data ({', '.join(haps)}); the two "
                         f"with the lowest function make the diplotype (PharmCAT lowest-function approach)")
    elif len(haps) == 2:
        res.notes.append(f"unphased {defn.gene} variants {haps[0]} and {haps[1]}: reported as "
                         f"{haps[0]}/{haps[1]} (lowest-function approach; phase not known)")
    pick = (haps + [ref.name, ref.name])[:2]
    res.diplotypes = [_pair(pick[0], pick[1])]
    res.score = None
    return res
