"""Time of the post-generation work per 10,000 samples (issue 12's target: under 2 s in all).

Builds a run of N sample records the way the evaluator has them after generation (no model, no
images): eight languages, three tasks -- a captioning task (bleu, chrf++, cider, rouge_l,
meteor), a linguistic task (bleu, chrf, chrf++, rouge_l, meteor) and a keyword task
(keyword_acc) -- with predictions and references cut from real text (the UDHR paragraphs of
tests/data/udhr_paragraphs.json, as the OHCHR's translators wrote them; a prediction is a
perturbed window of paragraph i, its references paragraphs i and i+1). Then it runs, in the
evaluator's order, and times:

  guards          annotate_guards (language ID + injection; helper E's code, measured only)
  sample metrics  add_sample_metrics (keyword_acc, CIDEr-D, ROUGE-L, METEOR)
  corpus metrics  score_records (BLEU / chrF / chrF++ corpus values, means of sample metrics)
  intervals       add_confidence_intervals (1000 bootstrap resamples, every row + macro rows)
  guard counts    guard_counts
  writing         write_run (results.json + samples.jsonl)

Usage: .venv/bin/python benchmarks/post_generation.py [--samples 2560 10240] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LANGS = ("ar", "cs", "hu", "ko", "ru", "sr", "th", "vi")
TASKS = (
    SimpleNamespace(name="captions", metrics=("bleu", "chrf++", "cider", "rouge_l", "meteor")),
    SimpleNamespace(name="linguistic", metrics=("bleu", "chrf", "chrf++", "rouge_l", "meteor")),
    SimpleNamespace(name="culture", metrics=("keyword_acc",)),
)
for _task in TASKS:
    _task.breakdown = None
    _task.expected_answer_lang = lambda lang: lang


def _window(text: str, rng: random.Random, length: int) -> str:
    """A caption-sized piece of `text` starting at a word boundary."""
    if len(text) <= length:
        return text
    start = rng.randrange(0, len(text) - length)
    space = text.find(" ", start)
    start = space + 1 if 0 <= space < start + 40 else start
    return text[start:start + length]


def _perturb(text: str, rng: random.Random) -> str:
    """A model-like answer: some words dropped, some repeated, a window moved."""
    words = text.split()
    out = []
    for w in words:
        roll = rng.random()
        if roll < 0.12:
            continue
        out.append(w)
        if roll > 0.95:
            out.append(w)
    return " ".join(out) or text


def build_records(n: int, seed: int = 0) -> list[dict]:
    paragraphs = json.loads((ROOT / "tests/data/udhr_paragraphs.json").read_text("utf-8"))["paragraphs"]
    rng = random.Random(seed)
    records = []
    per_cell = max(1, n // (len(TASKS) * len(LANGS)))
    for task in TASKS:
        for lang in LANGS:
            texts = paragraphs[lang]
            for i in range(per_cell):
                p = i % len(texts)
                ref_a = _window(texts[p], rng, 160)
                ref_b = _window(texts[(p + 1) % len(texts)], rng, 160)
                prediction = _perturb(_window(texts[p], rng, 180), rng)
                record = {"task": task.name, "lang": lang, "id": f"{lang}-{i:06d}", "status": "ok",
                          "prediction": prediction, "references": [ref_a, ref_b], "metrics": {}}
                if task.name == "culture":
                    words = [w for w in ref_a.split() if len(w) > 3][:5] or [ref_a[:4]]
                    record["keywords"] = [[w] for w in words]
                if i % 97 == 13:  # a few failed generations, as in real runs
                    record.update(status="error", prediction=None, error="timeout")
                records.append(record)
    return records


def run_stages(records: list[dict], out_dir: Path, seed: int = 0) -> dict[str, float]:
    from mella_eval.aggregate import add_confidence_intervals
    from mella_eval.guards import annotate_guards, guard_counts
    from mella_eval.metrics.registry import METRICS
    from mella_eval.results import write_run
    from mella_eval.score import add_sample_metrics, macro_means, score_records

    times = {}
    t = time.perf_counter()
    annotate_guards(records, {task.name: task for task in TASKS})
    times["guards"] = time.perf_counter() - t
    t = time.perf_counter()
    add_sample_metrics(list(TASKS), records)
    times["sample metrics"] = time.perf_counter() - t
    t = time.perf_counter()
    scores = score_records(list(TASKS), records)
    macro = macro_means(scores)
    times["corpus metrics"] = time.perf_counter() - t
    t = time.perf_counter()
    bootstrap = add_confidence_intervals(scores, records, {m: s.kind for m, s in METRICS.items()},
                                         seed=seed, macro=macro)
    times["intervals"] = time.perf_counter() - t
    t = time.perf_counter()
    diagnostics = guard_counts(records)
    times["guard counts"] = time.perf_counter() - t
    errors = [row for row in scores if row.get("error")]
    if errors:
        raise SystemExit(f"benchmark run has error rows: {errors[:3]}")
    t = time.perf_counter()
    write_run(out_dir / "bench-run", {"scores": scores, "macro": {"scores": macro},
                                      "bootstrap": bootstrap, "diagnostics": diagnostics}, records)
    times["writing"] = time.perf_counter() - t
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[2560, 10240])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-lang", action="store_true", help="also print sample metrics per language")
    args = parser.parse_args()
    for n in args.samples:
        records = build_records(n, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            times = run_stages(records, Path(tmp), args.seed)
        scale = 10_000 / len(records)
        print(f"\n{len(records)} samples ({len(LANGS)} languages, {len(TASKS)} tasks): "
              "seconds measured / seconds per 10,000 samples")
        for stage, seconds in times.items():
            print(f"  {stage:<15} {seconds:8.3f}  {seconds * scale:8.3f}")
        total = sum(times.values())
        without_guards = total - times["guards"]
        print(f"  {'total':<15} {total:8.3f}  {total * scale:8.3f}")
        print(f"  {'total - guards':<15} {without_guards:8.3f}  {without_guards * scale:8.3f}")


if __name__ == "__main__":
    main()
