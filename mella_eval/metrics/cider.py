"""CIDEr-D (Vedantam, Zitnick & Parikh 2015), written out here, script-aware.

The algorithm is coco-caption's (`pycocoevalcap/cider/cider_scorer.py`, the same code as
`ciderD_scorer.py` in vrama91/cider with `df_mode="corpus"`), which is the CIDEr-D variant:

- Each caption is cut into n-grams, n = 1..4, by `segment.tokenize(text, lang,
  punctuation=False)` (NFC, casefold, one token per character for Thai/Chinese/Japanese,
  mecab morphemes for Korean; punctuation dropped as coco-caption's PTB tokenizer does).
- Each n-gram is weighted tf * idf, idf = log(N) - log(max(1, df)): N is the number of samples
  (images) in the evaluated corpus and df the number of samples whose references contain the
  n-gram. A hypothesis n-gram found in no reference gets the largest idf, log(N).
- For each reference of a sample and each n: the cosine of the hypothesis and reference
  tf-idf vectors, where the hypothesis weights are clipped by the reference's
  (sum of min(h, r) * r over the hypothesis n-grams, divided by |h| |r|; a zero vector gives 0),
  times the length penalty exp(-(len_h - len_r)^2 / (2 sigma^2)), sigma = 6, lengths in tokens.
- A sample's score is the mean over n of those values, averaged over its references, times 10.
  The corpus score is the mean over samples. Papers usually print it times 100 (0.85 -> 85.0).

Known properties of the reference algorithm, kept: an n-gram found in every sample's references
has idf 0 and counts for nothing, so a corpus of one sample always scores 0, and small corpora
score low; scores are only comparable over the same set of references. coco-caption counts a
caption's length as its number of bigrams; that gives the same differences of lengths as tokens
do, except for an empty caption, which scores 0 either way.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import chain, repeat
from operator import add, mul

from mella_eval.metrics.segment import signature as tokenizer_signature
from mella_eval.metrics.segment import caption_tokens

N_MAX = 4
SIGMA = 6.0
VERSION = "mella-cider-d1"

NGram = tuple[str, ...]


@dataclass(frozen=True)
class CiderResult:
    """`score`: mean of `per_sample` (coco-caption scale, x10 inside; x100 for a paper table)."""

    score: float
    per_sample: list[float]

    def to_dict(self) -> dict:
        return {"score": self.score, "per_sample": list(self.per_sample)}


def ngram_counts(tokens: list[str], n_max: int = N_MAX) -> Counter[NGram]:
    """Counts of every n-gram, n = 1..n_max (n = 1 first, each n in order of first appearance)."""
    counts: Counter[NGram] = Counter()
    for by_n in _counts_by_n(tokens, n_max):
        counts.update(by_n)
    return counts


def _counts_by_n(tokens: list[str], n_max: int = N_MAX) -> list[Counter[NGram]]:
    """Per n-1, the counts of the n-grams; zip builds the tuples in C."""
    return [Counter(zip(*(tokens[k:] for k in range(n)))) for n in range(1, n_max + 1)]


class _GramCodes:
    """The n-grams of one corpus as integers: token ids 1..M, an n-gram the base-(M+1) number
    of its ids. No digit is 0, so the code of an n-gram has n digits: one code per n-gram, also
    across n (the document frequencies mix all n). Integer keys hash and compare faster than
    tuples."""

    def __init__(self, texts):
        tokens = dict.fromkeys(chain.from_iterable(texts))
        self.ids = {t: i for i, t in enumerate(tokens, start=1)}
        self.base = len(self.ids) + 1

    def grams(self, tokens: list[str]) -> list[list[int]]:
        """Per n-1, the codes of the n-grams in text order."""
        grams = ids = list(map(self.ids.__getitem__, tokens))
        out = [ids]
        for n in range(2, N_MAX + 1):  # code of (a..z) = code of (a..y) * (M+1) + id of z
            grams = list(map(add, map(mul, grams, repeat(self.base)), ids[n - 1:]))
            out.append(grams)
        return out


@dataclass(frozen=True)
class _Vector:
    weights: list[dict[int, float]]  # per n-1: n-gram code -> tf * idf
    norms: list[float]  # per n-1: Euclidean norm of weights[n-1]
    length: int  # tokens


def _vector(grams: list[list[int]], idf: dict[int, float], unseen: float) -> _Vector:
    """`idf` holds the n-grams of the references; any other n-gram gets `unseen` (log N).

    Each dict is in order of first appearance, as coco-caption's counts, so the norms (and the
    dot products of `_similarity`) add the same numbers in the same order: bit-identical."""
    get = idf.get
    weights = []
    for by_n in grams:
        w = {g: get(g, unseen) for g in by_n}  # tf 1: 1 * idf is idf
        if len(w) < len(by_n):  # a repeated n-gram: tf * idf
            for g, tf in Counter(by_n).items():
                if tf > 1:
                    w[g] = tf * w[g]
        weights.append(w)
    norms = [math.sqrt(sum(map(mul, w.values(), w.values()))) for w in weights]
    return _Vector(weights, norms, len(grams[0]))


def _similarity(hyp: _Vector, ref: _Vector) -> float:
    """Sum over n of the clipped cosine, times the length penalty (coco-caption's `sim`)."""
    penalty = math.exp(-((hyp.length - ref.length) ** 2) / (2 * SIGMA ** 2))
    total = 0.0
    for h, r, hn, rn in zip(hyp.weights, ref.weights, hyp.norms, ref.norms):
        if hn == 0 or rn == 0:
            continue
        # min(w, rw) * rw in the hypothesis's order (float addition is not associative).
        dot = sum([(w if w <= rw else rw) * rw for g, w in h.items()
                   if (rw := r.get(g)) is not None])
        total += dot / (hn * rn)
    return total * penalty


def cider_d(hypotheses: list[str], references: list[list[str]], lang: str) -> CiderResult:
    """CIDEr-D of `hypotheses[i]` against `references[i]` (one or more strings each).

    `lang` picks the tokenisation (see `segment.tokenize`). The idf comes from the references of
    exactly these samples, so score a whole (task, language) corpus at once, not in batches.
    """
    hyp_tokens, ref_tokens = caption_tokens("cider_d", hypotheses, references, lang)
    codes = _GramCodes(chain(hyp_tokens, chain.from_iterable(ref_tokens)))
    # Each reference's n-grams are cut once, for the document frequencies and its vector.
    ref_grams = [[codes.grams(toks) for toks in refs] for refs in ref_tokens]

    doc_freq: Counter[int] = Counter()
    for refs in ref_grams:  # a sample counts once per n-gram, however many references have it
        doc_freq.update(set(chain.from_iterable(chain.from_iterable(refs))))
    log_n = math.log(len(hypotheses))
    # idf = log N - log max(1, df): one logarithm per distinct df (df >= 1 here), mapped in C.
    by_df = {df: log_n - math.log(max(1, df)) for df in set(doc_freq.values())}
    idf = dict(zip(doc_freq, map(by_df.__getitem__, doc_freq.values())))
    unseen = log_n - math.log(1)  # an n-gram in no reference (df 0 counts as 1)

    per_sample: list[float] = []
    for hyp, refs in zip(hyp_tokens, ref_grams):
        vec = _vector(codes.grams(hyp), idf, unseen)
        total = sum(_similarity(vec, _vector(grams, idf, unseen)) for grams in refs)
        per_sample.append(total / N_MAX / len(refs) * 10.0)
    return CiderResult(score=sum(per_sample) / len(per_sample), per_sample=per_sample)


def signature(lang: str) -> str:
    """What produced a cider value, in sacrebleu's style: tokenizer, constants, version."""
    return (f"tok:{tokenizer_signature(lang)}|punct:drop|case:fold|n:{N_MAX}|sigma:{SIGMA:g}"
            f"|idf:corpus|scale:10|version:{VERSION}")
