"""OncoTree hierarchy: codes, parents and ancestor look-ups for tumor-type matching.

The bundled table (data/oncotree.tsv) is the complete OncoTree release named in its ``# release:`` header
line, converted from the cBioPortal/oncotree JSON without edits (CC BY 4.0).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bedside.errors import KnowledgeError

DEFAULT_ONCOTREE = Path(__file__).parent / "data" / "oncotree.tsv"


@dataclass
class OncoTree:
    release: str
    names: dict[str, str] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    main_types: dict[str, str] = field(default_factory=dict)
    replaced: dict[str, list[str]] = field(default_factory=dict)  # old code -> current code(s) replacing it
    revoked: dict[str, list[str]] = field(default_factory=dict)  # revoked old code -> current code(s)
    _ancestors: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.upper() in self.names

    def __len__(self) -> int:
        return len(self.names)

    def ancestors(self, code: str) -> list[str]:
        """The code itself followed by its parents up to the root."""
        return list(self.ancestor_tuple(code))

    def ancestor_tuple(self, code: str) -> tuple[str, ...]:
        code = code.upper()
        got = self._ancestors.get(code)
        if got is None:
            out: list[str] = []
            cur: str | None = code
            while cur is not None and cur not in out:
                out.append(cur)
                cur = self.parents.get(cur)
            got = tuple(out)
            self._ancestors[code] = got
        return got

    def relation(self, patient_code: str, evidence_code: str) -> str | None:
        """'self' or 'ancestor:<CODE>' when evidence_code covers patient_code, else None."""
        patient_code, evidence_code = patient_code.upper(), evidence_code.upper()
        if patient_code == evidence_code:
            return "self"
        if patient_code in self.names and evidence_code in self.ancestor_tuple(patient_code)[1:]:
            return f"ancestor:{evidence_code}"
        return None

    def covers(self, ancestor_code: str, code: str) -> bool:
        """True when ``ancestor_code`` is ``code`` itself or one of its OncoTree ancestors."""
        return ancestor_code.upper() in self.ancestor_tuple(code)

    def unknown_message(self, code: str) -> str:
        """Why ``code`` is not accepted, with the current code(s) when the release replaced or revoked it."""
        c = (code or "").strip().upper()
        msg = f"unknown OncoTree code {code!r} (release {self.release})"
        if c in self.replaced:
            msg += f"; it was replaced by {', '.join(self.replaced[c])}"
        elif c in self.revoked:
            msg += f"; it was revoked in favour of {', '.join(self.revoked[c])}"
        return msg

    def check(self, code: str, **where) -> str:
        """Upper-cased code, or KnowledgeError naming the code (and ``where``: path / line / record)."""
        c = (code or "").strip().upper()
        if c not in self.names:
            raise KnowledgeError(self.unknown_message(code), **where)
        return c


def _split(value: str | None) -> list[str]:
    return [v.strip().upper() for v in (value or "").split(",") if v.strip()]


def load_oncotree(path: str | Path = DEFAULT_ONCOTREE) -> OncoTree:
    path = Path(path)
    if not path.exists():
        raise KnowledgeError("OncoTree table not found", path=path)
    release = "unknown"
    lines: list[tuple[int, str]] = []
    with open(path, newline="") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#"):
                if "release:" in line:
                    release = line.split("release:", 1)[1].split()[0]
                continue
            if line.strip():
                lines.append((lineno, line))
    if not lines:
        raise KnowledgeError("empty OncoTree table", path=path)
    reader = csv.DictReader((ln for _, ln in lines), delimiter="\t")
    for need in ("code", "name", "parent"):
        if need not in (reader.fieldnames or []):
            raise KnowledgeError(f"missing column {need!r}", path=path, line=lines[0][0])
    rows = list(zip((n for n, _ in lines[1:]), reader))
    tree = OncoTree(release=release)
    for lineno, row in rows:
        code = (row.get("code") or "").strip().upper()
        if not code:
            raise KnowledgeError("empty OncoTree code", path=path, line=lineno)
        if code in tree.names:
            raise KnowledgeError(f"duplicate OncoTree code {code!r}", path=path, line=lineno)
        tree.names[code] = (row.get("name") or "").strip()
        tree.parents[code] = (row.get("parent") or "").strip().upper() or None
        tree.main_types[code] = (row.get("main_type") or "").strip()
        for old in _split(row.get("previous_codes")):
            tree.replaced.setdefault(old, []).append(code)
        for old in _split(row.get("revoked_codes")):
            tree.revoked.setdefault(old, []).append(code)
    for lineno, row in rows:
        parent = tree.parents[(row.get("code") or "").strip().upper()]
        if parent and parent not in tree.names:
            raise KnowledgeError(f"parent {parent!r} is not an OncoTree code in this table", path=path, line=lineno)
    return tree


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> OncoTree:
    return load_oncotree(path)


def default_oncotree(path: str | Path = DEFAULT_ONCOTREE) -> OncoTree:
    """The bundled tree, loaded once per process (callers must not modify it)."""
    p = Path(path)
    return _cached(str(p), p.stat().st_mtime if p.exists() else 0.0)
