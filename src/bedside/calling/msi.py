"""Microsatellite instability (MSI) from a tumor/normal pair, MSIsensor-style.

Method (after MSIsensor, Niu et al., Bioinformatics 2014;30:1015-1016, PMID 24371154):

1. **Sites** are scanned from the reference once (:func:`scan`): homopolymers of 10-50 bp and repeats of
   2-5 bp units with at least 5 copies (MSIsensor's defaults for distribution analysis, ``msisensor msi
   -p 10 -m 50 -s 5``), each with 5 bp of non-repeat flank on both sides. Sites closer than 20 bp to
   each other are dropped. The list is a TSV (:func:`write_sites` / :func:`read_sites`).
2. **Read-length distributions** per site and sample: every primary, non-duplicate read with mapping
   quality >= 20 whose alignment covers the repeat and both 5 bp flanks without clipping contributes
   one repeat length: the reference length plus the inserted minus the deleted bases its CIGAR places
   inside the repeat (an indel that reaches into a flank disqualifies the read).
3. **Per-site test**: Pearson's chi-squared test of homogeneity of the tumor and normal length counts
   (2 x K table, K observed lengths), as MSIsensor does, combined (Bonferroni, 2 x the smaller p) with a
   one-sided Fisher exact test for more tumor than normal reads at lengths that are not the normal's
   alleles (>= 20 % of its reads) - a Bedside addition that keeps power at low purity, where the shifted
   reads are few and spread over several lengths; sites need >= ``min_reads`` (default 20,
   MSIsensor's WXS coverage threshold) length-informative reads in each sample. P-values are corrected
   with Benjamini-Hochberg across the assessed sites; a site is **unstable** when FDR < 0.05 (MSIsensor's
   default ``-f 0.05``) and, in addition (a Bedside guard against sparse-table chi-squared artefacts),
   the total-variation distance between the two length distributions is >= 0.1.
4. **Score** = 100 x unstable sites / assessed sites (MSIsensor's score). **MSI-H** when the score is
   >= 10, **indeterminate** from 3 to < 10, **MSS** below 3: the cut-offs validated against MSI-PCR and
   MMR immunohistochemistry for MSIsensor on the MSK-IMPACT panel (Middha et al., JCO Precis Oncol 2017,
   PMID 30211344: score >= 10 MSI-H; 3-10 "slightly elevated", 96.6 % of those MSS by PCR).
   Fewer than ``min_sites`` (default 50) assessed sites: **not assessable**, with the reason, no score.

The chi-squared survival function is computed here from the regularised upper incomplete gamma function
(no SciPy in the runtime).
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pysam

from bedside import __version__, tools
from bedside.errors import InputError
from bedside.stats import gammainc_upper

log = logging.getLogger(__name__)

FLANK = 5
MIN_HOMOPOLYMER = 10
MAX_HOMOPOLYMER = 50
MIN_UNIT_COPIES = 5
MAX_UNIT = 5
MAX_REPEAT_BP = 100
MIN_GAP = 20
MIN_MAPQ = 20
MIN_READS = 20
FDR = 0.05
MIN_TVD = 0.10
MSI_H = 10.0
INDETERMINATE = 3.0
MIN_SITES = 50

CITATIONS = [
    {"source": "Niu B et al. MSIsensor: microsatellite instability detection using paired tumor-normal "
               "sequence data. Bioinformatics 2014;30:1015-1016 (method: chi-squared test of tumor vs normal "
               "repeat-length distributions, score = % unstable sites)", "pmid": "24371154",
     "date": "2026-12-01"},
    {"source": "Middha S et al. Reliable pan-cancer microsatellite instability assessment by using targeted "
               "next-generation sequencing data. JCO Precis Oncol 2017 (MSIsensor score >= 10 MSI-H; 3-10 "
               "indeterminate, validated against MSI-PCR and MMR IHC)", "pmid": "30211344",
     "date": "2026-12-01"},
]


@dataclass(frozen=True)
class Site:
    chrom: str
    start: int  # 0-based first repeat base
    end: int  # 0-based exclusive
    unit: str
    copies: int
    left: str  # FLANK bases before
    right: str  # FLANK bases after

    @property
    def length(self) -> int:
        return self.end - self.start


# --------------------------------------------------------------------------------------------- scanning

_REPEAT = {k: re.compile(r"([ACGT]{%d})\1{%d,}" % (k, (MIN_UNIT_COPIES if k > 1 else MIN_HOMOPOLYMER) - 1))
           for k in range(1, MAX_UNIT + 1)}


def _primitive(unit: str) -> bool:
    n = len(unit)
    return not any(n % d == 0 and unit == unit[:d] * (n // d) for d in range(1, n))


def scan_sequence(chrom: str, seq: str, offset: int = 0) -> list[Site]:
    """Microsatellite sites of one sequence (upper-cased); ``offset`` is added to positions."""
    seq = seq.upper()
    found: list[tuple[int, int, str]] = []
    for k in range(1, MAX_UNIT + 1):
        for m in _REPEAT[k].finditer(seq):
            unit = m.group(1)
            if k > 1 and not _primitive(unit):
                continue
            a, b = m.start(), m.end()
            if k == 1 and b - a > MAX_HOMOPOLYMER:
                continue
            if b - a > MAX_REPEAT_BP:
                continue
            found.append((a, b, unit))
    found.sort()
    sites: list[Site] = []
    for i, (a, b, unit) in enumerate(found):
        # keep sites that overlap no other repeat and lie >= MIN_GAP from their neighbours
        prev_end = found[i - 1][1] if i else -10**9
        next_start = found[i + 1][0] if i + 1 < len(found) else 10**12
        if a - prev_end < MIN_GAP or next_start - b < MIN_GAP:
            continue
        if a < FLANK or b + FLANK > len(seq):
            continue
        left, right = seq[a - FLANK:a], seq[b:b + FLANK]
        if "N" in left or "N" in right:
            continue
        sites.append(Site(chrom, a + offset, b + offset, unit, (b - a) // len(unit), left, right))
    return sites


def scan(ref: str | Path, region: str | Sequence[str] | None = None) -> list[Site]:
    """Scan the reference for microsatellite sites; with ``region`` (one or several), the sites whose first
    repeat base lies in one of them. The contigs they touch are scanned whole, so a region's sites are
    exactly those of the genome-wide list (a window cut mid-repeat, or a neighbour just outside it, would
    otherwise change which sites pass the spacing rule)."""
    contigs = dict(tools.read_fai(ref, create=False))
    bounds = parse_regions(region, contigs, ref) if region else None
    out: list[Site] = []
    with pysam.FastaFile(str(ref)) as fa:
        for chrom in contigs:
            if bounds is None or any(b[0] == chrom for b in bounds):
                out.extend(scan_sequence(chrom, fa.fetch(chrom), 0))
    return select_sites(out, bounds) if bounds else out


def select_sites(sites: Iterable[Site], bounds: Sequence[tuple[str, int, int]]) -> list[Site]:
    """The sites whose first repeat base lies in one of ``bounds`` ((chrom, 0-based start, end)): the rule
    by which the scatter chunks share out the sites, so each site is counted by exactly one chunk (a site
    across a chunk boundary belongs to the chunk of its start)."""
    by_chrom: dict[str, list[tuple[int, int]]] = {}
    for c, a, b in bounds:
        by_chrom.setdefault(c, []).append((a, b))
    return [s for s in sites if any(a <= s.start < b for a, b in by_chrom.get(s.chrom, ()))]


SITE_COLUMNS = ["chrom", "start", "end", "unit", "copies", "left_flank", "right_flank"]


def write_sites(sites: Sequence[Site], path: str | Path, ref: str | Path) -> None:
    lines = [f"## bedside msi sites {__version__}; reference {Path(ref).name}; 0-based half-open; "
             f"homopolymers {MIN_HOMOPOLYMER}-{MAX_HOMOPOLYMER} bp, units 2-{MAX_UNIT} bp x >= {MIN_UNIT_COPIES}",
             "\t".join(SITE_COLUMNS)]
    lines += [f"{s.chrom}\t{s.start}\t{s.end}\t{s.unit}\t{s.copies}\t{s.left}\t{s.right}" for s in sites]
    tools.write_text(path, "\n".join(lines) + "\n")


def read_sites(path: str | Path, contigs: dict[str, int] | None = None,
               chroms: set[str] | None = None) -> list[Site]:
    """The site list; with ``chroms``, only the sites on those contigs (a scatter chunk reading the
    genome-wide list skips the other contigs' rows unparsed)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("microsatellite site list not found", path=path)
    out = []
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "chrom" or (chroms is not None and cols[0] not in chroms):
                continue
            if len(cols) != 7:
                raise InputError(f"expected 7 columns ({', '.join(SITE_COLUMNS)}), got {len(cols)}",
                                 path=path, line=lineno)
            try:
                s = Site(cols[0], int(cols[1]), int(cols[2]), cols[3], int(cols[4]), cols[5], cols[6])
            except ValueError:
                raise InputError("start, end and copies must be integers", path=path, line=lineno) from None
            if contigs is not None and (s.chrom not in contigs or s.end > contigs[s.chrom]):
                raise InputError(f"site {s.chrom}:{s.start}-{s.end} is outside the reference", path=path,
                                 line=lineno)
            out.append(s)
    return out


def parse_region(region: str, contigs: dict[str, int], ref: str | Path) -> tuple[str, int, int]:
    """'chr:start-end' (1-based inclusive) or 'chr' -> (chrom, 0-based start, end); outside -> InputError."""
    m = re.fullmatch(r"([^:]+)(?::([\d,]+)-([\d,]+))?", region.strip())
    if not m:
        raise InputError(f"region {region!r} is not chr:start-end", record=region)
    chrom = m.group(1)
    if chrom not in contigs:
        raise InputError(f"region contig {chrom!r} is not in the reference", path=ref, record=region)
    if m.group(2) is None:
        return chrom, 0, contigs[chrom]
    start, end = int(m.group(2).replace(",", "")), int(m.group(3).replace(",", ""))
    if start < 1 or end < start or end > contigs[chrom]:
        raise InputError(f"region {region} lies outside {chrom} (length {contigs[chrom]})", path=ref,
                         record=region)
    return chrom, start - 1, end


def parse_regions(regions: str | Sequence[str], contigs: dict[str, int],
                  ref: str | Path) -> list[tuple[str, int, int]]:
    """One or several regions (a string or a list of them) -> [(chrom, 0-based start, end)]."""
    if isinstance(regions, str):
        regions = [regions]
    return [parse_region(r, contigs, ref) for r in regions]


# --------------------------------------------------------------------------------------- read lengths

def read_repeat_length(read: pysam.AlignedSegment, site: Site, flank: int = FLANK) -> int | None:
    """Repeat length this read supports at ``site`` (None when the read does not span it cleanly)."""
    lo, hi = site.start - flank, site.end + flank
    if read.reference_start > lo or read.reference_end is None or read.reference_end < hi:
        return None
    pos = read.reference_start
    length = site.length
    for op, n in read.cigartuples:
        if op in (0, 7, 8):  # M, =, X
            pos += n
        elif op == 1:  # insertion before reference position pos
            if site.start <= pos <= site.end:
                length += n
            elif lo < pos < hi:
                return None
        elif op in (2, 3):  # deletion / skip of reference [pos, pos+n)
            a, b = pos, pos + n
            if a < hi and lo < b:
                if site.start <= a and b <= site.end:
                    length -= n
                else:
                    return None
            pos = b
        elif op == 4:  # soft clip: only at the ends, outside the window (checked by the span test)
            continue
        if pos >= hi and op in (0, 7, 8):
            # beyond the window; remaining ops cannot touch the repeat
            break
    return length


def length_counts(bam: pysam.AlignmentFile, site: Site, min_mapq: int = MIN_MAPQ) -> Counter:
    c: Counter = Counter()
    for read in bam.fetch(site.chrom, max(0, site.start - FLANK), site.end + FLANK):
        if read.is_unmapped or read.is_secondary or read.is_supplementary or read.is_duplicate \
                or read.is_qcfail or read.mapping_quality < min_mapq:
            continue
        n = read_repeat_length(read, site)
        if n is not None:
            c[n] += 1
    return c


# --------------------------------------------------------------------------------------------- statistics

def chi2_sf(x: float, df: int) -> float:
    return 1.0 if df <= 0 else gammainc_upper(df / 2.0, x / 2.0)


def chi2_homogeneity(t: Counter, n: Counter) -> tuple[float, int, float]:
    """Pearson chi-squared statistic, degrees of freedom and p-value of a 2 x K table."""
    keys = sorted(set(t) | set(n))
    nt, nn = sum(t.values()), sum(n.values())
    total = nt + nn
    if len(keys) < 2 or nt == 0 or nn == 0:
        return 0.0, 0, 1.0
    stat = 0.0
    for k in keys:
        col = t.get(k, 0) + n.get(k, 0)
        for obs, rowsum in ((t.get(k, 0), nt), (n.get(k, 0), nn)):
            exp = rowsum * col / total
            stat += (obs - exp) ** 2 / exp
    df = len(keys) - 1
    return stat, df, chi2_sf(stat, df)


def fisher_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact p-value that a/(a+b) exceeds c/(c+d) (2 x 2 table [[a, b], [c, d]])."""
    r1, r2, c1 = a + b, c + d, a + c
    n = r1 + r2

    def logp(x: int) -> float:
        return (math.lgamma(c1 + 1) - math.lgamma(x + 1) - math.lgamma(c1 - x + 1)
                + math.lgamma(n - c1 + 1) - math.lgamma(r1 - x + 1) - math.lgamma(n - c1 - r1 + x + 1)
                - math.lgamma(n + 1) + math.lgamma(r1 + 1) + math.lgamma(n - r1 + 1))

    hi = min(r1, c1)
    return min(1.0, sum(math.exp(logp(x)) for x in range(a, hi + 1)))


def new_allele_test(t: Counter, n: Counter, allele_fraction: float = 0.2) -> float:
    """One-sided Fisher test: more tumor reads than normal reads at lengths that are not the normal's
    alleles (lengths holding >= ``allele_fraction`` of the normal's reads)."""
    nn = sum(n.values())
    alleles = {k for k, v in n.items() if v >= allele_fraction * nn}
    t_other = sum(v for k, v in t.items() if k not in alleles)
    n_other = sum(v for k, v in n.items() if k not in alleles)
    return fisher_greater(t_other, sum(t.values()) - t_other, n_other, nn - n_other)


def tvd(t: Counter, n: Counter) -> float:
    nt, nn = sum(t.values()), sum(n.values())
    # summed in length order, so the value does not depend on how the counts were built (read or merged)
    return 0.5 * sum(abs(t.get(k, 0) / nt - n.get(k, 0) / nn) for k in sorted(set(t) | set(n)))


def benjamini_hochberg(p: Sequence[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    prev = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        prev = min(prev, p[i] * m / rank)
        q[i] = prev
    return q


# ------------------------------------------------------------------------------------------------- calling

@dataclass
class SiteResult:
    site: Site
    tumor: dict[int, int]
    normal: dict[int, int]
    chi2: float = 0.0
    df: int = 0
    p: float = 1.0
    fdr: float = 1.0
    tvd: float = 0.0
    unstable: bool = False


@dataclass
class MsiResult:
    name: str = "MSI"
    status: str = "assessable"
    value: float | None = None
    unit: str = "% unstable microsatellite sites"
    classification: str | None = None
    threshold: float = MSI_H
    count: int | None = None  # unstable sites
    assessed_sites: int = 0
    scanned_sites: int = 0
    reason: str | None = None
    definition: str = ""
    tumor_sample: str = ""
    normal_sample: str = ""
    citations: list[dict] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)


def classify(score: float) -> str:
    return "MSI-H" if score >= MSI_H else ("indeterminate" if score >= INDETERMINATE else "MSS")


def count_sites(tumor: str | Path, normal: str | Path, sites: Iterable[Site], *,
                min_mapq: int = MIN_MAPQ) -> list[tuple[Site, Counter, Counter]]:
    """Repeat-length counts of every site in tumor and normal (the read-level work; what a scatter chunk
    does)."""
    out = []
    with pysam.AlignmentFile(str(tumor)) as tb, pysam.AlignmentFile(str(normal)) as nb:
        for s in sites:
            out.append((s, length_counts(tb, s, min_mapq), length_counts(nb, s, min_mapq)))
    return out


def assess_sites(counts: Iterable[tuple[Site, Counter, Counter]], *, min_reads: int = MIN_READS, fdr: float = FDR,
               min_tvd: float = MIN_TVD) -> list[SiteResult]:
    """Per-site tests on the length counts, then Benjamini-Hochberg over all assessed sites (which is why a
    scattered run tests only after its chunks are merged)."""
    out: list[SiteResult] = []
    for s, t, n in counts:
        if sum(t.values()) < min_reads or sum(n.values()) < min_reads:
            continue
        stat, df, p = chi2_homogeneity(t, n)
        # MSIsensor's chi-squared test, and a one-sided test for new (non-germline) lengths in the tumor,
        # which keeps power when few tumor reads are shifted (low purity); Bonferroni over the two
        p = min(1.0, 2 * min(p, new_allele_test(t, n)))
        out.append(SiteResult(s, dict(sorted(t.items())), dict(sorted(n.items())), stat, df, p, 1.0, tvd(t, n)))
    for r, q in zip(out, benjamini_hochberg([r.p for r in out])):
        r.fdr = q
        r.unstable = q < fdr and r.tvd >= min_tvd
    return out


def call_sites(tumor: str | Path, normal: str | Path, sites: Iterable[Site], *, min_reads: int = MIN_READS,
               min_mapq: int = MIN_MAPQ, fdr: float = FDR, min_tvd: float = MIN_TVD) -> list[SiteResult]:
    return assess_sites(count_sites(tumor, normal, sites, min_mapq=min_mapq), min_reads=min_reads, fdr=fdr,
                      min_tvd=min_tvd)


def check_inputs(tumor: Path, normal: Path, ref: Path, sample_patients: dict[str, str] | None = None,
                 sheet: str | None = None, patient: str | None = None) -> tuple[str, str]:
    """Same checks as the somatic caller: indexed BAMs, one SM each, same reference, same patient."""
    from bedside.calling.somatic import check_pair

    for p in (tumor, normal, ref):
        if not Path(p).exists():
            raise InputError("file not found", path=p)
    t, n = check_pair(tumor, normal, ref, patient, False, sample_patients, sheet)
    assert n is not None
    return t, n


def _site_list(tumor: Path, ref: Path, sites: str | Path | None,
               region: str | Sequence[str] | None) -> list[Site]:
    """The sites to assess: from the list (or a scan of the reference), those starting in ``region`` (one or
    several), on contigs the tumor BAM has."""
    contigs = dict(tools.read_fai(ref, create=False))
    bounds = parse_regions(region, contigs, ref) if region else None
    if sites is not None:
        site_list = read_sites(sites, contigs, {b[0] for b in bounds} if bounds else None)
        if bounds:
            site_list = select_sites(site_list, bounds)
    else:
        site_list = scan(ref, region)
    bam_contigs = dict(tools.alignment_contigs(tumor))
    return [s for s in site_list if s.chrom in bam_contigs]


def call_msi(tumor: str | Path, normal: str | Path, ref: str | Path, *, sites: str | Path | None = None,
             region: str | Sequence[str] | None = None, min_reads: int = MIN_READS, min_sites: int = MIN_SITES,
             sample_patients: dict[str, str] | None = None, sheet: str | None = None,
             patient: str | None = None) -> tuple[MsiResult, list[SiteResult]]:
    tumor, normal, ref = Path(tumor), Path(normal), Path(ref)
    t_sm, n_sm = check_inputs(tumor, normal, ref, sample_patients, sheet, patient)
    site_list = _site_list(tumor, ref, sites, region)
    results = call_sites(tumor, normal, site_list, min_reads=min_reads)
    return summarize(results, t_sm, n_sm, len(site_list), min_reads=min_reads, min_sites=min_sites), results


def summarize(results: Sequence[SiteResult], t_sm: str, n_sm: str, scanned: int, *, min_reads: int = MIN_READS,
              min_sites: int = MIN_SITES) -> MsiResult:
    """Score, class and the record around them, from the tested sites."""
    res = MsiResult(tumor_sample=t_sm, normal_sample=n_sm, scanned_sites=scanned,
                    assessed_sites=len(results), citations=CITATIONS,
                    parameters={"min_reads": min_reads, "min_sites": min_sites, "fdr": FDR, "min_tvd": MIN_TVD,
                                "min_mapq": MIN_MAPQ, "flank": FLANK, "msi_h": MSI_H,
                                "indeterminate": INDETERMINATE})
    res.definition = (f"MSIsensor-style score: % of assessed microsatellite sites (homopolymers "
                      f"{MIN_HOMOPOLYMER}-{MAX_HOMOPOLYMER} bp; 2-{MAX_UNIT} bp units x >= {MIN_UNIT_COPIES}; "
                      f">= {min_reads} spanning reads in tumor and normal) whose tumor repeat-length distribution "
                      f"differs from the normal's (chi-squared test combined with a one-sided Fisher test for new lengths, "
                      f"BH FDR < {FDR}, total-variation distance >= "
                      f"{MIN_TVD}); MSI-H >= {MSI_H:g}, indeterminate {INDETERMINATE:g}-{MSI_H:g}, MSS < "
                      f"{INDETERMINATE:g} (Middha 2017)")
    if len(results) < min_sites:
        res.status = "not_assessable"
        res.reason = (f"only {len(results)} microsatellite sites had >= {min_reads} spanning reads in both "
                      f"samples ({scanned} scanned); at least {min_sites} are needed for a score")
        return res
    unstable = sum(r.unstable for r in results)
    res.count = unstable
    res.value = round(100.0 * unstable / len(results), 2)
    res.classification = classify(res.value)
    if res.classification == "indeterminate":
        res.reason = ("score between 3 and 10: MSIsensor scores in this range were mostly MSS by MSI-PCR "
                      "(Middha 2017); confirm by MSI-PCR or MMR immunohistochemistry")
    return res


# ------------------------------------------------------------------------------- scatter: counts / merge
#
# A scattered run splits the read-level work (the repeat-length counts) over the workflow's chunks and
# tests only after merging: the per-site tests need nothing but a site's own counts, but the
# Benjamini-Hochberg correction and the score need every assessed site. Chunk file (TSV, one per chunk):
#
#   ## bedside-msi-counts {"version": ..., "tumor": SM, "normal": SM, "reference": name, "regions": [...],
#                          "min_mapq": 20, "flank": 5}
#   chrom  start  end  unit  copies  left_flank  right_flank  tumor_lengths  normal_lengths
#
# one row per site of the chunk (every site whose first repeat base lies in one of its regions, on a contig
# of the tumor BAM, reads or not), 0-based half-open; lengths as "length:reads" pairs joined by commas,
# "." when no read spans the site. Merging (:func:`merge_counts`) runs the same tests as an unscattered run
# on the union, in reference order, so the score, class and site counts are the same.

COUNTS_MAGIC = "## bedside-msi-counts "
COUNT_COLUMNS = [*SITE_COLUMNS, "tumor_lengths", "normal_lengths"]


def _fmt_lengths(c: dict[int, int]) -> str:
    return ",".join(f"{k}:{v}" for k, v in sorted(c.items()) if v) or "."


def count_msi(tumor: str | Path, normal: str | Path, ref: str | Path, out: str | Path, *,
              sites: str | Path | None = None, region: str | Sequence[str] | None = None,
              sample_patients: dict[str, str] | None = None, sheet: str | None = None,
              patient: str | None = None) -> int:
    """One scatter chunk: the repeat-length counts of the sites starting in ``region`` -> ``out``; returns the
    number of sites."""
    tumor, normal, ref = Path(tumor), Path(normal), Path(ref)
    t_sm, n_sm = check_inputs(tumor, normal, ref, sample_patients, sheet, patient)
    site_list = _site_list(tumor, ref, sites, region)
    meta = {"version": __version__, "tumor": t_sm, "normal": n_sm, "reference": ref.name,
            "regions": [region] if isinstance(region, str) else list(region or []), "min_mapq": MIN_MAPQ,
            "flank": FLANK}
    lines = [COUNTS_MAGIC + json.dumps(meta), "\t".join(COUNT_COLUMNS)]
    for s, t, n in count_sites(tumor, normal, site_list):
        lines.append(f"{s.chrom}\t{s.start}\t{s.end}\t{s.unit}\t{s.copies}\t{s.left}\t{s.right}\t"
                     f"{_fmt_lengths(t)}\t{_fmt_lengths(n)}")
    tools.write_text(out, "\n".join(lines) + "\n")
    return len(site_list)


def _parse_lengths(text: str, path: Path, lineno: int) -> Counter:
    c: Counter = Counter()
    if text == ".":
        return c
    try:
        for pair in text.split(","):
            k, v = pair.split(":")
            if int(k) < 0 or int(v) < 0:
                raise ValueError
            if int(v):
                c[int(k)] = int(v)
    except ValueError:
        raise InputError(f"repeat lengths {text!r} are not length:reads pairs", path=path, line=lineno) from None
    return c


def read_counts(path: str | Path) -> tuple[dict, list[tuple[Site, Counter, Counter]]]:
    """A chunk file -> (its metadata, [(site, tumor counts, normal counts)])."""
    path = Path(path)
    if not path.is_file():
        raise InputError("MSI chunk counts not found", path=path)
    rows = []
    with path.open() as fh:
        first = fh.readline()
        if not first.startswith(COUNTS_MAGIC):
            raise InputError("not a bedside MSI counts file (written by `bedside msi --counts-out`)", path=path,
                             line=1)
        try:
            meta = json.loads(first[len(COUNTS_MAGIC):])
        except json.JSONDecodeError:
            raise InputError("the header's metadata is not JSON", path=path, line=1) from None
        for key in ("tumor", "normal", "min_mapq", "flank"):
            if key not in meta:
                raise InputError(f"the header lacks {key!r}", path=path, line=1)
        for lineno, line in enumerate(fh, 2):
            cols = line.rstrip("\n").split("\t")
            if cols == COUNT_COLUMNS or not line.strip():
                continue
            if len(cols) != len(COUNT_COLUMNS):
                raise InputError(f"expected {len(COUNT_COLUMNS)} columns ({', '.join(COUNT_COLUMNS)}), got "
                                 f"{len(cols)}", path=path, line=lineno)
            try:
                s = Site(sys.intern(cols[0]), int(cols[1]), int(cols[2]), sys.intern(cols[3]), int(cols[4]),
                         cols[5], cols[6])
            except ValueError:
                raise InputError("start, end and copies must be integers", path=path, line=lineno) from None
            rows.append((s, _parse_lengths(cols[7], path, lineno), _parse_lengths(cols[8], path, lineno)))
    return meta, rows


def merge_counts(paths: Sequence[str | Path], ref: str | Path, *, min_reads: int = MIN_READS,
                 min_sites: int = MIN_SITES) -> tuple[MsiResult, list[SiteResult]]:
    """Score the union of the chunk files (any order): the same result as one unscattered run over the
    chunks' regions."""
    if not paths:
        raise InputError("no MSI chunk counts to merge")
    order = {c: i for i, (c, _) in enumerate(tools.read_fai(ref, create=False))}
    contigs = dict(tools.read_fai(ref, create=False))
    first: tuple[Path, dict] | None = None
    seen: dict[tuple[str, int], Path] = {}
    rows: list[tuple[Site, Counter, Counter]] = []
    for p in map(Path, paths):
        meta, chunk = read_counts(p)
        if first is None:
            first = (p, meta)
        else:
            for key in ("tumor", "normal", "min_mapq", "flank"):
                if meta[key] != first[1][key]:
                    raise InputError(f"{key} is {meta[key]!r} here but {first[1][key]!r} in {first[0]}: chunks "
                                     f"of different runs", path=p, line=1)
        for s, t, n in chunk:
            if s.chrom not in contigs or s.end > contigs[s.chrom]:
                raise InputError(f"site {s.chrom}:{s.start}-{s.end} is outside the reference {ref}", path=p)
            if (s.chrom, s.start) in seen:
                raise InputError(f"site {s.chrom}:{s.start}-{s.end} is also in {seen[(s.chrom, s.start)]}: "
                                 f"overlapping chunks", path=p)
            seen[(s.chrom, s.start)] = p
        rows += chunk
    rows.sort(key=lambda r: (order[r[0].chrom], r[0].start, r[0].end, r[0].unit))
    results = assess_sites(rows, min_reads=min_reads)
    assert first is not None
    res = summarize(results, first[1]["tumor"], first[1]["normal"], len(rows), min_reads=min_reads,
                    min_sites=min_sites)
    return res, results


def write_result(res: MsiResult, results: Sequence[SiteResult], out: str | Path,
                 sites_out: str | Path | None = None) -> None:
    tools.write_text(out, json.dumps(asdict(res), indent=2) + "\n")
    if sites_out:
        lines = ["chrom\tstart\tend\tunit\tref_copies\ttumor_reads\tnormal_reads\tchi2\tdf\tp\tfdr\ttvd\tunstable"
                 "\ttumor_lengths\tnormal_lengths"]
        for r in results:
            s = r.site
            fmt = lambda d: ",".join(f"{k}:{v}" for k, v in sorted(d.items()))  # noqa: E731
            lines.append(f"{s.chrom}\t{s.start}\t{s.end}\t{s.unit}\t{s.copies}\t{sum(r.tumor.values())}\t"
                         f"{sum(r.normal.values())}\t{r.chi2:.3f}\t{r.df}\t{r.p:.3g}\t{r.fdr:.3g}\t{r.tvd:.3f}\t"
                         f"{int(r.unstable)}\t{fmt(r.tumor)}\t{fmt(r.normal)}")
        tools.write_text(sites_out, "\n".join(lines) + "\n")


def to_biomarker(path: str | Path):
    """``msi.json`` -> :class:`bedside.model.Biomarker` (for the case record)."""
    from bedside.model import Biomarker, Citation

    d = json.loads(Path(path).read_text())
    reason = d.get("reason")
    if d.get("status") == "assessable":
        extra = f"{d.get('count')}/{d.get('assessed_sites')} sites unstable"
        reason = f"{reason}; {extra}" if reason else extra
    return Biomarker(name="MSI", status=d["status"], value=d.get("value"), unit=d.get("unit"),
                     classification=d.get("classification"), threshold=d.get("threshold"), count=d.get("count"),
                     reason=reason, definition=d.get("definition"),
                     citations=[Citation(source=c["source"], pmid=c.get("pmid"), date=c.get("date"))
                                for c in d.get("citations", [])])
