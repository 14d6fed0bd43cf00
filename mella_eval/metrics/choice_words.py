"""The vocabulary and the low-level reading of multiple-choice answers: the answer words, copulas
and option words of every language, the label tables (Latin, localized, numbered, lookalikes),
the response normalisation, and the word-boundary tests the cascade (`choice.py`) and the yes/no
reader (`yes_no.py`) share. See `choice.py` for what each is used for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from mella_eval.metrics.segment import is_no_space_char

# Labels a prompt may show instead of A, B, C, D, in option order.
LOCALIZED_LETTERS: dict[str, str] = {
    "ru": "АБВГДЕЖЗ",
    "uk": "АБВГДЕЄЖ",
    "bg": "АБВГДЕЖЗ",
    "sr": "АБВГДЂЕЖ",
    "th": "กขคงจฉชซ",
    "ar": "أبجدهوزح",
    "ko": "가나다라마바사아",
    "he": "אבגדהוזח",
    "hi": "कखगघङचछज",
}

# Answer words, all languages at once (matched case-insensitively). English and the eight MELLA
# languages, PangeaBench's languages beyond them, and a few more.
ANSWER_WORDS: tuple[str, ...] = (
    # en
    "the correct answer", "correct answer", "the right answer", "right answer", "final answer",
    "the best answer", "best answer", "the answer", "answer", "correct option", "correct choice",
    "best option", "i would choose", "i'd choose", "i choose", "i would pick", "i'd pick",
    "i pick", "i select", "i would select",
    # vi
    "đáp án đúng", "đáp án", "câu trả lời đúng", "câu trả lời", "trả lời", "phương án đúng",
    "tôi chọn", "chọn",
    # ru, uk, bg
    "правильный ответ", "верный ответ", "ответ", "відповідь", "правилна отговор", "отговор",
    "я выбираю", "выбираю",
    # sr (Cyrillic and Latin)
    "тачан одговор", "одговор", "tačan odgovor", "odgovor", "бирам", "biram",
    # cs
    "správná odpověď", "odpověď", "vybírám", "volím",
    # hu
    "a helyes válasz", "helyes válasz", "a válasz", "válasz", "megoldás", "választom",
    # ar
    "الإجابة الصحيحة", "الاجابة الصحيحة", "الإجابة", "الاجابة", "الجواب الصحيح", "الجواب",
    "أختار", "اختار",
    # th
    "คำตอบที่ถูกต้อง", "คำตอบ", "ตอบ", "เลือก",
    # ko
    "정답", "답변", "답", "선택",
    # zh
    "正确答案", "正確答案", "正确选项", "正確選項", "答案", "回答", "答", "应选", "應選", "选择",
    "選擇", "选", "選",
    # ja
    "正解", "答え", "解答", "選択",
    # id, sw, ta, tr
    "jawaban yang benar", "jawabannya", "jawaban", "saya memilih", "pilih", "jibu sahihi", "jibu",
    "சரியான பதில்", "பதில்", "விடை", "doğru cevap", "doğru yanıt", "cevap", "yanıt",
    # fr, de, es, pt, it, ro, he, hi, bn, fa
    "la bonne réponse", "réponse", "die richtige antwort", "antwort", "respuesta correcta",
    "respuesta", "resposta correta", "resposta", "risposta corretta", "risposta",
    "răspunsul corect", "răspuns", "התשובה הנכונה", "תשובה", "सही उत्तर", "उत्तर", "সঠিক উত্তর",
    "উত্তর", "پاسخ صحیح", "پاسخ",
)

# Between an answer word and the label: "is", "là", "是", "คือ", Korean topic particles, ...
COPULAS: tuple[str, ...] = (
    "is likely", "is probably", "would be", "should be", "will be", "is", "là", "это", "je",
    "est", "ist", "es", "é", "è", "adalah", "ialah", "yaitu", "ni", "a", "az", "是", "为", "為",
    "应该是", "應該是", "は", "が", "คือ", "هو", "هي", "은", "는", "이", "가", "है",
)

# Words that name an option: "option B", "вариант Б", "ข้อ ข", "选项C".
OPTION_WORDS: tuple[str, ...] = (
    "option", "choice", "letter", "phương án", "lựa chọn", "đáp án", "вариант", "варіант",
    "опција", "opcija", "možnost", "lehetőség", "الخيار", "خيار", "ตัวเลือก", "ข้อ", "선택지",
    "보기", "选项", "選項", "選択肢", "pilihan", "chaguo", "seçenek", "தேர்வு",
)

# What may follow a label before the word boundary: Korean counters and copulas (2번입니다),
# Chinese/Japanese counters (2号, 2番), Thai polite particles.
LABEL_SUFFIX = (r"(?:번째|번)?(?:입니다|이에요|예요|이다|요)?"
                 r"|号|號|項|项|番|ครับ|ค่ะ|คะ")

OPEN = "([（【「<\"'"
CLOSE = ")]）】」>\"'"
SEP = r"(?:\s*[:：=\-–—]+\s*|\s*)"

# Lookalike letters: Cyrillic and Greek capitals (and a few small letters) drawn like Latin ones.
_LOOKALIKE_PAIRS = (
    "AА BВ CС EЕ HН KК MМ OО PР TТ XХ YУ aа cс eе oо pр xх yу "
    "AΑ BΒ EΕ ZΖ HΗ IΙ KΚ MΜ NΝ OΟ PΡ TΤ XΧ YΥ"
).split()
_LOOKALIKES: dict[str, set[str]] = {}
for _a, _b in _LOOKALIKE_PAIRS:
    _LOOKALIKES.setdefault(_a, set()).add(_b)
    _LOOKALIKES.setdefault(_b, set()).add(_a)

# Alef with or without hamza/madda: Arabic label أ is often typed as ا.
_LABEL_VARIANTS = {"أ": "اإآٱ"}

# One-letter words (en "A cat", "I think"; ru "В парке", "С кошкой"): a bare label followed by a
# word is read as the word.
ONE_LETTER_WORDS = frozenset("AIOEYUАВИКОСУЯو")

_THINK_END = re.compile(r"</think\s*>", re.IGNORECASE)
_CIRCLED = {chr(0x2460 + i): f"({i + 1})" for i in range(20)}  # ① .. ⑳
_MARKDOWN = re.compile(r"\*+|`+|__+")
TATWEEL = "\u0640"


def fold(text: str) -> str:
    """NFKC, then every decimal digit as ASCII."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.digit(ch)) if unicodedata.category(ch) == "Nd" else ch
                   for ch in text)


def alternation(words: Sequence[str]) -> str:
    """Regex alternation (NFKC, as the text is), longest first, a space matching any whitespace."""
    folded = {fold(w) for w in words}
    return "|".join(re.escape(w).replace(r"\ ", r"\s+")
                    for w in sorted(folded, key=len, reverse=True))


ANSWER_RE = alternation(ANSWER_WORDS)
COPULA_RE = alternation(COPULAS)
OPTION_RE = alternation(OPTION_WORDS)


def normalise_response(text: str) -> str:
    """The normalisation of the module docstring (NFKC, ASCII digits, no markdown emphasis)."""
    if not isinstance(text, str):
        raise TypeError(f"response must be a str, got {type(text).__name__}")
    ends = list(_THINK_END.finditer(text))
    if ends:
        text = text[ends[-1].end():]
    text = fold("".join(_CIRCLED.get(ch, ch) for ch in text))
    text = _MARKDOWN.sub("", text).replace(TATWEEL, "")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# --- labels ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    indices: dict[str, frozenset[int]]  # label as written -> the option(s) it may name
    pattern: re.Pattern  # any label, longest first


@lru_cache(maxsize=256)
def labels_for(k: int, letters: str, localized: tuple[str, ...] | None, numbered: bool) -> Labels:
    local: dict[str, int] = {}
    for i, lab in enumerate(localized[:k] if localized else ()):
        for form in {lab, lab.upper(), lab.lower(), *_LABEL_VARIANTS.get(lab, "")}:
            local[form] = i
    latin: dict[str, int] = {}
    for i, lab in enumerate(letters[:k]):
        for form in {lab, lab.upper(), lab.lower()}:
            latin[form] = i
    local = {fold(form): i for form, i in local.items()}
    latin = {fold(form): i for form, i in latin.items()}
    indices: dict[str, set[int]] = {}
    for form, i in local.items():
        indices[form] = {i}  # the prompt's own labels name their option, nothing else
    for form, i in latin.items():
        if form not in local:
            indices.setdefault(form, set()).add(i)
            for look in _LOOKALIKES.get(form, ()):  # B may be a mistyped Cyrillic В
                if look in local:
                    indices[form].add(local[look])
    for form, i in latin.items():  # Cyrillic/Greek lookalikes of a Latin label
        for look in _LOOKALIKES.get(form, ()):
            if look not in local and look not in latin:
                indices.setdefault(look, set()).add(i)
    if numbered:
        for i in range(k):
            indices.setdefault(str(i + 1), set()).add(i)
    frozen = {form: frozenset(ix) for form, ix in indices.items()}
    pattern = re.compile("(?:" + alternation(list(frozen)) + ")")
    return Labels(frozen, pattern)


def script_of(ch: str) -> str:
    if unicodedata.category(ch) == "Nd":
        return "DIGIT"
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else ""


def word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN"


def joins(edge: str, neighbour: str) -> bool:
    """True when `neighbour` would continue the word that `edge` (a character) is part of:
    a mark or a digit always does; after a digit, a Latin letter ("2nd"); after a letter, a
    letter of the same script ("Bob", Thai ขนม), never a Han/kana/Thai character after a
    Latin letter ("答案是C" reads C)."""
    if not word_char(neighbour):
        return False
    if unicodedata.category(neighbour)[0] in "MN":
        return True
    if edge.isdigit():
        return script_of(neighbour) == "LATIN"
    if is_no_space_char(neighbour) != is_no_space_char(edge):
        return False
    return script_of(neighbour) == script_of(edge)


def left_ok(text: str, start: int) -> bool:
    return start == 0 or not joins(text[start], text[start - 1])


def right_ok(text: str, end: int, last: str) -> bool:
    """`text[end]` may follow a label ending in `last`; "2.5" and "B2" are not labels."""
    if end >= len(text):
        return True
    nxt = text[end]
    if last.isdigit() and nxt in ".," and end + 1 < len(text) and text[end + 1].isdigit():
        return False
    return not joins(last, nxt)


def ends_clause(text: str, end: int) -> bool:
    """Only punctuation (or nothing) follows, not a word: "answer is a." but not "is a cat"."""
    rest = text[end:].lstrip(CLOSE + " ")
    return not rest or not word_char(rest[0])
