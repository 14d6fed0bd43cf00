"""What the response store costs per response: keys, single puts, batched puts, lookups.

    python benchmarks/store_overhead.py [--n 10000] [--dir DIR]

Writes into a temporary folder (or DIR, to measure another filesystem). One put commits one
response (what the async judge does per finished request); put_many commits a batch (what the
generation phase does per finished batch). Both synchronous modes are timed; the store's default
is NORMAL. Each figure is the median over --repeat fresh stores. The last line is
`us_per_put=X.X` (NORMAL, one commit per response).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mella_eval.messages import ImagePart, user_message  # noqa: E402
from mella_eval.store import ResponseStore, generation_key  # noqa: E402
from mella_eval.tasks import GenerationSettings  # noqa: E402

BATCH = 256
IDENTITY = {"backend": "vllm", "model": "/models/qwen2-vl-7b", "fingerprint": "ab" * 32,
            "dtype": "bfloat16", "chat_template_sha256": "cd" * 32}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(folder: Path, mode: str, keys: list[str], values: list[dict]) -> dict[str, float]:
    """One fresh store: half the responses put one by one, half in batches, then read back."""
    n, half = len(keys), len(keys) // 2
    with ResponseStore(folder, synchronous=mode) as store:
        put = timed(lambda: [store.put(k, "generation", v) for k, v in zip(keys[:half], values[:half])])
        batched = timed(lambda: [store.put_many("generation", ok=dict(zip(
            keys[s:min(n, s + BATCH)], values[s:min(n, s + BATCH)]))) for s in range(half, n, BATCH)])
        get_many = timed(lambda: store.get_many(keys))
        lookups = keys[:2000]
        get_one = timed(lambda: [store.get(k) for k in lookups])
        assert len(store.get_many(keys)) == n
    size = sum(f.stat().st_size for f in folder.iterdir())
    return {"put": put / half * 1e6, "put_many": batched / (n - half) * 1e6,
            "get_many": get_many / n * 1e6, "get": get_one / len(lookups) * 1e6, "bytes": size / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="responses per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="fresh stores per mode (median shown)")
    parser.add_argument("--dir", type=Path, default=None, help="where to create the stores")
    args = parser.parse_args()
    n = args.n

    images = [ImagePart(os.urandom(60_000)) for _ in range(16)]
    requests = [(user_message(f"Popište obrázek č. {i} jednou větou.", [images[i % 16]]),)
                for i in range(n)]
    settings = GenerationSettings(max_new_tokens=128)
    for image in images:
        image.sha256  # hashed once per image when samples load, as in a run
    keys: list[str] = []
    seconds = timed(lambda: keys.extend(generation_key(IDENTITY, m, settings) for m in requests))
    print(f"generation_key      {seconds / n * 1e6:8.1f} us/key")
    values = [{"text": "Na obrázku je miska polévky s nudlemi a bylinkami. " * 3,
               "usage": {"prompt_tokens": 412, "completion_tokens": 38}} for _ in range(n)]

    results = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for mode in ("NORMAL", "FULL"):
            runs = [measure(Path(tmp) / f"{mode}-{r}", mode, keys, values) for r in range(args.repeat)]
            median = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
            results[mode] = median["put"]
            print(f"[{mode:6s}] put (1 commit each)  {median['put']:8.1f} us/response")
            print(f"[{mode:6s}] put_many ({BATCH}/commit) {median['put_many']:8.1f} us/response")
            print(f"[{mode:6s}] get_many (all {n})   {median['get_many']:8.1f} us/response")
            print(f"[{mode:6s}] get (one key)        {median['get']:8.1f} us/lookup")
            print(f"[{mode:6s}] files on disk        {median['bytes']:8.0f} bytes/response")
    print(f"FULL/NORMAL single put: {results['FULL'] / results['NORMAL']:.1f}x")
    print(f"us_per_put={results['NORMAL']:.1f}")


if __name__ == "__main__":
    main()
