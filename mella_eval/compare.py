"""`mella-eval compare BASELINE CANDIDATE`: a regression gate with a paired bootstrap.

Exit codes: 0 nothing regressed, 1 at least one (task, lang, metric) regressed (or, with --exact,
any score changed), 2 the runs cannot be compared (comparability.py says what must match) or bad
input. The method: paired_bootstrap.py; JUnit XML: junit.py.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from mella_eval.comparability import (NotComparable, RunData, check_comparable, load_run,  # noqa: F401
                                      metrics_of, signature_differences, tasks_of)
from mella_eval.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, MellaError
from mella_eval.junit import write_junit
from mella_eval.paired_bootstrap import (DEFAULT_ALPHA, DEFAULT_MAX_DROP, DEFAULT_N_BOOT,  # noqa: F401
                                         METRIC_SCALES, Comparison, compare_runs, metric_scale)

EPILOG = f"""examples:
  mella-eval compare results/baseline results/my-checkpoint
  mella-eval compare results/baseline results/my-checkpoint --max-drop 0.5 --junit-xml compare.xml
  mella-eval compare base cand --max-drop 1.0 --max-drop keyword_acc=2 --alpha 0.01
      (keyword_acc may drop 2 points, i.e. 0.02 of its 0-1 share)

exit codes: 0 no regression, 1 a metric regressed (or, with --exact, any score changed), 2 the
runs cannot be compared (different tasks, languages, samples, references, images, prompt hashes,
judges, judge rubrics or metric signatures) or bad input, 3 an internal error.
A metric regressed when it got worse by more than --max-drop points (hundredths of the
metric's maximum: BLEU/chrF points, 0.01 of a 0-1 share; default {DEFAULT_MAX_DROP}) and the
paired bootstrap finds it significant: p < --alpha, with p = share of resamples in which the
candidate is not worse. Failed samples count as empty predictions (corpus metrics) or the
metric's worst value (sample and judge metrics).
"""




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
                        help="also fail (exit 1) when any score differs at all, better or worse: scores "
                             "recomputed from each run's samples.jsonl, and each run's results.json "
                             "checked against them; for drift gates on fixed predictions")
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
        return EXIT_BAD_INPUT

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
    for task in tasks_of(baseline):
        sides = (("baseline", baseline, candidate), ("candidate", candidate, baseline))
        only = [(side, m) for side, run, other in sides
                for m in metrics_of(run, task) if m not in metrics_of(other, task)]
        for side, metric in only:
            print(f"not compared: {task}/{metric} (only the {side} has it)")
        for note in signature_differences(baseline, candidate, task,
                                          [c.metric for c in comparisons if c.task == task], recomputed=True):
            print(f"note: {note}")
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
    changed = exact_differences(baseline, candidate) if getattr(args, "exact", False) else []
    for line in changed:
        print(f"mella-eval: error: score changed (--exact): {line}", file=sys.stderr)
    return EXIT_FAILED if regressed or changed else EXIT_OK


def exact_differences(baseline: RunData, candidate: RunData, tolerance: float = 1e-9) -> list[str]:
    """--exact: every (task, lang, metric) whose score differs, in either direction. Scores are
    recomputed from each run's samples.jsonl (results.json is a summary anyone can edit), and
    each run's recorded results.json values are checked against that recomputation: for the
    baseline a difference means the metric code changed since it was made (drift), for the
    candidate that its results.json does not match its samples."""
    fresh_b, fresh_c = recomputed_scores(baseline), recomputed_scores(candidate)
    out = []
    for key in sorted(set(fresh_b) | set(fresh_c)):
        b, c = fresh_b.get(key), fresh_c.get(key)
        if _differ(b, c, tolerance):
            out.append(f"{'/'.join(key)}: {b} -> {c} (recomputed from samples.jsonl)")
    for side, run, fresh in (("baseline", baseline, fresh_b), ("candidate", candidate, fresh_c)):
        recorded = {(s["task"], s["lang"], s["metric"]): s.get("value") for s in run.results.get("scores", [])}
        why = ("the metric or tokenizer changed since the baseline was made, or results.json was edited"
               if side == "baseline" else "its results.json does not match its samples.jsonl")
        for key in sorted(set(recorded) | set(fresh)):
            if _differ(recorded.get(key), fresh.get(key), tolerance):
                out.append(f"{'/'.join(key)}: the {side}'s results.json records {recorded.get(key)}, its "
                           f"samples.jsonl gives {fresh.get(key)} now: {why}")
    return out


def recomputed_scores(run: RunData) -> dict[tuple[str, str, str], float | None]:
    """Every score of a run, computed here from its samples.jsonl (as a run computes them)."""
    from types import SimpleNamespace

    from mella_eval.metrics.registry import METRICS
    from mella_eval.score import score_records

    tasks = [SimpleNamespace(name=t, metrics=[m for m in metrics_of(run, t) if m in METRICS])
             for t in tasks_of(run)]
    records = [r for group in run.records.values() for r in group.values()]
    return {(row["task"], row["lang"], row["metric"]): row["value"] for row in score_records(tasks, records)}


def _differ(a, b, tolerance: float) -> bool:
    return (a is None) != (b is None) or (a is not None and abs(a - b) > tolerance)


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


