"""Accuracy and cost of the output-language check on real sentences (benchmarks/data/langid/).

    .venv/bin/python benchmarks/langid_accuracy.py [--data DIR] [--per-language]

Rows (see benchmarks/data/langid/SOURCES.md):
- sentences.tsv: real Tatoeba sentences in every task language (lang, text, source);
- codemixed.tsv: right-language captions naming Latin-script brands, models and URLs;
- wrong-language answers built from the real sentences: English for every other language (French
  for English), and the close pairs in CLOSE_PAIRS (answer language -> expected language).

Figures, per language and overall:
- id_acc: `detect_language` (no expectation) gives the language (or one accepted for it), on
  sentences of 20+ characters;
- fp: right-language sentences (all lengths) that `judge_language` flags wrong; fp_mixed: on
  code-mixed captions (target 0);
- recall: wrong-language answers flagged;
- consistent: every verdict has wrong == (detected not in {und, expected}), and the records the
  guard writes carry the same pair;
- us_per_prediction: what `annotate_guards` costs per prediction (median of 3 runs).
The last line is `id_acc=.. fp=.. fp_mixed=.. recall=.. consistent=..`.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mella_eval.guards import annotate_guards  # noqa: E402
from mella_eval.langid import accepted_langs, detect_language, judge_language  # noqa: E402
from mella_eval.languages import LANGUAGES  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "langid"
MIN_CHARS = 20
# (answer language, expected language): languages close enough to be confused by script or model.
CLOSE_PAIRS = [("ru", "sr"), ("sr", "ru"), ("bg", "ru"), ("mn", "ru"), ("uk", "ru"),
               ("ru", "uk"), ("ru", "bg"), ("fa", "ar"), ("ar", "fa"), ("ur", "fa"),
               ("hi", "ur"), ("ur", "hi"), ("mr", "hi"), ("hi", "mr"), ("en", "ja"),
               ("zh", "ja"), ("ja", "zh"), ("es", "pt"), ("pt", "es"), ("de", "nl"),
               ("en", "de"), ("fr", "it")]
PER_PAIR = 20
ENGLISH_PER_LANG = 10


def read_tsv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row]


def cyrillic_main(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return sum("\u0400" <= c <= "\u04ff" for c in letters) > len(letters) / 2


def wrong_rows(sentences: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(answer language, expected language, text): answers that are clearly in another language."""
    longs = {lang: [t for t in texts if len(t) >= MIN_CHARS] for lang, texts in sentences.items()}
    longs["sr"] = [t for t in longs["sr"] if cyrillic_main(t)]  # Latin Serbian is not Russian-like
    rows = []
    for expected in sorted(sentences):
        answer = "fr" if expected == "en" else "en"
        rows += [(answer, expected, t) for t in longs[answer][:ENGLISH_PER_LANG]]
    for answer, expected in CLOSE_PAIRS:
        rows += [(answer, expected, t) for t in longs[answer][:PER_PAIR]]
    return rows


def rate(hits: int, n: int) -> str:
    return f"{hits / n:.3f}" if n else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--per-language", action="store_true", help="one line per language")
    args = parser.parse_args(argv)

    sentences: dict[str, list[str]] = defaultdict(list)
    for lang, text, _source in read_tsv(args.data / "sentences.tsv"):
        sentences[lang].append(text)
    mixed = [(lang, text) for lang, text in read_tsv(args.data / "codemixed.tsv")]
    wrong = wrong_rows(sentences)
    missing = sorted(set(LANGUAGES) - set(sentences))
    stats: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    inconsistent = []

    def judged(text: str, expected: str):
        v = judge_language(text, expected)
        if v.wrong != (v.detected not in ("und", expected)):
            inconsistent.append((expected, text, v))
        return v

    for lang, texts in sorted(sentences.items()):
        for text in texts:
            if len(text) >= MIN_CHARS:
                stats[lang]["id"][0] += detect_language(text).code in accepted_langs(lang)
                stats[lang]["id"][1] += 1
            stats[lang]["fp"][0] += judged(text, lang).wrong
            stats[lang]["fp"][1] += 1
    mixed_flagged = []
    for lang, text in mixed:
        v = judged(text, lang)
        stats[lang]["mixed"][0] += v.wrong
        stats[lang]["mixed"][1] += 1
        if v.wrong:
            mixed_flagged.append((lang, text, v))
    missed = []
    for answer, expected, text in wrong:
        v = judged(text, expected)
        stats[expected]["recall"][0] += v.wrong
        stats[expected]["recall"][1] += 1
        if not v.wrong:
            missed.append((answer, expected, text, v))

    # What the guard costs per prediction, and that the records carry the verdict's pair.
    records = [{"task": "t", "lang": lang, "status": "ok", "prediction": text}
               for lang, texts in sentences.items() for text in texts]
    records += [{"task": "t", "lang": e, "status": "ok", "prediction": t} for _a, e, t in wrong]
    timings = []
    for _ in range(3):
        fresh = [dict(r) for r in records]
        start = time.perf_counter()
        annotate_guards(fresh)
        timings.append((time.perf_counter() - start) / len(fresh))
    for r in fresh:
        v = judge_language(r["prediction"], r["lang"])
        if (r["detected_lang"], r["wrong_language"]) != (v.detected, v.wrong) or \
                r["wrong_language"] != (r["detected_lang"] not in ("und", r["lang"])):
            inconsistent.append((r["lang"], r["prediction"], "record"))

    def total(kind: str) -> tuple[int, int]:
        return (sum(s[kind][0] for s in stats.values()), sum(s[kind][1] for s in stats.values()))

    if args.per_language:
        print(f"{'lang':5} {'id_acc':>7} {'n':>4} {'fp':>6} {'n':>4} {'mixed':>6} "
              f"{'recall':>7} {'n':>4}")
        for lang in sorted(stats):
            s = stats[lang]
            print(f"{lang:5} {rate(*s['id']):>7} {s['id'][1]:>4} {rate(*s['fp']):>6} "
                  f"{s['fp'][1]:>4} {rate(*s['mixed']):>6} {rate(*s['recall']):>7} "
                  f"{s['recall'][1]:>4}")
    weak = {lang: rate(*s["id"]) for lang, s in sorted(stats.items())
            if s["id"][1] and s["id"][0] / s["id"][1] < 0.97}
    print(f"languages: {len(sentences)} (task languages without sentences: {missing or 'none'})")
    print(f"identification below 0.97: {weak or 'none'}")
    for lang, text, v in mixed_flagged:
        print(f"code-mixed flagged: {lang}: {text!r} -> {v}")
    for answer, expected, text, v in missed[:15]:
        print(f"missed: {answer} for {expected}: {text!r} -> {v.detected} ({v.method})")
    fps = [(lang, t) for lang, texts in sentences.items() for t in texts
           if judge_language(t, lang).wrong]
    for lang, text in fps[:15]:
        print(f"false alarm: {lang}: {text!r} -> {judge_language(text, lang)}")
    print(f"us_per_prediction={statistics.median(timings) * 1e6:.0f} "
          f"({len(records)} predictions)")
    print(f"id_acc={rate(*total('id'))} fp={rate(*total('fp'))} "
          f"fp_mixed={rate(*total('mixed'))} recall={rate(*total('recall'))} "
          f"consistent={'yes' if not inconsistent else f'no ({len(inconsistent)})'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
