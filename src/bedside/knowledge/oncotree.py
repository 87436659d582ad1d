"""OncoTree hierarchy: codes, parents and ancestor look-ups for tumor-type matching."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from bedside.errors import KnowledgeError

DEFAULT_ONCOTREE = Path(__file__).parent / "data" / "oncotree.tsv"


@dataclass
class OncoTree:
    release: str
    names: dict[str, str] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    main_types: dict[str, str] = field(default_factory=dict)

    def __contains__(self, code: str) -> bool:
        return code.upper() in self.names

    def ancestors(self, code: str) -> list[str]:
        """The code itself followed by its parents up to the root."""
        out: list[str] = []
        cur: str | None = code.upper()
        while cur is not None and cur not in out:
            out.append(cur)
            cur = self.parents.get(cur)
        return out

    def relation(self, patient_code: str, evidence_code: str) -> str | None:
        """'self' or 'ancestor:<CODE>' when evidence_code covers patient_code, else None."""
        patient_code, evidence_code = patient_code.upper(), evidence_code.upper()
        if patient_code == evidence_code:
            return "self"
        if patient_code in self.names and evidence_code in self.ancestors(patient_code)[1:]:
            return f"ancestor:{evidence_code}"
        return None


def load_oncotree(path: str | Path = DEFAULT_ONCOTREE) -> OncoTree:
    path = Path(path)
    release = "unknown"
    rows: list[tuple[int, dict[str, str]]] = []
    with open(path, newline="") as fh:
        lines = []
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#"):
                if "release:" in line:
                    release = line.split("release:", 1)[1].split()[0]
                continue
            lines.append((lineno, line))
    reader = csv.DictReader((ln for _, ln in lines), delimiter="\t")
    for (lineno, _), row in zip(lines[1:], reader):
        rows.append((lineno, row))
    tree = OncoTree(release=release)
    for lineno, row in rows:
        code = (row.get("code") or "").strip().upper()
        if not code:
            raise KnowledgeError("empty OncoTree code", path=path, line=lineno)
        tree.names[code] = row.get("name", "").strip()
        tree.parents[code] = (row.get("parent") or "").strip().upper() or None
        tree.main_types[code] = (row.get("main_type") or "").strip()
    for lineno, row in rows:
        parent = tree.parents[(row.get("code") or "").strip().upper()]
        if parent and parent not in tree.names:
            raise KnowledgeError(f"parent {parent!r} is not an OncoTree code in this table", path=path, line=lineno)
    return tree
