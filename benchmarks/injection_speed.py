"""Cost of `detect_injection` per 10,000 predictions (issue 12, post-generation speed).

Texts: 10,000 caption-sized windows (15-170 characters) of the UDHR paragraphs of
tests/data/udhr_paragraphs.json in ar cs hu ko ru sr th vi, seeded, all different; the per-text
result cache is also cleared before every round, so no round is helped by an earlier one.

    .venv/bin/python benchmarks/injection_speed.py [--rounds 5] [--old PATH] [--profile]

`--old PATH` loads another injection.py by path (e.g. a copy of the module before a change) and
times it and the current module alternately, round by round, in one process: the A/B figure.
Both must give the same labels on every text (checked). `--profile` prints a cProfile top.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LANGS = ("ar", "cs", "hu", "ko", "ru", "sr", "th", "vi")


def caption_texts(n: int = 10_000, seed: int = 12) -> list[str]:
    udhr = ROOT / "tests/data/udhr_paragraphs.json"
    paragraphs = json.loads(udhr.read_text("utf-8"))["paragraphs"]
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n:  # all different: a cache of results helps no text
        p = rng.choice(paragraphs[rng.choice(LANGS)])
        size = rng.randint(15, 170)
        start = rng.randint(0, max(0, len(p) - size))
        out[p[start:start + size]] = None
    return list(out)


def load_module(path: str):
    spec = importlib.util.spec_from_file_location("injection_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_round(module, texts: list[str]) -> float:
    clear = getattr(module, "cache_clear", None)  # the old module has no cache
    if clear:
        clear()
    detect = module.detect_injection
    t = time.perf_counter()
    for text in texts:
        detect(text)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--old", help="another injection.py, timed alternately with the current")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    from mella_eval import injection as new

    texts = caption_texts()
    per10k = 10_000 / len(texts)
    modules = {"current": new}
    if args.old:
        modules = {"old": load_module(args.old), "current": new}
        differ = sum(modules["old"].detect_injection(t) != new.detect_injection(t) for t in texts)
        print(f"labels differing between old and current: {differ} of {len(texts)}")
    for module in modules.values():  # compile the patterns outside the timed rounds
        module.detect_injection("warm-up")
    times: dict[str, list[float]] = {name: [] for name in modules}
    for _ in range(args.rounds):
        for name, module in modules.items():
            times[name].append(one_round(module, texts) * per10k)
    for name, ts in times.items():
        print(f"{name:8s} s per 10k: median {statistics.median(ts):.3f}  min {min(ts):.3f}  "
              f"rounds {' '.join(f'{t:.3f}' for t in ts)}")
    if args.old:
        print(f"speed-up (median old / median current): "
              f"{statistics.median(times['old']) / statistics.median(times['current']):.1f}x")
    if args.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.runcall(one_round, new, texts)
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
