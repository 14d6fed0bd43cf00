"""Per-sentence BLEU / chrF / chrF++ statistics, vectorised, equal to sacrebleu's.

`extract_statistics(scorer, hyps, ref_streams)` returns exactly the rows of
`scorer._extract_corpus_statistics(hyps, ref_streams)` (same integers, same best-reference
choice) and leaves the scorer as sacrebleu would (`num_refs`, the tokenized-period warning).
sacrebleu builds Counters per sentence and matches them in Python loops; here every n-gram of
the corpus is counted and matched at once with numpy:

- Symbols (characters, or words after sacrebleu's own preprocessing) get exact dense ids; an
  n-gram's key is built order by order as key_{n-1} * V + id (re-ranked densely when the next
  order would overflow int64), so equal keys mean equal n-grams: no hashing, no collisions.
- Sentences are laid out per hypothesis as [hyp, ref 1, ref 2, ...]; one sort of
  (hypothesis, n-gram, slot) codes per order yields each n-gram's count in the hypothesis and
  in each of its references, hence the clipped matches.
- chrF's best reference is chosen with sacrebleu's float arithmetic, operation by operation
  (numpy float64 elementwise ops round as Python floats do), first maximum wins as in its
  strict `>` loop.
- Two small caches (last CACHE_ENTRIES corpora): the preprocessed (for BLEU: tokenized)
  references, reused when another system is scored against them, and chrF's character
  statistics, which chrF++ on the same corpus reuses.

Configurations it does not handle (other metric classes or subclasses, cached references,
hypotheses without any reference, streams of unequal length) go to sacrebleu itself.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import numpy as np

_INT64_LIMIT = 1 << 62  # keep codes clear of int64 overflow


class _TooLarge(Exception):
    """The corpus is too large for int64 n-gram codes (sacrebleu then does it)."""


def extract_statistics(scorer, hyps: list[str],
                       ref_streams: list[list[str | None]]) -> list[list[int]]:
    """Same inputs and output as `scorer._extract_corpus_statistics(hyps, ref_streams)`."""
    from sacrebleu.metrics import BLEU, CHRF

    kind = type(scorer)
    if (kind not in (BLEU, CHRF) or not ref_streams or not hyps
            or any(len(stream) != len(hyps) for stream in ref_streams)):
        return scorer._extract_corpus_statistics(hyps, ref_streams)
    per_hyp = [[r for r in refs if r is not None] for refs in zip(*ref_streams)]
    if any(not refs for refs in per_hyp):  # sacrebleu's own (odd) behaviour there: keep it
        return scorer._extract_corpus_statistics(hyps, ref_streams)

    prep = scorer._preprocess_segment
    prepared = [prep(h) for h in hyps]
    prepared_refs = _prepared_references(scorer, per_hyp)
    rows_of = _bleu_rows if kind is BLEU else _chrf_rows
    try:
        # In chunks of sentences: the rows are per sentence, and the n-gram arrays of a whole
        # corpus at once took ~40 KB per sentence.
        rows = [row for start in range(0, len(prepared), CHUNK_SENTENCES)
                for row in rows_of(scorer, prepared[start:start + CHUNK_SENTENCES],
                                   prepared_refs[start:start + CHUNK_SENTENCES])]
    except _TooLarge:
        return scorer._extract_corpus_statistics(hyps, ref_streams)
    counts = {len(refs) for refs in per_hyp}
    scorer.num_refs = counts.pop() if len(counts) == 1 else -1  # as `_cache_references` sets it
    _warn_tokenized(scorer, hyps)
    return rows


# The last few reference sets, preprocessed: BLEU tokenizes them (the costliest step left), and
# the same references are scored again for another system (paired bootstrap, comparisons).
_REFERENCE_CACHE: OrderedDict = OrderedDict()
# The last few corpora's chrF character statistics: chrF and chrF++ share them.
_CHAR_CACHE: OrderedDict = OrderedDict()
CACHE_ENTRIES = 8  # corpora: e.g. one task's languages
CHUNK_SENTENCES = 256


_CACHE_LOCK = threading.Lock()  # scoring may run in threads


def _cached(cache: OrderedDict, key, compute):
    with _CACHE_LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = compute()
    with _CACHE_LOCK:
        cache[key] = value
        if len(cache) > CACHE_ENTRIES:
            cache.popitem(last=False)
    return value


def _prepared_references(scorer, per_hyp):
    """`scorer._preprocess_segment` of every reference, cached by what decides its output."""
    from sacrebleu.metrics import BLEU

    prep = scorer._preprocess_segment
    if type(scorer) is BLEU:
        config = ("bleu", scorer.lowercase, scorer.tokenizer.signature())
    else:
        config = ("chrf", scorer.lowercase)
    key = (config, tuple(tuple(refs) for refs in per_hyp))
    return _cached(_REFERENCE_CACHE, key, lambda: [[prep(r) for r in refs] for refs in per_hyp])


def _warn_tokenized(scorer, hyps) -> None:
    if scorer._force or sum(h.endswith(" .") for h in hyps) < 100:
        return
    log = logging.getLogger("sacrebleu")
    log.warning("That's 100 lines that end in a tokenized period ('.')")
    log.warning("It looks like you forgot to detokenize your test data, which may hurt your score.")
    log.warning("If you insist your data is detokenized, or don't care, you can suppress this "
                "message with the `force` parameter.")


class _Layout:
    """Sentences in order hyp_0, refs of 0, hyp_1, refs of 1, ...; `owner` and `slot`
    (0: the hypothesis, k: its k-th present reference) per sentence."""

    def __init__(self, hyps, per_hyp):
        self.n = len(hyps)
        self.width = max(len(refs) for refs in per_hyp)
        self.slots = self.width + 1
        self.sentences = []
        owner, slot = [], []
        for j, (hyp, refs) in enumerate(zip(hyps, per_hyp)):
            self.sentences.append(hyp)
            self.sentences.extend(refs)
            owner.extend([j] * (len(refs) + 1))
            slot.extend(range(len(refs) + 1))
        self.owner = np.asarray(owner, dtype=np.int64)
        self.slot = np.asarray(slot, dtype=np.int64)
        self.present = np.zeros((self.n, self.slots), dtype=bool)
        self.present[self.owner, self.slot] = True

    def grid(self, per_sentence):
        """(n, slots) array of a per-sentence quantity; 0 where a reference is absent."""
        out = np.zeros((self.n, self.slots), dtype=np.int64)
        out[self.owner, self.slot] = per_sentence
        return out


class _Symbols:
    """Dense symbol ids of all sentences concatenated, and where each symbol's sentence ends."""

    def __init__(self, ids: np.ndarray, vocab: int, lengths: np.ndarray, layout: _Layout):
        self.ids, self.vocab, self.lengths = ids, vocab, lengths
        ends = np.cumsum(lengths)
        sentence = np.repeat(np.arange(len(lengths)), lengths)
        self.left = ends[sentence] - np.arange(len(ids))  # symbols from here to sentence end
        self.code = layout.owner[sentence] * layout.slots + layout.slot[sentence]
        self.slots, self.owners = layout.slots, layout.n

    def orders(self, max_order: int):
        """Yield (n, runs) for n = 1..max_order; runs: counts of each distinct
        (owner, n-gram, slot), sorted so each (owner, n-gram)'s slots are contiguous, slot 0
        first."""
        key, bound = self.ids.astype(np.int64), max(self.vocab, 1)
        # codes = key * slots_bound + owner * slots + slot; slots_bound a multiple of slots, so
        # code // slots is the (n-gram, owner) group and code % slots the slot
        slots_bound = max(self.owners * self.slots, 1)
        for n in range(1, max_order + 1):
            if n > 1:
                if bound * self.vocab * slots_bound >= _INT64_LIMIT:
                    uniq, key = np.unique(key, return_inverse=True)  # exact re-rank, smaller bound
                    key, bound = key.reshape(-1).astype(np.int64), max(len(uniq), 1)
                    if bound * self.vocab * slots_bound >= _INT64_LIMIT:
                        raise _TooLarge
                key = key[:-1] * self.vocab + self.ids[n - 1:]
                bound *= self.vocab
            valid = self.left[:len(key)] >= n
            codes = np.sort((key * slots_bound + self.code[:len(key)])[valid])
            yield n, _Runs(codes, self.slots, self.owners)


class _Runs:
    def __init__(self, codes: np.ndarray, slots: int, owners: int):
        self.size = len(codes)
        if not self.size:
            return
        change = np.empty(len(codes), dtype=bool)
        change[0] = True
        np.not_equal(codes[1:], codes[:-1], out=change[1:])
        starts = np.flatnonzero(change)
        self.count = np.diff(np.append(starts, len(codes)))
        values = codes[starts]
        group_key = values // slots  # n-gram * owners + owner
        self.slot = values - group_key * slots
        self.owner = group_key % owners
        gchange = np.empty(len(starts), dtype=bool)
        gchange[0] = True
        np.not_equal(group_key[1:], group_key[:-1], out=gchange[1:])
        self.group_start = np.flatnonzero(gchange)
        self.group = np.cumsum(gchange) - 1

    def clipped(self):
        """Per run: min(hypothesis count, this reference's count) of the run's n-gram (0 for
        hypothesis runs and n-grams the hypothesis lacks)."""
        first = self.group_start[self.group]  # slot 0 (the hypothesis) sorts first
        both = (self.slot[first] == 0) & (self.slot != 0)
        return np.where(both, np.minimum(self.count, self.count[first]), 0)


def _char_symbols(strings, layout) -> _Symbols:
    text = "".join(strings)
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    if not len(points):
        return _Symbols(points.astype(np.int64), 1, lengths, layout)
    table = np.zeros(int(points.max()) + 1, dtype=np.int64)
    table[points] = 1
    vocab = int(table.sum())
    table = np.cumsum(table) - 1
    return _Symbols(table[points], vocab, lengths, layout)


def _word_symbols(token_lists, layout) -> _Symbols:
    vocab: dict[str, int] = {}
    get = vocab.setdefault
    ids = [get(t, len(vocab)) for tokens in token_lists for t in tokens]
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    return _Symbols(np.asarray(ids, dtype=np.int64), len(vocab), lengths, layout)


def _matches(symbols: _Symbols, layout: _Layout, max_order: int) -> np.ndarray:
    """(max_order, n, slots): per order, clipped matches of each reference with its hypothesis."""
    out = np.zeros((max_order, layout.n, layout.slots), dtype=np.int64)
    for n, runs in symbols.orders(max_order):
        if runs.size:
            out[n - 1] = np.bincount(runs.owner * layout.slots + runs.slot, weights=runs.clipped(),
                                     minlength=layout.n * layout.slots
                                     ).astype(np.int64).reshape(layout.n, layout.slots)
    return out


def _chrf_rows(scorer, hyps, per_hyp):
    layout = _Layout(hyps, per_hyp)
    if scorer.whitespace:
        chars = layout.sentences
    else:
        chars = ["".join(s.split()) for s in layout.sentences]
    key = (scorer.char_order, tuple(chars), tuple(layout.slot.tolist()))
    char_stats = _cached(_CHAR_CACHE, key, lambda: _order_stats(
        _char_symbols(chars, layout), layout, scorer.char_order))
    parts = [char_stats]
    if scorer.word_order > 0:
        words = [scorer._remove_punctuation(s) for s in layout.sentences]
        parts.append(_order_stats(_word_symbols(words, layout), layout, scorer.word_order))
    stats = np.concatenate(parts, axis=-1)  # (hyp, ref, [hyp, ref, match] * order)
    f = _chrf_f(scorer, stats)
    f = np.where(layout.present[:, 1:], f, -np.inf)
    best = np.argmax(f, axis=1)  # the first highest, as sacrebleu's strict `>` keeps
    return stats[np.arange(layout.n), best].tolist()


def _order_stats(symbols: _Symbols, layout: _Layout, max_order: int) -> np.ndarray:
    """(n, width, 3 * max_order): chrF's [hyp, ref, match] per order of each (hyp, ref)."""
    lengths = layout.grid(symbols.lengths)
    matched = _matches(symbols, layout, max_order)
    # int32: counts are bounded by sentence lengths; halves what the cache holds
    stats = np.zeros((layout.n, layout.width, max_order, 3), dtype=np.int32)
    for n in range(1, max_order + 1):
        totals = np.maximum(lengths - n + 1, 0)
        # sacrebleu: the hypothesis count is 0 against a reference without such n-grams
        stats[:, :, n - 1, 0] = np.where(totals[:, 1:] > 0, totals[:, :1], 0)
        stats[:, :, n - 1, 1] = totals[:, 1:]
        stats[:, :, n - 1, 2] = matched[n - 1][:, 1:]
    stats.flags.writeable = False  # shared through the cache
    return stats.reshape(layout.n, layout.width, 3 * max_order)


def _chrf_f(scorer, stats: np.ndarray) -> np.ndarray:
    """`CHRF._compute_f_score` on every row of stats[..., :], the same float operations in the
    same order."""
    eps = 1e-16
    factor = scorer.beta ** 2
    shape = stats.shape[:-1]
    score = np.zeros(shape)
    avg_prec, avg_rec = np.zeros(shape), np.zeros(shape)
    effective = np.zeros(shape, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(scorer.order):
            n_hyp, n_ref, n_match = (stats[..., 3 * i + c].astype(np.float64) for c in range(3))
            prec = np.where(n_hyp > 0, n_match / n_hyp, eps)
            rec = np.where(n_ref > 0, n_match / n_ref, eps)
            denom = factor * prec + rec
            score += np.where(denom > 0, (1 + factor) * prec * rec / denom, eps)
            both = (n_hyp > 0) & (n_ref > 0)
            avg_prec = np.where(both, avg_prec + prec, avg_prec)
            avg_rec = np.where(both, avg_rec + rec, avg_rec)
            effective += both
        if scorer.eps_smoothing:
            return 100 * score / scorer.order
        avg_prec = np.where(effective > 0, avg_prec / effective, 0.0)
        avg_rec = np.where(effective > 0, avg_rec / effective, 0.0)
        total = avg_prec + avg_rec
        value = (1 + factor) * avg_prec * avg_rec
        value = value / (factor * avg_prec + avg_rec)
        return np.where(total != 0, 100 * value, 0.0)


def _bleu_rows(scorer, hyps, per_hyp):
    layout = _Layout(hyps, per_hyp)
    tokens = [s.split() for s in layout.sentences]
    symbols = _word_symbols(tokens, layout)
    lengths = layout.grid(symbols.lengths)
    max_order = scorer.max_ngram_order
    correct = np.zeros((layout.n, max_order), dtype=np.int64)
    for n, runs in symbols.orders(max_order):
        if runs.size:
            # multi-reference clipping: min(hyp, max over refs) = max over refs of min(hyp, ref)
            best = np.maximum.reduceat(runs.clipped(), runs.group_start)
            correct[:, n - 1] = np.bincount(runs.owner[runs.group_start], weights=best,
                                            minlength=layout.n)
    hyp_len = lengths[:, 0]
    totals = np.maximum(hyp_len[:, None] - np.arange(max_order)[None, :], 0)
    ref_lens = lengths[:, 1:]
    # closest reference length, the shorter one on a tie (`_get_closest_ref_len`)
    diff = np.abs(hyp_len[:, None] - ref_lens)
    rank = np.where(layout.present[:, 1:], diff * (int(ref_lens.max()) + 1) + ref_lens,
                    np.iinfo(np.int64).max)
    ref_len = ref_lens[np.arange(layout.n), np.argmin(rank, axis=1)]
    return np.concatenate([hyp_len[:, None], ref_len[:, None], correct, totals], 1).tolist()
