"""The statistical part of the output-language check: py3langid's naive Bayes model over byte
n-grams, restricted to the task languages, scored for many texts in one numpy pass with
py3langid's own arithmetic (the same probabilities, bit for bit: tests/test_langid_verdicts.py).
The rules that decide a verdict are in mella_eval/langid.py.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache

import numpy as np

from mella_eval.errors import MellaError
from mella_eval.languages import LANGUAGES


@lru_cache(maxsize=1)
def _model():
    """py3langid's model, restricted to the task languages (and those accepted for them): an
    answer is told apart among the languages evaluated, not among 142 (Galician for Spanish,
    Macedonian for Bulgarian were its usual slips on short sentences)."""
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        raise MellaError("the output-language check needs the `py3langid` package (>=0.4): "
                         "pip install 'py3langid>=0.4'") from None
    from mella_eval.langid import _LABEL_CODE, accepted_langs

    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    label_of = {code: label for label, code in _LABEL_CODE.items()}
    wanted = {label_of.get(c, c) for code in LANGUAGES for c in accepted_langs(code)}
    model.set_languages(sorted(wanted & set(model.nb_classes)))
    return model


@lru_cache(maxsize=1)
def model_labels() -> frozenset[str]:
    """The languages (our codes) the model can name."""
    from mella_eval.langid import _LABEL_CODE

    return frozenset(_LABEL_CODE.get(label, label) for label in _model().nb_classes)


_PROBS: dict[str, dict[str, float]] = {}  # text -> _model_probs(text), filled in batches
_PROBS_MAX = 8192  # ~4 KB each


@lru_cache(maxsize=1)
def _tables(model):
    """The model's arrays as the batch scorer uses them: the feature table in float32 (the
    exact values matmul would cast its float16 to anyway), the DFA rows, and per code of ours
    the column rank() reports (the first of aliased labels, which holds their merged score)."""
    from mella_eval.langid import _LABEL_CODE

    columns: dict[str, int] = {}
    for i, label in enumerate(model.nb_classes):
        columns.setdefault(_LABEL_CODE.get(label, label), i)
    return (np.ascontiguousarray(model.nb_ptc, dtype=np.float32), np.asarray(model._rowbase, dtype=np.int64),
            np.asarray(model.tk_output, dtype=np.int64), tuple(columns),
            np.fromiter(columns.values(), dtype=np.intp))


def _scores(model, table: np.ndarray, feats: list[np.ndarray], n_bytes: np.ndarray) -> np.ndarray:
    """py3langid's `_decide` for texts given their DFA features in byte order: each raw score
    from the same arrays in the same order as its Counter-based code (same floats); the
    softmax and alias folding elementwise over all rows at once."""
    scores = np.zeros((len(feats), len(model.nb_classes)), dtype=np.float32)
    for row, f in enumerate(feats):
        if f.size:  # featureless text: 0.0 everywhere, as under norm_probs
            visits = Counter(f.tolist())
            idx = np.fromiter(visits.keys(), dtype=np.intp, count=len(visits))
            counts = np.fromiter(visits.values(), dtype=np.float32, count=len(visits))
            scores[row] = np.log1p(counts) @ table.take(idx, axis=0) + model.nb_pc  # = table[idx]
    scale = np.array([1.0 / math.sqrt(n or 1) for n in n_bytes.tolist()], dtype=np.float32)
    scores *= scale[:, None]
    np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    for i, j in model._alias_pairs:
        scores[:, i] += scores[:, j]
        scores[:, j] = 0.0
    return scores


def prefetch_model(texts) -> None:
    """Model probabilities of many texts in one pass: the byte DFA is walked for all texts
    together, one numpy step per byte position instead of one Python step per byte per text."""
    model = _model()
    todo = list(dict.fromkeys(t for t in texts if t not in _PROBS))
    if len(_PROBS) + len(todo) > _PROBS_MAX:
        _PROBS.clear()
    encoded = [model._encode(t) for t in todo]
    nm = np.frombuffer(model.tk_nextmove, dtype=np.dtype(model.tk_nextmove.typecode))
    table, rowbase, out, codes, columns = _tables(model)
    order = sorted(range(len(todo)), key=lambda i: len(encoded[i]))  # little padding per chunk
    for start in range(0, len(order), 256):
        chunk = order[start:start + 256]
        lengths = np.array([len(encoded[i]) for i in chunk], dtype=np.int64)
        grid = np.zeros((len(chunk), int(lengths.max())), dtype=np.int64)
        for row, i in enumerate(chunk):
            grid[row, :lengths[row]] = np.frombuffer(encoded[i], dtype=np.uint8)
        feats = np.empty_like(grid)
        state = np.zeros(len(chunk), dtype=np.int64)
        for j in range(grid.shape[1]):
            state = nm[rowbase[state] + grid[:, j]]
            feats[:, j] = out[state]
        rows = [f[f >= 0] for f in (feats[r, :n] for r, n in enumerate(lengths.tolist()))]
        for i, probs in zip(chunk, _scores(model, table, rows, lengths)[:, columns].tolist()):
            _PROBS[todo[i]] = dict(zip(codes, probs))


def _model_probs(text: str) -> dict[str, float]:
    """Our code -> probability (what py3langid's rank() gives, one entry per code)."""
    if text not in _PROBS:
        prefetch_model([text])
    return _PROBS[text]
