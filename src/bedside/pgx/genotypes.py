"""Genotypes at the defining positions, read from a (multi-sample) VCF with pysam.

A position is *missing* for a sample when the VCF has no record there, the record is FILTERed
``NoCoverage`` (Bedside's PGx position genotyping), the sample's GT is a no-call (``./.``, or ``./0`` as
in PharmCAT) -- it is never assumed to be reference. ``./1`` is kept as a half-missing genotype (the
matcher then does not call the gene, as PharmCAT). Alleles are translated into the definition's VCF
frame (same start position; a longer REF in the VCF that extends the definition's REF is reconciled by a
shared suffix). A record whose REF disagrees with the definition's REF (neither is a prefix of the other:
another genome build or representation) is not used: the position is listed in ``mismatched`` and the
gene is reported as not called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pysam

from bedside.errors import InputError
from bedside.pgx.definitions import GeneDefinition

Genotype = tuple[str, ...]  # two alleles (one on a haploid chromosome); '.' = half-missing


@dataclass
class SampleGenotypes:
    """Per gene: index of defining position -> genotype (two alleles); missing indices are absent."""

    sample: str
    calls: dict[str, dict[int, Genotype]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    phased: dict[str, set[int]] = field(default_factory=dict)  # indices whose GT is phased (0|1)
    mismatched: dict[str, list[str]] = field(default_factory=dict)  # labels of REF-mismatch positions


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
        _check_build(vf, definitions, vcf)
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
        n_match = n_mismatch = 0
        mismatch_examples: list[str] = []
        for key, targets in wanted.items():
            recs = records.get(key, [])
            for gene, idx in targets:
                dpos = definitions[gene].positions[idx]
                good = [r for r in recs if _ref_compatible(r.ref, dpos.ref)]
                bad = [r for r in recs if not _ref_compatible(r.ref, dpos.ref)]
                if good:
                    n_match += 1
                elif bad:
                    n_mismatch += 1
                    if len(mismatch_examples) < 5:
                        mismatch_examples.append(f"{dpos.label} VCF REF {bad[0].ref} != {dpos.ref}")
                for s in samples:
                    sg = out[s]
                    sg.calls.setdefault(gene, {})
                    notes = sg.notes.setdefault(gene, [])
                    if bad and not good:
                        sg.mismatched.setdefault(gene, []).append(
                            f"{dpos.label} (VCF REF {bad[0].ref}, definition REF {dpos.ref})")
                        continue
                    got = _sample_genotype(good, s, dpos.ref, notes, dpos.label, haploid_ok=dpos.chrom in HAPLOID)
                    if got is not None:
                        sg.calls[gene][idx] = got[0]
                        if got[1]:
                            sg.phased.setdefault(gene, set()).add(idx)
        if n_mismatch and not n_match:
            raise InputError(
                f"REF alleles disagree with the allele definitions at every one of the {n_mismatch} defining "
                f"position(s) found ({'; '.join(mismatch_examples)}): the VCF is on another genome build or "
                f"representation than the definitions ({_builds(definitions)})", path=vcf)
        return out


# Contig lengths that tell the two human builds apart (UCSC/NCBI assembly reports).
BUILD_LENGTHS = {"1": {"GRCh37": 249250621, "GRCh38": 248956422}, "2": {"GRCh37": 243199373, "GRCh38": 242193529},
                 "10": {"GRCh37": 135534747, "GRCh38": 133797422}, "X": {"GRCh37": 155270560, "GRCh38": 156040895}}


def _check_build(vf, definitions: dict[str, GeneDefinition], vcf: Path) -> None:
    """Stop when the VCF header's contig lengths show another build than the definitions'."""
    builds = {(d.build or "")[:6] for d in definitions.values()} & {"GRCh37", "GRCh38"}
    if len(builds) != 1:
        return
    want = builds.pop()
    for name, contig in vf.header.contigs.items():
        key = name[3:] if name.startswith("chr") else name
        length = getattr(contig, "length", None)
        lens = BUILD_LENGTHS.get(key)
        if not lens or not length:
            continue
        other = next((b for b, n in lens.items() if n == length and b != want), None)
        if other:
            raise InputError(f"VCF header contig {name} has length {length}, which is {other}; the allele "
                             f"definitions are {want}: lift the VCF over or use {other} definitions", path=vcf)


HAPLOID = frozenset({"chrX", "chrY", "chrM", "X", "Y", "MT"})


def _builds(definitions: dict[str, GeneDefinition]) -> str:
    return ", ".join(sorted({d.build or "build not stated" for d in definitions.values()}))


def _ref_compatible(vcf_ref: str, def_ref: str) -> bool:
    return vcf_ref.upper().startswith(def_ref.upper()) or def_ref.upper().startswith(vcf_ref.upper())


def _sample_genotype(recs: list, sample: str, def_ref: str, notes: list[str], label: str,
                     haploid_ok: bool = False) -> tuple[Genotype, bool] | None:
    """(genotype, phased) of ``sample`` at one position, or None when missing. With several records at the
    position (split multi-allelics), a non-reference genotype wins over a reference one."""
    chosen: tuple[Genotype, bool] | None = None
    for rec in recs:
        if "NoCoverage" in rec.filter.keys():
            continue
        call = rec.samples[sample]
        gt = call.get("GT")
        if gt is None or len(gt) == 0 or all(a is None for a in gt):
            continue
        if any(a is None for a in gt):
            known = [a for a in gt if a is not None]
            if len(gt) == 2 and all(a == 0 for a in known):
                notes.append(f"{label}: half-missing reference genotype (./0) treated as missing (as PharmCAT)")
                continue
        alleles = []
        for a in gt:
            if a is None:
                alleles.append(".")
                continue
            seq = rec.alleles[a]
            framed = _to_frame(seq, rec.ref, def_ref) if seq not in ("*", ".") and not seq.startswith("<") else None
            if framed is None:
                notes.append(f"{label}: allele {seq!r} (REF {rec.ref}) cannot be expressed against the "
                             f"definition's REF {def_ref}; treated as an undocumented allele")
                framed = f"?{seq}"
            alleles.append(framed)
        if len(alleles) == 1 and not haploid_ok:
            notes.append(f"{label}: haploid genotype read as homozygous")
            alleles = alleles * 2
        if len(alleles) not in (1, 2):
            notes.append(f"{label}: ploidy {len(alleles)} not supported; position treated as missing")
            continue
        g: Genotype = tuple(alleles)  # type: ignore[assignment]
        is_phased = bool(getattr(call, "phased", False)) and len(alleles) == 2
        if chosen is None or (all(x == def_ref for x in chosen[0]) and any(x != def_ref for x in g)):
            chosen = (g, is_phased)
    return chosen
