"""Scoring and intervals at scale (issue 12): each corpus's sacrebleu statistics are extracted once
per run, however many (task, lang, metric) corpora the run has."""

from types import SimpleNamespace

from mella_eval.aggregate import add_confidence_intervals
from mella_eval.metrics.registry import METRICS
from mella_eval.score import macro_means, score_records

WORDS = "the quick brown fox jumps over a lazy dog near the old river bank today".split()


def _records(n_tasks: int, langs: tuple[str, ...], per_cell: int = 6) -> tuple[list, list[dict]]:
    tasks = [SimpleNamespace(name=f"t{k}", metrics=("bleu", "chrf", "chrf++"), breakdown=None)
             for k in range(n_tasks)]
    records = []
    for task in tasks:
        for lang in langs:
            for i in range(per_cell):
                words = WORDS[i:] + WORDS[:i]
                records.append({"task": task.name, "lang": lang, "id": f"{task.name}-{lang}-{i}",
                                "status": "ok", "prediction": " ".join(words[:9]),
                                "references": [" ".join(words[1:10]), " ".join(words[:8])],
                                "metrics": {}})
    return tasks, records


def test_each_corpus_is_extracted_once_for_scores_and_intervals(monkeypatch):
    from mella_eval.metrics import ngram_stats

    calls = []
    original = ngram_stats.extract_statistics

    def counting(scorer, hypotheses, references):
        calls.append((type(scorer).__name__, tuple(hypotheses)))
        return original(scorer, hypotheses, references)

    monkeypatch.setattr(ngram_stats, "extract_statistics", counting)
    # 5 tasks x 3 languages x 3 corpus metrics = 45 corpora: more than the old 32-entry cache.
    # The hypotheses differ per task so that no two corpora share a cache entry.
    tasks, records = _records(5, ("cs", "hu", "ru"))
    for r in records:
        r["prediction"] += f" {r['task']}"
    scores = score_records(tasks, records)
    assert len(calls) == 45
    macro = macro_means(scores)
    add_confidence_intervals(scores, records, {m: s.kind for m, s in METRICS.items()},
                             n_boot=50, seed=3, macro=macro)
    assert len(calls) == 45, "intervals re-extracted corpora that scoring had extracted"
    assert all(row["ci_low"] is not None and row["ci_low"] <= row["value"] + 1e-9 for row in scores)


def test_bit_parallel_lcs_equals_the_dynamic_program():
    import random

    from mella_eval.metrics.rouge import _lcs_length_dp, lcs_length

    rng = random.Random(7)
    for _ in range(400):
        alphabet = "abcde"[: rng.randint(1, 5)]
        a = [rng.choice(alphabet) for _ in range(rng.randint(0, 40))]
        b = [rng.choice(alphabet) for _ in range(rng.randint(0, 90))]
        assert lcs_length(a, b) == _lcs_length_dp(a, b) == lcs_length(b, a)
    thai = list("แมวสีส้มนอนอยู่บนโซฟาสีเทาในห้องนั่งเล่น" * 3)
    assert lcs_length(thai, thai[5:]) == len(thai) - 5
