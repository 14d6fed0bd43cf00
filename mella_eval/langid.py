"""Offline language identification of model outputs: which language did the model answer in?

Codes: the eight MELLA languages, "en", "other" (any other language), "und" (too short to tell).

1. **Script pass** over the letters (most frequent script wins; a Hangul or CJK character counts
   twice, since one syllable or ideograph carries a word-sized share of text):
   Hangul -> ko, Thai -> th, Han/Kana -> other (zh/ja), Arabic -> ar unless Persian/Urdu-only
   letters (پ چ ژ گ ک ی ...) appear, then the model decides; Greek, Hebrew, Devanagari and any
   other script -> other.
2. **Cyrillic** -> ru / sr / other by letters only one of them writes: Serbian ђ ј љ њ ћ џ
   against the Russian letters Serbian lacks (ы э ё; й щ ъ ь ю я, which Bulgarian and
   Ukrainian also write, so with only these a confident model may still say other);
   Ukrainian/Belarusian і ї є ґ ў, Macedonian ѓ ќ ѕ and Bulgarian's vowel ъ (към; Russian
   writes ъ only before е ё ю я) -> other. Letters and frequent words only one of ru/sr uses
   (ru в, это, что; sr је, са, поред) are counted as evidence; with neither, the model decides.
3. **Latin** -> the model (py3langid: langid.py's naive Bayes over byte n-grams, 97 languages,
   model shipped in the wheel, no network): cs, hu, vi, en kept; Serbian, Croatian and Bosnian
   -> sr (one pluricentric language; MELLA has no hr, and Serbian is often written in Latin);
   every other language -> other.

Too short to tell: fewer than 3 letters -> "und". `is_wrong_language` never flags "und", and
for Latin or Cyrillic text under 12 letters (one or two words: n-gram and letter evidence is
weak there) flags only a script the expected language is never written in.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from mella_eval.errors import MellaError

UNDETERMINED = "und"
OTHER = "other"
MIN_LETTERS = 3  # below this: "und"
MIN_LETTERS_SAME_SCRIPT = 12  # below this, only a script mismatch is flagged
WRONG_BELOW = 0.2  # flagged when the expected language's probability is under this

# The scripts each detectable language is written in (sr: Cyrillic officially, Latin widely).
LANG_SCRIPTS: dict[str, frozenset[str]] = {
    "ar": frozenset({"ARABIC"}),
    "cs": frozenset({"LATIN"}),
    "en": frozenset({"LATIN"}),
    "hu": frozenset({"LATIN"}),
    "ko": frozenset({"HANGUL"}),
    "ru": frozenset({"CYRILLIC"}),
    "sr": frozenset({"CYRILLIC", "LATIN"}),
    "th": frozenset({"THAI"}),
    "vi": frozenset({"LATIN"}),
}

# Model labels kept as one of our codes; every other label is "other".
_MODEL_LABELS = {"ar": "ar", "arz": "ar", "ary": "ar", "cs": "cs", "en": "en", "hu": "hu",
                 "vi": "vi", "ru": "ru", "sr": "sr", "hr": "sr", "bs": "sr", "ko": "ko",
                 "th": "th"}

# Scripts that settle the language on their own.
_SCRIPT_LANG = {"HANGUL": "ko", "THAI": "th", "CJK": OTHER}  # CJK: Han, Hiragana, Katakana
_WIDE_SCRIPTS = frozenset({"HANGUL", "CJK"})  # counted twice

_FA_UR_LETTERS = frozenset("پچژگکیٹڈڑںےہۀ")  # Persian/Urdu letters Arabic does not use

_CYR_LETTERS = {
    "sr": frozenset("ђјљњћџ"),
    "ru_strong": frozenset("ыэё"),
    "ru_weak": frozenset("йщъьюя"),  # also Bulgarian/Ukrainian/Belarusian
    "other": frozenset("іїєґўѓќѕ"),  # Ukrainian, Belarusian, Macedonian
}

_BG_HARD_SIGN = re.compile("ъ(?![еёюя])")

# Frequent words that only one of ru/sr writes this way (for short texts without the letters).
_CYR_WORDS = {
    "ru": frozenset("в с со это эта этот эти что как от к для очень тоже также или кот кошка "
                    "фото снимок изображен изображена изображено рядом перед около над".split()),
    "sr": frozenset("је су са се ово ова овај које која који када веома врло поред изнад испод "
                    "испред иза код уз кроз према али док слика слици мачка пас".split()),
}


@dataclass(frozen=True)
class LangGuess:
    code: str  # a MELLA code, "en", "other", or "und" (too short to tell)
    confidence: float  # 0..1: share of evidence for `code`
    method: str = ""  # what decided: "script", "letters", "words", "model", "too-short"
    probs: tuple[tuple[str, float], ...] = ()  # per code, best first

    def prob(self, code: str) -> float:
        return dict(self.probs).get(code, 0.0)


def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN"
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "UNKNOWN"
    first = name.split(" ", 1)[0]
    return "CJK" if first in ("CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA") else first


def _letters(text: str) -> list[str]:
    return [c for c in unicodedata.normalize("NFC", text) if c.isalpha()]


@lru_cache(maxsize=1)
def _model():
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        raise MellaError("language identification needs the `py3langid` package (>=0.4): "
                         "pip install 'py3langid>=0.4'") from None
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _model_probs(text: str) -> dict[str, float]:
    probs: dict[str, float] = {}
    best_other = 0.0
    for label, p in _model().rank(text):
        code = _MODEL_LABELS.get(label)
        if code is None:
            best_other = max(best_other, p)  # "other" is its best label, not a sum of 90 tails
        else:
            probs[code] = probs.get(code, 0.0) + p
    probs[OTHER] = best_other
    return probs


def _guess(probs: dict[str, float], method: str) -> LangGuess:
    ranked = tuple(sorted(((c, round(float(p), 4)) for c, p in probs.items() if p > 0),
                          key=lambda cp: -cp[1]))
    code, conf = ranked[0]
    return LangGuess(code, conf, method, ranked)


def _smoothed(evidence: dict[str, float], prior: float = 0.25) -> dict[str, float]:
    """Counts of evidence -> probabilities; one clear piece of evidence gives 0.83."""
    total = sum(evidence.values()) + prior * len(evidence)
    return {code: (n + prior) / total for code, n in evidence.items()}


def _cyrillic(text: str, letters: list[str]) -> LangGuess:
    count = Counter(letters)
    sr, strong, weak, other = (sum(count[c] for c in _CYR_LETTERS[kind])
                               for kind in ("sr", "ru_strong", "ru_weak", "other"))
    # Bulgarian ъ is a vowel (към, дървена); Russian writes ъ only before е ё ю я.
    bg = len(_BG_HARD_SIGN.findall(text.casefold()))
    other += bg
    weak -= bg
    if other and other >= sr + strong:  # Ukrainian, Belarusian, Macedonian, Bulgarian
        return _guess(_smoothed({OTHER: other, "sr": sr, "ru": strong}), "letters")
    if weak and not strong and not sr:
        # Bulgarian and Ukrainian write these letters too: let a confident model rule them out.
        probs = _model_probs(text)
        if probs[OTHER] >= 0.5 and probs[OTHER] > 2 * probs.get("ru", 0.0):
            return _guess(probs, "model")
    words = [w.strip(".,;:!?()«»\"'—–-").casefold() for w in text.split()]
    ru = strong + weak + sum(w in _CYR_WORDS["ru"] for w in words)
    sr += sum(w in _CYR_WORDS["sr"] for w in words)
    if ru or sr:
        return _guess(_smoothed({"ru": ru, "sr": sr}), "letters" if sr + strong + weak else "words")
    return _guess(_model_probs(text), "model")


def _main_script(letters: list[str]) -> tuple[str, float]:
    """The script with most letters, and its share (Hangul/CJK characters weigh double)."""
    scripts: Counter[str] = Counter()
    for c in letters:
        s = _script(c)
        scripts[s] += 2 if s in _WIDE_SCRIPTS else 1
    script, weight = scripts.most_common(1)[0]
    return script, round(weight / sum(scripts.values()), 4)


def detect_language(text: str) -> LangGuess:
    """Best guess of the language of `text` (see the module docstring for the method)."""
    letters = _letters(text)
    if len(letters) < MIN_LETTERS:
        return LangGuess(UNDETERMINED, 0.0, "too-short")
    script, share = _main_script(letters)
    in_script = [c for c in letters if _script(c) == script]
    if script == "CYRILLIC":
        return _cyrillic(text, [c.casefold() for c in in_script])
    if script == "LATIN":
        return _guess(_model_probs(text), "model")
    if script == "ARABIC" and sum(c in _FA_UR_LETTERS for c in in_script) >= max(
            2, len(in_script) // 50):
        return _guess(_model_probs(text), "model")  # Persian, Urdu, ... or Arabic
    code = "ar" if script == "ARABIC" else _SCRIPT_LANG.get(script, OTHER)
    return LangGuess(code, share, "script", ((code, share),))


def is_wrong_language(text: str, expected_lang: str) -> bool:
    """True when `text` is evidently not in `expected_lang`.

    Not flagged: text too short to tell (under 3 letters), and Latin/Cyrillic text under 12
    letters unless its script cannot be the expected language's. Otherwise flagged when the
    expected language's probability is under WRONG_BELOW (so near-ties such as a short Czech
    sentence scored close to Slovak are not flagged).
    """
    try:
        scripts = LANG_SCRIPTS[expected_lang]
    except KeyError:
        raise MellaError(f"no language-ID rule for {expected_lang!r}; known: "
                         f"{', '.join(LANG_SCRIPTS)} (add it to LANG_SCRIPTS in "
                         "mella_eval/langid.py)") from None
    letters = _letters(text)
    if len(letters) < MIN_LETTERS:
        return False
    if _main_script(letters)[0] not in scripts:
        return True
    if len(letters) < MIN_LETTERS_SAME_SCRIPT:
        return False
    guess = detect_language(text)
    return guess.code != expected_lang and guess.prob(expected_lang) < WRONG_BELOW
