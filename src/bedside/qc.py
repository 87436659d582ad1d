"""QC metrics from samtools stats, mosdepth and fastp, and the gates the report shows."""

from __future__ import annotations

import json
from pathlib import Path

from bedside.errors import InputError
from bedside.model import QCMetric

DEFAULT_GATES = {
    "min_mean_depth_tumor": 30.0,
    "min_mean_depth_normal": 15.0,
    "min_mapped_fraction": 0.95,
    "max_duplicate_fraction": 0.3,
    "min_q30_fraction": 0.8,
}


def parse_samtools_stats(path: str | Path) -> dict[str, float]:
    """The SN (summary numbers) section of `samtools stats` as {name: value}."""
    out: dict[str, float] = {}
    with open(path) as fh:
        for line in fh:
            if line.startswith("SN\t"):
                _, key, value, *_ = line.rstrip("\n").split("\t")
                try:
                    out[key.rstrip(":")] = float(value)
                except ValueError:
                    continue
    if "raw total sequences" not in out:
        raise InputError("not a samtools stats file (no SN 'raw total sequences')", path=path)
    return out


def parse_mosdepth_summary(path: str | Path) -> dict[str, float]:
    """Mean depth over the whole genome ('total' row) and per contig from mosdepth's summary."""
    out: dict[str, float] = {}
    with open(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if header[:4] != ["chrom", "length", "bases", "mean"]:
            raise InputError("not a mosdepth summary (header chrom/length/bases/mean)", path=path,
                             line=1)
        for line in fh:
            f = line.rstrip("\n").split("\t")
            out[f[0]] = float(f[3])
    return out


def parse_fastp(path: str | Path) -> dict[str, float]:
    with open(path) as fh:
        data = json.load(fh)
    try:
        after = data["summary"]["after_filtering"]
        before = data["summary"]["before_filtering"]
        return {
            "reads_before": float(before["total_reads"]),
            "reads_after": float(after["total_reads"]),
            "q30_rate": float(after["q30_rate"]),
            "bases_after": float(after["total_bases"]),
        }
    except KeyError as exc:
        raise InputError(f"not a fastp JSON report (missing {exc})", path=path) from exc


def _gate(sample: str, metric: str, value: float | None, threshold: float, cmp: str,
          source: str) -> QCMetric:
    passed = None
    if value is not None:
        passed = value >= threshold if cmp == ">=" else value <= threshold
    return QCMetric(sample, metric, None if value is None else round(value, 4), threshold, cmp,
                    passed, source)


def sample_metrics(sample: str, role: str, stats: dict[str, float], mosdepth: dict[str, float],
                   fastp: list[dict[str, float]], gates: dict[str, float]) -> list[QCMetric]:
    g = {**DEFAULT_GATES, **gates}
    total = stats.get("raw total sequences", 0.0)
    mapped = stats.get("reads mapped", 0.0)
    dup = stats.get("reads duplicated", 0.0)
    out = [
        QCMetric(sample, "reads", total, source="samtools stats"),
        _gate(sample, "mapped_fraction", mapped / total if total else None,
              g["min_mapped_fraction"], ">=", "samtools stats"),
        _gate(sample, "duplicate_fraction", dup / total if total else None,
              g["max_duplicate_fraction"], "<=", "samtools stats"),
        _gate(sample, "mean_depth", mosdepth.get("total"),
              g[f"min_mean_depth_{role}"], ">=", "mosdepth"),
    ]
    if fastp:
        bases = sum(f["bases_after"] for f in fastp)
        q30 = sum(f["q30_rate"] * f["bases_after"] for f in fastp) / bases if bases else None
        out.append(_gate(sample, "q30_fraction", q30, g["min_q30_fraction"], ">=", "fastp"))
    return out
