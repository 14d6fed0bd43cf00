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

**Negation and second thoughts** (steps 2 and 3). A label that the answer rules out does not
name the chosen option: "not C", "rather than (C)", "instead of C", "except C", "C is wrong",
"C is incorrect", "C is not correct", "C can be ruled out", and the same in the other languages
of `NEGATION_BEFORE` / `NEGATION_AFTER` (không phải C, не B, 不是C, C是错的, bukan B, B değil, ...):
"Option B is correct, not C." is B. When the remaining mentions still name several options, the
answer's last decision counts: the mentions after the last decision cue (a "?" ending a restated
question, "I think", "so", "therefore", "actually", "wait", "final answer", 所以, 我认为, vậy,
поэтому, ... see `DECISION_CUES`) decide if they all name one option: "B or A? I think A." is A.
A correction ("actually", "wait", "on second thought", 其实, thực ra, на самом деле, ...) after
an answer statement also overrides it: "The answer is B. Actually, it is C." is C (method
"self_correction"). Otherwise two options are ambiguous, as before.

Layout: `choice_words.py` (vocabulary, labels, normalisation, word boundaries), `choice_text.py`
(step 4), this module (the cascade), `yes_no.py` (`extract_yes_no`, re-exported here: true/false
answers such as MaRVL's, including "(a)"/"(b)" labels a prompt defines).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from mella_eval.metrics.choice_text import norm_text, text_matches
from mella_eval.metrics.choice_words import (
    ANSWER_RE,
    ANSWER_WORDS,
    CLOSE,
    COPULA_RE,
    LABEL_SUFFIX,
    LOCALIZED_LETTERS,
    ONE_LETTER_WORDS,
    OPEN,
    OPTION_RE,
    OPTION_WORDS,
    SEP,
    Labels,
    ends_clause,
    fold,
    labels_for,
    left_ok,
    normalise_response,
    right_ok,
    script_of,
)
from mella_eval.metrics.segment import is_no_space_char

__all__ = ["ANSWER_WORDS", "LOCALIZED_LETTERS", "OPTION_WORDS", "ChoiceResult", "extract_choice",
           "extract_yes_no", "normalise_response"]


@dataclass(frozen=True)
class ChoiceResult:
    """`letter`: `letters[i]` of the chosen option, or None; `method`: the cascade step that
    decided ("direct", "answer_pattern", "label_mention", "self_correction", "option_text") or
    why there is no letter ("ambiguous", "none", "empty"); `detail`: what was read."""

    letter: str | None
    method: str
    detail: str

    def to_dict(self) -> dict:
        return {"letter": self.letter, "method": self.method, "detail": self.detail}


class _Hit(NamedTuple):
    options: frozenset[int]  # the option(s) the label may name
    shown: str  # what was read, for the detail
    start: int  # where the mention starts in the (normalised) answer


# --- negation and second thoughts ------------------------------------------------------------

# Words right before a label that rule it out: "not C", "rather than (C)", "不是C".
NEGATION_BEFORE: tuple[str, ...] = (
    "not", "n't", "never", "rather than", "instead of", "other than", "except", "except for",
    "excluding", "exclude", "eliminate", "eliminating", "rule out", "ruling out", "neither",
    "nor", "pas",  # fr "ce n'est pas B"
    "không phải là", "không phải", "loại bỏ", "loại trừ", "chứ không phải",  # vi
    "не", "а не", "кроме", "исключаем",  # ru, uk, bg, sr
    "ne", "nikoli", "nem", "nicht", "kein", "bukan", "selain", "si", "sio", "siyo",
    "不是", "不选", "不選", "排除", "而非", "并非", "並非", "而不是",  # zh, ja
    "ไม่ใช่", "ไม่เลือก", "ليس", "ليست", "وليس", "غير", "لا",
)
# Words right after a label that rule it out: "C is wrong", "C是错的", "B değil".
NEGATION_AFTER: tuple[str, ...] = (
    "is wrong", "is incorrect", "is false", "is not correct", "is not right", "is not true",
    "is not the answer", "is not the correct answer", "isn't correct", "isn't right",
    "isn't the answer", "is ruled out", "is eliminated", "is excluded", "can be ruled out",
    "can be eliminated", "can be excluded", "cannot be", "can't be", "is out", "wrong",
    "incorrect", "is not it", "isn't it",
    "sai", "là sai", "không đúng", "bị loại",  # vi
    "неверно", "неверный", "неправильно", "неправильный", "не подходит", "не верно",  # ru
    "salah", "tidak benar", "yanlış", "yanlıştır", "değil", "si sahihi", "sio sahihi",
    "je špatně", "špatně", "nesprávně", "je nesprávná", "helytelen", "rossz", "falsch",
    "是错的", "是錯的", "错误", "錯誤", "错", "錯", "不对", "不對", "不正确", "不正確", "排除",
    "ではない", "じゃない", "は間違い", "は誤り", "는 틀렸", "은 틀렸", "는 아니", "은 아니",
    "가 아니", "이 아니", "는 오답", "은 오답", "ผิด", "ไม่ถูกต้อง", "خطأ", "خاطئ", "خاطئة",
    "غير صحيح", "غير صحيحة",
)
# "not wrong" is no negation of the label.
_NOT_NEGATED = ("is not wrong", "is not incorrect", "isn't wrong", "not wrong", "is not false")

# Corrections: what follows replaces what was said before.
CORRECTION_CUES: tuple[str, ...] = (
    "actually", "wait", "on second thought", "on second thoughts", "correction", "i mean",
    "let me correct", "i was wrong", "no wait", "scratch that",
    "thực ra", "à không", "на самом деле", "точнее", "vlastně", "valójában", "sebenarnya",
    "eigentlich", "en fait", "aslında", "kwa kweli", "其实", "其實", "不对", "不對", "更正",
    "実は", "いや", "사실", "아니", "จริงๆ แล้ว", "ที่จริง", "في الواقع",
)
# Conclusions: the mentions after the last of these (or after a "?") are the decision.
DECISION_CUES: tuple[str, ...] = CORRECTION_CUES + (
    "so", "therefore", "thus", "hence", "i think", "i believe", "i'd say", "i would say",
    "i'll go with", "i will go with", "i'd go with", "i would go with", "i choose", "i pick",
    "i'll pick", "my answer", "my final answer", "final answer", "finally", "in conclusion",
    "overall",
    "vậy", "do đó", "vì vậy", "tôi nghĩ", "tôi chọn", "поэтому", "итак", "значит", "думаю",
    "я думаю", "я выбираю", "takže", "tedy", "myslím", "tehát", "szerintem", "jadi", "maka",
    "saya pikir", "saya memilih", "kwa hiyo", "hivyo", "bu yüzden", "bence", "yani",
    "donc", "je pense", "所以", "因此", "因而", "我认为", "我認為", "我觉得", "我覺得", "我选", "我選",
    "最终", "最終", "答案", "だから", "したがって", "思います", "따라서", "그러므로", "제 생각",
    "ดังนั้น", "คิดว่า", "لذلك", "إذن", "أعتقد", "أختار",
)


def _cue_alternation(words: Sequence[str]) -> str:
    """Alternation of cue words; Latin/Cyrillic ones as whole words."""
    parts = []
    for w in sorted({fold(w) for w in words}, key=len, reverse=True):
        body = re.escape(w).replace(r"\ ", r"\s+")
        parts.append(body if is_no_space_char(w[0]) or not w[0].isalpha() else
                     rf"(?<!\w){body}(?!\w)")
    return "|".join(parts)


_NEG_BEFORE = re.compile(
    rf"(?i:{_cue_alternation(NEGATION_BEFORE)})\s*(?:(?i:a|an|the)\s+)?(?:(?i:{OPTION_RE})\s*)?"
    rf"[{re.escape(OPEN)}]?\s*$")
_NEG_AFTER = re.compile(
    rf"\s*[{re.escape(CLOSE)}.]?\s*(?:(?i:{OPTION_RE})\s*)?"
    rf"(?:,\s*)?(?i:{_cue_alternation(NEGATION_AFTER)})")
_NOT_NEG_AFTER = re.compile(rf"\s*[{re.escape(CLOSE)}.]?\s*(?i:{_cue_alternation(_NOT_NEGATED)})")
_CORRECTION = re.compile(rf"(?i:{_cue_alternation(CORRECTION_CUES)})")
_DECISION = re.compile(rf"(?i:{_cue_alternation(DECISION_CUES)})|\?|？")


def _negated(text: str, start: int, end: int) -> bool:
    """The label at text[start:end] (its mention starting at `start`) is ruled out."""
    if _NEG_BEFORE.search(text[max(0, start - 40):start]):
        return True
    return bool(_NEG_AFTER.match(text, end)) and not _NOT_NEG_AFTER.match(text, end)


def _after_last_cue(text: str, hits: list[_Hit], cue: re.Pattern) -> list[_Hit]:
    """The hits after the last cue that has hits after it (empty when no cue has)."""
    for m in reversed(list(cue.finditer(text))):
        later = [h for h in hits if h.start >= m.end()]
        if later:
            return later
    return []


def _verdict(hits: list[_Hit], letters: str, method: str, text: str = "") -> ChoiceResult:
    """One option named by every hit -> its letter; else the decision after the last cue (see
    the module docstring); otherwise ambiguous."""
    named = frozenset().union(*(h.options for h in hits))
    shown = ", ".join(dict.fromkeys(repr(h.shown) for h in hits))
    if len(named) == 1:
        (i,) = named
        return ChoiceResult(letters[i], method, shown)
    later = _after_last_cue(text, hits, _DECISION) if text else []
    decided = frozenset().union(*(h.options for h in later))
    if len(decided) == 1 and len(later) < len(hits):
        (i,) = decided
        return ChoiceResult(letters[i], method,
                            f"{shown}; decided by the last statement: "
                            + ", ".join(dict.fromkeys(repr(h.shown) for h in later)))
    which = ", ".join(letters[i] for i in sorted(named))
    return ChoiceResult(None, "ambiguous", f"{method}: {shown} name options {which}")


def _direct(text: str, labels: Labels, options: Sequence[str],
            letters: str) -> ChoiceResult | None:
    lab = labels.pattern.pattern
    whole = re.fullmatch(
        rf"(?:(?i:{ANSWER_RE}){SEP}(?:(?i:{COPULA_RE}){SEP})?)?(?:(?i:{OPTION_RE})\s*)?"
        rf"[{re.escape(OPEN)}]?\s*(?P<label>{lab})(?:{LABEL_SUFFIX})?\s*[{re.escape(CLOSE)}]?"
        r"\s*[.。:：!！]?", text.strip(" \"'“”«»"))
    if whole:
        return _verdict([_Hit(labels.indices[whole["label"]], text, 0)], letters, "direct")
    if "\n" in text:
        return None
    # a quote is no delimiter here: "C'est un chat" is not option C
    m = re.match(rf"[(\[（【]?(?P<label>{lab})\s*[)\]）】.:：．]\s*(?P<rest>\S.*)", text)
    if not m:
        return None
    ix = labels.indices[m["label"]]
    rest = norm_text(m["rest"])
    others = {j for j, opt in enumerate(options) if norm_text(opt) == rest} - ix
    if others and rest:
        which = ", ".join(letters[j] for j in sorted(ix | others))
        return ChoiceResult(None, "ambiguous",
                            f"direct: label {m['label']!r} with the text of another option "
                            f"(options {which})")
    if any(h.options - ix for h in _label_mentions(m["rest"], labels, options)):
        return None  # "(A) or (B)?", "A. no, B": the later steps weigh every mention
    return _verdict([_Hit(ix, m.group(0), 0)], letters, "direct")


def _answer_patterns(text: str, labels: Labels) -> list[_Hit]:
    lab = labels.pattern.pattern
    pattern = re.compile(
        rf"(?i:{ANSWER_RE}){SEP}(?:(?i:{COPULA_RE}){SEP})?(?:(?i:{OPTION_RE})\s*)?"
        rf"[{re.escape(OPEN)}]?\s*(?P<label>{lab})(?P<suffix>{LABEL_SUFFIX})?")
    hits = []
    for m in pattern.finditer(text):
        label = m["label"]
        if not is_no_space_char(text[m.start()]) and not left_ok(text, m.start()):
            continue  # "unanswered"; 答案/คำตอบ need no space before them
        end = m.end("suffix") if m["suffix"] else m.end("label")
        if not right_ok(text, end, text[end - 1]):
            continue
        if label.islower() and not ends_clause(text, end):
            continue  # "the answer is a cat"
        word = re.match(r"\s+(\w)", text[end:])
        if label in ONE_LETTER_WORDS and word and word.group(1).islower():
            continue  # "Answer: A cat" may be the article of another option's text
        if _negated(text, m.start("label"), end):
            continue  # "the answer B is wrong"
        hits.append(_Hit(labels.indices[label], m.group(0), m.start()))
    return hits


def _mask(text: str, options: Sequence[str]) -> str:
    """`text` with every occurrence of an option's text (case-insensitive) overwritten by a
    letter no label uses, so that what follows a label still looks like a word."""
    for opt in options:
        opt = " ".join(fold(opt).split())
        if len(opt) > 1:
            text = re.sub(re.escape(opt).replace(r"\ ", r"\s+"), lambda m: "ǂ" * len(m.group()),
                          text, flags=re.IGNORECASE)
    return text


# A one-letter word followed by a verb is a label: "A is correct", "I think A fits".
_LABEL_VERB = re.compile(r"\s+(?:is|was|seems|looks|would|should|must|fits|matches|makes|"
                         r"describes|shows|answers|it is)\b", re.IGNORECASE)


def _label_mentions(text: str, labels: Labels, options: Sequence[str]) -> list[_Hit]:
    text = _mask(text, options)
    lab = labels.pattern.pattern
    hits = []
    forms = [
        # option word + label: "option B", "вариант Б", "选项C"
        rf"(?i:{OPTION_RE})\s*[{re.escape(OPEN)}]?\s*(?P<label>{lab})",
        # bracketed label
        rf"[(\[（【](?P<label>{lab})[)\]）】]",
        # label + "." or ")" at the start of a line
        rf"(?m:^)\s*(?P<label>{lab})[.)）]",
    ]
    for form in forms:
        for m in re.finditer(form, text):
            end = m.end("label")
            if form.startswith("(?i:") and not (left_ok(text, m.start())
                                                 and right_ok(text, end, text[end - 1])):
                continue
            if _negated(text, m.start(), m.end()):
                continue  # "not option C", "(C) is wrong"
            hits.append(_Hit(labels.indices[m["label"]], m.group(0).strip(), m.start()))
    # bare capital labels standing alone: "I pick B because ..."
    maybe = []
    for m in labels.pattern.finditer(text):
        label, start, end = m.group(0), m.start(), m.end()
        if (label.isdigit() or label.islower() or script_of(label[0]) == "HANGUL"
                or not left_ok(text, start) or not right_ok(text, end, label[-1])):
            continue
        if re.match(r"['’]\w", text[end:]):
            continue  # an elided word: C'est, L'image, I'm
        if _negated(text, start, end):
            continue  # "B, not C"; "C is wrong"
        hit = _Hit(labels.indices[label], label, start)
        if (label in ONE_LETTER_WORDS and re.match(r"\s+\w", text[end:])
                and not _LABEL_VERB.match(text, end)):
            maybe.append(hit)  # "A cat", "В парке"; or "A or B"
        else:
            hits.append(hit)
    # A one-letter word never decides, but it spoils a different label: "A or B?" is ambiguous.
    if hits:
        named = frozenset().union(*(h.options for h in hits))
        hits += [h for h in maybe if h.options != named]
    return sorted(hits, key=lambda h: h.start)


def _correction(text: str, stated: list[_Hit], mentions: list[_Hit],
                letters: str) -> ChoiceResult | None:
    """A correction cue after the last answer statement, followed by mentions of one other
    option: "The answer is B. Actually, it is C." -> C."""
    last = max(h.start for h in stated)
    cues = [m for m in _CORRECTION.finditer(text) if m.start() > last]
    if not cues:
        return None
    later = [h for h in mentions if h.start >= cues[-1].end()]
    named = frozenset().union(*(h.options for h in later))
    stated_named = frozenset().union(*(h.options for h in stated))
    if len(named) != 1 or named == stated_named:
        return None
    (i,) = named
    return ChoiceResult(letters[i], "self_correction",
                        f"{cues[-1].group(0)!r} then " + ", ".join(repr(h.shown) for h in later))


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
    labels = labels_for(k, letters, localized, numbered)
    lang = lang.strip().lower().replace("_", "-").split("-")[0] if lang else None
    text = normalise_response(response)
    if not text:
        return ChoiceResult(None, "empty", "empty response")

    direct = _direct(text, labels, options, letters)
    if direct is not None:
        return direct
    stated = _answer_patterns(text, labels)
    mentions = _label_mentions(text, labels, options)
    if stated:
        result = _verdict(stated, letters, "answer_pattern", text)
        corrected = _correction(text, stated, mentions, letters)
        return corrected or result
    if mentions:
        return _verdict(mentions, letters, "label_mention", text)
    found = text_matches(text, options, lang, _negated)
    if len(found) == 1:
        (i,) = found
        return ChoiceResult(letters[i], "option_text", repr(options[i]))
    if found:
        which = ", ".join(letters[i] for i in sorted(found))
        return ChoiceResult(None, "ambiguous", f"option_text: texts of options {which} found")
    return ChoiceResult(None, "none", "no option label or option text found")


from mella_eval.metrics.yes_no import extract_yes_no  # noqa: E402  (re-exported; it uses this module)
