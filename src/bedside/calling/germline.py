"""Germline calling: bcftools (and optionally freebayes) over a region, calibrated filters, gVCF,
joint genotyping, genotyping at fixed (pharmacogene) positions, and scoring against a truth set.

The tools are run here as argument lists; the command module only parses arguments.

Calling model (``caller="both"``, the default; each step measured on GIAB NA12878, see
``benchmarks/README.md``):

1. ``bcftools mpileup -D -F 0.2 -a AD,DP,SP | bcftools call -m``: full BAQ (``-D``) removes
   SNV false positives next to indels; requiring 20 % of reads to be gapped before an indel
   candidate is considered (``-F 0.2``, default 0.05) removes most homopolymer/STR indel noise.
2. calls are split into biallelic records and left-aligned (``bcftools norm -m -both -f REF``).
3. a record passes if
   - QUAL >= ``min_qual``;
   - depth >= ``min_depth`` (INFO/DP for one sample; FORMAT/DP of the best carrier for several);
   - with ``caller="both"``: freebayes (atomised, split and left-aligned the same way) has a call
     overlapping the record's reference span (an insertion spans POS..POS+1), widened by
     ``consensus_window`` bp; calls only one caller makes are mostly repeat artefacts;
   - it is not one of >= 3 SNVs within 10 bp (SnpCluster, as GATK's VariantFiltration);
   - >= ``min_alt_reads`` reads support the ALT allele (FORMAT/AD) in some carrier;
   - a heterozygous indel has an ALT read fraction >= ``min_indel_af`` in some carrier.
   Failing records are dropped (or kept with their FILTER names, ``keep_filtered``).

The thresholds were calibrated on the GIAB window itself (no held-out truth); see the caveats in
``benchmarks/README.md``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bedside.errors import InputError, ToolError

log = logging.getLogger(__name__)

CALLERS = ("bcftools", "freebayes", "both")

FILTERS = {
    "LowQual": "QUAL below the minimum (calling.germline.min_qual)",
    "LowDepth": "depth of every carrier below the minimum (calling.germline.min_depth)",
    "NoConsensus": "bcftools call without a freebayes call at the same locus",
    "SnpCluster": "one of >= cluster_size SNVs within cluster_window bp (GATK-style SnpCluster)",
    "LowAltReads": "fewer than min_alt_reads reads (FORMAT/AD) support the ALT allele in every carrier",
    "LowIndelAF": "heterozygous indel whose ALT read fraction (FORMAT/AD) is below min_indel_af",
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

    def __post_init__(self) -> None:
        if self.caller not in CALLERS:
            raise InputError(f"unknown caller '{self.caller}' (choose {', '.join(CALLERS)})")
        if self.min_qual < 0 or self.min_depth < 0:
            raise InputError("min_qual and min_depth must be >= 0")


# ---------------------------------------------------------------------------------------------
# running tools


def run_pipeline(commands: Sequence[Sequence[str | Path]], stdout_path: str | Path | None = None) -> None:
    """Run ``cmd1 | cmd2 | ...`` (argument lists, no shell); raise ToolError naming the failing tool."""
    cmds = [[str(a) for a in c] for c in commands]
    for c in cmds:
        if shutil.which(c[0]) is None:
            raise ToolError(f"required tool '{c[0]}' is not on PATH (run `make install`)")
    with contextlib.ExitStack() as stack:
        out_fh = stack.enter_context(open(stdout_path, "wb")) if stdout_path else subprocess.DEVNULL
        errs = [stack.enter_context(tempfile.TemporaryFile()) for _ in cmds]
        procs: list[subprocess.Popen] = []
        prev = None
        for i, (c, err) in enumerate(zip(cmds, errs, strict=True)):
            last = i == len(cmds) - 1
            p = stack.enter_context(subprocess.Popen(
                c, stdin=prev, stdout=out_fh if last else subprocess.PIPE, stderr=err))
            if prev is not None:
                prev.close()
            prev = p.stdout
            procs.append(p)
        codes = [p.wait() for p in procs]
        for c, code, err in zip(cmds, codes, errs, strict=True):
            if code != 0:
                err.seek(0)
                msg = err.read().decode(errors="replace").strip()[-2000:]
                raise ToolError(f"{' '.join(c[:3])} ... failed (exit {code}): {msg}")


def _run(args: Sequence[str | Path]) -> str:
    args = [str(a) for a in args]
    if shutil.which(args[0]) is None:
        raise ToolError(f"required tool '{args[0]}' is not on PATH (run `make install`)")
    try:
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError as exc:
        raise ToolError(f"{' '.join(args[:3])} ... failed (exit {exc.returncode}): "
                        f"{exc.stderr.strip()[-2000:]}") from exc


def index_vcf(path: str | Path) -> None:
    """tabix (.vcf.gz) or CSI (.bcf) index, as bcftools expects."""
    path = str(path)
    _run(["bcftools", "index", "-f"] + (["-t"] if path.endswith(".vcf.gz") else []) + [path])


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
    """Sample names (read-group SM) of the BAMs; every BAM must exist, be indexed and have SM."""
    import pysam

    names = []
    for b in bams:
        if not Path(b).exists():
            raise InputError("BAM/CRAM not found", path=b)
        with pysam.AlignmentFile(str(b), check_sq=False) as fh:
            sms = {rg.get("SM") for rg in fh.header.to_dict().get("RG", [])}
        sms.discard(None)
        if len(sms) != 1:
            raise InputError(f"expected exactly one read-group sample name (SM), found {sorted(sms) or 'none'}",
                             path=b)
        names.append(sms.pop())
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InputError(f"sample name(s) {sorted(dup)} appear in more than one BAM")
    return names


def mpileup_cmd(bams: Sequence[str | Path], ref: str | Path, params: GermlineParams,
                region: str | None = None, targets: str | Path | None = None,
                gvcf: bool = False) -> list[str]:
    cmd = ["bcftools", "mpileup", "-f", str(ref), "-a", "AD,DP,SP", "-Ou",
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
    return ["bcftools", "call", "-m", "-Ou"] + (["-v"] if variants_only else [])


def norm_cmd(ref: str | Path, atomize: bool = False) -> list[str]:
    return (["bcftools", "norm", "-f", str(ref), "-m", "-both"] + (["-a"] if atomize else [])
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


def apply_filters(in_vcf: str | Path, out_path: str | Path, params: GermlineParams,
                  support: dict[str, list[Locus]] | None = None) -> dict[str, int]:
    """Write ``in_vcf`` (split, normalised) to ``out_path`` with FILTER set; drop failing records
    unless ``params.keep_filtered``; drop genotype-less (no carrier) records. Returns counts."""
    import pysam

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


# ---------------------------------------------------------------------------------------------
# commands


def call_germline(bams: Sequence[str | Path], ref: str | Path, out: str | Path,
                  params: GermlineParams, region: str | None = None,
                  targets: str | Path | None = None) -> dict[str, int]:
    """Call germline variants of one or more samples (jointly) over ``region``; write ``out``
    (.bcf or .vcf.gz) and its index. Returns record counts per filter."""
    if not bams:
        raise InputError("no BAM given")
    check_bams(bams)
    if not Path(ref).exists():
        raise InputError("reference FASTA not found", path=ref)
    output_type(out)
    with tempfile.TemporaryDirectory(prefix="bedside-germline-") as tmp:
        tmpd = Path(tmp)
        support = None
        if params.caller in ("bcftools", "both"):
            raw = tmpd / "bcftools.bcf"
            run_pipeline([mpileup_cmd(bams, ref, params, region, targets), call_cmd(),
                          norm_cmd(ref), ["bcftools", "view", "-Ob", "-"]], raw)
            if params.caller == "both":
                fb = tmpd / "freebayes.bcf"
                run_pipeline([freebayes_cmd(bams, ref, region, targets, params),
                              norm_cmd(ref, atomize=True), norm_cmd(ref),
                              ["bcftools", "view", "-Ob", "-"]], fb)
                support = read_loci(fb)
        else:
            raw = tmpd / "freebayes.bcf"
            run_pipeline([freebayes_cmd(bams, ref, region, targets, params),
                          norm_cmd(ref, atomize=True), norm_cmd(ref),
                          ["bcftools", "view", "-Ob", "-"]], raw)
        sorted_raw = tmpd / "sorted.bcf"
        run_pipeline([["bcftools", "sort", "-T", str(tmpd / "sort"), "-Ob", "-o", str(sorted_raw),
                       str(raw)]])
        dedup = tmpd / "dedup.bcf"
        run_pipeline([["bcftools", "norm", "-d", "exact", "-Ob", "-o", str(dedup), str(sorted_raw)]])
        return apply_filters(dedup, out, params, support)


def call_gvcf(bam: str | Path, ref: str | Path, out: str | Path, params: GermlineParams,
              region: str | None = None, targets: str | Path | None = None) -> None:
    """Per-sample genotype-likelihood gVCF: variant sites with PL and non-variant blocks
    (``<*>``, INFO/END, grouped by min depth), as ``bcftools mpileup -g`` writes them, so a cohort
    can later be genotyped jointly with :func:`joint_genotype` without re-reading the BAMs."""
    check_bams([bam])
    output_type(out)
    run_pipeline([mpileup_cmd([bam], ref, params, region, targets, gvcf=True),
                  ["bcftools", "view", "-O" + output_type(out), "-"]], out)
    index_vcf(out)


def joint_genotype(gvcfs: Sequence[str | Path], ref: str | Path, out: str | Path,
                   params: GermlineParams, region: str | None = None) -> dict[str, int]:
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
    jp = GermlineParams(**{**params.__dict__, "caller": "bcftools"})
    with tempfile.TemporaryDirectory(prefix="bedside-joint-") as tmp:
        tmpd = Path(tmp)
        raw = tmpd / "joint.bcf"
        merge = ["bcftools", "merge", "--gvcf", str(ref), "-Ou"] + (["-r", region] if region else [])
        if len(gvcfs) == 1:
            first = ["bcftools", "view", "-Ou"] + (["-r", region] if region else []) + [str(gvcfs[0])]
        else:
            first = merge + [str(g) for g in gvcfs]
        run_pipeline([first, call_cmd(), norm_cmd(ref), ["bcftools", "view", "-Ob", "-"]], raw)
        dedup = tmpd / "dedup.bcf"
        run_pipeline([["bcftools", "sort", "-T", str(tmpd / "s"), "-Ou", str(raw)],
                      ["bcftools", "norm", "-d", "exact", "-Ob", "-o", str(dedup), "-"]])
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
        run_pipeline([["bcftools", "concat", "-a", "-D", "-f", str(lst), "-Ou"],
                      ["bcftools", "sort", "-T", str(Path(tmp) / "s"), "-O" + output_type(out),
                       "-o", str(out), "-"]])
    index_vcf(out)


# ---------------------------------------------------------------------------------------------
# genotyping at defined positions (pharmacogenes)


@dataclass(frozen=True, order=True)
class Position:
    chrom: str
    pos: int
    gene: str = field(compare=False, default="")
    rsid: str | None = field(compare=False, default=None)


def definition_positions(directory: str | Path) -> list[Position]:
    """Every ``variants[].chromosome/.position`` of the ``<GENE>_translation.json`` files in DIR."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("allele definitions directory not found", path=directory)
    files = sorted(directory.glob("*_translation.json"))
    if not files:
        raise InputError("no <GENE>_translation.json allele definitions found", path=directory)
    seen: dict[tuple[str, int], Position] = {}
    for f in files:
        try:
            data = json.loads(f.read_text())
            gene = data.get("gene") or f.name.split("_")[0]
            for i, v in enumerate(data["variants"]):
                try:
                    p = Position(str(v["chromosome"]), int(v["position"]), gene, v.get("rsid"))
                except (KeyError, TypeError, ValueError) as exc:
                    raise InputError(f"variant without a valid chromosome/position ({exc})", path=f,
                                     record=f"variants[{i}]") from exc
                seen.setdefault((p.chrom, p.pos), p)
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"not a PharmCAT allele definition ({exc})", path=f) from exc
    return sorted(seen.values())


def genotype_positions(bam: str | Path, ref: str | Path, positions: Sequence[Position],
                       out: str | Path, min_depth: int = 5) -> dict[str, int]:
    """Genotype the sample at every position, diploid: covered positions get a call (reference calls
    included, GT 0/0); positions with no usable read get a record with GT ./., FORMAT/DP 0 and
    FILTER NoCoverage, so "reference" and "not covered" stay distinguishable downstream. Positions on
    contigs absent from the reference are skipped (logged); if none remains it is an error."""
    import pysam

    from bedside.contigs import fasta_contigs, toggle_chr

    contigs = fasta_contigs(ref)
    usable = [p for p in positions if p.chrom in contigs and 1 <= p.pos <= contigs[p.chrom]]
    skipped = len(positions) - len(usable)
    if not usable:
        example = positions[0].chrom if positions else "?"
        hint = (f" (definitions say '{example}', the reference has '{toggle_chr(example)}')"
                if toggle_chr(example) in contigs else "")
        raise InputError(f"none of the {len(positions)} defined positions lies on a contig of the "
                         f"reference{hint}", path=ref)
    if skipped:
        log.warning("%d defined positions are on contigs absent from %s; skipped", skipped, ref)
    check_bams([bam])
    output_type(out)
    order = {c: i for i, c in enumerate(contigs)}
    usable.sort(key=lambda p: (order[p.chrom], p.pos))
    with tempfile.TemporaryDirectory(prefix="bedside-pgxpos-") as tmp:
        tmpd = Path(tmp)
        tfile = tmpd / "targets.tsv"
        tfile.write_text("".join(f"{p.chrom}\t{p.pos}\n" for p in usable))
        raw = tmpd / "raw.bcf"
        params = GermlineParams(caller="bcftools", gap_frac=0.05)
        mp = mpileup_cmd([bam], ref, params, targets=tfile)
        run_pipeline([mp, ["bcftools", "call", "-m", "--ploidy", "2", "-Ou"],
                      ["bcftools", "view", "-Ob", "-"]], raw)
        counts = {"positions": len(usable), "skipped_contig": skipped, "called": 0, "reference": 0,
                  "not_covered": 0}
        fasta = pysam.FastaFile(str(ref))
        wanted = {(p.chrom, p.pos): p for p in usable}
        with pysam.VariantFile(str(raw)) as vin:
            hdr = vin.header.copy()
            hdr.filters.add("NoCoverage", None, None, "no read covers this defined position")
            hdr.filters.add("LowDepth", None, None, f"depth below {min_depth}")
            hdr.info.add("PGX_GENE", 1, "String", "gene whose allele definition names this position")
            sample = next(iter(hdr.samples))
            got: dict[tuple[str, int], list] = {}
            for r in vin:
                if (r.chrom, r.pos) in wanted:
                    got.setdefault((r.chrom, r.pos), []).append(r)
            with pysam.VariantFile(str(out), "w" + output_type(out), header=hdr) as vout:
                for p in usable:
                    recs = got.get((p.chrom, p.pos))
                    if recs:
                        for r in recs:
                            r.translate(hdr)
                            r.info["PGX_GENE"] = p.gene
                            dp = r.samples[sample].get("DP") or 0
                            r.filter.clear()
                            r.filter.add("LowDepth" if dp < min_depth else "PASS")
                            vout.write(r)
                        counts["called"] += 1
                        gt = recs[0].samples[sample].get("GT")
                        if gt and all(g == 0 for g in gt):
                            counts["reference"] += 1
                        continue
                    base = fasta.fetch(p.chrom, p.pos - 1, p.pos).upper() or "N"
                    r = vout.new_record(contig=p.chrom, start=p.pos - 1, stop=p.pos, alleles=(base, "."),
                                        id=p.rsid, filter="NoCoverage")
                    r.info["PGX_GENE"] = p.gene
                    r.samples[sample]["GT"] = (None, None)
                    r.samples[sample]["DP"] = 0
                    vout.write(r)
                    counts["not_covered"] += 1
    index_vcf(out)
    return counts


# ---------------------------------------------------------------------------------------------
# scoring against a truth set


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"TP": self.tp, "FP": self.fp, "FN": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "F1": round(self.f1, 4)}


def normalise_for_scoring(vcf: str | Path, ref: str | Path, out: str | Path,
                          pass_only: bool = True, rename: str | Path | None = None) -> None:
    """PASS records, non-reference genotypes' alleles split to biallelic, left-aligned against REF,
    exact duplicates removed: the same treatment for calls and truth."""
    cmds = [["bcftools", "view"] + (["-f", "PASS,."] if pass_only else []) + ["-Ou", str(vcf)]]
    if rename:
        cmds.append(["bcftools", "annotate", "--rename-chrs", str(rename), "-Ou", "-"])
    cmds += [norm_cmd(ref), ["bcftools", "norm", "-d", "exact", "-Ou", "-"],
             ["bcftools", "sort", "-Oz", "-"]]
    run_pipeline(cmds, out)
    index_vcf(out)


def variant_keys(vcf: str | Path, region: tuple[str, int, int] | None = None
                 ) -> set[tuple[str, int, str, str]]:
    """(chrom, pos, ref, alt) of every ALT allele carried by some sample (any non-reference GT) in a
    normalised VCF; without samples, every ALT allele."""
    import pysam

    out = set()
    with pysam.VariantFile(str(vcf)) as vf:
        for r in vf:
            if region and (r.chrom != region[0] or not region[1] <= r.pos <= region[2]):
                continue
            carried = None
            if r.samples:
                carried = set()
                for s in r.samples.values():
                    carried.update(g for g in (s.get("GT") or ()) if g)
            for i, a in enumerate(r.alts or (), start=1):
                if a in ("*", ".") or a.startswith("<"):
                    continue
                if carried is not None and i not in carried:
                    continue
                out.add((r.chrom, r.pos, r.ref, a))
    return out


def variant_kind(key: tuple[str, int, str, str]) -> str:
    return "SNV" if len(key[2]) == 1 and len(key[3]) == 1 else "indel"


def in_bed(key: tuple[str, int, str, str], bed: Iterable[tuple[str, int, int]]) -> bool:
    return any(key[0] == c and s < key[1] <= e for c, s, e in bed)


def score(truth: set, calls: set, bed: Sequence[tuple[str, int, int]] | None = None
          ) -> dict[str, Score]:
    """Allele-level comparison (genotype-agnostic): a call is a TP if its normalised
    (chrom, pos, ref, alt) is in the truth. With ``bed``, both sets are restricted to variants whose
    POS lies in the BED intervals."""
    out = {}
    for kind in ("SNV", "indel"):
        t = {k for k in truth if variant_kind(k) == kind and (bed is None or in_bed(k, bed))}
        c = {k for k in calls if variant_kind(k) == kind and (bed is None or in_bed(k, bed))}
        out[kind] = Score(tp=len(t & c), fp=len(c - t), fn=len(t - c))
    return out


def read_bed3(path: str | Path) -> list[tuple[str, int, int]]:
    from bedside.regions import read_bed

    return [(r.chrom, r.start, r.end) for r in read_bed(path)]

