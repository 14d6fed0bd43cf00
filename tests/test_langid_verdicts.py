"""The language identifier gives the verdicts it gave before it was made faster (issue 12).

tests/data/langid_verdicts.json.gz was recorded with the earlier code
(tests/data/build_langid_verdicts.py) on ~7,600 (text, expected) pairs of real sentences in every
task language, wrong-language pairs, mixed and edge strings."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from mella_eval.guards import annotate_guards
from mella_eval.langid import detect_language, judge_language

GOLDEN = Path(__file__).resolve().parent / "data" / "langid_verdicts.json.gz"


@pytest.fixture(scope="module")
def golden() -> dict:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        return json.load(f)


def test_golden_is_varied(golden):
    methods = Counter(row[4] for row in golden["judge"])
    assert len(golden["judge"]) > 5000 and sum(row[3] for row in golden["judge"]) > 1000
    assert {"too-short", "names-only", "script", "letters", "model", "uncertain"} <= set(methods)


def test_judge_language_verdicts_unchanged(golden):
    texts = golden["texts"]
    changed = []
    for i, expected, detected, wrong, method, confidence in golden["judge"]:
        v = judge_language(texts[i], expected)
        if (v.detected, v.wrong, v.method, v.confidence) != (detected, wrong, method, confidence):
            changed.append((texts[i][:60], expected, (detected, wrong, method, confidence),
                            (v.detected, v.wrong, v.method, v.confidence)))
    assert not changed, f"{len(changed)} verdicts changed, e.g. {changed[:5]}"


def test_detect_language_unchanged(golden):
    changed = [(text[:60], want, got) for text, want in zip(golden["texts"], golden["detect"])
               if (got := [(g := detect_language(text)).code, round(g.confidence, 6), g.method])
               != want]
    assert not changed, f"{len(changed)} guesses changed, e.g. {changed[:5]}"


def test_guard_records_match_verdicts(golden):
    texts = golden["texts"]
    rows = golden["judge"][::7]
    records = [{"task": "t", "lang": expected, "status": "ok", "prediction": texts[i]}
               for i, expected, *_ in rows]
    annotate_guards(records)
    for record, (_, _, detected, wrong, _, _) in zip(records, rows):
        assert (record["detected_lang"], record["wrong_language"]) == (detected, wrong)


def test_batched_model_equals_py3langid_rank(golden):
    """The batch scorer gives py3langid's own probabilities, bit for bit."""
    from mella_eval import langid
    texts = golden["texts"][::3] + ["", "ВВС", "a" * 3000]
    langid.clear_caches()
    langid.prefetch_model(texts)
    for text in texts:
        want: dict[str, float] = {}
        for label, p in langid._model().rank(text):
            want.setdefault(langid._LABEL_CODE.get(label, label), p)
        assert langid._model_probs(text) == want, text[:60]
