"""Step 4 of the multiple-choice cascade (`choice.py`): the options whose *text* an answer
contains, as whole words (substrings in Thai/Chinese/Japanese; after Arabic clitics; before Korean
particles), a longer option hiding a shorter one it contains.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence

from mella_eval.metrics.choice_words import TATWEEL, fold, joins, script_of, word_char
from mella_eval.metrics.segment import is_no_space_char

_STRIP = " " + string.punctuation + "。、，．！？：；「」『』（）“”‘’«»"


def norm_text(text: str) -> str:
    """Option/answer text for comparison: casefold, single spaces, no spaces between Thai/CJK
    characters, no surrounding punctuation."""
    text = fold(text).casefold().replace(TATWEEL, "")
    text = _drop_cjk_spaces(" ".join(text.split()))
    return text.strip(_STRIP)


def _drop_cjk_spaces(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        if (ch == " " and 0 < i < len(text) - 1 and is_no_space_char(text[i - 1])
                and is_no_space_char(text[i + 1])):
            continue
        out.append(ch)
    return "".join(out)


_AR_CLITICS = frozenset({"و", "ف", "ب", "ل", "ك", "ال", "وال", "فال", "بال", "كال", "لل", "وب",
                         "ول", "فب", "فل", "وك", "وبال", "ولل"})
_KO_PARTICLE_RE = re.compile("[가-힣]{1,4}")


def _occurrences(hay: str, needle: str, lang: str | None) -> list[tuple[int, int]]:
    """Whole-word occurrences of `needle` in `hay` (both `norm_text`-ed)."""
    spans = []
    start = hay.find(needle)
    while start != -1:
        end = start + len(needle)
        # Thai/Chinese/Japanese have no word boundaries: a substring is enough there.
        left = start == 0 or is_no_space_char(needle[0]) or not joins(needle[0], hay[start - 1])
        if not left and lang == "ar":
            word_start = start
            while word_start > 0 and word_char(hay[word_start - 1]):
                word_start -= 1
            left = hay[word_start:start] in _AR_CLITICS
        right = (end == len(hay) or is_no_space_char(needle[-1])
                 or not joins(needle[-1], hay[end]))
        if not right and lang == "ko" and script_of(needle[-1]) == "HANGUL":
            m = _KO_PARTICLE_RE.match(hay, end)
            right = m is not None and (m.end() == len(hay) or not word_char(hay[m.end()]))
        if left and right:
            spans.append((start, end))
        start = hay.find(needle, start + 1)
    return spans


def text_matches(text: str, options: Sequence[str], lang: str | None,
                 negated: Callable[[str, int, int], bool] | None = None) -> dict[int, list]:
    """Option index -> the spans where its text occurs; an occurrence that `negated(hay, start,
    end)` rules out ("not a dog") does not count."""
    hay = norm_text(text)
    found: dict[int, list[tuple[int, int]]] = {}
    for i, opt in enumerate(options):
        needle = norm_text(opt)
        if needle:
            spans = _occurrences(hay, needle, lang)
            if negated is not None:
                spans = [(s, e) for s, e in spans if not negated(hay, s, e)]
            if spans:
                found[i] = spans
    # A shorter option whose every occurrence lies inside a longer matched option is dropped.
    def covered(i: int) -> bool:
        return any(j != i and all(any(s2 <= s and e <= e2 and (e2 - s2) > (e - s)
                                      for s2, e2 in found[j]) for s, e in found[i])
                   for j in found)
    return {i: spans for i, spans in found.items() if not covered(i)}
