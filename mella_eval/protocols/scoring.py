"""Score phase of `--protocol reference`: each record's values from the reference scoring
functions (REFERENCE_TASKS), on the dataset row as published (`record["source_row"]`).

Per-sample values land in `record["metrics"]` under the "ref_*" names the task reports; what
the reference parsed is kept in `record["reference"]` (`guessed`: the reference would have drawn
a random option here, and the value is the expected 1/k). A row the reference functions cannot
read becomes that sample's metric error; the other samples are scored.
"""

from __future__ import annotations

import json

from mella_eval.metrics.keywords import NOT_APPLICABLE


def add_reference_metrics(task, records: list[dict]) -> None:
    from mella_eval.protocols import REFERENCE_TASKS

    reference = REFERENCE_TASKS[task.name]
    reported = dict(reference.reported)
    if not reported:  # scored per corpus or by the judge only
        return
    for r in records:
        if r["task"] != task.name or r["status"] != "ok" or r["prediction"] is None:
            continue
        try:
            scored = reference.score(r["source_row"], r["prediction"], r["lang"])
        except Exception as exc:  # noqa: BLE001  (one bad row never loses the others)
            from mella_eval.score import record_failure

            record_failure([r], reported.values(), exc)
            continue
        for theirs, ours in reported.items():
            if theirs in scored["metrics"]:
                r["metrics"][ours] = float(scored["metrics"][theirs])
            else:  # e.g. CVQA's hidden test labels (-1): the reference computes no accuracy
                r.setdefault(NOT_APPLICABLE, {})[ours] = "no gold label in the dataset row"
        r["reference"] = {"guessed": bool(scored["guessed"]), **_plain(scored.get("details") or {})}


def guessed_count(records: list[dict], metric: str) -> int:
    """Samples whose `metric` value is the expected value of the reference's random draw."""
    return sum(1 for r in records if metric in r.get("metrics", {})
               and (r.get("reference") or {}).get("guessed"))


def _plain(details: dict) -> dict:
    """JSON-safe details (they are written to samples.jsonl)."""
    return json.loads(json.dumps(details, ensure_ascii=False, default=str))


def corpus_scores(task_name: str, lang: str, records: list[dict]) -> dict[str, float | str | None]:
    """The reference's corpus metrics of one (task, lang), under the names results.json shows.
    A metric its scorer could not compute here has the reason (a string) instead of a value;
    None: the metric does not apply to this corpus (an LLaVA-Bench category it lacks)."""
    from mella_eval.protocols import REFERENCE_TASKS

    reference = REFERENCE_TASKS[task_name]
    ok = [r for r in records if r["status"] == "ok" and r["prediction"] is not None]
    if not ok or reference.corpus is None:
        return {}
    values = reference.corpus(ok, lang)
    return {ours: values[theirs] if values[theirs] is None or isinstance(values[theirs], str)
            else float(values[theirs]) for theirs, ours in reference.corpus_reported if theirs in values}
