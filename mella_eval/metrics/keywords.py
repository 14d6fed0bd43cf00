"""Keyword accuracy: the share of a sample's native keywords that a prediction mentions.

Each keyword is a list of accepted variants; a keyword counts as found when any variant matches.
Both sides are NFC-normalised and casefolded, then matched by the language's rule in `_RULES`:

- **ru, cs**: words are stemmed with Snowball (`snowballstemmer`; its Czech stemmer is Dolamic &
  Savoy's light stemmer) and compared stem to stem, so "кошка" finds "кошку"/"кошкой" and
  "káva" finds "kávou"/"kávy". Russian "ё" is folded to "е" (most text omits the dots), and
  nouns in -ив/-ыв are left whole (Snowball takes the ending for a gerund: штатив -> штат).
  Czech stems ending in a palatalised consonant are folded back (kameř -> kamer, Praz -> Prah)
  so "kamera" finds "kameře" and "Praha" finds "v Praze".
- **sr**: Cyrillic is transliterated to Latin (a 1:1 letter table) on both sides, so a keyword in
  either script finds a prediction in either script; then Snowball's Serbian stemmer (which
  itself works in Latin). Its stems skip some short words ("храма"), so a word may also extend
  the keyword's stem by up to 3 letters (the case ending).
- **hu**: Snowball's Hungarian stemmer, plus a prefix rule: Hungarian suffixes attach to the
  whole word ("kávé" + t, + val; "macska" + k with the final vowel lengthened), which the
  stemmer often cuts differently on each side. A word matches when it starts with the keyword,
  compared with acute length marks removed (á->a, é->e, ...), and adds at most 8 letters.
- **ar**: Larkey's light10 stemmer (Larkey, Ballesteros & Connell 2007), written out below:
  diacritics and tatweel removed, alef/yaa/taa-marbuta forms unified, the conjunction و, the
  article and its clitic forms (ال وال بال كال فال لل) and common suffixes stripped, so "قهوة"
  finds "القهوة", "وقهوة", "بالقهوة". Prediction words also get the readings light10 misses: a
  bare proclitic ب ل ك ف (لمكوك), taa marbuta written ت before a suffix (خوذتها), and the
  accusative tanween alif (معطفًا). (Snowball's Arabic stemmer left "فالقهوة" whole and
  stemmed "قطة"/"القطة" apart, so it is not used.)
- **vi**: words are space-separated syllables; a keyword matches as the same syllable sequence
  (no stemming; tone marks must agree: "phở" is not "pho").
- **th**: no spaces between words, so keywords match as substrings, with whitespace removed on
  both sides (a keyword may be split by a phrase space).
- **ko**: particles and endings attach to nouns (고양이가, 고양이는, 김치를), and spacing is
  inconsistent (떡볶이 / 떡 볶이), so whitespace is removed on both sides and a keyword of two or
  more syllables matches as a substring. A one-syllable keyword (차, 떡, 절) would hide inside
  unrelated words, so it must be a whole word, optionally followed by one particle.

In the token rules a multi-word keyword matches as a consecutive run of words. Short stems make
false matches, so stem equality needs a stem of at least `min_stem` letters (2 for Arabic, 3
otherwise); a keyword below that (ru "чай" -> "ча") matches only its exact form: list its
inflected forms as variants. A prediction word that is itself the keyword's bare stem matches
only if the keyword's ending is at most 2 letters (книг for книга, but not рак for ракија).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from mella_eval.errors import MellaError, exception_line
from mella_eval.metrics.stemming import HU_LONG, HU_TILDE, ar_normalise, sr_to_latin, stems_of


@dataclass(frozen=True)
class KeywordResult:
    """Plain data for samples.jsonl: `score` is found / total keywords."""

    score: float
    found: int
    total: int
    matched: tuple[str, ...]  # for each found keyword, the variant that matched
    missed: tuple[str, ...]  # for each keyword not found, its first variant
    hits: tuple[bool, ...] = field(repr=False, default=())  # per keyword, in input order

    def to_dict(self) -> dict:
        return {"score": self.score, "found": self.found, "total": self.total,
                "matched": list(self.matched), "missed": list(self.missed)}


@dataclass(frozen=True)
class _Rule:
    mode: str  # "tokens" | "substring" (th) | "korean"
    normalise: Callable[[str], str] = lambda w: w  # after NFC + casefold
    stemmer: str | None = None  # a snowball algorithm name, "light10" (ar), or None
    min_stem: int = 3  # shorter stems match exactly only (false positives otherwise)
    # Prefix rule: a word may extend the keyword's `prefix_of` ("form" or "stem") by up to
    # `max_tail` letters (0 = off), after `prefix_fold`; the keyword part needs >= 4 letters.
    prefix_of: str = "form"
    max_tail: int = 0
    prefix_fold: Callable[[str], str] = lambda w: w


# Every language in languages.LANGUAGES needs a rule here; a missing one fails loudly.
_RULES: dict[str, _Rule] = {
    "ar": _Rule("tokens", normalise=ar_normalise, stemmer="light10", min_stem=2),
    "cs": _Rule("tokens", stemmer="czech"),
    "hu": _Rule("tokens", normalise=lambda w: w.translate(HU_TILDE), stemmer="hungarian",
                prefix_of="form", max_tail=8, prefix_fold=lambda w: w.translate(HU_LONG)),
    "ko": _Rule("korean"),
    "ru": _Rule("tokens", normalise=lambda w: w.replace("ё", "е"), stemmer="russian"),
    "sr": _Rule("tokens", normalise=sr_to_latin, stemmer="serbian", prefix_of="stem", max_tail=3),
    "th": _Rule("substring"),
    "vi": _Rule("tokens"),
}

_MIN_PREFIX = 4

# Korean particles (josa) and copula forms that may follow a one-syllable keyword.
_KO_PARTICLES = frozenset(
    "이 가 은 는 을 를 의 에 에서 에게 와 과 도 로 으로 만 랑 이랑 하고 처럼 보다 까지 부터 "
    "이다 입니다 이에요 예요 이고 들 들이 들은 들을 들의".split()
)


def _rule(lang: str) -> _Rule:
    try:
        return _RULES[lang]
    except KeyError:
        raise MellaError(f"no keyword-matching rule for language {lang!r}; add one to _RULES in "
                         "mella_eval/metrics/keywords.py") from None


class _Table(dict):
    """A `str.translate` table filled on first use by `rule(character)` (a whole text is then
    mapped in C, not character by character)."""

    def __init__(self, rule: Callable[[str], str | int | None]):
        super().__init__()
        self.rule = rule

    def __missing__(self, cp: int):
        self[cp] = out = self.rule(chr(cp))
        return out


# "w" for a letter, mark or digit, else " "; and whitespace and format characters deleted.
_LETTERS = _Table(lambda ch: "w" if unicodedata.category(ch)[0] in "LMN" else " ")
_NO_SPACE = _Table(lambda ch: None if ch.isspace() or unicodedata.category(ch) == "Cf" else ord(ch))
_RUN = re.compile("w+")


def _words(text: str) -> list[str]:
    """Runs of letters, marks and digits; everything else (spaces, punctuation) separates."""
    return [text[m.start():m.end()] for m in _RUN.finditer(text.translate(_LETTERS))]


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


@dataclass(frozen=True)
class _Word:
    form: str
    stems: tuple[str, ...]  # stems[0] is the stem; the rest are other readings
    pfx: str  # what the prefix rule compares


@lru_cache(maxsize=None)
def _word_analyser(rule: _Rule) -> Callable[[str], _Word]:
    """The rule's analysis of one word, cached: the same words recur across predictions."""
    stem = stems_of(rule.stemmer) if rule.stemmer else None

    @lru_cache(maxsize=65536)
    def analyse(w: str) -> _Word:
        form = rule.normalise(w)
        stems = stem(form) if stem else (form,)
        return _Word(form, stems, rule.prefix_fold(stems[0] if rule.prefix_of == "stem" else form))

    return analyse


def _analyse(text: str, rule: _Rule) -> list[_Word]:
    analyse = _word_analyser(rule)
    return [analyse(w) for w in _words(_clean(text))]


class _Prediction:
    """A prediction's words, indexed by form and stem as bit masks of positions (bit i: word i):
    each keyword word looks up where it matches instead of being compared with every word."""

    def __init__(self, words: list[_Word], rule: _Rule):
        self.words = words
        self.by_form: dict[str, int] = {}
        self.by_stem: dict[str, int] = {}  # any reading
        self.by_first_stem: dict[str, int] = {}
        for i, w in enumerate(words):
            bit = 1 << i
            self.by_form[w.form] = self.by_form.get(w.form, 0) | bit
            if rule.stemmer:  # stems are only compared where the rule stems
                self.by_first_stem[w.stems[0]] = self.by_first_stem.get(w.stems[0], 0) | bit
                for stem in w.stems:
                    self.by_stem[stem] = self.by_stem.get(stem, 0) | bit

    def positions(self, kw: _Word, rule: _Rule) -> int:
        """The mask of the prediction words that match the keyword word `kw`."""
        found = self.by_form.get(kw.form, 0)
        if rule.stemmer:
            stem = kw.stems[0]
            if len(stem) >= rule.min_stem:
                # A prediction word that is the bare stem matches only when the keyword's ending
                # is short (zero-ending forms: книг, káv); "рак" (crab) is not "ракија" (stem rak).
                bare = self.by_form.get(stem, 0) if len(kw.form) - len(stem) > 2 else 0
                found |= self.by_stem.get(stem, 0) & ~bare
            # The stemmer cut the keyword shorter than its inflected forms (штатив -> штат,
            # but штативе -> штатив): the prediction's stem is the keyword itself.
            if len(kw.form) >= rule.min_stem:
                found |= self.by_first_stem.get(kw.form, 0)
        if rule.max_tail > 0 and len(kw.pfx) >= _MIN_PREFIX:
            for i, w in enumerate(self.words):
                if w.pfx.startswith(kw.pfx) and len(w.pfx) - len(kw.pfx) <= rule.max_tail:
                    found |= 1 << i
        return found


def _tokens_match(variant: str, pred: _Prediction, rule: _Rule) -> bool:
    kw = _analyse(variant, rule)
    if not kw:
        return False
    starts = pred.positions(kw[0], rule)
    for j, word in enumerate(kw[1:], start=1):  # a multi-word keyword: consecutive words
        if not starts:
            break
        starts &= pred.positions(word, rule) >> j
    return starts != 0


def _nospace(text: str) -> str:
    """Whitespace and invisible format characters (Thai text uses U+200B between words) removed."""
    return _clean(text).translate(_NO_SPACE)


def _korean_match(variant: str, pred_flat: str, pred_words: Callable[[], list[str]]) -> bool:
    """`pred_flat`: the prediction without spaces; `pred_words()`: its words (made on demand)."""
    kw = _nospace(variant)
    if not kw:
        return False
    if len(kw) >= 2:
        return kw in pred_flat
    return any(w == kw or (w.startswith(kw) and w[len(kw):] in _KO_PARTICLES)
               for w in pred_words())


def _normalise_keywords(keywords: Sequence[Sequence[str] | str]) -> list[list[str]]:
    if not keywords:
        raise ValueError("keyword_accuracy needs at least one keyword")
    out = []
    for k in keywords:
        variants = [k] if isinstance(k, str) else list(k)
        if not variants or not all(isinstance(v, str) and "w" in v.translate(_LETTERS)
                                   for v in variants):
            raise ValueError(f"keyword {k!r}: need one or more non-empty string variants")
        out.append(variants)
    return out


def keyword_accuracy(prediction: str, keywords: Sequence[Sequence[str] | str],
                     lang: str) -> KeywordResult:
    """Share of `keywords` (each a list of accepted variants; a bare string is one variant)
    that `prediction` mentions, by the matching rule of `lang` (see the module docstring)."""
    rule = _rule(lang)
    groups = _normalise_keywords(keywords)
    # The prediction is prepared once, only as its language's rule reads it.
    tokens = rule.mode == "tokens"
    pred_words = _Prediction(_analyse(prediction, rule), rule) if tokens else None
    pred_flat = None if tokens else _nospace(prediction)
    korean_words = lru_cache(maxsize=1)(lambda: _words(_clean(prediction)))

    def found(variant: str) -> bool:
        if rule.mode == "tokens":
            return _tokens_match(variant, pred_words, rule)
        if rule.mode == "korean":
            return _korean_match(variant, pred_flat, korean_words)
        return _nospace(variant) in pred_flat  # substring (Thai)

    matched, missed, hits = [], [], []
    for variants in groups:
        hit = next((v for v in variants if found(v)), None)
        hits.append(hit is not None)
        if hit is None:
            missed.append(variants[0])
        else:
            matched.append(hit)
    n_found = len(matched)
    return KeywordResult(score=n_found / len(groups), found=n_found, total=len(groups),
                         matched=tuple(matched), missed=tuple(missed), hits=tuple(hits))


# --- per-record scoring -----------------------------------------------------------------------

NOT_APPLICABLE = "not_applicable"  # record key: {metric: why the metric does not apply to it}


def add_keyword_scores(records: list[dict]) -> None:
    """`metrics.keyword_acc` and `keyword_match` on each record with an ok prediction.

    A sample without keywords has nothing to find: keyword_acc is not applicable to it (marked
    under `record["not_applicable"]`, so a score row can leave it out of both `n` and
    `failed`), rather than a misleading 0 or 1 or a failure. A keyword list that cannot be
    scored is that record's `metric_errors.keyword_acc`.
    """
    for record in records:
        if not record.get("keywords"):
            record.setdefault(NOT_APPLICABLE, {})["keyword_acc"] = "no keywords"
            continue
        if record.get("status") != "ok" or not isinstance(record.get("prediction"), str):
            continue  # a failed sample: counted as failed, not as not applicable
        try:
            result = keyword_accuracy(record["prediction"], record["keywords"], record["lang"])
        except Exception as exc:  # noqa: BLE001  (one bad record never loses the run)
            record.setdefault("metric_errors", {})["keyword_acc"] = exception_line(exc)
            continue
        record.setdefault("metrics", {})["keyword_acc"] = result.score
        record["keyword_match"] = result.to_dict()


def not_applicable_count(records: list[dict], metric: str) -> int:
    """How many records the metric does not apply to (left out of a score row's n and failed)."""
    return sum(1 for r in records if metric in (r.get(NOT_APPLICABLE) or {}))
