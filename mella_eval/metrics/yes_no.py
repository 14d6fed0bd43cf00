"""Yes/no (true/false) answers read out of free text, for tasks such as MaRVL: see
`extract_yes_no`. Shares the normalisation, the answer words and the word boundaries of the
multiple-choice reader (`choice_words.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from mella_eval.errors import MellaError
from mella_eval.metrics.choice_words import (
    ANSWER_RE,
    COPULA_RE,
    SEP,
    joins,
    left_ok,
    normalise_response,
)
from mella_eval.metrics.segment import is_no_space_char

# Per language: (yes words, no words), casefolded. "^" marks a word read only at the start of
# the answer or right after an answer word ("no", Chinese 是 and Thai ใช่ occur in any
# sentence); the others are also read anywhere. Negated forms are listed so they win over the
# word they contain (longest match first): "not true", 不是, ไม่ใช่, không đúng.
_YES_NO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (("^yes", "^yeah", "^yep", "^correct", "^right", "true", "is true", "it's true"),
           ("^no", "^nope", "^incorrect", "^wrong", "false", "not true", "isn't true",
            "is not true", "not correct", "is incorrect")),
    "ar": (("^نعم", "^أجل", "^بلى", "صحيح", "صحيحة", "^صح"),
           ("^لا", "^كلا", "غير صحيح", "غير صحيحة", "ليس صحيحا", "ليست صحيحة", "خطأ", "خاطئ",
            "خاطئة")),
    "cs": (("^ano", "pravda", "^správně", "je pravdivé"),
           ("^ne", "nepravda", "není pravda", "^špatně", "^nesprávně", "je nepravdivé")),
    "hu": (("^igen", "igaz", "^helyes"),
           ("^nem", "nem igaz", "hamis", "^helytelen", "^nem helyes")),
    "ko": (("^네", "^예", "^맞습니다", "^맞아요", "^맞다", "^맞아", "^그렇습니다", "^참", "참입니다"),
           ("^아니요", "^아니오", "^아니", "^아닙니다", "^아니에요", "^틀립니다", "^틀렸습니다",
            "^틀려요", "거짓", "거짓입니다")),
    "ru": (("^да", "верно", "правда", "истина", "^правильно"),
           ("^нет", "неверно", "не верно", "неправда", "не правда", "ложь", "^неправильно",
            "^не правильно")),
    "sr": (("^да", "^da", "тачно", "tačno", "истина", "istina"),
           ("^не", "^ne", "нетачно", "netačno", "није тачно", "nije tačno", "неистина",
            "neistina", "лаж", "laž")),
    "th": (("^ใช่", "^ถูกต้อง", "เป็นจริง"),
           ("^ไม่ใช่", "^ไม่ถูกต้อง", "^ไม่จริง", "^ผิด", "ไม่เป็นจริง", "เป็นเท็จ")),
    "vi": (("^có", "^đúng", "^đúng vậy", "^phải", "là đúng"),
           ("^không", "^sai", "^không đúng", "^không phải", "là sai", "không đúng")),
    "zh": (("^是", "^是的", "^对", "^對", "^对的", "^對的", "^正确", "^正確", "^没错", "^沒錯",
            "是正确的", "是正確的"),
           ("^否", "^不是", "^不对", "^不對", "^错", "^錯", "^错误", "^錯誤", "^不正确", "^不正確",
            "是错误的", "是錯誤的", "不正确", "不正確")),
    "ja": (("^はい", "^ええ", "^正しい", "^正解", "^その通り", "正しいです"),
           ("^いいえ", "^いや", "^正しくない", "^誤り", "^間違い", "^不正解", "正しくありません",
            "正しくない", "誤りです")),
    "id": (("^ya", "^iya", "^benar", "^betul"),
           ("^tidak", "^bukan", "^salah", "tidak benar", "tidak betul")),
    "sw": (("^ndiyo", "^ndio", "^kweli", "ni kweli"),
           ("^hapana", "^siyo", "si kweli", "uongo", "sio kweli")),
    "ta": (("^ஆம்", "^ஆமாம்", "^சரி", "உண்மை"),
           ("^இல்லை", "தவறு", "பொய்", "உண்மை இல்லை", "உண்மையல்ல")),
    "tr": (("^evet", "^doğru", "doğrudur"),
           ("^hayır", "^hayir", "^yanlış", "yanlıştır", "doğru değil", "doğru değildir")),
}

# Words that start like a yes/no word in scripts without spaces but are neither: 对于 "as for".
_NEITHER = ("对于", "對於")

@lru_cache(maxsize=None)
def _yes_no_words(lang: str | None) -> tuple[tuple[str, bool | None, bool], ...]:
    """(word, polarity, read anywhere) for English + `lang` (all languages for None), longest
    first; polarity None for `_NEITHER`."""
    if lang is not None and lang not in _YES_NO:
        raise MellaError(f"no yes/no words for language {lang!r}; add them to _YES_NO in "
                         "mella_eval/metrics/yes_no.py")
    langs = list(_YES_NO) if lang is None else ["en", lang]
    words: dict[tuple[str, bool | None], bool] = {(w, None): False for w in _NEITHER}
    for code in langs:
        yes, no = _YES_NO[code]
        for polarity, group in ((True, yes), (False, no)):
            for w in group:
                key = (w.lstrip("^"), polarity)
                words[key] = words.get(key, False) or not w.startswith("^")
    return tuple(sorted(((w, p, a) for (w, p), a in words.items()),
                        key=lambda t: len(t[0]), reverse=True))


def _ends_word(text: str, end: int, word: str) -> bool:
    """A word ends at `end`; in scripts without spaces any position is a boundary."""
    return end == len(text) or is_no_space_char(word[-1]) or not joins(word[-1], text[end])


# "yes or no", "true or false": a restated question, not an answer.
_OR = re.compile(r"\s*(?:(?:or|или|ili|nebo|vagy|hay|أو|또는|atau|au|veya|ya da)\b|หรือ|还是|還是|或)",
                 re.IGNORECASE)


def _yes_no_at(text: str, pos: int, words) -> bool | None:
    """The polarity of the longest yes/no word at `pos` (None: none there, or "yes or no")."""
    for word, polarity, _ in words:
        end = pos + len(word)
        if text.startswith(word, pos) and _ends_word(text, end, word):
            return None if _OR.match(text, end) else polarity
    return None


_LEAD = re.compile(r"[\s\W]*")
_ANSWER_PREFIX = re.compile(rf"(?:{ANSWER_RE}){SEP}(?:(?:{COPULA_RE}){SEP})?")


def extract_yes_no(response: str, lang: str | None,
                   labels: Mapping[str, bool] | None = None) -> bool | None:
    """True (yes/true), False (no/false) or None, for true/false tasks (MaRVL).

    `labels`: option labels the prompt defined for the two answers, e.g. {"a": False, "b": True}
    for "Options: (a) false (b) true" (see `prompt_yes_no_labels`). Then a label read by the
    multiple-choice cascade's label steps ("(b)", "b", "Answer: (b)", "option B", "(b) true")
    decides, unless the yes/no words below say the opposite (None); a label with the other
    answer's word ("(a) true") is None. Without a label the words decide.

    The words (`_from_words`):

    Words of English plus `lang` (ar cs hu ko ru sr th vi zh ja id sw ta tr; None: all of them),
    after the normalisation of `extract_choice`, casefolded (unknown `lang`: MellaError). The
    first of these that finds a word decides:
    1. the first word of the answer, also after an answer word: "Yes, ...", "Answer: No",
       "不是。", "ใช่ครับ" (in Thai, Chinese, Japanese a word needs no boundary after it);
       not when "or" follows ("True or false? ...");
    2. the word right after an answer word anywhere ("... so the answer is no"); all such
       words must agree;
    3. true/false words anywhere (those without "^" in `_YES_NO`: "true", "nepravda",
       "不正确"), a longer word hiding the words inside it; all must agree.
    Anything else, or disagreement, is None: never a guess.
    """
    said = _from_words(response, lang)
    if not labels:
        return said
    from mella_eval.metrics.choice import extract_choice  # choice.py imports this module

    keys = list(labels)
    words = ["true" if labels[k] else "false" for k in keys]
    choice = extract_choice(response, words, lang, letters="".join(k.upper() for k in keys))
    if choice.method == "ambiguous" and not choice.detail.startswith("option_text"):
        return None  # "(a) true", "(a) or (b)"
    if choice.letter is None or choice.method == "option_text":
        return said
    value = labels[keys["".join(k.upper() for k in keys).index(choice.letter)]]
    return value if said in (None, value) else None


def _from_words(response: str, lang: str | None) -> bool | None:
    words = _yes_no_words(lang.strip().lower().replace("_", "-").split("-")[0] if lang else None)
    text = normalise_response(response).casefold()
    if not text:
        return None
    start = _LEAD.match(text).end()
    prefix = _ANSWER_PREFIX.match(text, start)
    for pos in dict.fromkeys([prefix.end() if prefix else start, start]):
        polarity = _yes_no_at(text, pos, words)
        if polarity is not None:
            return polarity
    after = set()
    for m in _ANSWER_PREFIX.finditer(text):
        if is_no_space_char(text[m.start()]) or left_ok(text, m.start()):
            polarity = _yes_no_at(text, m.end(), words)
            if polarity is not None:
                after.add(polarity)
    if after:
        return after.pop() if len(after) == 1 else None
    found: set[bool] = set()
    taken = [False] * len(text)
    for word, polarity, anywhere in words:  # longest first
        for m in re.finditer(re.escape(word), text):
            s, e = m.span()
            if any(taken[s:e]) or not (is_no_space_char(word[0]) or left_ok(text, s)):
                continue
            if not _ends_word(text, e, word):
                continue
            taken[s:e] = [True] * (e - s)
            if anywhere and polarity is not None:
                found.add(polarity)
    return found.pop() if len(found) == 1 else None


_PROMPT_LABEL = re.compile(r"[(（]\s*([A-Za-z])\s*[)）]\s*([^\s()（）.,;:]+)")


def prompt_yes_no_labels(prompt: str, lang: str | None) -> dict[str, bool] | None:
    """The option labels a yes/no prompt defines: "Options: (a) false (b) true" ->
    {"a": False, "b": True}; None unless both answers get a label of their own."""
    labels: dict[str, bool] = {}
    for m in _PROMPT_LABEL.finditer(prompt or ""):
        value = _from_words(m.group(2), lang)
        if value is None or m.group(1).lower() in labels:
            return None if value is not None else (labels or None) and _complete(labels)
        labels[m.group(1).lower()] = value
    return _complete(labels)


def _complete(labels: dict[str, bool]) -> dict[str, bool] | None:
    return labels if len(labels) == 2 and set(labels.values()) == {True, False} else None
