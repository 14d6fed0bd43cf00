"""Throughput of the judge phase against a judge server with a fixed latency.

    .venv/bin/python benchmarks/judge_throughput.py [--judgements 200] [--concurrency 16] [--latency-ms 50]

Starts tests/fault_server.py in its own process, answering every request after L ms with a valid
verdict, and judges N culture predictions (the bundled sample's alt-texts, cycled and numbered so
every judgement is a new request) through `run_judge`: rubric rendering with the image, the
openai backend with bounded concurrency, strict parsing, and a response store committing each
judgement. Ideal wall time at concurrency C is ceil(N / C) * L; last line `efficiency=X.XX`
(ideal / measured); target >= 0.90.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from api_throughput import start_server, stats  # noqa: E402

VERDICT = {"rationale": "specific", "thickness": 4, "faithfulness": 4, "fluency": 5, "label": "thick"}


def make_inputs(n: int, salt: str):
    """Records and samples as the run has them after generation."""
    from dataclasses import replace

    from mella_eval.data import load_samples
    from mella_eval.languages import MELLA_LANGS
    from mella_eval.tasks import TaskRegistry

    task = TaskRegistry().resolve("culture")[0]
    pool = load_samples(task, list(MELLA_LANGS))
    records, samples = [], {}
    for i in range(n):
        sample = replace(pool[i % len(pool)], id=f"{pool[i % len(pool)].id}-{salt}{i}")
        samples[(sample.task, sample.lang, sample.id)] = sample
        records.append({"task": task.name, "lang": sample.lang, "id": sample.id, "status": "ok",
                        "prediction": f"{sample.alt_text} ({salt}{i})", "metrics": {}})
    return task, records, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgements", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()

    import signal

    from mella_eval.backends.openai_backend import OpenAIBackend
    from mella_eval.config import RunConfig
    from mella_eval.judge import run_judge
    from mella_eval.store import ResponseStore

    proc, base_url = start_server(args.latency_ms, "--reply", json.dumps(VERDICT))
    config = RunConfig(tasks=["culture"], langs=["ar"], wrong_language="flag")
    os.environ.setdefault("MELLA_BENCH_KEY", "sk-bench")

    def backend():
        return OpenAIBackend("fault-model", base_url, api_key_env="MELLA_BENCH_KEY",
                             concurrency=args.concurrency)
    try:
        with tempfile.TemporaryDirectory() as cache, ResponseStore(cache) as store:
            task, records, samples = make_inputs(args.concurrency, "warm")
            run_judge([task], records, samples, config, backend, store)  # untimed warm-up
            warm = stats(base_url)["requests"]
            task, records, samples = make_inputs(args.judgements, "run")
            start = time.perf_counter()
            outcome = run_judge([task], records, samples, config, backend, store)
            measured = time.perf_counter() - start
        server = stats(base_url)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)

    ideal = math.ceil(args.judgements / args.concurrency) * args.latency_ms / 1000
    print(f"judgements={args.judgements} concurrency={args.concurrency} latency_ms={args.latency_ms:g} "
          f"ok={args.judgements - outcome.failed} failed={outcome.failed} "
          f"server_requests={server['requests'] - warm} server_max_in_flight={server['max_in_flight']}")
    print(f"measured_s={measured:.3f}")
    print(f"ideal_s={ideal:.3f}")
    print(f"efficiency={ideal / measured:.2f}")


if __name__ == "__main__":
    main()
