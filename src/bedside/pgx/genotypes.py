"""Genotypes at the defining positions, read from a (multi-sample) VCF with pysam.

A position is *missing* for a sample when the VCF has no record there or the sample's GT is a no-call;
it is never assumed to be reference. Alleles are translated into the definition's VCF frame (same
start position; a longer or shorter REF in the VCF is reconciled by a shared suffix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pysam

from bedside.errors import InputError
from bedside.pgx.definitions import GeneDefinition

Genotype = tuple[str, str]


@dataclass
class SampleGenotypes:
    """Per gene: index of defining position -> genotype (two alleles); missing indices are absent."""

    sample: str
    calls: dict[str, dict[int, Genotype]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)


def _to_frame(seq: str, vcf_ref: str, def_ref: str) -> str | None:
    """Express ``seq`` (an allele of a record with REF ``vcf_ref``) relative to ``def_ref``."""
    if vcf_ref == def_ref:
        return seq
    if vcf_ref.startswith(def_ref):  # VCF REF longer: drop the shared tail
        tail = vcf_ref[len(def_ref):]
        return seq[: -len(tail)] if seq.endswith(tail) and len(seq) > len(tail) else None
    if def_ref.startswith(vcf_ref):  # definition REF longer: extend with the reference tail
        return seq + def_ref[len(vcf_ref):]
    return None


def _contig_names(vf: pysam.VariantFile) -> set[str]:
    return set(vf.header.contigs)


def _resolve_chrom(chrom: str, contigs: set[str]) -> str:
    if chrom in contigs or not contigs:
        return chrom
    alt = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
    return alt if alt in contigs else chrom


def vcf_samples(vcf: str | Path) -> list[str]:
    try:
        with pysam.VariantFile(str(vcf)) as vf:
            return list(vf.header.samples)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot open VCF: {exc}", path=vcf) from exc


def read_genotypes(vcf: str | Path, definitions: dict[str, GeneDefinition],
                   samples: list[str] | None = None) -> dict[str, SampleGenotypes]:
    """Genotypes of ``samples`` (default: all) at every defining position of every gene."""
    vcf = Path(vcf)
    try:
        vf = pysam.VariantFile(str(vcf))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot open VCF: {exc}", path=vcf) from exc
    with vf:
        all_samples = list(vf.header.samples)
        if not all_samples:
            raise InputError("VCF has no sample columns", path=vcf)
        if samples is None:
            samples = all_samples
        for s in samples:
            if s not in all_samples:
                raise InputError(f"sample {s!r} not in VCF (has: {', '.join(all_samples)})", path=vcf)
        contigs = _contig_names(vf)
        # (chrom, pos) -> [(gene, index)]
        wanted: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for gene, d in definitions.items():
            for i, p in enumerate(d.positions):
                wanted.setdefault((_resolve_chrom(p.chrom, contigs), p.pos), []).append((gene, i))
        records: dict[tuple[str, int], list] = {}
        indexed = vf.index is not None if hasattr(vf, "index") else False
        try:
            if indexed:
                for gene, d in definitions.items():
                    chrom = _resolve_chrom(d.chrom, contigs)
                    if contigs and chrom not in contigs:
                        continue
                    lo = min(p.pos for p in d.positions) - 1
                    hi = max(p.pos for p in d.positions)
                    for rec in vf.fetch(chrom, max(0, lo - 1), hi):
                        if (rec.chrom, rec.pos) in wanted:
                            records.setdefault((rec.chrom, rec.pos), []).append(rec)
            else:
                for rec in vf:
                    if (rec.chrom, rec.pos) in wanted:
                        records.setdefault((rec.chrom, rec.pos), []).append(rec)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read VCF records: {exc}", path=vcf) from exc

        out = {s: SampleGenotypes(sample=s) for s in samples}
        for key, targets in wanted.items():
            recs = records.get(key, [])
            for gene, idx in targets:
                dpos = definitions[gene].positions[idx]
                for s in samples:
                    sg = out[s]
                    sg.calls.setdefault(gene, {})
                    gt = _sample_genotype(recs, s, dpos.ref, sg.notes.setdefault(gene, []), dpos.label)
                    if gt is not None:
                        sg.calls[gene][idx] = gt
        return out


def _sample_genotype(recs: list, sample: str, def_ref: str, notes: list[str], label: str) -> Genotype | None:
    chosen: Genotype | None = None
    for rec in recs:
        gt = rec.samples[sample].get("GT")
        if gt is None or len(gt) == 0 or any(a is None for a in gt):
            continue
        alleles = []
        for a in gt:
            seq = rec.alleles[a]
            framed = _to_frame(seq, rec.ref, def_ref) if seq not in ("*", ".") and not seq.startswith("<") else None
            if framed is None:
                notes.append(f"{label}: allele {seq!r} (REF {rec.ref}) cannot be expressed against the "
                             f"definition's REF {def_ref}; treated as an undocumented allele")
                framed = f"?{seq}"
            alleles.append(framed)
        if len(alleles) == 1:
            notes.append(f"{label}: haploid genotype read as homozygous")
            alleles = alleles * 2
        if len(alleles) != 2:
            notes.append(f"{label}: ploidy {len(alleles)} not supported; position treated as missing")
            continue
        g = (alleles[0], alleles[1])
        if chosen is None or (all(x == def_ref for x in chosen) and any(x != def_ref for x in g)):
            chosen = g
    return chosen
