"""One Hail session per process: local Spark (``local[*]``) by default, a cluster when asked.

The Spark master comes from (first set wins): the ``master`` argument (CLI ``--spark-master``, Snakemake
``cohort.spark_master``), the ``BEDSIDE_SPARK_MASTER`` environment variable, else ``local[N]`` with N the
usable CPU count (``local[*]`` semantics, but honouring a cgroup/affinity CPU limit).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

from bedside.errors import InputError

log = logging.getLogger(__name__)

BUILTIN = ("GRCh37", "GRCh38")
_STATE: dict[str, object] = {}


def default_master() -> str:
    env = os.environ.get("BEDSIDE_SPARK_MASTER")
    if env:
        return env
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return f"local[{max(1, n)}]"


def init(master: str | None = None, *, tmp_dir: str | None = None, driver_memory: str | None = None,
         log_path: str | None = None, quiet: bool = True):
    """Start Hail once (later calls return the running session). Returns the ``hail`` module."""
    import hail as hl

    if _STATE.get("started"):
        return hl
    master = master or default_master()
    tmp_dir = tmp_dir or os.environ.get("BEDSIDE_HAIL_TMP") or tempfile.gettempdir()
    conf = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", "spark.sql.shuffle.partitions": "8"}
    mem = driver_memory or os.environ.get("BEDSIDE_SPARK_DRIVER_MEMORY")
    if mem:
        conf["spark.driver.memory"] = mem
    elif master.startswith("local"):
        conf["spark.driver.memory"] = "4g"
    log_path = log_path or str(Path(tmp_dir) / f"hail-{os.getpid()}.log")
    log.info("starting Hail on Spark master %s (log %s)", master, log_path)
    hl.init(master=master, app_name="bedside-cohort", tmp_dir=tmp_dir, local_tmpdir=tmp_dir, log=log_path,
            quiet=quiet, spark_conf=conf, idempotent=True, min_block_size=0)
    _STATE["started"] = True
    _STATE["master"] = master
    return hl


def read_fai(path: str | Path) -> list[tuple[str, int]]:
    out = []
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[1].isdigit():
                raise InputError("not a FASTA index line (name<TAB>length...)", path=path, line=n)
            out.append((parts[0], int(parts[1])))
    return out


def vcf_contigs(vcf: str | Path) -> list[tuple[str, int | None]]:
    """Contigs declared in the VCF header (##contig=<ID=..,length=..>), in order."""
    import pysam

    try:
        with pysam.VariantFile(str(vcf)) as f:
            return [(name, c.length) for name, c in f.header.contigs.items()]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read VCF header: {exc}", path=vcf) from exc


def _sex_contigs(names: list[str]) -> tuple[list[str], list[str], list[str]]:
    x = [c for c in names if re.fullmatch(r"(chr)?X", c)]
    y = [c for c in names if re.fullmatch(r"(chr)?Y", c)]
    mt = [c for c in names if re.fullmatch(r"(chr)?(M|MT)", c)]
    return x, y, mt


def reference(vcf: str | Path, build: str | None = None, fai: str | Path | None = None,
              par: list[tuple[str, int, int]] | None = None) -> str:
    """Name of the Hail reference genome for ``vcf``, checking the VCF was made on that build.

    ``build`` GRCh37/GRCh38 use Hail's bundled definitions. Any other name (e.g. the demo's
    ``bedside-demo-2``) is defined from ``fai`` (the reference's .fai) or, without one, from the VCF's own
    ##contig lines, under the build name with characters other than letters, digits and '_' replaced by
    '_' (``bedside_demo_2``); X/Y/MT are recognised by name (``X`` or ``chrX``). A VCF contig missing from the build,
    or with another length, is an InputError naming the file and contig (a cohort VCF on another build).
    """
    hl = init()
    header = vcf_contigs(vcf)
    if build in BUILTIN:
        rg = hl.get_reference(build)
        lengths = dict(rg.lengths)
        name = build
    else:
        # Hail generates JVM method names from the reference name: letters, digits and '_' only
        name = re.sub(r"\W", "_", build or "bedside_custom")
        try:
            rg = hl.get_reference(name)  # defined earlier in this session, or loaded with a stored MT
            lengths = dict(rg.lengths)
            if fai and dict(read_fai(fai)) != lengths:
                raise InputError(f"reference build {name!r} is already defined with other contigs than "
                                 f"{fai}", path=vcf)
        except KeyError:
            contigs = read_fai(fai) if fai else [(c, n) for c, n in header if n]
            if not contigs:
                raise InputError("the VCF header declares no ##contig lengths and no reference .fai was given "
                                 "(--fai); cannot define the reference build", path=vcf) from None
            lengths = dict(contigs)
            x, y, mt = _sex_contigs(list(lengths))
            hl.ReferenceGenome(name, list(lengths), lengths, x_contigs=x, y_contigs=y, mt_contigs=mt,
                               par=par or [])
    for contig, length in header:
        if contig not in lengths:
            raise InputError(f"contig {contig!r} of the VCF is not in reference build {name} "
                             f"(a VCF made on another build?)", path=vcf)
        if length is not None and length != lengths[contig]:
            raise InputError(f"contig {contig!r} has length {length} in the VCF header but {lengths[contig]} "
                             f"in reference build {name} (a VCF made on another build?)", path=vcf)
    return name
