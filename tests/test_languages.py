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
