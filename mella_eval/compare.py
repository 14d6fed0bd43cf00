"""`mella-eval compare BASELINE CANDIDATE`: a regression gate with a paired bootstrap.

Exit codes: 0 nothing regressed, 1 at least one (task, lang, metric) regressed, 2 the runs cannot
be compared (or bad input).

Comparable means: the same tasks, the same languages per task, the same sample ids per
(task, lang), and per sample the same prompt hash, references and image hashes. Anything else
is a different test, and the gate says which and stops (exit 2): re-baseline on purpose.

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

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mella_eval.errors import MellaError
from mella_eval.results import atomic_write_text

DEFAULT_MAX_DROP = 1.0
DEFAULT_ALPHA = 0.05
DEFAULT_N_BOOT = 1000

EPILOG = f"""examples:
  mella-eval compare results/baseline results/my-checkpoint
  mella-eval compare results/baseline results/my-checkpoint --max-drop 0.5 --junit-xml compare.xml
  mella-eval compare base cand --max-drop 1.0 --max-drop keyword_acc=2 --alpha 0.01
      (keyword_acc may drop 2 points, i.e. 0.02 of its 0-1 share)

exit codes: 0 no regression, 1 a metric regressed, 2 the runs cannot be compared (different
tasks, languages, samples, references, images or prompt hashes) or bad input.
A metric regressed when it got worse by more than --max-drop points (hundredths of the
metric's maximum: BLEU/chrF points, 0.01 of a 0-1 share; default {DEFAULT_MAX_DROP}) and the
paired bootstrap finds it significant: p < --alpha, with p = share of resamples in which the
candidate is not worse. Failed samples count as empty predictions (corpus metrics) or the
metric's worst value (sample and judge metrics).
"""


class NotComparable(MellaError):
    """The two runs are different tests; `reasons` says how."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("runs cannot be compared: " + "; ".join(reasons))


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


@dataclass
class RunData:
    path: Path
    results: dict
    # (task, lang) -> sample id -> samples.jsonl record
    records: dict[tuple[str, str], dict[str, dict]] = field(default_factory=dict)


# CLI -------------------------------------------------------------------------------------------

def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="regression gate: paired bootstrap of a candidate run against a baseline",
        description="Pair the samples of two runs by (task, lang, id), run a paired bootstrap per "
                    "(task, lang, metric) and fail when a metric dropped significantly.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", metavar="BASELINE_DIR", help="run folder of the baseline")
    parser.add_argument("candidate", metavar="CANDIDATE_DIR", help="run folder of the candidate")
    parser.add_argument("--max-drop", action="append", metavar="X|METRIC=X",
                        help=f"tolerated drop in points, hundredths of the metric's maximum "
                             f"(1 BLEU/chrF point, 0.01 of a 0-1 share; default {DEFAULT_MAX_DROP}); "
                             "METRIC=X for one metric; repeatable")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                        help=f"significance level of the one-sided test (default {DEFAULT_ALPHA})")
    parser.add_argument("--n-boot", type=int, default=DEFAULT_N_BOOT,
                        help=f"bootstrap resamples (default {DEFAULT_N_BOOT})")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--exact", action="store_true",
                        help="also fail (exit 1) when any score differs at all, better or worse: for "
                             "drift gates on fixed predictions (a tokenizer or metric change)")
    parser.add_argument("--junit-xml", metavar="FILE",
                        help="also write a JUnit XML report (one testcase per task/lang/metric)")
    parser.set_defaults(func=main)


def main(args) -> int:
    from mella_eval.summary import format_table

    max_drop = parse_max_drop(args.max_drop)
    if not 0 < args.alpha < 1:
        raise MellaError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.n_boot < 1:
        raise MellaError(f"--n-boot must be at least 1, got {args.n_boot}")
    baseline, candidate = load_run(Path(args.baseline)), load_run(Path(args.candidate))
    try:
        comparisons = compare_runs(baseline, candidate, max_drop, alpha=args.alpha,
                                   n_boot=args.n_boot, seed=args.seed)
    except NotComparable as e:
        if args.junit_xml:
            write_junit(Path(args.junit_xml), [], args, reasons=e.reasons)
        print("mella-eval: error: runs cannot be compared:", file=sys.stderr)
        for reason in e.reasons:
            print(f"  - {reason}", file=sys.stderr)
        return 2

    level = f"{100 * (1 - args.alpha):g}% CI"
    rows = [[c.task, c.lang, c.metric, c.n, c.fmt(c.baseline), c.fmt(c.candidate),
             c.fmt(c.delta, True), f"[{c.fmt(c.ci_low, True)}, {c.fmt(c.ci_high, True)}]",
             f"{c.p_worse:.3f}", c.verdict] for c in comparisons]
    print(f"baseline:  {baseline.path} ({baseline.results['run'].get('model')})")
    print(f"candidate: {candidate.path} ({candidate.results['run'].get('model')})\n")
    print(format_table(["task", "lang", "metric", "n", "baseline", "candidate", "delta", level,
                        "p(worse)", "verdict"], rows))
    per_group = {(c.task, c.lang): (c.failed_baseline, c.failed_candidate) for c in comparisons}
    failed_b = sum(b for b, _ in per_group.values())
    failed_c = sum(c for _, c in per_group.values())
    if failed_b or failed_c:
        print(f"\nfailed samples (counted as empty predictions / worst values): baseline {failed_b}, "
              f"candidate {failed_c}")
    for task in _tasks(baseline):
        sides = (("baseline", baseline, candidate), ("candidate", candidate, baseline))
        only = [(side, m) for side, run, other in sides
                for m in _metrics(run, task) if m not in _metrics(other, task)]
        for side, metric in only:
            print(f"not compared: {task}/{metric} (only the {side} has it)")
    excluded = sum(c.excluded for c in comparisons)
    if excluded:
        print(f"pairs left out of sample metrics (ok sample without a value): {excluded}")
    regressed = [c for c in comparisons if c.regressed]
    drops = ", ".join(f"{k}={v:g}" if k else f"{v:g}" for k, v in max_drop.items())
    print(f"\n{len(regressed)} of {len(comparisons)} regressed (max drop {drops} points, "
          f"alpha {args.alpha:g}, "
          f"{args.n_boot} paired bootstrap resamples, seed {args.seed})")
    if args.junit_xml:
        write_junit(Path(args.junit_xml), comparisons, args)
    changed = exact_differences(baseline.results, candidate.results) if getattr(args, "exact", False) else []
    for line in changed:
        print(f"mella-eval: error: score changed (--exact): {line}", file=sys.stderr)
    return 1 if regressed or changed else 0


def exact_differences(baseline: dict, candidate: dict, tolerance: float = 1e-9) -> list[str]:
    """Every (task, lang, metric) whose value differs between two results.json, in either
    direction: on identical predictions any difference is drift in a tokenizer or metric."""
    def values(results):
        return {(s["task"], s["lang"], s["metric"]): s["value"] for s in results["scores"]}
    base, cand = values(baseline), values(candidate)
    out = []
    for key in sorted(set(base) | set(cand)):
        b, c = base.get(key), cand.get(key)
        if (b is None) != (c is None) or (b is not None and abs(b - c) > tolerance):
            out.append(f"{'/'.join(key)}: {b} -> {c}")
    return out


def parse_max_drop(values: list[str] | None) -> dict[str, float]:
    """["1.0", "chrf=0.5"] -> {"": 1.0, "chrf": 0.5}; "" is the default for other metrics."""
    out = {"": DEFAULT_MAX_DROP}
    for value in values or []:
        metric, _, number = value.rpartition("=")
        try:
            drop = float(number)
        except ValueError:
            raise MellaError(f"--max-drop {value!r}: expected a number or METRIC=NUMBER") from None
        if not math.isfinite(drop) or drop < 0:
            raise MellaError(f"--max-drop {value!r}: must be a finite number >= 0")
        out[metric.strip()] = drop
    return out


# Loading and pairing ---------------------------------------------------------------------------

def load_run(path: Path) -> RunData:
    from mella_eval.results import read_results, read_samples

    if path.is_file() and path.name == "results.json":
        path = path.parent
    for name in ("results.json", "samples.jsonl"):
        if not (path / name).is_file():
            raise MellaError(f"{path}: not a run folder (no {name})")
    try:
        results, samples = read_results(path), read_samples(path)
    except (OSError, ValueError) as e:
        raise MellaError(f"{path}: cannot be read ({e})") from None
    run = RunData(path, results)
    for record in samples:
        group = run.records.setdefault((record["task"], record["lang"]), {})
        if record["id"] in group:
            raise MellaError(f"{path / 'samples.jsonl'}: sample {record['task']}/{record['lang']}/"
                             f"{record['id']} appears twice")
        group[record["id"]] = record
    return run


def _sample_diff(what: str, keys: list[str], where: str, consequence: str) -> str:
    return f"{what} differ for {len(keys)} sample(s) of {where} (e.g. id {keys[0]}): {consequence}"


def check_comparable(baseline: RunData, candidate: RunData) -> dict[str, list[str]]:
    """Raise NotComparable with every reason; return the metrics to compare per task."""
    reasons: list[str] = []
    tasks_b = _tasks(baseline)
    tasks_c = _tasks(candidate)
    if set(tasks_b) != set(tasks_c):
        reasons.append(f"tasks differ: baseline has {', '.join(tasks_b) or 'none'}, "
                       f"candidate has {', '.join(tasks_c) or 'none'}")
    metrics: dict[str, list[str]] = {}
    for task in (t for t in tasks_b if t in tasks_c):
        langs_b = sorted(lang for (t, lang) in baseline.records if t == task)
        langs_c = sorted(lang for (t, lang) in candidate.records if t == task)
        if langs_b != langs_c:
            reasons.append(f"languages differ for task {task}: baseline has {', '.join(langs_b)}, "
                           f"candidate has {', '.join(langs_c)}")
        for lang in (lang for lang in langs_b if lang in langs_c):
            where = f"{task}/{lang}"
            rb, rc = baseline.records[(task, lang)], candidate.records[(task, lang)]
            only_b, only_c = sorted(set(rb) - set(rc)), sorted(set(rc) - set(rb))
            if only_b or only_c:
                parts = [f"{len(ids)} only in {side} (e.g. id {ids[0]})"
                         for side, ids in (("baseline", only_b), ("candidate", only_c)) if ids]
                reasons.append(f"samples differ for {where}: {'; '.join(parts)}")
            shared = sorted(set(rb) & set(rc))
            checks = [("prompt hashes", "prompt_hash", "a prompt changed; re-baseline on purpose"),
                      ("references", "references", "the dataset changed; re-baseline on purpose"),
                      ("image hashes", "image_sha256", "the images changed; re-baseline on purpose")]
            for what, key, consequence in checks:
                differing = [i for i in shared if rb[i].get(key) != rc[i].get(key)]
                if differing:
                    reasons.append(_sample_diff(what, differing, where, consequence))
        declared_b = _metrics(baseline, task)
        declared_c = _metrics(candidate, task)
        common = [m for m in declared_b if m in declared_c]
        if not common:
            reasons.append(f"no metric in common for task {task}: baseline has "
                           f"{', '.join(declared_b) or 'none'}, "
                           f"candidate has {', '.join(declared_c) or 'none'}")
        metrics[task] = common
    if reasons:
        raise NotComparable(reasons)
    return metrics


def _tasks(run: RunData) -> list[str]:
    tasks = list(run.results.get("run", {}).get("tasks") or [])
    for task, _ in run.records:
        if task not in tasks:
            tasks.append(task)
    return tasks


def _metrics(run: RunData, task: str) -> list[str]:
    declared = (run.results.get("tasks", {}).get(task) or {}).get("metrics")
    if declared:
        return list(declared)
    return list(dict.fromkeys(s["metric"] for s in run.results.get("scores", []) if s["task"] == task))


# The paired bootstrap --------------------------------------------------------------------------

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
    for task in (t for t in _tasks(baseline) if t in metrics):
        langs = sorted({lang for (t, lang) in baseline.records if t == task}, key=_lang_key)
        for lang in langs:
            ids = sorted(baseline.records[(task, lang)])
            rb = [baseline.records[(task, lang)][i] for i in ids]
            rc = [candidate.records[(task, lang)][i] for i in ids]
            failed_b = sum(not _ok(r) for r in rb)
            failed_c = sum(not _ok(r) for r in rc)
            counts = bootstrap_counts(len(ids), n_boot, stream_seed(seed, task, lang))
            for metric in metrics[task]:
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


# JUnit XML -------------------------------------------------------------------------------------

def write_junit(path: Path, comparisons: list[Comparison], args, reasons: list[str] | None = None) -> None:
    """One testcase per (task, lang, metric), a <failure> for each regression; when the runs
    cannot be compared, one testcase `comparable` with an <error> carrying the reasons."""
    import xml.etree.ElementTree as ET

    suite = ET.Element("testsuite", name="mella-eval compare")
    props = ET.SubElement(suite, "properties")
    for name, value in (("baseline", args.baseline), ("candidate", args.candidate),
                        ("alpha", args.alpha), ("n_boot", args.n_boot), ("seed", args.seed),
                        ("max_drop", ",".join(args.max_drop or [str(DEFAULT_MAX_DROP)]))):
        ET.SubElement(props, "property", name=name, value=str(value))
    failures = errors = 0
    if reasons is not None:
        case = ET.SubElement(suite, "testcase", classname="mella_eval.compare", name="comparable", time="0")
        error = ET.SubElement(case, "error", message="runs cannot be compared", type="NotComparable")
        error.text = "\n".join(reasons)
        errors = 1
    for c in comparisons:
        case = ET.SubElement(suite, "testcase", classname=f"{c.task}.{c.lang}", name=c.metric, time="0")
        detail = (f"{c.metric} {c.task}/{c.lang}: baseline {c.fmt(c.baseline)}, candidate "
                  f"{c.fmt(c.candidate)}, delta {c.fmt(c.delta, True)} (CI [{c.fmt(c.ci_low, True)}, "
                  f"{c.fmt(c.ci_high, True)}], p={c.p_worse:.4f}, n={c.n}); max drop {c.max_drop:g}, "
                  f"alpha {c.alpha:g}")
        if c.regressed:
            failures += 1
            failure = ET.SubElement(case, "failure", type="regression",
                                    message=f"worse by {c.fmt(c.worse_by)} > max drop {c.max_drop:g}")
            failure.text = detail
        else:
            ET.SubElement(case, "system-out").text = f"{c.verdict}: {detail}"
    count = len(comparisons) + (1 if reasons is not None else 0)
    suite.set("tests", str(count))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    root = ET.Element("testsuites", name="mella-eval", tests=str(count), failures=str(failures),
                      errors=str(errors))
    root.append(suite)
    ET.indent(root)
    atomic_write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n'
                      + ET.tostring(root, encoding="unicode") + "\n")
