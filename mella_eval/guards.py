"""Checks on every prediction before it is judged: output language and prompt injection.

Both are flags on the sample record, counted per (task, lang) in results; neither changes a
prediction. What a wrong-language answer means for judge scores is decided in the judge phase
(`--wrong-language zero|flag`).
"""

from __future__ import annotations

from mella_eval.errors import MellaError
from mella_eval.injection import detect_injection
from mella_eval.langid import check_language, detect_language, judge_languages


def annotate_guards(records: list[dict], tasks: dict | None = None) -> None:
    """Add `detected_lang`, `wrong_language` and `injection_suspected` to records with a prediction.

    `tasks` (name -> Task) says which language each task's answers are expected in; without it,
    the sample's language."""
    tasks = tasks or {}
    judged: list[tuple[dict, str]] = []
    for record in records:
        prediction = record.get("prediction")
        if record["status"] != "ok" or prediction is None:
            continue
        task = tasks.get(record["task"])
        expected = task.expected_answer_lang(record["lang"]) if task is not None else record["lang"]
        if expected != record["lang"]:  # the task declares answer_lang: say so on the sample
            record["expected_lang"] = expected
        try:
            check_language(expected)
        except MellaError:  # a code languages.py lacks (from the data): identified, not judged
            record["detected_lang"] = detect_language(prediction).code
            record["wrong_language"] = None
        else:  # filled below; set now so the record's keys keep their order
            record["detected_lang"] = record["wrong_language"] = None
            judged.append((record, expected))
        record["injection_suspected"] = detect_injection(prediction)
    # One verdict gives both fields (the judge zeroes on wrong_language and names detected_lang):
    # wrong_language is True exactly when detected_lang is neither "und" nor the expected
    # language. Judged together: the language model runs over all predictions in one pass.
    verdicts = judge_languages([(record["prediction"], expected) for record, expected in judged])
    for (record, _), verdict in zip(judged, verdicts):
        record["detected_lang"] = verdict.detected
        record["wrong_language"] = verdict.wrong


def guard_counts(records: list[dict]) -> list[dict]:
    """Per (task, lang): how many predictions were checked, in the wrong language, suspected of
    injection; `wrong_lang_rate` = wrong / checked (null when nothing was checked)."""
    out: dict[tuple[str, str], dict] = {}
    for record in records:
        row = out.setdefault((record["task"], record["lang"]), {
            "task": record["task"], "lang": record["lang"], "checked": 0, "wrong_language": 0,
            "wrong_lang_rate": None, "injection_suspected": 0})
        if record.get("wrong_language") is None:
            continue
        row["checked"] += 1
        row["wrong_language"] += bool(record["wrong_language"])
        row["injection_suspected"] += bool(record["injection_suspected"])
    for row in out.values():
        if row["checked"]:
            row["wrong_lang_rate"] = row["wrong_language"] / row["checked"]
    return list(out.values())
