"""Read an annotated VCF (BEDSIDE_CSQ, POP_AF, ClinVar fields) into model.Finding objects."""

from __future__ import annotations

from pathlib import Path

import pysam

from bedside.annotate.consequence import IMPACT
from bedside.errors import InputError
from bedside.model import ClinVarRecord, Consequence, Finding, Origin, Variant

_IMPACT_RANK = {"HIGH": 0, "MODERATE": 1, "LOW": 2, "MODIFIER": 3}


def parse_csq(value: str) -> Consequence:
    parts = value.split("|")
    if len(parts) != 7:
        raise ValueError(f"BEDSIDE_CSQ entry {value!r} has {len(parts)} fields, expected 7")
    gene, tx, cons, hc, hp, impact, ppos = parts
    return Consequence(gene=gene, transcript=tx or None, consequence=cons, hgvs_c=hc or None, hgvs_p=hp or None,
                       impact=impact or None, protein_position=int(ppos) if ppos else None)


def _most_severe(csqs: list[Consequence]) -> Consequence:
    return min(csqs, key=lambda c: (_IMPACT_RANK.get(c.impact or "MODIFIER", 3),
                                    min((list(IMPACT).index(t) for t in c.consequence.split("&") if t in IMPACT),
                                        default=99)))


def _info(rec, key):
    try:
        return rec.info.get(key, None)
    except (KeyError, ValueError):
        return None


def _first(v):
    if isinstance(v, tuple):
        return v[0] if v else None
    return v


def _join(v):
    if v is None:
        return None
    if isinstance(v, tuple):
        return ",".join(str(x) for x in v)
    return str(v)


def _sample_stats(rec, sample: str) -> tuple[float | None, int | None, int | None]:
    s = rec.samples[sample]
    vaf = depth = alt_reads = None
    fmt = rec.format.keys()
    if "AD" in fmt:
        ad = s.get("AD")
        if ad and all(x is not None for x in ad) and len(ad) >= 2:
            alt_reads = int(ad[1])
            tot = sum(int(x) for x in ad)
            depth = tot
            vaf = alt_reads / tot if tot else None
    if "DP" in fmt and s.get("DP") is not None:
        depth = int(s.get("DP"))
    if "AF" in fmt and s.get("AF") is not None:
        vaf = float(_first(s.get("AF")))
    if vaf is None and alt_reads is not None and depth:
        vaf = alt_reads / depth
    return vaf, depth, alt_reads


def read_findings(vcf_path: str | Path, origin: Origin, sample: str | None = None,
                  pass_only: bool = True, require_annotation: bool = False) -> list[Finding]:
    """Annotated VCF -> Findings (one per ALT allele; consequence = most severe BEDSIDE_CSQ entry).

    ``require_annotation``: a VCF whose header does not declare BEDSIDE_CSQ (not run through `bedside
    annotate`) is refused instead of read as findings without a gene or consequence."""
    path = Path(vcf_path)
    if not path.exists():
        raise InputError("annotated VCF not found", path=path)
    try:
        return _read_findings(path, origin, sample, pass_only, require_annotation)
    except (OSError, ValueError) as exc:  # pysam: not a VCF, a truncated file, a malformed record
        raise InputError(f"cannot read as VCF: {exc}", path=path) from exc


def _read_findings(path: Path, origin: Origin, sample: str | None, pass_only: bool,
                   require_annotation: bool) -> list[Finding]:
    findings: list[Finding] = []
    with pysam.VariantFile(str(path)) as vf:
        if require_annotation and "BEDSIDE_CSQ" not in vf.header.info:
            raise InputError("the VCF is not annotated (its header declares no BEDSIDE_CSQ consequence field); "
                             "run `bedside annotate` on it first", path=path)
        samples = list(vf.header.samples)
        if sample is not None and sample not in samples:
            raise InputError(f"sample {sample!r} is not in the VCF (samples: {', '.join(samples) or 'none'})",
                             path=path)
        if sample is None and samples:
            sample = samples[0]
        others = [s for s in samples if s != sample]
        for n, rec in enumerate(vf, 1):
            filters = list(rec.filter.keys())
            if pass_only and filters and filters != ["PASS"]:
                continue
            for alt_i, alt in enumerate(rec.alts or ()):
                key = f"{rec.chrom}:{rec.pos}:{rec.ref}>{alt}"
                csq_raw = _info(rec, "BEDSIDE_CSQ")
                csqs = []
                if csq_raw:
                    for v in (csq_raw if isinstance(csq_raw, tuple) else (csq_raw,)):
                        try:
                            csqs.append(parse_csq(v))
                        except ValueError as exc:
                            raise InputError(str(exc), path=path, record=key) from None
                pop = _info(rec, "POP_AF")
                pop_af = pop[alt_i] if isinstance(pop, tuple) and len(pop) > alt_i else pop
                clnsig = _join(_info(rec, "CLNSIG"))
                clinvar = None
                if clnsig is not None or _info(rec, "CLNVID") is not None:
                    stars = _info(rec, "CLNSTARS")
                    clinvar = ClinVarRecord(clnsig=clnsig, review_status=_join(_info(rec, "CLNREVSTAT")),
                                            stars=int(_first(stars)) if stars is not None else None,
                                            gene_info=_join(_info(rec, "GENEINFO")),
                                            variation_id=_join(_info(rec, "CLNVID")))
                vaf = depth = alt_reads = None
                normal_vaf = None
                if sample is not None:
                    vaf, depth, alt_reads = _sample_stats(rec, sample)
                    if others:
                        normal_vaf = _sample_stats(rec, others[0])[0]
                tumor_only = bool(_info(rec, "TUMOR_ONLY")) if "TUMOR_ONLY" in vf.header.info else False
                findings.append(Finding(
                    variant=Variant(rec.chrom, rec.pos, rec.ref, alt, rec.id),
                    origin=origin, consequence=_most_severe(csqs) if csqs else None, vaf=vaf, depth=depth,
                    alt_reads=alt_reads, normal_vaf=normal_vaf,
                    population_af=float(pop_af) if pop_af is not None else None, clinvar=clinvar,
                    filters=filters, tumor_only=tumor_only))
    return findings
