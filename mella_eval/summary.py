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
    rows = []
    for task in results["run"]["tasks"]:
        for metric in results["tasks"][task]["metrics"]:
            row = [task, metric]
            for lang in langs:
                score = values.get((task, metric, lang))
                row.append("" if score is None else score["value"])
            row.append(macro.get((task, metric)))
            rows.append(row)
    counts = results["run"]["counts"]
    table = format_table(["task", "metric", *langs, "macro"], rows)
    return f"{table}\n\nsamples: {counts['samples']} ({counts['ok']} ok, {counts['error']} error)"


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
