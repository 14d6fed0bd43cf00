"""The languages mella-eval knows, as one table of data.

`bleu_tokenize` is the sacrebleu tokenizer BLEU needs for the script: Thai, Lao, Khmer and
Myanmar are written without spaces between words, so word-level tokenizers (13a, intl) see one
"word" per sentence and score 0; they are scored on characters. Chinese uses sacrebleu's `zh`
(characters), Japanese `ja-mecab` where the `ja` extra is installed (else characters), Korean
`ko-mecab` where the `ko` extra is installed; when such a tokenizer cannot start, BLEU uses
`bleu_tokenize_fallback` and its signature says so. chrF/chrF++ work on characters and need no
tokenizer.

`stemmer` is the Snowball algorithm (from the `snowballstemmer` package) METEOR uses to match
inflected forms; languages without one (Korean, Thai, Vietnamese, Chinese, Japanese, ...) have
None and METEOR matches exact tokens only.

MELLA's eight languages come first; the others are those of the PangeaBench tasks (XM3600,
CVQA, MaRVL, xGQA, MaXM, M3Exam, xMMMU). Add a row here to evaluate another language.
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
    # Used when bleu_tokenize needs an optional package that is not installed (or fails to start).
    bleu_tokenize_fallback: str = "13a"
    # The Snowball stemmer (`snowballstemmer` algorithm name) METEOR's stem stage uses; None:
    # no stem stage (no stemmer exists, or the language needs none: Thai, Vietnamese, Chinese...).
    stemmer: str | None = None


MELLA: list[Language] = [
    Language("ar", "Arabic", "العربية", "Arab", "13a", stemmer="arabic"),
    Language("cs", "Czech", "čeština", "Latn", "13a", stemmer="czech"),
    Language("hu", "Hungarian", "magyar", "Latn", "13a", stemmer="hungarian"),
    Language("ko", "Korean", "한국어", "Hang", "ko-mecab"),
    Language("ru", "Russian", "русский", "Cyrl", "13a", stemmer="russian"),
    Language("sr", "Serbian", "српски", "Cyrl", "13a", stemmer="serbian"),
    Language("th", "Thai", "ไทย", "Thai", "char"),
    Language("vi", "Vietnamese", "Tiếng Việt", "Latn", "13a"),
]
OTHERS: list[Language] = [
    Language("af", "Afrikaans", "Afrikaans", "Latn", "13a"),
    Language("am", "Amharic", "አማርኛ", "Ethi", "13a"),
    Language("bg", "Bulgarian", "български", "Cyrl", "13a"),
    Language("bn", "Bengali", "বাংলা", "Beng", "13a"),
    Language("br", "Breton", "brezhoneg", "Latn", "13a"),
    Language("da", "Danish", "dansk", "Latn", "13a", stemmer="danish"),
    Language("de", "German", "Deutsch", "Latn", "13a", stemmer="german"),
    Language("el", "Greek", "Ελληνικά", "Grek", "13a", stemmer="greek"),
    Language("en", "English", "English", "Latn", "13a", stemmer="english"),
    Language("es", "Spanish", "español", "Latn", "13a", stemmer="spanish"),
    Language("fa", "Persian", "فارسی", "Arab", "13a", stemmer="persian"),
    Language("fi", "Finnish", "suomi", "Latn", "13a", stemmer="finnish"),
    Language("fil", "Filipino", "Filipino", "Latn", "13a"),
    Language("fr", "French", "français", "Latn", "13a", stemmer="french"),
    Language("ga", "Irish", "Gaeilge", "Latn", "13a", stemmer="irish"),
    Language("he", "Hebrew", "עברית", "Hebr", "13a"),
    Language("hi", "Hindi", "हिन्दी", "Deva", "13a", stemmer="hindi"),
    Language("hr", "Croatian", "hrvatski", "Latn", "13a"),
    Language("id", "Indonesian", "Bahasa Indonesia", "Latn", "13a", stemmer="indonesian"),
    Language("ig", "Igbo", "Igbo", "Latn", "13a"),
    Language("it", "Italian", "italiano", "Latn", "13a", stemmer="italian"),
    Language("ja", "Japanese", "日本語", "Jpan", "ja-mecab", "char"),
    Language("jv", "Javanese", "basa Jawa", "Latn", "13a"),
    Language("mi", "Maori", "te reo Māori", "Latn", "13a"),
    Language("min", "Minangkabau", "Baso Minangkabau", "Latn", "13a"),  # CVQA (ISO 639-2/3 min)
    Language("mn", "Mongolian", "монгол", "Cyrl", "13a"),
    Language("mr", "Marathi", "मराठी", "Deva", "13a"),
    Language("ms", "Malay", "Bahasa Melayu", "Latn", "13a"),
    Language("om", "Oromo", "Afaan Oromoo", "Latn", "13a"),  # CVQA (ISO 639-1 om; 639-3 orm)
    Language("nl", "Dutch", "Nederlands", "Latn", "13a", stemmer="dutch"),
    Language("no", "Norwegian", "norsk", "Latn", "13a", stemmer="norwegian"),
    Language("pa", "Punjabi", "ਪੰਜਾਬੀ", "Guru", "13a"),
    Language("pl", "Polish", "polski", "Latn", "13a", stemmer="polish"),
    Language("pt", "Portuguese", "português", "Latn", "13a", stemmer="portuguese"),
    Language("quz", "Cusco Quechua", "Runasimi", "Latn", "13a"),
    Language("ro", "Romanian", "română", "Latn", "13a", stemmer="romanian"),
    Language("rw", "Kinyarwanda", "Ikinyarwanda", "Latn", "13a"),
    Language("si", "Sinhala", "සිංහල", "Sinh", "13a"),
    Language("su", "Sundanese", "basa Sunda", "Latn", "13a"),
    Language("sv", "Swedish", "svenska", "Latn", "13a", stemmer="swedish"),
    Language("sw", "Swahili", "Kiswahili", "Latn", "13a"),
    Language("ta", "Tamil", "தமிழ்", "Taml", "13a", stemmer="tamil"),
    Language("te", "Telugu", "తెలుగు", "Telu", "13a"),
    Language("tr", "Turkish", "Türkçe", "Latn", "13a", stemmer="turkish"),
    Language("uk", "Ukrainian", "українська", "Cyrl", "13a"),
    Language("ur", "Urdu", "اردو", "Arab", "13a"),
    Language("zh", "Chinese", "中文", "Hani", "zh"),
]
LANGUAGES: dict[str, Language] = {lang.code: lang for lang in MELLA + OTHERS}

# `--langs all`: MELLA's eight languages.
MELLA_LANGS: tuple[str, ...] = tuple(lang.code for lang in MELLA)
# `--langs task`: every language each task has.
EVERY_TASK_LANGUAGE = "task"


def get_language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise MellaError(
            f"unknown language code {code!r}; valid codes: {', '.join(LANGUAGES)} "
            "(add a language to the table in mella_eval/languages.py)"
        ) from None


def parse_langs(spec: str | list[str] | None) -> list[str]:
    """`all` (or None) -> the eight MELLA languages; `task` -> ["task"] (each task's own
    languages, resolved per task); `ar,th` -> validated codes in the given order."""
    if spec is None:
        return list(MELLA_LANGS)
    if isinstance(spec, str) and spec.strip() == EVERY_TASK_LANGUAGE:
        return [EVERY_TASK_LANGUAGE]
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
        raise MellaError(f"--langs is empty; valid: all, task, {', '.join(LANGUAGES)}")
    return codes
