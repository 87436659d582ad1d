#!/usr/bin/env python3
"""Summarise Snakemake benchmark files (benchmarks/<patient|cohort|ref>/<rule>/...tsv) per rule.

Usage: python benchmarks/stage_times.py [BENCHMARK_DIR] [--wall SECONDS]
Prints a Markdown table: rule, jobs, total s, max s, max RSS MB.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path


def collect(root: Path) -> dict[str, list[dict[str, float]]]:
    per_rule: dict[str, list[dict[str, float]]] = defaultdict(list)
    for path in root.rglob("*.tsv"):
        rel = path.relative_to(root).parts
        if len(rel) < 2:
            continue
        rule = rel[-2] if len(rel) >= 3 else rel[-1].removesuffix(".tsv")
        with open(path) as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                per_rule[rule].append({"s": float(row["s"]),
                                       "rss": float(row["max_rss"]) if row["max_rss"] not in ("", "NA", "-") else 0.0})
    return per_rule


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 and not argv[1].startswith("--") else Path("benchmarks")
    per_rule = collect(root)
    if not per_rule:
        print(f"no Snakemake benchmark files under {root}", file=sys.stderr)
        return 1
    total = 0.0
    print("| rule | jobs | total s | max s | max RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for rule, rows in sorted(per_rule.items(), key=lambda kv: -sum(r["s"] for r in kv[1])):
        s = sum(r["s"] for r in rows)
        total += s
        print(f"| {rule} | {len(rows)} | {s:.1f} | {max(r['s'] for r in rows):.1f} | "
              f"{max(r['rss'] for r in rows):.0f} |")
    print(f"| **all** | {sum(len(v) for v in per_rule.values())} | {total:.1f} | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
