"""annotate_guards: one verdict gives detected_lang and wrong_language; the expected language
comes from the task (answer_lang) when it declares one; every task language is checked."""

from dataclasses import dataclass

from mella_eval.guards import annotate_guards, guard_counts
from mella_eval.langid import judge_language
from mella_eval.languages import LANGUAGES


@dataclass
class AnswersIn:  # the one Task method the guard uses
    answer_lang: str | None

    def expected_answer_lang(self, sample_lang: str) -> str:
        return self.answer_lang or sample_lang


def record(task, lang, prediction, status="ok"):
    return {"task": task, "lang": lang, "status": status, "prediction": prediction}


def test_detected_lang_and_wrong_language_come_from_one_verdict():
    rows = [record("cap", "th", "ร้าน Starbucks บนถนน Sukhumvit ในกรุงเทพ"),
            record("cap", "ja", "A cat is sitting on the window sill looking at the street."),
            record("cap", "sw", "A cat is sitting on the window sill looking at the street."),
            record("cap", "ru", "Сива мачка седи поред прозора и гледа на улицу."),
            record("cap", "ar", "گربه خاکستری کنار پنجره نشسته است و به خیابان نگاه می‌کند."),
            record("cap", "ko", "OK")]
    annotate_guards(rows)
    got = [(r["detected_lang"], r["wrong_language"]) for r in rows]
    assert got == [("th", False), ("en", True), ("en", True), ("sr", True), ("fa", True),
                   ("und", False)]
    for r in rows:
        assert r["wrong_language"] == (r["detected_lang"] not in ("und", r["lang"]))
        v = judge_language(r["prediction"], r["lang"])
        assert (r["detected_lang"], r["wrong_language"]) == (v.detected, v.wrong)


def test_the_task_says_which_language_answers_are_in():
    english = "Two dogs are playing in the snow."
    rows = [record("xgqa", "ko", english), record("xgqa", "ko", "눈 속에서 개 두 마리가 놀고 있다."),
            record("maxm", "ko", english)]
    annotate_guards(rows, {"xgqa": AnswersIn("en"), "maxm": AnswersIn(None)})
    assert [r["wrong_language"] for r in rows] == [False, True, True]
    assert rows[1]["detected_lang"] == "ko" and rows[2]["detected_lang"] == "en"
    # The sample says which language was expected when it is not the sample's own.
    assert [r.get("expected_lang") for r in rows] == ["en", "en", None]


def test_the_judge_reason_names_the_expected_and_the_detected_language():
    from mella_eval.judge import _zeroed
    from mella_eval.rubric import load_rubric

    rows = [record("xgqa", "ko", "눈 속에서 개 두 마리가 놀고 있다.")]
    annotate_guards(rows, {"xgqa": AnswersIn("en")})
    verdict = _zeroed(load_rubric("thick_description"), rows[0])
    assert verdict.reason.startswith("wrong language (expected en, detected ko)")


def test_every_task_language_is_checked_and_counted():
    rows = [record("t", code, "The weather is lovely today and we are going to the beach.")
            for code in LANGUAGES]
    rows.append(record("t", "hu", None, status="error"))
    annotate_guards(rows)
    assert all(isinstance(r["wrong_language"], bool) for r in rows[:-1])
    assert "wrong_language" not in rows[-1]
    assert [r["lang"] for r in rows[:-1] if not r["wrong_language"]] == ["en"]
    counts = {c["lang"]: c for c in guard_counts(rows)}
    assert counts["ja"]["checked"] == 1 and counts["ja"]["wrong_lang_rate"] == 1.0
    assert counts["en"]["wrong_language"] == 0 and counts["hu"]["checked"] == 1


def test_a_language_without_rules_is_identified_but_not_judged():
    rows = [record("t", "xx", "The weather is lovely today and we are going to the beach.")]
    annotate_guards(rows)
    assert rows[0]["detected_lang"] == "en" and rows[0]["wrong_language"] is None
    assert guard_counts(rows)[0]["checked"] == 0
