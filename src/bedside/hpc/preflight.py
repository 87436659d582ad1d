"""Check, before anything is submitted, that Slurm can run every Bedside job on the chosen partition.

A job asking for more CPUs than any node of its partition has stays pending for ever
(``Reason=PartitionConfig`` / ``Resources``) without an error; one asking for more memory is refused by
sbatch. A site without slurmdbd cannot answer ``sacct``, and a status command that cannot see finished jobs
waits for ever. The preflight reads the partition's nodes (``sinfo``) and the controller's configuration
(``scontrol show config``), compares them with what each rule asks for on every attempt (the workflow's
rules after the workflow profile's set-threads/set-resources, :mod:`bedside.hpc.rules`), and lists every
problem at once. ``--write-profile`` writes the site profile that caps jobs at the largest node
(``cores``, ``resources: mem_mb``) and names the partition.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bedside.errors import InputError, ToolError
from bedside.hpc.rules import read_profile, read_rules, requests

# the plugin waits at most this long between two status polls (snakemake-executor-plugin-slurm 2.8.0)
PLUGIN_MAX_POLL_S = 180


@dataclass
class Partition:
    name: str
    cpus: int  # CPUs of its largest node
    memory_mb: int  # memory of its largest node
    nodes: int
    max_time_min: int | None  # None: unlimited


@dataclass
class Finding:
    level: str  # "error" (a job could never run / the run would hang) or "warning"
    message: str


@dataclass
class Report:
    partition: Partition
    findings: list[Finding] = field(default_factory=list)
    rows: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def text(self) -> str:
        p = self.partition
        lines = [f"partition {p.name}: {p.nodes} node(s), largest {p.cpus} CPUs / {p.memory_mb} MB, "
                 f"max time {'unlimited' if p.max_time_min is None else f'{p.max_time_min} min'}"]
        lines += [f"{f.level}: {f.message}" for f in self.findings]
        if self.ok:
            lines.append("ok: every rule fits the largest node on every attempt")
        return "\n".join(lines)


def _run(argv: list[str], env: dict[str, str] | None = None) -> str:
    try:
        res = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60, env=env)
    except FileNotFoundError as exc:
        raise ToolError(f"{argv[0]} not found: run the preflight on a Slurm login node") from exc
    if res.returncode != 0:
        raise ToolError(f"{' '.join(argv)} failed: {res.stderr.strip() or res.stdout.strip()}")
    return res.stdout


def _minutes(text: str) -> int | None:
    """Slurm time limits: UNLIMITED/infinite, [days-]hours:minutes:seconds, minutes."""
    text = text.strip()
    if text.lower() in ("unlimited", "infinite", "n/a", ""):
        return None
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        days = int(d)
    parts = [int(x) for x in text.split(":")]
    if len(parts) == 3:
        h, m, s = parts
    elif len(parts) == 2:
        h, m, s = 0, parts[0], parts[1]
    else:
        h, m, s = 0, parts[0], 0
    return days * 1440 + h * 60 + m + (1 if s else 0)


def parse_sinfo(text: str, partition: str) -> Partition:
    """``sinfo -h -N -p P -o '%P|%c|%m|%l'`` (one line per node) -> the partition's largest node."""
    cpus = mem = nodes = 0
    limit: int | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 4:
            raise ToolError(f"unexpected sinfo line: {line!r}")
        nodes += 1
        cpus = max(cpus, int(re.sub(r"\D", "", fields[1]) or 0))
        mem = max(mem, int(re.sub(r"\D", "", fields[2]) or 0))
        limit = _minutes(fields[3])
    if not nodes:
        raise InputError(f"partition {partition!r} has no nodes or does not exist (sinfo -p {partition})")
    return Partition(partition, cpus, mem, nodes, limit)


def parse_config(text: str) -> dict[str, str]:
    """``scontrol show config`` -> {key: value}."""
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _seconds(value: str) -> int | None:
    m = re.match(r"^(\d+)\s*([a-zA-Z]*)", value or "")
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2).lower()
    return n * 3600 if unit in ("h", "hour", "hours") else n


def check(partition: Partition, config: dict[str, str], rules_dir: str | Path, profile: dict,
          site: dict | None = None) -> Report:
    """Every problem the partition, the controller's configuration and the profiles (workflow profile, then
    the site profile's caps) would cause, without submitting anything."""
    site = site or {}
    report = Report(partition)
    retries = int(site.get("retries", profile.get("retries", 0)) or 0)
    cores = site.get("cores", profile.get("cores"))
    cap_mem = _mem_cap(site.get("resources", profile.get("resources")))
    rules = read_rules(rules_dir)
    worst: dict[str, dict] = {}
    for attempt in range(1, retries + 2):
        for name, row in requests(rules, profile, attempt, max_threads=cores, max_mem_mb=cap_mem).items():
            if name == "all":
                continue
            w = worst.setdefault(name, {"attempt": attempt})
            for key, value in row.items():
                if isinstance(value, int) and value >= w.get(key, -1):
                    w[key] = value
                    w[f"{key}_attempt"] = attempt
    report.rows = worst
    too_many = {n: r["threads"] for n, r in worst.items() if r.get("threads", 0) > partition.cpus}
    if too_many:
        report.findings.append(Finding(
            "error", f"{len(too_many)} rule(s) ask for more CPUs than the largest node has "
            f"({partition.cpus}); they would stay pending for ever: "
            + ", ".join(f"{n} ({t})" for n, t in sorted(too_many.items()))
            + f". Cap jobs at the node: `cores: {partition.cpus}` in the site profile (--write-profile)."))
    too_big = {n: (r["mem_mb"], r["mem_mb_attempt"]) for n, r in worst.items()
               if r.get("mem_mb", 0) > partition.memory_mb}
    if too_big:
        report.findings.append(Finding(
            "error", f"{len(too_big)} rule(s) ask for more memory than the largest node has "
            f"({partition.memory_mb} MB); sbatch would refuse them: "
            + ", ".join(f"{n} ({m} MB on attempt {a})" for n, (m, a) in sorted(too_big.items()))
            + f". Cap memory: `resources: [mem_mb={partition.memory_mb}]` in the site profile."))
    if cores is None and profile.get("groups"):
        report.findings.append(Finding(
            "warning", "no `cores` cap: a group job asks for the threads of all its jobs that can run at "
            f"once, which can exceed {partition.cpus} CPUs; set `cores: {partition.cpus}`."))
    if partition.max_time_min is not None:
        long = {n: r["runtime"] for n, r in worst.items() if r.get("runtime", 0) > partition.max_time_min}
        if long:
            report.findings.append(Finding(
                "warning", f"rule(s) ask for more time than the partition's limit ({partition.max_time_min} "
                "min) on some attempt, so Slurm keeps them pending (PartitionTimeLimit): "
                + ", ".join(f"{n} ({m} min)" for n, m in sorted(long.items()))
                + "; lower their runtime in a copy of the profile or use a longer partition."))
    status = site.get("slurm-status-command", profile.get("slurm-status-command", "sacct"))
    accounting = config.get("AccountingStorageType", "")
    if status == "sacct" and accounting.endswith("/none"):
        report.findings.append(Finding(
            "error", "slurm-status-command is sacct but this cluster has no accounting "
            "(AccountingStorageType=accounting_storage/none): every status poll would fail and the run "
            "would wait for ever. Use slurm-status-command: squeue."))
    min_job_age = _seconds(config.get("MinJobAge", ""))
    if status == "squeue" and min_job_age is not None and min_job_age <= PLUGIN_MAX_POLL_S:
        level = "error" if accounting.endswith("/none") else "warning"
        report.findings.append(Finding(
            level, f"MinJobAge={min_job_age} s: squeue forgets a finished job after that, but the plugin "
            f"may wait up to {PLUGIN_MAX_POLL_S} s between polls, and a job it no longer sees looks "
            "still running for ever; ask for MinJobAge >= 300"
            + ("" if level == "error" else " or use slurm-status-command: sacct")
            + "."))
    return report


def _mem_cap(resources) -> int | None:
    if not resources:
        return None
    items = resources.items() if isinstance(resources, dict) else (
        str(r).split("=", 1) for r in resources)
    for key, value in items:
        if key.strip() == "mem_mb":
            return int(value)
    return None


def query(partition: str, env: dict[str, str] | None = None) -> tuple[Partition, dict[str, str]]:
    """The partition's largest node and the controller's configuration, from sinfo and scontrol."""
    nodes = _run(["sinfo", "-h", "-N", "-p", partition, "-o", "%P|%c|%m|%l"], env)
    return parse_sinfo(nodes, partition), parse_config(_run(["scontrol", "show", "config"], env))


def site_profile(partition: Partition, account: str | None = None) -> dict:
    """A site profile (for --profile) that names the partition and caps every job at its largest node."""
    defaults: dict[str, str] = {"slurm_partition": partition.name}
    if account:
        defaults["slurm_account"] = account
    return {"default-resources": defaults, "cores": partition.cpus,
            "resources": [f"mem_mb={partition.memory_mb}"]}


def write_site_profile(path: str | Path, partition: Partition, account: str | None = None) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    out = path / "config.yaml"
    header = (f"# Site profile for Bedside on Slurm partition {partition.name}, written by "
              "`python -m bedside.hpc preflight`.\n# cores / resources cap every job and group at the "
              "partition's largest node (docs/hpc.md).\n")
    out.write_text(header + yaml.safe_dump(site_profile(partition, account), sort_keys=False))
    return out


def load_site(path: str | Path | None) -> dict:
    return read_profile(path) if path else {}
