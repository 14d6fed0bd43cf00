"""Offline language identification of model outputs, and the one wrong-language decision.

`judge_language(text, expected)` returns a `LangVerdict` (detected language, wrong or not, what
decided): the guard writes its `detected` and `wrong` into a sample record as `detected_lang`
and `wrong_language`, and the judge zeroes on `wrong_language`, so the three cannot disagree.
By construction `wrong` is True exactly when `detected` is neither "und" nor a language accepted
for `expected` (`accepted_langs`).

How it decides (README "Output-language check"):
1. **Too little text** (under 3 letters once names and codes are set aside) -> "und", not wrong.
2. **Names, codes and URLs do not count**: URLs, e-mail addresses, domains and Latin tokens
   with a digit or an inner capital (RTX4090, iPhone) are set aside; when the expected language
   is not written in Latin, capitalised Latin words too (Starbucks, Sukhumvit, BTS), so a Thai,
   Korean or Russian caption naming brands stays in its own script.
3. **Script**: the letters' main script (Hangul and Han/Kana weigh double: one character carries
   a word-sized share). A script the expected language is never written in -> wrong; the
   detected language is the one that script settles (Thai -> th) or the model's best in it.
4. **Letters** (script rules that beat the model): a language is ruled out by letters its
   alphabet lacks, e.g. Russian ы э ё й щ ъ ь ю я rule out Serbian; Serbian ђ ј љ њ ћ џ,
   Mongolian ө ү or Ukrainian і ї є ґ rule out Russian; Persian/Urdu پ چ ژ گ ک ی rule out Arabic.
5. **The model** (py3langid: naive Bayes over byte n-grams, 142 languages, model in the wheel)
   for the rest, e.g. Latin-script languages, bg vs ru, hi vs mr. It only flags on confident
   evidence: text of 12+ letters, the model's best language outside the accepted set with
   probability >= CONFIDENT, and the accepted set under PLAUSIBLE. For the few task languages
   the model does not know (Maori, Sundanese, Minangkabau) only a confident task language outside
   the related ones (su: jv, id, ms; min: id, ms, jv, su) flags.

Accepted as the same language (never flagged against each other): Serbian/Croatian/Bosnian
(Latin-script Serbian stays Serbian), Malay/Indonesian, Norwegian/Danish, Czech/Slovak,
Filipino/Tagalog, Cusco Quechua/Quechua, Arabic dialects, Chinese/Cantonese/Wu.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache


from mella_eval.errors import MellaError
from mella_eval.languages import LANGUAGES
from mella_eval.langid_model import (_PROBS, _PROBS_MAX, _model, _model_probs,  # noqa: F401
                                     model_labels, prefetch_model)

UNDETERMINED = "und"
MIN_LETTERS = 3  # below this (after names/codes): "und"
MIN_LETTERS_MODEL = 12  # below this, only script and letter rules flag
CONFIDENT = 0.5  # the model's best other language must be at least this probable ...
PLAUSIBLE = 0.2  # ... and the accepted languages together under this
CONFIDENT_UNKNOWN = 0.9  # for a language the model does not know, the other must be this sure
FOREIGN_LETTERS_MIN = 2  # letters outside an alphabet needed to rule a language out ...
FOREIGN_LETTERS_SHARE = 0.02  # ... and their share of the script's letters

# ISO 15924 code (languages.py `script`) -> the scripts of its letters (unicodedata names).
ISO_SCRIPTS: dict[str, frozenset[str]] = {
    "Arab": frozenset({"ARABIC"}), "Latn": frozenset({"LATIN"}), "Cyrl": frozenset({"CYRILLIC"}),
    "Hang": frozenset({"HANGUL", "HAN"}), "Thai": frozenset({"THAI"}),
    "Ethi": frozenset({"ETHIOPIC"}), "Beng": frozenset({"BENGALI"}), "Grek": frozenset({"GREEK"}),
    "Hebr": frozenset({"HEBREW"}), "Deva": frozenset({"DEVANAGARI"}),
    "Jpan": frozenset({"HAN", "KANA"}), "Hani": frozenset({"HAN"}), "Guru": frozenset({"GURMUKHI"}),
    "Sinh": frozenset({"SINHALA"}), "Taml": frozenset({"TAMIL"}), "Telu": frozenset({"TELUGU"}),
}
# Serbian: Cyrillic officially, Latin widely; Javanese: Latin, and its own script.
EXTRA_SCRIPTS = {"sr": frozenset({"LATIN"}), "jv": frozenset({"JAVANESE"})}
_WIDE = frozenset({"HANGUL", "HAN", "KANA"})

# Languages accepted for each other: one pluricentric language, or too close to call wrong.
_SAME = [{"sr", "hr", "bs"}, {"ms", "id"}, {"no", "nb", "nn", "da"}, {"cs", "sk"},
         {"fil", "tl"}, {"quz", "qu"}, {"ar", "arz", "ary"}, {"zh", "yue", "wuu"}]
# The model lacks su and min: their neighbours pass (Minangkabau is Malayic, close to Malay and
# Indonesian; CVQA's Minangkabau rows come from Indonesia).
_RELATED_UNKNOWN = {"su": {"jv", "id", "ms", "ace"}, "min": {"id", "ms", "jv", "su", "ace"}}
# Model labels -> our codes.
_LABEL_CODE = {"tl": "fil", "qu": "quz", "nb": "no"}

# Alphabets that rule a language out when a text uses letters outside them (lower case).
# Each applies to letters of its own script only (Latin-script Serbian is left to the model).
_ALPHABETS: dict[str, tuple[str, frozenset[str]]] = {
    "ru": ("CYRILLIC", frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")),
    "sr": ("CYRILLIC", frozenset("абвгдђежзијклљмнњопрстћуфхцчџш")),
    "bg": ("CYRILLIC", frozenset("абвгдежзийклмнопрстуфхцчшщъьюяѝ")),
    "uk": ("CYRILLIC", frozenset("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя")),
    "mn": ("CYRILLIC", frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяөү")),
    "ar": ("ARABIC", frozenset("ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىيٱـ")),
}
# Letters that settle a language on their own in a shared script (unconditioned detection).
_TELLTALE = [("sr", frozenset("ђћџ")), ("mn", frozenset("өү")), ("uk", frozenset("ґєї"))]

# Languages the model does not know, told by their spelling (lower-case words only: names such
# as Mary or Jack do not count): Maori writes only these letters, with macrons or wh;
# Sundanese writes eu (/ɨ/: teu, dieu, eureun) that Javanese and Indonesian do not.
_MAORI_LETTERS = frozenset("aehikmnoprtuwgāēīōū")
_MAORI_MARKS = re.compile("[āēīōū]|wh")  # long vowels and wh: not in the neighbours' spelling
_SUNDANESE_EU = re.compile(r"eu")
_SUNDANESE_NEIGHBOURS = frozenset({"jv", "id", "ms", "ace", "su"})

# URLs, e-mail addresses, domains (ASCII only: Thai or Japanese next to them is kept).
_URLISH = re.compile(r"(?:https?://|www\.)[!-~]*|[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
                     r"|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:/[!-~]*)?", re.ASCII)
# A digit, or a capital after the first letter, among the characters _LATIN_TOKEN takes.
_CODE_CHAR = re.compile("[%s]" % "".join(
    re.escape(chr(i)) for i in (*range(0x30, 0x7B), *range(0xC0, 0x250))
    if chr(i).isdigit() or chr(i).isupper()))
_LATIN_TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\u024F][A-Za-z0-9\u00C0-\u024F'’\-]*")


@dataclass(frozen=True)
class LangVerdict:
    detected: str  # a language code (ours where we have one, else the model's) or "und"
    wrong: bool  # True exactly when `detected` is not "und" and not accepted for the expected
    method: str  # what decided: too-short, names-only, script, letters, model, uncertain
    confidence: float = 0.0  # the deciding evidence's probability or share, 0..1


@dataclass(frozen=True)
class LangGuess:
    code: str
    confidence: float
    method: str


def accepted_langs(expected: str) -> frozenset[str]:
    """The codes that count as `expected` (itself plus the languages it is not told apart from)."""
    out = {expected}
    for group in _SAME:
        if expected in group:
            out |= group
    return frozenset(out)


def check_language(code: str) -> None:
    """MellaError unless the output-language check has rules for `code`."""
    if code not in LANGUAGES or LANGUAGES[code].script not in ISO_SCRIPTS:
        raise MellaError(f"no output-language rule for {code!r}: add it to the table in "
                         "mella_eval/languages.py (its script must be one of "
                         f"{', '.join(sorted(ISO_SCRIPTS))}, see mella_eval/langid.py)")


def expected_scripts(code: str) -> frozenset[str]:
    check_language(code)
    return ISO_SCRIPTS[LANGUAGES[code].script] | EXTRA_SCRIPTS.get(code, frozenset())


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN"
    try:
        first = unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"
    if first in ("CJK", "IDEOGRAPHIC"):
        return "HAN"
    if first in ("HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "HALFWIDTH"):
        return "KANA"
    return "LATIN" if first == "FULLWIDTH" else first


def _without_names(text: str, capitalised: bool) -> str:
    """`text` without URLs, e-mail addresses and Latin tokens that look like codes (a digit or
    an inner capital: RTX4090, iPhone) or, when `capitalised`, like names (Starbucks, BTS)."""
    text = _URLISH.sub(" ", text)

    def keep(m: re.Match) -> str:
        token = m.group(0)
        code = token[0].isdigit() or _CODE_CHAR.search(token, 1) is not None
        return " " if code or (capitalised and token[0].isupper()) else token
    return _LATIN_TOKEN.sub(keep, text)


def _letters(text: str) -> str:
    return "".join(filter(str.isalpha, unicodedata.normalize("NFKC", text)))


@lru_cache(maxsize=8192)
def _unit(c: str) -> int:
    if not (c.isalpha() or unicodedata.category(c) in ("Mn", "Mc")):
        return 0
    return 2 if _script(c) in _WIDE else 1


def _units(text: str) -> int:
    """Letters plus vowel signs (Devanagari, Bengali, Thai ... write vowels as marks); a Han,
    Kana or Hangul character counts twice."""
    return sum(_unit(c) * n for c, n in Counter(text).items())  # per distinct character


def _script_weights(letters: str) -> Counter[str]:
    # Per distinct letter, in order of first appearance: most_common breaks ties by that order.
    weights: Counter[str] = Counter()
    for c, n in Counter(letters).items():
        s = _script(c)
        weights[s] += (2 if s in _WIDE else 1) * n
    return weights


def clear_caches() -> None:
    """Forget every remembered verdict and probability (benchmarks measure from cold)."""
    _PROBS.clear()
    for fn in (judge_language, _analyse, _unit):
        fn.cache_clear()


def _best(probs: dict[str, float], exclude: frozenset[str] = frozenset()) -> tuple[str, float]:
    """The likeliest language outside `exclude`, with the probability of it and the languages
    accepted for it (sr + hr + bs: the model splits one language's mass over their labels)."""
    code = max((c for c in probs if c not in exclude), key=probs.__getitem__, default=None)
    if code is None:
        return UNDETERMINED, 0.0
    return code, sum(probs.get(c, 0.0) for c in accepted_langs(code) if c not in exclude)


def _foreign_letters(letters: str, script: str, lang: str) -> int:
    """How many of `letters` (all of `script`) the alphabet of `lang` lacks; 0 if none is known."""
    alphabet_script, alphabet = _ALPHABETS.get(lang, ("", frozenset()))
    if alphabet_script != script:
        return 0
    return sum(n for c, n in Counter(letters).items() if c.casefold() not in alphabet)


def _ruled_out(letters: str, script: str, lang: str) -> bool:
    foreign = _foreign_letters(letters, script, lang)
    return foreign >= FOREIGN_LETTERS_MIN and foreign >= FOREIGN_LETTERS_SHARE * len(letters)


# Scripts that settle the language among the task languages.
_UNIQUE_SCRIPT = {"JAVANESE": "jv", "THAI": "th", "HANGUL": "ko", "KANA": "ja", "ETHIOPIC": "am",
                  "GREEK": "el", "HEBREW": "he", "GURMUKHI": "pa", "SINHALA": "si", "TAMIL": "ta",
                  "TELUGU": "te", "BENGALI": "bn"}


def _identify_in_script(text: str, script: str, in_script: str) -> LangGuess:
    """The language of text whose main script is `script` (no expectation)."""
    if script in _UNIQUE_SCRIPT:
        return LangGuess(_UNIQUE_SCRIPT[script], 1.0, "script")
    lower = {c.casefold() for c in in_script}
    for code, letters in _TELLTALE:
        if lower & letters:
            return LangGuess(code, 1.0, "letters")
    probs = _model_probs(text)
    if script == "LATIN":
        every = re.findall(r"[^\W\d_]+", text)
        words = [w for w in every if w[0].islower()]
        if len(words) >= 3 and all(set(w) <= _MAORI_LETTERS for w in words) and \
                sum(len(w) for w in words) >= MIN_LETTERS_MODEL and \
                any(_MAORI_MARKS.search(w.casefold()) for w in every):
            return LangGuess("mi", 1.0, "letters")
        code, p = _best(probs)
        if code in _SUNDANESE_NEIGHBOURS and sum(
                bool(_SUNDANESE_EU.search(w)) for w in words) * 5 >= max(len(words), 5):
            return LangGuess("su", p, "letters")
    if script == "HAN":  # Han without Kana: Chinese, unless the model is sure of Japanese
        code = "ja" if probs.get("ja", 0.0) >= CONFIDENT else "zh"
        return LangGuess(code, probs.get(code, 0.0), "model")
    code, p = _best(probs)
    return LangGuess(code, p, "model")


@lru_cache(maxsize=1 << 14)
def _analyse(text: str, discount_names: bool):
    kept = _without_names(text, capitalised=discount_names)
    letters = _letters(kept)
    if len(letters) < MIN_LETTERS:
        return kept, letters, None, ""
    weights = _script_weights(letters)
    script = weights.most_common(1)[0][0]
    if script == "HAN" and weights.get("KANA"):
        script = "KANA"  # kanji with kana: Japanese
    wanted = {script, "HAN"} if script == "KANA" else {script}
    keep = {c for c in set(letters) if _script(c) in wanted}
    in_script = "".join([c for c in letters if c in keep])
    return kept, letters, script, in_script


def detect_language(text: str) -> LangGuess:
    """Best guess of the language of `text`, with no expectation ("und" when too short)."""
    kept, letters, script, in_script = _analyse(text, discount_names=False)
    if script is None:
        return LangGuess(UNDETERMINED, 0.0, "too-short")
    return _identify_in_script(kept, script, in_script)


def judge_languages(pairs: list[tuple[str, str]]) -> list[LangVerdict]:
    """`judge_language` for many (text, expected) pairs, the model run once over all the texts
    it may be asked about (same verdicts as one call per pair)."""
    out = []
    for start in range(0, len(pairs), _PROBS_MAX // 2):  # bounded memory for any run size
        chunk = pairs[start:start + _PROBS_MAX // 2]
        need = []
        for text, expected in dict.fromkeys(chunk):
            kept, _, script, _ = _analyse(text, "LATIN" not in expected_scripts(expected))
            if script is not None and script not in _UNIQUE_SCRIPT:
                need.append(kept)
        prefetch_model(need)
        out += [judge_language(text, expected) for text, expected in chunk]
    return out


@lru_cache(maxsize=1 << 16)  # verdicts are immutable; the same short answer recurs across samples
def judge_language(text: str, expected: str) -> LangVerdict:
    """Is `text` in `expected`? One verdict: the detected language and whether it is wrong."""
    scripts = expected_scripts(expected)
    accepted = accepted_langs(expected)
    raw_letters = _letters(text)
    if len(raw_letters) < MIN_LETTERS:
        return LangVerdict(UNDETERMINED, False, "too-short")
    kept, letters, script, in_script = _analyse(text, "LATIN" not in scripts)  # cache key
    if script is None:
        return LangVerdict(UNDETERMINED, False, "names-only")

    def verdict(code: str, method: str, confidence: float) -> LangVerdict:
        code = expected if code in accepted else code
        return LangVerdict(code, code != expected and code != UNDETERMINED, method,
                           round(confidence, 4))

    if script not in scripts and not (script == "HAN" and "KANA" in scripts):
        guess = _identify_in_script(kept, script, in_script)
        if guess.code in accepted:  # e.g. Han-only text the model calls Japanese for ko
            guess = LangGuess(_UNIQUE_SCRIPT.get(script, script.lower()), 1.0, "script")
        return verdict(guess.code, "script", guess.confidence or 1.0)
    if script == "KANA" and "KANA" not in scripts:  # Japanese for a Chinese task
        return verdict("ja", "script", 1.0)
    if _ruled_out(in_script, script, expected):
        probs = _model_probs(kept)
        others = {c: p for c, p in probs.items() if not _ruled_out(in_script, script, c)
                  and (c not in LANGUAGES or script in expected_scripts(c))}
        code, p = _best(others, exclude=accepted)
        return verdict(code, "letters", p)
    if _units(kept) < MIN_LETTERS_MODEL or script in _UNIQUE_SCRIPT:
        return verdict(expected, "script" if script in _UNIQUE_SCRIPT else "too-short-to-tell",
                       1.0)
    probs = _model_probs(kept)
    code, p = _best(probs, exclude=accepted)
    p_expected = sum(probs.get(c, 0.0) for c in accepted)
    if expected not in model_labels():  # the model does not know it: only a clear other flags
        clear = (p >= CONFIDENT_UNKNOWN and code in LANGUAGES
                 and code not in _RELATED_UNKNOWN.get(expected, ()))
        return verdict(code, "model", p) if clear else verdict(expected, "uncertain", 1 - p)
    if p >= CONFIDENT and p_expected < PLAUSIBLE:
        return verdict(code, "model", p)
    return verdict(expected, "model" if p_expected >= 0.5 else "uncertain", p_expected)


def is_wrong_language(text: str, expected: str) -> bool:
    return judge_language(text, expected).wrong
