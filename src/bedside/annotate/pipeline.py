"""`bedside annotate`: normalise, add consequence/HGVS, population AF and ClinVar to a VCF.

Bulk work is pushed into bcftools: ``bcftools norm -m -both -f REF`` splits multi-allelic records and
left-aligns indels; the population and ClinVar VCFs are normalised the same way (so a differently
represented indel still matches) and turned into tabix-indexed allele tables that ``bcftools annotate``
joins on CHROM, POS, REF and ALT. The Python pass streams the VCF text once, looks transcripts up in a
binned interval index and adds BEDSIDE_CSQ (and CLNSTARS is computed while building the ClinVar table).
Speed notes (benchmarks/annotate_speed.py): both resources go into one table (one join instead of two),
records outside every transcript span are passed through after reading CHROM/POS only, the consequence
pass runs in worker processes on ~1 MB chunks, and the output is bgzipped at level 1.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import pysam

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


class TranscriptIndex:
    """Selected transcripts binned by 64 kb windows of their annotation span (incl. up/downstream)."""

    BIN = 1 << 16

    def __init__(self, transcripts: Iterable[Transcript], fasta):
        self.bins: dict[str, dict[int, list[tuple[int, int, TranscriptAnnotator, FastSNV]]]] = \
            defaultdict(lambda: defaultdict(list))
        for tx in sorted(transcripts, key=lambda t: (t.chrom, t.start, t.id)):
            ann = TranscriptAnnotator(tx, fasta)
            item = (ann.lo, ann.hi, ann, FastSNV(ann))
            for b in range(max(ann.lo, 1) >> 16, (ann.hi >> 16) + 1):
                self.bins[tx.chrom][b].append(item)

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


def _resource_rows(vcf: Path, fasta: Path, kind: str) -> list[list[str]]:
    """Normalise a population / ClinVar VCF (``bcftools norm | bcftools query``) and return its allele rows,
    laid out as the columns of the joint table (population: POP_AF, ClinVar columns '.'; ClinVar: the reverse;
    '.' is a missing value that ``bcftools annotate`` leaves unset)."""
    if not vcf.exists():
        raise InputError(f"{kind} VCF not found", path=vcf)
    if kind == "population":
        fmt = "%CHROM\t%POS\t%REF\t%ALT\t%INFO/AF\n"
    else:
        fmt = "%CHROM\t%POS\t%REF\t%ALT\t%INFO/CLNSIG\t%INFO/CLNREVSTAT\t%INFO/GENEINFO\t%ID\n"
    with tempfile.TemporaryFile() as err_norm, tempfile.TemporaryFile() as err_query:
        norm = subprocess.Popen(["bcftools", "norm", "-m", "-both", "-f", str(fasta), "-c", "w", "-Ou", str(vcf)],
                                stdout=subprocess.PIPE, stderr=err_norm)
        proc = subprocess.Popen(["bcftools", "query", "-f", fmt, "-"], stdin=norm.stdout, stdout=subprocess.PIPE,
                                stderr=err_query, text=True)
        assert norm.stdout is not None and proc.stdout is not None
        norm.stdout.close()
        rows = []
        if kind == "population":
            for line in proc.stdout:
                f = line.rstrip("\n").split("\t")
                if f[4] in (".", ""):
                    continue
                rows.append(f + [".", ".", ".", ".", "."])
        else:
            for line in proc.stdout:
                f = line.rstrip("\n").split("\t")
                stars = review_stars(f[5]) if f[5] != "." else None
                rows.append(f[:4] + ["."] + f[4:6] + ["." if stars is None else str(stars), f[6], f[7]])
        rc_q, rc_n = proc.wait(), norm.wait()
        for rc, err, what in ((rc_n, err_norm, "bcftools norm"), (rc_q, err_query, "bcftools query")):
            if rc != 0:
                err.seek(0)
                msg = err.read().decode(errors="replace").strip()[-1500:]
                raise ToolError(f"{what} failed (exit {rc}) on {kind} VCF {vcf}: {msg}")
    return rows


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
    rows.sort(key=lambda r: (r[0], int(r[1])))
    hdr = workdir / "resources.hdr"
    hdr.write_text("\n".join([POP_HEADER] * (population is not None) + CLN_HEADERS * (clinvar is not None)) + "\n")
    tab = workdir / "resources.tab.gz"
    with open(tab, "wb") as fh:
        bg = subprocess.Popen(["bgzip", "-c"], stdin=subprocess.PIPE, stdout=fh)
        assert bg.stdin is not None
        bg.stdin.write("".join("\t".join(r) + "\n" for r in rows).encode())
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
    added = 0
    for k, line in enumerate(batch):
        f = line.split("\t", 8)
        bins = bins_by_chrom.get(f[0])
        if not bins:
            continue
        pos = int(f[1])
        cands = bins.get(pos >> 16)
        if not cands:
            continue
        ref, alt = f[3], f[4]
        snv = len(ref) == 1 and len(alt) == 1 and alt in "ACGT"
        end = pos + len(ref) - 1
        csq = []
        for lo, hi, ann, fast in cands:
            if lo > end or pos > hi:
                continue
            c = fast.csq(pos, ref, alt) if snv else None
            if c is None:
                if alt.startswith("<") or alt in ("*", ".") or "," in alt:
                    continue
                a = ann.annotate(pos, ref, alt)
                if a is None:
                    continue
                c = a.csq_field()
            csq.append(c)
        if not csq:
            continue
        info = f[7]
        nl = ""
        if len(f) == 8:  # sites-only VCF: the INFO column carries the newline
            info, nl = info.rstrip("\n"), "\n"
        f[7] = ("" if info == "." else info + ";") + "BEDSIDE_CSQ=" + ",".join(csq) + nl
        batch[k] = "\t".join(f)
        added += 1
    return added


_WORKER_INDEX: TranscriptIndex | None = None


def _worker_init(index: TranscriptIndex, fasta: str) -> None:
    """Pool initialiser (fork): keep the inherited index but give this process its own FASTA handle."""
    global _WORKER_INDEX
    index.reopen(fasta)
    _WORKER_INDEX = index


def _worker_chunk(chunk: bytes) -> tuple[bytes, int, int]:
    assert _WORKER_INDEX is not None
    batch = chunk.decode().splitlines(keepends=True)
    a = _annotate_batch(batch, _WORKER_INDEX)
    return "".join(batch).encode(), len(batch), a


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
    chunks = _byte_chunks(src, b"")
    head = list(itertools.islice(chunks, 2))
    chunks = itertools.chain(head, chunks)
    # worker processes only pay off beyond one chunk; a daemonic process (itself a pool worker) cannot fork any
    if workers > 1 and fasta is not None and len(head) > 1 and not multiprocessing.current_process().daemon:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers, initializer=_worker_init, initargs=(index, str(fasta))) as pool:
            for out, dn, da in pool.imap(_worker_chunk, chunks):
                dst.write(out)
                n += dn
                a += da
        return n, a
    for chunk in chunks:
        batch = chunk.decode().splitlines(keepends=True)
        n += len(batch)
        a += _annotate_batch(batch, index)
        dst.write("".join(batch).encode())
    return n, a


def annotate_vcf(vcf: str | Path, fasta: str | Path, gff3: str | Path, out: str | Path, *,
                 population: str | Path | None = None, clinvar: str | Path | None = None,
                 transcripts: str | Path | None = None, threads: int = 2) -> dict[str, int]:
    """Run the whole annotation; writes ``out`` (bgzipped VCF) and its tabix index atomically.

    Stages run as one pipeline so they overlap on separate cores:
    ``bcftools norm | bcftools annotate (population + ClinVar, one joint table) | consequence pass | bgzip``;
    the consequence pass is split over ``threads`` forked worker processes (1: in this process)."""
    vcf, fasta, gff3, out = Path(vcf), Path(fasta), Path(gff3), Path(out)
    if not vcf.exists():
        raise InputError("input VCF not found", path=vcf)
    _check_fasta(fasta)
    for tool in ("bcftools", "bgzip", "tabix"):
        if shutil.which(tool) is None:
            raise ToolError(f"required tool '{tool}' is not on PATH")
    by_gene = load_gff3(gff3)
    overrides = load_overrides(transcripts) if transcripts else {}
    chosen = select_transcripts(by_gene, overrides, overrides_path=transcripts)
    fa = pysam.FastaFile(str(fasta))
    index = TranscriptIndex(chosen.values(), fa)
    stats = {"records": 0, "annotated": 0}
    with tempfile.TemporaryDirectory(prefix="bedside-annotate-") as tmp:
        work = Path(tmp)
        cmds: list[list[str]] = [["bcftools", "norm", "-m", "-both", "-f", str(fasta), "-c", "w", "-Ou", str(vcf)]]
        if population or clinvar:
            tab, hdr, cols = _resource_table(Path(population) if population else None,
                                             Path(clinvar) if clinvar else None, fasta, work)
            cmds.append(["bcftools", "annotate", "-a", str(tab), "-h", str(hdr), "-c", cols, "-Ou", "-"])
        cmds[-1] = ["-Ov" if x == "-Ou" else x for x in cmds[-1]]
        procs: list[subprocess.Popen] = []
        errs = [open(work / f"stderr{i}", "w+") for i in range(len(cmds) + 1)]  # noqa: SIM115 (closed below)
        prev = None
        for i, c in enumerate(cmds):
            p = subprocess.Popen(c, stdin=prev, stdout=subprocess.PIPE, stderr=errs[i], bufsize=1 << 20)
            if prev is not None:
                prev.close()
            prev = p.stdout
            procs.append(p)
        assert prev is not None
        with atomic_path(out) as tmp_out:
            with open(tmp_out, "wb") as outfh:
                bg = subprocess.Popen(["bgzip", "-l", str(BGZIP_LEVEL), "-c"],
                                      stdin=subprocess.PIPE, stdout=outfh, stderr=errs[-1], bufsize=1 << 20)
                assert bg.stdin is not None
                try:
                    n, a = _annotate_stream(prev, bg.stdin, index, workers=threads, fasta=fasta)
                finally:
                    bg.stdin.close()
                rc_bg = bg.wait()
            rcs = [p.wait() for p in procs]
            for i, rc in enumerate(rcs):
                if rc != 0:
                    errs[i].seek(0)
                    msg = errs[i].read().strip()[-1500:]
                    raise ToolError(f"{' '.join(cmds[i][:2])} failed (exit {rc}) on {vcf}: {msg}")
            if rc_bg != 0:
                raise ToolError("bgzip failed while writing the annotated VCF")
            run_tool(["tabix", "-f", "-p", "vcf", tmp_out])
            tbi_tmp = Path(str(tmp_out) + ".tbi")
        Path(str(tbi_tmp)).replace(str(out) + ".tbi")
        for e in errs:
            e.close()
        stats["records"], stats["annotated"] = n, a
    log.info("annotated %d of %d records -> %s", stats["annotated"], stats["records"], out)
    return stats
