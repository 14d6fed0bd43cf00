"""`mella-eval export`: one leaderboard table (CSV or Markdown) from one or more run folders.

Three forms, the same in CSV and Markdown:
- default, a reader's leaderboard: one row per run; columns model, run, then for each task
  (first-seen order) TASK/macro/METRIC (task metric order), TASK/n, TASK/failed;
- --per-language: the same, then for each task TASK/LANG/METRIC (languages ar cs hu ko ru sr th
  vi, then others A-Z);
- --long: one row per (run, task, lang, metric): model, run, task, lang, metric, value, ci_low,
  ci_high, n, failed; the macro mean of a task is the row with lang `macro` (what pandas and
  spreadsheets want: filter and pivot it there).
`TASK/n` is the number of samples scored for the task (per language, the largest n among the
task's metrics; summed over languages); `TASK/failed` the number of samples that failed
(generation error, no prediction, unusable image), which the scores leave out. Values are rounded to 2 decimals; a cell a run does not
have is empty. A score that a run has but could not compute (results.json `error`) is empty too,
and the command names it on stderr: it is never a silent blank.

Text cells (model and run names, column names from task files) are data, not markup or
formulas: in CSV a cell starting with = + - @, a tab or a carriage return gets a leading '
(OWASP's advice against formula injection); in Markdown & < > are escaped as entities.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mella_eval.errors import MellaError
from mella_eval.results import atomic_write_text

LANG_ORDER = ("ar", "cs", "hu", "ko", "ru", "sr", "th", "vi")
FORMATS = ("csv", "md")

EPILOG = """examples:
  mella-eval export results/qwen2-vl-7b results/pangea-7b --format md -o leaderboard.md
  mella-eval export results/ --format csv -o leaderboard.csv      (every run folder in results/)
  mella-eval export results/ --sort-by linguistic/macro/chrf
  mella-eval export results/ --per-language --format md           (adds TASK/LANG/METRIC)
  mella-eval export results/ --long -o scores.csv                 (one row per score, with CIs)

A RESULT_DIR is a run folder (with results.json) or a folder of run folders. Columns: model, run,
TASK/macro/METRIC, TASK/n and TASK/failed per task (with --per-language then TASK/LANG/METRIC);
--long: model, run, task, lang, metric, value, ci_low, ci_high, n, failed. Missing cells are empty.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="merge run results into one leaderboard table (CSV or Markdown)",
        description="One row per run with the per-task macro means and sample counts "
                    "(--per-language: also each language; --long: one row per score).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result_dirs", nargs="+", metavar="RESULT_DIR",
                        help="a run folder (with results.json) or a folder of run folders")
    parser.add_argument("--format", choices=FORMATS,
                        help="csv or md (GitHub Markdown table); default: from -o's suffix, else csv")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    parser.add_argument("--sort-by", metavar="COLUMN",
                        help="sort rows by this column, descending (e.g. linguistic/macro/chrf; "
                             "with --long e.g. value); default: the order the runs were given")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--per-language", action="store_true",
                      help="add a TASK/LANG/METRIC column for every language")
    form.add_argument("--long", action="store_true",
                      help="one row per (run, task, lang, metric) with value, CI bounds and n")
    parser.set_defaults(func=main)


def main(args) -> int:
    fmt = args.format or ("md" if args.output and Path(args.output).suffix.lower() == ".md" else "csv")
    from mella_eval.comparability import mixed_protocols

    runs = load_runs([Path(p) for p in args.result_dirs])
    mixed = mixed_protocols([(str(path), results) for path, results in runs])
    if mixed:
        raise MellaError(f"export: {mixed[0]} (--protocol); export the runs of each protocol "
                         "separately: a reference-protocol number is not comparable with a corrected one")
    notes: list[str] = []
    results_list = [results for _, results in runs]
    if getattr(args, "long", False):
        table = long_frame(results_list, notes)
    else:
        table = leaderboard_frame(results_list, notes, per_language=getattr(args, "per_language", False))
    if args.sort_by:
        table = sort_table(table, args.sort_by)
    text = to_csv(table) if fmt == "csv" else to_markdown(table)
    if args.output:
        atomic_write_text(Path(args.output), text)
    else:
        sys.stdout.write(text)
    for note in notes:
        print(f"mella-eval: warning: {note}", file=sys.stderr)
    if args.output:
        print(f"wrote {len(table)} run(s) x {len(table.columns)} columns to {args.output}",
              file=sys.stderr)
    return 0


def load_runs(paths: list[Path]) -> list[tuple[Path, dict]]:
    """(run folder, results.json) for each path: a run folder, a results.json file, or a folder
    whose immediate subfolders are run folders (taken in name order). Duplicates are read once."""
    from mella_eval.results import read_results

    found: list[Path] = []
    for path in paths:
        if path.is_file() and path.name == "results.json":
            path = path.parent
        if not path.exists():
            raise MellaError(f"{path}: no such folder")
        if (path / "results.json").is_file():
            found.append(path)
            continue
        children = (sorted(p for p in path.iterdir() if (p / "results.json").is_file())
                    if path.is_dir() else [])
        if not children:
            raise MellaError(f"{path}: not a run folder (no results.json) and has no run folders inside")
        found.extend(children)
    runs, seen = [], set()
    for path in found:
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        try:
            results = read_results(path)
        except (OSError, ValueError) as e:
            raise MellaError(f"{path / 'results.json'}: cannot be read ({e})") from None
        if not isinstance(results, dict) or "scores" not in results or "run" not in results:
            raise MellaError(f"{path / 'results.json'}: not a mella-eval results file (no run/scores)")
        runs.append((path, results))
    return runs


def lang_sort_key(lang: str) -> tuple:
    return (LANG_ORDER.index(lang), "") if lang in LANG_ORDER else (len(LANG_ORDER), lang)


def leaderboard_columns(results_list: list[dict], per_language: bool = True) -> list[str]:
    tasks: list[str] = []
    metrics: dict[str, list[str]] = {}
    langs: dict[str, set[str]] = {}
    for results in results_list:
        order = list(results.get("run", {}).get("tasks") or [])
        order += [s["task"] for s in results["scores"]]
        for task in order:
            if task not in tasks:
                tasks.append(task)
                metrics[task], langs[task] = [], set()
            declared = (results.get("tasks", {}).get(task) or {}).get("metrics") or []
            for metric in list(declared) + [s["metric"] for s in results["scores"] if s["task"] == task]:
                if metric not in metrics[task]:
                    metrics[task].append(metric)
        for score in results["scores"]:
            langs[score["task"]].add(score["lang"])
    columns = ["model", "run"]
    for task in tasks:
        columns += [f"{task}/macro/{m}" for m in metrics[task]] + [f"{task}/n", f"{task}/failed"]
    for task in tasks if per_language else ():
        for lang in sorted(langs[task], key=lang_sort_key):
            columns += [f"{task}/{lang}/{m}" for m in metrics[task]]
    return columns


def leaderboard_frame(results_list: list[dict], notes: list[str] | None = None,
                      per_language: bool = True):
    """The table as a pandas DataFrame (values unrounded; `n` columns nullable integers); the
    TASK/LANG/METRIC columns only with `per_language`.

    Every cell left empty although the run has the score (no value, or a macro mean over other
    languages than the table's) is explained by a line appended to `notes`.
    """
    import pandas as pd

    notes = [] if notes is None else notes
    columns = leaderboard_columns(results_list, per_language)
    table_langs: dict[str, set[str]] = {}
    for results in results_list:
        for score in results["scores"]:
            table_langs.setdefault(score["task"], set()).add(score["lang"])
    rows = []
    for results in results_list:
        run = results["run"]
        label = run.get("name")
        row: dict = {"model": run.get("model"), "run": label}
        n_by_lang: dict[tuple[str, str], int] = {}
        for score in results["scores"]:
            row[f"{score['task']}/{score['lang']}/{score['metric']}"] = score.get("value")
            key = (score["task"], score["lang"])
            n_by_lang[key] = max(n_by_lang.get(key, 0), int(score.get("n") or 0))
            if score.get("value") is None:
                notes.append(f"run {label}: {score['task']}/{score['lang']}/{score['metric']} has no "
                             f"value ({score.get('error') or 'no error recorded'}); its cell is empty")
        partial: set[str] = set()
        for macro in (results.get("macro") or {}).get("scores", []):
            task, column = macro["task"], f"{macro['task']}/macro/{macro['metric']}"
            langs = set(macro.get("langs") or [])
            if langs and langs != table_langs.get(task, langs):
                # A mean over other languages would rank as if it were the same mean.
                row[column] = None
                if task not in partial:
                    partial.add(task)
                    covered = ", ".join(sorted(langs, key=lang_sort_key))
                    notes.append(f"run {label}: its {task} macro means cover {covered} only, not every "
                                 f"language of the table; its {task}/macro cells are empty")
                continue
            row[column] = macro.get("value")
            if macro.get("value") is None:
                notes.append(f"run {label}: {column} has no value "
                             f"({macro.get('error') or 'a language has no value'}); its cell is empty")
        for (task, _), n in n_by_lang.items():
            row[f"{task}/n"] = row.get(f"{task}/n", 0) + n
        for (task, _), failed in failed_samples(results).items():
            row[f"{task}/failed"] = row.get(f"{task}/failed", 0) + failed
        rows.append(row)
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns[2:]:
        if column.endswith(("/n", "/failed")) and column.count("/") == 1:
            frame[column] = frame[column].astype("Int64")
        else:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


LONG_COLUMNS = ["model", "run", "task", "lang", "metric", "value", "ci_low", "ci_high", "n", "failed"]


def long_frame(results_list: list[dict], notes: list[str] | None = None):
    """One row per (run, task, lang, metric), the task's macro mean as lang `macro` after its
    languages; tasks, languages and metrics in the order of the wide table."""
    import pandas as pd

    notes = [] if notes is None else notes
    # Task and metric order of the wide table: from its TASK/macro/METRIC columns.
    macro_columns = [c.split("/") for c in leaderboard_columns(results_list, per_language=False)
                     if c.count("/") == 2]
    tasks = list(dict.fromkeys(task for task, _, _ in macro_columns))
    metrics = {(task, metric): i for i, (task, _, metric) in enumerate(macro_columns)}

    def order(task: str, lang: str, metric: str) -> tuple:
        where = (len(LANG_ORDER) + 1, "") if lang == "macro" else lang_sort_key(lang)
        return (tasks.index(task), where, metrics.get((task, metric), len(metrics)))

    rows = []
    for results in results_list:
        run = results["run"]
        label = run.get("name")
        failed = failed_samples(results)
        cells = []
        for score in results["scores"]:
            cells.append((score["lang"], score, failed.get((score["task"], score["lang"]), score.get("failed"))))
            if score.get("value") is None:
                notes.append(f"run {label}: {score['task']}/{score['lang']}/{score['metric']} has no "
                             f"value ({score.get('error') or 'no error recorded'}); its value is empty")
        for macro in (results.get("macro") or {}).get("scores", []):
            cells.append(("macro", macro, sum(f for (t, _), f in failed.items() if t == macro["task"])))
        for lang, score, n_failed in sorted(cells, key=lambda c: order(c[1]["task"], c[0], c[1]["metric"])):
            rows.append({"model": run.get("model"), "run": label, "task": score["task"], "lang": lang,
                         "metric": score["metric"], "value": score.get("value"),
                         "ci_low": score.get("ci_low"), "ci_high": score.get("ci_high"),
                         "n": score.get("n"), "failed": n_failed})
    frame = pd.DataFrame(rows, columns=LONG_COLUMNS)
    for column in ("value", "ci_low", "ci_high"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    for column in ("n", "failed"):
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    return frame


def failed_samples(results: dict) -> dict[tuple[str, str], int]:
    """Failed samples per (task, lang): results.json `failures`, or for results written before
    it existed, the fewest `failed` among the (task, lang)'s score rows (a failed sample has no
    value for any metric; a metric may also miss values of samples that did not fail)."""
    groups = (results.get("failures") or {}).get("by_task_lang")
    if groups is not None:
        return {(g["task"], g["lang"]): int(g["failed"]) for g in groups}
    out: dict[tuple[str, str], int] = {}
    for score in results["scores"]:
        key = (score["task"], score["lang"])
        failed = int(score.get("failed") or 0)
        out[key] = min(out.get(key, failed), failed)
    return out


def sort_table(frame, column: str):
    if column not in frame.columns:
        valid = [c for c in frame.columns if "/macro/" in c or c.endswith("/n")] or list(frame.columns)
        raise MellaError(f"--sort-by {column!r} is not a column; valid columns include "
                         f"{', '.join(valid[:6])} (any TASK/LANG/METRIC, e.g. {frame.columns[-1]})")
    return frame.sort_values(column, ascending=False, kind="stable", na_position="last") \
        .reset_index(drop=True)


def _cells(frame, text=str) -> list[list[str]]:
    """Each value as display text: floats with 2 decimals, missing as ''; `text` makes a string
    value (a model or run name) safe for the output format. Numbers are ours: left as they are."""
    import pandas as pd

    out = []
    for record in frame.itertuples(index=False):
        row = []
        for value in record:
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                row.append("")
            elif isinstance(value, float):
                row.append(f"{round(value, 2):.2f}")
            elif isinstance(value, str):
                row.append(text(value))
            else:
                row.append(str(value))
        out.append(row)
    return out


# A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    value = "'" + value if value.startswith(FORMULA_STARTS) else value
    # csv quotes only fields holding "\n" (our line end): a bare CR would split the row.
    return value.replace("\r\n", "\n").replace("\r", "\n")


def markdown_text(value: str) -> str:
    """Plain text in a GitHub Markdown table cell: no HTML, no column breaks, one line."""
    for raw, escaped in (("\\", "\\\\"), ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        value = value.replace(raw, escaped)
    return " ".join(value.splitlines())


def to_csv(frame) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_text(c) for c in frame.columns])
    writer.writerows(_cells(frame, csv_text))
    return buffer.getvalue()


def _numeric(column) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)


def to_markdown(frame) -> str:
    """A GitHub-flavoured Markdown table; numeric columns right-aligned."""
    header = list(frame.columns)
    align = ["---:" if _numeric(frame[c]) else "---" for c in header]
    lines = ["| " + " | ".join(markdown_text(c) for c in header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in _cells(frame, markdown_text)]
    return "\n".join(lines) + "\n"
