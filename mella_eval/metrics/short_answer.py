"""Short-answer VQA scoring (xGQA, MaXM): normalised exact match and relaxed match.

`normalize_answer(text, lang)` applies, in order:

1. NFC, casefold, halfwidth/fullwidth forms folded (`segment.normalise`); every decimal digit
   written as ASCII (٣, ๓, ३, ３ -> 3).
2. Numbers: a comma between digits is a thousands separator when exactly three digits follow
   ("1,000" -> 1000, "12,500,000" -> 12500000); a single other comma inside a number is a
   decimal comma ("3,5" -> 3.5); a point between digits stays ("3.5").
3. Punctuation removed, including CJK (。，、「」！？) and Thai (๚ ๛ ๏): apostrophes vanish
   ("don't" -> dont), every other punctuation mark or symbol becomes a space. Kept: % ‰ °, and
   currency signs ($5 and 5 are different answers).
4. English only: the articles a, an, the are dropped, and number words become digits: zero to
   ninety-nine ("twenty one", "twenty-one" -> 21), and "none" -> 0 as in the VQA evaluation.
5. Whitespace collapsed; for th, zh, ja all spaces removed (they do not separate words there).
6. A whole answer that is a number with a counting word is the number: English words (step 4),
   Chinese/Japanese numerals 0-99 (三, 十二, 两) and Thai number words 0-99 (สาม, สิบเอ็ด,
   ยี่สิบ), optionally followed by a classifier (三只, 3个, สามตัว, 3 ตัว) -> "3".

`exact_match(prediction, answers, lang)` is 1.0 when the normalised prediction equals a
normalised answer, or when both are numbers of equal value ("3.0" and "3"); otherwise 0.0.

`relaxed_match(prediction, answers, lang)` is 1.0 when `exact_match` is, or when the normalised
prediction contains a normalised answer:
- numbers must match as numbers: a numeric answer matches a number in the prediction of the
  same value, never part of a longer number ("3" is not in "13", "3.5" or "300"); Chinese,
  Japanese and Thai numerals count when a classifier follows them (有三只猫, แมวสามตัว), so
  "三明治" (sandwich) and "สามารถ" (can) are not 3;
- th, zh, ja: the answer as a substring (no word boundaries exist there), not glued to a digit;
- ko: the answer's words as consecutive words of the prediction, the last one possibly followed
  by a particle (고양이 in 고양이가) when it has two or more syllables;
- every other language: the answer's words as consecutive words of the prediction.
An empty prediction (after normalisation) matches nothing. Relaxed match credits a hedge
("red or blue", "2 or 3"); report it next to exact match, not instead of it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from mella_eval.metrics.segment import normalise as _segment_normalise

_NO_SPACE_LANGS = frozenset({"th", "zh", "ja"})

_KEEP = frozenset("%‰°")
_APOSTROPHES = frozenset("'’‘ʼ")

_EN_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_EN_TENS = {w: 10 * i for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_EN_ARTICLES = frozenset({"a", "an", "the"})

_CJK_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
               "六": 6, "七": 7, "八": 8, "九": 9}
_CJK_NUMERAL = re.compile("[零〇一二两兩三四五六七八九]?十?[零〇一二两兩三四五六七八九]?")
_CJK_CLASSIFIERS = ("个", "個", "只", "隻", "人", "名", "位", "本", "匹", "頭", "头", "台", "辆", "輛",
                    "张", "張", "枚", "件", "条", "條", "把", "棵", "朵", "座", "间", "間", "羽", "杯",
                    "つ", "種", "种", "次", "回", "歳", "岁", "歲")

_TH_DIGITS = {"ศูนย์": 0, "หนึ่ง": 1, "สอง": 2, "สาม": 3, "สี่": 4, "ห้า": 5, "หก": 6, "เจ็ด": 7,
              "แปด": 8, "เก้า": 9}
_TH_UNIT = "(?:" + "|".join(sorted(_TH_DIGITS, key=len, reverse=True)) + "|เอ็ด)"
_TH_NUMERAL = re.compile(rf"(?:(?P<tens>สอง|สาม|สี่|ห้า|หก|เจ็ด|แปด|เก้า|ยี่)?(?P<ten>สิบ))?"
                         rf"(?P<unit>{_TH_UNIT})?")
_TH_CLASSIFIERS = ("ตัว", "คน", "อัน", "ลูก", "คัน", "ใบ", "ชิ้น", "หลัง", "ต้น", "ดอก", "เล่ม",
                   "แห่ง", "ครั้ง", "ชนิด", "แผ่น", "เครื่อง", "ขวด", "แก้ว", "จาน", "ลำ", "ปี")

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _lang(lang: str) -> str:
    return lang.strip().lower().replace("_", "-").split("-")[0]


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) if unicodedata.category(ch) == "Nd" else ch
                   for ch in text)


def _numbers(text: str) -> str:
    """Thousands commas dropped (1,000 -> 1000); a lone decimal comma as a point (3,5 -> 3.5)."""
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    return re.sub(r"(?<![\d,.])(\d+),(\d+)(?![\d,.])", r"\1.\2", text)


def _strip_punctuation(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if ch in _APOSTROPHES:
            continue
        if ch == "." and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            out.append(ch)
        elif ch in _KEEP or cat == "Sc":
            out.append(ch)
        elif cat[0] in "PS":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _en_words(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in _EN_ARTICLES:
            i += 1
            continue
        if w in _EN_TENS:
            value = _EN_TENS[w]
            unit = _EN_UNITS.get(words[i + 1], 0) if i + 1 < len(words) else 0
            if 0 < unit < 10:
                value += unit
                i += 1
            out.append(str(value))
        elif w in _EN_UNITS:
            out.append(str(_EN_UNITS[w]))
        elif w == "none":
            out.append("0")
        else:
            out.append(w)
        i += 1
    return out


def _cjk_value(numeral: str) -> int | None:
    m = _CJK_NUMERAL.fullmatch(numeral)
    if not numeral or not m:
        return None
    if "十" not in numeral:
        return _CJK_DIGITS[numeral] if len(numeral) == 1 else None
    tens, _, unit = numeral.partition("十")
    if tens in ("零", "〇") or unit in ("零", "〇"):
        return None
    return _CJK_DIGITS.get(tens, 1) * 10 + _CJK_DIGITS.get(unit, 0)


def _th_value(numeral: str) -> int | None:
    m = _TH_NUMERAL.fullmatch(numeral)
    if not numeral or not m:
        return None
    tens, ten, unit = m["tens"], m["ten"], m["unit"]
    if (unit == "เอ็ด" and not ten) or (ten and unit == "ศูนย์"):
        return None
    value = (20 if tens == "ยี่" else _TH_DIGITS[tens] * 10) if tens else (10 if ten else 0)
    if unit:
        value += 1 if unit == "เอ็ด" else _TH_DIGITS[unit]
    return value


def _whole_number(text: str, lang: str) -> str | None:
    """The number a whole answer states with an optional classifier (step 6), as digits."""
    for cls in sorted(_CJK_CLASSIFIERS + _TH_CLASSIFIERS, key=len, reverse=True):
        if text.endswith(cls) and len(text) > len(cls):
            text = text[: -len(cls)].rstrip()
            break
    if _NUMBER.fullmatch(text):
        return text
    if lang in ("zh", "ja"):
        value = _cjk_value(text)
    elif lang == "th":
        value = _th_value(text)
    else:
        value = None
    return None if value is None else str(value)


def normalize_answer(text: str, lang: str) -> str:
    """The normalised answer, by the steps of the module docstring."""
    if not isinstance(text, str):
        raise TypeError(f"answer must be a str, got {type(text).__name__}")
    code = _lang(lang)
    text = _strip_punctuation(_numbers(_ascii_digits(_segment_normalise(text))))
    words = text.split()
    if code == "en":
        words = _en_words(words)
    text = ("" if code in _NO_SPACE_LANGS else " ").join(words)
    number = _whole_number(text, code)
    return number if number is not None else text


def _as_number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text) else None


def _answers(answers: Sequence[str] | str) -> list[str]:
    items = [answers] if isinstance(answers, str) else list(answers)
    if not items:
        raise ValueError("at least one reference answer is needed")
    return items


def exact_match(prediction: str, answers: Sequence[str] | str, lang: str) -> float:
    """1.0 when the normalised prediction equals a normalised answer (numbers by value)."""
    pred = normalize_answer(prediction, lang)
    if not pred:
        return 0.0
    pred_num = _as_number(pred)
    for answer in _answers(answers):
        ans = normalize_answer(answer, lang)
        if ans == pred or (pred_num is not None and _as_number(ans) == pred_num):
            return 1.0
    return 0.0


def _numbers_in(pred: str, lang: str) -> set[float]:
    """Values of the numbers a prediction states: digit runs, and for zh/ja/th numerals
    followed by a classifier."""
    values = {float(m.group()) for m in _NUMBER.finditer(pred)}
    if lang in ("zh", "ja"):
        classifiers = "|".join(map(re.escape, _CJK_CLASSIFIERS))
        for m in re.finditer(rf"([零〇一二两兩三四五六七八九十]+)(?:{classifiers})", pred):
            value = _cjk_value(m.group(1))
            if value is not None:
                values.add(float(value))
    elif lang == "th":
        words = "|".join(sorted(_TH_DIGITS, key=len, reverse=True))
        classifiers = "|".join(_TH_CLASSIFIERS)
        for m in re.finditer(rf"((?:{words}|สิบ|ยี่|เอ็ด)+)(?:{classifiers})", pred):
            value = _th_value(m.group(1))
            if value is not None:
                values.add(float(value))
    return values


def _contains(pred: str, ans: str, lang: str) -> bool:
    if lang in _NO_SPACE_LANGS:
        start = pred.find(ans)
        while start != -1:
            end = start + len(ans)
            glued = ((ans[0].isdigit() and start > 0 and pred[start - 1].isdigit())
                     or (ans[-1].isdigit() and end < len(pred) and pred[end].isdigit()))
            if not glued:
                return True
            start = pred.find(ans, start + 1)
        return False
    pred_words, ans_words = pred.split(), ans.split()
    n = len(ans_words)
    for i in range(len(pred_words) - n + 1):
        window = pred_words[i:i + n]
        if window[:-1] != ans_words[:-1]:
            continue
        last, want = window[-1], ans_words[-1]
        if last == want:
            return True
        if (lang == "ko" and len(want) >= 2 and last.startswith(want)
                and all("\uac00" <= ch <= "\ud7a3" for ch in last[len(want):])):
            return True  # a particle after the noun: 고양이가
    return False


def relaxed_match(prediction: str, answers: Sequence[str] | str, lang: str) -> float:
    """1.0 when the normalised prediction contains a normalised answer (module docstring)."""
    if exact_match(prediction, answers, lang):
        return 1.0
    code = _lang(lang)
    pred = normalize_answer(prediction, lang)
    if not pred:
        return 0.0
    pred_numbers = None
    for answer in _answers(answers):
        ans = normalize_answer(answer, lang)
        if not ans:
            continue
        value = _as_number(ans)
        if value is not None:
            if pred_numbers is None:
                pred_numbers = _numbers_in(pred, code)
            if value in pred_numbers:
                return 1.0
        elif _contains(pred, ans, code):
            return 1.0
    return 0.0
