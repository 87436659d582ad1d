"""Re-exports for the command modules (and older callers); the plumbing itself is :mod:`bedside.tools`."""

from __future__ import annotations

from bedside.tools import atomic_path, run_tool, write_text

__all__ = ["atomic_path", "run_tool", "write_text"]
