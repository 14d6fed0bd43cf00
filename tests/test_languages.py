import pytest

from mella_eval.errors import MellaError
from mella_eval.languages import LANGUAGES, MELLA_LANGS, parse_langs


def test_all_means_the_eight_mella_languages():
    assert parse_langs("all") == ["ar", "cs", "hu", "ko", "ru", "sr", "th", "vi"]
    assert tuple(parse_langs(None)) == MELLA_LANGS


def test_explicit_codes_keep_order_and_drop_duplicates():
    assert parse_langs("th, ar,th") == ["th", "ar"]


def test_unknown_code_lists_the_valid_ones():
    with pytest.raises(MellaError) as e:
        parse_langs("ar,xx")
    message = str(e.value)
    assert "'xx'" in message and all(code in message for code in LANGUAGES)


def test_table_records_script_and_tokenizer():
    assert LANGUAGES["th"].bleu_tokenize == "char"
    assert LANGUAGES["ko"].bleu_tokenize == "ko-mecab"
    assert LANGUAGES["sr"].script == "Cyrl"
    assert all(lang.native and lang.english for lang in LANGUAGES.values())


def test_every_named_stemmer_exists_and_optional_tokenizers_have_a_fallback():
    import snowballstemmer

    named = {code: lang.stemmer for code, lang in LANGUAGES.items() if lang.stemmer}
    assert set(named.values()) <= set(snowballstemmer.algorithms())
    assert {code: named.get(code) for code in MELLA_LANGS} == {
        "ar": "arabic", "cs": "czech", "hu": "hungarian", "ko": None, "ru": "russian",
        "sr": "serbian", "th": None, "vi": None}
    # tokenizers that need an optional package fall back to one that needs nothing
    assert LANGUAGES["ja"].bleu_tokenize_fallback == "char"
    assert LANGUAGES["ko"].bleu_tokenize_fallback == "13a"
