"""Import a Mutect2 VCF (GATK Mutect2 or Parabricks ``pbrun mutectcaller``) as a bedside somatic VCF.

The GPU engine calls somatic variants with Mutect2; everything downstream (annotation, tiering, TMB, CNV
purity, the case record, the report) reads the layout ``bedside somatic`` writes. This module turns one
into the other:

* samples: the tumor first, then the normal (``cnv`` takes the first sample as the tumor; Mutect2 writes
  them in BAM order, often normal first). Names come from ``##tumor_sample=`` / ``##normal_sample=``
  (written by Mutect2) or are given.
* one record per alt allele, FORMAT ``GT:AD:AF:DP`` (tumor ``0/1``, normal ``0/0``), indels left-aligned
  against the reference;
* FILTER and INFO from the bedside somatic model (:mod:`bedside.calling.somatic_core`) applied to
  Mutect2's own evidence: allele depths (FORMAT/AD), strand counts (FORMAT/SB; for multi-allelic records
  INFO/AS_SB_TABLE, else FORMAT/SB's pooled proportion applied to each allele's AD), median base qualities
  (INFO/MBQ), depth (FORMAT/DP), the indel's repeat copies
  in the reference, plus the panel of normals and population AF when given. The thresholds are those of
  ``bedside somatic`` (``--min-vaf`` etc.), so both engines filter alike. ``PASS`` and INFO/SOMATIC mean
  every bedside filter passed and Mutect2 itself did not filter the record (a FilterMutectCalls VCF keeps
  its filters; a raw ``pbrun mutectcaller`` VCF has none);
* INFO/TLOD, NLOD: the bedside model's log-odds (those the filters used); INFO/MUTECT2_TLOD,
  MUTECT2_NLOD: Mutect2's own; INFO/TUMOR_ONLY in tumor-only mode.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from bedside.calling.somatic import (
    CallResult, Candidates, fasta_contigs, normalize, pon_flags, population_af, repeat_copies,
    score_on_device, to_sites, write_vcf,
)
from bedside.calling.somatic_core import FILTERS, Params
from bedside.errors import InputError

CALLERS = ("mutect2",)
DEFAULT_BQ = 30.0  # where Mutect2 gives no median base quality (INFO/MBQ absent or 0 for an allele)


@dataclass
class _Row:
    caller_filters: list[str]
    m2_tlod: float | None
    m2_nlod: float | None


def _header_value(header: pysam.VariantHeader, key: str) -> str | None:
    for rec in header.records:
        if rec.key == key and rec.value:
            return rec.value
    return None


def _samples(path: Path, header: pysam.VariantHeader, tumor: str | None, normal: str | None,
             tumor_only: bool) -> tuple[str, str | None]:
    names = list(header.samples)
    tumor = tumor or _header_value(header, "tumor_sample")
    if not tumor:
        raise InputError("no tumor sample: the VCF has no ##tumor_sample header line (Mutect2 writes one); "
                         "name it with --tumor-sample", path=path)
    if tumor not in names:
        raise InputError(f"tumor sample {tumor!r} is not in the VCF (samples: {', '.join(names) or 'none'})",
                         path=path)
    if tumor_only:
        if normal:
            raise InputError("--tumor-only given together with --normal-sample; choose one mode", path=path)
        return tumor, None
    normal = normal or _header_value(header, "normal_sample")
    if not normal:
        raise InputError("tumor/normal mode needs the normal sample (a ##normal_sample header line or "
                         "--normal-sample), or pass --tumor-only for a tumor-only VCF", path=path)
    if normal not in names:
        raise InputError(f"normal sample {normal!r} is not in the VCF (samples: {', '.join(names)})", path=path)
    if normal == tumor:
        raise InputError(f"tumor and normal are the same sample {tumor!r}", path=path)
    return tumor, normal


def _check_sheet(path: Path, samples: list[str], sample_patients: dict[str, str] | None, sheet: str | None,
                 patient: str | None) -> None:
    if sample_patients is None:
        return
    for sm in samples:
        if sm not in sample_patients:
            raise InputError(f"VCF sample {sm!r} is not in the sample sheet {sheet}", path=path)
    pats = {sample_patients[sm] for sm in samples} | ({patient} if patient else set())
    if len(pats) > 1:
        raise InputError(f"samples {', '.join(samples)} belong to different patients ({', '.join(sorted(pats))}) "
                         f"per the sample sheet {sheet}", path=path)


def _ints(value, n: int, what: str, key: str, path: Path) -> list[int]:
    vals = list(value) if isinstance(value, tuple | list) else [value]
    if len(vals) < n or any(v is None for v in vals[:n]):
        raise InputError(f"{what} has {len(vals)} value(s) ({vals}), expected {n}", path=path, record=key)
    return [int(v) for v in vals]


def _strand(rec, tumor: str, alt_i: int, key: str, path: Path) -> tuple[int, int, int, int] | None:
    """(ref fwd, ref rev, alt fwd, alt rev) of the tumor for alt ``alt_i`` (1-based)."""
    n_alts = len(rec.alts)
    if n_alts > 1 and "AS_SB_TABLE" in rec.info:  # allele-specific: "rf,rr|af,ar|..." (all samples)
        raw = rec.info["AS_SB_TABLE"]
        text = ",".join(raw) if isinstance(raw, tuple) else str(raw)  # pysam splits it at the commas
        parts = [p.split(",") for p in text.split("|")]
        if len(parts) > alt_i and all(len(p) == 2 for p in (parts[0], parts[alt_i])):
            try:
                return int(parts[0][0]), int(parts[0][1]), int(parts[alt_i][0]), int(parts[alt_i][1])
            except ValueError as exc:
                raise InputError(f"INFO/AS_SB_TABLE {text!r} is not numeric", path=path, record=key) from exc
    if "SB" in rec.format and rec.samples[tumor].get("SB") is not None:
        sb = _ints(rec.samples[tumor]["SB"], 4, "FORMAT/SB", key, path)
        if n_alts > 1:  # FORMAT/SB pools all alt alleles: this allele's reads split in the pooled proportion
            ad = rec.samples[tumor]["AD"]
            n = int(ad[alt_i]) if ad[alt_i] is not None else 0
            fwd = round(n * sb[2] / (sb[2] + sb[3])) if sb[2] + sb[3] else n - n // 2
            return sb[0], sb[1], fwd, n - fwd
        return sb[0], sb[1], sb[2], sb[3]
    return None


def _float_a(rec, key: str, alt_i: int) -> float | None:
    if key not in rec.info:
        return None
    v = rec.info[key]
    if isinstance(v, tuple):
        v = v[alt_i - 1] if len(v) >= alt_i else None
    return None if v is None else float(v)


def read_mutect2(path: Path, ref: Path, tumor: str, normal: str | None, contigs: list[tuple[str, int]]
                 ) -> tuple[Candidates, list[_Row], dict[str, str]]:
    """Mutect2 records -> candidate rows (one per alt allele) with the arrays the somatic model reads."""
    cand = Candidates()
    cols = cand.cols
    for name in ("t_ref", "t_alt", "t_ref_fwd", "t_ref_rev", "t_alt_fwd", "t_alt_rev", "t_ref_bq", "t_alt_bq",
                 "t_dp", "n_ref", "n_alt", "n_ref_bq", "n_alt_bq", "n_dp", "is_indel", "indel_repeat"):
        cols[name] = []
    rows: list[_Row] = []
    known = dict(contigs)
    with pysam.VariantFile(str(path)) as vf, pysam.FastaFile(str(ref)) as fasta:
        caller_filters = {name: (rec.description or name) for name, rec in vf.header.filters.items()
                          if name != "PASS"}
        for rec in vf:
            key0 = f"{rec.chrom}:{rec.pos}"
            if rec.chrom not in known:
                raise InputError(f"contig {rec.chrom!r} is not in the reference {ref}", path=path, record=key0)
            if "AD" not in rec.format:
                raise InputError("record without FORMAT/AD (allele depths); not a Mutect2 VCF?", path=path,
                                 record=key0)
            filters = [f for f in rec.filter.keys() if f != "PASS"]
            n_alleles = 1 + len(rec.alts or ())
            t_ad = _ints(rec.samples[tumor]["AD"], n_alleles, f"tumor {tumor} FORMAT/AD", key0, path)
            n_ad = (_ints(rec.samples[normal]["AD"], n_alleles, f"normal {normal} FORMAT/AD", key0, path)
                    if normal else None)
            t_dp = rec.samples[tumor].get("DP") if "DP" in rec.format else None
            n_dp = rec.samples[normal].get("DP") if normal and "DP" in rec.format else None
            mbq = rec.info.get("MBQ") if "MBQ" in rec.info else None
            mbq = list(mbq) if isinstance(mbq, tuple) else ([mbq] if mbq is not None else [])
            for i, alt in enumerate(rec.alts or (), 1):
                if alt == "*" or alt.startswith("<"):
                    continue  # spanning deletion / symbolic allele: not a small variant of this record
                key = f"{rec.chrom}:{rec.pos}:{rec.ref}>{alt}"
                pos, r, a = rec.pos, rec.ref.upper(), alt.upper()
                indel = len(r) != len(a)
                rep = 1
                fetch = functools.partial(fasta.fetch, rec.chrom)
                if indel or len(r) > 1:
                    pos, r, a = normalize(pos, r, a, fetch)
                    indel = len(r) != len(a)
                    if indel:
                        rep = repeat_copies(pos, r, a, fetch)
                sb = _strand(rec, tumor, i, key, path)
                ta, tr = t_ad[i], t_ad[0]
                if sb is None:  # no strand counts: split evenly (the strand filter cannot fire)
                    sb = (tr - tr // 2, tr // 2, ta - ta // 2, ta // 2)
                bq_ref = float(mbq[0]) if mbq and mbq[0] else DEFAULT_BQ
                bq_alt = float(mbq[i]) if len(mbq) > i and mbq[i] else DEFAULT_BQ
                cand.chrom.append(rec.chrom)
                cand.pos.append(pos)
                cand.ref.append(r)
                cand.alt.append(a)
                cols["t_ref"].append(tr)
                cols["t_alt"].append(ta)
                cols["t_ref_fwd"].append(sb[0])
                cols["t_ref_rev"].append(sb[1])
                cols["t_alt_fwd"].append(sb[2])
                cols["t_alt_rev"].append(sb[3])
                cols["t_ref_bq"].append(bq_ref)
                cols["t_alt_bq"].append(bq_alt)
                cols["t_dp"].append(int(t_dp) if t_dp is not None else tr + ta)
                cols["is_indel"].append(indel)
                cols["indel_repeat"].append(rep)
                if n_ad is not None:
                    cols["n_ref"].append(n_ad[0])
                    cols["n_alt"].append(n_ad[i])
                    cols["n_ref_bq"].append(bq_ref)
                    cols["n_alt_bq"].append(bq_alt)
                    cols["n_dp"].append(int(n_dp) if n_dp is not None else n_ad[0] + n_ad[i])
                rows.append(_Row(filters, _float_a(rec, "TLOD", i), _float_a(rec, "NLOD", i)))
    return cand, rows, caller_filters


def import_mutect2(vcf: Path, ref: Path, out: Path, *, tumor_sample: str | None = None,
                   normal_sample: str | None = None, tumor_only: bool = False, pon: Path | None = None,
                   population: Path | None = None, params: Params | None = None,
                   sample_patients: dict[str, str] | None = None, sheet: str | None = None,
                   patient: str | None = None, xp=np) -> CallResult:
    """Write ``out`` (bgzipped, tabix-indexed, the ``bedside somatic`` layout) from a Mutect2 VCF."""
    params = params or Params()
    vcf = Path(vcf)
    if not vcf.exists():
        raise InputError("Mutect2 VCF not found", path=vcf)
    for p in (pon, population):
        if p is not None and not Path(p).exists():
            raise InputError("VCF not found", path=p)
    contigs = fasta_contigs(ref)
    try:
        with pysam.VariantFile(str(vcf)) as vf:
            t_sm, n_sm = _samples(vcf, vf.header, tumor_sample, normal_sample, tumor_only)
        _check_sheet(vcf, [t_sm] + ([n_sm] if n_sm else []), sample_patients, sheet, patient)
        cand, rows, caller_filters = read_mutect2(vcf, ref, t_sm, n_sm, contigs)
    except (OSError, ValueError) as exc:  # pysam: not a VCF, truncated, a malformed record
        raise InputError(f"cannot read as VCF: {exc}", path=vcf) from exc
    tumor_only = n_sm is None
    sites = to_sites(cand, contigs, tumor_only)
    if pon is not None:
        sites.in_pon = pon_flags(pon, cand)
    if population is not None:
        sites.population_af = population_af(population, cand)
    if len(cand):
        res = score_on_device(sites, params, xp)
    else:
        res = {k: np.zeros(0) for k in ("tlod", "nlod", "vaf")} | {"filter_mask": np.zeros(0, dtype=np.int32)}
    order = np.lexsort((np.array(cand.alt, dtype=object), np.asarray(sites.key))) if len(cand) else []
    n_pass = _write(out, cand, sites, res, rows, order, contigs, ref, t_sm, n_sm, params, pon, population,
                    caller_filters, vcf)
    return CallResult(len(cand), len(order), n_pass, t_sm, n_sm)


def _write(out: Path, cand: Candidates, sites, res: dict, rows: list[_Row], order, contigs, ref: Path,
           t_sm: str, n_sm: str | None, params: Params, pon, population, caller_filters: dict[str, str],
           source: Path) -> int:
    """The somatic VCF as `bedside somatic` writes it (somatic.write_vcf), plus Mutect2's own filters and
    its TLOD/NLOD as MUTECT2_TLOD/MUTECT2_NLOD."""
    extra = ["##bedside_somatic_caller=mutect2", f"##bedside_somatic_import=file://{source}"]
    extra += [f'##FILTER=<ID={k},Description="Mutect2: {v.replace(chr(34), chr(39))}">'
              for k, v in caller_filters.items() if k not in FILTERS]
    extra += ['##INFO=<ID=MUTECT2_TLOD,Number=1,Type=Float,Description="Mutect2 tumor log10 odds (INFO/TLOD of '
              'the imported VCF)">',
              '##INFO=<ID=MUTECT2_NLOD,Number=1,Type=Float,Description="Mutect2 normal log10 odds (INFO/NLOD of '
              'the imported VCF)">']

    def mutect2_scores(i: int) -> list[str]:
        return [f"{tag}={v:.2f}" for tag, v in (("MUTECT2_TLOD", rows[i].m2_tlod), ("MUTECT2_NLOD", rows[i].m2_nlod))
                if v is not None and not math.isnan(v)]

    return write_vcf(out, cand, sites, res, order, contigs, ref, t_sm, n_sm, n_sm is None, params, pon,
                     population, extra_header=extra, more_filters=lambda i: rows[i].caller_filters,
                     more_info=mutect2_scores)
