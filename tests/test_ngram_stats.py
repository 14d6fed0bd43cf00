"""ngram_stats.extract_statistics returns sacrebleu's own per-sentence rows, integer for integer.

Real text: UDHR paragraphs (8 scripts) plus Japanese and Chinese, cut into caption-sized
windows, hypotheses perturbed word by word, 1-4 references with None padding, and the awkward
strings (empty, whitespace-only, punctuation, emoji, combining marks, a tokenized period).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF

from mella_eval.metrics.ngram_stats import extract_statistics

DATA = Path(__file__).parent / "data" / "udhr_paragraphs.json"

# UDHR article 1, Japanese and Chinese (not in the fixture; the zh and ja-mecab tokenizers need it)
EXTRA = {
    "ja": ["すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。"
           "人間は、理性と良心とを授けられており、互いに同胞の精神をもって行動しなければならない。"],
    "zh": ["人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"],
}

ODD = ["", "   ", " \t\n ", "!!! ... ???", "(hi) [x] \"quoted\" -dash- end.", "a b c .",
       "👍🏽 😀😀 🇨🇿 ok 👍🏽", "e\u0301te\u0301 n\u0303o", "١٢٣ ٤٥٦", "x", "..", "A a A a"]


def _texts() -> dict[str, str]:
    paragraphs = json.loads(DATA.read_text(encoding="utf-8"))["paragraphs"]
    texts = {lang: " ".join(items) for lang, items in paragraphs.items()}
    texts.update({lang: " ".join(items) for lang, items in EXTRA.items()})
    return texts


def _corpus(lang: str, n: int, seed: int = 0):
    """n (hypothesis, references) pairs; reference streams None-padded to the widest."""
    rng = random.Random(f"{lang}-{seed}")
    text = _texts()[lang]

    def window() -> str:
        size = rng.randint(8, 120)
        start = rng.randrange(0, max(1, len(text) - size))
        return text[start:start + size].strip()

    hyps, refs = [], []
    for i in range(n):
        base = window()
        words = base.split()
        if words and rng.random() < 0.8:
            for _ in range(rng.randint(1, 3)):
                k = rng.randrange(len(words))
                op = rng.random()
                if op < 0.4:
                    words[k] = words[rng.randrange(len(words))]
                elif op < 0.7 and len(words) > 1:
                    del words[k]
                else:
                    words.insert(k, rng.choice(words))
        hyp = " ".join(words)
        others = [window() for _ in range(rng.randint(0, 3))]
        if i % 7 == 0:
            hyp = rng.choice(ODD)
        if i % 11 == 0:
            others.append(rng.choice(ODD))
        if i % 13 == 0:
            others.append(base)  # a duplicate reference: best-F ties go to the first
        if i % 17 == 0:
            hyp = base  # a perfect match
        hyps.append(hyp)
        refs.append([base, *others] if i % 5 else [*others, base])
    width = max(len(r) for r in refs)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(width)]
    assert len(hyps) == n and all(len(s) == n for s in streams)
    return hyps, streams


def _bleu(tokenize: str) -> BLEU:
    try:
        return BLEU(tokenize=tokenize)
    except Exception as exc:  # noqa: BLE001  (mecab extras may be missing)
        pytest.skip(f"tokenizer {tokenize} unavailable: {exc}")


def _same(scorer_factory, hyps, streams):
    expected_scorer, scorer = scorer_factory(), scorer_factory()
    expected = expected_scorer._extract_corpus_statistics(hyps, streams)
    got = extract_statistics(scorer, hyps, streams)
    assert len(expected) == len(hyps)
    assert got == expected
    assert all(type(x) is int for row in got for x in row)
    assert scorer.num_refs == expected_scorer.num_refs  # the signature reads it
    return expected_scorer, got


LANGS = ["ar", "cs", "hu", "ko", "ru", "sr", "th", "vi", "ja", "zh"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("word_order", [0, 2])
def test_chrf_rows_equal_sacrebleu(lang, word_order):
    hyps, streams = _corpus(lang, 80)
    _same(lambda: CHRF(word_order=word_order), hyps, streams)


# corpus.py's tokenizers: 13a for most, char (th, ja fallback), zh, ja-mecab, ko-mecab; intl too
@pytest.mark.parametrize("lang,tokenize", [
    ("cs", "13a"), ("ar", "13a"), ("ru", "13a"), ("vi", "13a"), ("sr", "intl"), ("hu", "intl"),
    ("th", "char"), ("ja", "char"), ("zh", "zh"), ("ja", "ja-mecab"), ("ko", "ko-mecab"),
    ("ko", "13a"),
])
def test_bleu_rows_equal_sacrebleu(lang, tokenize):
    _bleu(tokenize)
    hyps, streams = _corpus(lang, 80)
    _same(lambda: BLEU(tokenize=tokenize), hyps, streams)


def test_mixed_scripts_one_corpus():
    """All scripts in one corpus: a large alphabet forces the exact re-ranking of n-gram keys."""
    hyps, streams = [], []
    parts = [_corpus(lang, 25, seed=1) for lang in LANGS]
    width = max(len(s) for _, s in parts)
    streams = [[] for _ in range(width)]
    for h, s in parts:
        hyps += h
        for k in range(width):
            streams[k] += s[k] if k < len(s) else [None] * len(h)
    for factory in (CHRF, lambda: CHRF(word_order=2), lambda: BLEU(tokenize="13a")):
        _same(factory, hyps, streams)


@pytest.mark.parametrize("factory", [
    lambda: CHRF(lowercase=True, whitespace=True),
    lambda: CHRF(char_order=4, word_order=3, beta=1, eps_smoothing=True),
    lambda: BLEU(tokenize="13a", lowercase=True, max_ngram_order=6),
])
def test_other_settings_equal_sacrebleu(factory):
    hyps, streams = _corpus("cs", 120, seed=2)
    _same(factory, hyps, streams)


@pytest.mark.parametrize("factory", [CHRF, lambda: CHRF(word_order=2),
                                     lambda: BLEU(tokenize="13a"), lambda: BLEU(tokenize="char")])
def test_scores_equal_through_aggregate(factory):
    hyps, streams = _corpus("ru", 120, seed=3)
    expected, rows = _same(factory, hyps, streams)
    sacre = expected._aggregate_and_compute(expected._extract_corpus_statistics(hyps, streams))
    assert expected._aggregate_and_compute(rows).score == sacre.score
    assert factory().corpus_score(hyps, streams).score == sacre.score


def test_single_hypothesis_and_all_empty():
    for factory in (CHRF, lambda: CHRF(word_order=2), lambda: BLEU(tokenize="13a")):
        _same(factory, ["a cat ."], [["a cat ."]])
        _same(factory, ["", " "], [["", "  "], [None, ""]])


def test_unhandled_inputs_fall_back_to_sacrebleu():
    """No reference at all for a hypothesis, and subclasses: sacrebleu's own method runs."""
    _same(CHRF, ["a b", "c d"], [["a b", None], [None, None]])

    class MyCHRF(CHRF):
        def _compute_segment_statistics(self, hypothesis, ref_kwargs):
            return [len(hypothesis)]

    hyps, streams = _corpus("vi", 20)
    assert extract_statistics(MyCHRF(), hyps, streams) == [[len(h)] for h in hyps]


def test_tokenized_period_warning(caplog):
    hyps = ["a b ."] * 120
    with caplog.at_level("WARNING", logger="sacrebleu"):
        extract_statistics(BLEU(tokenize="13a"), hyps, [["a b ."] * 120])
    assert "tokenized period" in caplog.text


def test_caches_reused_exactly():
    """chrF and chrF++ share character statistics, BLEU reuses tokenized references: the rows
    of every repeat (hits) stay sacrebleu's, and another tokenizer or case never reuses them."""
    hyps, streams = _corpus("hu", 40, seed=4)
    other = [h[::-1] for h in hyps]  # another system, the same references
    for factory in (CHRF, lambda: CHRF(word_order=2), CHRF, lambda: BLEU(tokenize="13a"),
                    lambda: BLEU(tokenize="intl"), lambda: BLEU(tokenize="13a", lowercase=True),
                    lambda: BLEU(tokenize="char"), lambda: CHRF(lowercase=True)):
        _same(factory, hyps, streams)
        _same(factory, other, streams)
        _same(factory, hyps, streams)
