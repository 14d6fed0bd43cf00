"""vLLM on CPU without environment variables: a KV-cache size that fits the free memory, and the
one line that says why an engine failed.

vLLM's CPU backend reserves a share of all memory for its KV cache unless VLLM_CPU_KVCACHE_SPACE
(GiB) is set, and refuses to start when less than that is free. The engine core is a subprocess
that reads the variable from the environment it inherits, so it is set before the engine starts,
and only when the user has not set it (their value always wins).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

KVCACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
GIB = 1024 ** 3
# Share of the memory left after the weights that the KV cache may take: the rest is for the
# engine's activations, the image processor, the judge loaded after the model and other programs.
KV_SHARE = 0.4
MAX_KV_GIB = 32  # beyond this a CPU engine gains nothing for evaluation batches


def available_memory_bytes(root: str | os.PathLike = "/") -> int | None:
    """Memory vLLM's CPU worker will count as available, or None when unknown: like vLLM, per
    NUMA node (MemFree + file pages + reclaimable slab; it binds to one node, so the smallest
    node's), within a cgroup's limit (a container), and never more than MemAvailable."""
    root = Path(root)
    candidates = []
    for meminfo in sorted(root.glob("sys/devices/system/node/node[0-9]*/meminfo")):
        fields = _meminfo(meminfo, skip=2)  # "Node 0 MemFree:  123 kB"
        if fields.get("MemTotal"):
            candidates.append(sum(fields.get(k, 0) for k in
                                  ("MemFree", "Active(file)", "Inactive(file)", "SReclaimable")))
    system = _meminfo(root / "proc/meminfo", skip=0).get("MemAvailable")
    if system is not None:
        candidates.append(system)
    limit, usage = _read_int(root / "sys/fs/cgroup/memory.max"), _read_int(root / "sys/fs/cgroup/memory.current")
    if limit is not None and usage is not None:
        candidates.append(max(0, limit - usage))
    return min(candidates) if candidates else None


def _meminfo(path: Path, skip: int) -> dict[str, int]:
    """`KEY: VALUE kB` lines (after `skip` leading words) as bytes; {} when unreadable."""
    out = {}
    try:
        for line in path.read_text().splitlines():
            parts = line.split()[skip:]
            if len(parts) >= 2 and parts[1].isdigit():
                out[parts[0].rstrip(":")] = int(parts[1]) * 1024
    except OSError:
        pass
    return out


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def cpu_kvcache_gib(available_bytes: int, weights_bytes: int = 0) -> int:
    """Whole GiB of KV cache: KV_SHARE of the memory left after the weights, at least 1, at most
    MAX_KV_GIB."""
    left = max(0, available_bytes - weights_bytes)
    return int(min(MAX_KV_GIB, max(1, (left * KV_SHARE) // GIB)))


def weights_bytes(model_dir: str | os.PathLike) -> int:
    """Size of a local model folder's weight files (0 for a hub id or an unreadable folder)."""
    folder = Path(model_dir)
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.iterdir()
               if p.suffix in (".safetensors", ".bin", ".pt", ".gguf") and p.is_file())


def ensure_cpu_kvcache_space(model: str | os.PathLike = "", environ=None,
                             available_bytes: int | None = None) -> str | None:
    """Set VLLM_CPU_KVCACHE_SPACE to a size that fits, unless it is set already.

    Returns the value now in effect and where it came from, for the run log: e.g.
    '3 GiB (40% of 8.1 GiB free after the weights)', 'user: 1', or None when memory is unknown.
    """
    environ = os.environ if environ is None else environ
    if environ.get(KVCACHE_ENV, "").strip():
        return f"user: {environ[KVCACHE_ENV]}"
    available = available_memory_bytes() if available_bytes is None else available_bytes
    if available is None:
        return None
    weights = weights_bytes(model) if model else 0
    gib = cpu_kvcache_gib(available, weights)
    environ[KVCACHE_ENV] = str(gib)
    return (f"{gib} GiB ({KV_SHARE:.0%} of {max(0, available - weights) / GIB:.1f} GiB free after "
            f"the weights; set {KVCACHE_ENV} to choose)")


# Lines of an engine log that state a cause, most specific first. vLLM's own exception in the
# parent only says "Engine core initialization failed. See root cause above."
_CAUSE = re.compile(r"(?:\b[A-Z]\w*(?:Error|Exception)\b: .+|less than desired|out of memory|"
                    r"No space left|Killed|cannot allocate|[Uu]nsupported .+)")
_GENERIC = re.compile(r"See root cause above|Engine core initialization failed|EngineDeadError|"
                      r"check the stack trace above|"
                      r"Traceback \(most recent call last\)|^\s*raise\b")
_PREFIX = re.compile(r"^\(\w+ pid=\d+\)\s*|^(?:ERROR|WARNING|INFO|DEBUG)\s+(?:\d\d-\d\d \S+ )?\[[^\]]*\]\s*")


def exception_chain(error: BaseException) -> list[BaseException]:
    """The error, then its causes/contexts, outermost first (cycles cut)."""
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    first = text.splitlines()[0].strip() if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _clean(line: str) -> str:
    line = line.strip()
    while True:
        stripped = _PREFIX.sub("", line, count=1).strip()
        if stripped == line:
            return line
        line = stripped


def engine_failure_cause(error: BaseException, log_path: str | os.PathLike | None = None,
                         tail_bytes: int = 64 * 1024) -> str:
    """One line saying why an engine failed: the last line stating a cause in the tail of the
    engine log (the engine core subprocess writes its error there, not into the exception), else
    the innermost specific exception of the chain."""
    if log_path is not None:
        cause = _cause_in_log(Path(log_path), tail_bytes)
        if cause:
            return cause
    chain = exception_chain(error)
    specific = [e for e in chain if not _GENERIC.search(str(e))]
    return _first_line((specific or chain)[-1])


def _cause_in_log(path: Path, tail_bytes: int) -> str | None:
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - tail_bytes))
            tail = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    found = None
    for raw in tail.splitlines():
        line = _clean(raw)
        if line and _CAUSE.search(line) and not _GENERIC.search(line):
            found = line
    if found and len(found) > 300:
        found = found[:297] + "..."
    return found
