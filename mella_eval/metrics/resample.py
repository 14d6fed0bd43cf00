"""Bootstrap resampling of metric values without re-running the metric.

Corpus BLEU / chrF / chrF++ are sums of per-sentence sufficient statistics (n-gram matches,
totals, lengths) pushed through one final formula. sacrebleu extracts those statistics once
(`_extract_corpus_statistics`) and scores any aggregate of them (`_compute_score_from_stats`);
its own paired bootstrap works this way. A resample is a vector of counts (how often each
sentence was drawn), so the statistics of 1000 resamples are one matrix product
`counts @ stats`, and only the final formula runs per resample.

The point value is computed exactly as `mella_eval.metrics.corpus.corpus_score` does (same
sacrebleu object, tokenizer per language, NFC, variable reference counts padded with None): the
two are equal to the last bit, and a test holds them to it.

Sample-kind metrics resample the mean of per-sample values the same way.

numpy and sacrebleu are imported inside functions: this module is imported by CLI commands.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mella_eval.metrics.text import nfc


# (task, lang, corpus metric) corpora kept between scoring and intervals.
STATISTICS_CACHE_SIZE = 4096


@dataclass(frozen=True)
class CorpusStatistics:
    """Per-sentence sufficient statistics of one corpus metric on one (task, lang) corpus."""

    metric: str
    lang: str
    rows: tuple[tuple[int, ...], ...]  # one row per sentence, sacrebleu's layout for the metric
    scorer: Any  # the sacrebleu metric object that extracted them (knows the final formula)
    signature: str

    def __len__(self) -> int:
        return len(self.rows)

    def score(self) -> float:
        """The corpus value, bit-identical to `corpus_score` on the same inputs."""
        return float(self.scorer._aggregate_and_compute([list(row) for row in self.rows]).score)

    def resampled_scores(self, counts) -> "np.ndarray":  # noqa: F821
        """Scores of the resamples given by `counts` (shape (B, n): times sentence i is drawn
        in resample b, or its row blocks). The summed statistics are exact integers (float64 holds integers up to
        2**53), so the result does not depend on the BLAS summation order."""
        import numpy as np

        stats = np.asarray(self.rows, dtype=np.float64)
        # `counts` may also be `count_blocks(...)`: integer sums are exact in any blocking, so
        # the matrix need not be held whole.
        blocks = counts if hasattr(counts, "__next__") else [(0, counts)]
        sums = np.vstack([np.rint(np.asarray(block, dtype=np.float64) @ stats).astype(np.int64)
                          for _, block in blocks])
        compute = self.scorer._compute_score_from_stats
        return np.array([float(compute(row).score) for row in sums.tolist()], dtype=np.float64)


def reference_streams(references) -> list[list[str | None]]:
    """Per-hypothesis reference lists -> sacrebleu reference streams, NFC, None-padded."""
    width = max(len(r) for r in references)
    return [[nfc(r[k]) if k < len(r) else None for r in references] for k in range(width)]


def corpus_statistics(metric: str, lang: str, hypotheses: list[str],
                      references: list[list[str]]) -> CorpusStatistics:
    """Extract the statistics once; `references[i]` are the references of hypothesis i.

    Extraction costs as much as scoring the corpus; results are kept (keyed by the full inputs,
    whose strings the records hold anyway), so scoring a run with `corpus_statistics(...).score()`
    and then computing its intervals extracts each corpus once. The cache holds enough corpora
    for a run of many tasks x languages x corpus metrics: with 32 entries, a run of 40 corpora
    (8 languages, 5 corpus-metric rows) missed on every one the second time, and extraction
    ran twice."""
    if not hypotheses:
        raise ValueError("corpus_statistics needs at least one hypothesis")
    if len(hypotheses) != len(references):
        raise ValueError("one reference list per hypothesis expected")
    from mella_eval.metrics.corpus import bleu_tokenizer_for

    # The tokenizer is part of the key: a fallback (or a newly installed mecab) never reuses
    # statistics extracted with another tokenizer.
    return _statistics(metric, lang, bleu_tokenizer_for(lang), tuple(hypotheses),
                       tuple(tuple(r) for r in references))


@lru_cache(maxsize=STATISTICS_CACHE_SIZE)
def _statistics(metric: str, lang: str, tokenizer: str, hypotheses: tuple[str, ...],
                references: tuple[tuple[str, ...], ...]) -> CorpusStatistics:
    from mella_eval.metrics.corpus import _metric, signature_of

    scorer = _metric(metric, lang)
    hyps = [nfc(h) for h in hypotheses]
    # The same rows as sacrebleu's own _extract_corpus_statistics, n-grams matched with numpy.
    from mella_eval.metrics.ngram_stats import extract_statistics

    rows = extract_statistics(scorer, hyps, reference_streams(references))
    rows = tuple(tuple(int(x) for x in row) for row in rows)
    return CorpusStatistics(metric, lang, rows, scorer, signature_of(metric, lang, scorer))


def stream_seed(seed: int, *key: str) -> list[int]:
    """A seed for one resampling stream: the user's seed plus a stable hash of the key
    (task, lang, ...). Each (task, lang) draws its own resamples, so adding a language or
    reordering rows never changes another language's interval."""
    return [int(seed), *(zlib.crc32(part.encode("utf-8")) for part in key)]


def bootstrap_counts(n: int, n_boot: int, seed: int | list[int], columns=None) -> "np.ndarray":  # noqa: F821
    """(n_boot, n) float64 matrix: row b counts how often each of the n items is drawn in
    bootstrap resample b (n draws with replacement). Same seed -> same matrix. `columns` (a
    permutation of range(n)) puts the columns in that order: the result is `counts[:, columns]`."""
    import numpy as np

    counts = np.empty((n_boot, n), dtype=np.float64)
    for start, block in count_blocks(n, n_boot, seed, columns):
        counts[start:start + len(block)] = block
    return counts


def count_blocks(n: int, n_boot: int, seed: int | list[int], columns=None):
    """`bootstrap_counts`' rows a block at a time: (first row, block). The draws are made per
    block: numpy's Generator keeps its leftover 32 random bits in the bit generator's state, so
    the blocks draw exactly the numbers one (n_boot, n) call draws (tests/test_bootstrap_counts.py)."""
    import numpy as np

    if n < 1:
        raise ValueError("cannot resample zero items")
    rng = np.random.default_rng(seed)
    rows_per_block = max(1, (1 << 18) // n)  # the block's temporaries: ~8 MB
    for start in range(0, n_boot, rows_per_block):
        k = min(rows_per_block, n_boot - start)
        flat = (rng.integers(0, n, size=(k, n)) + (np.arange(k) * n)[:, None]).ravel()
        block = np.bincount(flat, minlength=k * n).reshape(k, n).astype(np.float64)
        yield start, block if columns is None else block[:, columns]


def resampled_means(values, counts) -> "np.ndarray":  # noqa: F821
    """Means of per-sample `values` (length n) under each resample of `counts` (B, n)."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    return (counts @ values) / counts.sum(axis=1)


def percentile_interval(replicates, alpha: float) -> tuple[float, float]:
    """Two-sided percentile interval at level 1 - alpha."""
    import numpy as np

    low, high = np.quantile(np.asarray(replicates, dtype=np.float64), [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
