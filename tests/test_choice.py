"""Multiple-choice extraction: one cascade, many scripts, never a guess; yes/no for MaRVL."""

import pytest

from mella_eval.errors import MellaError
from mella_eval.metrics.choice import (
    LOCALIZED_LETTERS,
    ChoiceResult,
    extract_choice,
    extract_yes_no,
    normalise_response,
)

OPTS = ["cat", "dog", "bird", "fish"]


def letter(response, options=OPTS, **kw):
    return extract_choice(response, options, **kw).letter


# --- step 1: the whole answer is a label ----------------------------------------------------

@pytest.mark.parametrize("response, expected", [
    ("B", "B"), ("b", "B"), ("(B)", "B"), ("B.", "B"), ("B)", "B"), ("[C]", "C"), (" d. ", "D"),
    ("**B**", "B"), ("`C`", "C"), ('"A"', "A"),
    ("Answer: B", "B"), ("The answer is (C).", "C"), ("Final answer: D", "D"), ("Answer A", "A"),
    ("Đáp án: B", "B"), ("Đáp án đúng là C.", "C"),  # vi
    ("Правильный ответ: B", "B"),  # ru prose, Latin label
    ("Správná odpověď je B.", "B"),  # cs
    ("A helyes válasz: B", "B"),  # hu: the article "A" is not option A
    ("Odgovor je B", "B"), ("Одговор: C", "C"),  # sr
    ("정답: D", "D"), ("答案：A", "A"), ("正确答案是B", "B"), ("答えはC", "C"),
    ("Jawaban: C", "C"), ("Jibu ni B", "B"), ("Cevap: D", "D"), ("பதில்: A", "A"),
    ("option C", "C"), ("选项C", "C"), ("选B。", "B"),
    ("B. dog", "B"), ("(C) bird", "C"), ("A: cat", "A"),
])
def test_direct(response, expected):
    result = extract_choice(response, OPTS)
    assert (result.letter, result.method) == (expected, "direct")


def test_full_width_letters():
    assert letter("答案是Ｃ") == "C"
    assert letter("（Ｂ）") == "B"
    assert letter("Ａ") == "A"


def test_arabic_indic_and_other_digits_when_options_are_numbered():
    assert letter("الإجابة ٢", numbered=True) == "B"  # Arabic-Indic
    assert letter("پاسخ: ۳", numbered=True) == "C"  # Eastern Arabic-Indic (Persian)
    assert letter("คำตอบคือข้อ ๔", numbered=True) == "D"  # Thai digit
    assert letter("उत्तर: २", numbered=True) == "B"  # Devanagari
    assert letter("정답은 2번입니다", numbered=True) == "B"
    assert letter("③", numbered=True) == "C"  # circled number
    # digits are labels only when the prompt numbered the options
    assert extract_choice("الإجابة ٢", OPTS).method == "none"


def test_localized_letters():
    ru, th, ar, ko = (LOCALIZED_LETTERS[c] for c in ("ru", "th", "ar", "ko"))
    assert letter("Ответ: Б", localized_letters=ru) == "B"
    assert letter("Ответ: Г", localized_letters=ru) == "D"
    assert letter("คำตอบคือ ข", localized_letters=th) == "B"
    assert letter("ข้อ ค", localized_letters=th) == "C"
    assert letter("الإجابة الصحيحة هي (ب)", localized_letters=ar) == "B"
    assert letter("الإجابة: ا", localized_letters=ar) == "A"  # alef without hamza
    assert letter("정답은 나입니다", localized_letters=ko) == "B"
    # Latin letters keep working next to localized ones
    assert letter("Answer: D", localized_letters=th) == "D"


def test_cyrillic_lookalikes():
    # Latin labels in the prompt: a Cyrillic В written by a Russian-speaking model is Latin B
    assert letter("Ответ: В") == "B"
    assert letter("Ответ: С") == "C"
    # Cyrillic labels in the prompt: В is the third letter ...
    assert letter("Ответ: В", localized_letters=LOCALIZED_LETTERS["ru"]) == "C"
    # ... and a Latin B could be Б (second) or a mistyped В (third): not guessed
    result = extract_choice("Answer: B", OPTS, localized_letters=LOCALIZED_LETTERS["ru"])
    assert (result.letter, result.method) == (None, "ambiguous")
    # A and А are the first option either way
    assert letter("Ответ: A", localized_letters=LOCALIZED_LETTERS["ru"]) == "A"


# --- steps 2 and 3: statements and label mentions in longer text ---------------------------

@pytest.mark.parametrize("response, expected, method", [
    ("The correct answer is B) dog.", "B", "answer_pattern"),
    ("Based on the image, the answer is C. The bird is flying.", "C", "answer_pattern"),
    ("Let's look at each option:\nA. cat - no\nB. dog - yes\nC. bird - no\nSo the answer is B.",
     "B", "answer_pattern"),
    ("정답은 (B)입니다.", "B", "answer_pattern"),
    ("答えはBです。", "B", "answer_pattern"),
    ("我选C", "C", "answer_pattern"),
    ("My answer: D", "D", "answer_pattern"),
    ("Câu trả lời: D. fish", "D", "answer_pattern"),
    ("<think>Maybe A? No, it barks.</think>\nThe answer is B.", "B", "direct"),
    ("Option B is correct.", "B", "label_mention"),
    ("I'd go with B.", "B", "label_mention"),
    ("B选项正确", "B", "label_mention"),
])
def test_patterns_in_longer_text(response, expected, method):
    assert extract_choice(response, OPTS) == ChoiceResult(expected, method,
                                                          extract_choice(response, OPTS).detail)


def test_lowercase_a_is_an_article_not_a_label():
    # "a cat" is option A by its text, not by the article
    assert extract_choice("the answer is a cat", OPTS).method == "option_text"
    assert extract_choice("A man stands there.", OPTS).method == "none"
    assert letter("the answer is a.") == "A"
    # "Answer: A cat" reads the text: here "cat" is option B
    assert letter("Answer: A cat", ["dog", "cat", "bird", "fish"]) == "B"


def test_label_inside_option_text_is_not_a_mention():
    options = ["Vitamin C", "Iron", "Zinc", "Calcium"]
    assert extract_choice("Vitamin C is the one", options) == ChoiceResult(
        "A", "option_text", "'Vitamin C'")


# --- step 4: the option's text --------------------------------------------------------------

@pytest.mark.parametrize("lang, options, response, expected", [
    ("en", OPTS, "The image shows a dog.", "B"),
    ("ru", ["кошка", "собака", "птица", "рыба"], "На фото птица.", "C"),
    ("ru", ["кошка", "собака", "птица", "рыба"], "В парке сидит кошка", "A"),  # В is not B here
    ("th", ["แมว", "สุนัข", "นก", "ปลา"], "ภาพนี้คือแมวค่ะ", "A"),
    # the option is spaced, the answer is not
    ("th", ["ต้มยำ กุ้ง", "ส้มตำ", "ผัดไทย", "ข้าวมันไก่"], "เป็นต้มยำกุ้งครับ", "A"),
    ("zh", ["猫", "狗", "鸟", "鱼"], "这是一只狗。", "B"),
    ("ja", ["寿司", "ラーメン", "天ぷら", "うどん"], "写真の料理はラーメンです", "B"),
    ("ar", ["قطة", "كلب", "طائر", "سمكة"], "إنها القطة", "A"),  # article as a clitic
    ("ar", ["قطة", "كلب", "طائر", "سمكة"], "الصورة تظهر كلب", "B"),
    ("ko", ["고양이", "강아지", "새", "물고기"], "강아지가 보입니다", "B"),  # particle after the noun
    ("en", ["red", "dark red", "blue", "green"], "It's dark red", "B"),  # the longer text wins
])
def test_option_text_in_several_scripts(lang, options, response, expected):
    result = extract_choice(response, options, lang)
    assert (result.letter, result.method) == (expected, "option_text")


def test_quote_after_a_letter_is_not_a_label():
    assert extract_choice("C'est un chat", ["chat", "chien", "oiseau", "poisson"], "fr") == \
        ChoiceResult("A", "option_text", "'chat'")


def test_region_subtags():
    assert letter("إنها القطة", ["قطة", "كلب", "طائر", "سمكة"], lang="ar-EG") == "A"


def test_option_text_needs_whole_words():
    assert extract_choice("A category error", OPTS).letter is None  # "cat" inside "category"
    assert extract_choice("There are 13 apples", ["1", "3", "13", "31"]).letter == "C"


# --- no guess: unparseable and ambiguous ------------------------------------------------------

@pytest.mark.parametrize("response, method", [
    ("I cannot determine the answer from the image.", "none"),
    ("None of the options.", "none"),
    ("ไม่สามารถตอบได้", "none"),
    ("Answer: E", "none"),  # only four options
    ("", "empty"),
    ("   \n  ", "empty"),
    ("<think>It is B</think>", "empty"),  # nothing after the reasoning
])
def test_unparseable_is_none_never_a_guess(response, method):
    for _ in range(3):  # deterministic: the same answer every time
        assert extract_choice(response, OPTS) == extract_choice(response, OPTS)
    result = extract_choice(response, OPTS)
    assert (result.letter, result.method) == (None, method)


@pytest.mark.parametrize("response", [
    "The answer is B. The answer is C.",  # two statements disagree, no correction between
    "Hmm, A or B?",  # the article-like A still spoils B
    "Let's look at each option:\nA. cat - no\nB. dog - yes",  # labels without a verdict
    "It is a cat or a dog.",  # two options' texts
    "Red or dark red",  # both texts stand on their own
    "B. bird",  # label B, but the text of option C
])
def test_ambiguous_is_none(response):
    options = ["red", "dark red", "blue", "green"] if "red" in response else OPTS
    result = extract_choice(response, options)
    assert (result.letter, result.method) == (None, "ambiguous"), result


def test_duplicate_option_texts_are_ambiguous():
    assert extract_choice("a dog", ["dog", "dog", "cat", "fish"]).method == "ambiguous"


def test_custom_letters_and_validation():
    assert letter("Answer: Y", ["x", "y"], letters="XY") == "Y"
    assert letter("E", OPTS + ["cow"]) == "E"
    with pytest.raises(ValueError):
        extract_choice("A", [])
    with pytest.raises(ValueError):
        extract_choice("A", OPTS, letters="AB")
    with pytest.raises(ValueError):
        extract_choice("A", OPTS, localized_letters="АБ")
    with pytest.raises(TypeError):
        extract_choice(None, OPTS)


def test_normalise_response():
    assert normalise_response("**Ａｎｓｗｅｒ**：\u0662\n\n  ①") == "Answer:2\n(1)"
    assert extract_choice("B", OPTS).to_dict() == {"letter": "B", "method": "direct",
                                                   "detail": "'B'"}


# --- yes / no (MaRVL) -------------------------------------------------------------------------

@pytest.mark.parametrize("response, lang, expected", [
    ("Yes, it is.", "en", True), ("No.", "en", False), ("The statement is true.", "en", True),
    ("It is not true that both images show dogs.", "en", False), ("Answer: no", "en", False),
    ("Looking closely, the answer is yes.", "en", True),
    ("There is no dog, so false.", "en", False),
    ("نعم", "ar", True), ("لا، ليست صحيحة", "ar", False),
    ("Ano, je to pravda.", "cs", True), ("Ne", "cs", False), ("To není pravda.", "cs", False),
    ("Igen", "hu", True), ("Nem igaz.", "hu", False),
    ("네, 맞습니다", "ko", True), ("아니요", "ko", False),
    ("Да, верно", "ru", True), ("Нет", "ru", False), ("Это неправда", "ru", False),
    ("Tačno", "sr", True), ("Не", "sr", False), ("Nije tačno.", "sr", False),
    ("ใช่ครับ", "th", True), ("ไม่ใช่ค่ะ", "th", False),
    ("Có", "vi", True), ("Không đúng", "vi", False),
    ("是的", "zh", True), ("不是。", "zh", False), ("对于这个问题，答案是错", "zh", False),
    ("はい", "ja", True), ("いいえ、違います", "ja", False),
    ("Ya, benar", "id", True), ("Tidak", "id", False),
    ("Ndiyo", "sw", True), ("Si kweli", "sw", False),
    ("ஆம்", "ta", True), ("இல்லை", "ta", False),
    ("Evet", "tr", True), ("HAYIR", "tr", False),
])
def test_yes_no(response, lang, expected):
    assert extract_yes_no(response, lang) is expected


@pytest.mark.parametrize("response", [
    "I'm not sure.", "", "The left image has two cats.", "True or false? Hard to say; false? true?",
])
def test_yes_no_unreadable_is_none(response):
    assert extract_yes_no(response, "en") is None


def test_yes_no_language_table():
    assert extract_yes_no("Evet", None) is True  # all languages at once
    assert extract_yes_no("Yes", "th") is True  # English is always read
    assert extract_yes_no("不是", "zh-Hant") is False
    with pytest.raises(MellaError, match="_YES_NO"):
        extract_yes_no("yes", "xx")
