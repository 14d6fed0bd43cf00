"""Issue 15, item 9: negated labels, second thoughts, and yes/no labels a prompt defines."""

import pytest

from mella_eval.metrics.choice import extract_choice, extract_yes_no
from mella_eval.metrics.yes_no import prompt_yes_no_labels

OPTS = ["cat", "dog", "bird", "fish"]


@pytest.mark.parametrize("response, expected", [
    # a label ruled out does not name the answer
    ("Option B is correct, not C.", "B"),
    ("B, not C", "B"),
    ("Not C, it is B.", "B"),
    ("It is C, not B.", "C"),
    ("The answer is not B; it is C.", "C"),
    ("The answer is C, not B.", "C"),
    ("C is wrong. B is correct.", "B"),
    ("A is incorrect, so the answer is D.", "D"),
    ("(C) can be ruled out; (B) fits.", "B"),
    ("Rather than (A), I choose (D).", "D"),
    ("Instead of C, B.", "B"),
    ("Neither A nor B; it is D.", "D"),
    ("Except A, all are wrong... I pick C", "C"),
    ("C isn't correct, D is.", "D"),
    ("I'd say B rather than option C.", "B"),
    # other languages
    ("Đáp án là B, không phải C.", "B"),
    ("答案是B，不是C。", "B"),
    ("不是C，是B。", "B"),
    ("Jawabannya B, bukan C.", "B"),
    ("Cevap B, C değil.", "B"),
    ("Odpověď je B, ne C.", "B"),
    # the last decision decides
    ("B or A? I think A.", "A"),
    ("B or C? Hmm. I would go with C.", "C"),
    ("A or B? So B.", "B"),
    ("Is it A? No. B.", "B"),
    ("B还是A？我认为是A。", "A"),
    ("A hay B? Tôi nghĩ B.", "B"),
    ("I think A is correct.", "A"),
    # a correction overrides an answer statement
    ("The answer is B. Actually, it is C.", "C"),
    ("The answer is B. Wait, C.", "C"),
    ("Answer: B. On second thought, D.", "D"),
    ("答案是B。其实是D。", "D"),
    # option texts: one ruled out
    ("It is a cat, not a dog.", "A"),
    ("Not a dog but a cat", "A"),
    ("Red, not dark red", "A"),
    ("It's dark red, not red", "B"),
])
def test_negation_and_second_thoughts(response, expected):
    options = ["red", "dark red", "blue", "green"] if "red" in response else OPTS
    result = extract_choice(response, options)
    assert result.letter == expected, result


def test_russian_labels_negated():
    assert extract_choice("Ответ: Б, не В.", OPTS, localized_letters="АБВГ").letter == "B"


@pytest.mark.parametrize("response", [
    "A or B?",  # a question, no decision
    "B and C are both plausible.",
    "The answer is B. The answer is C.",  # two statements, no correction between
    "I think B or C.",  # the decision itself names two
    "(A) or (B)?",
    "Not A, not B.",  # two ruled out, two left
])
def test_still_ambiguous_or_unread(response):
    assert extract_choice(response, OPTS).letter is None


def test_double_negation_is_no_negation():
    assert extract_choice("C is not wrong.", OPTS).letter == "C"


def test_a_correction_naming_the_same_option_keeps_it():
    result = extract_choice("The answer is B. Actually, yes, B.", OPTS)
    assert (result.letter, result.method) == ("B", "answer_pattern")


MARVL_PROMPT = ("Does the content of the image support the given text? Text: {question}\n"
                "Options: (a) false (b) true. Answer with the option directly.")


def test_prompt_labels_are_read_from_the_prompt():
    assert prompt_yes_no_labels(MARVL_PROMPT, "zh") == {"a": False, "b": True}
    assert prompt_yes_no_labels("Options: (a) yes (b) no", "en") == {"a": True, "b": False}
    assert prompt_yes_no_labels("Answer yes or no.", "en") is None
    assert prompt_yes_no_labels("(a) true (b) true", "en") is None


@pytest.mark.parametrize("response, expected", [
    ("(b)", True), ("b", True), ("(a)", False), ("A.", False), ("Answer: (b)", True),
    ("(b) true", True), ("The answer is (b) true.", True), ("Option B", True), ("（ｂ）", True),
    ("(a) true", None),  # label and word disagree
    ("(a) or (b)?", None),
    ("(b). The statement is false.", None),  # the label says true, the words false
    ("Yes", True), ("是的", True), ("No, (a)", False), ("true", True),
    ("a cat is on the left", None),  # an article is no label
])
def test_yes_no_with_prompt_labels(response, expected):
    labels = prompt_yes_no_labels(MARVL_PROMPT, "zh")
    assert extract_yes_no(response, "zh", labels) is expected


def test_yes_no_without_labels_ignores_bare_letters():
    assert extract_yes_no("(b)", "zh") is None
