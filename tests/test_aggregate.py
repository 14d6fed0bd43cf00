"""Confidence intervals: fast corpus resampling equals sacrebleu, seeded intervals, no silent blanks.

Run folders are real: made by `mella-eval run --predictions` on the bundled sample.
"""

from __future__ import annotations

import copy
import json
import time
import unicodedata
from pathlib import Path

import pytest

from mella_eval.aggregate import (add_confidence_intervals, bootstrap_record, samples_frame,
                                  scores_frame)
from mella_eval.languages import MELLA_LANGS
from mella_eval.metrics.corpus import corpus_score
from mella_eval.metrics.registry import METRICS
from mella_eval.metrics.resample import (CorpusStatistics, bootstrap_counts, corpus_statistics,
                                         resampled_means, stream_seed)
from mella_eval.results import read_results, read_samples
from prediction_runs import SAMPLE_ROWS, degraded, make_run

KINDS = {name: spec.kind for name, spec in METRICS.items()}

@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory, "noisy", lambda r, i: degraded(r["references"][i % 3], i))


@pytest.fixture(scope="module")
def thai_fails_run(tmp_path_factory) -> Path:
    """Every Thai prediction is null: linguistic/th has zero scorable samples."""
    return make_run(tmp_path_factory, "thai-fails",
                    lambda r, i: None if r["lang"] == "th" else degraded(r["references"][0], i))


@pytest.mark.parametrize("lang", MELLA_LANGS)
def test_resampling_point_value_equals_corpus_score(lang):
    rows = [r for r in SAMPLE_ROWS if r["lang"] == lang]
    # Degraded predictions, one decomposed (NFD) to exercise NFC, variable reference counts.
    hyps = [degraded(r["references"][i % 3], i) for i, r in enumerate(rows)]
    hyps[0] = unicodedata.normalize("NFD", hyps[0])
    refs = [r["references"][: 1 + i % 3] for i, r in enumerate(rows)]
    for metric in ("bleu", "chrf", "chrf++"):
        expected = corpus_score(metric, lang, hyps, refs)
        stats = corpus_statistics(metric, lang, hyps, refs)
        assert stats.score() == expected.value  # bit-identical, not approximately
        assert stats.signature == expected.signature
        # The resampling path, fed "every sentence once", gives the same number too.
        ones = [[1.0] * len(hyps)]
        assert stats.resampled_scores(ones)[0] == expected.value


def test_bootstrap_counts_are_seeded_resamples():
    a = bootstrap_counts(50, 200, stream_seed(0, "linguistic", "th"))
    b = bootstrap_counts(50, 200, stream_seed(0, "linguistic", "th"))
    c = bootstrap_counts(50, 200, stream_seed(0, "linguistic", "vi"))
    assert a.shape == (200, 50)
    assert (a == b).all() and not (a == c).all()
    assert (a.sum(axis=1) == 50).all()
    assert resampled_means([1.0] * 50, a).tolist() == [1.0] * 200


def test_ci_contains_value_and_is_deterministic(noisy_run):
    results, records = read_results(noisy_run), read_samples(noisy_run)
    scores, macro = copy.deepcopy(results["scores"]), copy.deepcopy(results["macro"]["scores"])
    info = add_confidence_intervals(scores, records, KINDS, n_boot=300, seed=0, macro=macro)
    assert info == bootstrap_record(300, 0, 0.05)
    assert {"n_boot", "seed", "method"} <= set(info)
    metrics = {row["metric"] for row in scores}
    assert {"bleu", "chrf", "chrf++"} <= metrics and len(scores) == 8 * len(metrics)
    for row in scores + macro:
        assert row["ci_low"] <= row["value"] <= row["ci_high"], row
        if KINDS[row["metric"]] == "corpus":
            assert row["ci_low"] < row["ci_high"], row  # varied predictions: a real interval

    again, macro_again = copy.deepcopy(results["scores"]), copy.deepcopy(results["macro"]["scores"])
    # Same inputs in another record order -> identical numbers.
    add_confidence_intervals(again, list(reversed(records)), KINDS, n_boot=300, seed=0,
                             macro=macro_again)
    assert [(r["ci_low"], r["ci_high"]) for r in again + macro_again] == \
           [(r["ci_low"], r["ci_high"]) for r in scores + macro]

    other = copy.deepcopy(results["scores"])
    add_confidence_intervals(other, records, KINDS, n_boot=300, seed=1)
    assert [(r["ci_low"], r["ci_high"]) for r in other] != [(r["ci_low"], r["ci_high"]) for r in scores]


def test_zero_scorable_samples_is_an_error_not_a_blank(thai_fails_run):
    results, records = read_results(thai_fails_run), read_samples(thai_fails_run)
    thai = [s for s in results["scores"] if s["lang"] == "th"]
    assert {s["metric"] for s in thai} >= {"bleu", "chrf", "chrf++"}
    assert all(s["value"] is None and s["n"] == 0 and s["failed"] == 8 for s in thai)
    assert all("no sample could be scored" in s["error"] for s in thai)

    scores, macro = copy.deepcopy(results["scores"]), copy.deepcopy(results["macro"]["scores"])
    add_confidence_intervals(scores, records, KINDS, n_boot=100, macro=macro)
    for row in scores:
        if row["lang"] == "th":
            assert row["ci_low"] is None and row["ci_high"] is None and row["error"]
        else:
            assert row["ci_low"] is not None
    # The macro mean over languages cannot be built: an error naming the language.
    assert all(m["value"] is None and m["ci_low"] is None and "th" in m["error"] for m in macro)


def test_sample_metric_interval_and_value_check():
    records = [{"task": "culture", "lang": "vi", "id": f"s{i}", "status": "ok", "prediction": "x",
                "references": ["x"], "metrics": {"keyword_acc": v}}
               for i, v in enumerate([0.0, 0.5, 1.0, 1.0, None])]
    records.append({"task": "culture", "lang": "vi", "id": "s9", "status": "error", "prediction": None,
                    "references": ["x"], "metrics": {}})
    row = {"task": "culture", "lang": "vi", "metric": "keyword_acc", "value": 0.625, "n": 4, "failed": 1}
    add_confidence_intervals([row], records, {"keyword_acc": "sample"}, n_boot=200)
    assert 0.0 <= row["ci_low"] <= 0.625 <= row["ci_high"] <= 1.0

    wrong = {**row, "value": 0.5}
    with pytest.raises(ValueError, match="not the value of its samples"):
        add_confidence_intervals([wrong], records, {"keyword_acc": "sample"}, n_boot=50)


def test_resampling_is_fast_for_a_large_corpus():
    """1000 resamples of a 3,600-sentence corpus for bleu + chrf + chrf++ (statistics extracted
    once, as the run's scoring already does; tiled here to keep the test quick)."""
    rows = [r for r in SAMPLE_ROWS if r["lang"] == "vi"]
    hyps = [degraded(r["references"][0], i) for i, r in enumerate(rows)]
    refs = [r["references"] for r in rows]
    elapsed = 0.0
    for metric in ("bleu", "chrf", "chrf++"):
        small = corpus_statistics(metric, "vi", hyps, refs)
        big = CorpusStatistics(metric, "vi", small.rows * 450, small.scorer, small.signature)
        assert len(big) == 3600
        t0 = time.perf_counter()
        reps = big.resampled_scores(bootstrap_counts(3600, 1000, stream_seed(0, "linguistic", "vi")))
        elapsed += time.perf_counter() - t0
        assert reps.shape == (1000,)
    assert elapsed < 5.0, f"{elapsed:.2f} s"


def test_frames(noisy_run):
    results, records = read_results(noisy_run), read_samples(noisy_run)
    frame = scores_frame(results)
    assert len(frame) == len(results["scores"])
    assert list(frame.columns[:5]) == ["run", "model", "task", "lang", "metric"]
    assert set(frame["run"]) == {"noisy"}
    samples = samples_frame(records)
    assert len(samples) == 64 and (samples["status"] == "ok").all()
