"""The bundled drug vocabulary (``data/drugs.tsv``) and the citation sources (``data/sources.yaml``)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bedside.errors import KnowledgeError
from bedside.model import Citation

DATA = Path(__file__).parent / "data"


@dataclass
class Drug:
    name: str
    rxnorm_cui: str | None
    synonyms: list[str] = field(default_factory=list)
    classes: dict[str, str] = field(default_factory=dict)  # class -> source key


# keys of a sources.yaml entry that are not Citation fields: ``short`` (label name shown in "checked", e.g.
# "Xeloda") and ``revised`` (the label revision as YYYY-MM), kept in :func:`source_meta`.
META_KEYS = ("short", "revised")


@lru_cache(maxsize=4)
def _load_sources(path: str | None = None) -> tuple[dict[str, Citation], dict[str, dict[str, str]]]:
    p = Path(path) if path else DATA / "sources.yaml"
    try:
        data = yaml.safe_load(p.read_text())
        cites, meta = {}, {}
        for k, v in data.items():
            v = dict(v)
            meta[k] = {m: str(v.pop(m)) for m in META_KEYS if m in v}
            cites[k] = Citation(**v)
        return cites, meta
    except (OSError, yaml.YAMLError, TypeError, AttributeError) as exc:
        raise KnowledgeError(f"invalid sources file: {exc}", path=p) from exc


def load_sources(path: str | None = None) -> dict[str, Citation]:
    """Source key -> Citation (``data/sources.yaml``)."""
    return _load_sources(path)[0]


def source_meta(path: str | None = None) -> dict[str, dict[str, str]]:
    """Source key -> {"short": label name, "revised": "YYYY-MM"} where given."""
    return _load_sources(path)[1]


class DrugVocabulary:
    """Name / brand / RxNorm CUI -> generic name, and class memberships with their sources."""

    def __init__(self, drugs: list[Drug], sources: dict[str, Citation], path: str | None = None):
        self.drugs = {d.name: d for d in drugs}
        self.sources = sources
        self.path = path
        self._index: dict[str, str] = {}
        for d in drugs:
            for key in [d.name, *d.synonyms]:
                self._index[key.lower()] = d.name
            if d.rxnorm_cui:
                self._index[d.rxnorm_cui] = d.name
                self._index[f"rxnorm:{d.rxnorm_cui}"] = d.name

    def resolve(self, token: str) -> str | None:
        t = token.strip().lower()
        return self._index.get(t) or self._index.get(re.sub(r"\s+", " ", t))

    def classes_of(self, name: str) -> dict[str, str]:
        d = self.drugs.get(name)
        return d.classes if d else {}

    def in_class(self, name: str, cls: str) -> bool:
        return cls in self.classes_of(name)

    def class_citation(self, name: str, cls: str) -> Citation | None:
        key = self.classes_of(name).get(cls)
        return self.sources.get(key) if key else None


@lru_cache(maxsize=4)
def load_vocabulary(path: str | None = None) -> DrugVocabulary:
    p = Path(path) if path else DATA / "drugs.tsv"
    sources = load_sources()
    drugs = []
    try:
        lines = [ln for ln in p.read_text().splitlines() if ln and not ln.startswith("#")]
    except OSError as exc:
        raise KnowledgeError(f"cannot read drug vocabulary: {exc}", path=p) from exc
    reader = csv.DictReader(lines, delimiter="\t")
    for n, row in enumerate(reader, 2):
        name = (row.get("name") or "").strip().lower()
        if not name:
            raise KnowledgeError("empty drug name", path=p, record=str(n))
        classes = {}
        for item in filter(None, (x.strip() for x in (row.get("classes") or "").split(";"))):
            m = re.fullmatch(r"(.+?)\s*\[([A-Za-z0-9-]+)\]", item)
            if not m:
                raise KnowledgeError(f"class {item!r} lacks a [SOURCE] citation", path=p, record=name)
            if m.group(2) not in sources:
                raise KnowledgeError(f"class source {m.group(2)!r} not in sources.yaml", path=p, record=name)
            classes[m.group(1)] = m.group(2)
        drugs.append(Drug(name, (row.get("rxnorm_cui") or "").strip() or None,
                          [s.strip().lower() for s in (row.get("synonyms") or "").split(";") if s.strip()],
                          classes))
    return DrugVocabulary(drugs, sources, str(p))
