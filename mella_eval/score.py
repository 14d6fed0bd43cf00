"""Phase 4: metrics per (task, lang) from the sample records, plus per-task macro means.

Corpus metrics (BLEU, chrF, chrF++) are computed over the whole (task, lang) corpus of scorable
samples. Sample and judge metrics are means of per-sample values in `record["metrics"]`; a
sample without a value (failed generation, failed judgement) is left out and counted in `failed`.
"""

from __future__ import annotations

from statistics import fmean

from mella_eval.metrics.resample import corpus_statistics
from mella_eval.metrics.registry import METRICS
from mella_eval.tasks import Task

MACRO_RULE = ("per task and metric: unweighted mean of the per-language values over the languages "
              "run; null when any of those languages has no value")
def add_sample_metrics(tasks: list[Task], records: list[dict]) -> None:
    """Per-sample values of "sample"-kind metrics that need no judge: keyword accuracy, CIDEr-D,
    the question-answering metrics (metrics/answers.py)."""
    from mella_eval.metrics.answers import add_answer_metrics

    for task in tasks:
        add_answer_metrics(task, records)
    keyword_tasks = {t.name for t in tasks if "keyword_acc" in t.metrics}
    if not keyword_tasks:
        return
    from mella_eval.metrics.keywords import keyword_accuracy

    for record in records:
        if record["task"] in keyword_tasks and record["status"] == "ok" and record["prediction"] is not None:
            if not record.get("keywords"):
                continue  # nothing to find: no value rather than a misleading 0 or 1
            result = keyword_accuracy(record["prediction"], record["keywords"], record["lang"])
            record["metrics"]["keyword_acc"] = result.score
            record["keyword_match"] = result.to_dict()


def score_records(tasks: list[Task], records: list[dict]) -> list[dict]:
    """One score row per (task, lang, metric): value, n scored, failed samples, signature."""
    rows = []
    for task in tasks:
        by_lang: dict[str, list[dict]] = {}
        for record in records:
            if record["task"] == task.name:
                by_lang.setdefault(record["lang"], []).append(record)
        for lang, lang_records in by_lang.items():
            for metric in task.metrics:
                rows.append(_score_row(task.name, lang, metric, lang_records))
    return rows


def _score_row(task: str, lang: str, metric: str, records: list[dict]) -> dict:
    row = {"task": task, "lang": lang, "metric": metric, "value": None, "n": 0, "failed": 0}
    if METRICS[metric].kind == "corpus":
        ok = [r for r in records if r["status"] == "ok" and r["prediction"] is not None]
        row.update(n=len(ok), failed=len(records) - len(ok))
        if ok:
            # Per-sentence statistics, summed: the same number as sacrebleu's corpus score, and
            # the bootstrap (aggregate.py) resamples the same extraction instead of redoing it.
            stats = corpus_statistics(metric, lang, [r["prediction"] for r in ok],
                                      [r["references"] for r in ok])
            row.update(value=stats.score(), signature=stats.signature)
    elif METRICS[metric].kind == "ratio":
        pairs = ratio_pairs(METRICS[metric], records)
        row.update(n=len(pairs), failed=len(records) - len(pairs))
        if pairs and sum(d for _, d in pairs) > 0:
            row["value"] = METRICS[metric].scale * sum(n for n, _ in pairs) / sum(d for _, d in pairs)
    else:
        values = [r["metrics"][metric] for r in records if metric in r["metrics"]]
        row.update(n=len(values), failed=len(records) - len(values))
        if values:
            row["value"] = fmean(values)
    if METRICS[metric].kind in ("judge", "ratio"):
        row["judge_failed"] = sum(1 for r in records if r.get("judge", {}).get("status") in ("error", "parse_error"))
    if row["value"] is None:
        row["error"] = f"no sample could be scored ({row['failed']} failed)"
    return row


def ratio_pairs(spec, records: list[dict]) -> list[tuple[float, float]]:
    """(numerator, denominator) of a ratio metric for each record that has both."""
    numerator, denominator = spec.ratio_of
    return [(r["metrics"][numerator], r["metrics"][denominator]) for r in records
            if numerator in r["metrics"] and denominator in r["metrics"]]


def macro_means(scores: list[dict]) -> list[dict]:
    """Per (task, metric): unweighted mean over languages (see MACRO_RULE)."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for row in scores:
        grouped.setdefault((row["task"], row["metric"]), []).append(row)
    out = []
    for (task, metric), rows in grouped.items():
        values = [r["value"] for r in rows]
        complete = all(v is not None for v in values)
        out.append({"task": task, "metric": metric,
                    "value": fmean(values) if complete else None,
                    "langs": [r["lang"] for r in rows], "n": sum(r["n"] for r in rows)})
    return out


def summarize(tasks, records: list[dict], seed: int = 0) -> dict:
    """Everything results.json derives from the sample records: scores with confidence
    intervals, macro means, the bootstrap settings and the guard diagnostics. `tasks` need only
    `name` and `metrics`. Used by a run and by `merge`, so both give the same numbers."""
    from mella_eval.aggregate import add_confidence_intervals
    from mella_eval.guards import guard_counts

    scores = score_records(tasks, records)
    macro = macro_means(scores)
    bootstrap = add_confidence_intervals(scores, records, {m: spec.kind for m, spec in METRICS.items()},
                                         seed=seed, macro=macro)
    out = {
        "scores": scores,
        "macro": {"rule": MACRO_RULE, "scores": macro},
        "bootstrap": bootstrap,
        # Output-language and prompt-injection checks on every prediction, per (task, lang).
        "diagnostics": guard_counts(records),
    }
    breakdowns = [row for task in tasks if getattr(task, "breakdown", None)
                  for row in breakdown_rows(task, records)]
    if breakdowns:
        out["breakdowns"] = breakdowns
    return out


def breakdown_rows(task, records: list[dict]) -> list[dict]:
    """Per (lang, value of the task's breakdown field, e.g. country) and per-sample metric: the
    mean and n (corpus metrics are not broken down: a tiny corpus gives no stable value)."""
    field = task.breakdown
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        if r["task"] == task.name:
            groups.setdefault((r["lang"], r.get(field)), []).append(r)
    rows = []
    for (lang, value), group in groups.items():
        for metric in task.metrics:
            if METRICS[metric].kind in ("corpus", "ratio"):
                continue
            values = [r["metrics"][metric] for r in group if metric in r["metrics"]]
            rows.append({"task": task.name, "lang": lang, field: value, "metric": metric,
                         "value": fmean(values) if values else None, "n": len(values),
                         "failed": len(group) - len(values)})
    return rows


def record_counts(records: list[dict]) -> dict:
    return {"samples": len(records), "ok": sum(r["status"] == "ok" for r in records),
            "error": sum(r["status"] != "ok" for r in records)}
