"""`mella-eval merge DIR... -o OUT`: one run from the shards of a `--shard i/N` run.

Corpus metrics, confidence intervals and macro means are recomputed from the merged samples
(never averaged across shards), so the merged results equal those of an unsharded run; only
`run.execution` (times, request counts) and the output names differ. Shards of different tasks,
prompts, models or settings are refused, and missing shards are named. A shard that lost (or
gained) rows is refused too: each shard's samples.jsonl must hold what its results.json counted,
and every sample must be in the shard that `--shard i/N` assigns it to.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from types import SimpleNamespace

from mella_eval.errors import MellaError, OutputError

# Config keys that legitimately differ between the shards of one run.
PER_SHARD_CONFIG = ("shard", "output_dir", "run_name", "cache_dir", "use_cache")
# What must be equal across shards (beyond the config).
SAME_ACROSS_SHARDS = (("run", "model"), ("run", "backend"), ("run", "model_identity"), ("run", "tasks"),
                      ("run", "langs"), ("tasks",), ("judge", "identity"), ("judge", "rubrics"),
                      ("judge", "max_failure_rate"), ("schema_version",))

EPILOG = """examples:
  mella-eval merge results/run-shard-0 results/run-shard-1 results/run-shard-2 -o results/run
  mella-eval merge results/run-shard-* -o results/run
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "merge", help="merge the run folders of --shard i/N runs into one run",
        description="Rebuild one run from its shards: samples concatenated, every score "
                    "recomputed from them (not averaged).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shard_dirs", nargs="+", metavar="DIR", help="run folders of the shards")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="folder of the merged run")
    parser.set_defaults(func=main)


def main(args) -> int:
    out = merge_runs([Path(d) for d in args.shard_dirs], Path(args.output))
    print(f"merged {len(args.shard_dirs)} shard(s) into {out / 'results.json'}")
    return 0


def merge_runs(dirs: list[Path], out: Path) -> Path:
    from mella_eval.judge import judge_counts
    from mella_eval.results import read_results, read_samples, write_run
    from mella_eval.score import record_counts, rescore_whole_corpus_metrics, summarize

    shards = []
    for d in dirs:
        if not (d / "results.json").is_file() or not (d / "samples.jsonl").is_file():
            raise MellaError(f"{d}: not a run folder (results.json and samples.jsonl expected)")
        try:
            shards.append((d, read_results(d), read_samples(d)))
        except (ValueError, UnicodeDecodeError) as e:
            raise MellaError(f"{d}: unreadable results ({e})") from None
    _check_shards(shards)
    for d, results, recs in shards:
        _check_counts(d, results, recs)
    first = shards[0][1]

    order_task = {t: i for i, t in enumerate(first["run"]["tasks"])}
    order_lang = {lang: i for i, lang in enumerate(first["run"]["langs"])}
    records = [r for _, _, recs in shards for r in recs]
    seen: dict[tuple, Path] = {}
    for d, _, recs in shards:
        for r in recs:
            key = (r["task"], r["lang"], r["id"])
            if key in seen:
                raise MellaError(f"sample {'/'.join(key)} is in both {seen[key]} and {d}: not shards of one run")
            seen[key] = d
    _check_assignment(shards)
    records.sort(key=lambda r: (order_task[r["task"]], order_lang[r["lang"]], r["id"]))

    tasks = [SimpleNamespace(name=name, metrics=info["metrics"], breakdown=info.get("breakdown"),
                             protocol=info.get("protocol", "mella"))
             for name, info in first["tasks"].items()]
    config = dict(first["run"]["config"])
    config.update(shard=None, output_dir=str(out.parent), run_name=out.name)
    run = dict(first["run"])
    run.update(name=out.name, config=config,
               counts={**record_counts(records), **_sum_counts([s[1]["run"]["counts"] for s in shards])},
               execution=_merge_execution(shards))
    # Per-sample values that depend on the whole corpus (CIDEr-D's idf) used each shard's part.
    rescore_whole_corpus_metrics(tasks, records)
    results = {"schema_version": first["schema_version"], "run": run, "tasks": first["tasks"],
               **summarize(tasks, records, config.get("seed", 0))}
    if "failures" in first:
        from mella_eval.evaluator import failure_summary

        results["failures"] = failure_summary(records, config.get("max_failure_rate", 0.0))
    if "judge" in first:
        judged_tasks = [name for name, info in first["tasks"].items() if info.get("judge")]
        judged = sum(s[1]["judge"]["judged"] for s in shards)
        failed = sum(s[1]["judge"]["failed"] for s in shards)
        results["judge"] = {
            **first["judge"],
            "usage": {k: sum(s[1]["judge"]["usage"].get(k, 0) for s in shards)
                      for k in ("prompt_tokens", "completion_tokens")},
            "counts": judge_counts(records, judged_tasks),
            "judged": judged, "failed": failed,
            "failure_rate": round(failed / judged, 6) if judged else 0.0,
        }
        if "reliability" in first["judge"]:  # repeats, orders, panels: over all merged records
            from mella_eval.judge_reliability import recompute_reliability

            results["judge"]["reliability"] = recompute_reliability(first["judge"]["reliability"], records)
        if "injection_suspected" in first["judge"]:  # counted per shard: the sum, not the first's
            results["judge"]["injection_suspected"] = sum(
                s[1]["judge"].get("injection_suspected", 0) for s in shards)
    try:
        write_run(out, results, records)
        from mella_eval.submission import write_submissions

        write_submissions(out, tasks, records)
        for d, _, _ in shards:  # thumbnails for the report
            if (d / "thumbs").is_dir():
                (out / "thumbs").mkdir(parents=True, exist_ok=True)
                for thumb in (d / "thumbs").glob("*.jpg"):
                    if not (out / "thumbs" / thumb.name).exists():
                        shutil.copy2(thumb, out / "thumbs" / thumb.name)
    except OSError as e:
        raise OutputError(f"cannot write the merged run to {out}: {e.strerror or e}; the shard folders "
                          "are unchanged: free space there (or choose another -o) and merge again") from None
    return out


def _check_shards(shards) -> None:
    specs = []
    for d, results, _ in shards:
        spec = results["run"].get("config", {}).get("shard")
        if not spec:
            raise MellaError(f"{d}: not a shard (run without --shard i/N)")
        specs.append((d, tuple(spec)))
    counts = {count for _, (_, count) in specs}
    if len(counts) != 1:
        raise MellaError("shards of different splits: " + ", ".join(f"{d} is {i}/{n}" for d, (i, n) in specs))
    count = counts.pop()
    indices: dict[int, Path] = {}
    for d, (index, _) in specs:
        if index in indices:
            raise MellaError(f"shard {index}/{count} given twice: {indices[index]} and {d}")
        indices[index] = d
    missing = [f"{i}/{count}" for i in range(count) if i not in indices]
    if missing:
        raise MellaError(f"missing shard(s) {', '.join(missing)} of {count}; got "
                         + ", ".join(f"{i}/{count} ({d})" for i, d in sorted(indices.items())))
    d0, r0, _ = shards[0]
    for d, results, _ in shards[1:]:
        for path in SAME_ACROSS_SHARDS:
            a, b = _get(r0, path), _get(results, path)
            if a != b:
                raise MellaError(f"{d} and {d0} differ in {'.'.join(path)}: not shards of one run "
                                 f"(same tasks, prompts, model and settings are required)")
        ca = {k: v for k, v in r0["run"]["config"].items() if k not in PER_SHARD_CONFIG}
        cb = {k: v for k, v in results["run"]["config"].items() if k not in PER_SHARD_CONFIG}
        diff = sorted(k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k))
        if diff:
            raise MellaError(f"{d} and {d0} were run with different settings: {', '.join(diff)}")


def _check_counts(d: Path, results: dict, records: list[dict]) -> None:
    """samples.jsonl holds what results.json counted: overall, ok/error, and per (task, lang) the
    samples its scores were computed on (each score row's n + failed)."""
    from mella_eval.score import record_counts

    how = "re-run that shard (same command) or restore its samples.jsonl"
    counted = results["run"].get("counts", {})
    found = record_counts(records)
    for key in ("samples", "ok", "error"):
        if key in counted and counted[key] != found[key]:
            raise MellaError(f"{d}: samples.jsonl has {found[key]} {'samples' if key == 'samples' else key + ' samples'} "
                             f"but its results.json counted {counted[key]}: this shard lost or gained "
                             f"rows; {how}")
    per_group: dict[tuple[str, str], int] = {}
    for r in records:
        per_group[(r["task"], r["lang"])] = per_group.get((r["task"], r["lang"]), 0) + 1
    scored: dict[tuple[str, str], int] = {}
    for score in results.get("scores", []):
        key = (score["task"], score["lang"])
        scored[key] = max(scored.get(key, 0), int(score.get("n") or 0) + int(score.get("failed") or 0))
    for key in sorted(set(per_group) | set(scored)):
        if per_group.get(key, 0) != scored.get(key, 0):
            raise MellaError(f"{d}: {'/'.join(key)} has {per_group.get(key, 0)} samples in samples.jsonl but "
                             f"its scores in results.json were computed on {scored.get(key, 0)}: the shard "
                             f"lost or gained rows; {how}")


def _check_assignment(shards) -> None:
    """Every sample is in the shard that select_shard gives it among the merged samples: a row
    dropped from one shard (or moved between shards) shifts the assignment of the rows after it."""
    from mella_eval.shard import shard_key

    count = shards[0][1]["run"]["config"]["shard"][1]
    groups: dict[tuple[str, str], list] = {}
    for d, results, recs in shards:
        index = results["run"]["config"]["shard"][0]
        for r in recs:
            groups.setdefault((r["task"], r["lang"]), []).append((r["id"], index, d))
    for (task, lang), members in groups.items():
        ordered = sorted(members, key=lambda m: shard_key(task, lang, m[0]))
        for position, (sample_id, index, d) in enumerate(ordered):
            if position % count != index:
                raise MellaError(f"{d}: sample {task}/{lang}/{sample_id} does not belong to shard "
                                 f"{index}/{count} (among the merged samples it falls in shard "
                                 f"{position % count}/{count}): a shard lost or gained rows, or the "
                                 "shards come from different data; re-run the shards")


def _get(doc: dict, path: tuple):
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _sum_counts(counts: list[dict]) -> dict:
    """Counts beyond the samples' own. `unmatched_predictions` is counted by every shard against
    the whole dataset, so it is the same in each, not a part."""
    keys = {k for c in counts for k in c} - {"samples", "ok", "error"}
    return {k: counts[0].get(k, 0) if k == "unmatched_predictions" else sum(c.get(k, 0) for c in counts)
            for k in sorted(keys)}


def _merge_execution(shards) -> dict:
    executions = [s[1]["run"].get("execution", {}) for s in shards]
    merged = {
        "merged_from": [str(d) for d, _, _ in shards],
        "started_at": min(e.get("started_at", "") for e in executions),
        "finished_at": max(e.get("finished_at", "") for e in executions),
        "duration_s": round(sum(e.get("duration_s", 0) for e in executions), 3),
    }
    for key in ("requests", "judge_requests"):
        parts = [e[key] for e in executions if key in e]
        if parts:
            merged[key] = {k: sum(p.get(k, 0) for p in parts) for k in ("reused", "new", "failed")}
    return merged
