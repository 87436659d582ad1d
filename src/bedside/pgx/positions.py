"""Genotyping a sample at every pharmacogene defining position (reference calls included).

PharmCAT-style matching needs to know that a defining position was *seen* as reference, not just that no
variant was called there; :func:`genotype_positions` therefore calls every position of the allele
definitions (:func:`definition_positions`) and writes a record for each: a genotype where reads cover
it, ``GT ./.`` with FILTER ``NoCoverage`` where none does. (Moved here from ``bedside.calling.germline``,
whose old names still resolve.)
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bedside.calling.germline import GermlineParams, check_bams, index_vcf, mpileup_cmd, output_type
from bedside.errors import InputError
from bedside.tools import pipe, read_fai

log = logging.getLogger(__name__)

__all__ = ["Position", "definition_positions", "genotype_positions"]


@dataclass(frozen=True, order=True)
class Position:
    chrom: str
    pos: int
    gene: str = field(compare=False, default="")
    rsid: str | None = field(compare=False, default=None)


def definition_positions(directory: str | Path) -> list[Position]:
    """Every ``variants[].chromosome/.position`` of the ``<GENE>_translation.json`` files in DIR."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("allele definitions directory not found", path=directory)
    files = sorted(directory.glob("*_translation.json"))
    if not files:
        raise InputError("no <GENE>_translation.json allele definitions found", path=directory)
    seen: dict[tuple[str, int], Position] = {}
    for f in files:
        try:
            data = json.loads(f.read_text())
            gene = data.get("gene") or f.name.split("_")[0]
            for i, v in enumerate(data["variants"]):
                try:
                    p = Position(str(v["chromosome"]), int(v["position"]), gene, v.get("rsid"))
                except (KeyError, TypeError, ValueError) as exc:
                    raise InputError(f"variant without a valid chromosome/position ({exc})", path=f,
                                     record=f"variants[{i}]") from exc
                seen.setdefault((p.chrom, p.pos), p)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a PharmCAT allele definition ({exc})", path=f) from exc
    return sorted(seen.values())


def genotype_positions(bam: str | Path, ref: str | Path, positions: Sequence[Position],
                       out: str | Path, min_depth: int = 5) -> dict[str, int]:
    """Genotype the sample at every position, diploid: covered positions get a call (reference calls
    included, GT 0/0); positions with no usable read get a record with GT ./., FORMAT/DP 0 and
    FILTER NoCoverage, so "reference" and "not covered" stay distinguishable downstream. Positions on
    contigs absent from the reference are skipped (logged); if none remains it is an error."""
    import pysam

    from bedside.contigs import toggle_chr

    contigs = dict(read_fai(ref))
    usable = [p for p in positions if p.chrom in contigs and 1 <= p.pos <= contigs[p.chrom]]
    skipped = len(positions) - len(usable)
    if not usable:
        example = positions[0].chrom if positions else "?"
        hint = (f" (definitions say '{example}', the reference has '{toggle_chr(example)}')"
                if toggle_chr(example) in contigs else "")
        raise InputError(f"none of the {len(positions)} defined positions lies on a contig of the "
                         f"reference{hint}", path=ref)
    if skipped:
        log.warning("%d defined positions are on contigs absent from %s; skipped", skipped, ref)
    check_bams([bam])
    output_type(out)
    order = {c: i for i, c in enumerate(contigs)}
    usable.sort(key=lambda p: (order[p.chrom], p.pos))
    with tempfile.TemporaryDirectory(prefix="bedside-pgxpos-") as tmp:
        tmpd = Path(tmp)
        tfile = tmpd / "targets.tsv"
        tfile.write_text("".join(f"{p.chrom}\t{p.pos}\n" for p in usable))
        raw = tmpd / "raw.bcf"
        params = GermlineParams(caller="bcftools", gap_frac=0.05)
        mp = mpileup_cmd([bam], ref, params, targets=tfile)
        pipe([mp, ["bcftools", "call", "--no-version", "-m", "--ploidy", "2", "-Ou"],
              ["bcftools", "view", "--no-version", "-Ob", "-"]], raw,
             inputs=[bam])
        counts = {"positions": len(usable), "skipped_contig": skipped, "called": 0, "reference": 0,
                  "not_covered": 0}
        fasta = pysam.FastaFile(str(ref))
        wanted = {(p.chrom, p.pos): p for p in usable}
        with pysam.VariantFile(str(raw)) as vin:
            hdr = vin.header.copy()
            hdr.filters.add("NoCoverage", None, None, "no read covers this defined position")
            hdr.filters.add("LowDepth", None, None, f"depth below {min_depth}")
            hdr.info.add("PGX_GENE", 1, "String", "gene whose allele definition names this position")
            sample = next(iter(hdr.samples))
            got: dict[tuple[str, int], list] = {}
            for r in vin:
                if (r.chrom, r.pos) in wanted:
                    got.setdefault((r.chrom, r.pos), []).append(r)
            with pysam.VariantFile(str(out), "w" + output_type(out), header=hdr) as vout:
                for p in usable:
                    recs = got.get((p.chrom, p.pos))
                    if recs:
                        for r in recs:
                            r.translate(hdr)
                            r.info["PGX_GENE"] = p.gene
                            dp = r.samples[sample].get("DP") or 0
                            r.filter.clear()
                            r.filter.add("LowDepth" if dp < min_depth else "PASS")
                            vout.write(r)
                        counts["called"] += 1
                        gt = recs[0].samples[sample].get("GT")
                        if gt and all(g == 0 for g in gt):
                            counts["reference"] += 1
                        continue
                    base = fasta.fetch(p.chrom, p.pos - 1, p.pos).upper() or "N"
                    r = vout.new_record(contig=p.chrom, start=p.pos - 1, stop=p.pos, alleles=(base, "."),
                                        id=p.rsid, filter="NoCoverage")
                    r.info["PGX_GENE"] = p.gene
                    r.samples[sample]["GT"] = (None, None)
                    r.samples[sample]["DP"] = 0
                    vout.write(r)
                    counts["not_covered"] += 1
    index_vcf(out)
    return counts
