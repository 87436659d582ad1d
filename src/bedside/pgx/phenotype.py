"""Diplotype -> phenotype / activity score, from PharmCAT/CPIC gene phenotype tables (``<GENE>.json``).

Lookup order for a diplotype: (1) the table's exact diplotype entry; (2) for activity-score genes, the
sum of the two alleles' activity values, mapped to a phenotype through the table's own
score -> phenotype pairs; (3) for function-based genes, the pair of allele functions, mapped through
the table's own function-pair -> phenotype pairs. The result keeps the CPIC ``lookupkey`` that CPIC
recommendations are keyed by.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bedside.errors import KnowledgeError


@dataclass
class PhenotypeCall:
    phenotype: str | None
    lookup_key: str | None
    activity_score: float | None = None
    functions: tuple[str | None, str | None] = (None, None)


def _fmt_score(x: float) -> str:
    return f"{x:.1f}" if abs(x * 10 - round(x * 10)) < 1e-9 else f"{x:g}"


@dataclass
class PhenotypeTable:
    gene: str
    function: dict[str, str]
    activity: dict[str, float]
    by_diplotype: dict[frozenset, dict]
    by_score: dict[str, str] = field(default_factory=dict)
    by_functions: dict[frozenset, tuple[str, str]] = field(default_factory=dict)
    version: str | None = None
    source_path: str | None = None

    def lowest(self, name: str) -> str:
        """A combination ``[A + B]`` (two variant alleles on one chromosome, PharmCAT's naming) counts as its
        lowest-activity part (PharmCAT's DPYD rule); other names are returned unchanged."""
        if not (name.startswith("[") and name.endswith("]")):
            return name
        parts = name[1:-1].split(" + ")
        if all(p in self.activity for p in parts):
            return min(parts, key=lambda p: self.activity[p])
        return name

    def call(self, a: str, b: str) -> PhenotypeCall:
        a, b = self.lowest(a), self.lowest(b)
        funcs = (self.function.get(a), self.function.get(b))
        key = frozenset(Counter([a, b]).items())
        entry = self.by_diplotype.get(key)
        score = None
        if a in self.activity and b in self.activity:
            score = self.activity[a] + self.activity[b]
        if entry is not None:
            s = entry.get("activityScore")
            return PhenotypeCall(entry.get("generesult") or entry.get("phenotype"), entry.get("lookupkey"),
                                 float(s) if s not in (None, "", "n/a") else score, funcs)
        if score is not None and _fmt_score(score) in self.by_score:
            k = _fmt_score(score)
            return PhenotypeCall(self.by_score[k], k, score, funcs)
        if None not in funcs:
            hit = self.by_functions.get(frozenset(Counter(funcs).items()))
            if hit is not None:
                return PhenotypeCall(hit[0], hit[1], score, funcs)
        return PhenotypeCall(None, None, score, funcs)


def _num(x) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def load_phenotype_table(path: str | Path) -> PhenotypeTable:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        gene = data["gene"]
        function = {n["name"]: n.get("functionValue") for n in data["namedAlleles"]}
        activity = {n["name"]: v for n in data["namedAlleles"] if (v := _num(n.get("activityValue"))) is not None}
        by_dip, by_score, by_funcs = {}, {}, {}
        for e in data["diplotypes"]:
            key = frozenset(e["diplotypekey"].items())
            by_dip[key] = e
            res = e.get("generesult")
            if e.get("activityScore") not in (None, "n/a") and _num(e["activityScore"]) is not None:
                by_score.setdefault(_fmt_score(float(e["activityScore"])), res)
            names = [n for n, c in e["diplotypekey"].items() for _ in range(c)]
            funcs = [function.get(n) for n in names]
            if len(funcs) == 2 and None not in funcs:
                fk = frozenset(Counter(funcs).items())
                prev = by_funcs.get(fk)
                if prev is not None and prev != (res, e.get("lookupkey")):
                    by_funcs[fk] = ("__conflict__", None)
                elif prev is None:
                    by_funcs[fk] = (res, e.get("lookupkey"))
        by_funcs = {k: v for k, v in by_funcs.items() if v[0] != "__conflict__"}
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise KnowledgeError(f"not a PharmCAT/CPIC phenotype table: {exc}", path=path) from exc
    return PhenotypeTable(gene, function, activity, by_dip, by_score, by_funcs, data.get("version"), str(path))


def load_phenotype_tables(directory: str | Path) -> dict[str, PhenotypeTable]:
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError("phenotype table directory not found", path=directory)
    return {t.gene: t for t in (load_phenotype_table(p) for p in sorted(directory.glob("*.json")))}
