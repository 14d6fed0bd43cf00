"""The output-language check: identification, the one wrong-language verdict, and its rules
(script, letters, names/codes discounted, close languages, too-short text).

Real sentences are Tatoeba's (CC BY 2.0 FR, benchmarks/data/langid/sentences.tsv); the captions
naming brands are code-mixed ones written for benchmarks/data/langid/codemixed.tsv."""

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from mella_eval.errors import MellaError
from mella_eval.langid import (LangVerdict, accepted_langs, check_language, detect_language,
                               is_wrong_language, judge_language)
from mella_eval.languages import LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks/data/langid"
SAMPLES = ROOT / "tasks/data/mella_sample/samples.jsonl"


def read_tsv(name):
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row]


SENTENCES = defaultdict(list)
for _lang, _text, _source in read_tsv("sentences.tsv"):
    SENTENCES[_lang].append(_text)
MIXED = read_tsv("codemixed.tsv")


def consistent(v: LangVerdict, expected: str) -> bool:
    return v.wrong == (v.detected not in ("und", expected))


def test_every_task_language_has_rules_and_sentences():
    for code in LANGUAGES:
        check_language(code)
    # Minangkabau and Oromo (CVQA) are not in the Tatoeba set yet: their real sentences are in
    # test_cvqa_languages.py.
    assert set(SENTENCES) | {"min", "om"} == set(LANGUAGES)
    with pytest.raises(MellaError, match="languages.py"):
        judge_language("text", "xx")


def test_real_sentences_are_identified_and_not_flagged():
    long_ok = long_n = flagged = n = 0
    for lang, texts in SENTENCES.items():
        for text in texts:
            v = judge_language(text, lang)
            assert consistent(v, lang), (lang, text, v)
            flagged += v.wrong
            n += 1
            if len(text) >= 20:
                long_ok += detect_language(text).code in accepted_langs(lang)
                long_n += 1
    assert long_ok / long_n >= 0.97
    assert flagged / n <= 0.01


@pytest.mark.parametrize("lang,text", MIXED, ids=[f"{r[0]}-{i}" for i, r in enumerate(MIXED)])
def test_code_mixed_captions_are_never_flagged(lang, text):
    v = judge_language(text, lang)
    assert not v.wrong and v.detected == lang, v


def test_brand_names_codes_and_urls_do_not_change_the_script():
    for text, lang in [("ร้าน Starbucks บนถนน Sukhumvit ในกรุงเทพ", "th"),
                       ("Коробка от Sony PlayStation 5 Slim под ёлкой", "ru"),
                       ("서울 강남역 근처의 Apple Store 매장", "ko"),
                       ("ดูข้อมูลที่ https://example.org/path?x=1 ได้เลย", "th")]:
        assert judge_language(text, lang) == LangVerdict(lang, False, "script", 1.0) or \
            not judge_language(text, lang).wrong
    # A reply that is only a name is not a wrong language ...
    assert judge_language("iPhone 15 Pro Max", "ko").detected == "und"
    # ... but a reply in lower-case English words is.
    v = judge_language("a cup of coffee on a wooden table next to a laptop", "th")
    assert v.wrong and v.detected == "en"


@pytest.mark.parametrize("answer,expected", [
    ("en", "ja"), ("en", "hi"), ("en", "sw"), ("en", "vi"), ("ru", "sr"), ("sr", "ru"),
    ("mn", "ru"), ("bg", "ru"), ("uk", "ru"), ("fa", "ar"), ("ar", "fa"), ("hi", "ur"),
    ("ur", "hi"), ("zh", "ja"), ("ja", "zh"), ("fr", "en"), ("en", "mi"), ("en", "su")])
def test_clearly_wrong_languages_are_caught(answer, expected):
    texts = [t for t in SENTENCES[answer] if len(t) >= 20]
    if answer == "sr":
        texts = [t for t in texts if any("\u0400" <= c <= "\u04ff" for c in t)]
    verdicts = [judge_language(t, expected) for t in texts[:20]]
    assert all(consistent(v, expected) for v in verdicts)
    caught = sum(v.wrong for v in verdicts)
    assert caught / len(verdicts) >= 0.85, [(t, v) for t, v in zip(texts, verdicts) if not v.wrong]
    assert all(v.detected != expected for v in verdicts if v.wrong)


def test_letters_rule_out_a_language():
    # Serbian letters rule out Russian, Russian letters rule out Serbian (the model is not asked).
    v = judge_language("Још је веома хладно путовати на море.", "ru")
    assert v.wrong and v.detected == "sr" and v.method == "letters"
    v = judge_language("Мы не знаем, что это значит, и это нас беспокоит.", "sr")
    assert v.wrong and v.detected == "ru" and v.method == "letters"
    # Mongolian ө ү, Persian پ چ گ ک ی.
    v = judge_language("Өнөөдөр айхтар халуун байна.", "ru")
    assert v.wrong and v.detected == "mn"
    v = judge_language("گربه خاکستری کنار پنجره نشسته است و به خیابان نگاه می‌کند.", "ar")
    assert v.wrong and v.detected == "fa"


def test_latin_script_serbian_stays_serbian():
    for text in ["Siva mačka sedi pored prozora i gleda na ulicu.", "Desilo se baš ovde.",
                 "Marija i ja radimo zajedno."]:
        v = judge_language(text, "sr")
        assert (v.detected, v.wrong) == ("sr", False), v
    assert judge_language("Siva mačka sedi pored prozora i gleda na ulicu.", "hu").wrong


def test_short_real_sentences_are_not_flagged():
    for text, lang in [("Laurie otthon van?", "hu"), ("Tom shodil 30 kilo.", "cs"),
                       ("Kwa nini?", "sw"), ("Ona radi sama.", "sr"), ("Hapunten.", "su")]:
        assert not is_wrong_language(text, lang), (text, judge_language(text, lang))


def test_too_short_is_undetermined_and_never_wrong():
    for text in ["", "   ", "5", "OK", "…", "12:30"]:
        v = judge_language(text, "ko")
        assert v == LangVerdict("und", False, "too-short") and detect_language(text).code == "und"
    # One or two words in the expected script: not enough to tell Czech from Slovak etc.
    assert not is_wrong_language("Kočka", "cs") and not is_wrong_language("Mačka", "cs")
    # ... but a script the language is never written in is wrong even when short.
    assert is_wrong_language("A cat", "ko") and is_wrong_language("고양이", "ru")
    v = judge_language("кошка", "th")
    assert v.wrong and v.method == "script" and v.detected in {"ru", "sr", "bg", "uk", "mn"}


def test_close_languages_are_accepted_for_each_other():
    assert {"hr", "bs"} <= accepted_langs("sr") and "id" in accepted_langs("ms")
    assert not is_wrong_language("Mačka sjedi na prozoru i gleda na ulicu.", "sr")  # Croatian


def test_japanese_and_chinese():
    assert judge_language("灰色の猫が窓辺に座って通りを見ています。", "ja") == \
        LangVerdict("ja", False, "script", 1.0)
    assert judge_language("灰色の猫が窓辺に座って通りを見ています。", "zh").detected == "ja"
    assert judge_language("一只灰色的猫坐在窗台上看着街道。", "ja").wrong
    assert not judge_language("富士山", "ja").wrong  # a kanji-only name is not Chinese


def test_bundled_references_are_not_flagged():
    samples = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]
    texts = [(s["lang"], t) for s in samples for t in [s["alt_text"], *s["references"]]]
    for lang, text in texts:
        assert not is_wrong_language(text, lang), (lang, text)
    identified = sum(detect_language(t).code in accepted_langs(lang) for lang, t in texts)
    assert identified / len(texts) >= 0.98


def test_languages_the_model_lacks_are_told_by_spelling_and_never_flagged():
    assert detect_language("Kāore au e hiahia ana ki te haere ki te kura.").code == "mi"
    assert detect_language("Saya pergi ke taman.").code == "ms"  # Maori letters, no Maori marks
    assert detect_language("Anjeun bakal paeh mun cicing di dieu, ulah sieun.").code == "su"
    for lang in ("mi", "su"):
        assert not any(is_wrong_language(t, lang) for t in SENTENCES[lang])
        assert is_wrong_language("I don't want to go to school tomorrow morning.", lang)
