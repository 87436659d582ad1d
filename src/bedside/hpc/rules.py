"""What each workflow rule asks a scheduler for, read from ``workflow/rules/*.smk`` (threads, mem_mb,
runtime), and the same after a Snakemake profile's ``set-threads`` / ``set-resources`` (whose values may be
expressions of ``attempt``) for a given attempt.

Read without running Snakemake: the rules declare literal numbers (a value that is not a literal is kept as
its source text and reported as such). Used by the preflight (:mod:`bedside.hpc.preflight`), by the table in
docs/hpc.md and by the test that keeps profiles/slurm in step with the rules.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bedside.errors import InputError

_RULE = re.compile(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:", re.M)
_THREADS = re.compile(r"^\s+threads:\s*(.+?)\s*$", re.M)
_RES_BLOCK = re.compile(r"^(\s+)resources:\s*\n((?:\1\s+.*\n)+)", re.M)
_RES_ITEM = re.compile(r"^\s+(\w+)\s*=\s*(.+?),?\s*$")


@dataclass
class RuleRequest:
    rule: str
    source: str  # file it is declared in, relative to the workflow directory
    threads: int | str = 1
    resources: dict[str, int | str] = field(default_factory=dict)

    @property
    def mem_mb(self) -> int | str | None:
        return self.resources.get("mem_mb")

    @property
    def runtime(self) -> int | str | None:
        return self.resources.get("runtime")


def _literal(text: str) -> int | str:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, int) else text


def read_rules(workflow_dir: str | Path) -> dict[str, RuleRequest]:
    """Every rule of ``workflow_dir/rules/*.smk`` (and the Snakefile) -> its declared threads and
    resources. Rules without a ``threads:`` line get 1 (Snakemake's default)."""
    workflow_dir = Path(workflow_dir)
    files = sorted((workflow_dir / "rules").glob("*.smk")) + [workflow_dir / "Snakefile"]
    out: dict[str, RuleRequest] = {}
    for path in files:
        if not path.exists():
            continue
        text = path.read_text()
        starts = [(m.start(), m.group(1)) for m in _RULE.finditer(text)] + [(len(text), "")]
        for (start, name), (end, _) in zip(starts, starts[1:]):
            body = text[start:end]
            req = RuleRequest(name, str(path.relative_to(workflow_dir)))
            m = _THREADS.search(body)
            if m:
                req.threads = _literal(m.group(1))
            rb = _RES_BLOCK.search(body)
            if rb:
                for line in rb.group(2).splitlines():
                    item = _RES_ITEM.match(line)
                    if item:
                        req.resources[item.group(1)] = _literal(item.group(2))
            out[name] = req
    if not out:
        raise InputError("no rules found", path=workflow_dir)
    return out


def read_profile(path: str | Path) -> dict:
    """A Snakemake profile's YAML (a directory holding config.yaml, or the file itself)."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.yaml"
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the profile: {exc}", path=path) from exc
    if not isinstance(data, dict):
        raise InputError("a profile must be a YAML mapping", path=path)
    return data


def evaluate(value: int | str, attempt: int, threads: int | None = None) -> int | str:
    """A resource value as Snakemake evaluates a profile expression (``"6000 * attempt"``); a value that is
    not an expression of attempt/threads is returned unchanged."""
    if isinstance(value, int):
        return value
    try:
        result = eval(str(value), {"__builtins__": {"min": min, "max": max, "int": int, "round": round}},
                      {"attempt": attempt, "threads": threads})
    except Exception:  # noqa: BLE001 - a string resource (partition name, tmpdir) is not an expression
        return value
    return int(result) if isinstance(result, (int, float)) else value


def requests(rules: dict[str, RuleRequest], profile: dict | None, attempt: int = 1,
             max_threads: int | None = None, max_mem_mb: int | None = None) -> dict[str, dict]:
    """Per rule: threads, mem_mb and runtime one attempt asks for after the profile's set-threads and
    set-resources, capped as Snakemake caps them (``cores`` caps threads, ``resources: mem_mb`` caps
    memory) when the caps are given."""
    profile = profile or {}
    set_threads = profile.get("set-threads") or {}
    set_res = profile.get("set-resources") or {}
    out = {}
    for name, req in rules.items():
        threads = evaluate(set_threads.get(name, req.threads), attempt)
        res = {**req.resources, **(set_res.get(name) or {})}
        row = {"threads": threads}
        for key in ("mem_mb", "runtime"):
            if key in res:
                row[key] = evaluate(res[key], attempt, threads if isinstance(threads, int) else None)
        if max_threads and isinstance(threads, int):
            row["threads"] = min(threads, max_threads)
        if max_mem_mb and isinstance(row.get("mem_mb"), int):
            row["mem_mb"] = min(row["mem_mb"], max_mem_mb)
        out[name] = row
    return out


def growth_block(rules: dict[str, RuleRequest], skip: tuple[str, ...] = ("all",)) -> dict[str, dict]:
    """The profile's ``set-resources`` that make every rule's memory and runtime grow with the attempt:
    ``mem_mb: "<declared> * attempt"``, ``runtime: "<declared> * attempt"``."""
    out = {}
    for name, req in sorted(rules.items()):
        if name in skip:
            continue
        entry = {}
        for key in ("mem_mb", "runtime"):
            v = req.resources.get(key)
            if isinstance(v, int):
                entry[key] = f"{v} * attempt"
        if entry:
            out[name] = entry
    return out


def markdown_table(rules: dict[str, RuleRequest], profile: dict | None) -> str:
    """The docs/hpc.md table: declared threads/mem_mb/runtime and what the profile makes of them."""
    first = requests(rules, profile, attempt=1)
    second = requests(rules, profile, attempt=2)
    lines = ["| rule | file | threads (rule) | threads (profile) | mem_mb attempt 1 / 2 | runtime min 1 / 2 |",
             "|---|---|---|---|---|---|"]
    for name in sorted(rules):
        if name == "all":
            continue
        req = rules[name]
        a, b = first[name], second[name]
        lines.append(f"| `{name}` | {req.source} | {req.threads} | {a['threads']} | "
                     f"{a.get('mem_mb', '-')} / {b.get('mem_mb', '-')} | "
                     f"{a.get('runtime', '-')} / {b.get('runtime', '-')} |")
    return "\n".join(lines)
