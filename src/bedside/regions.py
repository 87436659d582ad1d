"""Genomic regions and BED reading (the scatter plan built from them is bedside.plan)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bedside.errors import InputError
from bedside.tools import read_fai

__all__ = ["Region", "read_bed", "read_fai"]


@dataclass(frozen=True)
class Region:
    chrom: str
    start: int  # 0-based, half-open (BED)
    end: int

    @property
    def name(self) -> str:
        """A file-name-safe chunk name, e.g. chr1_000000001-000100000 (1-based inclusive)."""
        return f"{self.chrom}_{self.start + 1:09d}-{self.end:09d}"

    @property
    def samtools(self) -> str:
        """samtools/bcftools region string (1-based inclusive)."""
        return f"{self.chrom}:{self.start + 1}-{self.end}"


def read_bed(path: str | Path, contigs: dict[str, int] | None = None) -> list[Region]:
    regions = []
    with open(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) < 3 or not f[1].isdigit() or not f[2].isdigit():
                raise InputError("expected chrom<TAB>start<TAB>end", path=path, line=lineno)
            start, end = int(f[1]), int(f[2])
            if end <= start:
                raise InputError(f"end {end} <= start {start}", path=path, line=lineno)
            if contigs is not None:
                if f[0] not in contigs:
                    raise InputError(f"contig '{f[0]}' is not in the reference "
                                     f"(reference has e.g. {', '.join(list(contigs)[:3])})",
                                     path=path, line=lineno)
                if end > contigs[f[0]]:
                    raise InputError(f"end {end} beyond contig length {contigs[f[0]]}", path=path,
                                     line=lineno)
            regions.append(Region(f[0], start, end))
    return regions
