"""Progress of a phase on the console, counted per request as it finishes.

On a terminal: a tqdm bar. Elsewhere (CI logs, a file): a line every MELLA_PROGRESS_INTERVAL
seconds (default 10) with counts, rate and ETA, and one when the phase ends. MELLA_PROGRESS=off
shows neither, =bar forces the bar, =lines the lines.
"""

from __future__ import annotations

import os
import time

from mella_eval.run_log import console


def progress_bar(total: int, desc: str):
    mode = os.environ.get("MELLA_PROGRESS", "auto")
    stream = console.err
    if mode == "off" or total <= 0:
        return LineProgress(total, desc, stream, interval=None)
    if mode == "bar" or (mode == "auto" and _isatty(stream)):
        from tqdm import tqdm

        return tqdm(total=total, desc=f"mella-eval: {desc}", unit="req", file=stream, dynamic_ncols=True)
    return LineProgress(total, desc, stream, interval=float(os.environ.get("MELLA_PROGRESS_INTERVAL", "10")))


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class LineProgress:
    """tqdm's update/close as plain lines: `mella-eval: generate (vllm): 40/128 (31%), 2.1 req/s,
    ETA 42s`. interval None: silent."""

    def __init__(self, total: int, desc: str, stream, interval: float | None, clock=time.monotonic):
        self.total, self.desc, self.stream, self.interval, self.clock = total, desc, stream, interval, clock
        self.n = 0
        self.created = self.last = clock()
        # The rate counts what finished after the first update, since that update: an engine's
        # start-up before it would make the first ETAs hours long, and counting the first update
        # itself would make a first chunk of 1,024 requests look finished in no time.
        self.first: tuple[float, int] | None = None

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.first is None:
            self.first = (self.clock(), self.n)
        if self.interval is not None and self.clock() - self.last >= self.interval and self.n < self.total:
            self._line()

    def line(self, done: bool = False) -> str:
        now = self.clock()
        since, at = self.first if self.first is not None else (now, self.n)
        rate = (self.n - at) / (now - since) if now > since and self.n > at else 0.0
        share = f" ({self.n / self.total:.0%})" if self.total else ""
        tail = (f"done in {_duration(now - self.created)}" if done else
                f"ETA {_duration((self.total - self.n) / rate)}" if rate > 0 else "ETA ?")
        return f"mella-eval: {self.desc}: {self.n}/{self.total}{share}, {rate:.1f} req/s, {tail}"

    def _line(self, done: bool = False) -> None:
        self.last = self.clock()
        self.stream.write(self.line(done) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interval is not None and self.n:
            self._line(done=True)
        self.interval = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"
