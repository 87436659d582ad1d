"""FASTQ integrity: the whole file read once, before trimming.

fastp 0.23.2 logs an error but exits 0 on a truncated gzip (it keeps the reads read so far), and an empty
or non-FASTQ file gives an empty BAM that only the QC gates notice. :func:`check_pair` reads both mates
to the end and stops with an :class:`~bedside.errors.InputError` naming the file and the record when

- a gzip stream is truncated or corrupt (CRC / length check at the end of every member),
- a record is not FASTQ (header not ``@``, separator not ``+``, sequence and quality lengths differ,
  a record cut short at the end of the file),
- a file holds no read,
- read 1 and read 2 differ in read count or in read name (``/1`` ``/2`` suffixes and comments aside).
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from bedside.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FastqStats:
    path: str
    reads: int
    bases: int


def _open(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == GZIP_MAGIC:
        return io.BufferedReader(gzip.GzipFile(path, "rb"), buffer_size=1 << 20)  # type: ignore[arg-type]
    return open(path, "rb", buffering=1 << 20)  # noqa: SIM115


def _show(line: bytes) -> str:
    return repr(line[:20].rstrip(b"\r\n").decode("utf-8", errors="replace"))


def _name(header: bytes) -> bytes:
    name = header[1:].split(None, 1)[0] if len(header) > 1 else b""
    if name.endswith((b"/1", b"/2")):
        name = name[:-2]
    return name


def _records(path: Path) -> Iterator[tuple[int, bytes, int]]:
    """Yield (record number, read name, bases) per record; raise InputError on any defect."""
    if not path.exists():
        raise InputError("FASTQ file not found", path=path)
    n = 0
    try:
        with _open(path) as fh:
            lines = iter(fh)
            for header in lines:
                n += 1
                seq = next(lines, None)
                plus = next(lines, None)
                qual = next(lines, None)
                if qual is None:
                    raise InputError("file ends inside a record (truncated?)", path=path,
                                     record=f"#{n} (line {4 * n - 3})")
                if header[:1] != b"@":
                    if n == 1 and not header.strip():
                        raise InputError("not a FASTQ file (first line is empty)", path=path, line=1)
                    raise InputError(f"not a FASTQ record: header line starts with {_show(header)}, "
                                     "expected '@'", path=path, line=4 * n - 3)
                if plus[:1] != b"+":
                    raise InputError(f"not a FASTQ record: separator line starts with {_show(plus)}, "
                                     "expected '+'", path=path, line=4 * n - 1)
                s, q = seq.rstrip(b"\r\n"), qual.rstrip(b"\r\n")
                if len(s) != len(q):
                    raise InputError(f"sequence length {len(s)} but quality length {len(q)}", path=path,
                                     line=4 * n - 2, record=_name(header).decode(errors="replace"))
                yield n, _name(header), len(s)
    except EOFError as exc:
        raise InputError(f"truncated gzip file after {n} complete reads ({exc})", path=path) from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"corrupt gzip file after {n} complete reads ({exc})", path=path) from exc
    except OSError as exc:
        raise InputError(f"cannot read FASTQ: {exc}", path=path) from exc


def check_fastq(path: str | Path) -> FastqStats:
    """Read one FASTQ (plain or gzip) to the end; return its read and base counts."""
    path = Path(path)
    reads = bases = 0
    for reads_so_far, _name_, length in _records(path):
        reads, bases = reads_so_far, bases + length
    if reads == 0:
        raise InputError("no reads (empty FASTQ)", path=path)
    return FastqStats(str(path), reads, bases)


def check_pair(r1: str | Path, r2: str | Path | None = None) -> list[FastqStats]:
    """Check read 1 (and read 2): integrity, >= 1 read, and for pairs equal counts and read names."""
    if r2 is None:
        return [check_fastq(r1)]
    r1, r2 = Path(r1), Path(r2)
    n1 = n2 = b1 = b2 = 0
    for a, b in zip_longest(_records(r1), _records(r2)):
        if a is None:
            if n1 == 0:
                raise InputError("no reads (empty FASTQ)", path=r1)
            raise InputError(f"read 2 has more reads than read 1 ({r1} ends after {n1} reads)", path=r2,
                             record=f"#{b[0]}")
        if b is None:
            if n2 == 0:
                raise InputError("no reads (empty FASTQ)", path=r2)
            raise InputError(f"read 1 has more reads than read 2 ({r2} ends after {n2} reads)", path=r1,
                             record=f"#{a[0]}")
        n1, n2, b1, b2 = a[0], b[0], b1 + a[2], b2 + b[2]
        if a[1] != b[1]:
            raise InputError(f"mates out of order: read 1 is {a[1].decode(errors='replace')!r}, read 2 "
                             f"({r2}) is {b[1].decode(errors='replace')!r}", path=r1, record=f"#{a[0]}")
    for path, n in ((r1, n1), (r2, n2)):
        if n == 0:
            raise InputError("no reads (empty FASTQ)", path=path)
    return [FastqStats(str(r1), n1, b1), FastqStats(str(r2), n2, b2)]
