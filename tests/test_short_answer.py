"""Short-answer VQA scoring (xGQA, MaXM): normalisation, exact match, relaxed match."""

import unicodedata

import pytest

from mella_eval.metrics.short_answer import exact_match, normalize_answer, relaxed_match


@pytest.mark.parametrize("text, lang, expected", [
    # NFC, casefold, punctuation, whitespace
    ("  The Red   Car! ", "en", "red car"),
    (unicodedata.normalize("NFD", "Màu Đỏ."), "vi", "màu đỏ"),
    ("Don't know", "en", "dont know"),
    ("t-shirt", "en", "t shirt"),
    ("«Кошка»", "ru", "кошка"),
    ("القطة؟", "ar", "القطة"),
    # articles and number words: English only
    ("A dog", "en", "dog"),
    ("a dog", "hu", "a dog"),  # Hungarian "a" is not dropped
    ("Three", "en", "3"), ("twenty-one", "en", "21"), ("ninety nine", "en", "99"),
    ("none", "en", "0"),
    # numbers
    ("1,000", "en", "1000"), ("12,500,000", "en", "12500000"), ("3,5", "cs", "3.5"),
    ("3.5", "en", "3.5"), ("1,2,3", "en", "1 2 3"), ("50%", "en", "50%"), ("$5", "en", "$5"),
    ("٣", "ar", "3"), ("๓", "th", "3"), ("３", "ja", "3"), ("२", "hi", "2"),
    # CJK and Thai punctuation; spaces removed for th, zh, ja
    ("红色。", "zh", "红色"), ("「はい」", "ja", "はい"), ("東京 タワー", "ja", "東京タワー"),
    ("แมว ดำ๚", "th", "แมวดำ"), ("Ｒｅｄ", "zh", "red"),
    # counting answers: numerals and classifiers
    ("三只", "zh", "3"), ("两个", "zh", "2"), ("十二", "zh", "12"), ("二十一", "zh", "21"),
    ("十", "zh", "10"), ("３个", "zh", "3"), ("三つ", "ja", "3"),
    ("สามตัว", "th", "3"), ("3 ตัว", "th", "3"), ("ยี่สิบเอ็ด", "th", "21"), ("สิบ", "th", "10"),
    ("สิบห้าคน", "th", "15"),
    # language codes with regions
    ("東京 タワー", "ja-JP", "東京タワー"), ("紅色", "zh_TW", "紅色"),
])
def test_normalize_answer(text, lang, expected):
    assert normalize_answer(text, lang) == expected


@pytest.mark.parametrize("pred, answers, lang, expected", [
    ("Red.", ["red"], "en", 1.0),
    ("the red", ["red", "crimson"], "en", 1.0),
    ("three", ["3"], "en", 1.0),
    ("3.0", ["3"], "en", 1.0),  # numbers by value
    ("3", ["3.5"], "en", 0.0),
    ("red car", ["red"], "en", 0.0),
    ("", ["red"], "en", 0.0),
    ("...", ["..."], "en", 0.0),  # nothing left after normalisation matches nothing
    ("红色", ["红色。"], "zh", 1.0),
    ("三只", ["3"], "zh", 1.0),
    ("สามตัว", ["3"], "th", 1.0),
    ("แมว ดำ", ["แมวดำ"], "th", 1.0),
    ("٣", ["3"], "ar", 1.0),
    ("Кошка", "кошка", "ru", 1.0),  # a bare string is one answer
])
def test_exact_match(pred, answers, lang, expected):
    assert exact_match(pred, answers, lang) == expected


@pytest.mark.parametrize("pred, answers, lang, expected", [
    # word sequences
    ("It is a red car.", ["red"], "en", 1.0),
    ("The car is dark red", ["dark red"], "en", 1.0),
    ("reddish", ["red"], "en", 0.0),  # a whole word, not a substring
    ("red, white and blue", ["white blue"], "en", 0.0),  # consecutive words
    ("Это кошка.", ["кошка"], "ru", 1.0),
    ("Đây là con mèo", ["con mèo"], "vi", 1.0),
    # numbers as numbers
    ("There are 3 cats", ["3"], "en", 1.0),
    ("There are three cats", ["3"], "en", 1.0),
    ("There are 13 cats", ["3"], "en", 0.0),
    ("About 3.5 meters", ["3"], "en", 0.0),
    ("In 300 years", ["3"], "en", 0.0),
    ("٣ قطط", ["3"], "ar", 1.0),
    ("有三只猫", ["3"], "zh", 1.0),
    ("有13只猫", ["3"], "zh", 0.0),
    ("这是三明治", ["3"], "zh", 0.0),  # 三明治 is a sandwich, not 3
    ("แมวสามตัว", ["3"], "th", 1.0),
    ("สามารถเห็นแมว", ["3"], "th", 0.0),  # สามารถ "can" is not 3
    ("猫が三匹います", ["3"], "ja", 1.0),
    # substrings for th, zh, ja
    ("这是红色的车", ["红色"], "zh", 1.0),
    ("写真は東京タワーです", ["東京 タワー"], "ja", 1.0),
    ("รถสีแดง", ["สีแดง"], "th", 1.0),
    ("รถสีเขียว", ["สีแดง"], "th", 0.0),
    ("型号是A30", ["a3"], "zh", 0.0),  # a digit at the edge may not be glued to another digit
    # Korean particles
    ("고양이가 있다", ["고양이"], "ko", 1.0),
    ("차이가 있다", ["차"], "ko", 0.0),  # a one-syllable answer needs the whole word
    # exact implies relaxed; nothing in the prediction matches nothing
    ("red", ["red"], "en", 1.0),
    ("", ["red"], "en", 0.0),
    ("blue", ["red", "the"], "en", 0.0),
])
def test_relaxed_match(pred, answers, lang, expected):
    assert relaxed_match(pred, answers, lang) == expected


def test_errors():
    with pytest.raises(ValueError):
        exact_match("red", [], "en")
    with pytest.raises(TypeError):
        normalize_answer(None, "en")
