"""The paired bootstrap behind `mella-eval compare` (comparability is checked in comparability.py).

Per (task, lang, metric), on the samples paired by id:
- delta = candidate - baseline, both recomputed here from samples.jsonl;
- paired bootstrap: resample B index sets (seeded per (task, lang)) and apply each to BOTH runs,
  so sample difficulty cancels; delta_b = candidate_b - baseline_b;
- CI: two-sided percentile interval of delta_b at level 1 - alpha;
- p (one-sided, "is the candidate worse?"): p = (1 + #{b : delta_b >= 0}) / (1 + B), the
  bootstrap share of resamples in which the candidate is NOT worse (the +1 keeps p > 0);
- regressed: the candidate is worse by more than max_drop AND p < alpha (practically and
  statistically significant). Note: a one-sided test at alpha matches the 1 - 2*alpha two-sided
  interval, so a regression's displayed 95% interval can just touch 0.
For a metric where lower is better (wrong_lang_rate) "worse" and "not worse" flip: p is the share
of resamples with delta_b <= 0, and a rise is the regression.
Each (task, lang, metric) is its own test, with no multiple-comparison correction: of 24 tests
at alpha 0.05 a chance "significant" drop is likely, so --max-drop (not alpha) is what keeps
noise from failing the gate; lower --alpha for a stricter test.

Failed samples (status not "ok" in a run) are not dropped, or a candidate that fails more would
look better: for corpus metrics a failed sample is an empty prediction "" (it still adds its
references' length, so the brevity penalty and recall fall); for sample and judge metrics it
gets the metric's worst value (0, or the maximum for a lower-is-better rate). A sample that
generated fine but has no value for a sample metric (e.g. a failed judge call) is left out of
that metric's pairing in both runs: that is not the model's doing. So values here can differ
from results.json, which leaves failed samples out.

--max-drop is in points: hundredths of the metric's maximum, so one number means the same for
every metric: 1.0 is 1 BLEU/chrF point (0-100), 0.01 of a share (keyword_acc, rates, 0-1) and
0.05 of a 0-5 judge score. Default 1.0. A per-metric value may be given as METRIC=X (repeatable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mella_eval.comparability import RunData, check_comparable, tasks_of
from mella_eval.errors import MellaError

DEFAULT_MAX_DROP = 1.0
DEFAULT_ALPHA = 0.05
DEFAULT_N_BOOT = 1000


@dataclass
class Comparison:
    task: str
    lang: str
    metric: str
    n: int
    baseline: float
    candidate: float
    delta: float
    ci_low: float
    ci_high: float
    p_worse: float  # one-sided p that the candidate is worse (see module doc)
    p_better: float  # the mirror image, for "improved"
    max_drop: float  # in metric units
    alpha: float
    higher_is_better: bool = True
    scale: float = 100.0  # the metric's maximum
    failed_baseline: int = 0
    failed_candidate: int = 0
    excluded: int = 0  # sample metrics: pairs left out (no value, not a generation failure)

    @property
    def worse_by(self) -> float:
        return -self.delta if self.higher_is_better else self.delta

    @property
    def regressed(self) -> bool:
        return self.worse_by > self.max_drop and self.p_worse < self.alpha

    @property
    def verdict(self) -> str:
        if self.regressed:
            return "REGRESSED"
        if self.p_worse < self.alpha and self.worse_by > 0:
            return "worse, within --max-drop"
        if self.worse_by > self.max_drop:
            return "worse, not significant"
        if self.p_better < self.alpha and self.worse_by < 0:
            return "improved"
        return "ok"

    def fmt(self, value: float, sign: bool = False) -> str:
        digits = 2 if self.scale >= 100 else 3
        return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


# (maximum value, higher is better) of the registered metrics. A MetricSpec attribute
# `max_value` / `higher_is_better`, where the registry has one, wins.
METRIC_SCALES = {"bleu": (100.0, True), "chrf": (100.0, True), "chrf++": (100.0, True),
                 "cider": (10.0, True), "llava_relative": (100.0, True), "xchat_score": (5.0, True),
                 "llava_candidate_score": (10.0, True), "llava_reference_score": (10.0, True),
                 "keyword_acc": (1.0, True), "thick_rate": (1.0, True), "wrong_lang_rate": (1.0, False),
                 "judge_thickness": (5.0, True), "judge_faithfulness": (5.0, True),
                 "judge_fluency": (5.0, True)}


def metric_scale(name: str) -> tuple[float, bool]:
    """(maximum value, higher is better); unknown metrics: corpus 0-100, judge_* 0-5, else 0-1."""
    from mella_eval.metrics.registry import METRICS

    spec = METRICS.get(name)
    if name in METRIC_SCALES:
        maximum, higher = METRIC_SCALES[name]
    else:
        maximum = 100.0 if spec and spec.kind == "corpus" else 5.0 if name.startswith("judge_") else 1.0
        higher = True
    return (float(getattr(spec, "max_value", maximum) or maximum),
            bool(getattr(spec, "higher_is_better", higher)))


def compare_runs(baseline: RunData, candidate: RunData,
                 max_drop: dict[str, float] | float = DEFAULT_MAX_DROP, alpha: float = DEFAULT_ALPHA,
                 n_boot: int = DEFAULT_N_BOOT, seed: int = 0) -> list[Comparison]:
    """Every (task, lang, metric) of the two runs; `max_drop` in points ({"": default, METRIC: x})."""
    import numpy as np

    from mella_eval.metrics.registry import METRICS
    from mella_eval.metrics.resample import (bootstrap_counts, corpus_statistics, percentile_interval,
                                             resampled_means, stream_seed)

    if not isinstance(max_drop, dict):
        max_drop = {"": float(max_drop)}
    metrics = check_comparable(baseline, candidate)
    unknown = sorted({m for ms in metrics.values() for m in ms if m not in METRICS})
    if unknown:
        raise MellaError(f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(METRICS)}")

    out: list[Comparison] = []
    for task in (t for t in tasks_of(baseline) if t in metrics):
        langs = sorted({lang for (t, lang) in baseline.records if t == task}, key=_lang_key)
        for lang in langs:
            ids = sorted(baseline.records[(task, lang)])
            rb = [baseline.records[(task, lang)][i] for i in ids]
            rc = [candidate.records[(task, lang)][i] for i in ids]
            failed_b = sum(not _ok(r) for r in rb)
            failed_c = sum(not _ok(r) for r in rc)
            counts = bootstrap_counts(len(ids), n_boot, stream_seed(seed, task, lang))
            # The reference protocol's pycocoevalcap corpus scores have no per-sample statistics to
            # pair; --exact still compares their values.
            for metric in (m for m in metrics[task] if METRICS[m].kind != "reference_corpus"):
                scale, higher = metric_scale(metric)
                excluded = 0
                if METRICS[metric].kind == "ratio":
                    value_b, value_c, deltas, excluded = _ratio_deltas(METRICS[metric], rb, rc, n_boot,
                                                                       stream_seed(seed, task, lang, metric))
                elif METRICS[metric].kind == "corpus":
                    refs = [r["references"] for r in rb]
                    sb = corpus_statistics(metric, lang, [_hypothesis(r) for r in rb], refs)
                    sc = corpus_statistics(metric, lang, [_hypothesis(r) for r in rc], refs)
                    value_b, value_c = sb.score(), sc.score()
                    deltas = sc.resampled_scores(counts) - sb.resampled_scores(counts)
                else:
                    worst = 0.0 if higher else scale
                    pairs = [(_sample_metric(b, metric, worst), _sample_metric(c, metric, worst))
                             for b, c in zip(rb, rc)]
                    kept = [(b, c) for b, c in pairs if b is not None and c is not None]
                    excluded = len(pairs) - len(kept)
                    if not kept:
                        raise MellaError(f"{task}/{lang}/{metric}: no sample has a value in both runs; "
                                         "nothing to compare")
                    vb = np.array([b for b, _ in kept])
                    vc = np.array([c for _, c in kept])
                    value_b, value_c = math.fsum(vb) / len(vb), math.fsum(vc) / len(vc)
                    sub = counts if not excluded else bootstrap_counts(
                        len(kept), n_boot, stream_seed(seed, task, lang, metric))
                    deltas = resampled_means(vc, sub) - resampled_means(vb, sub)
                low, high = percentile_interval(deltas, alpha)
                gains = deltas if higher else -deltas
                p_worse = (1 + int(np.sum(gains >= 0))) / (1 + n_boot)
                p_better = (1 + int(np.sum(gains <= 0))) / (1 + n_boot)
                points = max_drop.get(metric, max_drop[""])
                out.append(Comparison(
                    task, lang, metric, len(ids) - excluded, value_b, value_c, value_c - value_b,
                    low, high, p_worse, p_better, points * scale / 100.0, alpha, higher, scale,
                    failed_b, failed_c, excluded))
    return out


def _ratio_deltas(spec, rb: list[dict], rc: list[dict], n_boot: int, seed: int):
    """A ratio of sums (LLaVA-Bench): paired over samples with both values in both runs; a failed
    candidate sample keeps the baseline's denominator with a numerator of 0 (the worst)."""
    from mella_eval.aggregate import sample_value
    from mella_eval.metrics.resample import bootstrap_counts, resampled_means

    num, den = spec.ratio_of
    kept = []
    for b, c in zip(rb, rc):
        bn, bd = sample_value(b, num), sample_value(b, den)
        if bn is None or bd is None:
            continue
        if not _ok(c):
            kept.append((bn, bd, 0.0, bd))
            continue
        cn, cd = sample_value(c, num), sample_value(c, den)
        if cn is not None and cd is not None:
            kept.append((bn, bd, cn, cd))
    if not kept:
        raise MellaError(f"{spec.name}: no sample has a value in both runs; nothing to compare")
    cols = list(zip(*kept))
    counts = bootstrap_counts(len(kept), n_boot, seed)
    ratio = lambda n, d: spec.scale * resampled_means(list(n), counts) / resampled_means(list(d), counts)  # noqa: E731
    value_b = spec.scale * math.fsum(cols[0]) / math.fsum(cols[1])
    value_c = spec.scale * math.fsum(cols[2]) / math.fsum(cols[3])
    return value_b, value_c, ratio(cols[2], cols[3]) - ratio(cols[0], cols[1]), len(rb) - len(kept)


def _lang_key(lang: str) -> tuple:
    from mella_eval.leaderboard import lang_sort_key

    return lang_sort_key(lang)


def _ok(record: dict) -> bool:
    return record["status"] == "ok" and record["prediction"] is not None


def _hypothesis(record: dict) -> str:
    """Corpus metrics: a failed sample is an empty prediction (see module doc)."""
    return record["prediction"] if _ok(record) else ""


def _sample_metric(record: dict, metric: str, worst: float) -> float | None:
    """Sample and judge metrics: a failed sample gets the worst value; an ok sample without a
    value (e.g. a failed judgement) is None and left out of the pairing."""
    from mella_eval.aggregate import sample_value

    if not _ok(record):
        return worst
    return sample_value(record, metric)


