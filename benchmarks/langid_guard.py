"""Cost of the language-ID guard (`annotate_guards`) per sample, issue 12 (post-generation work
under 2 s per 10,000 samples in all).

Two workloads, each timed in a fresh state (no verdict cached):
- post-generation: the 10,000 records of benchmarks/post_generation.py (eight MELLA languages,
  perturbed UDHR windows, answers all different);
- varied: the (text, expected) pairs of tests/data/langid_verdicts.json.gz (real sentences of
  every task language, wrong-language pairs, mixed and edge strings), repeated twice so repeated
  answers count as they do in real runs (the same short answer across samples).

    .venv/bin/python benchmarks/langid_guard.py [--samples 10000] [--tree DIR] [--profile]

`--tree DIR` imports `mella_eval` from DIR instead (e.g. an older revision unpacked with
`git archive REV mella_eval | tar -x -C DIR`): the before figure. `--profile` prints the top of a
cProfile of the post-generation workload.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _varied_records() -> list[dict]:
    with gzip.open(ROOT / "tests/data/langid_verdicts.json.gz", "rt", encoding="utf-8") as f:
        golden = json.load(f)
    texts = golden["texts"]
    once = [{"task": "t", "lang": lang, "id": str(n), "status": "ok", "prediction": texts[i]}
            for n, (i, lang, *_) in enumerate(golden["judge"])]
    return once + [dict(r) for r in once]


def _time(annotate, records: list[dict]) -> float:
    t = time.perf_counter()
    annotate(records)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--tree", type=Path, help="import mella_eval from this folder")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(args.tree.resolve() if args.tree else ROOT))
    import mella_eval.guards as guards
    from mella_eval import langid
    from post_generation import TASKS, build_records

    tasks = {task.name: task for task in TASKS}
    langid.judge_language("warm-up: the model loads once", "en")  # not part of the per-sample cost
    post = [r for r in build_records(args.samples) if r["status"] == "ok"]
    varied = _varied_records()

    def fresh() -> None:  # drop whatever verdict cache the code under test keeps
        getattr(langid, "clear_caches", lambda: None)()
        for name in dir(langid):
            clear = getattr(getattr(langid, name), "cache_clear", None)
            if clear is not None and name not in ("_model", "model_labels"):
                clear()

    fresh()
    if args.profile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        profiler.runcall(guards.annotate_guards, post, tasks)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
        fresh()
    t_post = _time(lambda rs: guards.annotate_guards(rs, tasks), post)
    fresh()
    t_varied = _time(guards.annotate_guards, varied)
    fresh()
    pairs = [(r["prediction"], r["lang"]) for r in post]
    judge = getattr(langid, "judge_languages", lambda ps: [langid.judge_language(*p) for p in ps])
    t_langid = _time(judge, pairs)
    print(f"mella_eval from {Path(guards.__file__).parent}")
    print(f"language ID only (post-generation workload): {t_langid / len(post) * 1e6:.0f} us/sample"
          f"  {t_langid / len(post) * 1e4:.2f} s/10k")
    print("annotate_guards (language ID + injection check):")
    print(f"post-generation: {len(post)} samples  {t_post:.3f} s  "
          f"{t_post / len(post) * 1e6:.0f} us/sample  {t_post / len(post) * 1e4:.2f} s/10k")
    print(f"varied:          {len(varied)} samples  {t_varied:.3f} s  "
          f"{t_varied / len(varied) * 1e6:.0f} us/sample  {t_varied / len(varied) * 1e4:.2f} s/10k")


if __name__ == "__main__":
    main()
