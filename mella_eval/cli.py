"""Command line: `mella-eval run|tasks ...`.

Only argparse and the cheap modules are imported at start-up; each command imports what it
needs, so `mella-eval --help` and `mella-eval tasks` never load torch, transformers or vllm.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import traceback
from pathlib import Path

from mella_eval import __version__
from mella_eval.config import DEFAULT_MAX_IMAGE_MB, PROTOCOLS
from mella_eval.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, Interrupted, MellaError

RUN_EPILOG = """examples:
  mella-eval run --model ./my-vlm --tasks linguistic --langs all
  mella-eval run --model ./my-vlm --tasks linguistic,culture --langs th,vi --limit 20
  mella-eval run --predictions preds.jsonl --tasks linguistic --langs all
  mella-eval run --model ./my-vlm --tasks ./my_tasks/ --include-path ./my_tasks

exit codes:
  0    done
  1    finished and results written, but a gate failed: a score could not be computed, more
       samples failed than --max-failure-rate allows (default 0: any), or more judgements
       than --max-judge-failure-rate
  2    bad input or environment (a flag, a file, an unwritable or full output folder): one line
  3    an unexpected error inside mella-eval (a bug): one line; MELLA_TRACEBACK=1 shows it
  130  interrupted by Ctrl-C, 143 by SIGTERM: finished responses stay in the response store;
       the same command resumes
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mella-eval",
        description="Evaluate vision-language models in low-resource languages "
                    "(MELLA: linguistic and cultural axes).",
    )
    parser.add_argument("--version", action="version", version=f"mella-eval {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="evaluate a model (or a predictions file) on tasks",
                         epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = run.add_argument_group("what to evaluate")
    what.add_argument("--model", help="model folder or hub id (required unless --predictions)")
    what.add_argument("--tasks", default="linguistic",
                      help="comma-separated task or group names (mella, pangeabench), task files or "
                           "folders (default: linguistic)")
    what.add_argument("--langs", default="all",
                      help="comma-separated language codes; 'all' = MELLA's eight; 'task' = every "
                           "language of each task (default: all)")
    what.add_argument("--data-dir", help="use this local dataset (jsonl/parquet/imagefolder) instead "
                                         "of the task's own source")
    what.add_argument("--predictions", metavar="FILE",
                      help="score a JSONL of {task, lang, id, prediction} instead of generating")
    what.add_argument("--protocol", default="mella", choices=list(PROTOCOLS),
                      help="mella: the corrected protocol (default); reference: PangeaBench tasks "
                           "exactly as the Pangea paper's code prompts and scores them")
    what.add_argument("--limit", type=int, help="at most N samples per task and language")
    what.add_argument("--shard", metavar="i/N",
                      help="evaluate the i-th of N deterministic slices of the samples (0-based; "
                           "balanced across languages); combine the runs with `mella-eval merge`")
    what.add_argument("--include-path", action="append", metavar="DIR",
                      help="a trusted folder of task files (may run the Python hooks they name and "
                           "read images outside their dataset folder); repeatable")
    what.add_argument("--max-image-mb", type=float, default=DEFAULT_MAX_IMAGE_MB, metavar="MB",
                      help="an image file larger than this is a per-sample error "
                           f"(default: {DEFAULT_MAX_IMAGE_MB})")
    what.add_argument("--allow-external-images", action="store_true",
                      help="let dataset rows name images outside the dataset folder (absolute paths, "
                           "../, symlinks); by default only trusted (--include-path) tasks may")

    model = run.add_argument_group("model and backend")
    model.add_argument("--backend", default="auto", choices=["auto", "vllm", "hf", "openai", "ray-vllm"],
                       help="inference backend (default: auto = vllm when installed, else hf)")
    model.add_argument("--model-args", metavar="K=V,...",
                       help="extra keyword arguments for the model loader, e.g. attn_implementation=sdpa")
    model.add_argument("--dtype", default="auto",
                       help="auto (bfloat16 on GPU, float32 on CPU), float32, bfloat16, float16")
    model.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    model.add_argument("--batch-size", type=int, default=8, help="requests per generate() call (hf)")
    model.add_argument("--max-model-len", type=int, help="context length (vllm)")
    model.add_argument("--num-threads", type=int, help="CPU threads (default 1 on CPU: fastest for small models)")
    model.add_argument("--trust-remote-code", action="store_true",
                       help="allow model repositories to run their own Python code")
    model.add_argument("--max-new-tokens", type=int, help="override every task's max_new_tokens")

    engine = run.add_argument_group("vllm engine (--backend vllm)")
    engine.add_argument("--tensor-parallel-size", type=int, default=1, help="GPUs per model replica")
    engine.add_argument("--data-parallel-size", type=int, default=1,
                        help="model replicas, one engine process each (GPUs: data x tensor parallel)")
    engine.add_argument("--gpu-memory-utilization", type=float, help="share of GPU memory vLLM may use")
    engine.add_argument("--vllm-chunk-size", type=int, default=1024,
                        help="requests per LLM.chat call; results are saved per chunk (0 = all at once)")

    ray = run.add_argument_group("Ray Data over vLLM engine actors (--backend ray-vllm)")
    ray.add_argument("--ray-address", help="cluster to join: auto, HOST:6379 or ray://HOST:10001 "
                                           "(default: $RAY_ADDRESS, else a local Ray instance)")
    ray.add_argument("--num-replicas", type=int, default=1, help="vLLM engine actors (default 1)")
    ray.add_argument("--ray-gpus-per-replica", type=float,
                     help="GPUs per engine actor (default: --tensor-parallel-size on GPUs, 0 on CPU)")
    ray.add_argument("--ray-cpus-per-replica", type=float, default=1.0, help="CPUs per engine actor")
    ray.add_argument("--ray-batch-size", type=int, default=16,
                     help="requests per actor call; results are saved per batch (default 16)")

    api = run.add_argument_group("openai-compatible server (--backend openai)")
    api.add_argument("--base-url", help="server URL, e.g. http://127.0.0.1:8000/v1")
    api.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                     help="environment variable holding the API key (default: OPENAI_API_KEY)")
    api.add_argument("--concurrency", type=int, default=16, help="requests in flight (default: 16)")
    api.add_argument("--max-retries", type=int, default=5,
                     help="retries on 429/5xx/timeouts/connection errors (default: 5)")
    api.add_argument("--request-timeout", type=float, default=120.0, help="seconds per request")

    judge = run.add_argument_group(
        "judge (tasks with judge metrics, e.g. culture)",
        "The judge is configured apart from the model under test: nothing above applies to it.")
    judge.add_argument("--judge-model", help="judge model: a served name (with --judge-base-url) "
                                             "or a local folder / hub id for an in-process vLLM judge")
    judge.add_argument("--judge-backend", default="auto", choices=["auto", "openai", "vllm", "hf"],
                       help="auto: openai when --judge-base-url is given, else vllm in-process "
                            "(loaded after the model under test is released)")
    judge.add_argument("--judge-base-url", help="OpenAI-compatible server of the judge")
    judge.add_argument("--judge-api-key-env", default="MELLA_JUDGE_API_KEY", metavar="VAR",
                       help="environment variable with the judge's API key (default: MELLA_JUDGE_API_KEY)")
    judge.add_argument("--judge-concurrency", type=int, default=16, help="judge requests in flight")
    judge.add_argument("--judge-model-args", metavar="K=V,...", help="extra arguments for an in-process judge")
    judge.add_argument("--judge-max-model-len", type=int, help="context length of an in-process vLLM judge")
    judge.add_argument("--judge-tensor-parallel-size", type=int, default=1, help="GPUs of an in-process judge")
    judge.add_argument("--max-judge-failure-rate", type=float, default=0.05,
                       help="exit non-zero when more judgements than this share fail (default: 0.05)")
    judge.add_argument("--no-judge", action="store_true",
                       help="skip the judge: tasks report their other metrics only (e.g. keyword_acc)")
    judge.add_argument("--wrong-language", default="zero", choices=["zero", "flag"],
                       help="an answer in the wrong language: judge scores of 0 without a judge call "
                            "(zero, default) or judged normally and only flagged (flag)")
    from mella_eval.judge_args import add_judge_reliability_args

    add_judge_reliability_args(judge)

    gate = run.add_argument_group("gates (exit code 1, results still written)")
    gate.add_argument("--max-failure-rate", type=float, default=0.0, metavar="SHARE",
                      help="largest share of failed samples (generation errors, missing predictions, "
                           "unreadable images) a run may have and still exit 0 (default: 0: any "
                           "failed sample fails the run)")

    out = run.add_argument_group("output")
    out.add_argument("--output-dir", default="results", help="parent folder of run folders (default: results)")
    out.add_argument("--run-name", help="run folder name (default: MODEL-TIMESTAMP)")
    out.add_argument("--seed", type=int, default=0, help="seed of the bootstrap confidence intervals")
    out.add_argument("--cache-dir", help="response store folder, shared by runs (default: "
                                         "$MELLA_CACHE_DIR, else ~/.cache/mella-eval)")
    out.add_argument("--no-cache", action="store_true",
                     help="neither reuse nor store model responses")
    out.add_argument("-v", "--verbose", action="store_true",
                     help="show the engines' and libraries' output live (it always goes to the run "
                          "folder's run.log)")

    run.set_defaults(func=cmd_run)

    tasks = sub.add_parser("tasks", help="list the available tasks")
    tasks.add_argument("--include-path", action="append", metavar="DIR",
                       help="also list the task files in this trusted folder; repeatable")
    tasks.set_defaults(func=cmd_tasks)

    # Each of these modules imports only light code at the top: --help stays fast.
    from mella_eval import compare, leaderboard, merge, report

    merge.register(sub)
    leaderboard.register(sub)
    report.register(sub)
    compare.register(sub)
    from mella_eval.judge_check import register_judge_check

    register_judge_check(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit codes: see mella_eval.errors (0 done, 1 a gate failed, 2 bad input, 3 a bug,
    128 + N stopped by signal N)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="mella-eval: %(message)s", stream=sys.stderr)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    previous = _stop_on_sigterm()
    try:
        return args.func(args)
    except MellaError as e:
        print(f"mella-eval: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _Reported as e:
        return e.exit_code
    except KeyboardInterrupt as e:
        print(f"mella-eval: interrupted ({_signal_name(e)})", file=sys.stderr)
        return interrupt_exit_code(e)
    except OSError as e:  # the environment (permissions, a full disk), not a bug
        where = f"{e.filename}: " if e.filename else ""
        print(f"mella-eval: error: {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001 -- one line and its own exit code, never a traceback
        print(internal_error_line(e), file=sys.stderr)
        if os.environ.get("MELLA_TRACEBACK"):
            traceback.print_exception(e, file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm():
    """SIGTERM (a scheduler stopping the job, `kill`) is handled like Ctrl-C: work in flight
    stops, what finished stays saved, and the command says how to resume. Returns the previous
    handler (None where no handler can be installed: not the main thread)."""
    def handler(signum, frame):
        raise Interrupted(signum)

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # signals can only be set from the main thread
        return None


def _signal_name(e: KeyboardInterrupt) -> str:
    return signal.Signals(e.signum).name if isinstance(e, Interrupted) else "Ctrl-C"


def interrupt_exit_code(e: KeyboardInterrupt) -> int:
    return e.exit_code if isinstance(e, Interrupted) else 128 + signal.SIGINT


def internal_error_line(e: BaseException) -> str:
    """One line for an unexpected exception: what and where, and that it is a bug."""
    frames = traceback.extract_tb(e.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    message = " ".join(str(e).split())
    if len(message) > 300:
        message = message[:297] + "..."
    return (f"mella-eval: internal error: {type(e).__name__}{': ' + message if message else ''}{where} "
            f"(a bug in mella-eval, please report it; MELLA_TRACEBACK=1 prints the traceback; "
            f"exit code {EXIT_INTERNAL})")


def cmd_run(args) -> int:
    from mella_eval.config import RunConfig
    from mella_eval.run_log import LOG_NAME, engine_output_to_log

    config = RunConfig.from_args(args)
    # The log is written beside the run folder while the run works (the folder is written
    # whole at the end, replacing an earlier run's), then moved into it.
    name = config.resolved_run_name()
    pending = config.output_dir / f"{name}.{LOG_NAME}"
    with engine_output_to_log(pending, verbose=getattr(args, "verbose", False)) as console:
        try:
            outcome = _run_with_engines(config)
        except BaseException as e:
            _name_the_log(e, pending, console)
            raise
        log_path = None
        if console.log_path is not None:
            log_path = outcome.run_dir / LOG_NAME
            os.replace(pending, log_path)
            console.log_path = log_path
        return _report_run(config, outcome, log_path, console)


def _name_the_log(error: BaseException, log: Path, console) -> None:
    """A failed run names its log (where an engine's traceback is), unless nothing was logged."""
    try:
        empty = log.stat().st_size == 0
    except OSError:
        return
    if empty:
        log.unlink(missing_ok=True)
    elif isinstance(error, MellaError):
        message = str(error)
        if "above" in message:  # "See root cause above": above is the engines' log, not the console
            from mella_eval.backends.vllm_memory import engine_failure_cause

            cause = engine_failure_cause(error, log)
            if cause not in message:
                message += f"; the engine's error: {cause}"
        error.args = (f"{message}; the engines' log: {log}",)
    elif not isinstance(error, KeyboardInterrupt):
        print(f"mella-eval: the engines' log: {log}", file=console.err)


def _run_with_engines(config):
    from mella_eval.evaluator import run, saved_responses_hint

    if _may_start_vllm(config):
        from mella_eval.backends.vllm_memory import ensure_cpu_kvcache_space

        # vLLM on CPU reserves most of the memory unless told a KV-cache size; it is read only
        # on CPU, so setting it on a GPU machine changes nothing.
        chosen = ensure_cpu_kvcache_space(config.model or "")
        if chosen:  # into run.log
            print(f"mella-eval: VLLM_CPU_KVCACHE_SPACE (vLLM on CPU): {chosen}", file=sys.stderr)
    try:
        return run(config)
    except KeyboardInterrupt as e:
        from mella_eval.run_log import console

        print(f"mella-eval: interrupted ({_signal_name(e)}) before results were written: "
              f"{saved_responses_hint(config)}", file=console.err)
        raise _Reported(e) from None


class _Reported(KeyboardInterrupt):
    """An interruption whose message was printed already: only its exit code is left."""

    def __init__(self, original: KeyboardInterrupt) -> None:
        super().__init__()
        self.exit_code = interrupt_exit_code(original)


def _may_start_vllm(config) -> bool:
    if config.predictions is None and config.backend in ("auto", "vllm", "ray-vllm"):
        return True
    return bool(config.judge_model and not config.no_judge and not config.judge_base_url
                and config.judge_backend in ("auto", "vllm"))


def _report_run(config, outcome, log_path: Path | None, console) -> int:
    from mella_eval.summary import format_summary

    out, err = console.out, console.err
    print(format_summary(outcome.results), file=out)
    print(f"\nresults: {outcome.run_dir / 'results.json'}\nsamples: {outcome.run_dir / 'samples.jsonl'}"
          + (f"\nlog:     {log_path}  (the engines' and libraries' output; -v shows it live)"
             if log_path else "")
          + f"\nreport:  mella-eval report {outcome.run_dir}  (writes {outcome.run_dir / 'report.html'})",
          file=out)
    out.flush()
    code = EXIT_OK
    for s in outcome.results["scores"]:
        if s["value"] is None:
            print(f"mella-eval: error: {s['task']}/{s['lang']}/{s['metric']}: {s['error']}", file=err)
            code = EXIT_FAILED
    failures = outcome.results.get("failures")
    if failures and failures["failure_rate"] > failures["max_failure_rate"]:
        worst = ", ".join(f"{g['task']}/{g['lang']} {g['failed']}/{g['samples']}"
                          for g in failures["by_task_lang"] if g["failed"])
        print(f"mella-eval: error: {failures['failed']} of {failures['samples']} samples failed "
              f"({failures['failure_rate']:.1%} > --max-failure-rate {failures['max_failure_rate']:.1%}): "
              f"{worst}; see samples.jsonl (status, reason); scores cover only the samples that did "
              "not fail", file=err)
        code = EXIT_FAILED
    judge = outcome.results.get("judge")
    if judge and judge["failure_rate"] > judge["max_failure_rate"]:
        print(f"mella-eval: error: {judge['failed']} of {judge['judged']} judgements failed "
              f"({judge['failure_rate']:.1%} > --max-judge-failure-rate {judge['max_failure_rate']:.1%}); "
              "see samples.jsonl (judge.status, judge.reason); re-run to retry them", file=err)
        code = EXIT_FAILED
    return code


def cmd_tasks(args) -> int:
    from pathlib import Path

    from mella_eval.summary import format_table
    from mella_eval.tasks import TaskRegistry

    registry = TaskRegistry([Path(p) for p in args.include_path or []])
    rows = []
    for name in registry.names():
        task = registry.resolve(name)[0]
        description = task.description if len(task.description) <= 60 else task.description[:57] + "..."
        langs = ",".join(task.langs) if len(task.langs) <= 8 else f"{len(task.langs)} languages"
        rows.append([task.name, task.version, langs, ",".join(task.metrics), description])
    print(format_table(["task", "version", "languages", "metrics", "description"], rows))
    if registry.groups:
        print("\ngroups: " + "; ".join(f"{g} = {', '.join(t)}" for g, t in sorted(registry.groups.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
