"""`bedside annotate`: normalise, add consequence/HGVS, population AF and ClinVar to a VCF (the entry point).

Bulk work is pushed into bcftools: ``bcftools norm -m -both -f REF`` splits multi-allelic records and
left-aligns indels; the population and ClinVar VCFs are normalised the same way and joined by one
``bcftools annotate`` (:mod:`bedside.annotate.resources`, cached across runs). The Python pass streams the
VCF text once and adds BEDSIDE_CSQ (:mod:`bedside.annotate.vcftext`), split over forked workers
(:mod:`bedside.annotate.workers`); the output is bgzipped at level 1 and indexed by ``bcftools index --tbi``.
Speed notes and figures: benchmarks/annotate_speed.py, benchmarks/README.md.

Nothing is rewritten silently: a value htslib would replace by '.' (a non-numeric value of a numeric INFO
key) stops the run naming the record; keys, filters and contigs the input uses without declaring them are
declared in the header (as htslib assumes them: String) and carried through as written.
"""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
from pathlib import Path

import pysam

from bedside.annotate.resources import (
    check_fasta,
    prepare_resources,
    resource_cache_dir,
    resource_table,
    review_stars,
)
from bedside.annotate.transcripts import load_gff3, load_overrides, select_transcripts
from bedside.annotate.vcftext import TranscriptIndex, check_vcf_values, declaration_lines, undeclared
from bedside.annotate.workers import annotate_stream
from bedside.errors import InputError
from bedside.tools import PIPE, Pipeline, atomic_indexed, require, run_tool

log = logging.getLogger(__name__)

__all__ = ["BGZIP_LEVEL", "annotate_vcf", "prepare_resources", "resource_cache_dir", "review_stars"]

# bgzip level of the annotated VCF: level 1 compresses ~4x faster than the default (6) for a file ~20% larger;
# one thread, since the other stages already keep the cores busy (extra threads only add CPU)
BGZIP_LEVEL = 1


def _check_child(vcf: Path, conn) -> None:
    try:
        check_vcf_values(vcf)
        conn.send(None)
    except InputError as exc:
        conn.send({"message": exc.message, "path": exc.path, "line": exc.line, "record": exc.record})
    finally:
        conn.close()


def _check_in_background(vcf: Path):
    """Run :func:`check_vcf_values` on ``vcf`` in a forked process while the pipeline runs (it reads the
    file a second time, ~0.7 us a record); returns ``join()``, which raises the InputError it found (the
    check runs in this process instead where forking is not possible)."""
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    if ctx is None or multiprocessing.current_process().daemon:
        check_vcf_values(vcf)
        return lambda: None
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_check_child, args=(vcf, send), daemon=True)
    proc.start()
    send.close()
    state: dict = {}

    def join() -> None:
        if "doc" not in state:
            try:
                state["doc"] = recv.recv()
            except EOFError:  # the checking process died: check here
                state["doc"] = None
                check_vcf_values(vcf)
            finally:
                recv.close()
                proc.join()
        if state["doc"]:
            raise InputError(**state["doc"])

    return join


class _Undeclared(Exception):
    def __init__(self, missing: dict[str, list[str]]):
        self.missing = missing
        super().__init__(str(missing))


def _declare(vcf: Path, missing: dict[str, list[str]], work: Path) -> Path:
    """A copy of ``vcf`` whose header declares what its records use undeclared (``bcftools reheader``)."""
    header = run_tool(["bcftools", "view", "--no-version", "-h", vcf], inputs=[vcf]).stdout.splitlines()
    extra = declaration_lines(missing)
    new = work / "header.txt"
    new.write_text("\n".join(header[:-1] + extra + header[-1:]) + "\n")
    fixed = work / {".bcf": "declared.bcf", ".gz": "declared.vcf.gz"}.get(vcf.suffix, "declared.vcf")
    run_tool(["bcftools", "reheader", "-h", new, "-o", fixed, vcf], inputs=[vcf])
    log.warning("%s: declared in the header what its records use undeclared (kept as given): %s", vcf,
                "; ".join(f"{k} {', '.join(v)}" for k, v in missing.items()))
    return fixed


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
    if not gff3.exists():
        raise InputError("GFF3 not found", path=gff3)
    check_fasta(fasta)
    for tool in ("bcftools", "bgzip"):
        require(tool)
    join_check = _check_in_background(vcf)
    try:
        return _annotate_checked(vcf, fasta, gff3, out, population, clinvar, transcripts, threads, cache,
                                 join_check)
    finally:
        join_check()  # idempotent after the first call: reaps the checking process on any exit


def _annotate_checked(vcf: Path, fasta: Path, gff3: Path, out: Path, population, clinvar, transcripts,
                      threads: int, cache, join_check) -> dict[str, int]:
    with tempfile.TemporaryDirectory(prefix="bedside-annotate-") as tmp:
        work = Path(tmp)
        table = None
        if population or clinvar:
            table = resource_table(Path(population) if population else None, Path(clinvar) if clinvar else None,
                                   fasta, work, resource_cache_dir() if cache is True else (cache or None))
        # the transcript models are loaded once; the first pass starts bcftools before loading them
        models: list[TranscriptIndex] = []
        try:
            return _annotate(vcf, vcf, fasta, gff3, out, table, transcripts, threads, models, join_check)
        except _Undeclared as exc:
            fixed = _declare(vcf, exc.missing, work)
            return _annotate(vcf, fixed, fasta, gff3, out, table, transcripts, threads, models, join_check)


def _annotate(user_vcf: Path, vcf: Path, fasta: Path, gff3: Path, out: Path, table, transcripts, threads: int,
              models: list[TranscriptIndex], join_check) -> dict[str, int]:
    cmds: list[list[str]] = [["bcftools", "norm", "--no-version", "-m", "-both", "-f", str(fasta), "-c", "w", "-Ou", str(vcf)]]
    if table is not None:
        tab, hdr, cols = table
        cmds.append(["bcftools", "annotate", "--no-version", "-a", str(tab), "-h", str(hdr), "-c", cols, "-Ou", "-"])
    cmds[-1] = ["-Ov" if x == "-Ou" else x for x in cmds[-1]]
    with atomic_indexed(out, ".tbi") as tmp_out:
        with Pipeline(cmds, inputs=[user_vcf], bufsize=1 << 20, big_pipes=True) as bcf:
            assert bcf.stdout is not None
            if not models:  # the transcript models load while bcftools is already normalising
                by_gene = load_gff3(gff3)
                overrides = load_overrides(transcripts) if transcripts else {}
                chosen = select_transcripts(by_gene, overrides, overrides_path=transcripts)
                models.append(TranscriptIndex(chosen.values(), pysam.FastaFile(str(fasta))))
            with open(tmp_out, "wb") as outfh, \
                    Pipeline([["bgzip", "-l", str(BGZIP_LEVEL), "-c"]], stdin=PIPE, stdout=outfh,
                             bufsize=1 << 20, big_pipes=True) as bg:
                assert bg.stdin is not None
                n, a = annotate_stream(bcf.stdout, bg.stdin, models[0], workers=threads, fasta=fasta)
            bcf.wait()
            missing = undeclared(bcf.stderr_of(0))
            if missing and vcf == user_vcf:  # the records were read against a header without them: again
                raise _Undeclared(missing)
        join_check()  # the input check must have passed before the output is moved into place
        # the same .tbi as `tabix -p vcf` (byte-identical), decompressing on a second thread
        run_tool(["bcftools", "index", "-f", "--tbi", "--threads", "2", tmp_out])
    log.info("annotated %d of %d records -> %s", a, n, out)
    return {"records": n, "annotated": a}
