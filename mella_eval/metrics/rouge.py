"""ROUGE-L as coco-caption computes it, on script-aware tokens, scale 0-100.

The algorithm is coco-caption's (`pycocoevalcap/rouge/rouge.py`, `Rouge.calc_score`):

- Hypothesis and references are cut by `segment.tokenize(text, lang, punctuation=False)`, the
  tokens CIDEr-D counts (NFC, casefold, one token per character for Thai/Chinese/Japanese,
  mecab morphemes for Korean, punctuation dropped as coco-caption's PTB tokenizer does).
- For each reference r: LCS = the length of the longest common subsequence of the hypothesis
  and r (tokens, in order, not necessarily adjacent); precision LCS / len(hyp), recall
  LCS / len(r).
- P = the maximum precision over the references, R = the maximum recall (each maximum is taken
  on its own, possibly from different references: coco-caption's rule, not the best F of a pair).
- score = (1 + beta^2) P R / (R + beta^2 P), beta = 1.2; 0 when P or R is 0. An empty
  hypothesis (or one made only of punctuation) scores 0.
- The per-sample score is reported x100 (0-100); the (task, lang) value is the mean over samples.

pycocoevalcap itself splits on spaces; `" ".join(tokens)` of our tokens gives it the same tokens,
and the equality test runs it that way.
"""

from __future__ import annotations

from dataclasses import dataclass

from mella_eval.metrics.segment import signature as tokenizer_signature
from mella_eval.metrics.segment import caption_tokens

BETA = 1.2
SCALE = 100.0
VERSION = "mella-rouge1"


@dataclass(frozen=True)
class RougeResult:
    """`score`: mean of `per_sample`, both 0-100."""

    score: float
    per_sample: list[float]


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence, bit-parallel (Allison & Dix 1986; Hyyroe 2004).

    Bit j of `v` is 0 where the LCS row grows at column j of `b`; one row costs a few big-integer
    operations instead of len(b) Python steps (the dynamic program was quadratic in Python and
    ROUGE-L's largest cost on character-tokenised Thai). Same integer as the dynamic program."""
    if not a or not b:
        return 0
    return _lcs_with(_masks(b), len(b), a)


def _masks(b: list[str]) -> dict[str, int]:
    """Per token of `b`, the bits of the positions where it occurs."""
    masks: dict[str, int] = {}
    for j, token in enumerate(b):
        masks[token] = masks.get(token, 0) | (1 << j)
    return masks


def _lcs_with(masks: dict[str, int], length: int, a: list[str]) -> int:
    """`lcs_length(a, b)` from `_masks(b)`: a row of a token missing from b leaves v as it is,
    so only the tokens of `a` found in b are stepped through."""
    full = (1 << length) - 1
    v = full
    for token in [t for t in a if t in masks]:
        u = v & masks[token]
        v = ((v + u) | (v - u)) & full
    return length - v.bit_count()


def _lcs_length_dp(a: list[str], b: list[str]) -> int:
    """The dynamic program (O(len(a) len(b))), kept as the tests' reference for `lcs_length`."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l_tokens(hypothesis: list[str], references: list[list[str]], beta: float = BETA) -> float:
    """coco-caption's ROUGE-L F of one tokenised hypothesis against its references (0-1)."""
    if not references:
        raise ValueError("rouge_l needs at least one reference")
    if not hypothesis:
        return 0.0
    precisions, recalls = [], []
    masks = _masks(hypothesis)  # once for all references (the LCS is symmetric)
    for reference in references:
        common = _lcs_with(masks, len(hypothesis), reference) if reference else 0
        precisions.append(common / len(hypothesis))
        recalls.append(common / len(reference) if reference else 0.0)
    p, r = max(precisions), max(recalls)
    if p == 0 or r == 0:
        return 0.0
    return ((1 + beta ** 2) * p * r) / (r + beta ** 2 * p)


def rouge_l(hypotheses: list[str], references: list[list[str]], lang: str) -> RougeResult:
    """ROUGE-L of `hypotheses[i]` against `references[i]` (one or more strings each), 0-100."""
    hyp_tokens, ref_tokens = caption_tokens("rouge_l", hypotheses, references, lang)
    per_sample = [SCALE * rouge_l_tokens(tokens, refs)
                  for tokens, refs in zip(hyp_tokens, ref_tokens)]
    return RougeResult(sum(per_sample) / len(per_sample), per_sample)


def signature(lang: str) -> str:
    """What produced a rouge_l value, in sacrebleu's style: tokenizer, constants, version."""
    return (f"tok:{tokenizer_signature(lang)}|punct:drop|case:fold|lcs:max-p-max-r|beta:{BETA}"
            f"|scale:{SCALE:g}|version:{VERSION}")
