"""Per-sample values of the question-answering metrics (multiple choice, yes/no, short answers)
and of CIDEr-D, written into each record's `metrics`; what was extracted is kept on the record.

An answer from which no option (or yes/no) can be read is wrong and counted in
`extract_fail_rate`: it is never replaced by a guess.
"""

from __future__ import annotations

from mella_eval.build import OPTION_LETTERS

ANSWER_METRICS = ("mc_accuracy", "extract_fail_rate", "yes_no_accuracy", "exact_match",
                  "relaxed_accuracy", "cider")


def add_answer_metrics(task, records: list[dict]) -> None:
    metrics = set(task.metrics) & set(ANSWER_METRICS)
    if not metrics:
        return
    scorable = [r for r in records if r["task"] == task.name and r["status"] == "ok"
                and r["prediction"] is not None]
    if "cider" in metrics:
        _add_cider(scorable)
    for r in scorable:
        if "mc_accuracy" in metrics or ("extract_fail_rate" in metrics and "options" in task.fields):
            _score_choice(task, r)
        if "yes_no_accuracy" in metrics:
            _score_yes_no(r)
        if metrics & {"exact_match", "relaxed_accuracy"}:
            from mella_eval.metrics.short_answer import exact_match, relaxed_match

            r["metrics"]["exact_match"] = exact_match(r["prediction"], r["answers"], r["lang"])
            r["metrics"]["relaxed_accuracy"] = relaxed_match(r["prediction"], r["answers"], r["lang"])
    for r in scorable:  # only the metrics the task asked for
        for name in [m for m in r["metrics"] if m in ANSWER_METRICS and m not in metrics]:
            del r["metrics"][name]


def gold_letter(answer, options: list[str], answer_format: str) -> str | None:
    """The letter of the right option, from the dataset's answer (see Task.answer_format)."""
    if answer_format == "letter":
        letter = str(answer).strip().upper()
        return letter if letter in OPTION_LETTERS[:len(options)] else None
    if answer_format in ("index0", "index1"):
        try:
            index = int(answer) - (answer_format == "index1")
        except (TypeError, ValueError):
            return None
        return OPTION_LETTERS[index] if 0 <= index < len(options) else None
    if answer_format == "text":
        matches = [OPTION_LETTERS[i] for i, o in enumerate(options) if o == str(answer)]
        return matches[0] if len(matches) == 1 else None
    return None


def _score_choice(task, r: dict) -> None:
    from mella_eval.metrics.choice import extract_choice

    gold = gold_letter(r["answer"], r["options"], task.answer_format)
    if gold is None:  # bad gold data: the sample is unscorable, not wrong
        r["extracted"] = {"letter": None, "method": "bad-gold",
                          "detail": f"answer {r['answer']!r} names no option ({task.answer_format})"}
        return
    choice = extract_choice(r["prediction"], r["options"], r["lang"])
    r["extracted"] = {"letter": choice.letter, "method": choice.method, "gold": gold}
    r["metrics"]["mc_accuracy"] = 1.0 if choice.letter == gold else 0.0
    r["metrics"]["extract_fail_rate"] = 0.0 if choice.letter else 1.0


def _score_yes_no(r: dict) -> None:
    from mella_eval.metrics.choice import extract_yes_no

    gold = r["answer"]
    if isinstance(gold, str):
        gold = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(gold.strip().lower())
    if not isinstance(gold, bool):
        r["extracted"] = {"value": None, "method": "bad-gold"}
        return
    said = extract_yes_no(r["prediction"], r["lang"])
    r["extracted"] = {"value": said, "gold": gold}
    r["metrics"]["yes_no_accuracy"] = 1.0 if said is gold else 0.0
    r["metrics"]["extract_fail_rate"] = 0.0 if said is not None else 1.0


def _add_cider(records: list[dict]) -> None:
    from mella_eval.metrics.cider import cider_d

    by_lang: dict[str, list[dict]] = {}
    for r in records:
        by_lang.setdefault(r["lang"], []).append(r)
    for lang, group in by_lang.items():  # idf over the whole (task, lang) corpus
        result = cider_d([r["prediction"] for r in group], [r["references"] for r in group], lang)
        for r, value in zip(group, result.per_sample):
            r["metrics"]["cider"] = value
