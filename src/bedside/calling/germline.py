"""Germline calling: bcftools (and optionally freebayes) over a region, calibrated filters, gVCF and
joint genotyping. (Genotyping at pharmacogene positions lives in :mod:`bedside.pgx.positions`, scoring
against a truth set in :mod:`bedside.bench.scoring`; their old names here still work.)

The tools are run through :mod:`bedside.tools` as argument lists; the command module only parses arguments.

Calling (``caller="both"``, the default): ``bcftools mpileup -D -a AD,DP,SP | bcftools call -m``
(full BAQ, ``-D``, removes SNV false positives next to indels), split into biallelic records and
left-aligned (``bcftools norm -m -both -f REF``), plus freebayes over the same region (atomised, split and
left-aligned the same way) as a second opinion. Then one of two filters decides:

- **the filter model** (``filter_model="default"``, what ``bedside germline call`` uses unless told
  ``--filter-model hand``): a logistic regression over QUAL, depth relative to the call set's median,
  ALT read fraction and its distance from the genotype's expectation, ALT reads, strand bias (SP),
  MQ, freebayes agreement, and for indels their length and repeat context
  (:mod:`bedside.calling.germline_model`); the probability goes to INFO/GMP, a record below the model's
  threshold gets ``LowModelScore``; ``min_depth`` stays as a reporting floor (``LowDepth``). The model
  also fixes its candidate settings (``-F`` gap fraction). Trained on NA12878 with the 2016 NIST truth,
  evaluated on truth sets it never saw (``benchmarks/germline_heldout.py``; tables in
  ``benchmarks/README.md``).
- **the hand thresholds** (``filter_model=""``; used by joint genotyping, which has no freebayes calls):
  ``-F 0.2`` (20 % of reads gapped before an indel candidate counts), QUAL >= ``min_qual``, depth >=
  ``min_depth`` (INFO/DP for one sample; FORMAT/DP of the best carrier for several), a freebayes call
  overlapping the record's reference span (``consensus_window``), not one of >= 3 SNVs within 10 bp
  (SnpCluster), >= ``min_alt_reads`` ALT reads (FORMAT/AD), a heterozygous indel's ALT fraction >=
  ``min_indel_af``. These were tuned on the 2016 NA12878 truth; on held-out truth they are no better
  than plain bcftools for SNVs (see ``benchmarks/README.md``).

Failing records are dropped (or kept with their FILTER names, ``keep_filtered``). With
``assembly=True`` (the CLI's and the workflow's default, one BAM only) every active region — reads with
indels or long soft clips, widened to its repeat tract — is then re-called by local reassembly
(:mod:`bedside.calling.assembly`); those records (INFO/ASM) replace the filtered pileup calls there.
"""

from __future__ import annotations

import functools
import logging
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bedside.errors import InputError
from bedside.tools import bam_samples, pipe, run_tool

log = logging.getLogger(__name__)

CALLERS = ("bcftools", "freebayes", "both")

FILTERS = {
    "LowQual": "QUAL below the minimum (calling.germline.min_qual)",
    "LowDepth": "depth of every carrier below the minimum (calling.germline.min_depth)",
    "NoConsensus": "bcftools call without a freebayes call at the same locus",
    "SnpCluster": "one of >= cluster_size SNVs within cluster_window bp (GATK-style SnpCluster)",
    "LowAltReads": "fewer than min_alt_reads reads (FORMAT/AD) support the ALT allele in every carrier",
    "LowIndelAF": "heterozygous indel whose ALT read fraction (FORMAT/AD) is below min_indel_af",
    "LowModelScore": "probability from the germline filter model (INFO/GMP) below the model's threshold",
}


@dataclass(frozen=True)
class GermlineParams:
    min_qual: float = 20.0
    min_depth: int = 5
    caller: str = "both"
    full_baq: bool = True  # mpileup -D
    gap_frac: float = 0.2  # mpileup -F: min fraction of gapped reads for an indel candidate
    consensus_window: int = 0  # bp around a call's reference span where a freebayes call agrees
    cluster_size: int = 3  # SnpCluster: this many SNVs ...
    cluster_window: int = 10  # ... within this many bp (0 disables)
    min_alt_reads: int = 3  # reads supporting the ALT allele (FORMAT/AD) in the best carrier
    min_indel_af: float = 0.3  # ALT read fraction of a heterozygous indel (0 disables)
    min_mapq: int = 0
    keep_filtered: bool = False  # keep failing records with FILTER set instead of dropping them
    # "" = the hand thresholds above; "default" = the shipped model (germline_model.DEFAULT_MODEL); or a
    # path to a model JSON. The model replaces every threshold filter (QUAL, depth, consensus, cluster,
    # ALT reads, indel fraction); it needs caller="both" (freebayes agreement is one of its features).
    filter_model: str = ""
    # the model's depth feature is INFO/DP over this depth; 0 = the median INFO/DP of the call set (which
    # depends on the region called: pass the sample's median coverage to make scattered calls identical)
    median_depth: float = 0.0
    # re-call indel regions by local reassembly (bedside.calling.assembly); one sample at a time
    assembly: bool = False

    def __post_init__(self) -> None:
        if self.caller not in CALLERS:
            raise InputError(f"unknown caller '{self.caller}' (choose {', '.join(CALLERS)})")
        if self.min_qual < 0 or self.min_depth < 0:
            raise InputError("min_qual and min_depth must be >= 0")
        if self.median_depth < 0:
            raise InputError("median_depth must be >= 0")
        if self.filter_model and self.caller != "both":
            raise InputError("the germline filter model needs caller 'both' (freebayes agreement is one "
                             f"of its features), not '{self.caller}'")

# ---------------------------------------------------------------------------------------------
# running tools


def run_pipeline(commands: Sequence[Sequence[str | Path]], stdout_path: str | Path | None = None,
                 inputs: Sequence[str | Path] = ()) -> None:
    """``cmd1 | cmd2 | ...`` (argument lists, no shell) into ``stdout_path`` (or discarded); the failing
    tool is named, and with ``inputs`` (user files) its failure is an input error naming the file."""
    pipe(commands, stdout_path if stdout_path is not None else "/dev/null", inputs=inputs)


def index_vcf(path: str | Path) -> None:
    """tabix (.vcf.gz) or CSI (.bcf) index, as bcftools expects."""
    path = str(path)
    run_tool(["bcftools", "index", "-f"] + (["-t"] if path.endswith(".vcf.gz") else []) + [path], inputs=[path])


def output_type(path: str | Path) -> str:
    p = str(path)
    if p.endswith(".bcf"):
        return "b"
    if p.endswith(".vcf.gz"):
        return "z"
    raise InputError("output must end in .bcf or .vcf.gz", path=path)


def region_to_bed0(region: str) -> str:
    """samtools region chr:s-e (1-based inclusive) -> freebayes chr:s0-e (0-based, end-exclusive)."""
    chrom, _, span = region.rpartition(":")
    if not chrom or "-" not in span:
        return region  # a whole contig
    s, e = span.replace(",", "").split("-")
    return f"{chrom}:{int(s) - 1}-{e}"


def check_bams(bams: Sequence[str | Path]) -> list[str]:
    """Sample names (read-group SM) of the BAMs; every BAM must exist and name exactly one sample, and
    no sample may appear in two BAMs."""
    return bam_samples(bams)


def mpileup_cmd(bams: Sequence[str | Path], ref: str | Path, params: GermlineParams,
                region: str | None = None, targets: str | Path | None = None,
                gvcf: bool = False) -> list[str]:
    cmd = ["bcftools", "mpileup", "--no-version", "-f", str(ref), "-a", "AD,DP,SP", "-Ou",
           "-F", str(params.gap_frac), "-q", str(params.min_mapq)]
    if params.full_baq:
        cmd.append("-D")
    if region:
        cmd += ["-r", region]
    if targets:
        cmd += ["-T", str(targets)]
    if gvcf:
        cmd += ["-g", str(max(params.min_depth, 1))]
    return cmd + [str(b) for b in bams]


def call_cmd(variants_only: bool = True) -> list[str]:
    return ["bcftools", "call", "--no-version", "-m", "-Ou"] + (["-v"] if variants_only else [])


def norm_cmd(ref: str | Path, atomize: bool = False) -> list[str]:
    return (["bcftools", "norm", "--no-version", "-f", str(ref), "-m", "-both"] + (["-a"] if atomize else [])
            + ["-Ou", "-"])


def freebayes_cmd(bams: Sequence[str | Path], ref: str | Path, region: str | None,
                  targets: str | Path | None, params: GermlineParams) -> list[str]:
    cmd = ["freebayes", "-f", str(ref), "--min-mapping-quality", str(params.min_mapq)]
    if region:
        cmd += ["-r", region_to_bed0(region)]
    if targets:
        cmd += ["-t", str(targets)]
    return cmd + [str(b) for b in bams]

# ---------------------------------------------------------------------------------------------
# filters


@dataclass(frozen=True)
class Locus:
    chrom: str
    pos: int
    ref: str
    alt: str

    @property
    def end(self) -> int:
        return self.pos + len(self.ref) - 1


def read_loci(vcf: str | Path) -> dict[str, list[Locus]]:
    """ALT alleles of a (split) VCF per contig, sorted by position; reference-only records skipped."""
    import pysam

    out: dict[str, list[Locus]] = {}
    with pysam.VariantFile(str(vcf)) as vf:
        for r in vf:
            for a in r.alts or ():
                if a in ("*", ".") or a.startswith("<"):
                    continue
                out.setdefault(r.chrom, []).append(Locus(r.chrom, r.pos, r.ref, a))
    for v in out.values():
        v.sort(key=lambda x: x.pos)
    return out


def has_nearby(loci: dict[str, list[Locus]], chrom: str, start: int, end: int, window: int) -> bool:
    import bisect

    items = loci.get(chrom, [])
    positions = [x.pos for x in items]
    lo = bisect.bisect_left(positions, start - window - 200)  # long deletions start earlier
    for x in items[lo:]:
        if x.pos > end + window:
            break
        if x.end >= start - window:
            return True
    return False


def carrier_depth(rec) -> int | None:
    """Read depth behind a call: INFO/DP (raw depth) for a single sample; with several samples the
    max FORMAT/DP over the samples carrying an ALT allele. (bcftools' FORMAT/DP of an indel counts
    only reads informative for the indel, so for one sample INFO/DP is the better depth.)"""
    if len(rec.samples) <= 1 and rec.info.get("DP") is not None:
        return rec.info["DP"]
    best = None
    for s in rec.samples.values():
        gt = s.get("GT") or ()
        if not any(g not in (None, 0) for g in gt):
            continue
        dp = s.get("DP") if "DP" in rec.format else None
        if dp is None:
            dp = rec.info.get("DP")
        if dp is not None:
            best = dp if best is None else max(best, dp)
    return best


def snv_clusters(positions: Sequence[tuple[str, int]], size: int, window: int) -> set[tuple[str, int]]:
    """SNV positions that belong to a run of >= ``size`` SNVs spanning <= ``window`` bp."""
    out: set[tuple[str, int]] = set()
    if size < 2 or window <= 0:
        return out
    pos = sorted(set(positions))
    for i in range(len(pos) - size + 1):
        a, b = pos[i], pos[i + size - 1]
        if a[0] == b[0] and b[1] - a[1] < window:
            out.update(pos[i:i + size])
    return out


def _is_snv(rec) -> bool:
    return len(rec.ref) == 1 and all(len(a) == 1 for a in rec.alts or ())


def record_filters(rec, params: GermlineParams, support: dict[str, list[Locus]] | None,
                   clustered: set[tuple[str, int]] = frozenset()) -> list[str]:
    fails = []
    if rec.qual is None or rec.qual < params.min_qual:
        fails.append("LowQual")
    dp = carrier_depth(rec)
    if dp is not None and dp < params.min_depth:
        fails.append("LowDepth")
    if support is not None:
        # an insertion lies between POS and POS+1: its span includes the next base
        end = rec.pos + max(len(rec.ref) - 1, 1 if any(len(a) > len(rec.ref) for a in rec.alts) else 0)
        if not has_nearby(support, rec.chrom, rec.pos, end, params.consensus_window):
            fails.append("NoConsensus")
    if _is_snv(rec) and (rec.chrom, rec.pos) in clustered:
        fails.append("SnpCluster")
    support_reads = allele_support(rec)
    if support_reads:
        if max(n for n, _ in support_reads) < params.min_alt_reads:
            fails.append("LowAltReads")
        if (params.min_indel_af > 0 and not _is_snv(rec)
                and all(het and f < params.min_indel_af
                        for (n, het), f in zip(support_reads, allele_fractions(rec), strict=True))):
            fails.append("LowIndelAF")
    return fails


def _carriers(rec):
    for s in rec.samples.values():
        gt = s.get("GT") or ()
        if any(g not in (None, 0) for g in gt):
            yield s, gt


def allele_support(rec) -> list[tuple[int, bool]]:
    """(ALT reads from FORMAT/AD, is heterozygous) per carrier of the (biallelic) record; [] if the
    record has no AD."""
    if "AD" not in rec.format:
        return []
    out = []
    for s, gt in _carriers(rec):
        ad = s.get("AD") or ()
        alt = sum(a for a in ad[1:] if a is not None)
        out.append((alt, len(set(gt)) > 1))
    return out


def allele_fractions(rec) -> list[float]:
    out = []
    for s, _ in _carriers(rec):
        ad = [a for a in (s.get("AD") or ()) if a is not None]
        total = sum(ad)
        out.append(sum(ad[1:]) / total if total else 0.0)
    return out


@functools.lru_cache(maxsize=None)
def _tool_version(tool: str) -> str:
    """The version string ``tool --version`` prints (freebayes: 'v1.3.6', bcftools: '1.16'), as installed
    where this job runs; '' when it cannot be read."""
    try:
        res = subprocess.run([tool, "--version"], capture_output=True, text=True, errors="replace", check=False)
    except OSError:
        return ""
    first = (res.stdout or res.stderr).strip().splitlines()[:1]
    words = first[0].replace("version:", "").replace("Version:", "").split() if first else []
    return words[-1] if words else ""


def _add_tool_versions(hdr, params: GermlineParams) -> None:
    """##bedside_<tool>Version lines: the versions of the callers this job ran (read back into the case
    record by bedside.case.recorded_tool_versions)."""
    tools = {"bcftools": ("bcftools", "both"), "freebayes": ("freebayes", "both")}
    for tool, callers in tools.items():
        version = _tool_version(tool)
        if params.caller in callers and version:
            hdr.add_line(f"##bedside_{tool}Version={version}")


def apply_filters(in_vcf: str | Path, out_path: str | Path, params: GermlineParams,
                  support: dict[str, list[Locus]] | None = None,
                  ref: str | Path | None = None) -> dict[str, int]:
    """Write ``in_vcf`` (split, normalised) to ``out_path`` with FILTER set; drop failing records
    unless ``params.keep_filtered``; drop genotype-less (no carrier) records. Returns counts.
    With ``params.filter_model`` the learned filter (:func:`apply_model`) decides instead."""
    import pysam

    if params.filter_model:
        return apply_model(in_vcf, out_path, params, support, ref)
    counts = {"in": 0, "pass": 0, **{f: 0 for f in FILTERS}}
    with pysam.VariantFile(str(in_vcf)) as vin:  # first pass: SNV candidates for SnpCluster
        snvs = [(r.chrom, r.pos) for r in vin
                if _is_snv(r) and r.qual is not None and r.qual >= params.min_qual]
    clustered = snv_clusters(snvs, params.cluster_size, params.cluster_window)
    with pysam.VariantFile(str(in_vcf)) as vin:
        hdr = vin.header.copy()
        for fid, desc in FILTERS.items():
            if fid not in hdr.filters:
                hdr.filters.add(fid, None, None, desc)
        _add_tool_versions(hdr, params)
        hdr.add_line(f"##bedside_germline=<caller={params.caller},min_qual={params.min_qual},"
                     f"min_depth={params.min_depth},gap_frac={params.gap_frac},full_baq={params.full_baq},"
                     f"consensus_window={params.consensus_window},"
                     f"cluster={params.cluster_size}/{params.cluster_window}bp,"
                     f"min_alt_reads={params.min_alt_reads},min_indel_af={params.min_indel_af}>")
        with pysam.VariantFile(str(out_path), "w" + output_type(out_path), header=hdr) as vout:
            for rec in vin:
                if not rec.alts or all(a == "*" or a.startswith("<") for a in rec.alts):
                    continue
                counts["in"] += 1
                fails = record_filters(rec, params, support, clustered)
                for f in fails:
                    counts[f] += 1
                if fails and not params.keep_filtered:
                    continue
                rec.translate(hdr)
                rec.filter.clear()
                for f in fails or ["PASS"]:
                    rec.filter.add(f)
                counts["pass"] += not fails
                vout.write(rec)
    index_vcf(out_path)
    return counts


def _is_candidate(rec) -> bool:
    return bool(rec.alts) and not all(a == "*" or a.startswith("<") for a in rec.alts) and any(
        True for _ in _carriers(rec))


def candidate_features(in_vcf: str | Path, ref: str | Path | None,
                       support: dict[str, list[Locus]] | None, consensus_window: int = 0,
                       median_depth: float = 0.0):
    """Yield (record, features) for every candidate record of ``in_vcf`` (split, normalised, sorted):
    the inputs of the germline filter model (:mod:`bedside.calling.germline_model`)."""
    import pysam

    from bedside.calling import germline_model as gm

    with pysam.VariantFile(str(in_vcf)) as vin:
        positions = [(r.chrom, r.pos) for r in vin if _is_candidate(r)]
    near = gm.neighbour_counts(positions)
    med = median_depth if median_depth > 0 else gm.median_depth(in_vcf)
    refw = gm.RefWindow(ref) if ref else None
    try:
        with pysam.VariantFile(str(in_vcf)) as vin:
            for rec in vin:
                if not _is_candidate(rec):
                    continue
                agree = None
                if support is not None:
                    end = rec.pos + max(len(rec.ref) - 1,
                                        1 if any(len(a) > len(rec.ref) for a in rec.alts) else 0)
                    agree = has_nearby(support, rec.chrom, rec.pos, end, consensus_window)
                yield rec, gm.record_features(rec, refw, agree, near[(rec.chrom, rec.pos)], med)
    finally:
        if refw:
            refw.close()


def apply_model(in_vcf: str | Path, out_path: str | Path, params: GermlineParams,
                support: dict[str, list[Locus]] | None, ref: str | Path | None) -> dict[str, int]:
    """The learned filter: INFO/GMP = the model's probability that the record is real; below the
    model's threshold FILTER LowModelScore; below ``params.min_depth`` (a reporting floor) LowDepth.
    Failing records are dropped unless ``keep_filtered``. ``min_qual`` and the other thresholds are not
    used: the model weighs QUAL, depth, allele balance, strand bias, MQ, freebayes agreement and repeat
    context itself."""
    import pysam

    from bedside.calling.germline_model import FilterModel

    model = FilterModel.load(params.filter_model)
    if support is None:
        raise InputError("the germline filter model needs freebayes calls (caller 'both')")
    counts = {"in": 0, "pass": 0, "LowModelScore": 0, "LowDepth": 0}
    with pysam.VariantFile(str(in_vcf)) as vin:
        hdr = vin.header.copy()
    for fid in ("LowModelScore", "LowDepth"):
        if fid not in hdr.filters:
            hdr.filters.add(fid, None, None, FILTERS[fid])
    if "GMP" not in hdr.info:
        hdr.info.add("GMP", 1, "Float", "probability that the call is real, from the germline filter model "
                     f"{model.version}")
    _add_tool_versions(hdr, params)
    hdr.add_line(f"##bedside_germline=<caller={params.caller},filter_model={model.version},"
                 f"threshold={model.threshold},gap_frac={params.gap_frac},full_baq={params.full_baq}>")
    with pysam.VariantFile(str(out_path), "w" + output_type(out_path), header=hdr) as vout:
        for rec, feats in candidate_features(in_vcf, ref, support, params.consensus_window,
                                             params.median_depth):
            counts["in"] += 1
            prob = model.probability(feats)
            fails = [] if prob >= model.threshold else ["LowModelScore"]
            dp = carrier_depth(rec)
            if dp is not None and dp < params.min_depth:  # a reporting floor, not a learned threshold
                fails.append("LowDepth")
            for f in fails:
                counts[f] += 1
            counts["pass"] += not fails
            if fails and not params.keep_filtered:
                continue
            rec.translate(hdr)
            rec.info["GMP"] = round(prob, 4)
            rec.filter.clear()
            for f in fails or ["PASS"]:
                rec.filter.add(f)
            vout.write(rec)
    index_vcf(out_path)
    return counts


# ---------------------------------------------------------------------------------------------
# commands


def _region_list(region: str | Sequence[str] | None) -> list[str]:
    if not region:
        return []
    return [region] if isinstance(region, str) else [r for r in region if r]


def _region_arg(region: str | Sequence[str] | None) -> str | None:
    """One bcftools -r value for one or several regions (bcftools takes a comma-separated list)."""
    return ",".join(_region_list(region)) or None


def call_candidates(bams: Sequence[str | Path], ref: str | Path, tmpd: Path, params: GermlineParams,
                    region: str | None = None, targets: str | Path | None = None
                    ) -> tuple[Path, dict[str, list[Locus]] | None]:
    """The unfiltered candidate records (split, left-aligned, sorted, exact duplicates removed) in
    ``tmpd``, and freebayes' loci when ``params.caller == "both"``. ``region`` may be a list (a chunk of
    packed small contigs): each region is called in turn and the candidates concatenated in order."""
    regions = _region_list(region)
    if len(regions) > 1:
        parts, support_all = [], ({} if params.caller == "both" else None)
        for i, r in enumerate(regions):
            sub = tmpd / f"region{i}"
            sub.mkdir()
            part, support = call_candidates(bams, ref, sub, params, r, targets)
            parts.append(part)
            if support_all is not None and support:
                for chrom, loci in support.items():
                    support_all.setdefault(chrom, []).extend(loci)
        joined = tmpd / "dedup.bcf"
        run_pipeline([["bcftools", "concat", "--no-version", "-Ob", "-o", str(joined), *map(str, parts)]])
        return joined, support_all
    region = regions[0] if regions else None
    support = None
    if params.caller in ("bcftools", "both"):
        raw = tmpd / "bcftools.bcf"
        run_pipeline([mpileup_cmd(bams, ref, params, region, targets), call_cmd(),
                      norm_cmd(ref), ["bcftools", "view", "--no-version", "-Ob", "-"]], raw, inputs=bams)
        if params.caller == "both":
            fb = tmpd / "freebayes.bcf"
            run_pipeline([freebayes_cmd(bams, ref, region, targets, params),
                          norm_cmd(ref, atomize=True), norm_cmd(ref),
                          ["bcftools", "view", "--no-version", "-Ob", "-"]], fb, inputs=bams)
            support = read_loci(fb)
    else:
        raw = tmpd / "freebayes.bcf"
        run_pipeline([freebayes_cmd(bams, ref, region, targets, params),
                      norm_cmd(ref, atomize=True), norm_cmd(ref),
                      ["bcftools", "view", "--no-version", "-Ob", "-"]], raw, inputs=bams)
    sorted_raw = tmpd / "sorted.bcf"
    run_pipeline([["bcftools", "sort", "-T", str(tmpd / "sort"), "-Ob", "-o", str(sorted_raw),
                   str(raw)]])
    dedup = tmpd / "dedup.bcf"
    run_pipeline([["bcftools", "norm", "--no-version", "-d", "exact", "-Ob", "-o", str(dedup), str(sorted_raw)]])
    return dedup, support


def call_germline(bams: Sequence[str | Path], ref: str | Path, out: str | Path,
                  params: GermlineParams, region: str | Sequence[str] | None = None,
                  targets: str | Path | None = None) -> dict[str, int]:
    """Call germline variants of one or more samples (jointly) over ``region``; write ``out``
    (.bcf or .vcf.gz) and its index. Returns record counts per filter."""
    if not bams:
        raise InputError("no BAM given")
    check_bams(bams)
    if not Path(ref).exists():
        raise InputError("reference FASTA not found", path=ref)
    output_type(out)
    if params.filter_model:  # the model was trained on candidates from one mpileup setting: use it
        from bedside.calling.germline_model import FilterModel

        cand = FilterModel.load(params.filter_model).candidates
        params = replace(params, **{k: v for k, v in cand.items() if k in ("full_baq", "gap_frac")})
    with tempfile.TemporaryDirectory(prefix="bedside-germline-") as tmp:
        dedup, support = call_candidates(bams, ref, Path(tmp), params, region, targets)
        if not params.assembly or len(bams) != 1:
            return apply_filters(dedup, out, params, support, ref)
        from bedside.calling.reassemble import reassemble_calls

        filtered = Path(tmp) / "filtered.bcf"
        counts = apply_filters(dedup, filtered, params, support, ref)
        asm = reassemble_calls(filtered, bams[0], ref, out, region, targets,
                               min_depth=params.min_depth, keep_filtered=params.keep_filtered)
        counts.update({f"assembly_{k}": v for k, v in asm.items()})
        return counts


def call_gvcf(bam: str | Path, ref: str | Path, out: str | Path, params: GermlineParams,
              region: str | Sequence[str] | None = None, targets: str | Path | None = None) -> None:
    """Per-sample genotype-likelihood gVCF: variant sites with PL and non-variant blocks
    (``<*>``, INFO/END, grouped by min depth), as ``bcftools mpileup -g`` writes them, so a cohort
    can later be genotyped jointly with :func:`joint_genotype` without re-reading the BAMs."""
    check_bams([bam])
    output_type(out)
    run_pipeline([mpileup_cmd([bam], ref, params, _region_arg(region), targets, gvcf=True),
                  ["bcftools", "view", "--no-version", "-O" + output_type(out), "-"]], out, inputs=[bam])
    index_vcf(out)


def joint_genotype(gvcfs: Sequence[str | Path], ref: str | Path, out: str | Path,
                   params: GermlineParams, region: str | Sequence[str] | None = None) -> dict[str, int]:
    """Merge per-sample gVCFs (``bcftools merge --gvcf REF``) and genotype all samples jointly
    (``bcftools call -m``): one multi-sample VCF with a genotype per sample at every site any
    sample varies. Filters as in :func:`call_germline` (no freebayes consensus: gVCFs carry
    bcftools likelihoods only)."""
    if not gvcfs:
        raise InputError("no gVCF given")
    for g in gvcfs:
        if not Path(g).exists():
            raise InputError("gVCF not found", path=g)
    output_type(out)
    jp = GermlineParams(**{**params.__dict__, "caller": "bcftools", "filter_model": ""})
    region = _region_arg(region)
    with tempfile.TemporaryDirectory(prefix="bedside-joint-") as tmp:
        tmpd = Path(tmp)
        raw = tmpd / "joint.bcf"
        merge = ["bcftools", "merge", "--no-version", "--gvcf", str(ref), "-Ou"] + (["-r", region] if region else [])
        if len(gvcfs) == 1:
            first = ["bcftools", "view", "--no-version", "-Ou"] + (["-r", region] if region else []) + [str(gvcfs[0])]
        else:
            first = merge + [str(g) for g in gvcfs]
        run_pipeline([first, call_cmd(), norm_cmd(ref), ["bcftools", "view", "--no-version", "-Ob", "-"]], raw, inputs=gvcfs)
        dedup = tmpd / "dedup.bcf"
        run_pipeline([["bcftools", "sort", "-T", str(tmpd / "s"), "-Ou", str(raw)],
                      ["bcftools", "norm", "--no-version", "-d", "exact", "-Ob", "-o", str(dedup), "-"]])
        return apply_filters(dedup, out, jp, None)


def gather(chunks: Sequence[str | Path], out: str | Path) -> None:
    """Concatenate per-chunk VCF/BCFs (each sorted) into one sorted, indexed file; a variant that two
    neighbouring chunks both report (left-aligned across the boundary) is kept once."""
    if not chunks:
        raise InputError("no chunk files to gather")
    output_type(out)
    with tempfile.TemporaryDirectory(prefix="bedside-gather-") as tmp:
        lst = Path(tmp) / "chunks.txt"
        lst.write_text("".join(f"{c}\n" for c in chunks))
        for c in chunks:
            if not Path(c).exists():
                raise InputError("chunk file not found", path=c)
            if not (Path(str(c) + ".csi").exists() or Path(str(c) + ".tbi").exists()):
                index_vcf(c)
        run_pipeline([["bcftools", "concat", "--no-version", "-a", "-D", "-f", str(lst), "-Ou"],
                      ["bcftools", "sort", "-T", str(Path(tmp) / "s"), "-O" + output_type(out),
                       "-o", str(out), "-"]], inputs=chunks)
    index_vcf(out)


# ---------------------------------------------------------------------------------------------
# names that moved: PGx position genotyping -> bedside.pgx.positions, truth scoring -> bedside.bench.scoring

_MOVED = {
    **dict.fromkeys(("Position", "definition_positions", "genotype_positions"), "bedside.pgx.positions"),
    **dict.fromkeys(("Score", "normalise_for_scoring", "variant_keys", "variant_kind", "in_bed", "score",
                     "read_bed3"), "bedside.bench.scoring"),
}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
