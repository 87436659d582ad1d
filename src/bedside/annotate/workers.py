"""The worker pool of `bedside annotate`: the consequence pass split over forked processes. Chunks of
~1 MB arrive over each worker's own pipe (length-prefixed raw bytes, no pickling); the results go straight
to the bgzip pipe in input order (a token passed round a ring of pipes), never back through the parent.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from bedside.annotate.vcftext import CSQ_HEADER, TranscriptIndex, annotate_chunk, byte_chunks
from bedside.errors import ToolError
from bedside.tools import grow_pipe

# bytes of whole VCF lines handed to the consequence pass (one worker task) at a time
CHUNK_BYTES = 1 << 20


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    parts = []
    while n:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            raise EOFError
        parts.append(b)
        n -= len(b)
    return b"".join(parts)


def _worker_loop(index: TranscriptIndex, fasta: str, inp: int, out: int, turn_in: int, turn_out: int,
                 report: int) -> None:
    """Body of one forked worker: read length-prefixed chunks from ``inp``, annotate each, wait for the turn
    token (the previous chunk's worker has written its output), write the result straight to ``out`` (the
    bgzip pipe) and pass the token on; finally report 'records annotated' (or the error) on ``report``."""
    n = a = 0
    try:
        index.reopen(fasta)
        while True:
            head = os.read(inp, 8)
            if not head:
                break
            if len(head) < 8:
                head += _read_exact(inp, 8 - len(head))
            chunk = _read_exact(inp, int.from_bytes(head, "little"))
            res, dn, da = annotate_chunk(chunk, index)
            n += dn
            a += da
            if not os.read(turn_in, 1):
                raise RuntimeError("previous worker exited")
            _write_all(out, res)
            try:
                os.write(turn_out, b"t")
            except BrokenPipeError:  # the next worker has finished all its chunks and exited
                pass
        _write_all(report, f"ok {n} {a}".encode())
    except BaseException as exc:  # reported to the parent, which raises
        try:
            _write_all(report, f"error {type(exc).__name__}: {exc}".encode())
        except OSError:
            pass
        raise


def annotate_parallel(chunks: Iterable[bytes], dst_fd: int, index: TranscriptIndex, workers: int,
                       fasta: Path) -> tuple[int, int]:
    """Chunk ``i`` goes to forked worker ``i % workers`` over its own pipe (length-prefixed raw bytes, no
    pickling); the workers write their results directly to ``dst_fd`` in chunk order, passing a one-byte
    token round a ring of pipes, so results never travel back through this process."""
    ins, reports, pids = [], [], []
    turns = [os.pipe() for _ in range(workers)]  # turns[k]: worker k may write when it reads a token here
    os.write(turns[0][1], b"t")
    try:
        for k in range(workers):
            r_in, w_in = os.pipe()
            r_rep, w_rep = os.pipe()
            pid = os.fork()
            if pid == 0:  # child
                code = 1
                try:
                    os.close(w_in)
                    os.close(r_rep)
                    for w in ins:  # input pipes of earlier workers: keep only our own
                        os.close(w)
                    for j, (tr, tw) in enumerate(turns):
                        if j != k:
                            os.close(tr)
                        if j != (k + 1) % workers:
                            os.close(tw)
                    _worker_loop(index, str(fasta), r_in, dst_fd, turns[k][0], turns[(k + 1) % workers][1], w_rep)
                    code = 0
                finally:
                    os._exit(code)
            os.close(r_in)
            os.close(w_rep)
            grow_pipe(w_in)
            ins.append(w_in)
            reports.append(r_rep)
            pids.append(pid)
    finally:
        for tr, tw in turns:
            os.close(tr)
            os.close(tw)
    broken = False
    try:
        for i, chunk in enumerate(chunks):
            try:
                fd = ins[i % workers]
                head = len(chunk).to_bytes(8, "little")
                sent = os.writev(fd, [head, chunk])  # a pipe write may be partial: send the rest
                if sent < len(head):
                    _write_all(fd, head[sent:])
                    sent = len(head)
                _write_all(fd, memoryview(chunk)[sent - len(head):])
            except BrokenPipeError:
                broken = True
                break
    finally:
        for w in ins:
            os.close(w)
        msgs = []
        for r in reports:
            buf = b""
            while True:
                b = os.read(r, 4096)
                if not b:
                    break
                buf += b
            os.close(r)
            msgs.append(buf.decode(errors="replace"))
        codes = [os.waitpid(pid, 0)[1] for pid in pids]
    n = a = 0
    for msg, code in zip(msgs, codes):
        if not msg.startswith("ok ") or code != 0:
            raise ToolError(f"annotation worker failed: {msg or f'exit status {code}'}")
        _, dn, da = msg.split()
        n += int(dn)
        a += int(da)
    if broken:
        raise ToolError("annotation worker closed its input early")
    return n, a


def annotate_stream(src: BinaryIO, dst: BinaryIO, index: TranscriptIndex, *, workers: int = 1,
                     fasta: Path | None = None) -> tuple[int, int]:
    """VCF text from ``src`` to ``dst`` with BEDSIDE_CSQ added, in ~1 MB chunks; (records, annotated).

    With ``workers`` > 1 (and ``fasta`` given) the chunks are annotated by that many forked processes,
    results written back in input order."""
    header: list[bytes] = []
    while True:
        line = src.readline()
        if not line:
            break
        if line.startswith(b"#CHROM"):
            header += [CSQ_HEADER.encode() + b"\n", line]
            break
        header.append(line)
    dst.write(b"".join(header))
    n = a = 0
    chunks = byte_chunks(src, b"", CHUNK_BYTES)
    head = list(itertools.islice(chunks, 2))
    chunks = itertools.chain(head, chunks)
    # worker processes only pay off beyond one chunk; a daemonic process (itself a pool worker) cannot fork any
    if workers > 1 and fasta is not None and len(head) > 1 and not multiprocessing.current_process().daemon:
        try:
            dst_fd = dst.fileno()
        except (AttributeError, OSError, ValueError):
            dst_fd = -1
        if dst_fd >= 0:
            dst.flush()
            return annotate_parallel(chunks, dst_fd, index, workers, fasta)
    for chunk in chunks:
        out, dn, da = annotate_chunk(chunk, index)
        dst.write(out)
        n += dn
        a += da
    return n, a
