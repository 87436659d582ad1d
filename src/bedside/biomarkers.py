"""Genome-wide biomarkers with an honest assessability verdict: tumor mutational burden (TMB).

Definition used by Bedside (stated in every TMB record and in the report):

* **What counts**: PASS somatic single-nucleotide variants, MNVs and short indels whose position lies in the
  *callable coding territory* — coding sequence (GFF3 ``CDS`` features of every transcript), intersected
  with the assay targets when a target BED is given, at positions where the tumor depth reaches
  ``min_depth``. Synonymous changes are counted, as in the FoundationOne CDx method (Chalmers et al.,
  Genome Med 2017;9:34, PMID 28420421), because counting them reduces sampling noise on small territories.
  Known driver hotspots are *not* excluded (FoundationOne CDx excludes them; on a small panel that makes
  Bedside's figure an upper estimate) and non-coding variants are not counted.
* **Territory**: TMB is *assessable* only when the callable coding territory reaches a minimum
  (``MIN_CODING_MB`` = 0.8 Mb by default). Panel-based TMB variance grows quickly on small territories
  (Chalmers 2017: markedly below ~0.5 Mb; Friends of Cancer Research TMB Harmonization Project, Merino et
  al., J Immunother Cancer 2020;8:e000147, PMID 32217756, on panel size as a driver of variability).
  Below the minimum the record says "not_assessable" with the reason; no value or class is reported.
* **Class**: High when TMB >= 10 mut/Mb, the threshold of the FDA tumor-agnostic approval of pembrolizumab
  for TMB-H solid tumors (KEYNOTE-158, Marabelle et al., Lancet Oncol 2020;21:1353-1365, PMID 32919526);
  Low otherwise.
* **Uncertainty**: an exact (Garwood) Poisson 95 % confidence interval on the count, divided by the
  territory in Mb. The interval is computed here from the regularised incomplete gamma function (no SciPy).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from bedside.errors import InputError
from bedside.model import Biomarker, Citation
from bedside.stats import gammainc_lower

MIN_CODING_MB = 0.8
TMB_HIGH = 10.0
CONFIDENCE = 0.95

CITATIONS = [
    Citation(
        source="Chalmers ZR et al. Analysis of 100,000 human cancer genomes reveals the landscape of "
        "tumor mutational burden. Genome Med 2017;9:34 (FoundationOne CDx TMB method)",
        pmid="28420421",
        date="2026-12-01",
    ),
    Citation(
        source="Merino DM et al. Establishing guidelines to harmonize tumor mutational burden (TMB). "
        "J Immunother Cancer 2020;8:e000147 (Friends of Cancer Research TMB Harmonization)",
        pmid="32217756",
        date="2026-12-01",
    ),
    Citation(
        source="Marabelle A et al. Association of tumour mutational burden with outcomes in patients "
        "with advanced solid tumours treated with pembrolizumab (KEYNOTE-158). Lancet Oncol "
        "2020;21:1353-1365 (FDA TMB-H >= 10 mut/Mb)",
        pmid="32919526",
        date="2026-12-01",
    ),
]


def definition(min_depth: int | None, targets: bool) -> str:
    where = "coding sequence (GFF3 CDS)" + (" within the assay targets" if targets else "")
    depth = f" with tumor depth >= {min_depth}" if min_depth is not None else ""
    return (
        f"PASS somatic SNVs, MNVs and short indels (synonymous included, known drivers not excluded) in "
        f"{where}{depth}, per Mb of that callable coding territory"
    )


# ------------------------------------------------------------------ exact Poisson interval


_gammainc_lower = gammainc_lower  # the regularised lower incomplete gamma (bedside.stats)


def gamma_quantile(a: float, p: float) -> float:
    """x with P(a, x) = p (inverse of the regularised lower incomplete gamma), by bisection to 1e-12."""
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    lo, hi = 0.0, max(1.0, a)
    while _gammainc_lower(a, hi) < p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if _gammainc_lower(a, mid) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2


def poisson_ci(count: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Garwood) two-sided interval for a Poisson mean given ``count`` events.

    lower = Gamma^-1(alpha/2; k, 1) (0 when k = 0), upper = Gamma^-1(1 - alpha/2; k + 1, 1), i.e. the
    chi-square form chi2(alpha/2, 2k)/2 and chi2(1 - alpha/2, 2k + 2)/2.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    alpha = 1 - confidence
    lower = 0.0 if count == 0 else gamma_quantile(count, alpha / 2)
    upper = gamma_quantile(count + 1, 1 - alpha / 2)
    return lower, upper


# ------------------------------------------------------------------ territory

Intervals = dict[str, np.ndarray]  # contig -> (n, 2) sorted, merged, 0-based half-open


def merge(per: dict[str, list[tuple[int, int]]]) -> Intervals:
    out: Intervals = {}
    for chrom, ivs in per.items():
        ivs = sorted(ivs)
        merged: list[list[int]] = []
        for s, e in ivs:
            if e <= s:
                continue
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        out[chrom] = np.array(merged, dtype=np.int64).reshape(-1, 2)
    return out


def intersect(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = {}
    for chrom in sorted(set(a) & set(b)):
        x, y = a[chrom], b[chrom]
        i = j = 0
        res = []
        while i < len(x) and j < len(y):
            s, e = max(x[i, 0], y[j, 0]), min(x[i, 1], y[j, 1])
            if s < e:
                res.append((int(s), int(e)))
            if x[i, 1] < y[j, 1]:
                i += 1
            else:
                j += 1
        out[chrom] = np.array(res, dtype=np.int64).reshape(-1, 2)
    return out


def total_bp(iv: Intervals) -> int:
    return int(sum(int((v[:, 1] - v[:, 0]).sum()) for v in iv.values()))


def contains(iv: Intervals, chrom: str, pos0: int) -> bool:
    v = iv.get(chrom)
    if v is None or not len(v):
        return False
    j = int(np.searchsorted(v[:, 0], pos0, side="right")) - 1
    return j >= 0 and pos0 < v[j, 1]


def coding_by_gene(gff3: str | Path) -> dict[str, Intervals]:
    """Merged CDS intervals (0-based half-open) per gene, over every transcript of the gene in the GFF3."""
    from bedside.annotate.transcripts import load_gff3

    gff3 = Path(gff3)
    if not gff3.exists():
        raise InputError("GFF3 file not found", path=gff3)
    out: dict[str, Intervals] = {}
    for gene, txs in load_gff3(gff3).items():
        per: dict[str, list[tuple[int, int]]] = {}
        for t in txs:
            for s, e in t.cds:
                per.setdefault(t.chrom, []).append((s - 1, e))
        if per:
            out[gene] = merge(per)
    return out


def coding_territory(gff3: str | Path, targets: str | Path | None = None) -> Intervals:
    """Union of all coding sequence in the GFF3, intersected with the targets BED when given."""
    per: dict[str, list[tuple[int, int]]] = {}
    for iv in coding_by_gene(gff3).values():
        for chrom, arr in iv.items():
            per.setdefault(chrom, []).extend((int(s), int(e)) for s, e in arr)
    coding = merge(per)
    if targets:
        coding = intersect(coding, read_bed_intervals(targets))
    return coding


def read_bed_intervals(path: str | Path) -> Intervals:
    from bedside.regions import read_bed

    path = Path(path)
    if not path.exists():
        raise InputError("targets BED not found", path=path)
    per: dict[str, list[tuple[int, int]]] = {}
    for r in read_bed(path):
        per.setdefault(r.chrom, []).append((r.start, r.end))
    return merge(per)


def write_coding_bed(gff3: str | Path, out: str | Path, targets: str | Path | None = None) -> int:
    """BED of the coding territory with the gene name in column 4 (for ``mosdepth --by``); returns bp."""
    target_iv = read_bed_intervals(targets) if targets else None
    rows = []
    for gene, iv in coding_by_gene(gff3).items():
        if target_iv is not None:
            iv = intersect(iv, target_iv)
        for chrom, arr in iv.items():
            rows.extend((chrom, int(s), int(e), gene) for s, e in arr)
    rows.sort()
    from bedside.tools import atomic_path

    with atomic_path(out) as tmp:
        tmp.write_text("".join(f"{c}\t{s}\t{e}\t{g}\n" for c, s, e, g in rows))
    return sum(e - s for _, s, e, _ in rows)


# ------------------------------------------------------------------ TMB


def tmb_biomarker(
    count: int | None,
    territory_bp: int | None,
    *,
    min_mb: float = MIN_CODING_MB,
    threshold: float = TMB_HIGH,
    min_depth: int | None = None,
    targets: bool = False,
    reason: str | None = None,
) -> Biomarker:
    """The TMB verdict for ``count`` qualifying variants over ``territory_bp`` callable coding bases."""
    defn = definition(min_depth, targets)
    b = Biomarker(
        name="TMB",
        status="not_assessable",
        unit="mut/Mb",
        threshold=threshold,
        min_territory_mb=min_mb,
        count=count,
        definition=defn,
        citations=list(CITATIONS),
    )
    if territory_bp is not None:
        b.territory_mb = round(territory_bp / 1e6, 4)
    if reason:
        b.reason = reason
        return b
    if count is None or territory_bp is None:
        b.reason = "callable coding territory not computed"
        return b
    mb = territory_bp / 1e6
    if mb < min_mb:
        b.reason = f"{fmt_mb(mb)} Mb callable coding territory < {min_mb:g} Mb minimum"
        return b
    lo, hi = poisson_ci(count)
    b.status = "assessable"
    b.value = round(count / mb, 2)
    b.ci_low, b.ci_high = round(lo / mb, 2), round(hi / mb, 2)
    b.classification = "High" if count / mb >= threshold else "Low"
    if b.classification == "Low" and b.ci_high >= threshold:
        b.reason = f"95 % confidence interval reaches the {threshold:g} mut/Mb threshold"
    elif b.classification == "High" and b.ci_low < threshold:
        b.reason = f"95 % confidence interval extends below the {threshold:g} mut/Mb threshold"
    return b


def fmt_mb(mb: float) -> str:
    return f"{mb:.2f}"


def display(b: Biomarker | None) -> str:
    """The one display string for a biomarker, shared by the report and the cohort summary."""
    if b is None:
        return "not measured"
    if b.status != "assessable":
        return "not assessable" + (f" ({b.reason})" if b.reason else "")
    text = f"{b.value:.1f} {b.unit or ''}".strip()
    if b.ci_low is not None and b.ci_high is not None:
        text += f" (95 % CI {b.ci_low:.1f}–{b.ci_high:.1f})"
    if b.classification:
        text += f", {b.classification}"
    return text


def compute_tmb(
    vcf: str | Path,
    coverage: str | Path,
    *,
    gff3: str | Path | None = None,
    targets: str | Path | None = None,
    min_depth: int = 20,
    min_mb: float = MIN_CODING_MB,
    threshold: float = TMB_HIGH,
) -> dict:
    """TMB over the callable coding territory; the all-territory figure from calling.somatic is kept too."""
    from bedside.calling import somatic
    from bedside.tools import run_tool
    from bedside.errors import ToolError
    from bedside.model import to_dict

    all_territory = somatic.compute_tmb(Path(vcf), Path(coverage), min_depth)
    out = dict(all_territory)
    if not gff3:
        b = tmb_biomarker(
            None,
            None,
            min_mb=min_mb,
            threshold=threshold,
            min_depth=min_depth,
            targets=bool(targets),
            reason="no gene annotation (--gff3) given: the coding territory is unknown",
        )
        out.update({"coding_callable_bp": None, "coding_count": None, "biomarker": to_dict(b)})
        return out
    callable_iv = somatic.read_callable(Path(coverage), min_depth)
    territory = intersect(
        merge({c: [(int(s), int(e)) for s, e in v] for c, v in callable_iv.items()}),
        coding_territory(gff3, targets),
    )
    bp = total_bp(territory)
    try:
        text = run_tool(
            ["bcftools", "query", "-i", 'FILTER="PASS"', "-f", "%CHROM\t%POS\t%REF\t%ALT\n", vcf]
        ).stdout
    except ToolError as exc:
        raise InputError(f"cannot read VCF: {exc.message}", path=vcf) from exc
    snv = indel = 0
    for line in text.splitlines():
        c, p, r, a = line.split("\t")
        if not contains(territory, c, int(p) - 1):
            continue
        if len(r) == 1 and all(len(x) == 1 for x in a.split(",")):
            snv += 1
        else:
            indel += 1
    b = tmb_biomarker(
        snv + indel, bp, min_mb=min_mb, threshold=threshold, min_depth=min_depth, targets=bool(targets)
    )
    out.update(
        {
            "gff3": str(gff3),
            "targets": str(targets) if targets else None,
            "coding_callable_bp": bp,
            "coding_count": snv + indel,
            "coding_snv": snv,
            "coding_indel": indel,
            "biomarker": to_dict(b),
        }
    )
    return out


def biomarkers_from_tmb_json(data: dict) -> list[Biomarker]:
    """Biomarker records from a `bedside tmb` JSON (an older JSON without a verdict is not assessable)."""
    from bedside.model import from_dict

    if isinstance(data.get("biomarker"), dict):
        return [from_dict(Biomarker, data["biomarker"])]
    return [
        tmb_biomarker(
            None, None, reason="tmb.json has no coding-territory verdict (rerun `bedside tmb` with --gff3)"
        )
    ]


def iter_codes(items: Iterable[Biomarker], name: str) -> Biomarker | None:
    return next((b for b in items if b.name == name), None)


# ------------------------------------------------------------------- scatter territory (MSI, copy number)

def scatter_territory(chunks: Iterable, contigs: Iterable[tuple[str, int]]) -> dict[str, list[str]]:
    """Chunk name -> the regions (samtools strings, 1-based) its scattered biomarker jobs cover, such that
    the chunks tile the whole reference: each chunk (``bedside.plan.Chunk``, in reference order) owns the
    genome from its first base up to the next chunk's first base, the first chunk also everything before
    it. Whole-genome chunks already tile the genome, so there this is just their regions; with a targets
    BED it adds the stretches between targets, so MSI sites and copy-number bins that an unscattered run
    assesses off target still belong to exactly one chunk."""
    return dict(_territory(tuple(chunks), tuple((c, int(n)) for c, n in contigs)))


@functools.lru_cache(maxsize=8)
def _territory(chunks: tuple, contigs: tuple[tuple[str, int], ...]) -> tuple[tuple[str, list[str]], ...]:
    order = {c: i for i, (c, _) in enumerate(contigs)}
    for ch in chunks:
        for r in ch.regions:
            if r.chrom not in order:
                raise InputError(f"chunk {ch.name}: contig {r.chrom!r} is not in the reference")
    starts = [(order[ch.regions[0].chrom], ch.regions[0].start) for ch in chunks]
    if starts != sorted(starts):
        raise InputError("scatter chunks are not in reference order")
    out = []
    for k, ch in enumerate(chunks):
        lo = (0, 0) if k == 0 else starts[k]
        hi = starts[k + 1] if k + 1 < len(chunks) else (len(contigs), 0)
        regions = []
        for i in range(lo[0], min(hi[0], len(contigs) - 1) + 1):
            name, length = contigs[i]
            a = lo[1] if i == lo[0] else 0
            b = hi[1] if i == hi[0] else length
            if b > a:
                regions.append(f"{name}:{a + 1}-{b}")
        out.append((ch.name, regions))
    return tuple(out)
