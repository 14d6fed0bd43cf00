"""The languages mella-eval knows, as one table of data.

`bleu_tokenize` is the sacrebleu tokenizer BLEU needs for the script: Thai, Lao, Khmer and
Myanmar are written without spaces between words, so word-level tokenizers (13a, intl) see one
"word" per sentence and score 0; they are scored on characters. Chinese uses sacrebleu's `zh`
(characters), Japanese `ja-mecab` where the `ja` extra is installed (else characters), Korean
`ko-mecab` where the `ko` extra is installed. chrF/chrF++ work on characters and need no tokenizer.

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
    # Used when bleu_tokenize needs an optional package that is not installed.
    bleu_tokenize_fallback: str = "13a"


MELLA: list[Language] = [
    Language("ar", "Arabic", "العربية", "Arab", "13a"),
    Language("cs", "Czech", "čeština", "Latn", "13a"),
    Language("hu", "Hungarian", "magyar", "Latn", "13a"),
    Language("ko", "Korean", "한국어", "Hang", "ko-mecab"),
    Language("ru", "Russian", "русский", "Cyrl", "13a"),
    Language("sr", "Serbian", "српски", "Cyrl", "13a"),
    Language("th", "Thai", "ไทย", "Thai", "char"),
    Language("vi", "Vietnamese", "Tiếng Việt", "Latn", "13a"),
]
OTHERS: list[Language] = [
    Language("af", "Afrikaans", "Afrikaans", "Latn", "13a"),
    Language("am", "Amharic", "አማርኛ", "Ethi", "13a"),
    Language("bg", "Bulgarian", "български", "Cyrl", "13a"),
    Language("bn", "Bengali", "বাংলা", "Beng", "13a"),
    Language("br", "Breton", "brezhoneg", "Latn", "13a"),
    Language("da", "Danish", "dansk", "Latn", "13a"),
    Language("de", "German", "Deutsch", "Latn", "13a"),
    Language("el", "Greek", "Ελληνικά", "Grek", "13a"),
    Language("en", "English", "English", "Latn", "13a"),
    Language("es", "Spanish", "español", "Latn", "13a"),
    Language("fa", "Persian", "فارسی", "Arab", "13a"),
    Language("fi", "Finnish", "suomi", "Latn", "13a"),
    Language("fil", "Filipino", "Filipino", "Latn", "13a"),
    Language("fr", "French", "français", "Latn", "13a"),
    Language("ga", "Irish", "Gaeilge", "Latn", "13a"),
    Language("he", "Hebrew", "עברית", "Hebr", "13a"),
    Language("hi", "Hindi", "हिन्दी", "Deva", "13a"),
    Language("hr", "Croatian", "hrvatski", "Latn", "13a"),
    Language("id", "Indonesian", "Bahasa Indonesia", "Latn", "13a"),
    Language("ig", "Igbo", "Igbo", "Latn", "13a"),
    Language("it", "Italian", "italiano", "Latn", "13a"),
    Language("ja", "Japanese", "日本語", "Jpan", "ja-mecab", "char"),
    Language("jv", "Javanese", "basa Jawa", "Latn", "13a"),
    Language("mi", "Maori", "te reo Māori", "Latn", "13a"),
    Language("mn", "Mongolian", "монгол", "Cyrl", "13a"),
    Language("mr", "Marathi", "मराठी", "Deva", "13a"),
    Language("ms", "Malay", "Bahasa Melayu", "Latn", "13a"),
    Language("nl", "Dutch", "Nederlands", "Latn", "13a"),
    Language("no", "Norwegian", "norsk", "Latn", "13a"),
    Language("pa", "Punjabi", "ਪੰਜਾਬੀ", "Guru", "13a"),
    Language("pl", "Polish", "polski", "Latn", "13a"),
    Language("pt", "Portuguese", "português", "Latn", "13a"),
    Language("quz", "Cusco Quechua", "Runasimi", "Latn", "13a"),
    Language("ro", "Romanian", "română", "Latn", "13a"),
    Language("rw", "Kinyarwanda", "Ikinyarwanda", "Latn", "13a"),
    Language("si", "Sinhala", "සිංහල", "Sinh", "13a"),
    Language("su", "Sundanese", "basa Sunda", "Latn", "13a"),
    Language("sv", "Swedish", "svenska", "Latn", "13a"),
    Language("sw", "Swahili", "Kiswahili", "Latn", "13a"),
    Language("ta", "Tamil", "தமிழ்", "Taml", "13a"),
    Language("te", "Telugu", "తెలుగు", "Telu", "13a"),
    Language("tr", "Turkish", "Türkçe", "Latn", "13a"),
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
