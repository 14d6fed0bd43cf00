"""Per task: the heatmap (languages x metrics) and one bar chart per metric."""

from __future__ import annotations

from mella_eval.report.markup import _ci, _colour, _e, _lang_label, _nice_ceiling, _number
from mella_eval.report.run import Run


def _heatmap(run: Run, task: str) -> str:
    metrics, langs = run.metrics(task), run.langs
    head = "".join(f"<th>{_e(m)}</th>" for m in metrics)
    ranges = {}
    for metric in metrics:
        values = [v for v in (_number((run.score(task, lang, metric) or {}).get("value"))
                              for lang in langs) if v is not None]
        ranges[metric] = (min(values), max(values)) if values else None
    body = []
    for lang in langs:
        rows = [run.score(task, lang, m) for m in metrics]
        if all(r is None for r in rows):
            continue
        first = next(r for r in rows if r is not None)
        cells = "".join(_heat_cell(task, lang, m, r, ranges[m], run.ci_name)
                        for m, r in zip(metrics, rows))
        body.append(f"<tr><th class=lang>{_lang_label(lang)}</th>{cells}"
                    f"<td class=count>{_e(first.get('n'))} / {_e(first.get('failed'))}</td></tr>")
    body.append(_macro_row(run, task, metrics))
    rule = (run.results.get("macro") or {}).get("rule")
    return (f"<table class=heat><thead><tr><th>language</th>{head}"
            f"<th class=count title='samples scored / samples failed'>scored / failed</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
            f"<p class=note>Colour is scaled per metric, from the lowest to the highest language "
            f"(light → dark); grey “—” = no value (hover for the reason)."
            + (f" Macro: {_e(rule)}." if rule else "") + "</p>")


def _heat_cell(task: str, lang: str, metric: str, row: dict | None, span, ci_name: str) -> str:
    attrs = f"data-task='{_e(task)}' data-lang='{_e(lang)}' data-metric='{_e(metric)}'"
    value = _number((row or {}).get("value"))
    if value is None:
        reason = (row or {}).get("error") or ("not scored" if row else "no score row")
        return f"<td class='cell missing' {attrs} title='{_e(reason)}'>—</td>"
    low, high = span
    background, ink = _colour(0.5 if high == low else (value - low) / (high - low))
    tip = [f"{task} · {lang} · {metric} = {value:.4f}",
           f"n = {row.get('n')} scored, {row.get('failed')} failed"]
    ci = _ci(row)
    if ci:
        tip.append(f"{ci_name} [{ci[0]:.2f}, {ci[1]:.2f}]")
    if row.get("signature"):
        tip.append(str(row["signature"]))
    return (f"<td class=cell {attrs} data-value='{_e(repr(value))}' title='{_e(chr(10).join(tip))}' "
            f"style='background:{background};color:{ink}'>{value:.2f}{_ci_small(ci)}</td>")


def _ci_small(ci) -> str:
    return f"<small>[{ci[0]:.1f}, {ci[1]:.1f}]</small>" if ci else ""


def _macro_row(run: Run, task: str, metrics: list[str]) -> str:
    cells = []
    for metric in metrics:
        row = run.macro(task, metric)
        value = _number((row or {}).get("value"))
        attrs = f"data-task='{_e(task)}' data-macro='{_e(metric)}'"
        if value is None:
            reason = "no macro mean: some language has no value" if row else "no macro row"
            cells.append(f"<td class='cell missing macro' {attrs} title='{_e(reason)}'>—</td>")
            continue
        ci = _ci(row)
        tip = f"mean over {', '.join(map(str, row.get('langs') or []))}" + (
            f"\n{run.ci_name} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
        cells.append(f"<td class='cell macro' {attrs} data-value='{_e(repr(value))}' "
                     f"title='{_e(tip)}'>{value:.2f}{_ci_small(ci)}</td>")
    return f"<tr class=macro><th class=lang>macro mean</th>{''.join(cells)}<td></td></tr>"


def _bars(run: Run, task: str) -> str:
    metrics = run.metrics(task)
    charts = [_bar_chart(run, task, metric) for metric in metrics]
    has_ci = any(_ci(run.score(task, lang, m)) for m in metrics for lang in run.langs) or any(
        _ci(run.macro(task, m)) for m in metrics)
    method = (run.results.get("bootstrap") or {}).get("method")
    note = (f"Whiskers: {run.ci_name}" + (f" ({_e(method)})" if method else "") + "." if has_ci
            else "This run has no confidence intervals (no ci_low / ci_high in the score rows).")
    return f"<div class=charts>{''.join(charts)}</div><p class=note>{note}</p>"


def _bar_chart(run: Run, task: str, metric: str) -> str:
    rows = [(lang, run.score(task, lang, metric)) for lang in run.langs]
    rows = [(lang, row) for lang, row in rows if row is not None]
    macro = run.macro(task, metric)
    if macro is not None:
        rows.append(("macro", macro))
    extent = [0.0]
    for _, row in rows:
        extent += [v for v in (_number(row.get("value")), *(_ci(row) or ())) if v is not None]
    low, high = min(extent), _nice_ceiling(max(extent))
    left, width, step, top = 50, 330, 24, 22
    height = top + step * len(rows) + 6

    def x(v: float) -> float:
        return left + width * (v - low) / ((high - low) or 1)

    parts = []
    for tick in (low, (low + high) / 2, high):
        parts.append(f"<line class=grid x1='{x(tick):.1f}' x2='{x(tick):.1f}' y1='{top - 4}' "
                     f"y2='{height - 4}'/><text class=tick x='{x(tick):.1f}' y='{top - 8}' "
                     f"text-anchor=middle>{tick:g}</text>")
    parts.append(f"<line class=axis x1='{x(0):.1f}' x2='{x(0):.1f}' y1='{top - 4}' y2='{height - 4}'/>")
    if macro is not None:
        y = top + step * (len(rows) - 1)
        parts.append(f"<line class=sep x1='4' x2='{left + width:.1f}' y1='{y}' y2='{y}'/>")
    for i, (lang, row) in enumerate(rows):
        parts.append(_bar(lang, row, top + i * step, step, x, run.ci_name, macro=row is macro))
    return (f"<figure class=chart><figcaption>{_e(metric)}</figcaption>"
            f"<svg viewBox='0 0 {left + width + 86} {height}' width='{left + width + 86}' "
            f"height='{height}' role=img aria-label='{_e(metric)} per language'>"
            f"{''.join(parts)}</svg></figure>")


def _bar(lang: str, row: dict, y: float, step: float, x, ci_name: str, macro: bool = False) -> str:
    mid = y + step / 2
    label = f"<text class=lab x='6' y='{mid + 4:.1f}'>{_e(lang)}</text>"
    value = _number(row.get("value"))
    if value is None:
        reason = row.get("error") or ("some language has no value" if macro else "no value")
        return (f"<g class=nobar><title>{_e(lang)}: {_e(reason)}</title>{label}"
                f"<text class=val x='{x(0) + 4:.1f}' y='{mid + 4:.1f}'>— {_e(reason)}</text></g>")
    ci = _ci(row)
    tip = f"{lang}: {value:.2f}" + (f" ({ci_name} {ci[0]:.2f}–{ci[1]:.2f})" if ci else "")
    x0, x1 = sorted((x(0), x(value)))
    parts = [f"<title>{_e(tip)}</title>", label,
             f"<rect class='bar{' macro' if macro else ''}' x='{x0:.1f}' y='{y + 5:.1f}' "
             f"width='{max(x1 - x0, 1):.1f}' height='{step - 10:.1f}' rx='2'/>"]
    end = x1
    if ci:
        a, b = x(ci[0]), x(ci[1])
        end = max(end, b)
        parts.append(f"<path class=ci d='M{a:.1f} {mid:.1f}H{b:.1f}M{a:.1f} {mid - 5:.1f}V{mid + 5:.1f}"
                     f"M{b:.1f} {mid - 5:.1f}V{mid + 5:.1f}'/>")
    parts.append(f"<text class=val x='{end + 5:.1f}' y='{mid + 4:.1f}'>{value:.2f}</text>")
    return f"<g>{''.join(parts)}</g>"
