"""Argument lists for NVIDIA Parabricks (``pbrun``) as the workflow's GPU engine (``engine: parabricks``).

Pure functions: config values and paths in, lists of words out (the rules format them with ``:q``, so
every word reaches the shell as one quoted argument). Nothing here runs a tool.

Flags follow the Parabricks tool reference (checked against the v4.6.0 and v4.8.0 manuals:
https://docs.nvidia.com/clara/parabricks/ ; see docs/gpu.md for what was checked and what was not run):

* ``pbrun fq2bam --ref REF --in-fq R1 R2 "@RG\\tID:..\\tSM:.." [--in-fq ...] --out-bam BAM
  --out-duplicate-metrics TXT --num-gpus N --tmp-dir DIR``
  (bwa mem, coordinate sort, duplicate marking; writes ``BAM.bai`` next to the BAM). Read groups are
  given per FASTQ pair, as the workflow's ``bwa mem -R`` gives them (same string).
* ``pbrun deepvariant|haplotypecaller --ref REF --in-bam BAM --out-variants VCF --num-gpus N``
* ``pbrun mutectcaller --ref REF --in-tumor-bam T --tumor-name SM [--in-normal-bam N --normal-name SM]
  --out-vcf VCF --num-gpus N``
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from bedside.errors import InputError

RUNNERS = ("apptainer", "singularity", "pbrun")
GERMLINE_CALLERS = ("deepvariant", "haplotypecaller")


def read_group(sample: str, unit: str, platform: str) -> str:
    """The read-group line of one unit, with literal ``\\t`` separators (bwa -R / pbrun --in-fq form).

    The same fields as the CPU path's ``bwa mem -R`` (workflow/rules/common.smk ``read_group``):
    ID sample.unit, SM and LB the sample, PL the platform, PU the unit."""
    return f"@RG\\tID:{sample}.{unit}\\tSM:{sample}\\tLB:{sample}\\tPL:{platform}\\tPU:{unit}"


def runner_prefix(pb: dict) -> list[str]:
    """How ``pbrun`` is started: ``apptainer|singularity exec --nv [--bind B ...] IMAGE pbrun`` or the
    ``pbrun`` on PATH (a site module, or Snakemake itself running inside the Parabricks container)."""
    runner = pb.get("runner", "apptainer")
    if runner not in RUNNERS:
        raise InputError(f"parabricks.runner {runner!r} is not one of {', '.join(RUNNERS)}")
    if runner == "pbrun":
        return ["pbrun"]
    image = pb.get("image") or ""
    if not image:
        raise InputError(f"parabricks.runner {runner} needs parabricks.image (a .sif file or docker:// URI)")
    binds = [word for b in pb.get("bind", []) or [] for word in ("--bind", str(b))]
    return [runner, "exec", "--nv", *binds, image, "pbrun"]


def extra_args(pb: dict, tool: str) -> list[str]:
    """The user's extra arguments for one pbrun tool (``parabricks.extra.<tool>``), split like a shell."""
    return shlex.split((pb.get("extra") or {}).get(tool, "") or "")


def _common(pb: dict, tmp_dir: str | None) -> list[str]:
    args = ["--num-gpus", str(int(pb.get("gpus", 1)))]
    if tmp_dir:
        args += ["--tmp-dir", str(tmp_dir)]
    return args


def sample_pairs(sheet, sample: str, r1s: Sequence[str], r2s: Sequence[str]) -> list[tuple[str, str, str]]:
    """(read 1, read 2, read group) of each unit of ``sample``, in the units sheet's order (``r1s``/``r2s``
    are the trimmed FASTQs in that order)."""
    units = list(sheet.units_of(sample))
    if not (len(units) == len(r1s) == len(r2s)):
        raise InputError(f"sample {sample}: {len(units)} units but {len(r1s)}/{len(r2s)} FASTQs")
    platform = sheet.samples[sample].platform
    return [(r1, r2, read_group(sample, u.unit_name, platform)) for u, r1, r2 in zip(units, r1s, r2s)]


def fq2bam_args(pb: dict, ref: str, pairs: Sequence[tuple[str, str, str]], out_bam: str, metrics: str,
                tmp_dir: str | None = None) -> list[str]:
    """``pbrun fq2bam`` for all units of one sample: ``pairs`` = (read 1, read 2, read group) per unit.

    No ``--knownSites``: fq2bam would only write a BQSR report (applying it is a separate tool), and the
    CPU path does no BQSR either."""
    if not pairs:
        raise InputError("pbrun fq2bam needs at least one FASTQ pair")
    args = [*runner_prefix(pb), "fq2bam", "--ref", ref]
    for r1, r2, rg in pairs:
        args += ["--in-fq", r1, r2, rg]
    args += ["--out-bam", out_bam, "--out-duplicate-metrics", metrics]
    return args + _common(pb, tmp_dir) + extra_args(pb, "fq2bam")


def germline_args(pb: dict, ref: str, bam: str, out_vcf: str, tmp_dir: str | None = None) -> list[str]:
    """``pbrun deepvariant`` or ``pbrun haplotypecaller`` (``parabricks.germline_caller``) on one BAM."""
    caller = pb.get("germline_caller", "deepvariant")
    if caller not in GERMLINE_CALLERS:
        raise InputError(f"parabricks.germline_caller {caller!r} is not one of {', '.join(GERMLINE_CALLERS)}")
    return [*runner_prefix(pb), caller, "--ref", ref, "--in-bam", bam, "--out-variants", out_vcf,
            *_common(pb, tmp_dir), *extra_args(pb, caller)]


def mutect_args(pb: dict, ref: str, tumor_bam: str, tumor_name: str, out_vcf: str,
                normal_bam: str | None = None, normal_name: str | None = None,
                tmp_dir: str | None = None) -> list[str]:
    """``pbrun mutectcaller``: tumor/normal when a normal is given, else tumor-only."""
    args = [*runner_prefix(pb), "mutectcaller", "--ref", ref, "--in-tumor-bam", tumor_bam,
            "--tumor-name", tumor_name]
    if (normal_bam is None) != (normal_name is None):
        raise InputError("pbrun mutectcaller: a normal BAM needs its sample name and vice versa")
    if normal_bam is not None:
        args += ["--in-normal-bam", normal_bam, "--normal-name", normal_name]
    return args + ["--out-vcf", out_vcf, *_common(pb, tmp_dir), *extra_args(pb, "mutectcaller")]


def germline_filter_expression(min_qual: float, min_depth: int) -> str:
    """bcftools ``-e`` expression soft-filtering (FILTER LowQual) the GPU caller's germline calls with the
    workflow's thresholds (calling.germline.min_qual / min_depth)."""
    return f"QUAL<{min_qual} || FMT/DP<{min_depth}"
