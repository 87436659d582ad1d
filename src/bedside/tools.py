"""The ground floor for plumbing: running tools and pipes of tools, atomic file writing, reading a FASTA's
``.fai`` index and a BAM/CRAM header. Everything else in ``bedside`` that runs a tool or writes an output
goes through here; this module imports nothing of ``bedside`` but :mod:`bedside.errors`.

Tools are always run from argument lists (never a shell string). A tool that fails is reported in two
parts: a short message a user can act on (the file it could not read, the tool's key line) and the tool's
full stderr as ``detail`` for the log (the CLI writes both to stderr, which the workflow keeps as the
rule's log). A failure while reading a user's file (``inputs=``) is an input error (exit 2) naming that
file; anything else is a :class:`~bedside.errors.ToolError` (exit 3).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from bedside.errors import BedsideError, InputError, ToolError

Arg = str | os.PathLike
PIPE = subprocess.PIPE

# lines of a tool's stderr that carry the reason, best first (htslib errors, then other error lines)
_KEY_LINES = (
    re.compile(r"^\[E::\w+\]\s*(.*)"),
    re.compile(r"^(?:\[\w+\]\s*)?((?:error|Error|ERROR|Failed|failed|Could not|could not|Cannot|cannot|"
               r"Unable|unable|Invalid|invalid|Wrong|wrong|truncated|Truncated)\b.*)"),
    re.compile(r".*((?:not defined in the header|is not a valid|unexpected|Unexpected|"
                r"does not match|is malformed).*)"),
)
_DETAIL_CHARS = 4000


def argv(args: Sequence[Arg | int | float]) -> list[str]:
    return [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in args]


def require(tool: str) -> str:
    """The full path of ``tool`` on PATH, or a ToolError saying how to install it."""
    found = shutil.which(tool)
    if found is None:
        raise ToolError(f"required tool '{tool}' is not on PATH (run `make install`)")
    return found


def key_line(stderr: str) -> str:
    """The line of a tool's stderr that says what went wrong (without htslib's ``[E::func]`` prefix)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for pattern in _KEY_LINES:
        for ln in lines:
            m = pattern.match(ln)
            if m:
                return m.group(1).strip()[:300] or ln[:300]
    return lines[-1][:300] if lines else "no message"


def tool_failure(args: Sequence[str], code: int, stderr: str,
                 inputs: Sequence[Arg] = ()) -> BedsideError:
    """The error for a tool that exited ``code``: an InputError naming the user's file when ``inputs``
    (the user files the tool reads) are given, else a ToolError; the tool's stderr goes to ``detail``."""
    name = " ".join(args[:2]) if len(args) > 1 and not args[1].startswith("-") else args[0]
    reason = key_line(stderr)
    detail = f"$ {' '.join(args)}\n{stderr.strip()[-_DETAIL_CHARS:]}"
    if inputs:
        names = [os.fspath(p) for p in inputs]
        named = [p for p in names if p in stderr] or [p for p in names if Path(p).name in stderr]
        return InputError(f"{name} could not read this file: {reason}", path=(named or names)[0], detail=detail)
    return ToolError(f"{name} failed (exit {code}): {reason}", detail=detail)


def run_tool(args: Sequence[Arg], *, inputs: Sequence[Arg] = (), **kwargs) -> subprocess.CompletedProcess:
    """Run one tool (argument list, ``check=True``); stdout and stderr are captured as text unless the
    caller passes ``stdout``/``stderr``. A failure raises :func:`tool_failure`'s error."""
    args = argv(args)
    require(args[0])
    if "stdout" not in kwargs and "stderr" not in kwargs:
        kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    try:
        return subprocess.run(args, check=True, **kwargs)
    except subprocess.CalledProcessError as exc:
        err = exc.stderr if isinstance(exc.stderr, str) else (exc.stderr or b"").decode(errors="replace")
        raise tool_failure(args, exc.returncode, err or "", inputs) from exc


def grow_pipe(fd: int, size: int = 1 << 21) -> None:
    """Enlarge a pipe's buffer (Linux F_SETPIPE_SZ; capped by /proc/sys/fs/pipe-max-size); elsewhere, or
    when refused, the default buffer is kept."""
    try:
        import fcntl

        setsz = getattr(fcntl, "F_SETPIPE_SZ", 1031 if os.uname().sysname == "Linux" else None)
        if setsz is None:
            return
        try:
            fcntl.fcntl(fd, setsz, size)
        except OSError:
            with open("/proc/sys/fs/pipe-max-size") as fh:
                fcntl.fcntl(fd, setsz, min(size, int(fh.read())))
    except (OSError, ValueError, ImportError, AttributeError):
        pass


class Pipeline:
    """``cmd1 | cmd2 | ...`` from argument lists, each tool's stderr in its own temporary file.

    Use as a context manager: inside the block ``stdout`` is the last tool's output (when ``stdout=PIPE``)
    for the caller to stream; leaving the block waits for every tool and raises the first failure
    (:func:`tool_failure`); an exception inside the block kills the tools instead. ``stdin`` may be a
    file object or ``PIPE`` (then ``stdin`` is writable). ``big_pipes`` enlarges the pipe buffers."""

    def __init__(self, commands: Sequence[Sequence[Arg]], *, stdin: int | IO | None = None,
                 stdout: int | IO | None = PIPE, text: bool = False, inputs: Sequence[Arg] = (),
                 bufsize: int = -1, big_pipes: bool = False):
        if not commands:
            raise ValueError("a pipeline needs at least one command")
        self.commands = [argv(c) for c in commands]
        for c in self.commands:
            require(c[0])
        self._stdin, self._stdout, self._text = stdin, stdout, text
        self.inputs = list(inputs)
        self._bufsize, self._big = bufsize, big_pipes
        self.procs: list[subprocess.Popen] = []
        self._errs: list[IO[bytes]] = []
        self.stdout: IO | None = None
        self.stdin: IO | None = None

    def __enter__(self) -> Pipeline:
        try:
            prev = self._stdin
            n = len(self.commands)
            for i, c in enumerate(self.commands):
                err = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
                self._errs.append(err)
                last = i == n - 1
                p = subprocess.Popen(c, stdin=prev, stdout=self._stdout if last else PIPE, stderr=err,
                                     text=self._text and last, bufsize=self._bufsize)
                if i == 0 and self._stdin == PIPE:
                    self.stdin = p.stdin
                    if self._big and p.stdin is not None:
                        grow_pipe(p.stdin.fileno())
                if i > 0 and prev is not None:
                    prev.close()  # the next tool holds it now
                prev = p.stdout
                if self._big and prev is not None:
                    grow_pipe(prev.fileno())
                self.procs.append(p)
            self.stdout = self.procs[-1].stdout
        except BaseException:
            self.kill()
            self.close()
            raise
        return self

    def stderr_of(self, i: int) -> str:
        err = self._errs[i]
        err.flush()
        err.seek(0)
        return err.read().decode(errors="replace")

    def wait(self) -> list[int]:
        if self.stdin is not None and not self.stdin.closed:
            self.stdin.close()
        if self.stdout is not None and not self.stdout.closed:
            self.stdout.close()
        return [p.wait() for p in self.procs]

    def check(self) -> None:
        """Wait for every tool; raise the failure of the first one that failed (upstream first: a tool
        that dies of a broken pipe is the consequence, not the cause)."""
        codes = self.wait()
        for i, code in enumerate(codes):
            if code != 0:
                named = self.inputs if i == 0 else [p for p in self.inputs
                                                    if os.fspath(p) in self.commands[i]]
                raise tool_failure(self.commands[i], code, self.stderr_of(i), named)

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            with contextlib.suppress(OSError, ValueError):
                for fh in (p.stdin, p.stdout):
                    if fh is not None:
                        fh.close()
            p.wait()

    def close(self) -> None:
        for e in self._errs:
            e.close()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self.kill()
            else:
                self.check()
        finally:
            self.close()


def pipe(commands: Sequence[Sequence[Arg]], out: Arg | None = None, *, inputs: Sequence[Arg] = ()) -> str:
    """Run ``cmd1 | cmd2 | ...`` to completion: the last tool's stdout goes to the file ``out`` (returns
    ''), or is returned as text."""
    if out is not None:
        with open(out, "wb") as fh, Pipeline(commands, stdout=fh, inputs=inputs):
            pass
        return ""
    with Pipeline(commands, text=True, inputs=inputs) as p:
        assert p.stdout is not None
        text = p.stdout.read()
    return text


# --------------------------------------------------------------------------------------- atomic writing

_ATOMIC_SIDECARS = (".tbi", ".csi", ".bai", ".crai", ".fai", ".gzi")


def _reserve(path: Path) -> Path:
    """Create an empty, unique temporary file beside ``path`` with mode 0666 minus the umask (unlike
    ``mkstemp``'s 0600, so the final output has the permissions any new file would get)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name beside {path}")


@contextlib.contextmanager
def atomic_path(path: Arg) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    A failed run therefore never leaves a partial output (nor an index a tool wrote beside the temporary
    file), and an existing output is kept. The output's mode honours the umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _reserve(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        for p in [tmp] + [Path(str(tmp) + s) for s in _ATOMIC_SIDECARS]:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


_INDEX_OF = ((".vcf.gz", ".tbi"), (".bcf", ".csi"), (".bam", ".bai"), (".cram", ".crai"))


@contextlib.contextmanager
def atomic_indexed(path: Arg, index_ext: str | None = None) -> Iterator[Path]:
    """Like :func:`atomic_path` for a file written together with its index: the temporary path keeps the
    output's suffix (tools choose the format by it), and on success the index (``index_ext``, else by the
    suffix: .vcf.gz -> .tbi, .bcf -> .csi, .bam -> .bai) is moved into place first, then the file."""
    path = Path(path)
    name = str(path)
    suffix = next((s for s, _ in _INDEX_OF if name.endswith(s)), path.suffix)
    ext = index_ext or next((i for s, i in _INDEX_OF if name.endswith(s)), ".csi")
    with atomic_path(path) as tmp:
        work = Path(str(tmp) + suffix)
        try:
            yield work
            if not Path(str(work) + ext).exists():
                raise ToolError(f"no index {ext} was written for {path}")
            os.replace(str(work) + ext, name + ext)
            os.replace(work, tmp)
        finally:
            for p in (work, Path(str(work) + ext)):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()


def write_text(path: Arg, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: Arg, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


# --------------------------------------------------------------------------------------- reference index

def read_fai(fasta: Arg, *, create: bool = True) -> list[tuple[str, int]]:
    """Contig names and lengths of a FASTA (plain or bgzipped) from its ``.fai``, in file order; the index
    is created (``samtools faidx`` via pysam) when absent and ``create``."""
    fasta = Path(fasta)
    fai = Path(str(fasta) + ".fai")
    if not fasta.exists():
        raise InputError("reference FASTA not found", path=fasta)
    if not fai.exists():
        if not create:
            raise InputError("reference has no .fai index; run samtools faidx", path=fasta)
        if shutil.which("samtools"):
            try:
                run_tool(["samtools", "faidx", fasta], inputs=[fasta])
            except InputError as exc:
                Path(str(fasta) + ".fai").unlink(missing_ok=True)
                raise InputError(f"not an indexable FASTA (samtools faidx): {key_line(exc.detail or '')}",
                                 path=fasta, detail=exc.detail) from exc
        else:
            import pysam

            try:
                pysam.faidx(str(fasta))
            except (pysam.SamtoolsError, OSError) as exc:
                raise InputError(f"not an indexable FASTA: {str(exc).strip()[-300:]}", path=fasta) from exc
    return parse_fai(fai)


def parse_fai(fai: Arg) -> list[tuple[str, int]]:
    """Contig names and lengths from a ``.fai`` (or any NAME<TAB>LENGTH file), in file order."""
    contigs = []
    with open(fai, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < 2 or not fields[1].isdigit():
                raise InputError("malformed FASTA index line (expected NAME<TAB>LENGTH...)", path=fai,
                                 line=lineno)
            contigs.append((fields[0], int(fields[1])))
    if not contigs:
        raise InputError("the FASTA index lists no sequence (empty or not a FASTA file?)", path=fai)
    return contigs


# --------------------------------------------------------------------------------------- alignment headers

def alignment_header(path: Arg) -> dict:
    """The header of a BAM/CRAM/SAM as pysam's dict (``SQ``, ``RG``, ...); InputError when unreadable."""
    import pysam

    path = Path(path)
    if not path.exists():
        raise InputError("alignment file (BAM/CRAM) not found", path=path)
    try:
        with pysam.AlignmentFile(str(path), check_sq=False) as fh:
            return fh.header.to_dict()
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read as BAM/CRAM: {exc}", path=path) from exc


def alignment_contigs(path: Arg) -> list[tuple[str, int]]:
    """(name, length) of the @SQ lines of a BAM/CRAM/SAM header, in order."""
    return [(sq["SN"], int(sq["LN"])) for sq in alignment_header(path).get("SQ", [])]


def has_index(path: Arg) -> bool:
    p = str(path)
    stem = p.rsplit(".", 1)[0]
    return any(Path(x).exists() for x in (p + ".bai", p + ".csi", p + ".crai", stem + ".bai", stem + ".crai"))


def bam_sample(path: Arg, *, require_index: bool = False) -> str:
    """The single read-group sample name (SM) of a BAM/CRAM: InputError when there is none or several
    (one sample per file), or, with ``require_index``, when the file has no index."""
    header = alignment_header(path)
    sms = sorted({rg.get("SM") for rg in header.get("RG", []) if rg.get("SM")})
    if not sms:
        raise InputError("no read-group sample name (SM): no @RG line with an SM tag in the header; "
                         "add read groups (samtools addreplacerg)", path=path)
    if len(sms) > 1:
        raise InputError(f"read groups name several samples ({', '.join(sms)}); one sample per BAM", path=path)
    if require_index and not has_index(path):
        raise InputError("BAM has no index (.bai/.csi); run samtools index", path=path)
    return sms[0]


def bam_samples(paths: Sequence[Arg], *, require_index: bool = False) -> list[str]:
    """:func:`bam_sample` of each file; a sample name in two files is an error."""
    names = [bam_sample(p, require_index=require_index) for p in paths]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"sample name(s) {dup} appear in more than one BAM "
                         f"({', '.join(os.fspath(p) for p, n in zip(paths, names) if n in dup)})")
    return names
