"""Phase 4: metrics per (task, lang) from the sample records, plus per-task macro means."""

from __future__ import annotations

from statistics import fmean

from mella_eval.metrics.corpus import corpus_score
from mella_eval.metrics.registry import METRICS
from mella_eval.tasks import Task

MACRO_RULE = ("per task and metric: unweighted mean of the per-language values over the languages "
              "run; null when any of those languages has no value")


def score_records(tasks: list[Task], records: list[dict]) -> list[dict]:
    """One score row per (task, lang, metric): value, n scored, failed samples, signature."""
    rows = []
    for task in tasks:
        by_lang: dict[str, list[dict]] = {}
        for record in records:
            if record["task"] == task.name:
                by_lang.setdefault(record["lang"], []).append(record)
        for lang, lang_records in by_lang.items():
            ok = [r for r in lang_records if r["status"] == "ok" and r["prediction"] is not None]
            failed = len(lang_records) - len(ok)
            for metric in task.metrics:
                row = {"task": task.name, "lang": lang, "metric": metric, "value": None,
                       "n": len(ok), "failed": failed}
                if not ok:
                    row["error"] = f"no sample could be scored ({failed} failed)"
                elif METRICS[metric].kind == "corpus":
                    result = corpus_score(metric, lang, [r["prediction"] for r in ok],
                                          [r["references"] for r in ok])
                    row.update(value=result.value, signature=result.signature)
                rows.append(row)
    return rows


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
