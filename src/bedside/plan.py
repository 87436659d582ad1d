"""The scatter plan: which genomic chunks the calling rules run on, decided from the reference's ``.fai``
(contig names and lengths) and an optional targets BED, never from the sequence itself.

It is computed while Snakemake parses the workflow — in the main process and again in every cluster job —
so it reads only small text files: the reference's ``.fai`` (or, when the FASTA has none, contig lengths
scanned once and cached under ``.snakemake/``; nothing is ever written beside the user's reference) and the
targets BED. The chunk size is chosen from the genome and the calling mode:

* whole genome (no targets): the genome is cut into about ``target_chunks`` pieces, none smaller than
  ``min_chunk_size``; each contig is split into equal pieces, and contigs shorter than one piece
  (unplaced scaffolds, decoys, HLA, chrM) are packed together whole into shared chunks, so a reference
  with thousands of small contigs (hs38DH) still gives a few hundred chunks;
* panels and exomes (``targets``): chunks follow the targets — consecutive target intervals whose span
  stays within the chunk size form one chunk, contigs without targets give none, and small groups are
  packed the same way.

An integer ``chunk_size`` fixes the piece size instead (small contigs are then still packed).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from bedside.errors import InputError
from bedside.regions import Region, read_bed
from bedside.tools import parse_fai

__all__ = ["Chunk", "DEFAULT_MIN_CHUNK", "DEFAULT_TARGET_CHUNKS", "auto_chunk_size", "plan_chunks",
           "contig_lengths", "summary"]

DEFAULT_TARGET_CHUNKS = 200
DEFAULT_MIN_CHUNK = 1_000_000
_ROUND = 100_000  # auto chunk sizes are whole multiples of 100 kb
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Chunk:
    """One scatter unit: one or more regions (several only when small contigs are packed together)."""

    index: int
    regions: tuple[Region, ...]

    @property
    def name(self) -> str:
        """File-name-safe and unique: ``0007-chr1_000000001-015000000``, or ``0190-chrUn_x+41`` for a pack
        starting at contig chrUn_x and holding 41 more."""
        first = self.regions[0]
        chrom = _UNSAFE.sub("_", first.chrom)
        if len(self.regions) == 1:
            return f"{self.index:04d}-{chrom}_{first.start + 1:09d}-{first.end:09d}"
        return f"{self.index:04d}-{chrom}+{len(self.regions) - 1}"

    @property
    def samtools(self) -> list[str]:
        """samtools/bcftools region strings (1-based inclusive), one per region."""
        return [r.samtools for r in self.regions]

    @property
    def bp(self) -> int:
        return sum(r.end - r.start for r in self.regions)


FAI_CACHE = Path(".snakemake/bedside-fai")


def _scan(fasta: Path) -> list[tuple[str, int]]:
    """Contig lengths by streaming the FASTA once (plain or gzip/bgzip)."""
    import gzip

    with open(fasta, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    contigs: list[tuple[str, int]] = []
    seen: set[str] = set()
    name, length = None, 0
    with opener(fasta, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.startswith(b">"):
                if name is not None:
                    contigs.append((name, length))
                name = line[1:].split(maxsplit=1)[0].decode("utf-8", "replace") if line[1:].strip() else ""
                if not name or name in seen:
                    raise InputError("FASTA header with no name" if not name else
                                     f"contig {name!r} appears twice", path=fasta, line=lineno)
                seen.add(name)
                length = 0
            elif name is None:
                if line.strip():
                    raise InputError("not a FASTA file (expected a '>name' line first)", path=fasta,
                                     line=lineno)
            else:
                length += len(line.strip())
    if name is not None:
        contigs.append((name, length))
    if not contigs:
        raise InputError("FASTA holds no sequence", path=fasta)
    return contigs


def contig_lengths(fasta: str | Path, cache_dir: Path | None = FAI_CACHE) -> list[tuple[str, int]]:
    """Contig names and lengths of the reference, without writing beside it.

    From ``FASTA.fai`` when it exists (a small text file: the sequence is not read). Otherwise the FASTA
    is streamed once and the lengths remembered under ``cache_dir`` (keyed by path, size and mtime), so
    later parses — the main process's next run, every cluster job — read the cache instead."""
    fasta = Path(fasta)
    if not fasta.exists():
        raise InputError("reference FASTA not found", path=fasta)
    fai = Path(str(fasta) + ".fai")
    if fai.exists():
        return parse_fai(fai)
    if cache_dir is None:
        return _scan(fasta)
    import hashlib
    import os

    st = fasta.stat()
    key = hashlib.sha256(f"{fasta.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:24]
    cached = Path(cache_dir) / f"{key}.lengths"
    if cached.exists():
        return parse_fai(cached)
    contigs = _scan(fasta)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(f"{c}\t{n}\n" for c, n in contigs))
        os.replace(tmp, cached)
    except OSError:
        pass  # a cache that cannot be written only costs time
    return contigs


def auto_chunk_size(contigs: list[tuple[str, int]], target_chunks: int = DEFAULT_TARGET_CHUNKS,
                    min_chunk_size: int = DEFAULT_MIN_CHUNK) -> int:
    """About ``target_chunks`` pieces over the genome, rounded up to 100 kb, at least ``min_chunk_size``."""
    if target_chunks < 1:
        raise InputError(f"target_chunks must be positive, got {target_chunks}")
    genome = sum(length for _, length in contigs)
    size = math.ceil(genome / target_chunks / _ROUND) * _ROUND
    return max(size, min_chunk_size, 1)


def _pieces(contigs: list[tuple[str, int]], size: int) -> list[Region]:
    """Each contig cut into equal pieces of at most ``size`` bp (a 46.7 Mb contig at 15 Mb gives four
    11.7 Mb pieces, not three of 15 and a 1.7 Mb tail)."""
    out = []
    for chrom, length in contigs:
        n = max(1, math.ceil(length / size))
        step = math.ceil(length / n)
        out += [Region(chrom, s, min(s + step, length)) for s in range(0, length, step)]
    return out


def _target_groups(contigs: list[tuple[str, int]], targets: str | Path, size: int) -> list[Region]:
    order = {c: i for i, (c, _) in enumerate(contigs)}
    regions = sorted(read_bed(targets, dict(contigs)), key=lambda r: (order[r.chrom], r.start))
    out: list[Region] = []
    cur: Region | None = None
    for r in regions:
        if cur and r.chrom == cur.chrom and r.end - cur.start <= size:
            cur = Region(cur.chrom, cur.start, max(cur.end, r.end))
        else:
            if cur:
                out.append(cur)
            cur = r
    if cur:
        out.append(cur)
    return out


def _pack(regions: list[Region], size: int) -> list[tuple[Region, ...]]:
    """Regions in order; those shorter than half a chunk are packed with their neighbours up to ``size``
    bp (reference order is kept, so gathered chunks concatenate in order)."""
    chunks: list[tuple[Region, ...]] = []
    pack: list[Region] = []
    pack_bp = 0
    for r in regions:
        length = r.end - r.start
        if length * 2 >= size:
            if pack:
                chunks.append(tuple(pack))
                pack, pack_bp = [], 0
            chunks.append((r,))
            continue
        if pack and pack_bp + length > size:
            chunks.append(tuple(pack))
            pack, pack_bp = [], 0
        pack.append(r)
        pack_bp += length
    if pack:
        chunks.append(tuple(pack))
    return chunks


def plan_chunks(contigs: list[tuple[str, int]], chunk_size: int | str = "auto",
                targets: str | Path | None = None, *, target_chunks: int = DEFAULT_TARGET_CHUNKS,
                min_chunk_size: int = DEFAULT_MIN_CHUNK) -> list[Chunk]:
    """The chunks, in reference order (see the module docstring)."""
    if chunk_size == "auto":
        size = auto_chunk_size(contigs, target_chunks, min_chunk_size)
    elif isinstance(chunk_size, int) and not isinstance(chunk_size, bool) and chunk_size >= 1:
        size = chunk_size
    else:
        raise InputError(f"chunk size must be 'auto' or a positive number of bp, got {chunk_size!r}")
    regions = _target_groups(contigs, targets, size) if targets else _pieces(contigs, size)
    if not regions:
        raise InputError("no region to call: the targets BED lists no interval", path=targets)
    return [Chunk(i, group) for i, group in enumerate(_pack(regions, size), start=1)]


def summary(chunks: list[Chunk]) -> dict:
    sizes = sorted(c.bp for c in chunks)
    return {
        "chunks": len(chunks),
        "bp": sum(sizes),
        "largest_bp": sizes[-1] if sizes else 0,
        "median_bp": sizes[len(sizes) // 2] if sizes else 0,
        "packed_chunks": sum(1 for c in chunks if len(c.regions) > 1),
        "regions": sum(len(c.regions) for c in chunks),
    }
