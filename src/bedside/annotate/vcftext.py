"""VCF text editing for `bedside annotate`: the transcript index and the consequence pass that adds
BEDSIDE_CSQ to record lines. Lines are only ever extended (``;BEDSIDE_CSQ=...`` appended to INFO, or INFO
``.`` replaced); every other byte of a record is copied as it is. Chunks of whole lines are pre-filtered
in NumPy (only lines overlapping a transcript span are looked at), their SNVs annotated in arrays per
transcript (FastSNV.csq_many), indels and unusual SNVs split in Python.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np
import pysam

from bedside.annotate.consequence import FastSNV, TranscriptAnnotator
from bedside.annotate.transcripts import Transcript
from bedside.errors import InputError

CSQ_HEADER = ('##INFO=<ID=BEDSIDE_CSQ,Number=.,Type=String,Description="Bedside consequence on the selected '
              'transcript of each overlapping gene. Format: gene|transcript|consequence|hgvs_c|hgvs_p|impact|'
              'protein_position">')


def _snv_field(ann: TranscriptAnnotator, fast: FastSNV, pos: int, ref: str, alt: str) -> str | None:
    """BEDSIDE_CSQ of one SNV on one transcript: the fast path, else the general one (None: no overlap)."""
    c = fast.csq(pos, ref, alt)
    if c is None:
        a = ann.annotate(pos, ref, alt)
        c = None if a is None else a.csq_field()
    return c


class TranscriptIndex:
    """Selected transcripts binned by 64 kb windows of their annotation span (incl. up/downstream)."""

    BIN = 1 << 16

    def __init__(self, transcripts: Iterable[Transcript], fasta):
        self.bins: dict[str, dict[int, list[tuple[int, int, TranscriptAnnotator, FastSNV]]]] = \
            defaultdict(lambda: defaultdict(list))
        # per contig, every item in the order a lookup lists them (the vectorised SNV path of a chunk)
        self.items: dict[str, list[tuple[int, int, TranscriptAnnotator, FastSNV]]] = defaultdict(list)
        for tx in sorted(transcripts, key=lambda t: (t.chrom, t.start, t.id)):
            ann = TranscriptAnnotator(tx, fasta)
            item = (ann.lo, ann.hi, ann, FastSNV(ann))
            self.items[tx.chrom].append(item)
            for b in range(max(ann.lo, 1) >> 16, (ann.hi >> 16) + 1):
                self.bins[tx.chrom][b].append(item)
        # 4 kb bins for single-base lookups (SNVs): fine bin f holds, in coarse-bin order, the items of coarse
        # bin f >> 4 whose span reaches into f, so a lookup sees the same candidates, minus ones that cannot match
        self.fine: dict[str, dict[int, list[tuple[int, int, TranscriptAnnotator, FastSNV]]]] = {}
        for chrom, bins in self.bins.items():
            fine: dict[int, list[tuple[int, int, TranscriptAnnotator, FastSNV]]] = defaultdict(list)
            for b in sorted(bins):
                for item in bins[b]:
                    for f in range(max(b << 4, item[0] >> 12), min((b << 4) + 15, item[1] >> 12) + 1):
                        fine[f].append(item)
            self.fine[chrom] = dict(fine)
        # per contig: the union of all annotation spans as sorted, disjoint [lo, hi] arrays (chunk pre-filter)
        self.spans: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        for chrom, bins in self.bins.items():
            ivs = sorted({(it[0], it[1]) for items in bins.values() for it in items})
            los: list[int] = []
            his: list[int] = []
            for lo, hi in ivs:
                if los and lo <= his[-1] + 1:
                    his[-1] = max(his[-1], hi)
                else:
                    los.append(lo)
                    his.append(hi)
            self.spans[chrom.encode()] = (np.array(los, dtype=np.int64), np.array(his, dtype=np.int64))

    def reopen(self, fasta: str) -> None:
        """Point every annotator at a fresh FASTA handle (for a forked worker process)."""
        fa = pysam.FastaFile(fasta)
        for bins in self.bins.values():
            for items in bins.values():
                for item in items:
                    item[2].fasta = fa

    def lookup(self, chrom: str, pos: int, end: int) -> list[tuple[int, int, TranscriptAnnotator, FastSNV]]:
        bins = self.bins.get(chrom)
        if not bins:
            return []
        cands = bins.get(pos >> 16)
        if not cands:
            return []
        return [c for c in cands if c[0] <= end and pos <= c[1]]


def annotate_lines(lines: Iterator[str], index: TranscriptIndex) -> Iterator[str]:
    """Add BEDSIDE_CSQ to VCF text lines (header gets its INFO declaration)."""
    for line in lines:
        if line.startswith("#CHROM"):
            yield CSQ_HEADER + "\n"
            yield line
            break
        yield line
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= 4096:
            annotate_batch(batch, index)
            yield from batch
            batch = []
    annotate_batch(batch, index)
    yield from batch


def annotate_batch(batch: list[str], index: TranscriptIndex) -> int:
    """Add BEDSIDE_CSQ in place to a list of VCF record lines; returns how many got one (records outside
    every transcript's span are left as they are)."""
    bins_by_chrom = index.bins
    fine_by_chrom = index.fine
    added = 0
    k = -1
    for line in batch:
        k += 1
        f = line.split("\t", 8)
        bins = bins_by_chrom.get(f[0])
        if not bins:
            continue
        pos = int(f[1])
        ref = f[3]
        alt = f[4]
        csq = []
        if len(ref) == 1 and len(alt) == 1 and alt in "ACGT":  # SNV: the precomputed fast path first
            cands = fine_by_chrom[f[0]].get(pos >> 12)
            if not cands:
                continue
            for lo, hi, ann, fast in cands:
                if lo <= pos <= hi:
                    c = _snv_field(ann, fast, pos, ref, alt)
                    if c is not None:
                        csq.append(c)
        else:
            cands = bins.get(pos >> 16)
            if not cands:
                continue
            end = pos + len(ref) - 1
            for lo, hi, ann, _ in cands:
                if lo > end or pos > hi:
                    continue
                if alt.startswith("<") or alt in ("*", ".") or "," in alt:
                    continue
                a = ann.annotate(pos, ref, alt)
                if a is None:
                    continue
                csq.append(a.csq_field())
        if not csq:
            continue
        info = f[7]
        if len(f) == 9:
            f[7] = ("BEDSIDE_CSQ=" if info == "." else info + ";BEDSIDE_CSQ=") + ",".join(csq)
        else:  # sites-only VCF: the INFO column carries the newline
            info = info.rstrip("\n")
            f[7] = ("BEDSIDE_CSQ=" if info == "." else info + ";BEDSIDE_CSQ=") + ",".join(csq) + "\n"
        batch[k] = "\t".join(f)
        added += 1
    return added


def _span_lines(chunk: bytes, index: TranscriptIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple] | None:
    """Vectorised pre-filter of a chunk of whole VCF record lines: (line starts, line ends incl. the newline,
    mask of lines whose REF span [POS, POS+len(REF)-1] overlaps a transcript annotation span). Lines outside
    the mask cannot get a consequence and are passed through untouched; the mask is a superset of the lines
    :func:`annotate_batch` annotates, which still decides per line. A fourth item carries what
    :func:`_snv_lines` reuses: (the chunk as a uint8 array, tab offsets, index of each line's first tab, POS,
    contig number of each span line (-1 otherwise), contig names). None when the chunk does not parse
    cleanly here (fewer than 4 tabs on a line, a POS that is not 1-10 digits): the caller takes the
    per-line path for the whole chunk."""
    buf = np.frombuffer(chunk, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    n = len(nl)
    if n == 0 or nl[-1] != len(buf) - 1:
        return None
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl[:-1] + 1
    tabs = np.flatnonzero(buf == 9)
    i0 = np.searchsorted(tabs, starts)
    if len(tabs) == 0 or i0[-1] + 3 >= len(tabs):
        return None
    t1, t2, t3, t4 = tabs[i0], tabs[i0 + 1], tabs[i0 + 2], tabs[i0 + 3]
    if (t4 > nl).any():
        return None
    plen = t2 - t1 - 1
    if plen.min() < 1 or plen.max() > 10:
        return None
    pos = np.zeros(n, dtype=np.int64)
    top = len(buf) - 1
    for k in range(int(plen.max())):
        d = buf[np.minimum(t1 + 1 + k, top)].astype(np.int64) - 48
        m = k < plen
        if ((d < 0) | (d > 9))[m].any():
            return None
        pos = np.where(m, pos * 10 + d, pos)
    end = pos + (t4 - t3 - 1) - 1
    clen = t1 - starts
    mask = np.zeros(n, dtype=bool)
    todo = np.ones(n, dtype=bool)
    cid = np.full(n, -1, dtype=np.int64)
    names: list[bytes] = []
    for _ in range(16):  # contigs in this chunk (sorted input: one, sometimes two)
        j = int(np.argmax(todo))
        c = chunk[starts[j]:t1[j]]
        same = todo & (clen == len(c))
        for k, ch in enumerate(c):
            same &= buf[np.minimum(starts + k, top)] == ch
        todo &= ~same
        sp = index.spans.get(c)
        if sp is not None and len(sp[0]):
            los, his = sp
            k = np.searchsorted(los, end, side="right") - 1
            hit = same & (k >= 0) & (his[np.maximum(k, 0)] >= pos)
            mask |= hit
            cid[hit] = len(names)
            names.append(c)
        if not todo.any():
            return starts, nl + 1, mask, (buf, tabs, i0, pos, cid, names)
    return None


# 0-3 code (T, C, A, G) of an upper-case base, 255 for anything else
_BASE4 = np.full(256, 255, dtype=np.uint8)
for _i, _b in enumerate(b"TCAG"):
    _BASE4[_b] = _i


def _snv_lines(idx: np.ndarray, ends: np.ndarray, extra: tuple, index: TranscriptIndex) -> tuple[
        np.ndarray, list, np.ndarray, np.ndarray, int]:
    """Vectorised consequence pass over the SNVs among the span lines ``idx`` of a chunk (REF and ALT one
    of A/C/G/T, at least 8 tabs so INFO ends at a tab): (positions in ``idx`` of those lines, their
    BEDSIDE_CSQ strings or None, where their INFO column starts and ends in the chunk, how many got one).
    The strings are exactly those of :func:`annotate_batch` (FastSNV.csq_many, with FastSNV.csq and the
    general path for what it leaves)."""
    buf, tabs, i0, pos_all, cid_all, names = extra
    ti = i0[idx]
    nt = len(tabs)
    t = [tabs[np.minimum(ti + k, nt - 1)] for k in range(8)]  # t[k]: tab k+1 of the line
    ok = (ti + 7 < nt) & (t[7] < ends[idx] - 1) & (t[3] - t[2] == 2) & (t[4] - t[3] == 2)
    ref = _BASE4[buf[t[2] + 1]]
    alt = _BASE4[buf[t[3] + 1]]
    ok &= (ref < 4) & (alt < 4)
    v = np.flatnonzero(ok)
    m = len(v)
    res = np.full(m, None, dtype=object)
    if not m:
        return v, [], v, v, 0
    lines = idx[v]
    pos, cid = pos_all[lines], cid_all[lines]
    ref, alt = ref[v], alt[v]
    hits = np.zeros(m, dtype=np.int64)
    for c, name in enumerate(names):
        on = np.flatnonzero(cid == c)
        if not len(on):
            continue
        chrom = name.decode()
        pc = pos[on]
        pmin, pmax = int(pc.min()), int(pc.max())
        for lo, hi, ann, fast in index.items.get(chrom, ()):
            if lo > pmax or hi < pmin:
                continue
            sel = on[np.flatnonzero((pc >= lo) & (pc <= hi))]
            if not len(sel):
                continue
            groups, fb = fast.csq_many(pos[sel], ref[sel], alt[sel])
            for g, strs in groups:
                gi = sel[g]
                if not hits[gi].any():
                    res[gi] = strs
                else:
                    for j, x in zip(gi.tolist(), strs):
                        res[j] = x if res[j] is None else res[j] + "," + x
                hits[gi] += 1
            for j in sel[np.sort(fb)].tolist():
                x = _snv_field(ann, fast, int(pos[j]), "TCAG"[ref[j]], "TCAG"[alt[j]])
                if x is None:
                    continue
                res[j] = x if res[j] is None else res[j] + "," + x
                hits[j] += 1
    t7, t8 = t[6][v], t[7][v]
    dot = (t8 - t7 == 2) & (buf[t7 + 1] == 46)  # INFO is '.'
    return v, res.tolist(), np.where(dot, t7 + 1, t8), t8, int(np.count_nonzero(hits))


_CSQ_KEY = np.array(["BEDSIDE_CSQ=", ";BEDSIDE_CSQ="], dtype=object)  # INFO '.' is replaced / INFO is extended


def _edit_chunk(text: str, xs: list[int], ys: list[int], keys: list[str], texts: list[str]) -> str:
    """``text`` with, for each edit ``k`` (in order, disjoint), ``text[xs[k]:ys[k]]`` replaced by
    ``keys[k] + texts[k]``."""
    m = len(xs)
    pieces: list[str] = [""] * (3 * m + 1)
    pieces[0::3] = [text[p:x] for p, x in zip([0] + ys[:-1], xs)] + [text[ys[-1]:] if m else text]
    pieces[1::3] = keys
    pieces[2::3] = texts
    return "".join(pieces)


def annotate_chunk(chunk: bytes, index: TranscriptIndex) -> tuple[bytes, int, int]:
    """Annotate one chunk of whole record lines: (output bytes, records, records with a consequence).
    Only lines that overlap a transcript span are annotated: SNVs in arrays (:func:`_snv_lines`), the other
    lines split in Python (:func:`annotate_batch`); the runs between them are copied as they are."""
    pre = _span_lines(chunk, index) if chunk.isascii() else None
    if pre is None:
        batch = chunk.decode().splitlines(keepends=True)
        a = annotate_batch(batch, index)
        return "".join(batch).encode(), len(batch), a
    starts, ends, mask, extra = pre
    idx = np.flatnonzero(mask)
    v, csq, info_a, info_b, a = _snv_lines(idx, ends, extra, index)
    # edits in line order: bytes cut_a:cut_b of the chunk become key + text
    rest = np.ones(len(idx), dtype=bool)
    rest[v] = False
    r = np.flatnonzero(rest)
    cut_a, cut_b = starts[idx], ends[idx]
    keys = np.full(len(idx), "", dtype=object)
    texts = np.full(len(idx), None, dtype=object)
    if len(v):
        cut_a[v] = info_a
        cut_b[v] = info_b
        keys[v] = _CSQ_KEY[(info_a == info_b).astype(np.int64)]
        texts[v] = csq
    text = chunk.decode("ascii")
    if len(r):
        s_list, e_list = starts[idx[r]].tolist(), ends[idx[r]].tolist()
        batch = [text[s:e] for s, e in zip(s_list, e_list)]
        orig = list(batch)
        a += annotate_batch(batch, index)
        texts[r] = [None if line is o else line for line, o in zip(batch, orig)]
    if not a:
        return chunk, len(starts), 0
    done = np.not_equal(texts, None)
    out = _edit_chunk(text, cut_a[done].tolist(), cut_b[done].tolist(), keys[done].tolist(),
                      texts[done].tolist()).encode()
    return out, len(starts), a


def byte_chunks(src: BinaryIO, first: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    """Whole-line chunks of about ``size`` bytes from a binary stream."""
    rest = first
    while True:
        buf = src.read(size)
        if not buf:
            if rest:
                yield rest if rest.endswith(b"\n") else rest + b"\n"
            return
        buf = rest + buf
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            rest = buf
            continue
        rest = buf[cut:]
        yield buf[:cut]


# ------------------------------------------------------------------ input checks (nothing is rewritten silently)

_NUM = {
    "Integer": rb"[-+]?\d+|\.",
    "Float": rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])|\.",
}
# a record line htslib reads as written: CHROM, POS (1..), ID, REF (bases), ALT, QUAL (number or '.'),
# FILTER, INFO, then optional FORMAT and samples; a line not of this shape is refused, since htslib would read
# e.g. POS 'abc' as 0 without a word
_QUAL = rb"(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\.|[nN][aA][nN]|[iI][nN][fF])"
_BAD_LINE = re.compile(rb"^(?![^\t\n]+\t[1-9]\d{0,9}\t[^\t\n]*\t[ACGTNacgtn]+\t[^\t\n]+\t" + _QUAL
                       + rb"\t[^\t\n]+\t[^\t\n]*(?:\t[^\n]*)?\r?\n).*", re.M)
_COLUMNS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")


def _line_problem(line: str) -> str:
    """What is wrong with a record line that :data:`_BAD_LINE` refused."""
    f = line.rstrip("\r\n").split("\t")
    if len(f) < 8:
        spaces = " (the line looks space-separated; VCF columns are tab-separated)" if " " in line else ""
        return f"expected at least 8 tab-separated columns, found {len(f)}{spaces}"
    if not f[0]:
        return "CHROM is empty"
    if not re.fullmatch(r"[1-9]\d{0,9}", f[1]):
        return f"POS must be a whole number >= 1, found {f[1]!r}"
    if not re.fullmatch(r"[ACGTNacgtn]+", f[3]):
        return f"REF must be bases (A, C, G, T, N), found {f[3]!r}"
    if not f[4]:
        return "ALT is empty"
    if not re.fullmatch(_QUAL.decode(), f[5]):
        return f"QUAL must be a number or '.', found {f[5]!r}"
    empty = [c for c, v in zip(_COLUMNS, f) if v == "" and c != "ID"]
    if empty:
        return f"empty column(s) {', '.join(empty)} (use '.' for a missing value)"
    return "not a VCF record line"


_DECL = re.compile(r"^##(INFO|FORMAT|FILTER|contig)=<ID=([^,>]+)(?:.*?Type=(\w+))?")


def header_ids(header_lines: Iterable[str]) -> dict[str, dict[str, str | None]]:
    """IDs declared by a VCF header: {"INFO": {id: type}, "FORMAT": ..., "FILTER": ..., "contig": ...}."""
    out: dict[str, dict[str, str | None]] = {"INFO": {}, "FORMAT": {}, "FILTER": {"PASS": None}, "contig": {}}
    for line in header_lines:
        m = _DECL.match(line)
        if m:
            out[m.group(1)][m.group(2)] = m.group(3)
    return out


def _open_text_vcf(path: Path) -> BinaryIO | None:
    """The VCF as a binary stream (plain or gzip/bgzip); None for BCF (typed by htslib itself)."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] == b"\x1f\x8b":
        fh = gzip.open(path, "rb")
        head = fh.peek(3)[:3] if hasattr(fh, "peek") else b""
        if head == b"BCF":
            fh.close()
            return None
        return fh  # type: ignore[return-value]
    if magic[:3] == b"BCF":
        return None
    return open(path, "rb")  # noqa: SIM115 (the caller closes it)


def check_vcf_values(path: str | Path) -> list[str]:
    """Read a text VCF once and refuse what htslib would silently rewrite: a record line not of VCF shape
    (htslib reads POS 'abc' as 0) and an INFO value of a key declared Integer/Float that is not a number
    (htslib turns ``TLOD=abc`` into ``TLOD=.``). Raises InputError naming the file, the line and the record
    (CHROM:POS). Returns the header lines (for :func:`header_ids`). The scan runs in C (regular
    expressions over ~4 MB chunks)."""
    path = Path(path)
    try:
        fh = _open_text_vcf(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", path=path) from exc
    if fh is None:
        return []
    header: list[str] = []
    try:
        with fh:
            lineno = 0
            while True:
                line = fh.readline()
                if not line:
                    raise InputError("not a VCF: the file is empty" if lineno == 0 else
                                     "not a VCF: no '#CHROM' header line", path=path, line=max(lineno, 1))
                lineno += 1
                text = line.decode("utf-8", errors="replace").rstrip("\r\n")
                header.append(text)
                if line.startswith(b"#CHROM"):
                    break
                if not line.startswith(b"#"):
                    raise InputError("not a VCF: no '#CHROM' header line before the first record", path=path,
                                     line=lineno)
            types = header_ids(header)["INFO"]
            alts = []
            for kind, pat in _NUM.items():
                keys = [re.escape(k.encode()) for k, t in types.items() if t == kind]
                if keys:
                    alts.append(rb"[\t;](" + b"|".join(keys) + rb")=(?!(?:" + pat + rb")(?:,(?:" + pat + rb"))*[;\t\r\n])")
            bad_value = re.compile(b"|".join(alts)) if alts else None
            for chunk in byte_chunks(fh, b"", 1 << 22):
                m = _BAD_LINE.search(chunk)
                if m is not None and m.group(0).strip():
                    text = m.group(0).decode("utf-8", errors="replace")
                    f = text.split("\t")
                    raise InputError(_line_problem(text + "\n"), path=path,
                                     line=lineno + chunk.count(b"\n", 0, m.start()) + 1,
                                     record=":".join(f[:2]) if len(f) > 1 else None)
                m = bad_value.search(chunk) if bad_value is not None else None
                if m is None:
                    lineno += chunk.count(b"\n")
                    continue
                start = chunk.rfind(b"\n", 0, m.start()) + 1
                end = chunk.find(b"\n", m.end())
                rec = chunk[start:end].decode("utf-8", errors="replace").split("\t")
                key = (m.group(1) or m.group(2) or b"?").decode()
                value = chunk[m.end():].split(b"\n", 1)[0].split(b";", 1)[0].split(b"\t", 1)[0]
                raise InputError(f"INFO/{key} is declared {types.get(key)} but has the value "
                                 f"{value.decode(errors='replace')!r}; fix or remove the value (it would be "
                                 "replaced by '.' silently)", path=path,
                                 line=lineno + chunk.count(b"\n", 0, start) + 1,
                                 record=":".join(rec[:2]) if len(rec) > 1 else None)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read (truncated or corrupt compressed file?): {exc}", path=path) from exc
    return header


# htslib's warnings for names a record uses but the header does not declare
_UNDECLARED = re.compile(r"(INFO|FORMAT|FILTER|[Cc]ontig) '([^']+)'(?: at \S+)? is not defined in the header")


def undeclared(stderr: str) -> dict[str, list[str]]:
    """{"INFO": [...], "FORMAT": [...], "FILTER": [...], "contig": [...]} named in htslib's warnings."""
    out: dict[str, list[str]] = {}
    for kind, name in _UNDECLARED.findall(stderr):
        kind = "contig" if kind.lower() == "contig" else kind
        if name not in out.setdefault(kind, []):
            out[kind].append(name)
    return out


def declaration_lines(missing: dict[str, list[str]]) -> list[str]:
    """Header lines declaring what the input used without declaring it, as htslib assumes it (String,
    any number of values), so every such value is carried through as written."""
    desc = 'Description="Not declared in the input VCF header; declared by bedside annotate, values kept as given"'
    lines = []
    for kind in ("contig", "FILTER", "INFO", "FORMAT"):
        for name in missing.get(kind, []):
            if kind == "contig":
                lines.append(f"##contig=<ID={name}>")
            elif kind == "FILTER":
                lines.append(f"##FILTER=<ID={name},{desc}>")
            else:
                lines.append(f"##{kind}=<ID={name},Number=.,Type=String,{desc}>")
    return lines
