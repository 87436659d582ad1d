"""One error base class; the CLI turns it into a message and an exit code.

Exit codes: 2 for everything a user can fix (an input file, a sheet, the config, a resource, a tool that
refused a user's file), 3 for a tool that failed on its own (missing from PATH, crashed on our own
intermediate files). ``detail`` keeps a tool's own text for the log; the message is what the user reads.
"""

from __future__ import annotations

from pathlib import Path


class BedsideError(Exception):
    """An error a user can fix: names the file, the line or record, and what is wrong."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 record: str | None = None, detail: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.record = record
        self.detail = detail
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record:
            where.append(f"record {self.record}")
        prefix = ":".join(where[:1]) + (", " + ", ".join(where[1:]) if len(where) > 1 else "")
        return f"{prefix}: {self.message}" if prefix else self.message


class InputError(BedsideError):
    """Malformed or inconsistent input file (also: config values and resources a user supplies)."""


class ToolError(BedsideError):
    """An external tool failed on something other than a user's input (missing, crashed)."""

    exit_code = 3


class KnowledgeError(BedsideError):
    """A knowledge-base row is invalid."""
