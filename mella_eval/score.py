"""Phase 4: metrics per (task, lang) from the sample records, plus per-task macro means.

Corpus metrics (BLEU, chrF, chrF++) are computed over the whole (task, lang) corpus of scorable
samples. Sample and judge metrics are means of per-sample values in `record["metrics"]`; a
sample without a value (failed generation, failed judgement) is left out and counted in `failed`.
Rows of BLEU/chrF carry sacrebleu's signature, rows of the caption metrics (cider, rouge_l,
meteor) their own (tokenizer, stemmer, synonyms, constants). A metric that raises for one
(task, lang) becomes that row's `error`; the run goes on.
"""

from __future__ import annotations

from statistics import fmean

from mella_eval.errors import exception_line
from mella_eval.metrics.keywords import not_applicable_count
from mella_eval.metrics.registry import METRICS
from mella_eval.metrics.resample import corpus_statistics
from mella_eval.metrics.text import REFERENCE_METRICS, script_transform, scored_prediction
from mella_eval.tasks import Task

MACRO_RULE = ("per task and metric: unweighted mean of the per-language values over the languages "
              "run; null when any of those languages has no value")
# Caption metrics scored per (task, lang) corpus: name -> (module, scoring function). Each module
# also has `signature(lang)`, written on the metric's score rows.
CAPTION_METRICS = {
    "cider": ("mella_eval.metrics.cider", "cider_d"),
    "rouge_l": ("mella_eval.metrics.rouge", "rouge_l"),
    "meteor": ("mella_eval.metrics.meteor", "meteor"),
}


def add_sample_metrics(tasks: list[Task], records: list[dict]) -> None:
    """Per-sample values of "sample"-kind metrics that need no judge: keyword accuracy, the
    caption metrics (CIDEr-D, ROUGE-L, METEOR), the question-answering metrics (metrics/answers.py).

    A metric that raises for one (task, lang) leaves that metric without values there and its
    error on the records (`record["metric_errors"][metric]`), which its score row reports; every
    other metric and language is scored as usual."""
    from mella_eval.metrics.answers import add_answer_metrics

    annotate_scored_predictions(records)
    for task in tasks:
        task_records = [r for r in records if r["task"] == task.name]
        if getattr(task, "protocol", "mella") == "reference":
            from mella_eval.protocols.scoring import add_reference_metrics

            add_reference_metrics(task, task_records)
            continue
        answer_metrics = tuple(m for m in task.metrics if m not in CAPTION_METRICS)
        try:
            add_answer_metrics(_with_metrics(task, answer_metrics), records)
        except Exception as exc:  # noqa: BLE001  (one family of one task never loses the run)
            record_failure(task_records, answer_metrics, exc)
        for metric in (m for m in task.metrics if m in CAPTION_METRICS):
            add_caption_metric(metric, task_records)
    keyword_tasks = {t.name for t in tasks if "keyword_acc" in t.metrics}
    if not keyword_tasks:
        return
    from mella_eval.metrics.keywords import add_keyword_scores

    # A sample without keywords is "not applicable" (neither n nor failed), not a failure.
    add_keyword_scores([r for r in records if r["task"] in keyword_tasks])


def annotate_scored_predictions(records: list[dict]) -> None:
    """`scored_prediction` + `scored_prediction_translit` on each record whose scored text
    differs from its prediction (a Latin-script Serbian answer to Cyrillic references); removed
    where it no longer does (a re-score)."""
    for record in records:
        record.pop("scored_prediction", None)
        record.pop("scored_prediction_translit", None)
        if record.get("status") != "ok" or record.get("prediction") is None:
            continue
        text = scored_prediction(record)
        if text != record["prediction"]:
            record["scored_prediction"] = text
            record["scored_prediction_translit"] = script_transform(record["lang"])


def _with_metrics(task, metrics: tuple[str, ...]):
    """`task` listing only `metrics` (the answer metrics; caption metrics are scored here)."""
    import dataclasses
    from types import SimpleNamespace

    if dataclasses.is_dataclass(task):
        return dataclasses.replace(task, metrics=metrics)
    return SimpleNamespace(**{**vars(task), "metrics": metrics})


def add_caption_metric(metric: str, records: list[dict]) -> None:
    """Per-sample values of one caption metric, over each language's whole corpus of scorable
    records (CIDEr-D's idf needs the whole corpus)."""
    from importlib import import_module

    module, function = CAPTION_METRICS[metric]
    by_lang: dict[str, list[dict]] = {}
    for r in records:
        if r["status"] == "ok" and r["prediction"] is not None:
            by_lang.setdefault(r["lang"], []).append(r)
    for lang, group in by_lang.items():
        try:
            score = getattr(import_module(module), function)
            result = score([scored_prediction(r) for r in group], [r["references"] for r in group], lang)
        except Exception as exc:  # noqa: BLE001  (reported on the (task, lang, metric) row)
            record_failure(group, (metric,), exc)
            continue
        for r, value in zip(group, result.per_sample):
            r["metrics"][metric] = value


# Caption metrics whose per-sample values depend on the whole (task, lang) corpus (CIDEr-D's idf).
WHOLE_CORPUS_METRICS = ("cider",)


def rescore_whole_corpus_metrics(tasks, records: list[dict]) -> None:
    """Recompute the per-sample values that depend on the whole (task, lang) corpus, for records
    scored in parts (`merge` of shards: each shard's CIDEr-D used its own shard's idf)."""
    for task in tasks:
        task_records = [r for r in records if r["task"] == task.name]
        for metric in (m for m in WHOLE_CORPUS_METRICS if m in task.metrics):
            for r in task_records:
                (r.get("metrics") or {}).pop(metric, None)
                (r.get("metric_errors") or {}).pop(metric, None)
            add_caption_metric(metric, task_records)


def record_failure(records: list[dict], metrics, exc: Exception) -> None:
    """Drop partial values of `metrics` and keep why they failed on each record."""
    message = exception_line(exc)
    for r in records:
        for metric in metrics:
            (r.get("metrics") or {}).pop(metric, None)
            r.setdefault("metric_errors", {})[metric] = message


def metric_signature(metric: str, lang: str) -> str | None:
    """The signature of a caption metric's rows (tokenizer, stemmer, constants), else None."""
    if metric not in CAPTION_METRICS:
        return None
    from importlib import import_module

    return import_module(CAPTION_METRICS[metric][0]).signature(lang)


def score_records(tasks: list[Task], records: list[dict]) -> list[dict]:
    """One score row per (task, lang, metric): value, n scored, failed samples, signature.
    A metric that raises for one (task, lang) gives that row an `error`, never a lost run."""
    rows = []
    for task in tasks:
        by_lang: dict[str, list[dict]] = {}
        for record in records:
            if record["task"] == task.name:
                by_lang.setdefault(record["lang"], []).append(record)
        for lang, lang_records in by_lang.items():
            corpus = _ReferenceCorpus(task.name, lang, lang_records)
            for metric in task.metrics:
                try:
                    if METRICS[metric].kind == "reference_corpus":
                        row = corpus.row(metric)
                        if row is not None:  # None: the metric does not apply to this corpus
                            rows.append(row)
                        continue
                    rows.append(_score_row(task.name, lang, metric, lang_records))
                except Exception as exc:  # noqa: BLE001
                    rows.append({"task": task.name, "lang": lang, "metric": metric, "value": None,
                                 "n": 0, "failed": len(lang_records),
                                 "error": f"{metric} failed: {exception_line(exc)}"})
    return rows


def _score_row(task: str, lang: str, metric: str, records: list[dict]) -> dict:
    row = {"task": task, "lang": lang, "metric": metric, "value": None, "n": 0, "failed": 0}
    if METRICS[metric].kind == "corpus":
        ok = [r for r in records if r["status"] == "ok" and r["prediction"] is not None]
        row.update(n=len(ok), failed=len(records) - len(ok))
        if ok:
            # Per-sentence statistics, summed: the same number as sacrebleu's corpus score, and
            # the bootstrap (aggregate.py) resamples the same extraction instead of redoing it.
            stats = corpus_statistics(metric, lang, [scored_prediction(r) for r in ok],
                                      [r["references"] for r in ok])
            row.update(value=stats.score(), signature=stats.signature)
    elif METRICS[metric].kind == "ratio":
        pairs = ratio_pairs(METRICS[metric], records)
        row.update(n=len(pairs), failed=len(records) - len(pairs))
        if pairs and sum(d for _, d in pairs) > 0:
            row["value"] = METRICS[metric].scale * sum(n for n, _ in pairs) / sum(d for _, d in pairs)
    else:
        values = [r["metrics"][metric] for r in records if metric in r["metrics"]]
        not_applicable = not_applicable_count(records, metric)
        row.update(n=len(values), failed=len(records) - len(values) - not_applicable)
        if not_applicable:
            row["not_applicable"] = not_applicable
        if values:
            row["value"] = fmean(values)
        if metric.startswith("ref_"):  # the reference protocol's random draws, credited 1/k
            from mella_eval.protocols.scoring import guessed_count

            row["guessed"] = guessed_count(records, metric)
        signature = metric_signature(metric, lang)
        if signature is not None:
            row["signature"] = signature
    transform = script_transform(lang) if metric in REFERENCE_METRICS else None
    if transform is not None:
        row["signature"] = f"{row['signature']}|{transform}" if row.get("signature") else transform
    if METRICS[metric].kind in ("judge", "ratio"):
        row["judge_failed"] = sum(1 for r in records if r.get("judge", {}).get("status") in ("error", "parse_error"))
    if row["value"] is None:
        errors = sorted({r["metric_errors"][metric] for r in records if metric in (r.get("metric_errors") or {})})
        row["error"] = (f"{metric} failed: {'; '.join(errors)}" if errors
                        else f"no sample could be scored ({row['failed']} failed)")
    return row


class _ReferenceCorpus:
    """The reference protocol's corpus metrics of one (task, lang), computed once for all of them
    (one PTB tokenisation); a failure is each of their rows' error."""

    def __init__(self, task: str, lang: str, records: list[dict]):
        self.task, self.lang, self.records = task, lang, records
        self.values: dict | None = None
        self.failure: Exception | None = None

    def row(self, metric: str) -> dict | None:
        ok = sum(1 for r in self.records if r["status"] == "ok" and r["prediction"] is not None)
        row = {"task": self.task, "lang": self.lang, "metric": metric, "value": None, "n": ok,
               "failed": len(self.records) - ok}
        if self.values is None and self.failure is None:
            from mella_eval.protocols.scoring import corpus_scores

            try:
                self.values = corpus_scores(self.task, self.lang, self.records)
            except Exception as exc:  # noqa: BLE001  (raised again for each of its metrics)
                self.failure = exc
        if self.failure is not None:
            raise self.failure
        if metric in self.values and self.values[metric] is None:
            return None
        value = self.values.get(metric)
        if isinstance(value, str):  # the reason the reference's scorer did not run here
            row["error"] = f"{metric} not computed: {value}"
        elif value is None:
            row["error"] = f"no sample could be scored ({row['failed']} failed)"
        else:
            row["value"] = value
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
    # The reference protocol's corpus metrics (pycocoevalcap) have no per-sample statistics to
    # resample: their rows and macro means get no interval.
    no_interval = {m for m, spec in METRICS.items() if spec.kind == "reference_corpus"}
    for row in [r for r in scores + macro if r["metric"] in no_interval]:
        row["ci_low"] = row["ci_high"] = None
    bootstrap = add_confidence_intervals([r for r in scores if r["metric"] not in no_interval], records,
                                         {m: spec.kind for m, spec in METRICS.items()}, seed=seed,
                                         macro=[r for r in macro if r["metric"] not in no_interval])
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
            if METRICS[metric].kind in ("corpus", "ratio", "reference_corpus"):
                continue
            values = [r["metrics"][metric] for r in group if metric in r["metrics"]]
            not_applicable = not_applicable_count(group, metric)
            rows.append({"task": task.name, "lang": lang, field: value, "metric": metric,
                         "value": fmean(values) if values else None, "n": len(values),
                         "failed": len(group) - len(values) - not_applicable,
                         **({"not_applicable": not_applicable} if not_applicable else {})})
    return rows


def record_counts(records: list[dict]) -> dict:
    return {"samples": len(records), "ok": sum(r["status"] == "ok" for r in records),
            "error": sum(r["status"] != "ok" for r in records)}
