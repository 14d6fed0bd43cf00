"""Wall time of a fully cached re-run (every response already in the store), issue 12.

    .venv/bin/python benchmarks/cached_rerun.py [--requests 256] [--backend hf] [--repeats 3]
                                                [--source DIR ...] [--work DIR]

Writes a captioning workload of N samples (benchmarks/memory_scale.py's: own JPEG per sample,
two languages, cheap metrics) and a tiny random-weight VLM (scripts/make_tiny_vlm.py), runs
`python -m mella_eval run --backend B` once to fill a response store, then times `--repeats`
re-runs of the same command per `--source` (a folder holding a `mella_eval` package, e.g. an
older commit from `git archive`; default this checkout), alternating the sources in each round.
Each re-run reports whether torch was imported. Last line per source: `best=X.XXs torch=...`;
target < 3 s at 256 requests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The CLI in-process, then whether torch was loaded (exit status = the CLI's).
CHILD = ("import sys; from mella_eval.cli import main; rc = main(sys.argv[1:]); "
         "print('TORCH_IMPORTED=' + str('torch' in sys.modules), file=sys.stderr); sys.exit(rc)")


def tiny_model(work: Path) -> Path:
    folder = work / "tiny-vlm"
    if not (folder / "config.json").is_file():
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_tiny_vlm.py"), str(folder)],
                       check=True, capture_output=True)
    return folder


def run(source: Path, argv: list[str]) -> tuple[float, bool, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "MELLA_PROGRESS": "off",
           "PYTHONPATH": str(source) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=source, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"run failed ({source}):\n{done.stderr[-3000:]}")
    return elapsed, "TORCH_IMPORTED=True" in done.stderr, done.stderr


def main(argv=None) -> int:
    from memory_scale import LANGS, make_workload

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--backend", default="hf", choices=("hf", "vllm"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--image-kb", type=int, default=100)
    parser.add_argument("--source", action="append", type=Path,
                        help="folder with a mella_eval package to time (repeatable; default: this checkout)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mella-cached-rerun"))
    args = parser.parse_args(argv)
    sources = [s.resolve() for s in (args.source or [REPO])]
    args.work.mkdir(parents=True, exist_ok=True)
    workload = make_workload(args.work, args.requests, args.image_kb)
    model = tiny_model(args.work)
    command = ["run", "--tasks", str(workload / "task.yaml"), "--include-path", str(workload),
               "--langs", ",".join(LANGS), "--model", str(model), "--backend", args.backend,
               "--max-new-tokens", "8", "--output-dir", str(args.work / "runs"), "--run-name", "bench",
               "--cache-dir", str(args.work / f"cache-{args.backend}-{args.requests}")]
    filled, _, log = run(sources[0], command)
    print(f"first run (fills the store): {filled:.2f} s", flush=True)
    times: dict[Path, list[float]] = {s: [] for s in sources}
    torch_seen: dict[Path, bool] = {s: False for s in sources}
    for round_ in range(args.repeats):
        for source in sources if round_ % 2 == 0 else list(reversed(sources)):
            elapsed, torch_imported, log = run(source, command)
            if f"{args.requests} reused from the response store, 0 new" not in log:
                raise SystemExit(f"re-run was not fully cached ({source}):\n{log[-2000:]}")
            times[source].append(elapsed)
            torch_seen[source] |= torch_imported
            print(f"round {round_} {source}: {elapsed:.2f} s torch={torch_imported}", flush=True)
    for source in sources:
        print(f"{source}: requests={args.requests} backend={args.backend} "
              f"best={min(times[source]):.2f}s torch={torch_seen[source]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
