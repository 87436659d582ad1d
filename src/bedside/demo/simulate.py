"""Read simulation with ART (``art_illumina``) over haplotype FASTAs mixed at coverage shares.

A tumor sample is a mixture of cell populations; its reads are modelled as reads simulated from each
haplotype FASTA at ``coverage * share``. A diploid normal is two haplotypes at share 0.5 each; a tumor
with a somatic variant at allele fraction v on haplotype A carries ``A + variant`` at share v, A at
``0.5 - v`` and B at 0.5 (see :func:`clone_shares`).

ART with a fixed ``-rs`` seed is deterministic, and the gzip streams are written with mtime 0, so the
same inputs and seed give byte-identical FASTQ files.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bedside.tools import run_tool
from bedside.errors import InputError

#: ART built-in profile and fragment-size spread used unless told otherwise.
DEFAULT_PROFILE = "HS25"
DEFAULT_INSERT_SD = 30


def _check_shares(haplotypes: Sequence[tuple[Path, float]]) -> None:
    if not haplotypes:
        raise InputError("simulate_mixture needs at least one haplotype")
    total = 0.0
    for path, share in haplotypes:
        if not Path(path).is_file():
            raise InputError("haplotype FASTA not found", path=path)
        if share < 0:
            raise InputError(f"negative coverage share {share}", path=path)
        total += share
    if abs(total - 1.0) > 1e-6:
        raise InputError(f"coverage shares must sum to 1 (got {total:.6f})")


def simulate_mixture(
    haplotypes: list[tuple[Path, float]],
    coverage: float,
    read_len: int,
    insert: int,
    out_r1: Path,
    out_r2: Path,
    seed: int,
    *,
    insert_sd: int = DEFAULT_INSERT_SD,
    profile: str = DEFAULT_PROFILE,
    read_prefix: str = "",
    compresslevel: int = 4,
) -> dict[str, int]:
    """Simulate paired-end reads from a mixture of haplotype FASTAs into two gzipped FASTQ files.

    ``haplotypes`` lists ``(fasta, share)``; shares must sum to 1. Each haplotype is simulated with
    ``art_illumina -p`` at fold coverage ``coverage * share`` (per FASTA record) with seed
    ``seed + index``; components with share 0 are skipped. Read names are made unique across
    components (``<record>-<read_prefix>h<index>_<n>``). Outputs are written atomically (a temporary
    file beside each output, renamed when complete). Returns the number of read pairs per component,
    keyed ``h<index>:<fasta name>``.
    """
    _check_shares(haplotypes)
    if coverage <= 0 or read_len <= 0 or insert <= read_len // 2:
        raise InputError(f"bad simulation parameters: coverage={coverage} read_len={read_len} insert={insert}")
    out_r1, out_r2 = Path(out_r1), Path(out_r2)
    out_r1.parent.mkdir(parents=True, exist_ok=True)
    out_r2.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix=".sim.", dir=out_r1.parent) as tmpdir:
        tmp = Path(tmpdir)
        tmp_r1, tmp_r2 = tmp / "r1.fastq.gz", tmp / "r2.fastq.gz"
        with _gzip_writer(tmp_r1, compresslevel) as g1, _gzip_writer(tmp_r2, compresslevel) as g2:
            for index, (fasta, share) in enumerate(haplotypes):
                fold = coverage * share
                if fold <= 0:
                    continue
                prefix = tmp / f"h{index}_"
                run_tool([
                    "art_illumina", "-ss", profile, "-i", Path(fasta).resolve(), "-p",
                    "-l", str(read_len), "-f", f"{fold:.6f}", "-m", str(insert), "-s", str(insert_sd),
                    "-rs", str(seed + index), "-d", f"{read_prefix}h{index}_", "-na", "-q",
                    "-o", prefix,
                ])
                n = 0
                for mate, sink in ((1, g1), (2, g2)):
                    path = Path(f"{prefix}{mate}.fq")
                    with path.open("rb") as fh:
                        if mate == 1:
                            n = sum(1 for _ in fh) // 4
                            fh.seek(0)
                        shutil.copyfileobj(fh, sink, 1 << 20)
                    path.unlink()
                counts[f"h{index}:{Path(fasta).name}"] = n
        shutil.move(tmp_r1, out_r1)  # a rename when both lie on one file system
        shutil.move(tmp_r2, out_r2)
    return counts


def _gzip_writer(path: Path, level: int):
    # filename='' and mtime=0: no name or time stored in the header, so output is reproducible
    return gzip.GzipFile(filename="", mode="wb", fileobj=path.open("wb"), compresslevel=level, mtime=0)


def clone_shares(vafs: Sequence[float]) -> list[tuple[tuple[int, ...], float]]:
    """Nested clones for somatic variants on one haplotype of a diploid tumor of purity 1.

    ``vafs[i]`` is the expected allele fraction of somatic variant i (each ≤ 0.5). Returns
    ``[(variant indices carried, share of haplotype A's coverage), ...]``: the component carrying every
    variant whose VAF ≥ v_k has share ``v_k - v_{k+1}``; the plain haplotype A gets ``0.5 - max(vafs)``.
    Haplotype B (share 0.5) is not listed. Variant i's expected alt fraction is then exactly ``vafs[i]``.
    """
    for v in vafs:
        if not 0 < v <= 0.5:
            raise InputError(f"somatic VAF {v} outside (0, 0.5] for a one-haplotype clone model")
    levels = sorted(set(vafs), reverse=True)
    out: list[tuple[tuple[int, ...], float]] = []
    top = levels[0] if levels else 0.0
    if 0.5 - top > 1e-12:
        out.append(((), 0.5 - top))
    for k, level in enumerate(levels):
        nxt = levels[k + 1] if k + 1 < len(levels) else 0.0
        carried = tuple(i for i, v in enumerate(vafs) if v >= level)
        out.append((carried, level - nxt))
    return out
