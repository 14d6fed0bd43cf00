"""Seconds per 10k samples: sacrebleu's `_extract_corpus_statistics` vs ngram_stats.

    .venv/bin/python benchmarks/corpus_statistics_speed.py [--samples 10000] [--repeats 3]

One corpus per MELLA language (as scoring does: per task and language), caption-sized windows
of the UDHR paragraphs in tests/data, hypotheses perturbed word by word, 1-4 references each
(None-padded streams). Each metric is scored with the scorer mella-eval builds
(`corpus._metric`: BLEU with the language's tokenizer, chrF, chrF++), sacrebleu and ours
alternating in one sitting (the order swaps every repeat); every run checks the rows are equal.
Prints the median seconds per 10k samples of each and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mella_eval.metrics.corpus import _metric, bleu_tokenizer_for  # noqa: E402
from mella_eval.metrics import ngram_stats  # noqa: E402
from mella_eval.metrics.ngram_stats import extract_statistics  # noqa: E402
from mella_eval.metrics.resample import reference_streams  # noqa: E402
from mella_eval.metrics.text import nfc  # noqa: E402

DATA = REPO / "tests" / "data" / "udhr_paragraphs.json"


def corpus(text: str, n: int, rng: random.Random):
    def window() -> str:
        size = rng.randint(30, 120)
        start = rng.randrange(0, max(1, len(text) - size))
        return text[start:start + size].strip()

    hyps, refs = [], []
    for _ in range(n):
        base = window()
        words = base.split()
        for _ in range(rng.randint(0, 3) if words else 0):
            k = rng.randrange(len(words))
            op = rng.random()
            if op < 0.4:
                words[k] = words[rng.randrange(len(words))]
            elif op < 0.7 and len(words) > 1:
                del words[k]
            else:
                words.insert(k, rng.choice(words))
        hyps.append(nfc(" ".join(words)))
        refs.append([base] + [window() for _ in range(rng.randint(0, 3))])
    return hyps, reference_streams(refs)


def clear_caches() -> None:
    ngram_stats._REFERENCE_CACHE.clear()
    ngram_stats._CHAR_CACHE.clear()


def warm(corpora, first: str, second: str, other_system: bool) -> float:
    """Seconds of `second` right after `first` on each corpus (ours only): chrF++ after chrF
    shares the character statistics; BLEU of another system reuses the tokenized references."""
    seconds = 0.0
    for lang, (hyps, streams) in corpora.items():
        clear_caches()
        extract_statistics(_metric(first, lang), hyps, streams)
        if other_system:
            hyps = [" ".join(reversed(h.split())) for h in hyps]
        scorer = _metric(second, lang)
        start = time.perf_counter()
        rows = extract_statistics(scorer, hyps, streams)
        seconds += time.perf_counter() - start
        if rows != _metric(second, lang)._extract_corpus_statistics(hyps, streams):
            raise SystemExit(f"{second} {lang}: rows differ from sacrebleu")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000, help="in all, split over languages")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    paragraphs = json.loads(DATA.read_text(encoding="utf-8"))["paragraphs"]
    langs = sorted(paragraphs)
    rng = random.Random(12)
    corpora = {lang: corpus(" ".join(paragraphs[lang]), args.samples // len(langs), rng)
               for lang in langs}
    total = sum(len(h) for h, _ in corpora.values())
    scale = 10000 / total
    print(f"{total} samples over {len(langs)} languages ({', '.join(langs)}), "
          f"{args.repeats} alternating repeats; load {os.getloadavg()[0]:.2f}")

    def run(metric: str, ours: bool) -> float:
        seconds = 0.0
        for lang, (hyps, streams) in corpora.items():
            scorer = _metric(metric, lang)
            clear_caches()  # cold: nothing from an earlier run or metric
            start = time.perf_counter()
            if ours:
                rows = extract_statistics(scorer, hyps, streams)
            else:
                rows = scorer._extract_corpus_statistics(hyps, streams)
            seconds += time.perf_counter() - start
            expected[metric, lang, ours] = rows
        return seconds

    expected: dict = {}
    for metric in ("bleu", "chrf", "chrf++"):
        times = {False: [], True: []}
        for rep in range(args.repeats):
            for ours in ((False, True) if rep % 2 == 0 else (True, False)):
                times[ours].append(run(metric, ours))
        for lang in langs:
            if expected[metric, lang, False] != expected[metric, lang, True]:
                raise SystemExit(f"{metric} {lang}: rows differ from sacrebleu")
        a = statistics.median(times[False]) * scale
        b = statistics.median(times[True]) * scale
        tokenizers = sorted({bleu_tokenizer_for(lang) for lang in langs}) if metric == "bleu" \
            else []
        note = f" (tokenizers {', '.join(tokenizers)})" if tokenizers else ""
        print(f"{metric:7s} sacrebleu {a:6.2f} s/10k   ngram_stats {b:6.2f} s/10k   "
              f"x{a / b:4.1f}   rows equal{note}")
    for first, second, other, what in (("chrf", "chrf++", False, "chrF++ right after chrF"),
                                       ("bleu", "bleu", True, "BLEU of a 2nd system, same refs")):
        b = warm(corpora, first, second, other) * scale
        print(f"{what}: ngram_stats {b:.2f} s/10k (cached part reused), rows equal")
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
