"""Per-sample values of the question-answering metrics (multiple choice, yes/no, short answers)
and of CIDEr-D, written into each record's `metrics`; what was extracted is kept on the record.

An answer from which no option (or yes/no) can be read is wrong and counted in
`extract_fail_rate`: it is never replaced by a guess.

- Short answers are normalised in the language the answers are written in
  (`task.expected_answer_lang`: xGQA's answers are English whatever the question's language).
- A multiple-choice task's sample without options but with `answers` is an open question
  (xMMMU's `open` rows): `mc_accuracy` is 1.0 when the answer relaxed-matches an accepted
  answer (short_answer.py, numbers by value), so the accuracy keeps every question.
- A gold label of -1 (CVQA's official test split hides its labels so) leaves the sample
  unscored with method "no-label"; one warning per task says how many, and
  `submission_rows` gives the rows of a leaderboard submission file.
- Yes/no answers also read the option labels the prompt defined ("(a) false (b) true").
"""

from __future__ import annotations

import logging

from mella_eval.build import OPTION_LETTERS

log = logging.getLogger("mella_eval")
HIDDEN_LABEL = -1

ANSWER_METRICS = ("mc_accuracy", "extract_fail_rate", "yes_no_accuracy", "exact_match",
                  "relaxed_accuracy")  # CIDEr-D, ROUGE-L, METEOR: score.CAPTION_METRICS


def add_answer_metrics(task, records: list[dict]) -> None:
    metrics = set(task.metrics) & set(ANSWER_METRICS)
    if not metrics:
        return
    scorable = [r for r in records if r["task"] == task.name and r["status"] == "ok"
                and r["prediction"] is not None]
    hidden = 0
    for r in scorable:
        if "mc_accuracy" in metrics or ("extract_fail_rate" in metrics and "options" in task.fields):
            if not r.get("options") and r.get("answers"):
                _score_open(task, r)
            else:
                hidden += _score_choice(task, r)
        if "yes_no_accuracy" in metrics:
            _score_yes_no(r)
        if metrics & {"exact_match", "relaxed_accuracy"}:
            from mella_eval.metrics.short_answer import exact_match, relaxed_match

            lang = task.expected_answer_lang(r["lang"])
            r["metrics"]["exact_match"] = exact_match(r["prediction"], r["answers"], lang)
            r["metrics"]["relaxed_accuracy"] = relaxed_match(r["prediction"], r["answers"], lang)
    if hidden:
        log.warning("task %s: %d of %d samples have no gold label (%s = %d: the dataset hides its "
                    "test labels, as CVQA's official test split does); they are unscored "
                    "(method 'no-label', counted as failed): score them on the dataset's "
                    "leaderboard", task.name, hidden, len(scorable),
                    task.fields.get("answer", "answer"), HIDDEN_LABEL)
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


def is_hidden_label(answer, answer_format: str) -> bool:
    """The dataset's way of saying "no label here": -1 for an index answer."""
    if answer_format not in ("index0", "index1"):
        return False
    try:
        return int(answer) == HIDDEN_LABEL
    except (TypeError, ValueError):
        return False


def _score_choice(task, r: dict) -> int:
    """Scores one multiple-choice record; 1 when its gold label is hidden (unscored), else 0."""
    from mella_eval.metrics.choice import extract_choice

    choice = extract_choice(r["prediction"], r["options"], r["lang"])
    if is_hidden_label(r["answer"], task.answer_format):
        r["extracted"] = {"letter": choice.letter, "method": "no-label",
                          "detail": f"gold label {r['answer']!r}: hidden by the dataset; "
                                    f"read {choice.method}"}
        return 1
    gold = gold_letter(r["answer"], r["options"], task.answer_format)
    if gold is None:  # bad gold data: the sample is unscorable, not wrong
        r["extracted"] = {"letter": None, "method": "bad-gold",
                          "detail": f"answer {r['answer']!r} names no option ({task.answer_format})"}
        return 0
    r["extracted"] = {"letter": choice.letter, "method": choice.method, "gold": gold}
    r["metrics"]["mc_accuracy"] = 1.0 if choice.letter == gold else 0.0
    r["metrics"]["extract_fail_rate"] = 0.0 if choice.letter else 1.0
    return 0


def _score_open(task, r: dict) -> None:
    """An open question of a multiple-choice task: the answer relaxed-matches an accepted one."""
    from mella_eval.metrics.short_answer import exact_match, relaxed_match

    lang = task.expected_answer_lang(r["lang"])
    exact = exact_match(r["prediction"], r["answers"], lang)
    correct = relaxed_match(r["prediction"], r["answers"], lang)
    r["extracted"] = {"method": "open", "exact": exact == 1.0, "gold": list(r["answers"])}
    r["metrics"]["mc_accuracy"] = correct
    r["metrics"]["extract_fail_rate"] = 0.0  # nothing to extract: the answer is the text


def submission_rows(records: list[dict], task) -> list[tuple[str, str]]:
    """(id, 0-based index of the option read, or "" when none was read) per scorable record of
    `task`, in record order: the shape of CVQA's leaderboard file (`id,pred` lines; the
    reference writes cvqa_predictions.csv)."""
    rows = []
    for r in records:
        if r["task"] != task.name or "options" not in r or r.get("prediction") is None:
            continue
        letter = (r.get("extracted") or {}).get("letter")
        index = OPTION_LETTERS.index(letter) if letter else ""
        rows.append((str(r["id"]), str(index)))
    return rows


def _score_yes_no(r: dict) -> None:
    from mella_eval.metrics.choice import extract_yes_no
    from mella_eval.metrics.yes_no import prompt_yes_no_labels

    gold = r["answer"]
    if isinstance(gold, str):
        gold = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(gold.strip().lower())
    if not isinstance(gold, bool):
        r["extracted"] = {"value": None, "method": "bad-gold"}
        return
    labels = prompt_yes_no_labels(r.get("prompt") or "", r["lang"])
    said = extract_yes_no(r["prediction"], r["lang"], labels)
    r["extracted"] = {"value": said, "gold": gold}
    r["metrics"]["yes_no_accuracy"] = 1.0 if said is gold else 0.0
    r["metrics"]["extract_fail_rate"] = 0.0 if said is not None else 1.0
