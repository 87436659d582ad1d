"""Transcript models from an Ensembl-style GFF3, and the one-transcript-per-gene selection rule.

Selection rule (documented; applied per gene):
  1. a transcript named for the gene in the user's override TSV (columns: gene, transcript), else
  2. the transcript tagged ``MANE_Select`` in the GFF3 ``tag`` attribute, else
  3. the transcript tagged ``Ensembl_canonical``, else
  4. the protein-coding transcript with the longest CDS (ties: longest transcript, then smallest ID), else
  5. the longest transcript.
"""

from __future__ import annotations

import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bedside.errors import InputError

TRANSCRIPT_TYPES = {"mRNA", "transcript", "lnc_RNA", "ncRNA", "pseudogenic_transcript", "miRNA", "snRNA",
                    "snoRNA", "rRNA", "misc_RNA", "unconfirmed_transcript", "nonsense_mediated_decay"}
GENE_TYPES = {"gene", "ncRNA_gene", "pseudogene"}


def _strip_prefix(ident: str) -> str:
    return ident.split(":", 1)[1] if ident.startswith(("transcript:", "gene:")) else ident


@dataclass
class Transcript:
    id: str
    gene: str
    chrom: str
    strand: str
    exons: list[tuple[int, int]] = field(default_factory=list)  # genomic, 1-based inclusive, sorted ascending
    cds: list[tuple[int, int]] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    # derived by finalize()
    start: int = 0
    end: int = 0
    tx_exons: list[tuple[int, int, int]] = field(default_factory=list)  # (gstart, gend, cdna offset of 5' base - 1)
    length: int = 0
    cds_start: int = 0  # cDNA (1-based) of the first CDS base; 0 when non-coding
    cds_end: int = 0  # cDNA (1-based) of the last CDS base (stop codon included when present)
    _seq: str | None = None

    @property
    def coding(self) -> bool:
        return self.cds_start > 0

    @property
    def cds_length(self) -> int:
        return self.cds_end - self.cds_start + 1 if self.coding else 0

    def finalize(self) -> None:
        self.exons.sort()
        if not self.exons and self.cds:
            self.exons = sorted(self.cds)
        self.start = self.exons[0][0]
        self.end = self.exons[-1][1]
        ordered = self.exons if self.strand == "+" else list(reversed(self.exons))
        off = 0
        self.tx_exons = []
        for s, e in ordered:
            self.tx_exons.append((s, e, off))
            off += e - s + 1
        self.length = off
        if self.cds:
            lo = min(s for s, _ in self.cds)
            hi = max(e for _, e in self.cds)
            a, b = self.genomic_to_cdna(lo), self.genomic_to_cdna(hi)
            if a is None or b is None:
                raise ValueError(f"CDS of {self.id} lies outside its exons")
            self.cds_start, self.cds_end = (a, b) if self.strand == "+" else (b, a)

    def genomic_to_cdna(self, pos: int) -> int | None:
        """cDNA position (1-based, transcript orientation) of an exonic genomic position, else None."""
        for s, e, off in self.tx_exons:
            if s <= pos <= e:
                return off + (pos - s + 1 if self.strand == "+" else e - pos + 1)
        return None

    def sequence(self, fasta) -> str:
        """Spliced transcript sequence (5'->3'), cached."""
        if self._seq is None:
            parts = [fasta.fetch(self.chrom, s - 1, e).upper() for s, e in self.exons]
            seq = "".join(parts)
            self._seq = seq if self.strand == "+" else revcomp(seq)
            self._check_stop()
        return self._seq

    def _check_stop(self) -> None:
        """Include the stop codon in the CDS when the GFF3 CDS excludes it (GTF-style)."""
        from bedside.annotate.hgvs import CODON_TABLE

        if not self.coding or self._seq is None:
            return
        last = self._seq[self.cds_end - 3:self.cds_end]
        nxt = self._seq[self.cds_end:self.cds_end + 3]
        if CODON_TABLE.get(last) != "*" and len(nxt) == 3 and CODON_TABLE.get(nxt) == "*" \
                and (self.cds_length % 3) == 0:
            self.cds_end += 3


_COMP = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def revcomp(seq: str) -> str:
    return seq.translate(_COMP)[::-1]


def _attrs(text: str) -> dict[str, str]:
    out = {}
    for part in text.strip().strip(";").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = urllib.parse.unquote(v.strip())
    return out


def load_gff3(path: str | Path) -> dict[str, list[Transcript]]:
    """Transcripts per gene name from a GFF3 (gene -> transcript -> exon/CDS hierarchy)."""
    path = Path(path)
    genes: dict[str, str] = {}
    txs: dict[str, Transcript] = {}
    children: list[tuple[int, str, str, int, int]] = []
    opener = open
    if path.suffix == ".gz":
        import gzip

        opener = gzip.open  # type: ignore[assignment]
    with opener(path, "rt") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("##FASTA"):
                break
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 9:
                raise InputError(f"GFF3 line has {len(cols)} columns, expected 9", path=path, line=lineno)
            chrom, _, ftype, s, e, _, strand, _, attr = cols
            try:
                start, end = int(s), int(e)
            except ValueError:
                raise InputError(f"non-numeric start/end {s!r}/{e!r}", path=path, line=lineno) from None
            a = _attrs(attr)
            if ftype in GENE_TYPES:
                gid = a.get("ID")
                if gid:
                    genes[gid] = a.get("Name") or a.get("gene_name") or _strip_prefix(gid)
            elif ftype in TRANSCRIPT_TYPES or (ftype.endswith("transcript") and "Parent" in a):
                tid = a.get("ID")
                if not tid:
                    raise InputError(f"{ftype} without ID", path=path, line=lineno)
                if strand not in "+-":
                    raise InputError(f"transcript strand {strand!r} must be + or -", path=path, line=lineno)
                t = Transcript(id=_strip_prefix(tid), gene=a.get("Parent", ""), chrom=chrom, strand=strand,
                               tags=set(a.get("tag", "").split(",")) - {""})
                if a.get("transcript_type") or a.get("biotype"):
                    t.tags.add("biotype=" + (a.get("biotype") or a.get("transcript_type", "")))
                txs[tid] = t
            elif ftype in ("exon", "CDS"):
                for parent in a.get("Parent", "").split(","):
                    if parent:
                        children.append((lineno, ftype, parent, start, end))
    for lineno, ftype, parent, start, end in children:
        t = txs.get(parent)
        if t is None:
            raise InputError(f"{ftype} refers to unknown transcript {parent!r}", path=path, line=lineno)
        (t.exons if ftype == "exon" else t.cds).append((start, end))
    by_gene: dict[str, list[Transcript]] = defaultdict(list)
    for tid, t in txs.items():
        if not t.exons and not t.cds:
            continue
        t.gene = genes.get(t.gene, _strip_prefix(t.gene) if t.gene else t.id)
        try:
            t.finalize()
        except ValueError as exc:
            raise InputError(str(exc), path=path, record=t.id) from None
        by_gene[t.gene].append(t)
    if not by_gene:
        raise InputError("no transcripts with exons found", path=path)
    return dict(by_gene)


def load_overrides(path: str | Path) -> dict[str, str]:
    """gene -> transcript ID from a two-column TSV (header optional, '#' comments allowed)."""
    path = Path(path)
    out: dict[str, str] = {}
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 2:
                raise InputError("expected two tab-separated columns: gene, transcript", path=path, line=lineno)
            if lineno == 1 and cols[0].lower() == "gene":
                continue
            out[cols[0].strip()] = _strip_prefix(cols[1].strip())
    return out


def select_transcripts(by_gene: dict[str, list[Transcript]], overrides: dict[str, str] | None = None,
                       *, overrides_path: str | Path | None = None) -> dict[str, Transcript]:
    """One transcript per gene by the documented rule."""
    chosen: dict[str, Transcript] = {}
    overrides = overrides or {}
    for gene, txs in by_gene.items():
        pick = None
        if gene in overrides:
            want = overrides[gene].split(".")[0]
            pick = next((t for t in txs if t.id.split(".")[0] == want), None)
            if pick is None:
                raise InputError(f"override transcript {overrides[gene]!r} for gene {gene} is not in the GFF3",
                                 path=overrides_path, record=gene)
        pick = pick or next((t for t in sorted(txs, key=lambda t: t.id) if "MANE_Select" in t.tags), None)
        pick = pick or next((t for t in sorted(txs, key=lambda t: t.id) if "Ensembl_canonical" in t.tags), None)
        if pick is None:
            pick = min(txs, key=lambda t: (-t.cds_length, -t.length, t.id))
        chosen[gene] = pick
    return chosen
