"""Cohort queries joining genome, clinical and lifestyle data (Hail expressions on the store's columns).

Filters (all given must hold; lists mean "any of"):

* ``gene``: a somatic or germline finding in the gene (``origin`` somatic|germline|any narrows it);
* ``variant``: ``CHROM:POS:REF:ALT`` -- a finding at that variant, or a non-reference germline genotype in
  the store's entries;
* ``tier``: AMP/ASCO/CAP tier of a somatic finding (I..IV); together with ``gene`` the same finding must
  match both;
* ``acmg_sf``: a germline finding in an ACMG SF gene (ClinVar P/LP, as the patient report lists it);
* ``pgx``: ``GENE=Phenotype[,Phenotype]`` e.g. ``DPYD=Intermediate Metabolizer,Poor Metabolizer``;
* ``drug``: a current medication by name, brand or class (``fluoropyrimidine`` -- the bundled drug
  vocabulary's classes);
* ``diagnosis``: OncoTree code, its descendants included (``NSCLC`` matches LUAD);
* ``smoking``: smoking status (never/former/current); ``sex``;
* ranges ``age``, ``pack_years``, ``alcohol`` (units/week), ``bmi``: ``(min, max)`` inclusive, either end
  None (CLI ``25:`` ``:14`` ``18.5:25``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from bedside.errors import InputError

TIERS = ("I", "II", "III", "IV")


def parse_range(text: str | None, name: str) -> tuple[float | None, float | None] | None:
    if text is None or text == "":
        return None
    if ":" not in text:
        raise InputError(f"--{name} {text!r}: expected MIN:MAX (either may be empty), e.g. 25: or 18.5:25")
    lo, hi = text.split(":", 1)
    try:
        out = (float(lo) if lo.strip() else None, float(hi) if hi.strip() else None)
    except ValueError as exc:
        raise InputError(f"--{name} {text!r}: not a number range") from exc
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        raise InputError(f"--{name} {text!r}: minimum above maximum")
    return out


def parse_variant(text: str) -> tuple[str, int, str, str]:
    parts = text.split(":")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2] or not parts[3]:
        raise InputError(f"variant {text!r}: expected CHROM:POS:REF:ALT, e.g. chr7:28232:T:G")
    return parts[0], int(parts[1]), parts[2].upper(), parts[3].upper()


def parse_pgx(text: str) -> tuple[str, list[str]]:
    if "=" not in text:
        raise InputError(f"--pgx {text!r}: expected GENE=Phenotype[,Phenotype], e.g. DPYD=Poor Metabolizer")
    gene, ph = text.split("=", 1)
    phen = [p.strip() for p in ph.split(",") if p.strip()]
    if not gene.strip() or not phen:
        raise InputError(f"--pgx {text!r}: gene and at least one phenotype needed")
    return gene.strip().upper(), phen


@dataclass
class CohortQuery:
    gene: list[str] = field(default_factory=list)
    origin: str = "any"
    variant: list[str] = field(default_factory=list)
    tier: list[str] = field(default_factory=list)
    acmg_sf: bool = False
    pgx: list[str] = field(default_factory=list)
    drug: list[str] = field(default_factory=list)
    diagnosis: list[str] = field(default_factory=list)
    smoking: list[str] = field(default_factory=list)
    sex: list[str] = field(default_factory=list)
    age: tuple | None = None
    pack_years: tuple | None = None
    alcohol: tuple | None = None
    bmi: tuple | None = None

    def __post_init__(self):
        if self.origin not in ("any", "somatic", "germline"):
            raise InputError(f"origin {self.origin!r}: expected any, somatic or germline")
        bad = [t for t in self.tier if t.upper() not in TIERS]
        if bad:
            raise InputError(f"tier {bad[0]!r}: expected one of {', '.join(TIERS)}")
        self.tier = [t.upper() for t in self.tier]
        self.gene = [g.upper() for g in self.gene]
        for v in self.variant:
            parse_variant(v)
        for p in self.pgx:
            parse_pgx(p)

    def describe(self) -> str:
        parts = []
        for k, v in asdict(self).items():
            if v in (None, [], False) or (k == "origin" and v == "any"):
                continue
            if isinstance(v, (tuple, list)) and k in ("age", "pack_years", "alcohol", "bmi"):
                v = f"{'' if v[0] is None else v[0]}:{'' if v[1] is None else v[1]}"
            elif isinstance(v, list):
                v = ",".join(v) if k != "pgx" else " & ".join(v)
            parts.append(f"{k}={v}")
        return " ".join(parts) or "(all patients)"


def _resolve_drugs(names: list[str]) -> tuple[set[str], set[str]]:
    from bedside.clinical.vocab import load_vocabulary

    vocab = load_vocabulary()
    drugs, classes = set(), set()
    all_classes = {c.lower() for d in vocab.drugs.values() for c in d.classes}
    for n in names:
        r = vocab.resolve(n)
        if r:
            drugs.add(r)
        elif n.lower() in all_classes:
            classes.add(n.lower())
        else:
            raise InputError(f"drug {n!r} is neither a drug nor a drug class of the bundled vocabulary")
    return drugs, classes


def _set(values):
    import hail as hl

    return hl.literal(set(values), dtype=hl.tset(hl.tstr))


def _in_range(x, rng):
    import hail as hl

    lo, hi = rng
    cond = hl.is_defined(x)
    if lo is not None:
        cond &= x >= lo
    if hi is not None:
        cond &= x <= hi
    return cond


def _finding_matches(f, q: CohortQuery):
    import hail as hl

    cond = hl.bool(True)
    if q.gene:
        cond &= _set(set(q.gene)).contains(hl.or_else(f.gene, "").upper())
    if q.variant:
        keys = {f"{c}:{p}:{r}:{a}" for c, p, r, a in map(parse_variant, q.variant)}
        cond &= _set(keys).contains(f.chrom + ":" + hl.str(f.pos) + ":" + f.ref + ":" + f.alt)
    return cond


def expression(mt, q: CohortQuery):
    """The Hail boolean column expression of ``q`` on the store ``mt`` (plus the 'matched' text)."""
    import hail as hl

    c = mt.clinical
    cond = hl.bool(True)
    matched = hl.empty_array(hl.tstr)
    if q.gene or q.variant or q.tier or q.acmg_sf:
        som = mt.somatic.filter(lambda f: _finding_matches(f, q) & (
            _set(set(q.tier)).contains(hl.or_else(f.tier, "")) if q.tier else True))
        ger = mt.germline_findings.filter(lambda f: _finding_matches(f, q) & (f.acmg_sf if q.acmg_sf else True))
        if q.tier or q.origin == "somatic":
            ger = ger.filter(lambda f: False)
        if q.acmg_sf or q.origin == "germline":
            som = som.filter(lambda f: False)
        label = (lambda kind: lambda f: kind + " " + hl.or_else(f.gene, "?") + " " + hl.or_else(
            f.hgvs_p, hl.or_else(f.hgvs_c, f.chrom + ":" + hl.str(f.pos) + ":" + f.ref + ">" + f.alt))
            + hl.if_else(hl.is_defined(f.tier), " (Tier " + f.tier + ")", ""))
        hits = som.map(label("somatic")).extend(ger.map(label("germline")))
        if q.variant and not q.tier and q.origin != "somatic" and not q.acmg_sf:
            hits = hits.extend(hl.if_else(mt._carrier, hl.array(["germline genotype " + mt._carrier_gt]),
                                          hl.empty_array(hl.tstr)))
        cond &= hl.len(hits) > 0
        matched = matched.extend(hits)
    for p in q.pgx:
        gene, phen = parse_pgx(p)
        hit = mt.pgx.filter(lambda d: (d.gene.upper() == gene) & _set(set(phen)).contains(d.phenotype))
        cond &= hl.len(hit) > 0
        matched = matched.extend(hit.map(lambda d: d.gene + " " + hl.or_else(d.diplotype, "?") + ": "
                                         + d.phenotype))
    if q.drug:
        drugs, classes = _resolve_drugs(q.drug)
        meds = hl.or_else(c.medications, hl.empty_array(hl.tstr))
        hit = meds.filter(lambda m: _set(drugs).contains(m))
        cls = hl.or_else(c.drug_classes, hl.empty_array(hl.tstr)).filter(lambda k: _set(classes).contains(k))
        cond &= (hl.len(hit) > 0) | (hl.len(cls) > 0)
        matched = matched.extend(hl.if_else(hl.len(cls) > 0, hl.array(["on " + hl.delimit(meds, "+")
                                                                        + " (" + hl.delimit(cls, ",") + ")"]),
                                            hit.map(lambda m: "on " + m)))
    if q.diagnosis:
        codes = {d.upper() for d in q.diagnosis}
        cond &= hl.or_else(c.diagnosis_lineage, hl.empty_array(hl.tstr)).any(lambda x: _set(codes)
                                                                               .contains(x))
    if q.smoking:
        cond &= _set({s.lower() for s in q.smoking}).contains(hl.or_else(c.smoking_status, ""))
    if q.sex:
        cond &= _set({s.lower() for s in q.sex}).contains(hl.or_else(c.sex, ""))
    for name, x in (("age", c.age), ("pack_years", c.pack_years), ("alcohol", c.alcohol_units_per_week),
                    ("bmi", c.bmi)):
        rng = getattr(q, name)
        if rng:
            cond &= _in_range(hl.float64(x), rng)
    return hl.or_else(cond, False), matched


def run(mt, q: CohortQuery, *, as_hail: bool = False):
    """Patients matching ``q``: a pandas DataFrame (default) or a Hail Table keyed by sample."""
    import hail as hl

    if q.variant:
        wanted = [parse_variant(v) for v in q.variant]
        rg = mt.locus.dtype.reference_genome
        for chrom, pos, _, _ in wanted:
            if chrom not in rg.contigs or pos > rg.lengths[chrom]:
                raise InputError(f"variant {chrom}:{pos} is not on the store's reference build {rg.name}")
        sites = hl.filter_intervals(mt, [hl.interval(hl.locus(c, p, reference_genome=rg),
                                                     hl.locus(c, p, reference_genome=rg), includes_end=True)
                                         for c, p, _, _ in wanted])
        keys = _set({f"{c}:{p}:{r}:{a}" for c, p, r, a in wanted})
        sites = sites.filter_rows(keys.contains(sites.locus.contig + ":" + hl.str(sites.locus.position) + ":"
                                                + sites.alleles[0] + ":" + sites.alleles[1]))
        carriers = sites.annotate_cols(
            _carrier=hl.agg.any(sites.GT.is_non_ref()),
            _carrier_gt=hl.delimit(hl.agg.filter(sites.GT.is_non_ref(), hl.agg.collect(
                sites.locus.contig + ":" + hl.str(sites.locus.position) + ":" + sites.alleles[0] + ">"
                + sites.alleles[1] + " " + hl.str(sites.GT))), ", ")).cols()
        ct = mt.cols()
        ct = ct.annotate(_carrier=hl.or_else(carriers[ct.s]._carrier, False),
                         _carrier_gt=carriers[ct.s]._carrier_gt)
    else:
        ct = mt.cols()
    cond, matched = expression(ct, q)
    ct = ct.annotate(_keep=cond, _matched=matched)
    ct = ct.filter(ct._keep)
    c, matched = ct.clinical, ct._matched
    out = ct.select(
        patient_id=ct.patient_id, diagnosis=c.diagnosis, sex=c.sex, age=c.age, smoking_status=c.smoking_status,
        pack_years=c.pack_years, alcohol_units_per_week=c.alcohol_units_per_week, bmi=c.bmi,
        medications=hl.delimit(hl.or_else(c.medications, hl.empty_array(hl.tstr)), ";"),
        matched=hl.delimit(matched, "; "), report=ct.report_path)
    if as_hail:
        return out
    df = out.to_pandas()
    return df.rename(columns={"s": "sample"})


def write_tsv(df: pd.DataFrame, q: CohortQuery, path: str | Path, store: str | Path) -> None:
    """TSV of the result with the query recorded in '#' header lines."""
    from bedside import __version__
    from bedside.tools import atomic_path

    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write(f"# bedside {__version__} cohort query\n# store: {store}\n# filters: {q.describe()}\n"
                 f"# run: {now}\n# patients: {len(df)}\n")
        df.to_csv(fh, sep="\t", index=False, na_rep="")
