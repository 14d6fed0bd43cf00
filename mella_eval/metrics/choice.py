"""Multiple-choice answers and yes/no answers, read out of free text: one cascade for every task.

`extract_choice(response, options, lang)` returns the option the response chose as its
canonical letter (`letters[i]` for `options[i]`), or None. It never guesses: an answer it
cannot read, or one that names two options, is None (the caller scores it wrong and counts an
extraction failure). The PangeaBench code gave an unreadable answer a random letter instead.

**Normalisation** (before every step): the text after the last `</think>` (a reasoning model's
final answer); circled numbers ①..⑳ -> (1)..(20); NFKC (full-width Ｂ -> B, （Ｂ） -> (B));
every decimal digit -> ASCII (Arabic-Indic ٢, Persian ۲, Thai ๒, Devanagari २ -> 2); markdown
emphasis (`*`, `` ` ``, `__`) and Arabic tatweel removed; whitespace collapsed.

**Labels.** The option labels are `letters[:len(options)]` (A, B, C, ...), plus:
- `localized_letters`: the labels the prompt showed instead, in option order (e.g.
  `LOCALIZED_LETTERS["ru"]` = А Б В Г ...). Supported tables: Cyrillic (ru, uk, bg, sr), Thai
  ก ข ค ง, Arabic أ ب ج د (alef written with or without hamza), Korean 가 나 다 라, Hebrew
  א ב ג ד, Hindi क ख ग घ. Any other string or list of labels may be passed.
- `numbered=True`: the prompt numbered the options 1, 2, 3 ...; "2" (or ٢, ②) is the second.
- Lookalikes: Cyrillic and Greek letters that look like a Latin label (Cyrillic В, С, Е; Greek Β)
  count as that Latin letter, because models writing Russian often emit them. When the prompt's
  labels are Cyrillic, the prompt's own letters win (В is the third option), and a Latin letter
  that looks like a Cyrillic label at another position (B vs В) is ambiguous.

**Cascade**, first step that finds something wins; two different options found within one step
give None with method "ambiguous":
1. `direct`: the whole answer is a label, optionally bracketed, with an answer word or an option
   word, and final punctuation: "B", "(B)", "B.", "b)", "Answer: B", "Đáp án: B", "Ответ: Б",
   "option C", "ข้อ ข", "정답: 나". Or, on one line, a label with a delimiter followed by text:
   "B. Paris", "(B) Paris" (ambiguous if that text is exactly another option's text).
2. `answer_pattern`: anywhere in the text, an answer word (answer, correct answer, đáp án, ответ,
   odpověď, válasz, الإجابة, คำตอบ, 정답, 答案, 答え, jawaban, jibu, பதில், cevap, ...; the table
   `ANSWER_WORDS` covers all languages at once), an optional copula (is, là, je, 是, は, คือ, هي,
   은/는, ...) and an optional option word, then a label: "The answer is (B)", "答案是C",
   "الإجابة ٢", "정답은 2번입니다"; not a one-letter word followed by a word ("Answer: A cat").
   Every such statement must name the same option.
3. `label_mention`: labels written as labels: "(B)", "[B]", "option B", "вариант Б", a label
   with "." or ")" at the start of a line, or a bare capital label standing alone ("I pick B").
   A bare label that is also a one-letter word followed by a word ("A cat", Russian "В парке")
   never decides, but it makes another label ambiguous ("A or B?"); one followed by an
   apostrophe and a letter is an elided word (C'est, I'm). Labels inside an option's
   own text ("Vitamin C") are skipped; bare digits and bare Korean syllables never count.
   All mentions must name the same option.
4. `option_text`: the answer contains exactly one option's text (casefolded, whitespace
   normalised, spaces between Thai/Chinese/Japanese characters ignored) as whole words; for
   Thai/Chinese/Japanese text as a substring; for `lang="ar"` also after a clitic (و ف ب ل ك,
   ال); for `lang="ko"` also followed by a particle. When one matched option's text contains
   another's ("dark red" and "red"), the longer wins where every occurrence of the shorter is
   inside it; otherwise two options found are ambiguous.
5. `none`: nothing found (method `empty` for an empty answer).

`extract_yes_no(response, lang)` reads true/false answers (MaRVL): see its docstring.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from mella_eval.errors import MellaError
from mella_eval.metrics.segment import is_no_space_char


@dataclass(frozen=True)
class ChoiceResult:
    """`letter`: `letters[i]` of the chosen option, or None; `method`: the cascade step that
    decided ("direct", "answer_pattern", "label_mention", "option_text") or why there is no
    letter ("ambiguous", "none", "empty"); `detail`: what was read, for samples.jsonl."""

    letter: str | None
    method: str
    detail: str

    def to_dict(self) -> dict:
        return {"letter": self.letter, "method": self.method, "detail": self.detail}


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
_COPULAS: tuple[str, ...] = (
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
_LABEL_SUFFIX = (r"(?:번째|번)?(?:입니다|이에요|예요|이다|요)?"
                 r"|号|號|項|项|番|ครับ|ค่ะ|คะ")

_OPEN = "([（【「<\"'"
_CLOSE = ")]）】」>\"'"
_SEP = r"(?:\s*[:：=\-–—]+\s*|\s*)"

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
_ONE_LETTER_WORDS = frozenset("AIOEYUАВИКОСУЯو")

_THINK_END = re.compile(r"</think\s*>", re.IGNORECASE)
_CIRCLED = {chr(0x2460 + i): f"({i + 1})" for i in range(20)}  # ① .. ⑳
_MARKDOWN = re.compile(r"\*+|`+|__+")
_TATWEEL = "\u0640"


def _fold(text: str) -> str:
    """NFKC, then every decimal digit as ASCII."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.digit(ch)) if unicodedata.category(ch) == "Nd" else ch
                   for ch in text)


def _alternation(words: Sequence[str]) -> str:
    """Regex alternation (NFKC, as the text is), longest first, a space matching any whitespace."""
    folded = {_fold(w) for w in words}
    return "|".join(re.escape(w).replace(r"\ ", r"\s+")
                    for w in sorted(folded, key=len, reverse=True))


_ANSWER_RE = _alternation(ANSWER_WORDS)
_COPULA_RE = _alternation(_COPULAS)
_OPTION_RE = _alternation(OPTION_WORDS)


def normalise_response(text: str) -> str:
    """The normalisation of the module docstring (NFKC, ASCII digits, no markdown emphasis)."""
    if not isinstance(text, str):
        raise TypeError(f"response must be a str, got {type(text).__name__}")
    ends = list(_THINK_END.finditer(text))
    if ends:
        text = text[ends[-1].end():]
    text = _fold("".join(_CIRCLED.get(ch, ch) for ch in text))
    text = _MARKDOWN.sub("", text).replace(_TATWEEL, "")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# --- labels ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Labels:
    indices: dict[str, frozenset[int]]  # label as written -> the option(s) it may name
    pattern: re.Pattern  # any label, longest first


@lru_cache(maxsize=256)
def _labels(k: int, letters: str, localized: tuple[str, ...] | None, numbered: bool) -> _Labels:
    local: dict[str, int] = {}
    for i, lab in enumerate(localized[:k] if localized else ()):
        for form in {lab, lab.upper(), lab.lower(), *_LABEL_VARIANTS.get(lab, "")}:
            local[form] = i
    latin: dict[str, int] = {}
    for i, lab in enumerate(letters[:k]):
        for form in {lab, lab.upper(), lab.lower()}:
            latin[form] = i
    local = {_fold(form): i for form, i in local.items()}
    latin = {_fold(form): i for form, i in latin.items()}
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
    pattern = re.compile("(?:" + _alternation(list(frozen)) + ")")
    return _Labels(frozen, pattern)


def _script(ch: str) -> str:
    if unicodedata.category(ch) == "Nd":
        return "DIGIT"
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else ""


def _word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN"


def _joins(edge: str, neighbour: str) -> bool:
    """True when `neighbour` would continue the word that `edge` (a character) is part of:
    a mark or a digit always does; after a digit, a Latin letter ("2nd"); after a letter, a
    letter of the same script ("Bob", Thai ขนม), never a Han/kana/Thai character after a
    Latin letter ("答案是C" reads C)."""
    if not _word_char(neighbour):
        return False
    if unicodedata.category(neighbour)[0] in "MN":
        return True
    if edge.isdigit():
        return _script(neighbour) == "LATIN"
    if is_no_space_char(neighbour) != is_no_space_char(edge):
        return False
    return _script(neighbour) == _script(edge)


def _left_ok(text: str, start: int) -> bool:
    return start == 0 or not _joins(text[start], text[start - 1])


def _right_ok(text: str, end: int, last: str) -> bool:
    """`text[end]` may follow a label ending in `last`; "2.5" and "B2" are not labels."""
    if end >= len(text):
        return True
    nxt = text[end]
    if last.isdigit() and nxt in ".," and end + 1 < len(text) and text[end + 1].isdigit():
        return False
    return not _joins(last, nxt)


def _ends_clause(text: str, end: int) -> bool:
    """Only punctuation (or nothing) follows, not a word: "answer is a." but not "is a cat"."""
    rest = text[end:].lstrip(_CLOSE + " ")
    return not rest or not _word_char(rest[0])


# --- the cascade -------------------------------------------------------------------------------


_STRIP = " " + string.punctuation + "。、，．！？：；「」『』（）“”‘’«»"


def _norm_text(text: str) -> str:
    """Option/answer text for comparison: casefold, single spaces, no spaces between Thai/CJK
    characters, no surrounding punctuation."""
    text = _fold(text).casefold().replace(_TATWEEL, "")
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
    """Whole-word occurrences of `needle` in `hay` (both `_norm_text`-ed); see step 4."""
    spans = []
    start = hay.find(needle)
    while start != -1:
        end = start + len(needle)
        # Thai/Chinese/Japanese have no word boundaries: a substring is enough there.
        left = start == 0 or is_no_space_char(needle[0]) or not _joins(needle[0], hay[start - 1])
        if not left and lang == "ar":
            word_start = start
            while word_start > 0 and _word_char(hay[word_start - 1]):
                word_start -= 1
            left = hay[word_start:start] in _AR_CLITICS
        right = (end == len(hay) or is_no_space_char(needle[-1])
                 or not _joins(needle[-1], hay[end]))
        if not right and lang == "ko" and _script(needle[-1]) == "HANGUL":
            m = _KO_PARTICLE_RE.match(hay, end)
            right = m is not None and (m.end() == len(hay) or not _word_char(hay[m.end()]))
        if left and right:
            spans.append((start, end))
        start = hay.find(needle, start + 1)
    return spans


def _text_matches(text: str, options: Sequence[str], lang: str | None) -> dict[int, list]:
    hay = _norm_text(text)
    found: dict[int, list[tuple[int, int]]] = {}
    for i, opt in enumerate(options):
        needle = _norm_text(opt)
        if needle:
            spans = _occurrences(hay, needle, lang)
            if spans:
                found[i] = spans
    # A shorter option whose every occurrence lies inside a longer matched option is dropped.
    def covered(i: int) -> bool:
        return any(j != i and all(any(s2 <= s and e <= e2 and (e2 - s2) > (e - s)
                                      for s2, e2 in found[j]) for s, e in found[i])
                   for j in found)
    return {i: spans for i, spans in found.items() if not covered(i)}


def _verdict(hits: list[tuple[frozenset[int], str]], letters: str, method: str) -> ChoiceResult:
    """One option named by every hit -> its letter; otherwise ambiguous."""
    named = frozenset().union(*(ix for ix, _ in hits))
    shown = ", ".join(dict.fromkeys(repr(s) for _, s in hits))
    if len(named) == 1:
        (i,) = named
        return ChoiceResult(letters[i], method, shown)
    which = ", ".join(letters[i] for i in sorted(named))
    return ChoiceResult(None, "ambiguous", f"{method}: {shown} name options {which}")


def _direct(text: str, labels: _Labels, options: Sequence[str],
            letters: str) -> ChoiceResult | None:
    lab = labels.pattern.pattern
    whole = re.fullmatch(
        rf"(?:(?i:{_ANSWER_RE}){_SEP}(?:(?i:{_COPULA_RE}){_SEP})?)?(?:(?i:{_OPTION_RE})\s*)?"
        rf"[{re.escape(_OPEN)}]?\s*(?P<label>{lab})(?:{_LABEL_SUFFIX})?\s*[{re.escape(_CLOSE)}]?"
        r"\s*[.。:：!！]?", text.strip(" \"'“”«»"))
    if whole:
        return _verdict([(labels.indices[whole["label"]], text)], letters, "direct")
    if "\n" in text:
        return None
    # a quote is no delimiter here: "C'est un chat" is not option C
    m = re.match(rf"[(\[（【]?(?P<label>{lab})\s*[)\]）】.:：．]\s*(?P<rest>\S.*)", text)
    if not m:
        return None
    ix = labels.indices[m["label"]]
    rest = _norm_text(m["rest"])
    others = {j for j, opt in enumerate(options) if _norm_text(opt) == rest} - ix
    if others and rest:
        which = ", ".join(letters[j] for j in sorted(ix | others))
        return ChoiceResult(None, "ambiguous",
                            f"direct: label {m['label']!r} with the text of another option "
                            f"(options {which})")
    return _verdict([(ix, m.group(0))], letters, "direct")


def _answer_patterns(text: str, labels: _Labels) -> list[tuple[frozenset[int], str]]:
    lab = labels.pattern.pattern
    pattern = re.compile(
        rf"(?i:{_ANSWER_RE}){_SEP}(?:(?i:{_COPULA_RE}){_SEP})?(?:(?i:{_OPTION_RE})\s*)?"
        rf"[{re.escape(_OPEN)}]?\s*(?P<label>{lab})(?P<suffix>{_LABEL_SUFFIX})?")
    hits = []
    for m in pattern.finditer(text):
        label = m["label"]
        if not is_no_space_char(text[m.start()]) and not _left_ok(text, m.start()):
            continue  # "unanswered"; 答案/คำตอบ need no space before them
        end = m.end("suffix") if m["suffix"] else m.end("label")
        if not _right_ok(text, end, text[end - 1]):
            continue
        if label.islower() and not _ends_clause(text, end):
            continue  # "the answer is a cat"
        word = re.match(r"\s+(\w)", text[end:])
        if label in _ONE_LETTER_WORDS and word and word.group(1).islower():
            continue  # "Answer: A cat" may be the article of another option's text
        hits.append((labels.indices[label], m.group(0)))
    return hits


def _mask(text: str, options: Sequence[str]) -> str:
    """`text` with every occurrence of an option's text (case-insensitive) overwritten by a
    letter no label uses, so that what follows a label still looks like a word."""
    for opt in options:
        opt = " ".join(_fold(opt).split())
        if len(opt) > 1:
            text = re.sub(re.escape(opt).replace(r"\ ", r"\s+"), lambda m: "ǂ" * len(m.group()),
                          text, flags=re.IGNORECASE)
    return text


def _label_mentions(text: str, labels: _Labels,
                    options: Sequence[str]) -> list[tuple[frozenset[int], str]]:
    text = _mask(text, options)
    lab = labels.pattern.pattern
    hits = []
    forms = [
        # option word + label: "option B", "вариант Б", "选项C"
        rf"(?i:{_OPTION_RE})\s*[{re.escape(_OPEN)}]?\s*(?P<label>{lab})",
        # bracketed label
        rf"[(\[（【](?P<label>{lab})[)\]）】]",
        # label + "." or ")" at the start of a line
        rf"(?m:^)\s*(?P<label>{lab})[.)）]",
    ]
    for form in forms:
        for m in re.finditer(form, text):
            end = m.end("label")
            if form.startswith("(?i:") and not (_left_ok(text, m.start())
                                                 and _right_ok(text, end, text[end - 1])):
                continue
            hits.append((labels.indices[m["label"]], m.group(0).strip()))
    # bare capital labels standing alone: "I pick B because ..."
    maybe = []
    for m in labels.pattern.finditer(text):
        label, start, end = m.group(0), m.start(), m.end()
        if (label.isdigit() or label.islower() or _script(label[0]) == "HANGUL"
                or not _left_ok(text, start) or not _right_ok(text, end, label[-1])):
            continue
        if re.match(r"['’]\w", text[end:]):
            continue  # an elided word: C'est, L'image, I'm
        if label in _ONE_LETTER_WORDS and re.match(r"\s+\w", text[end:]):
            maybe.append((labels.indices[label], label))  # "A cat", "В парке"; or "A or B"
        else:
            hits.append((labels.indices[label], label))
    # A one-letter word never decides, but it spoils a different label: "A or B?" is ambiguous.
    if hits:
        hits += [h for h in maybe if h[0] != frozenset().union(*(ix for ix, _ in hits))]
    return hits


def extract_choice(response: str, options: Sequence[str], lang: str | None = None,
                   letters: str = string.ascii_uppercase, *,
                   localized_letters: str | Sequence[str] | None = None,
                   numbered: bool = False) -> ChoiceResult:
    """The option `response` chose, by the cascade of the module docstring; never a guess.

    `options[i]` is labelled `letters[i]` in the result. `localized_letters` are the labels the
    prompt showed instead (see `LOCALIZED_LETTERS`), `numbered` means the prompt numbered the
    options 1..n; both are also accepted in the answer. `lang` only refines option-text matching
    (Arabic clitics, Korean particles); everything else works for any language.
    """
    k = len(options)
    if k < 1:
        raise ValueError("extract_choice needs at least one option")
    if k > len(letters) or len(set(letters[:k])) != k:
        raise ValueError(f"{k} options need {k} distinct letters, got {letters!r}")
    localized = tuple(localized_letters) if localized_letters is not None else None
    if localized is not None and (len(localized) < k or len(set(localized[:k])) != k):
        raise ValueError(f"{k} options need {k} distinct localized letters, "
                         f"got {localized_letters!r}")
    labels = _labels(k, letters, localized, numbered)
    lang = lang.strip().lower().replace("_", "-").split("-")[0] if lang else None
    text = normalise_response(response)
    if not text:
        return ChoiceResult(None, "empty", "empty response")

    direct = _direct(text, labels, options, letters)
    if direct is not None:
        return direct
    for method, hits in (("answer_pattern", _answer_patterns(text, labels)),
                         ("label_mention", _label_mentions(text, labels, options))):
        if hits:
            return _verdict(hits, letters, method)
    found = _text_matches(text, options, lang)
    if len(found) == 1:
        (i,) = found
        return ChoiceResult(letters[i], "option_text", repr(options[i]))
    if found:
        which = ", ".join(letters[i] for i in sorted(found))
        return ChoiceResult(None, "ambiguous", f"option_text: texts of options {which} found")
    return ChoiceResult(None, "none", "no option label or option text found")


# --- yes / no ----------------------------------------------------------------------------------

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
                         "mella_eval/metrics/choice.py")
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
    return end == len(text) or is_no_space_char(word[-1]) or not _joins(word[-1], text[end])


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
_ANSWER_PREFIX = re.compile(rf"(?:{_ANSWER_RE}){_SEP}(?:(?:{_COPULA_RE}){_SEP})?")


def extract_yes_no(response: str, lang: str | None) -> bool | None:
    """True (yes/true), False (no/false) or None, for true/false tasks (MaRVL).

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
        if is_no_space_char(text[m.start()]) or _left_ok(text, m.start()):
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
            if any(taken[s:e]) or not (is_no_space_char(word[0]) or _left_ok(text, s)):
                continue
            if not _ends_word(text, e, word):
                continue
            taken[s:e] = [True] * (e - s)
            if anywhere and polarity is not None:
                found.add(polarity)
    return found.pop() if len(found) == 1 else None
