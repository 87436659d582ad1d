"""`bedside annotate`: normalise, add consequence/HGVS, population AF and ClinVar to a VCF.

Bulk work is pushed into bcftools: ``bcftools norm -m -both -f REF`` splits multi-allelic records and
left-aligns indels; the population and ClinVar VCFs are normalised the same way (so a differently
represented indel still matches) and turned into tabix-indexed allele tables that ``bcftools annotate``
joins on CHROM, POS, REF and ALT. The Python pass streams the VCF text once, looks transcripts up in a
binned interval index and adds BEDSIDE_CSQ (and CLNSTARS is computed while building the ClinVar table).
Speed notes (benchmarks/annotate_speed.py, figures in benchmarks/README.md): both resources go into one
table (one join instead of two), cached across runs under a key of the source files (resource_cache_dir);
the transcript models load while bcftools already runs; the consequence pass runs in forked worker
processes on ~1 MB chunks that arrive over their own pipes and whose results go straight to bgzip in order
(a token passed round the workers), with a NumPy pre-filter per chunk so only lines overlapping a
transcript span are looked at; their SNVs are annotated in arrays per transcript (FastSNV.csq_many), only
indels and unusual SNVs are split in Python; the output is bgzipped at level 1 and indexed by `bcftools index
--tbi` (the same .tbi as tabix, decompressing on a second thread).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pysam

import bedside

from bedside.annotate.consequence import FastSNV, TranscriptAnnotator
from bedside.annotate.transcripts import (
    Transcript,
    load_gff3,
    load_overrides,
    select_transcripts,
)
from bedside.commands._util import atomic_path, run_tool
from bedside.errors import InputError, ToolError

log = logging.getLogger(__name__)

# bgzip level of the annotated VCF: level 1 compresses ~4x faster than the default (6) for a file ~20% larger;
# one thread, since the other stages already keep the cores busy (extra threads only add CPU)
BGZIP_LEVEL = 1

# bytes of whole VCF lines handed to the consequence pass (one worker task) at a time
CHUNK_BYTES = 1 << 20

# ClinVar review status -> gold stars (https://www.ncbi.nlm.nih.gov/clinvar/docs/review_status/)
REVIEW_STARS = {
    "practice_guideline": 4,
    "reviewed_by_expert_panel": 3,
    "criteria_provided,_multiple_submitters,_no_conflicts": 2,
    "criteria_provided,_conflicting_interpretations": 1,
    "criteria_provided,_conflicting_classifications": 1,
    "criteria_provided,_single_submitter": 1,
    "no_assertion_criteria_provided": 0,
    "no_assertion_provided": 0,
    "no_classification_provided": 0,
    "no_assertion_for_the_individual_variant": 0,
    "no_classification_for_the_single_variant": 0,
    "no_interpretation_for_the_single_variant": 0,
}

CSQ_HEADER = ('##INFO=<ID=BEDSIDE_CSQ,Number=.,Type=String,Description="Bedside consequence on the selected '
              'transcript of each overlapping gene. Format: gene|transcript|consequence|hgvs_c|hgvs_p|impact|'
              'protein_position">')
POP_HEADER = '##INFO=<ID=POP_AF,Number=A,Type=Float,Description="Population allele frequency (INFO/AF of the population VCF, matched after normalisation)">'
CLN_HEADERS = [
    '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="ClinVar clinical significance (matched after normalisation)">',
    '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="ClinVar review status">',
    '##INFO=<ID=CLNSTARS,Number=1,Type=Integer,Description="ClinVar review stars 0-4 from CLNREVSTAT (ClinVar review status documentation)">',
    '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="ClinVar gene symbol:gene id">',
    '##INFO=<ID=CLNVID,Number=1,Type=String,Description="ClinVar variation ID">',
]


def review_stars(revstat: str) -> int | None:
    key = revstat.strip().lower().replace(" ", "_")
    if key in REVIEW_STARS:
        return REVIEW_STARS[key]
    return None


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


def _check_fasta(fasta: Path) -> None:
    if not fasta.exists():
        raise InputError("reference FASTA not found", path=fasta)
    if not Path(str(fasta) + ".fai").exists():
        run_tool(["samtools", "faidx", fasta])


_NO_AF = "\t." * 6 + "\n"
_EMPTY_AF = "\t" + "\t." * 5 + "\n"


def _resource_rows(vcf: Path, fasta: Path, kind: str) -> list[str]:
    """Normalise a population / ClinVar VCF (``bcftools norm | bcftools query``) and return its allele rows
    as text lines, laid out as the columns of the joint table (population: POP_AF, ClinVar columns '.';
    ClinVar: the reverse; '.' is a missing value that ``bcftools annotate`` leaves unset)."""
    if not vcf.exists():
        raise InputError(f"{kind} VCF not found", path=vcf)
    if kind == "population":  # the ClinVar columns written by bcftools query itself
        fmt = "%CHROM\t%POS\t%REF\t%ALT\t%INFO/AF\t.\t.\t.\t.\t.\n"
    else:
        fmt = "%CHROM\t%POS\t%REF\t%ALT\t%INFO/CLNSIG\t%INFO/CLNREVSTAT\t%INFO/GENEINFO\t%ID\n"
    with tempfile.TemporaryFile() as err_norm, tempfile.TemporaryFile() as err_query:
        norm = subprocess.Popen(["bcftools", "norm", "-m", "-both", "-f", str(fasta), "-c", "w", "-Ou", str(vcf)],
                                stdout=subprocess.PIPE, stderr=err_norm)
        proc = subprocess.Popen(["bcftools", "query", "-f", fmt, "-"], stdin=norm.stdout, stdout=subprocess.PIPE,
                                stderr=err_query, text=True)
        assert norm.stdout is not None and proc.stdout is not None
        norm.stdout.close()
        rows: list[str] = []
        if kind == "population":  # rows without an AF (the fifth column '.' or empty) are left out
            rows = [line for line in proc.stdout if not line.endswith(_NO_AF) and not line.endswith(_EMPTY_AF)]
        else:
            for line in proc.stdout:
                f = line.rstrip("\n").split("\t")
                stars = review_stars(f[5]) if f[5] != "." else None
                rows.append("\t".join(f[:4] + ["."] + f[4:6] + ["." if stars is None else str(stars), f[6], f[7]])
                            + "\n")
        rc_q, rc_n = proc.wait(), norm.wait()
        for rc, err, what in ((rc_n, err_norm, "bcftools norm"), (rc_q, err_query, "bcftools query")):
            if rc != 0:
                err.seek(0)
                msg = err.read().decode(errors="replace").strip()[-1500:]
                raise ToolError(f"{what} failed (exit {rc}) on {kind} VCF {vcf}: {msg}")
    return rows


# bump when the layout or content of the cached allele table changes
RESOURCE_CACHE_FORMAT = 1


def resource_cache_dir() -> Path | None:
    """Where normalised population/ClinVar allele tables are cached: ``$BEDSIDE_CACHE_DIR`` (``off`` disables),
    else ``$XDG_CACHE_HOME/bedside`` or ``~/.cache/bedside``; each under ``annotate-resources/``."""
    env = os.environ.get("BEDSIDE_CACHE_DIR")
    if env is not None and env.strip().lower() in ("", "0", "off", "none", "no"):
        return None
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bedside"
    return base / "annotate-resources"


def _file_key(path: Path | None) -> list | None:
    if path is None:
        return None
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def resource_table(population: Path | None, clinvar: Path | None, fasta: Path, workdir: Path,
                   cache_dir: Path | None = None) -> tuple[Path, Path, str]:
    """The joint allele table of :func:`_resource_table`, reused from ``cache_dir`` when one was built from
    the same files (key: resolved path, size and mtime of the population VCF, the ClinVar VCF and the
    reference FASTA and its .fai, the bedside version and the cache format). Without ``cache_dir``, or when
    the cache cannot be written, the table is built in ``workdir``."""
    if cache_dir is None:
        return _resource_table(population, clinvar, fasta, workdir)
    for r, kind in ((population, "population"), (clinvar, "clinvar")):
        if r is not None and not r.exists():
            raise InputError(f"{kind} VCF not found", path=r)
    key_doc = {"format": RESOURCE_CACHE_FORMAT, "bedside": bedside.__version__,
               "population": _file_key(population), "clinvar": _file_key(clinvar), "fasta": _file_key(fasta),
               "fai": _file_key(Path(str(fasta) + ".fai"))}
    key = hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest()[:32]
    d = cache_dir / key
    tab, hdr, meta = d / "resources.tab.gz", d / "resources.hdr", d / "key.json"

    def cached() -> tuple[Path, Path, str] | None:
        try:
            if meta.exists() and tab.exists() and hdr.exists() and Path(str(tab) + ".tbi").exists():
                doc = json.loads(meta.read_text())
                if doc.get("key") == key_doc:
                    log.info("population/ClinVar allele table from cache %s", d)
                    return tab, hdr, doc["columns"]
        except (OSError, ValueError, KeyError):
            pass
        return None

    hit = cached()
    if hit is not None:
        return hit
    try:
        d.mkdir(parents=True, exist_ok=True)
        lock = open(d / ".lock", "a+")  # noqa: SIM115 (closed below)
    except OSError as exc:
        log.warning("resource cache %s not writable (%s); building the allele table for this run only", d, exc)
        return _resource_table(population, clinvar, fasta, workdir)
    with lock:
        try:  # concurrent runs (a workflow's parallel jobs) wait for one build instead of each building
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass
        hit = cached()
        if hit is not None:
            return hit
        try:
            build = Path(tempfile.mkdtemp(prefix=".build-", dir=d))
        except OSError as exc:
            log.warning("resource cache %s not writable (%s); building the allele table for this run only", d,
                        exc)
            return _resource_table(population, clinvar, fasta, workdir)
        try:
            btab, bhdr, cols = _resource_table(population, clinvar, fasta, build)
            try:
                # the index first, the key file last: a reader only trusts a table whose key file exists
                os.replace(str(btab) + ".tbi", str(tab) + ".tbi")
                os.replace(btab, tab)
                os.replace(bhdr, hdr)
                (build / "key.json").write_text(json.dumps({"key": key_doc, "columns": cols}, sort_keys=True))
                os.replace(build / "key.json", meta)
            except OSError as exc:
                log.warning("could not store the allele table in cache %s (%s); using it for this run only", d,
                            exc)
                return _resource_table(population, clinvar, fasta, workdir)
        finally:
            shutil.rmtree(build, ignore_errors=True)
    _prune_cache(cache_dir, keep=d)
    return tab, hdr, cols


def prepare_resources(fasta: str | Path, population: str | Path | None = None, clinvar: str | Path | None = None,
                      cache_dir: str | Path | None = None) -> Path:
    """Build (or find) the cached population/ClinVar allele table that :func:`annotate_vcf` will reuse, e.g.
    once before a workflow annotates many VCFs; returns the table's path. ``cache_dir`` defaults to
    :func:`resource_cache_dir`."""
    fasta = Path(fasta)
    _check_fasta(fasta)
    where = Path(cache_dir) if cache_dir is not None else resource_cache_dir()
    if where is None:
        raise InputError("the resource cache is disabled (BEDSIDE_CACHE_DIR=off); nothing to prepare")
    if population is None and clinvar is None:
        raise InputError("prepare_resources needs a population and/or a ClinVar VCF")
    with tempfile.TemporaryDirectory(prefix="bedside-resources-") as tmp:
        tab, _, _ = resource_table(Path(population) if population else None, Path(clinvar) if clinvar else None,
                                   fasta, Path(tmp), where)
        if Path(tmp) in tab.parents:
            raise InputError("could not write the resource cache (see the warning above)", path=where)
    return tab


def _prune_cache(cache_dir: Path, keep: Path) -> None:
    """Drop cached tables whose source files are gone (e.g. built from a temporary folder) and build
    folders left by a killed run (older than an hour)."""
    now = time.time()
    for d in cache_dir.iterdir():
        if d == keep or not d.is_dir():
            continue
        try:
            meta = d / "key.json"
            if meta.exists():
                key = json.loads(meta.read_text())["key"]
                if all(key[k] is None or Path(key[k][0]).exists() for k in ("population", "clinvar", "fasta")):
                    continue
            elif now - d.stat().st_mtime < 3600:
                continue
            shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError, KeyError, TypeError):
            continue


def _sorted_rows(rows: list[str]) -> bytes:
    """The table lines stably sorted on (CHROM as text, POS), as bytes. The keys are parsed in arrays; rows
    that do not parse that way (POS not 1-18 digits, more than 64 contigs) are sorted in Python."""
    blob = "".join(rows).encode()
    buf = np.frombuffer(blob, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    n = len(rows)
    if n == 0:
        return blob
    keys = None
    if len(nl) == n and nl[-1] == len(buf) - 1:
        starts = np.concatenate(([0], nl[:-1] + 1))
        tabs = np.flatnonzero(buf == 9)
        i0 = np.searchsorted(tabs, starts)
        if len(tabs) and i0[-1] + 1 < len(tabs):
            t1, t2 = tabs[i0], tabs[i0 + 1]
            plen = t2 - t1 - 1
            if (t2 < nl).all() and plen.min() >= 1 and plen.max() <= 18:
                pos = np.zeros(n, dtype=np.int64)
                good = True
                for k in range(int(plen.max())):
                    d = buf[np.minimum(t1 + 1 + k, len(buf) - 1)].astype(np.int64) - 48
                    m = k < plen
                    if ((d < 0) | (d > 9))[m].any():
                        good = False
                        break
                    pos = np.where(m, pos * 10 + d, pos)
                gid = np.full(n, -1, dtype=np.int64)
                names: list[str] = []
                clen = t1 - starts
                while good and len(names) <= 64:
                    todo = np.flatnonzero(gid < 0)
                    if not len(todo):
                        break
                    j = int(todo[0])
                    c = blob[starts[j]:t1[j]]
                    same = (gid < 0) & (clen == len(c))
                    for k, ch in enumerate(c):
                        same &= buf[np.minimum(starts + k, len(buf) - 1)] == ch
                    gid[same] = len(names)
                    names.append(c.decode())
                if good and (gid >= 0).all():
                    rank = np.empty(len(names), dtype=np.int64)
                    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
                    keys = (pos, rank[gid])
    if keys is None:
        fields = [r.split("\t", 2) for r in rows]
        order = sorted(range(n), key=lambda i: (fields[i][0], int(fields[i][1])))
    else:
        order = np.lexsort(keys).tolist()
    if order == list(range(n)):
        return blob
    return "".join([rows[i] for i in order]).encode()


def _resource_table(population: Path | None, clinvar: Path | None, fasta: Path,
                    workdir: Path) -> tuple[Path, Path, str]:
    """One bgzipped, tabix-indexed allele table holding the normalised population and ClinVar alleles.

    Rows keep each source's order within a position (stable sort), and every row leaves the other source's
    columns missing, so the single ``bcftools annotate`` join sets exactly what one join per source set
    (for each column, the first matching row with a value). Both sources are normalised concurrently."""
    jobs = [(Path(r), k) for r, k in ((population, "population"), (clinvar, "clinvar")) if r]
    with ThreadPoolExecutor(max_workers=2) as ex:
        parts = list(ex.map(lambda j: _resource_rows(j[0], fasta, j[1]), jobs))
    rows = [r for part in parts for r in part]
    data = _sorted_rows(rows)
    hdr = workdir / "resources.hdr"
    hdr.write_text("\n".join([POP_HEADER] * (population is not None) + CLN_HEADERS * (clinvar is not None)) + "\n")
    tab = workdir / "resources.tab.gz"
    with open(tab, "wb") as fh:
        bg = subprocess.Popen(["bgzip", "-l", "1", "-c"], stdin=subprocess.PIPE, stdout=fh)  # level 1: 4x faster
        assert bg.stdin is not None
        bg.stdin.write(data)
        bg.stdin.close()
        if bg.wait() != 0:
            raise ToolError(f"bgzip failed writing {tab}")
    run_tool(["tabix", "-f", "-s1", "-b2", "-e2", tab])
    cols = ["CHROM", "POS", "REF", "ALT", "POP_AF" if population else "-"]
    cols += ["CLNSIG", "CLNREVSTAT", "CLNSTARS", "GENEINFO", "CLNVID"] if clinvar else ["-"] * 5
    return tab, hdr, ",".join(cols)


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
            _annotate_batch(batch, index)
            yield from batch
            batch = []
    _annotate_batch(batch, index)
    yield from batch


def _annotate_batch(batch: list[str], index: TranscriptIndex) -> int:
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
    :func:`_annotate_batch` annotates, which still decides per line. A fourth item carries what
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
    The strings are exactly those of :func:`_annotate_batch` (FastSNV.csq_many, with FastSNV.csq and the
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


def _annotate_chunk(chunk: bytes, index: TranscriptIndex) -> tuple[bytes, int, int]:
    """Annotate one chunk of whole record lines: (output bytes, records, records with a consequence).
    Only lines that overlap a transcript span are annotated: SNVs in arrays (:func:`_snv_lines`), the other
    lines split in Python (:func:`_annotate_batch`); the runs between them are copied as they are."""
    pre = _span_lines(chunk, index) if chunk.isascii() else None
    if pre is None:
        batch = chunk.decode().splitlines(keepends=True)
        a = _annotate_batch(batch, index)
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
        a += _annotate_batch(batch, index)
        texts[r] = [None if line is o else line for line, o in zip(batch, orig)]
    if not a:
        return chunk, len(starts), 0
    done = np.not_equal(texts, None)
    out = _edit_chunk(text, cut_a[done].tolist(), cut_b[done].tolist(), keys[done].tolist(),
                      texts[done].tolist()).encode()
    return out, len(starts), a


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    parts = []
    while n:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            raise EOFError
        parts.append(b)
        n -= len(b)
    return b"".join(parts)


def _worker_loop(index: TranscriptIndex, fasta: str, inp: int, out: int, turn_in: int, turn_out: int,
                 report: int) -> None:
    """Body of one forked worker: read length-prefixed chunks from ``inp``, annotate each, wait for the turn
    token (the previous chunk's worker has written its output), write the result straight to ``out`` (the
    bgzip pipe) and pass the token on; finally report 'records annotated' (or the error) on ``report``."""
    n = a = 0
    try:
        index.reopen(fasta)
        while True:
            head = os.read(inp, 8)
            if not head:
                break
            if len(head) < 8:
                head += _read_exact(inp, 8 - len(head))
            chunk = _read_exact(inp, int.from_bytes(head, "little"))
            res, dn, da = _annotate_chunk(chunk, index)
            n += dn
            a += da
            if not os.read(turn_in, 1):
                raise RuntimeError("previous worker exited")
            _write_all(out, res)
            try:
                os.write(turn_out, b"t")
            except BrokenPipeError:  # the next worker has finished all its chunks and exited
                pass
        _write_all(report, f"ok {n} {a}".encode())
    except BaseException as exc:  # reported to the parent, which raises
        try:
            _write_all(report, f"error {type(exc).__name__}: {exc}".encode())
        except OSError:
            pass
        raise


def _grow_pipe(fd: int, size: int = 1 << 21) -> None:
    """Enlarge a pipe's buffer (Linux F_SETPIPE_SZ; capped by /proc/sys/fs/pipe-max-size) so the next chunk
    can be queued for a busy worker; elsewhere, or when refused, the default buffer is kept."""
    try:
        import fcntl

        setsz = getattr(fcntl, "F_SETPIPE_SZ", 1031 if os.uname().sysname == "Linux" else None)
        if setsz is None:
            return
        try:
            fcntl.fcntl(fd, setsz, size)
        except OSError:
            with open("/proc/sys/fs/pipe-max-size") as fh:
                fcntl.fcntl(fd, setsz, min(size, int(fh.read())))
    except (OSError, ValueError, ImportError, AttributeError):
        pass


def _annotate_parallel(chunks: Iterable[bytes], dst_fd: int, index: TranscriptIndex, workers: int,
                       fasta: Path) -> tuple[int, int]:
    """Chunk ``i`` goes to forked worker ``i % workers`` over its own pipe (length-prefixed raw bytes, no
    pickling); the workers write their results directly to ``dst_fd`` in chunk order, passing a one-byte
    token round a ring of pipes, so results never travel back through this process."""
    ins, reports, pids = [], [], []
    turns = [os.pipe() for _ in range(workers)]  # turns[k]: worker k may write when it reads a token here
    os.write(turns[0][1], b"t")
    try:
        for k in range(workers):
            r_in, w_in = os.pipe()
            r_rep, w_rep = os.pipe()
            pid = os.fork()
            if pid == 0:  # child
                code = 1
                try:
                    os.close(w_in)
                    os.close(r_rep)
                    for w in ins:  # input pipes of earlier workers: keep only our own
                        os.close(w)
                    for j, (tr, tw) in enumerate(turns):
                        if j != k:
                            os.close(tr)
                        if j != (k + 1) % workers:
                            os.close(tw)
                    _worker_loop(index, str(fasta), r_in, dst_fd, turns[k][0], turns[(k + 1) % workers][1], w_rep)
                    code = 0
                finally:
                    os._exit(code)
            os.close(r_in)
            os.close(w_rep)
            _grow_pipe(w_in)
            ins.append(w_in)
            reports.append(r_rep)
            pids.append(pid)
    finally:
        for tr, tw in turns:
            os.close(tr)
            os.close(tw)
    broken = False
    try:
        for i, chunk in enumerate(chunks):
            try:
                fd = ins[i % workers]
                head = len(chunk).to_bytes(8, "little")
                sent = os.writev(fd, [head, chunk])  # a pipe write may be partial: send the rest
                if sent < len(head):
                    _write_all(fd, head[sent:])
                    sent = len(head)
                _write_all(fd, memoryview(chunk)[sent - len(head):])
            except BrokenPipeError:
                broken = True
                break
    finally:
        for w in ins:
            os.close(w)
        msgs = []
        for r in reports:
            buf = b""
            while True:
                b = os.read(r, 4096)
                if not b:
                    break
                buf += b
            os.close(r)
            msgs.append(buf.decode(errors="replace"))
        codes = [os.waitpid(pid, 0)[1] for pid in pids]
    n = a = 0
    for msg, code in zip(msgs, codes):
        if not msg.startswith("ok ") or code != 0:
            raise ToolError(f"annotation worker failed: {msg or f'exit status {code}'}")
        _, dn, da = msg.split()
        n += int(dn)
        a += int(da)
    if broken:
        raise ToolError("annotation worker closed its input early")
    return n, a


def _byte_chunks(src: BinaryIO, first: bytes, size: int = 1 << 20) -> Iterator[bytes]:
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


def _annotate_stream(src: BinaryIO, dst: BinaryIO, index: TranscriptIndex, *, workers: int = 1,
                     fasta: Path | None = None) -> tuple[int, int]:
    """VCF text from ``src`` to ``dst`` with BEDSIDE_CSQ added, in ~1 MB chunks; (records, annotated).

    With ``workers`` > 1 (and ``fasta`` given) the chunks are annotated by that many forked processes,
    results written back in input order."""
    header: list[bytes] = []
    while True:
        line = src.readline()
        if not line:
            break
        if line.startswith(b"#CHROM"):
            header += [CSQ_HEADER.encode() + b"\n", line]
            break
        header.append(line)
    dst.write(b"".join(header))
    n = a = 0
    chunks = _byte_chunks(src, b"", CHUNK_BYTES)
    head = list(itertools.islice(chunks, 2))
    chunks = itertools.chain(head, chunks)
    # worker processes only pay off beyond one chunk; a daemonic process (itself a pool worker) cannot fork any
    if workers > 1 and fasta is not None and len(head) > 1 and not multiprocessing.current_process().daemon:
        try:
            dst_fd = dst.fileno()
        except (AttributeError, OSError, ValueError):
            dst_fd = -1
        if dst_fd >= 0:
            dst.flush()
            return _annotate_parallel(chunks, dst_fd, index, workers, fasta)
    for chunk in chunks:
        out, dn, da = _annotate_chunk(chunk, index)
        dst.write(out)
        n += dn
        a += da
    return n, a


def annotate_vcf(vcf: str | Path, fasta: str | Path, gff3: str | Path, out: str | Path, *,
                 population: str | Path | None = None, clinvar: str | Path | None = None,
                 transcripts: str | Path | None = None, threads: int = 2,
                 cache: bool | str | Path = True) -> dict[str, int]:
    """Run the whole annotation; writes ``out`` (bgzipped VCF) and its tabix index atomically.

    Stages run as one pipeline so they overlap on separate cores:
    ``bcftools norm | bcftools annotate (population + ClinVar, one joint table) | consequence pass | bgzip``;
    the consequence pass is split over ``threads`` forked worker processes (1: in this process).
    ``cache``: the normalised population/ClinVar allele table is reused across runs from
    :func:`resource_cache_dir` (True), from the given folder, or built for this run only (False)."""
    vcf, fasta, gff3, out = Path(vcf), Path(fasta), Path(gff3), Path(out)
    if not vcf.exists():
        raise InputError("input VCF not found", path=vcf)
    _check_fasta(fasta)
    for tool in ("bcftools", "bgzip"):
        if shutil.which(tool) is None:
            raise ToolError(f"required tool '{tool}' is not on PATH")
    stats = {"records": 0, "annotated": 0}
    with tempfile.TemporaryDirectory(prefix="bedside-annotate-") as tmp:
        work = Path(tmp)
        cmds: list[list[str]] = [["bcftools", "norm", "-m", "-both", "-f", str(fasta), "-c", "w", "-Ou", str(vcf)]]
        if population or clinvar:
            tab, hdr, cols = resource_table(Path(population) if population else None,
                                            Path(clinvar) if clinvar else None, fasta, work,
                                            resource_cache_dir() if cache is True else (cache or None))
            cmds.append(["bcftools", "annotate", "-a", str(tab), "-h", str(hdr), "-c", cols, "-Ou", "-"])
        cmds[-1] = ["-Ov" if x == "-Ou" else x for x in cmds[-1]]
        procs: list[subprocess.Popen] = []
        errs = [open(work / f"stderr{i}", "w+") for i in range(len(cmds) + 1)]  # noqa: SIM115 (closed below)
        try:
            prev = None
            for i, c in enumerate(cmds):
                p = subprocess.Popen(c, stdin=prev, stdout=subprocess.PIPE, stderr=errs[i], bufsize=1 << 20)
                if prev is not None:
                    prev.close()
                prev = p.stdout
                _grow_pipe(prev.fileno())
                procs.append(p)
            assert prev is not None
            try:
                # the transcript models load while bcftools is already normalising
                by_gene = load_gff3(gff3)
                overrides = load_overrides(transcripts) if transcripts else {}
                chosen = select_transcripts(by_gene, overrides, overrides_path=transcripts)
                index = TranscriptIndex(chosen.values(), pysam.FastaFile(str(fasta)))
            except BaseException:
                prev.close()
                for p in procs:
                    p.kill()
                    p.wait()
                raise
            with atomic_path(out) as tmp_out:
                with open(tmp_out, "wb") as outfh:
                    bg = subprocess.Popen(["bgzip", "-l", str(BGZIP_LEVEL), "-c"],
                                          stdin=subprocess.PIPE, stdout=outfh, stderr=errs[-1], bufsize=1 << 20)
                    assert bg.stdin is not None
                    _grow_pipe(bg.stdin.fileno())
                    try:
                        n, a = _annotate_stream(prev, bg.stdin, index, workers=threads, fasta=fasta)
                    finally:
                        bg.stdin.close()
                        prev.close()
                    rc_bg = bg.wait()
                rcs = [p.wait() for p in procs]
                for i, rc in enumerate(rcs):
                    if rc != 0:
                        errs[i].seek(0)
                        msg = errs[i].read().strip()[-1500:]
                        raise ToolError(f"{' '.join(cmds[i][:2])} failed (exit {rc}) on {vcf}: {msg}")
                if rc_bg != 0:
                    raise ToolError("bgzip failed while writing the annotated VCF")
                # the same .tbi as `tabix -p vcf` (byte-identical), decompressing on a second thread
                run_tool(["bcftools", "index", "-f", "--tbi", "--threads", "2", tmp_out])
                tbi_tmp = Path(str(tmp_out) + ".tbi")
            Path(str(tbi_tmp)).replace(str(out) + ".tbi")
        finally:
            for e in errs:
                e.close()
        stats["records"], stats["annotated"] = n, a
    log.info("annotated %d of %d records -> %s", stats["annotated"], stats["records"], out)
    return stats
