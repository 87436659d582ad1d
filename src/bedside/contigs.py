"""Contig names across reads, reference, resources and VCFs: read them, compare them, map them.

Real data mixes naming schemes (UCSC ``chr20`` vs Ensembl/1000 Genomes ``20``, ``chrM`` vs ``MT``) and
builds (hg19 chr20 is 63,025,520 bp, GRCh38 chr20 64,444,167 bp). A mismatch makes region queries
silently return nothing, so the workflow checks every input against the reference before any job runs
(:func:`check_inputs`), or renames resource contigs with a two-column map (``reference.contig_map``;
:func:`load_contig_map`, applied with ``bcftools annotate --rename-chrs``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bedside.errors import InputError
from bedside import tools

_SPECIAL = {"chrM": "MT", "MT": "chrM", "chrMT": "MT"}


def toggle_chr(name: str) -> str:
    """The other common spelling of a contig name: chr20 <-> 20, chrM <-> MT."""
    if name in _SPECIAL:
        return _SPECIAL[name]
    return name[3:] if name.startswith("chr") else f"chr{name}"


def fasta_contigs(fasta: str | Path) -> dict[str, int]:
    """Contig -> length of a FASTA, from its .fai (never written beside the FASTA: without one the lengths
    are scanned once and cached, :func:`bedside.plan.contig_lengths`)."""
    from bedside.plan import contig_lengths

    return dict(contig_lengths(fasta))


def alignment_contigs(path: str | Path) -> dict[str, int]:
    """Contig -> length from a BAM/CRAM/SAM header (@SQ lines)."""
    return dict(tools.alignment_contigs(path))


def vcf_contigs(path: str | Path, scan_limit: int = 100000) -> dict[str, int | None]:
    """Contig -> length (None if not stated) named by a VCF/BCF: ##contig header lines, else the
    contigs of its index, else the CHROM of its first ``scan_limit`` records."""
    import pysam

    path = Path(path)
    if not path.exists():
        raise InputError("VCF not found", path=path)
    try:
        with pysam.VariantFile(str(path)) as vf:
            out: dict[str, int | None] = {c: vf.header.contigs[c].length for c in vf.header.contigs}
            if out:
                return out
            if vf.index is not None:
                return dict.fromkeys(vf.index.keys())
            for i, rec in enumerate(vf):
                if i >= scan_limit:
                    break
                out.setdefault(rec.chrom, None)
            return out
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read VCF: {exc}", path=path) from exc


def bed_contigs(path: str | Path) -> dict[str, int | None]:
    path = Path(path)
    if not path.exists():
        raise InputError("BED file not found", path=path)
    out: dict[str, int | None] = {}
    with open(path) as fh:
        for line in fh:
            if line.strip() and not line.startswith(("#", "track", "browser")):
                out.setdefault(line.split("\t", 1)[0].strip(), None)
    return out


def load_contig_map(path: str | Path) -> dict[str, str]:
    """A two-column TSV ``name-in-resource<TAB>name-in-reference`` (the format of
    ``bcftools annotate --rename-chrs``); '#' lines and blank lines are skipped."""
    path = Path(path)
    if not path.exists():
        raise InputError("contig map not found", path=path)
    out: dict[str, str] = {}
    with open(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            f = line.rstrip("\n\r").split("\t")
            if len(f) != 2 or not f[0].strip() or not f[1].strip():
                raise InputError("expected two tab-separated columns: old_name<TAB>new_name",
                                 path=path, line=lineno)
            old, new = f[0].strip(), f[1].strip()
            if old in out and out[old] != new:
                raise InputError(f"contig '{old}' mapped twice ('{out[old]}' and '{new}')",
                                 path=path, line=lineno)
            out[old] = new
    return out


@dataclass(frozen=True)
class ContigProblem:
    path: str
    role: str
    message: str

    def __str__(self) -> str:
        return f"{self.role} {self.path}: {self.message}"


def compare(reference: Mapping[str, int], other: Mapping[str, int | None], *, path: str,
            role: str, ref_path: str, mapping: Mapping[str, str] | None = None) -> list[ContigProblem]:
    """Problems between the reference's contigs and another file's (after ``mapping``, if given).

    A file must share at least one contig name with the reference, and shared contigs must have the
    same length where the file states one (a different length means a different build). When nothing
    is shared but toggling the ``chr`` prefix would match, the message says so.
    """
    names = {(mapping or {}).get(c, c): n for c, n in other.items()}
    shared = [c for c in names if c in reference]
    problems: list[ContigProblem] = []
    if not names:
        return problems
    if not shared:
        toggled = [c for c in names if toggle_chr(c) in reference]
        example = ", ".join(list(names)[:3])
        ref_example = ", ".join(list(reference)[:3])
        if toggled:
            hint = (f"it names contigs like '{toggled[0]}' where the reference {ref_path} has "
                    f"'{toggle_chr(toggled[0])}' (chr-prefix mismatch); rename them or set "
                    f"reference.contig_map to a two-column TSV (e.g. '{toggled[0]}\t"
                    f"{toggle_chr(toggled[0])}')")
        else:
            hint = (f"none of its contigs ({example}, ...) is in the reference {ref_path} "
                    f"({ref_example}, ...)")
        problems.append(ContigProblem(path, role, hint))
        return problems
    for c in shared:
        n = names[c]
        if n is not None and n != reference[c]:
            problems.append(ContigProblem(
                path, role, f"contig '{c}' is {n} bp here but {reference[c]} bp in the reference "
                f"{ref_path} (a different genome build?)"))
    return problems


def check_inputs(reference: str | Path, *, alignments: Iterable[str | Path] = (),
                 vcfs: Iterable[str | Path] = (), beds: Iterable[str | Path] = (),
                 contig_map: str | Path | None = None) -> None:
    """Check every input's contig names against the reference; raise one InputError listing all
    problems (each naming its file). ``contig_map`` applies to VCF resources only (they are renamed
    by the workflow); reads and BED files must use the reference's own names."""
    ref = fasta_contigs(reference)
    mapping = load_contig_map(contig_map) if contig_map else None
    problems: list[ContigProblem] = []
    for p in alignments:
        problems += compare(ref, alignment_contigs(p), path=str(p), role="reads",
                            ref_path=str(reference))
    for p in vcfs:
        problems += compare(ref, vcf_contigs(p), path=str(p), role="VCF", ref_path=str(reference),
                            mapping=mapping)
    for p in beds:
        problems += compare(ref, bed_contigs(p), path=str(p), role="BED", ref_path=str(reference))
    if problems:
        raise InputError("contig names do not match the reference:\n  "
                         + "\n  ".join(str(p) for p in problems), path=reference)
