"""The engines' and libraries' output goes to the run folder's run.log, not the console.

vLLM's engine core is a spawned subprocess writing to the file descriptors it inherits, and
torch, Triton and safetensors write to them from C, so redirecting Python's logging is not
enough: file descriptors 1 and 2 themselves point at run.log while a run works. mella-eval's own
lines (the phase lines, progress, the summary) go through `console`, a dup of the original
descriptors. With --verbose the descriptors point at a pipe copied to both run.log and the
console (the same lines, live).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from pathlib import Path

LOG_NAME = "run.log"


class Console:
    """Where mella-eval's own lines go. Outside a run: sys.stdout / sys.stderr as they are."""

    def __init__(self) -> None:
        self._out = self._err = None
        self.log_path: Path | None = None

    @property
    def out(self):
        return self._out or sys.stdout

    @property
    def err(self):
        return self._err or sys.stderr


console = Console()


def current_log_path() -> Path | None:
    """run.log of the run in progress (None outside one): where an engine's error is."""
    return console.log_path


def _console_stream(stream, fd: int):
    """A stream on the console that survives fd `fd` being pointed elsewhere: a dup of it when
    `stream` writes to it, else `stream` itself (a test's capture, a StringIO)."""
    try:
        if stream.fileno() != fd:
            return stream, None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return stream, None
    stream.flush()
    copy = os.dup(fd)
    return io.TextIOWrapper(os.fdopen(copy, "wb", buffering=0), encoding=stream.encoding or "utf-8",
                            errors="replace", line_buffering=True, write_through=True), copy


class _ConsoleHandler(logging.Handler):
    """mella-eval's log lines on the console (they reach run.log too, through the root logger)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            console.err.write(f"mella-eval: {record.getMessage()}\n")
            console.err.flush()
        except Exception:  # noqa: BLE001 -- logging must never stop a run
            self.handleError(record)


@contextlib.contextmanager
def engine_output_to_log(log_path: Path, verbose: bool = False):
    """Within: fds 1 and 2 (and every subprocess started meanwhile) write to `log_path`; with
    `verbose` also to the console. `console` writes to the original terminal or pipe."""
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = open(log_path, "wb", buffering=0)
    except OSError:  # an unwritable output folder: the run says so when it writes its results
        yield console
        return
    out, out_copy = _console_stream(sys.stdout, 1)
    err, err_copy = _console_stream(sys.stderr, 2)
    saved = (os.dup(1), os.dup(2))
    sys.stdout.flush()
    sys.stderr.flush()
    tee = None
    if verbose:
        read_end, write_end = os.pipe()
        tee = threading.Thread(target=_copy, args=(read_end, log_file, saved[1]), daemon=True)
        tee.start()
        target = write_end
    else:
        target = log_file.fileno()
    os.dup2(target, 1)
    os.dup2(target, 2)
    if verbose:
        os.close(target)
    previous = (console._out, console._err, console.log_path)
    console._out, console._err, console.log_path = out, err, log_path
    mella_logger = logging.getLogger("mella_eval")
    handler = None
    if not verbose:  # with --verbose the root logger's lines reach the console through the tee
        handler = _ConsoleHandler(logging.INFO)
        mella_logger.addHandler(handler)
    try:
        yield console
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        if tee is not None:
            tee.join(timeout=5)  # the pipe's last writer is gone once fds 1 and 2 are restored
        for fd in saved:
            os.close(fd)
        if handler is not None:
            mella_logger.removeHandler(handler)
        console._out, console._err, console.log_path = previous
        for stream, copy in ((out, out_copy), (err, err_copy)):
            if copy is not None:
                with contextlib.suppress(Exception):
                    stream.close()
        log_file.close()


def _copy(read_end: int, log_file, console_fd: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            log_file.write(chunk)
            with contextlib.suppress(OSError):
                os.write(console_fd, chunk)
