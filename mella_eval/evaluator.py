"""Chains the phases of one run: load -> build -> generate -> score -> write."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from mella_eval.build import build_requests
from mella_eval.config import RunConfig
from mella_eval.data import load_samples
from mella_eval.errors import MellaError, OutputError
from mella_eval.metrics.registry import METRICS
from mella_eval.protocols.variant import apply_protocol
from mella_eval.guards import annotate_guards
from mella_eval.languages import EVERY_TASK_LANGUAGE
from mella_eval.records import make_records
from mella_eval.results import SCHEMA_VERSION, git_commit, package_versions, write_run
from mella_eval.score import add_sample_metrics, record_counts, summarize
from mella_eval.shard import select_shard
from mella_eval.submission import write_submissions
from mella_eval.tasks import TaskRegistry
from mella_eval.thumbnails import write_thumbnails

log = logging.getLogger("mella_eval")


@dataclass
class RunOutcome:
    run_dir: Path
    results: dict
    records: list[dict]


def run(config: RunConfig) -> RunOutcome:
    t0 = time.monotonic()
    tasks = apply_protocol(TaskRegistry(config.include_paths).resolve(config.tasks), config.protocol)
    if config.no_judge:
        tasks = [without_judge(t) for t in tasks]
    if any(t.judge for t in tasks) and not config.judge_model:
        names = ", ".join(f"{t.name} ({t.judge})" for t in tasks if t.judge)
        raise MellaError(f"task(s) {names} need a judge: pass --judge-model "
                         "(a served name with --judge-base-url, or a local model for in-process vLLM)")
    samples_by_task, all_keys = _load(config, tasks)
    requests = [request for task in tasks
                for request in build_requests(task, samples_by_task[task.name],
                                              max_new_tokens=config.max_new_tokens)]
    log.info("load: %d samples of %s, %d requests (%.1f s)", sum(map(len, samples_by_task.values())),
             ", ".join(t.name for t in tasks), len(requests), time.monotonic() - t0)

    t_generate = time.monotonic()
    completions, identity, request_counts, execution = _generate(config, requests, all_keys)
    by_key = {r.key: r for r in requests}
    records = [rec for task in tasks
               for rec in make_records(task, samples_by_task[task.name], by_key, completions)]
    annotate_guards(records, {t.name: t for t in tasks})
    add_sample_metrics(tasks, records)
    t_judge = time.monotonic()
    judge = _judge(config, tasks, records, samples_by_task) if any(t.judge for t in tasks) else None
    t_score = time.monotonic()
    summary = summarize(tasks, records, config.seed)

    execution = {
        "started_at": config.started_at,
        "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(time.monotonic() - t0, 3),
        "phase_seconds": {"load": round(t_generate - t0, 3), "generate": round(t_judge - t_generate, 3),
                          "judge": round(t_score - t_judge, 3), "score": round(time.monotonic() - t_score, 3)},
        **execution,
    }
    results = _results(config, tasks, records, identity, {**record_counts(records), **request_counts},
                       execution, summary)
    if judge is not None:
        results["judge"] = judge.as_dict(config.max_judge_failure_rate)
        results["run"]["execution"]["judge_requests"] = judge.requests
    results["failures"] = failure_summary(records, config.max_failure_rate)
    run_dir = config.output_dir / results["run"]["name"]
    try:
        write_run(run_dir, results, records)
    except OSError as e:
        raise OutputError(f"cannot write the results to {run_dir}: {e.strerror or e}; "
                          f"{saved_responses_hint(config)}; free space there or choose another "
                          "--output-dir") from None
    try:
        write_submissions(run_dir, tasks, records)
    except OSError as e:
        log.warning("results written to %s, but not the leaderboard submission file: %s", run_dir,
                    e.strerror or e)
    try:
        write_thumbnails(run_dir, [s for samples in samples_by_task.values() for s in samples])
    except OSError as e:  # the results are complete; only the report's pictures are missing
        log.warning("results written to %s, but not the report thumbnails: %s", run_dir, e.strerror or e)
    return RunOutcome(run_dir, results, records)


def saved_responses_hint(config) -> str:
    """Where the finished work of an interrupted or unwritable run is, and how to get the rest."""
    from mella_eval.store import default_cache_dir

    kinds = ([] if config.predictions is not None else ["model"]) + \
        (["judge"] if config.judge_model and not config.no_judge else [])
    if not kinds:  # predictions scored without a judge: nothing expensive to lose
        return f"nothing is lost: the predictions in {config.predictions} are scored again by the same command"
    what = " and ".join(kinds) + " responses"
    if not config.use_cache:
        return (f"the {what} were not kept (--no-cache); run again without --no-cache to keep "
                "finished responses across interruptions")
    store = config.cache_dir if config.cache_dir is not None else default_cache_dir()
    return (f"the {what} finished so far are saved in the response store {store}; run the same "
            "command again to resume (only what is missing is sent)")


def failure_summary(records: list[dict], max_failure_rate: float) -> dict:
    """results.json `failures`: samples that failed (generation error, no prediction, unusable
    image or row) overall and per (task, lang), against --max-failure-rate (exit 1 above it)."""
    groups: dict[tuple[str, str], dict] = {}
    for r in records:
        group = groups.setdefault((r["task"], r["lang"]),
                                  {"task": r["task"], "lang": r["lang"], "samples": 0, "failed": 0})
        group["samples"] += 1
        group["failed"] += r["status"] != "ok"
    samples = sum(g["samples"] for g in groups.values())
    failed = sum(g["failed"] for g in groups.values())
    return {"samples": samples, "failed": failed,
            "failure_rate": round(failed / samples, 6) if samples else 0.0,
            "max_failure_rate": max_failure_rate, "by_task_lang": list(groups.values())}


def _load(config: RunConfig, tasks) -> tuple[dict, set]:
    """Samples per task (this shard's, in canonical order), and the keys of all samples before
    sharding (what a prediction may match)."""
    samples_by_task, all_keys = {}, set()
    every = config.langs == [EVERY_TASK_LANGUAGE]
    for task in tasks:
        langs = task.langs if every else [lang for lang in config.langs if lang in task.prompts]
        skipped = [] if every else [lang for lang in config.langs if lang not in task.prompts]
        if skipped:
            log.warning("task %s has no prompt for %s: skipped", task.name, ", ".join(skipped))
        samples = load_samples(task, langs, config.data_dir, config.limit, **_image_policy(config, task))
        # One canonical order (language, then id), so a merged set of shards equals a whole run.
        samples.sort(key=lambda s: (langs.index(s.lang), s.id))
        all_keys.update((s.task, s.lang, s.id) for s in samples)
        if config.shard is not None:
            samples = select_shard(samples, *config.shard)
        empty = [lang for lang in langs if not any(s.lang == lang for s in samples)]
        if empty and config.shard is None:
            raise MellaError(f"task {task.name}: no samples for language(s) {', '.join(empty)} in "
                             f"{config.data_dir or task.dataset.describe()}; choose others with --langs")
        samples_by_task[task.name] = samples
    if not any(samples_by_task.values()):
        raise MellaError("nothing to evaluate: no task supports the requested languages")
    return samples_by_task, all_keys


def _image_policy(config: RunConfig, task) -> dict:
    """load_samples' image limits: the size cap, and whether rows may name images outside the
    dataset folder (--allow-external-images, or a task file directly in an --include-path folder). Not
    every trusted task: a bundled task may run its hooks, but run on a user's --data-dir its rows
    are that user's data, and an image path in them must not reach outside it (or a server)."""
    task_file = task.file.resolve()
    # Directly in an --include-path folder, as for hooks (a subfolder, e.g. downloaded data, is not trusted).
    external = config.allow_external_images or any(
        task_file.parent == Path(folder).resolve() for folder in config.include_paths)
    return {"max_image_bytes": config.max_image_bytes, "allow_external_images": external}


def _results(config: RunConfig, tasks, records, identity, counts, execution, summary) -> dict:
    """results.json (the contract is documented in results.py and README)."""
    every = config.langs == [EVERY_TASK_LANGUAGE]
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "name": config.resolved_run_name(),
            "model": config.model_label,
            "backend": identity.get("backend"),
            "model_identity": identity,
            "tasks": [t.name for t in tasks],
            "langs": list(dict.fromkeys(r["lang"] for r in records)) if every else config.langs,
            "versions": package_versions(),
            "git_commit": git_commit(),
            "config": config.as_record(),
            "counts": counts,
            # Everything that legitimately differs between two runs of the same command.
            "execution": execution,
        },
        "tasks": {t.name: {"version": t.version, "file": t.file.name, "sha256": t.content_hash,
                           "dataset": t.dataset.describe() if config.data_dir is None else str(config.data_dir),
                           "metrics": list(t.metrics), "judge": t.judge,
                           "protocol": t.protocol, **protocol_source(t),
                           **({"breakdown": t.breakdown} if t.breakdown else {})} for t in tasks},
        **summary,
    }


def protocol_source(task) -> dict:
    """Where a reference-protocol task's prompts and scoring come from."""
    if task.protocol != "reference":
        return {}
    from mella_eval.protocols import REFERENCE_COMMIT

    return {"protocol_source": f"neulab/Pangea@{REFERENCE_COMMIT} evaluation/lmms-eval/lmms_eval/tasks"}


def without_judge(task):
    """The task as scored without its judge: its other metrics only."""
    if task.judge is None:
        return task
    judged = set()
    if task.protocol == "reference":  # the reference's corpus values of its judge's scores
        from mella_eval.protocols import REFERENCE_TASKS

        reference = REFERENCE_TASKS[task.name]
        judged = {ours for _, ours in reference.corpus_reported} if reference.judge else set()
    metrics = tuple(m for m in task.metrics
                    if METRICS[m].kind not in ("judge", "ratio") and m not in judged)
    if not metrics:
        raise MellaError(f"task {task.name}: --no-judge leaves no metric to report")
    return replace(task, metrics=metrics, judge=None)


def _judge(config: RunConfig, tasks, records, samples_by_task):
    from mella_eval.backends import create_backend
    from mella_eval.judge import judge_config, run_judge
    from mella_eval.store import open_store

    samples = {(s.task, s.lang, s.id): s for samples in samples_by_task.values() for s in samples}
    store = open_store(config.cache_dir, enabled=config.use_cache)
    try:
        return run_judge(tasks, records, samples, config,
                         lambda: create_backend(judge_config(config)), store)
    finally:
        store.close()


def _generate(config: RunConfig, requests, all_keys: set) -> tuple[dict, dict, dict, dict]:
    """Completions for every request (from a predictions file, the store or a backend), the
    identity of what produced them, counts for results.json, and execution facts (reused/new)."""
    if config.predictions is not None:
        from mella_eval.predictions import completions_from_predictions

        completions, unmatched = completions_from_predictions(requests, config.predictions, all_keys)
        if unmatched:
            log.warning("%d prediction(s) in %s match no requested sample", unmatched, config.predictions)
        identity = {"backend": "predictions", "predictions_file": str(config.predictions)}
        return completions, identity, {"unmatched_predictions": unmatched}, {}

    from mella_eval.backends import create_backend
    from mella_eval.generate import generate_all
    from mella_eval.store import open_store

    backend = create_backend(config)
    store = open_store(config.cache_dir, enabled=config.use_cache)
    try:
        completions, stats = generate_all(backend, requests, store)
        identity = backend.identity()
    finally:
        backend.close()
        store.close()
    log.info("generation: %d reused from the response store, %d new (%d failed)",
             stats.reused, stats.new, stats.failed)
    return completions, identity, {}, {"requests": stats.as_dict()}
