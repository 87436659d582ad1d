"""Genomic regions: chunks for scatter/gather, from the reference index and an optional targets BED."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bedside.errors import InputError
from bedside.tools import read_fai

__all__ = ["Region", "chunks", "has_sequence", "read_bed", "read_fai"]


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


def has_sequence(fasta: str | Path, regions: list[Region]) -> list[Region]:
    """The regions holding at least one base other than N (a mostly-N reference, such as a test
    reference or unplaced scaffolds, would otherwise spawn many empty calling jobs)."""
    import pysam

    try:
        with pysam.FastaFile(str(fasta)) as fa:
            return [r for r in regions if fa.fetch(r.chrom, r.start, r.end).strip("Nn")]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read reference sequence: {exc}", path=fasta) from exc


def chunks(fasta: str | Path, chunk_size: int, targets: str | Path | None = None,
           skip_all_n: bool = False) -> list[Region]:
    """Split the genome (or the targets) into chunks of at most ``chunk_size`` bp, in reference order.

    With targets, each chunk is the span of consecutive target intervals up to ``chunk_size``; calling
    is further restricted to the targets themselves by the rules. With ``skip_all_n``, chunks whose
    sequence is all N are left out.
    """
    contigs = read_fai(fasta)
    if chunk_size < 1:
        raise InputError(f"chunk size must be positive, got {chunk_size}")
    out: list[Region] = []
    if targets:
        order = {c: i for i, (c, _) in enumerate(contigs)}
        regions = sorted(read_bed(targets, dict(contigs)), key=lambda r: (order[r.chrom], r.start))
        cur: Region | None = None
        for r in regions:
            if cur and r.chrom == cur.chrom and r.end - cur.start <= chunk_size:
                cur = Region(cur.chrom, cur.start, max(cur.end, r.end))
            else:
                if cur:
                    out.append(cur)
                cur = r
        if cur:
            out.append(cur)
        return has_sequence(fasta, out) if skip_all_n else out
    for chrom, length in contigs:
        for start in range(0, length, chunk_size):
            out.append(Region(chrom, start, min(start + chunk_size, length)))
    return has_sequence(fasta, out) if skip_all_n else out
