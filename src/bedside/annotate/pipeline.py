"""`bedside annotate`: normalise, add consequence/HGVS, population AF and ClinVar to a VCF.

Bulk work is pushed into bcftools: ``bcftools norm -m -both -f REF`` splits multi-allelic records and
left-aligns indels; the population and ClinVar VCFs are normalised the same way (so a differently
represented indel still matches) and turned into tabix-indexed allele tables that ``bcftools annotate``
joins on CHROM, POS, REF and ALT. The Python pass streams the VCF text once, looks transcripts up in a
binned interval index and adds BEDSIDE_CSQ (and CLNSTARS is computed while building the ClinVar table).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

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


def _resource_table(vcf: Path, fasta: Path, workdir: Path, kind: str) -> tuple[Path, Path, str]:
    """Normalise a population / ClinVar VCF and write a bgzipped, tabix-indexed allele table."""
    if not vcf.exists():
        raise InputError(f"{kind} VCF not found", path=vcf)
    norm = workdir / f"{kind}.norm.bcf"
    run_tool(["bcftools", "norm", "-m", "-both", "-f", fasta, "-c", "w", "-Ob", "-o", norm, vcf])
    hdr = workdir / f"{kind}.hdr"
    tab = workdir / f"{kind}.tab"
    if kind == "population":
        fmt = "%CHROM\t%POS\t%REF\t%ALT\t%INFO/AF\n"
        hdr.write_text(POP_HEADER + "\n")
        cols = "CHROM,POS,REF,ALT,POP_AF"
    else:
        fmt = "%CHROM\t%POS\t%REF\t%ALT\t%INFO/CLNSIG\t%INFO/CLNREVSTAT\t%INFO/GENEINFO\t%ID\n"
        hdr.write_text("\n".join(CLN_HEADERS) + "\n")
        cols = "CHROM,POS,REF,ALT,CLNSIG,CLNREVSTAT,CLNSTARS,GENEINFO,CLNVID"
    proc = subprocess.Popen(["bcftools", "query", "-f", fmt, str(norm)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    rows = []
    for line in proc.stdout:
        f = line.rstrip("\n").split("\t")
        if kind == "population":
            if f[4] in (".", ""):
                continue
            rows.append(f)
        else:
            stars = review_stars(f[5]) if f[5] != "." else None
            rows.append(f[:6] + ["." if stars is None else str(stars), f[6], f[7]])
    if proc.wait() != 0:
        raise ToolError(f"bcftools query failed on {norm}")
    rows.sort(key=lambda r: (r[0], int(r[1])))
    with open(tab, "w") as fh:
        fh.writelines("\t".join(r) + "\n" for r in rows)
    run_tool(["bgzip", "-f", tab])
    run_tool(["tabix", "-f", "-s1", "-b2", "-e2", f"{tab}.gz"])
    return Path(f"{tab}.gz"), hdr, cols


def annotate_lines(lines: Iterator[str], index: TranscriptIndex) -> Iterator[str]:
    """Add BEDSIDE_CSQ to VCF text lines (header gets its INFO declaration)."""
    for line in lines:
        if line.startswith("#CHROM"):
            yield CSQ_HEADER + "\n"
            yield line
            break
        yield line
    bins_by_chrom = index.bins
    for line in lines:
        f = line.split("\t", 8)
        bins = bins_by_chrom.get(f[0])
        if not bins:
            yield line
            continue
        pos = int(f[1])
        cands = bins.get(pos >> 16)
        if not cands:
            yield line
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
            yield line
            continue
        info = f[7]
        nl = ""
        if len(f) == 8:  # sites-only VCF: the INFO column carries the newline
            info, nl = info.rstrip("\n"), "\n"
        f[7] = ("" if info == "." else info + ";") + "BEDSIDE_CSQ=" + ",".join(csq) + nl
        yield "\t".join(f)


def annotate_vcf(vcf: str | Path, fasta: str | Path, gff3: str | Path, out: str | Path, *,
                 population: str | Path | None = None, clinvar: str | Path | None = None,
                 transcripts: str | Path | None = None, threads: int = 2) -> dict[str, int]:
    """Run the whole annotation; writes ``out`` (bgzipped VCF) and its tabix index atomically."""
    vcf, fasta, gff3, out = Path(vcf), Path(fasta), Path(gff3), Path(out)
    if not vcf.exists():
        raise InputError("input VCF not found", path=vcf)
    _check_fasta(fasta)
    by_gene = load_gff3(gff3)
    overrides = load_overrides(transcripts) if transcripts else {}
    chosen = select_transcripts(by_gene, overrides, overrides_path=transcripts)
    fa = pysam.FastaFile(str(fasta))
    index = TranscriptIndex(chosen.values(), fa)
    stats = {"records": 0, "annotated": 0}
    with tempfile.TemporaryDirectory(prefix="bedside-annotate-") as tmp:
        work = Path(tmp)
        cmds: list[list[str]] = [["bcftools", "norm", "-m", "-both", "-f", str(fasta), "-c", "w", "-Ou", str(vcf)]]
        for res, kind in ((population, "population"), (clinvar, "clinvar")):
            if res:
                tab, hdr, cols = _resource_table(Path(res), fasta, work, kind)
                cmds.append(["bcftools", "annotate", "-a", str(tab), "-h", str(hdr), "-c", cols, "-Ou", "-"])
        cmds[-1] = ["-Ov" if x == "-Ou" else x for x in cmds[-1]]
        for c in cmds:
            if shutil.which(c[0]) is None:
                raise ToolError(f"required tool '{c[0]}' is not on PATH")
        procs: list[subprocess.Popen] = []
        errs = [open(work / f"stderr{i}", "w+") for i in range(len(cmds) + 1)]  # noqa: SIM115 (closed below)
        prev = None
        for i, c in enumerate(cmds):
            p = subprocess.Popen(c, stdin=prev, stdout=subprocess.PIPE, stderr=errs[i], bufsize=1 << 20)
            if prev is not None:
                prev.close()
            prev = p.stdout
            procs.append(p)
        with atomic_path(out) as tmp_out:
            with open(tmp_out, "wb") as outfh:
                bg = subprocess.Popen(["bgzip", "-@", str(max(1, threads)), "-c"], stdin=subprocess.PIPE,
                                      stdout=outfh, stderr=errs[-1], bufsize=1 << 20)
                import io

                text_in = io.TextIOWrapper(prev, encoding="utf-8", newline="\n")  # type: ignore[arg-type]
                text_out = io.TextIOWrapper(bg.stdin, encoding="utf-8", newline="\n",  # type: ignore[arg-type]
                                            write_through=False)
                write = text_out.write
                n = 0
                a = 0
                for line in annotate_lines(iter(text_in), index):
                    write(line)
                    if line[0] != "#":
                        n += 1
                        if "BEDSIDE_CSQ=" in line:
                            a += 1
                text_out.close()
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
