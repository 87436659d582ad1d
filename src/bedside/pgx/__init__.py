"""Pharmacogenomics: named-allele matching, phenotypes / activity scores, CPIC recommendations.

Python API::

    calls = call_genes("germline.vcf.gz", "resources/pgx")      # sample -> [Diplotype]
    recs = recommend(calls["NORMAL"])                             # [Recommendation]

Allele definitions are PharmCAT-format (``<GENE>_translation.json``) and always supplied by the user.
Phenotype tables and CPIC recommendations default to the bundled CC0 CPIC subset in ``pgx/data``
(see ``data/SOURCE.md``); pass ``phenotypes_dir`` / ``guidelines_dir`` for full sets.

Each :class:`~bedside.model.Diplotype` lists every diplotype the data allow (PharmCAT's top-scoring ones
plus those the missing positions cannot tell apart, see :mod:`bedside.pgx.matcher`), ``phenotypes`` (every
phenotype they map to), ``phenotype`` (the single one, or ``Indeterminate`` when they disagree) and
``status``: ``called`` (one diplotype), ``ambiguous`` (several, one phenotype), ``indeterminate``
(several phenotypes, or none assignable) or ``not_called`` (nothing present, half-missing genotype, REF
mismatch with the definitions, or no named-allele pair fits). A not-called or indeterminate gene gets no
phenotype-specific recommendation as if it were known: ambiguous keys are marked "applies if ...".
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from bedside.errors import InputError
from bedside.model import Diplotype, Recommendation
from bedside.pgx.cpic import load_guidelines, not_curated_for, recommend_for
from bedside.pgx.definitions import GeneDefinition, load_definitions
from bedside.pgx.genotypes import read_genotypes
from bedside.pgx.matcher import MatchResult, match_gene
from bedside.pgx.phenotype import PhenotypeTable, _fmt_score, load_phenotype_tables

DATA_DIR = Path(__file__).parent / "data"
BUNDLED_PHENOTYPES = DATA_DIR / "phenotypes"
BUNDLED_GUIDELINES = DATA_DIR / "guidelines"

__all__ = [
    "BUNDLED_GUIDELINES",
    "BUNDLED_PHENOTYPES",
    "call_genes",
    "diplotype_from_match",
    "read_json",
    "read_outside_calls",
    "recommend",
    "write_positions",
]

_TABLE_CACHE: dict[str, dict[str, PhenotypeTable]] = {}


def phenotype_tables(directory: str | Path | None = None) -> dict[str, PhenotypeTable]:
    key = str(Path(directory or BUNDLED_PHENOTYPES).resolve())
    if key not in _TABLE_CACHE:
        _TABLE_CACHE[key] = load_phenotype_tables(key)
    return _TABLE_CACHE[key]


def diplotype_from_match(m: MatchResult, table: PhenotypeTable | None) -> Diplotype:
    """A :class:`Diplotype` with PharmCAT-style status: every diplotype the data allow, every phenotype
    they map to; ``phenotype`` is the single phenotype when all agree, else ``Indeterminate``."""
    d = Diplotype(gene=m.gene, diplotypes=m.names(), missing_positions=list(m.missing_positions),
                  notes=list(m.notes))
    if m.mismatched_positions:
        d.notes.insert(0, "not called: REF allele in the VCF differs from the allele definition (other genome "
                          "build or representation) at " + "; ".join(m.mismatched_positions))
    if not m.called or not m.diplotypes:
        d.phenotype, d.status, d.diplotypes = "Indeterminate", "not_called", []
        return d
    if table is None:
        d.notes.append(f"no phenotype table for {m.gene}; phenotype not assigned")
        d.status = "called" if len(m.diplotypes) == 1 else "ambiguous"
        return d
    calls = [table.call(*dip) if len(dip) == 2 else table.call(dip[0], dip[0]) for dip in m.diplotypes]
    phenos = list(dict.fromkeys(c.phenotype or "unassigned" for c in calls))
    d.phenotypes = sorted(phenos)
    scores = {c.activity_score for c in calls}
    if "unassigned" in phenos:
        d.notes.append("no phenotype in the table for: " + ", ".join(
            "/".join(dip) for dip, c in zip(m.diplotypes, calls) if c.phenotype is None))
    if len(phenos) == 1 and phenos[0] != "unassigned":
        d.phenotype = phenos[0]
        d.status = "called" if len(m.diplotypes) == 1 else "ambiguous"
    else:
        d.phenotype = "Indeterminate"
        d.status = "indeterminate"
        if len(phenos) > 1:
            d.notes.append("diplotypes with different phenotypes: " + "; ".join(
                f"{'/'.join(dip)} -> {c.phenotype or 'unassigned'}" for dip, c in zip(m.diplotypes, calls)))
    if len(scores) == 1:
        d.activity_score = scores.pop()
    return d


def read_outside_calls(path: str | Path) -> list[Diplotype]:
    """Outside calls TSV: ``gene<TAB>diplotype[<TAB>phenotype[<TAB>activity_score]]``; '#' comments and a
    header line starting with ``gene`` are skipped."""
    path = Path(path)
    out: list[Diplotype] = []
    seen: set[str] = set()
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InputError(f"cannot read outside calls: {exc}", path=path) from exc
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = [c.strip() for c in next(csv.reader([line], delimiter="\t"))]
        if n == 1 and cols[0].lower() == "gene":
            continue
        if len(cols) < 2 or not cols[0] or not cols[1]:
            raise InputError("expected gene<TAB>diplotype[<TAB>phenotype[<TAB>activity_score]]", path=path, line=n)
        gene, dip = cols[0], cols[1]
        if gene in seen:
            raise InputError(f"gene {gene} given twice", path=path, line=n)
        seen.add(gene)
        if "/" not in dip:
            raise InputError(f"diplotype {dip!r} is not of the form A/B", path=path, line=n)
        score = None
        if len(cols) > 3 and cols[3]:
            try:
                score = float(cols[3])
            except ValueError as exc:
                raise InputError(f"activity score {cols[3]!r} is not a number", path=path, line=n) from exc
        out.append(Diplotype(gene=gene, diplotypes=[dip], phenotype=(cols[2] or None) if len(cols) > 2 else None,
                             activity_score=score, source="outside",
                             notes=[f"outside call from {path.name}"]))
    return out


def call_genes(vcf: str | Path, definitions_dir: str | Path, sample: str | None = None,
               outside_calls: str | Path | list[Diplotype] | None = None,
               phenotypes_dir: str | Path | None = None,
               genes: list[str] | None = None) -> dict[str, list[Diplotype]]:
    """Call every defined gene for each sample (or only ``sample``): sample -> diplotypes."""
    defs: dict[str, GeneDefinition] = load_definitions(definitions_dir, genes)
    tables = phenotype_tables(phenotypes_dir)
    outside = read_outside_calls(outside_calls) if isinstance(outside_calls, (str, Path)) else (outside_calls or [])
    genotypes = read_genotypes(vcf, defs, [sample] if sample else None)
    result: dict[str, list[Diplotype]] = {}
    outside_genes = {o.gene for o in outside}
    for s, sg in genotypes.items():
        dips = []
        for gene, defn in defs.items():
            if gene in outside_genes:
                continue  # an outside call replaces the VCF call (as in PharmCAT)
            table = tables.get(gene)
            mismatched = sg.mismatched.get(gene, [])
            if mismatched:
                m = MatchResult(gene=gene, called=False, mismatched_positions=list(mismatched))
                m.missing_positions = [defn.positions[i].label for i in range(len(defn.positions))
                                       if i not in sg.calls.get(gene, {})]
            else:
                m = match_gene(defn, sg.calls.get(gene, {}), table.activity if table else None,
                               phased=sg.phased.get(gene, set()),
                               priorities=defn.exemption.get("unphasedDiplotypePriorities"))
            m.notes[:0] = sg.notes.get(gene, [])
            dips.append(diplotype_from_match(m, table))
        for o in outside:
            o2 = Diplotype(**{**o.__dict__, "notes": list(o.notes), "missing_positions": []})
            t = tables.get(o.gene)
            if o2.phenotype is None and t is not None and len(o2.diplotypes) == 1:
                a, b = o2.diplotypes[0].split("/", 1)
                c = t.call(a, b)
                o2.phenotype, o2.activity_score = c.phenotype, o2.activity_score if o2.activity_score is not None else c.activity_score
            o2.phenotypes = [o2.phenotype] if o2.phenotype else []
            o2.status = "called" if o2.phenotype or o2.activity_score is not None else "indeterminate"
            dips.append(o2)
        result[s] = dips
    return result


def _keys_for(d: Diplotype, table: PhenotypeTable | None) -> list[tuple[str, str | None]]:
    keys: list[tuple[str, str | None]] = []
    if d.status == "not_called":
        return keys
    if table is not None and d.source == "called":
        for dip in d.diplotypes:
            a, _, b = dip.partition("/")
            c = table.call(a, b or a)
            if c.lookup_key:
                keys.append((c.lookup_key, c.phenotype))
    else:
        if d.activity_score is not None:
            keys.append((_fmt_score(d.activity_score), d.phenotype))
        if d.phenotype:
            keys.append((d.phenotype, d.phenotype))
    return list(dict.fromkeys(keys))


def recommend(diplotypes: list[Diplotype], guidelines_dir: str | Path | None = None,
              phenotypes_dir: str | Path | None = None) -> list[Recommendation]:
    """CPIC recommendations that apply to these calls (one sample), each with its guideline citation."""
    tables = phenotype_tables(phenotypes_dir)
    keys: dict[str, list[tuple[str, str | None]]] = {}
    for d in diplotypes:
        k = _keys_for(d, tables.get(d.gene))
        if k:
            keys[d.gene] = k
    guidelines = _guidelines(str(Path(guidelines_dir or BUNDLED_GUIDELINES).resolve()))
    recs = recommend_for(guidelines, keys)
    called = {d.gene for d in diplotypes if d.status != "not_called" and d.diplotypes}
    covered = {drug for g in guidelines for drug in g.drugs}
    return recs + not_curated_for(called, covered)


@lru_cache(maxsize=8)
def _guidelines(directory: str):
    return load_guidelines(directory)


def read_json(path: str | Path, sample: str | None = None) -> tuple[list[Diplotype], list[Recommendation]]:
    """Diplotypes and recommendations of one sample from a ``bedside pgx --out-json`` file (the only
    sample when ``sample`` is None)."""
    import json

    from bedside.model import from_dict

    path = Path(path)
    try:
        samples = json.loads(path.read_text())["samples"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"not a `bedside pgx` JSON: {exc}", path=path) from exc
    if sample is None:
        if len(samples) != 1:
            raise InputError(f"{len(samples)} samples in the file; name one ({', '.join(samples)})", path=path)
        sample = next(iter(samples))
    if sample not in samples:
        raise InputError(f"sample {sample!r} not in the file (has {', '.join(samples)})", path=path)
    s = samples[sample]
    return ([from_dict(Diplotype, d) for d in s["diplotypes"]],
            [from_dict(Recommendation, r) for r in s["recommendations"]])


def write_positions(definitions_dir: str | Path, out: str | Path) -> int:
    """Write every defining position as a sites VCF (for ``bcftools mpileup -T``/``call`` so that the
    germline VCF carries a record, reference or not, at each position). Returns the number of sites."""
    defs = load_definitions(definitions_dir)
    sites = sorted({(p.chrom, p.pos, p.ref, ",".join(p.alts) or ".", p.rsid or ".", g)
                    for g, d in defs.items() for p in d.positions})
    contigs = sorted({s[0] for s in sites})
    lines = ["##fileformat=VCFv4.2", *[f"##contig=<ID={c}>" for c in contigs],
             '##INFO=<ID=PX,Number=.,Type=String,Description="Pharmacogene">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{c}\t{p}\t{rs}\t{r}\t{a}\t.\tPASS\tPX={g}" for c, p, r, a, rs, g in sites]
    Path(out).write_text("\n".join(lines) + "\n")
    return len(sites)
