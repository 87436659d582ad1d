"""A throw-away single-node Slurm cluster (munged + slurmctld + slurmd) in one directory.

For the test suite and for an admin who wants to try the Slurm profile on one machine before a real
cluster: everything lives under one directory (its own munge key and socket, slurm.conf, state, spool,
logs, pid files), the controller and node ports are chosen free, and nothing under /etc is touched. Client
commands (sbatch, squeue, sinfo, scancel) find this cluster through ``SLURM_CONF`` (see :meth:`env`); the
jobs inherit it because sbatch exports the submitting environment.

Needs root (slurmd starts job steps as the submitting user) and Debian's ``slurm-wlm`` and ``munge``.

One path outside the directory: inside a job, snakemake-executor-plugin-slurm-jobstep 0.6 starts each rule
with ``srun`` after removing every ``SLURM_*`` variable but the job's ids -- ``SLURM_CONF`` included -- so
srun looks for the configuration where a configless slurmd caches it, ``/run/slurm/conf/slurm.conf``.
The cluster links that path to its own slurm.conf while it runs (and removes the link when it stops); it
refuses to start when ``/etc/slurm/slurm.conf`` or ``/run/slurm/conf`` already exist, so a configured
Slurm on the machine is never shadowed or touched.
No systemd, no cgroups and no accounting database: ``proctrack/linuxproc``, ``task/none``,
``accounting_storage/none`` -- the same as a site without slurmdbd, where ``sacct`` cannot answer.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from bedside.errors import ToolError

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
RUN_CONF = Path("/run/slurm/conf")  # where srun looks after SLURM_CONF and /etc/slurm (configless cache)


def missing_requirements() -> str | None:
    """Why a local cluster cannot start here (None when it can): not root, or a program missing."""
    if os.geteuid() != 0:
        return "needs root (slurmd runs jobs as the submitting user)"
    missing = [p for p in (*DAEMONS, *CLIENTS) if shutil.which(p) is None
               and not Path("/usr/sbin", p).exists()]
    if missing:
        return (f"missing {', '.join(missing)} (Debian: apt-get install slurm-wlm munge)")
    link = RUN_CONF / "slurm.conf"
    if link.is_symlink() and not link.exists() and link.readlink().name == "slurm.conf":
        shutil.rmtree(RUN_CONF)  # left by a test cluster whose process was killed: its directory is gone
    for path in (SYSTEM_CONF, RUN_CONF):
        if path.exists() or path.is_symlink():
            return f"{path} exists: a Slurm is configured on this machine; a test cluster would shadow it"
    return None


def _which(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _meminfo_mb() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise ToolError("cannot read MemTotal from /proc/meminfo")


class LocalCluster:
    """One node, one partition. ``with LocalCluster(root, partition="bedside") as c: ...`` starts the three
    daemons, waits until the node is idle, and stops them (and cancels what is left) on exit, also after an
    error.

    cpus / memory_mb: what the node offers Slurm (default: this machine's cores and 90 % of its memory,
    so jobs asking more stay unschedulable exactly as on a real node)."""

    def __init__(self, root: str | Path, *, partition: str = "bedside", cpus: int | None = None,
                 memory_mb: int | None = None, min_job_age: int = 300):
        self.root = Path(root).resolve()
        self.partition = partition
        self.cpus = cpus or os.cpu_count() or 1
        self.memory_mb = memory_mb or int(_meminfo_mb() * 0.9)
        self.min_job_age = min_job_age
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "etc/slurm.conf"
        self.munge_socket = self.root / "munge/munge.socket.2"
        self._procs: dict[str, subprocess.Popen] = {}
        self._linked = False

    # ---- configuration -------------------------------------------------------------------------------
    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment whose Slurm client commands talk to this cluster."""
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        return env

    def write_config(self) -> None:
        for d in ("etc", "munge", "state", "spool", "log", "run"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge/munge.key"
        if not key.exists():
            key.write_bytes(secrets.token_bytes(1024))
        os.chmod(key, 0o400)
        ctld_port, slurmd_port = _free_port(), _free_port()
        r = self.root
        lines = [
            "# single-node test cluster written by bedside.hpc.cluster",
            "ClusterName=bedside-test",
            f"SlurmctldHost={self.node}(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={r}/state",
            f"SlurmdSpoolDir={r}/spool",
            f"SlurmctldPidFile={r}/run/slurmctld.pid",
            f"SlurmdPidFile={r}/run/slurmd.pid",
            f"SlurmctldLogFile={r}/log/slurmctld.log",
            f"SlurmdLogFile={r}/log/slurmd.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "ReturnToService=2",
            f"MinJobAge={self.min_job_age}",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "LaunchParameters=use_interactive_step",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=60",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} "
            "State=UNKNOWN",
            f"PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    # ---- daemons -------------------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.root / f"log/{name}.out", "ab")
        self._procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                             start_new_session=True)
        log.close()

    def start(self, timeout: float = 60) -> None:
        why = missing_requirements()
        if why:
            raise ToolError(f"cannot start a local Slurm cluster: {why}")
        self.write_config()
        RUN_CONF.mkdir(parents=True)
        self._linked = True
        (RUN_CONF / "slurm.conf").symlink_to(self.conf)
        r = self.root
        self._spawn("munged", [_which("munged"), "--foreground", "--force", f"--key-file={r}/munge/munge.key",
                               f"--socket={self.munge_socket}", f"--pid-file={r}/run/munged.pid",
                               f"--log-file={r}/log/munged.log", f"--seed-file={r}/munge/munged.seed"])
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged did not create its socket")
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-c", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._run(["scontrol", "ping"]).stdout.count("UP") > 0, timeout,
                   "slurmctld did not answer scontrol ping")
        self._spawn("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf), "-N", self.node])
        self._wait(self._node_ready, timeout, "the node did not become idle")

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, env=self.env(), check=False)

    def _node_ready(self) -> bool:
        state = self._run(["sinfo", "-h", "-N", "-o", "%T"]).stdout.strip().lower()
        return state.startswith("idle") or state.startswith("mixed") or state.startswith("alloc")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise ToolError(f"{name} exited with status {proc.returncode} while starting",
                                    detail=self.logs())
            if ready():
                return
            time.sleep(0.5)
        raise ToolError(f"{what} within {timeout:.0f} s", detail=self.logs())

    def logs(self, tail: int = 40) -> str:
        out = []
        for f in sorted((self.root / "log").glob("*")):
            lines = f.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"== {f.name}\n" + "\n".join(lines))
        return "\n".join(out)

    def jobs(self) -> list[str]:
        """Lines ``id|name|state|comment`` of every job the controller still knows (pending, running,
        and finished within MinJobAge)."""
        res = self._run(["squeue", "-h", "--states=all", "-o", "%i|%j|%T|%k"])
        return [line for line in res.stdout.splitlines() if line.strip()]

    def stop(self) -> None:
        """Cancel every job, then stop slurmd, slurmctld and munged (TERM, then KILL after 15 s)."""
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            self._run(["scancel", "--full", "--quiet", f"--partition={self.partition}"])
        for name in reversed(DAEMONS):
            proc = self._procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        self._procs.clear()
        if self._linked:
            shutil.rmtree(RUN_CONF, ignore_errors=True)
            with contextlib.suppress(OSError):
                RUN_CONF.parent.rmdir()  # /run/slurm, when nothing else is in it
            self._linked = False

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
