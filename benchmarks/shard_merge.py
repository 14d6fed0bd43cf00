"""N shards + merge versus one unsharded run on the bundled sample.

    .venv/bin/python benchmarks/shard_merge.py --model DIR [--shards 3] [--backend hf]

Runs `mella-eval run` once over everything and N times with `--shard i/N` (one after another,
each in its own process, no response store), merges the shards, and checks that the merged
results.json and samples.jsonl equal the unsharded ones (apart from run.execution and the output
names). Exits 1 if they differ. Last line: `ratio=X.XX` = (sum of shard wall times + merge) /
unsharded wall time: what sharding costs in total compute when nodes are not the bottleneck.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def mella(*args) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mella_eval", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        raise SystemExit(f"mella-eval {' '.join(map(str, args[:2]))} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def comparable(run_dir: Path):
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    results["run"].pop("execution"), results["run"].pop("name")
    for key in ("output_dir", "run_name"):
        results["run"]["config"].pop(key)
    return results, (run_dir / "samples.jsonl").read_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--backend", default="hf")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        common = ["--model", args.model, "--backend", args.backend, "--tasks", "culture,linguistic",
                  "--langs", "all", "--no-judge", "--no-cache", "--max-model-len", "1024",
                  "--output-dir", out]
        whole = mella("run", *common, "--run-name", "whole")
        shard_times = [mella("run", *common, "--run-name", f"shard{i}", "--shard", f"{i}/{args.shards}")
                       for i in range(args.shards)]
        merge = mella("merge", *(out / f"shard{i}" for i in range(args.shards)), "-o", out / "merged")
        identical = comparable(out / "whole") == comparable(out / "merged")
    sharded = sum(shard_times) + merge
    print(f"unsharded {whole:.1f} s; {args.shards} shards {' + '.join(f'{t:.1f}' for t in shard_times)} s "
          f"+ merge {merge:.1f} s = {sharded:.1f} s; merged results identical: {identical}")
    print(f"ratio={sharded / whole:.2f}")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
