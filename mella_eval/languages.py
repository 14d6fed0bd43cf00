"""The languages mella-eval knows, as one table of data.

`bleu_tokenize` is the sacrebleu tokenizer BLEU needs for the script: Thai is written without
spaces between words, so word-level tokenizers (13a, intl) see one "word" per sentence and
score 0; it is scored on characters. Korean uses mecab segmentation where the `ko` extra is
installed. chrF/chrF++ work on characters and need no tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

from mella_eval.errors import MellaError


@dataclass(frozen=True)
class Language:
    code: str
    english: str
    native: str
    script: str
    bleu_tokenize: str
    # Used when bleu_tokenize needs an optional package that is not installed.
    bleu_tokenize_fallback: str = "13a"


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in [
        Language("ar", "Arabic", "العربية", "Arab", "13a"),
        Language("cs", "Czech", "čeština", "Latn", "13a"),
        Language("hu", "Hungarian", "magyar", "Latn", "13a"),
        Language("ko", "Korean", "한국어", "Hang", "ko-mecab"),
        Language("ru", "Russian", "русский", "Cyrl", "13a"),
        Language("sr", "Serbian", "српски", "Cyrl", "13a"),
        Language("th", "Thai", "ไทย", "Thai", "char"),
        Language("vi", "Vietnamese", "Tiếng Việt", "Latn", "13a"),
    ]
}

# `--langs all`: MELLA's eight languages.
MELLA_LANGS: tuple[str, ...] = tuple(LANGUAGES)


def get_language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise MellaError(
            f"unknown language code {code!r}; valid codes: {', '.join(LANGUAGES)} "
            "(add a language to the table in mella_eval/languages.py)"
        ) from None


def parse_langs(spec: str | list[str] | None) -> list[str]:
    """`all` (or None) -> the eight MELLA languages; `ar,th` -> validated codes in the given order."""
    if spec is None:
        return list(MELLA_LANGS)
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    codes: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item == "all":
            codes.extend(c for c in MELLA_LANGS if c not in codes)
            continue
        get_language(item)
        if item not in codes:
            codes.append(item)
    if not codes:
        raise MellaError(f"--langs is empty; valid codes: all, {', '.join(LANGUAGES)}")
    return codes
