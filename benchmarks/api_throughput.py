"""Throughput of the openai backend's request path against a fixed-latency server.

    .venv/bin/python benchmarks/api_throughput.py [--requests 200] [--concurrency 16] [--latency-ms 50]

Starts tests/fault_server.py in its own process (so its CPU does not share our GIL), builds
N real requests (bundled task prompts + sample JPEGs, sent as base64 data URLs) and runs them
through `OpenAIBackend.generate`, after an untimed warm-up call of C requests. With a server that always answers after L ms, the best
possible wall time at concurrency C is ceil(N / C) * L; efficiency = ideal / measured shows
what the client costs (JSON, HTTP, scheduling, retries bookkeeping). The last line is
`efficiency=X.XX`; the target is >= 0.90.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mella_eval.backends.openai_backend import OpenAIBackend  # noqa: E402
from mella_eval.build import build_requests  # noqa: E402
from mella_eval.data import load_samples  # noqa: E402
from mella_eval.languages import MELLA_LANGS  # noqa: E402
from mella_eval.tasks import TaskRegistry  # noqa: E402


def make_requests(n: int):
    task = TaskRegistry().resolve("linguistic")[0]
    pool = build_requests(task, load_samples(task, list(MELLA_LANGS), None, None))
    return [pool[i % len(pool)] for i in range(n)]


def start_server(latency_ms: float, *extra: str) -> tuple[subprocess.Popen, str]:
    """tests/fault_server.py in its own process; `extra` goes to its command line (--reply)."""
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "fault_server.py"),
                             "--latency-ms", str(latency_ms), *extra],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"fault server did not start (said {base_url!r})")
    return proc, base_url


def stats(base_url: str) -> dict:
    root = base_url.rsplit("/v1", 1)[0]
    with urllib.request.urlopen(f"{root}/_stats", timeout=5) as response:
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()

    requests = make_requests(args.requests)
    proc, base_url = start_server(args.latency_ms)
    try:
        os.environ.setdefault("MELLA_BENCH_KEY", "sk-bench")
        backend = OpenAIBackend("fault-model", base_url, api_key_env="MELLA_BENCH_KEY",
                                concurrency=args.concurrency)
        # Warm-up (untimed): first-call costs of the process (event loop, code paths run once).
        # The timed call still opens its own session and connections, as every generate() does.
        backend.generate(requests[:args.concurrency])
        warmup_requests = stats(base_url)["requests"]
        start = time.perf_counter()
        completions = backend.generate(requests)
        measured = time.perf_counter() - start
        backend.close()
        server = stats(base_url)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)

    failed = sum(c.status != "ok" for c in completions)
    ideal = math.ceil(args.requests / args.concurrency) * args.latency_ms / 1000
    print(f"requests={args.requests} concurrency={args.concurrency} latency_ms={args.latency_ms:g} "
          f"failed={failed} server_requests={server['requests'] - warmup_requests} "
          f"server_max_in_flight={server['max_in_flight']}")
    print(f"measured_s={measured:.3f}")
    print(f"ideal_s={ideal:.3f}")
    print(f"efficiency={ideal / measured:.2f}")


if __name__ == "__main__":
    main()
