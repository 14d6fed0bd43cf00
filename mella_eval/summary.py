"""Readable tables for the terminal."""

from __future__ import annotations


def format_table(header: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_summary(results: dict) -> str:
    """Rows: task x metric; columns: languages, then the macro mean."""
    langs = results["run"]["langs"]
    values = {(s["task"], s["metric"], s["lang"]): s for s in results["scores"]}
    macro = {(m["task"], m["metric"]): m["value"] for m in results["macro"]["scores"]}
    failures = results.get("failures") or {}
    failed = {(g["task"], g["lang"]): g for g in failures.get("by_task_lang", [])}
    rows = []
    for task in results["run"]["tasks"]:
        for metric in results["tasks"][task]["metrics"]:
            row = [task, metric]
            for lang in langs:
                score = values.get((task, metric, lang))
                row.append("" if score is None else score["value"])
            row.append(macro.get((task, metric)))
            rows.append(row)
        groups = [failed.get((task, lang)) for lang in langs]
        if any(g and g["failed"] for g in groups):
            # Scores leave failed samples out: show how many, beside them.
            rows.append([task, "failed", *("" if g is None else f"{g['failed']}/{g['samples']}" for g in groups),
                         sum(g["failed"] for g in groups if g)])
    counts = results["run"]["counts"]
    table = format_table(["task", "metric", *langs, "macro"], rows)
    line = f"samples: {counts['samples']} ({counts['ok']} ok, {counts['error']} failed)"
    per_task = _failed_per_task(failures)
    if per_task:
        line += "; failed per task: " + ", ".join(f"{t} {f}/{n}" for t, (f, n) in per_task.items())
    if failures:
        line += (f"; failure rate {failures['failure_rate']:.1%} (--max-failure-rate "
                 f"{failures['max_failure_rate']:.1%})")
    return f"{table}\n\n{line}"


def _failed_per_task(failures: dict) -> dict[str, tuple[int, int]]:
    """task -> (failed samples, samples), in results order."""
    out: dict[str, tuple[int, int]] = {}
    for g in failures.get("by_task_lang", []):
        failed, samples = out.get(g["task"], (0, 0))
        out[g["task"]] = (failed + g["failed"], samples + g["samples"])
    return out


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
