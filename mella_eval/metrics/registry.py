"""Every metric a task may list, with what it needs from the data. Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # "corpus": one value from the whole (task, lang) corpus; "sample": mean of per-sample values
    needs: tuple[str, ...]  # sample fields the metric reads
    description: str


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in [
        MetricSpec("bleu", "corpus", ("references",),
                   "corpus BLEU (sacrebleu), multi-reference, tokenizer chosen per language"),
        MetricSpec("chrf", "corpus", ("references",), "corpus chrF (sacrebleu, character n-grams)"),
        MetricSpec("chrf++", "corpus", ("references",),
                   "corpus chrF++ (sacrebleu, character + word bigrams)"),
    ]
}
