from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "data").resolve()
BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared public data not present at {SHARED} (only in the project's sandbox)")
    return SHARED


def require_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"tools not installed: {', '.join(missing)} (run `make install`)")
