"""Corpus-level BLEU / chrF / chrF++ through sacrebleu, script-aware and multi-reference.

Both sides are NFC-normalised first: the same Vietnamese or Korean text can arrive composed or
decomposed, and sacrebleu compares code points.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mella_eval.languages import get_language
from mella_eval.metrics.text import nfc

CORPUS_METRICS = ("bleu", "chrf", "chrf++")


@dataclass(frozen=True)
class CorpusScore:
    metric: str
    value: float
    signature: str


@dataclass(frozen=True)
class TokenizerChoice:
    """The BLEU tokenizer a language gets: `name`, and `wanted` + `reason` when `name` is the
    language's fallback because `wanted` could not start (an optional package is missing)."""

    name: str
    wanted: str
    reason: str | None = None

    @property
    def fallback(self) -> bool:
        return self.reason is not None


@lru_cache(maxsize=None)
def bleu_tokenizer_choice(lang: str) -> TokenizerChoice:
    """The language's BLEU tokenizer, or its fallback when the wanted one cannot be built.

    Every tokenizer is tried by building it, so any optional one (ja-mecab needs
    `sacrebleu[ja]`, ko-mecab `sacrebleu[ko]`) falls back the same way instead of raising
    inside scoring."""
    from sacrebleu.metrics import BLEU

    language = get_language(lang)
    wanted = language.bleu_tokenize
    try:
        BLEU(tokenize=wanted)
    except Exception as exc:  # noqa: BLE001  (ImportError, RuntimeError, AssertionError from mecab)
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return TokenizerChoice(language.bleu_tokenize_fallback, wanted,
                               f"{type(exc).__name__}: {first_line}")
    return TokenizerChoice(wanted, wanted)


def bleu_tokenizer_for(lang: str) -> str:
    return bleu_tokenizer_choice(lang).name


def signature_of(metric: str, lang: str, scorer) -> str:
    """sacrebleu's signature, plus `|fallback:WANTED` when BLEU runs on the fallback tokenizer
    (runs with and without the optional tokenizer then never look alike)."""
    text = str(scorer.get_signature())
    choice = bleu_tokenizer_choice(lang)
    if metric == "bleu" and choice.fallback:
        text += f"|fallback:{choice.wanted}"
    return text


def _metric(name: str, lang: str):
    from sacrebleu.metrics import BLEU, CHRF

    if name == "bleu":
        return BLEU(tokenize=bleu_tokenizer_for(lang))
    if name == "chrf":
        return CHRF()
    if name == "chrf++":
        return CHRF(word_order=2)
    raise ValueError(f"not a corpus metric: {name}")


def corpus_score(metric: str, lang: str, hypotheses: list[str],
                 references: list[list[str]]) -> CorpusScore:
    """`references[i]` are the references of hypothesis i (any number >= 1 per hypothesis)."""
    if not hypotheses:
        raise ValueError("corpus_score needs at least one hypothesis")
    if len(hypotheses) != len(references):
        raise ValueError("one reference list per hypothesis expected")
    hyps = [nfc(h) for h in hypotheses]
    width = max(len(r) for r in references)
    # sacrebleu wants reference *streams*; a missing reference is None (variable reference count).
    streams = [[nfc(r[k]) if k < len(r) else None for r in references] for k in range(width)]
    scorer = _metric(metric, lang)
    result = scorer.corpus_score(hyps, streams)
    return CorpusScore(metric, float(result.score), signature_of(metric, lang, scorer))
