"""Code style gates that CI enforces through the test suite (ruff; the workflow's are in test_workflow)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed (pip install -e '.[dev]')")
    res = subprocess.run([ruff, "check", "src", "tests", "benchmarks"], cwd=REPO, capture_output=True,
                         text=True, check=False)
    assert res.returncode == 0, res.stdout[-3000:]
