"""Per-language word normalisation and stemming for keyword matching (keywords.py) and METEOR
(meteor.py): Serbian Cyrillic -> Latin, Larkey's Arabic light10, Snowball stemmers (cached),
and the corrections keyword matching needs (Czech palatalisation, Russian -ив/-ыв nouns)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from mella_eval.errors import MellaError

_SR_CYR_TO_LAT = dict(zip(
    "абвгдђежзијклљмнњопрстћуфхцчџш",
    ["a", "b", "v", "g", "d", "đ", "e", "ž", "z", "i", "j", "k", "l", "lj", "m", "n", "nj", "o",
     "p", "r", "s", "t", "ć", "u", "f", "h", "c", "č", "dž", "š"],
))


def sr_to_latin(text: str) -> str:
    """Serbian Cyrillic -> Latin (lowercase input); each letter has exactly one Latin form."""
    return "".join(_SR_CYR_TO_LAT.get(ch, ch) for ch in text)


_AR_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # harakat, tatweel
# Accusative tanween written with alif (معطفًا) is an ending, not part of the word.
_AR_TANWEEN_ALIF = re.compile("(?:\u064b\u0627|\u0627\u064b)$")
_AR_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_AR_ARTICLES = ("وال", "بال", "كال", "فال", "لل", "ال")  # longest first
_AR_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة", "ي")  # light10's order
_AR_PROCLITICS = "بلكف"  # bi-, li-, ka-, fa- written onto a word without the article


def ar_normalise(word: str) -> str:
    return _AR_MARKS.sub("", _AR_TANWEEN_ALIF.sub("", word)).translate(_AR_LETTERS)


def _ar_strip(word: str) -> tuple[str, bool]:
    for art in _AR_ARTICLES:
        if word.startswith(art) and len(word) - len(art) >= 2:
            word = word[len(art):]
            break
    stripped = False
    for suf in _AR_SUFFIXES:  # each suffix at most once, in order
        if word.endswith(suf) and len(word) - len(suf) >= 2:
            word, stripped = word[: -len(suf)], True
    return word, stripped


def ar_light10(word: str) -> str:
    """Larkey's light10 Arabic stemmer on a normalised word."""
    return ar_stems(word)[0]


def ar_stems(word: str) -> tuple[str, ...]:
    """light10's stem first, then readings light10 misses (used on the prediction side only):
    a bare proclitic (لمكوك "for the shuttle", ببدلة "in a suit") and taa marbuta written ت
    before a possessive suffix (خوذتها "her helmet" -> خوذ, like خوذة)."""
    if word.startswith("و") and len(word) >= 4:
        word = word[1:]
    bases = [word]
    if word[:1] in _AR_PROCLITICS and len(word) >= 4:
        bases.append(word[1:])
    stems: list[str] = []
    for base in bases:
        stem, stripped = _ar_strip(base)
        stems.append(stem)
        if stripped and stem.endswith("ت") and len(stem) >= 3:
            stems.append(stem[:-1])
    return tuple(dict.fromkeys(stems))


HU_LONG = str.maketrans("áéíóőúű", "aeioöuü")
HU_TILDE = str.maketrans({"õ": "ő", "û": "ű"})  # legacy Latin-1 stand-ins for ő/ű

# Czech consonant alternations before -e/-i that the stemmer keeps (kamera/kameře,
# Praha/Praze): the stem's last letter is folded back, on both sides alike.
_CS_STEM_END = {"ř": "r", "z": "h"}


@lru_cache(maxsize=None)
def snowball_stem_word(name: str) -> Callable[[str], str]:
    """Snowball's `name` stemmer, cached; meteor.py shares it (many words are stemmed for both)."""
    try:
        import snowballstemmer
    except ImportError:
        raise MellaError("keyword accuracy needs the `snowballstemmer` package (>=3.1): "
                         "pip install 'snowballstemmer>=3.1'") from None
    if name not in snowballstemmer.algorithms():
        raise MellaError(f"snowballstemmer {getattr(snowballstemmer, '__version__', '?')} has no "
                         f"{name!r} stemmer; upgrade: pip install 'snowballstemmer>=3.1'")
    return lru_cache(maxsize=65536)(snowballstemmer.stemmer(name).stemWord)


def _cs_stem(word: str) -> tuple[str, ...]:
    stem = snowball_stem_word("czech")(word)
    return (stem[:-1] + _CS_STEM_END[stem[-1]] if stem[-1:] in _CS_STEM_END else stem,)


# Words the Snowball stemmer cuts wrongly, left whole: Russian nouns in -ив/-ыв lose it as if
# it were a verb's gerund (штатив -> штат, объектив -> объект).
_KEEP_WHOLE = {"russian": re.compile("[иы]в$")}


@lru_cache(maxsize=None)
def stems_of(name: str) -> Callable[[str], tuple[str, ...]]:
    """Word -> its stems: the stem first, then other readings (prediction side only)."""
    if name == "light10":
        return ar_stems
    if name == "czech":
        return _cs_stem
    snowball = snowball_stem_word(name)
    keep = _KEEP_WHOLE.get(name)
    return lambda word: (word if keep and keep.search(word) else snowball(word),)
