"""Phase 5: confidence intervals for the score rows, and pandas views of results.

`add_confidence_intervals` adds `ci_low` / `ci_high` to every score row (task, lang, metric) by a
seeded percentile bootstrap over that (task, lang)'s scored samples:
- corpus metrics (BLEU, chrF, chrF++): the corpus is resampled and the metric recomputed from
  summed per-sentence statistics (`mella_eval.metrics.resample`), exactly as sacrebleu does;
- sample and judge metrics: the mean of the per-sample values (`record["metrics"][metric]`) is
  resampled.
The samples used are the ones the value was computed from (`score.py`'s rule: corpus metrics
use samples with status ok and a prediction; the others, samples with a per-sample value), and
the point value is recomputed and checked against the row: an interval around a different value
would be a bug, so a mismatch raises.

Each (task, lang) draws its own resamples from `seed` and a stable hash of (task, lang), shared by
all of its metrics: same inputs -> identical numbers, and adding a language never moves another
language's interval. Per-task macro rows (optional) get a stratified interval: replicate b of the
macro mean is the mean over languages of each language's replicate b.

A row without a value keeps `ci_low`/`ci_high` None and always carries an `error`: nothing is
left as a silent blank.
"""

from __future__ import annotations

import math

from mella_eval.metrics.resample import (bootstrap_counts, corpus_statistics, count_blocks,
                                         percentile_interval, resampled_means, stream_seed)
from mella_eval.metrics.text import scored_prediction

BOOTSTRAP_METHOD = ("percentile bootstrap over the samples of each (task, lang); corpus metrics "
                    "recomputed from resampled per-sentence sacrebleu statistics, sample metrics "
                    "as the mean of resampled per-sample values; resamples seeded per (task, lang) "
                    "from `seed`; macro intervals stratified by language")


def bootstrap_record(n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> dict:
    """What results.json records under "bootstrap"."""
    return {"n_boot": n_boot, "seed": seed, "alpha": alpha, "confidence": 1 - alpha,
            "method": BOOTSTRAP_METHOD}


def scorable(records: list[dict]) -> list[dict]:
    """The records a corpus metric is computed from (the rule of `score.score_records`)."""
    return [r for r in records if r["status"] == "ok" and r["prediction"] is not None]


def sample_value(record: dict, metric: str) -> float | None:
    """A record's per-sample value of `metric`, or None when it has none."""
    value = (record.get("metrics") or {}).get(metric)
    if value is None or isinstance(value, str):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def add_confidence_intervals(scores: list[dict], records: list[dict], metric_kinds: dict[str, str],
                             n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
                             macro: list[dict] | None = None) -> dict:
    """Add `ci_low`, `ci_high` to each row of `scores` (and of `macro`, if given) in place.

    `metric_kinds` maps metric name -> "corpus" | "sample" | "judge" (`METRICS[name].kind`;
    judge metrics are per-sample values too). Returns the `bootstrap_record` to store in
    results.json.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    by_key: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        by_key.setdefault((record["task"], record["lang"]), []).append(record)
    replicates: dict[tuple[str, str, str], object] = {}

    def counts_for(task: str, lang: str, ids: list[str], *extra: str, blocks: bool = False):
        """Resample counts for samples `ids` (in record order). They are drawn for the samples
        in id order and then put in record order: the order of samples.jsonl changes nothing,
        and the corpus keeps the order it was scored in (its statistics are then cached).
        `blocks`: the rows a block at a time (`count_blocks`), for exact integer sums; a mean of
        floats takes the whole matrix, so its sums are added in one fixed order."""
        order = sorted(range(len(ids)), key=lambda j: ids[j])
        rank = [0] * len(ids)
        for k, j in enumerate(order):
            rank[j] = k
        make = count_blocks if blocks else bootstrap_counts
        return make(len(ids), n_boot, stream_seed(seed, task, lang, *extra), columns=rank)

    for row in scores:
        row["ci_low"] = row["ci_high"] = None
        where = f"{row['task']}/{row['lang']}/{row['metric']}"
        kind = metric_kinds.get(row["metric"])
        if kind not in ("corpus", "sample", "judge", "ratio"):
            raise ValueError(f"{where}: unknown metric kind {kind!r} (expected corpus, sample, judge or ratio)")
        group = by_key.get((row["task"], row["lang"]), [])
        if row["value"] is None and row.get("error"):
            continue  # nothing to resample; recomputing a metric that failed would fail again
        if kind == "corpus":
            ok = scorable(group)
            used, reps, value = ok, None, None
            if ok:
                stats = corpus_statistics(row["metric"], row["lang"], [scored_prediction(r) for r in ok],
                                          [r["references"] for r in ok])
                value = stats.score()
                if row["value"] is not None:
                    reps = stats.resampled_scores(counts_for(row["task"], row["lang"],
                                                             [r["id"] for r in ok], blocks=True))
        elif kind == "ratio":
            used, reps, value = _ratio(row, group, counts_for)
        else:
            # In id order: the resampled sums then add the same numbers in the same order
            # whatever the order of samples.jsonl (bit-identical intervals).
            pairs = sorted(((r["id"], sample_value(r, row["metric"])) for r in group
                            if sample_value(r, row["metric"]) is not None), key=lambda p: p[0])
            values = [v for _, v in pairs if v is not None]
            used, reps, value = values, None, None
            if values:
                value = math.fsum(values) / len(values)
                if row["value"] is not None:
                    # Its own stream: which samples have a value differs from metric to metric.
                    counts = counts_for(row["task"], row["lang"],
                                        [i for i, v in pairs if v is not None], row["metric"])
                    reps = resampled_means(values, counts)
        if row["value"] is None:
            if not row.get("error"):
                row["error"] = (f"no sample could be scored ({len(group) - len(used)} failed)"
                                if not used else "no value")
            continue
        if not used:
            raise ValueError(f"{where}: the score row has value {row['value']!r} but no sample "
                             "has a value to resample")
        if not math.isclose(value, row["value"], rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError(f"{where}: the score row's value {row['value']!r} is not the value of "
                             f"its samples ({value!r}); the interval would not belong to it")
        row["ci_low"], row["ci_high"] = percentile_interval(reps, alpha)
        replicates[(row["task"], row["lang"], row["metric"])] = reps

    for row in macro or []:
        _macro_interval(row, replicates, alpha)
    return bootstrap_record(n_boot, seed, alpha)


def _ratio(row: dict, group: list[dict], counts_for):
    """A ratio of sums: the point value and its resampled values over the same sample pairs."""
    from mella_eval.metrics.registry import METRICS
    from mella_eval.score import ratio_pairs

    spec = METRICS[row["metric"]]
    numerator, denominator = spec.ratio_of
    kept = [r for r in group if numerator in r["metrics"] and denominator in r["metrics"]]
    pairs = ratio_pairs(spec, kept)
    if not pairs or sum(d for _, d in pairs) <= 0:
        return pairs, None, None
    value = spec.scale * math.fsum(n for n, _ in pairs) / math.fsum(d for _, d in pairs)
    reps = None
    if row["value"] is not None:
        counts = counts_for(row["task"], row["lang"], [r["id"] for r in kept], row["metric"])
        nums = resampled_means([n for n, _ in pairs], counts)
        dens = resampled_means([d for _, d in pairs], counts)
        # Reference scores are >= 1 (the judge's scale), so no resample divides by zero.
        reps = spec.scale * nums / dens
    return pairs, reps, value


def _macro_interval(row: dict, replicates: dict, alpha: float) -> None:
    import numpy as np

    row["ci_low"] = row["ci_high"] = None
    missing = [lang for lang in row["langs"] if (row["task"], lang, row["metric"]) not in replicates]
    if row["value"] is None or missing:
        if row["value"] is None and not row.get("error"):
            row["error"] = (f"no value for language(s) {', '.join(missing)}" if missing
                            else "no value")
        return
    stacked = np.vstack([replicates[(row["task"], lang, row["metric"])] for lang in row["langs"]])
    row["ci_low"], row["ci_high"] = percentile_interval(stacked.mean(axis=0), alpha)


# pandas views ---------------------------------------------------------------------------------

SCORE_COLUMNS = ["run", "model", "task", "lang", "metric", "value", "ci_low", "ci_high", "n",
                 "failed", "error"]


def scores_frame(results: dict | list[dict]):
    """One row per (run, task, lang, metric) from one or several results.json dicts."""
    import pandas as pd

    rows = []
    for result in [results] if isinstance(results, dict) else results:
        run = result.get("run", {})
        for score in result.get("scores", []):
            rows.append({"run": run.get("name"), "model": run.get("model"),
                         **{k: score.get(k) for k in SCORE_COLUMNS[2:]}})
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def macro_frame(results: dict | list[dict]):
    """One row per (run, task, metric) macro mean."""
    import pandas as pd

    columns = ["run", "model", "task", "metric", "value", "ci_low", "ci_high", "n", "langs", "error"]
    rows = []
    for result in [results] if isinstance(results, dict) else results:
        run = result.get("run", {})
        for score in result.get("macro", {}).get("scores", []):
            rows.append({"run": run.get("name"), "model": run.get("model"),
                         **{k: score.get(k) for k in columns[2:]}})
    return pd.DataFrame(rows, columns=columns)


def samples_frame(records: list[dict]):
    """One row per sample; each per-sample metric value becomes a `metric:NAME` column."""
    import pandas as pd

    base = ["task", "lang", "id", "status", "reason", "prediction", "prompt_hash"]
    names: list[str] = []
    for record in records:
        for name in record.get("metrics") or {}:
            if name not in names:
                names.append(name)
    rows = [{**{k: r.get(k) for k in base}, "n_references": len(r.get("references") or []),
             **{f"metric:{m}": sample_value(r, m) for m in names}} for r in records]
    return pd.DataFrame(rows, columns=base + ["n_references"] + [f"metric:{m}" for m in names])
