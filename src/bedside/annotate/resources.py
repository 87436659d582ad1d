"""Population and ClinVar resources for `bedside annotate`: each VCF is normalised the way the input is
(``bcftools norm -m -both -f REF``) and both go into one tabix-indexed allele table that a single
``bcftools annotate`` joins on CHROM, POS, REF and ALT (CLNSTARS computed while building it). The table is
cached across runs under a key of the source files (:func:`resource_cache_dir`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import bedside
from bedside.errors import InputError
from bedside.tools import PIPE, Pipeline, read_fai, run_tool

log = logging.getLogger(__name__)

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


def check_fasta(fasta: Path) -> None:
    """The reference must exist and be indexable (its .fai is created when absent)."""
    read_fai(fasta)


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
    norm = ["bcftools", "norm", "-m", "-both", "-f", str(fasta), "-c", "w", "-Ou", str(vcf)]
    rows: list[str] = []
    with Pipeline([norm, ["bcftools", "query", "-f", fmt, "-"]], text=True, inputs=[vcf]) as p:
        assert p.stdout is not None
        if kind == "population":  # rows without an AF (the fifth column '.' or empty) are left out
            rows = [line for line in p.stdout if not line.endswith(_NO_AF) and not line.endswith(_EMPTY_AF)]
        else:
            for line in p.stdout:
                f = line.rstrip("\n").split("\t")
                stars = review_stars(f[5]) if f[5] != "." else None
                rows.append("\t".join(f[:4] + ["."] + f[4:6] + ["." if stars is None else str(stars), f[6], f[7]])
                            + "\n")
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
    check_fasta(fasta)
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
    with open(tab, "wb") as fh, Pipeline([["bgzip", "-l", "1", "-c"]], stdin=PIPE, stdout=fh) as bg:  # level 1: 4x faster
        assert bg.stdin is not None
        bg.stdin.write(data)
    run_tool(["tabix", "-f", "-s1", "-b2", "-e2", tab])
    cols = ["CHROM", "POS", "REF", "ALT", "POP_AF" if population else "-"]
    cols += ["CLNSIG", "CLNREVSTAT", "CLNSTARS", "GENEINFO", "CLNVID"] if clinvar else ["-"] * 5
    return tab, hdr, ",".join(cols)
