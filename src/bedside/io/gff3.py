"""Minimal GFF3 checks (the full transcript model lives in bedside.annotate)."""

from __future__ import annotations

from pathlib import Path

from bedside.errors import InputError


def check_gff3(path: str | Path) -> dict[str, int]:
    """Check a GFF3 is well-formed enough for annotation; return feature-type counts.

    Errors name the line: wrong number of columns, non-numeric or inverted coordinates, bad strand.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("GFF3 file not found", path=path)
    counts: dict[str, int] = {}
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1 and not line.startswith("##gff-version 3"):
                raise InputError("first line must be '##gff-version 3'", path=path, line=1)
            if line.startswith("#") or not line.strip():
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) != 9:
                raise InputError(f"expected 9 tab-separated columns, found {len(f)}", path=path,
                                 line=lineno)
            if not (f[3].isdigit() and f[4].isdigit()):
                raise InputError(f"start/end must be integers: {f[3]!r}, {f[4]!r}", path=path,
                                 line=lineno)
            if int(f[3]) > int(f[4]) or int(f[3]) < 1:
                raise InputError(f"invalid interval {f[3]}-{f[4]}", path=path, line=lineno)
            if f[6] not in "+-.?":
                raise InputError(f"invalid strand {f[6]!r}", path=path, line=lineno)
            counts[f[2]] = counts.get(f[2], 0) + 1
    if not counts.get("CDS"):
        raise InputError("no CDS features: cannot annotate protein changes", path=path)
    return counts
