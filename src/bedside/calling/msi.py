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


def scan(ref: str | Path, region: str | None = None) -> list[Site]:
    """Scan the reference (or one region of it) for microsatellite sites."""
    contigs = dict(tools.read_fai(ref, create=False))
    out: list[Site] = []
    with pysam.FastaFile(str(ref)) as fa:
        if region:
            chrom, start, end = parse_region(region, contigs, ref)
            out.extend(scan_sequence(chrom, fa.fetch(chrom, start, end), start))
        else:
            for chrom in contigs:
                out.extend(scan_sequence(chrom, fa.fetch(chrom), 0))
    return out


SITE_COLUMNS = ["chrom", "start", "end", "unit", "copies", "left_flank", "right_flank"]


def write_sites(sites: Sequence[Site], path: str | Path, ref: str | Path) -> None:
    lines = [f"## bedside msi sites {__version__}; reference {Path(ref).name}; 0-based half-open; "
             f"homopolymers {MIN_HOMOPOLYMER}-{MAX_HOMOPOLYMER} bp, units 2-{MAX_UNIT} bp x >= {MIN_UNIT_COPIES}",
             "\t".join(SITE_COLUMNS)]
    lines += [f"{s.chrom}\t{s.start}\t{s.end}\t{s.unit}\t{s.copies}\t{s.left}\t{s.right}" for s in sites]
    tools.write_text(path, "\n".join(lines) + "\n")


def read_sites(path: str | Path, contigs: dict[str, int] | None = None) -> list[Site]:
    path = Path(path)
    if not path.is_file():
        raise InputError("microsatellite site list not found", path=path)
    out = []
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "chrom":
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
    return 0.5 * sum(abs(t.get(k, 0) / nt - n.get(k, 0) / nn) for k in set(t) | set(n))


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


def call_sites(tumor: str | Path, normal: str | Path, sites: Iterable[Site], *, min_reads: int = MIN_READS,
               min_mapq: int = MIN_MAPQ, fdr: float = FDR, min_tvd: float = MIN_TVD) -> list[SiteResult]:
    out: list[SiteResult] = []
    with pysam.AlignmentFile(str(tumor)) as tb, pysam.AlignmentFile(str(normal)) as nb:
        for s in sites:
            t, n = length_counts(tb, s, min_mapq), length_counts(nb, s, min_mapq)
            if sum(t.values()) < min_reads or sum(n.values()) < min_reads:
                continue
            stat, df, p = chi2_homogeneity(t, n)
            # MSIsensor's chi-squared test, and a one-sided test for new (non-germline) lengths in the tumor,
            # which keeps power when few tumor reads are shifted (low purity); Bonferroni over the two
            p = min(1.0, 2 * min(p, new_allele_test(t, n)))
            out.append(SiteResult(s, dict(t), dict(n), stat, df, p, 1.0, tvd(t, n)))
    for r, q in zip(out, benjamini_hochberg([r.p for r in out])):
        r.fdr = q
        r.unstable = q < fdr and r.tvd >= min_tvd
    return out


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


def call_msi(tumor: str | Path, normal: str | Path, ref: str | Path, *, sites: str | Path | None = None,
             region: str | None = None, min_reads: int = MIN_READS, min_sites: int = MIN_SITES,
             sample_patients: dict[str, str] | None = None, sheet: str | None = None,
             patient: str | None = None) -> tuple[MsiResult, list[SiteResult]]:
    tumor, normal, ref = Path(tumor), Path(normal), Path(ref)
    t_sm, n_sm = check_inputs(tumor, normal, ref, sample_patients, sheet, patient)
    contigs = dict(tools.read_fai(ref, create=False))
    bounds = parse_region(region, contigs, ref) if region else None
    if sites is not None:
        site_list = read_sites(sites, contigs)
        if bounds:
            c, a, b = bounds
            site_list = [s for s in site_list if s.chrom == c and s.start >= a and s.end <= b]
    else:
        site_list = scan(ref, region)
    bam_contigs = dict(tools.alignment_contigs(tumor))
    site_list = [s for s in site_list if s.chrom in bam_contigs]
    results = call_sites(tumor, normal, site_list, min_reads=min_reads)
    res = MsiResult(tumor_sample=t_sm, normal_sample=n_sm, scanned_sites=len(site_list),
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
                      f"samples ({len(site_list)} scanned); at least {min_sites} are needed for a score")
        return res, results
    unstable = sum(r.unstable for r in results)
    res.count = unstable
    res.value = round(100.0 * unstable / len(results), 2)
    res.classification = classify(res.value)
    if res.classification == "indeterminate":
        res.reason = ("score between 3 and 10: MSIsensor scores in this range were mostly MSS by MSI-PCR "
                      "(Middha 2017); confirm by MSI-PCR or MMR immunohistochemistry")
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
