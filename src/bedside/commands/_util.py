"""Small helpers shared by commands: atomic output writing and tool calls."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from bedside.errors import ToolError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    A failed run therefore never leaves a partial output, and an existing output is kept.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def run_tool(args: Sequence[str | os.PathLike], **kwargs) -> subprocess.CompletedProcess:
    """Run an external tool with an argument list and check=True; raise ToolError with its stderr."""
    args = [str(a) for a in args]
    if shutil.which(args[0]) is None:
        raise ToolError(f"required tool '{args[0]}' is not on PATH (run `make install`)")
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    try:
        return subprocess.run(args, check=True, **kwargs)
    except subprocess.CalledProcessError as exc:
        err = exc.stderr if isinstance(exc.stderr, str) else (exc.stderr or b"").decode(errors="replace")
        raise ToolError(f"{' '.join(args[:3])} ... failed (exit {exc.returncode}): {err.strip()[-2000:]}") from exc
