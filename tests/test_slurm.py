"""Slurm for real: the demo through profiles/slurm on a single-node slurmctld/slurmd started by the test, its
reports equal to a local run's; the profile's resources in step with the rules; the preflight's checks.

The cluster (bedside.hpc.cluster.LocalCluster) has no accounting (sacct cannot answer, as on a site without
slurmdbd), a partition not called "compute", 2 CPUs and this machine's memory, its own munge key and
socket, free ports and its own state directory. The Slurm run gets only what a site would give it: the
site profile the preflight writes (partition, caps at the largest node); everything else comes from
profiles/slurm. Reduced to fit the suite's time budget: the demo's first patient only, up to its case record
and report.json (37 rule jobs: every rule a patient's report needs; the Hail cohort store, MultiQC, PDF,
FHIR, panel of normals and joint calling need the whole cohort and are covered locally by the e2e test).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bedside.hpc import preflight as pf
from bedside.hpc.cluster import LocalCluster, missing_requirements
from bedside.hpc.rules import growth_block, read_profile, read_rules, requests
from tests.conftest import require_tools

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles/slurm"
PARTITION = "bedside-test"
# report fields that legitimately differ between two runs of the same inputs
VOLATILE = {"generated"}


# ---- fast checks: the profile and the preflight (no cluster) ----------------------------------------------

def test_profile_resources_in_step_with_rules() -> None:
    """The profile's per-attempt memory/runtime is generated from the rules; a rule whose mem_mb or runtime
    changed (or a new rule) must be regenerated: `python -m bedside.hpc growth --write`."""
    profile = read_profile(PROFILE)
    have = {rule: {k: v for k, v in entry.items() if k in ("mem_mb", "runtime")}
            for rule, entry in profile["set-resources"].items()}
    want = growth_block(read_rules(REPO / "workflow"))
    stale = sorted(r for r in set(have) | set(want) if have.get(r) != want.get(r))
    assert not stale, (f"profiles/slurm set-resources out of step with workflow/rules for {stale}: run "
                       "`python -m bedside.hpc growth --write`")


def test_profile_leaves_site_keys_to_the_site() -> None:
    """Keys of the workflow profile win over the site profile's, so the site's keys are not set here; and
    nothing overrides threads (cpus_per_task) or leaves the run waiting on sacct."""
    profile = read_profile(PROFILE)
    for key in ("default-resources", "cores", "resources"):
        assert key not in profile, f"profiles/slurm sets {key}: a site profile could not set it"
    assert "cpus_per_task" not in json.dumps(profile)
    assert profile["slurm-status-command"] == "squeue"
    assert profile["slurm-init-seconds-before-status-checks"] <= 20
    grouped = {g.split("=")[0] for g in profile["groups"]}
    rules = read_rules(REPO / "workflow")
    assert grouped <= set(rules), f"groups name unknown rules: {sorted(grouped - set(rules))}"
    # memory and time double on the retry
    first, second = requests(rules, profile, 1), requests(rules, profile, 2)
    assert second["bwa_mem"]["mem_mb"] == 2 * first["bwa_mem"]["mem_mb"]
    assert second["bwa_mem"]["runtime"] == 2 * first["bwa_mem"]["runtime"]


def test_preflight_names_what_would_hang() -> None:
    """A 2-CPU / 8 GB partition without accounting: bwa_mem's 8 threads and bwa_index's retry memory are
    refused by name; sacct as the status command is an error; with the site profile's caps all fits."""
    part = pf.parse_sinfo("small|2|8000|1-00:00:00\n", "small")
    assert (part.cpus, part.memory_mb, part.max_time_min) == (2, 8000, 1440)
    config = pf.parse_config("AccountingStorageType   = accounting_storage/none\nMinJobAge = 300 sec\n")
    profile = read_profile(PROFILE)
    report = pf.check(part, config, REPO / "workflow", profile)
    text = report.text()
    assert not report.ok
    assert "bwa_mem (8)" in text and "cores: 2" in text
    assert re.search(r"bwa_index \(16000 MB on attempt 2\)", text), text
    report = pf.check(part, config, REPO / "workflow", {**profile, "slurm-status-command": "sacct"},
                      pf.site_profile(part))
    assert not report.ok and "no accounting" in report.text()
    report = pf.check(part, config, REPO / "workflow", profile, pf.site_profile(part))
    assert report.ok, report.text()
    assert report.rows["bwa_mem"]["threads"] == 2 and report.rows["bwa_index"]["mem_mb"] == 8000
    short = pf.parse_config("AccountingStorageType=accounting_storage/none\nMinJobAge=60 sec\n")
    assert not pf.check(part, short, REPO / "workflow", profile, pf.site_profile(part)).ok


def test_preflight_unknown_partition() -> None:
    from bedside.errors import InputError

    with pytest.raises(InputError, match="partition 'nope'"):
        pf.parse_sinfo("", "nope")


# ---- the real thing ----------------------------------------------------------------------------------------

def _patients(project: Path) -> list[str]:
    with open(project / "config/samples.tsv") as fh:
        next(fh)
        return sorted({line.split("\t")[1] for line in fh if line.strip()})


def _snakemake(project: Path, args: list[str], env: dict[str, str], log: str) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/Snakefile"),
                          "--directory", str(project), *args], capture_output=True, text=True, env=env,
                         check=False)
    (project / log).write_text(res.stdout + res.stderr)
    return res


def _stable(obj):
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = missing_requirements()
    if why:
        pytest.skip(f"no local Slurm cluster: {why}")
    root = tmp_path_factory.mktemp("slurm")
    with LocalCluster(root, partition=PARTITION) as c:  # stops the daemons on exit, also after a failure
        yield c


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> tuple[Path, Path]:
    """Two copies of one demo project reduced to its first patient (tumor 2 units, normal 1 unit: every
    rule of a patient's report runs), one for the local run, one for the Slurm run."""
    require_tools("bwa", "samtools", "bcftools", "fastp", "mosdepth", "art_illumina", "tabix")
    base = tmp_path_factory.mktemp("slurm-demo")
    local, remote = base / "local", base / "slurm"
    subprocess.run([sys.executable, "-m", "bedside.cli", "demo-data", str(local / "resources/demo")],
                   check=True, capture_output=True)
    shutil.copytree(REPO / "config", local / "config")
    samples = (local / "config/samples.tsv").read_text().splitlines()
    patient = sorted(line.split("\t")[1] for line in samples[1:] if line.strip())[0]
    keep = {line.split("\t")[0] for line in samples[1:] if line.split("\t")[1] == patient}
    (local / "config/samples.tsv").write_text("\n".join(
        [samples[0]] + [x for x in samples[1:] if x.split("\t")[0] in keep]) + "\n")
    units = (local / "config/units.tsv").read_text().splitlines()
    (local / "config/units.tsv").write_text("\n".join(
        [units[0]] + [x for x in units[1:] if x.split("\t")[0] in keep]) + "\n")
    shutil.copytree(local, remote, symlinks=True)
    return local, remote


@pytest.mark.slow
@pytest.mark.slurm
def test_demo_on_slurm_equals_local(cluster: LocalCluster, projects: tuple[Path, Path]) -> None:
    local, remote = projects
    # the rules call `bedside` etc.: the venv on PATH; sbatch exports this environment to every job
    env = cluster.env({**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"})
    targets = [f"results/{p}/{f}" for p in _patients(local) for f in ("case.json", "report.json")]

    # preflight against the real partition: the profile alone asks 8 CPUs of a 2-CPU node ...
    part, config = pf.query(PARTITION, env=env)
    assert part.cpus == cluster.cpus and config["AccountingStorageType"].endswith("/none")
    bare = pf.check(part, config, REPO / "workflow", read_profile(PROFILE))
    assert not bare.ok and "bwa_mem (8)" in bare.text()
    # ... and the site profile it writes caps every job at the node
    site = pf.write_site_profile(remote.parent / "site", part)
    assert pf.check(part, config, REPO / "workflow", read_profile(PROFILE), pf.load_site(site)).ok
    # sacct cannot answer here: a status command left at sacct would wait for ever
    assert subprocess.run(["sacct", "-X"], env=env, capture_output=True).returncode != 0

    # the local reference run alongside the Slurm run (it fills the node while the Slurm run waits on polls)
    t0 = time.monotonic()
    local_run = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/Snakefile"), "--directory", str(local),
         "--workflow-profile", str(REPO / "profiles/local"), "--cores", "2", *targets],
        stdout=open(local / "local.log", "w"), stderr=subprocess.STDOUT, env=env)
    try:
        res = _snakemake(remote, ["--workflow-profile", str(PROFILE), "--profile", str(site.parent),
                                  *targets], env, "slurm.log")
        t_slurm = time.monotonic() - t0
    finally:
        local_run.wait()
    local_log = (local / "local.log").read_text()
    assert local_run.returncode == 0, local_log[-6000:]
    t_local = re.search(r"Elapsed time: (\S+)", local_log).group(1)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-6000:] + "\n" + cluster.logs()

    # every rule job of the DAG ran, in fewer Slurm jobs (grouping), all named after this run
    rule_jobs = int(re.search(r"^total\s+(\d+)", log, re.M).group(1))
    submitted = re.findall(r"_slurm_rpc_submit_batch_job: JobId=(\d+)",
                           (cluster.root / "log/slurmctld.log").read_text())
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    assert run_id.startswith("bedside_")
    names = {line.split("|")[1] for line in cluster.jobs()}
    assert names == {run_id}, names
    assert 0 < len(submitted) < rule_jobs
    print(f"\nlocal {t_local}, slurm {t_slurm:.0f} s (concurrently); {rule_jobs} rule jobs in {len(submitted)} "
          f"Slurm jobs")

    # the reports equal the local run's
    for target in targets:
        a = _stable(json.loads((local / target).read_text()))
        b = _stable(json.loads((remote / target).read_text()))
        assert a == b, f"{target}: Slurm run differs from the local run"
    # no job asked more CPUs than the node has (bwa_mem's 8 threads capped by the site profile)
    cpus = [int(n) for n in re.findall(r"Allocate JobId=\d+ NodeList=\S+ #CPUs=(\d+)",
                                        (cluster.root / "log/slurmctld.log").read_text())]
    assert cpus and max(cpus) <= cluster.cpus
