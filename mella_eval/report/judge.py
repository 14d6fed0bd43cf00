"""A judged task's "Judge reliability" box: results.json `judge.reliability.<rubric>` and
`judge.counts[]` (issue 18), next to the judge metrics.

Per rubric: the calibration badge, the panel members with their mean scores, repeat agreement,
position bias (pairwise rubrics) and panel agreement, overall and per language, and the share of
inconsistent replies per language. Alpha cells are coloured by Krippendorff's conventional
thresholds (>= 0.8 reliable, >= 0.667 tentative, else not reliable). Every value is escaped.
"""

from __future__ import annotations

from mella_eval.report.markup import _e, _fmt, _number

ALPHA_RELIABLE, ALPHA_TENTATIVE = 0.8, 0.667


def _alpha_cell(value) -> str:
    number = _number(value)
    if number is None:
        return "<td class=muted>—</td>"
    kind = "ok" if number >= ALPHA_RELIABLE else "warn" if number >= ALPHA_TENTATIVE else "bad"
    return f"<td class='alpha {kind}'>{_e(_fmt(number))}</td>"


def _judge_name(name) -> str:
    return _e(name) if name else "<span class=muted>(the judge)</span>"


def _rows(figures_by_column: list[tuple[str, dict]], settings: dict) -> list[tuple[str, list[str]]]:
    """(row label, one cell per column) for every figure the rubric has."""
    dims, judges = settings.get("dimensions") or [], settings.get("judges") or []
    rows: list[tuple[str, list[str]]] = [
        ("answers asked more than once", [f"<td>{_e(f.get('answers'))}</td>" for _, f in figures_by_column])]

    def cells(get, alpha=False):
        out = []
        for _, f in figures_by_column:
            try:
                value = get(f)
            except (AttributeError, KeyError, TypeError):
                value = None
            out.append(_alpha_cell(value) if alpha else
                       ("<td class=muted>—</td>" if _number(value) is None else f"<td>{_e(_fmt(value))}</td>"))
        return out

    for judge in judges:
        for dim in dims:
            rows.append((f"mean {_e(dim)} · {_judge_name(judge)}",
                         cells(lambda f, j=judge, d=dim: f["judge_means"][j][d])))
    if (settings.get("repeats") or 1) > 1:
        for judge in judges:
            for dim in dims:
                rows.append((f"repeat alpha {_e(dim)} · {_judge_name(judge)}",
                             cells(lambda f, j=judge, d=dim: f["repeats"][j]["alpha"][d], alpha=True)))
            if settings.get("labels"):
                rows.append((f"repeats with identical labels · {_judge_name(judge)}",
                             cells(lambda f, j=judge: f["repeats"][j]["label_identical"])))
    if settings.get("swap") and settings.get("pairwise"):
        for judge in judges:
            for key, label in (("position_bias_rate", "position bias rate"),
                               ("order_disagreement_rate", "order disagreement rate"),
                               ("first_position_win_rate", "first position win rate")):
                rows.append((f"{label} · {_judge_name(judge)}",
                             cells(lambda f, j=judge, k=key: f["position"][j][k])))
    if len(judges) > 1:
        for dim in dims:
            rows.append((f"panel alpha {_e(dim)}", cells(lambda f, d=dim: f["panel"]["alpha"][d], alpha=True)))
        if settings.get("labels"):
            rows.append(("panel label kappa (mean)", cells(lambda f: f["panel"]["label_kappa_mean"])))
    return rows


def _calibration(figures: dict) -> str:
    calibration = figures.get("calibration")
    if not isinstance(calibration, dict) or not calibration:
        return "<p><span class='badge warn'>judge not calibrated</span> <span class=muted>no saved " \
               "<code>mella-eval judge-check</code> of this judge with this rubric</span></p>"
    badges = []
    for name, check in calibration.items():
        check = check if isinstance(check, dict) else {}
        who = f" {_e(name)}" if name else ""
        if check.get("flagged"):
            langs = ", ".join(str(lang) for lang in check.get("flagged_langs") or [])
            badges.append(f"<span class='badge bad'>judge{who} flagged by judge-check: {_e(langs)}</span>")
        else:
            badges.append(f"<span class='badge ok'>judge{who} passed judge-check</span>")
    return f"<p>{' '.join(badges)}</p>"


def _rubric_box(run, task: str, rubric: str, figures: dict) -> str:
    head = f"<h4>rubric <code>{_e(rubric)}</code></h4>{_calibration(figures)}"
    if not isinstance(figures.get("overall"), dict):
        return head
    settings = {k: figures.get(k) for k in ("judges", "repeats", "swap", "dimensions", "labels", "pairwise")}
    by_lang = {row.get("lang"): row for row in figures.get("by_lang") or []
               if isinstance(row, dict) and row.get("task") == task}
    langs = [lang for lang in run.langs if lang in by_lang] + [l for l in by_lang if l not in run.langs]
    columns = [("overall", figures["overall"])] + [(lang, by_lang[lang]) for lang in langs]
    judges = ", ".join(_judge_name(j) for j in settings["judges"] or [])
    info = (f"<p class=note>judges: {judges} · repeats: {_e(settings['repeats'])} · both orders: "
            f"{'yes' if settings['swap'] else 'no'}</p>")
    header = "".join(f"<th>{_e(name)}</th>" for name, _ in columns)
    body = "".join(f"<tr><th>{label}</th>{''.join(cells)}</tr>" for label, cells in _rows(columns, settings))
    return f"{head}{info}<table class=reliability><tr><th></th>{header}</tr>{body}</table>"


def _inconsistent(run, task: str) -> str:
    counts = [row for row in (run.results.get("judge") or {}).get("counts") or []
              if isinstance(row, dict) and row.get("task") == task]
    if not counts:
        return ""
    header = "".join(f"<th>{_e(row.get('lang'))}</th>" for row in counts)
    rate = "".join(f"<td>{_e(_fmt(row.get('inconsistent_rate')))} <span class=muted>"
                   f"({_e(row.get('inconsistent'))}/{_e(row.get('consistency_checked'))})</span></td>"
                   for row in counts)
    return ("<p class=note>Replies whose own label contradicts their scores (the label is derived "
            "from the scores by the rubric's rules):</p>"
            f"<table class=reliability><tr><th></th>{header}</tr>"
            f"<tr><th>inconsistent rate</th>{rate}</tr></table>")


def judged(run, task: str) -> bool:
    judge = run.results.get("judge") or {}
    return any(isinstance(row, dict) and row.get("task") == task for row in judge.get("counts") or [])


def judge_reliability(run, task: str) -> str:
    """The task's "Judge reliability" section, "" for a task no judge graded."""
    if not judged(run, task):
        return ""
    section = (run.results.get("judge") or {}).get("reliability") or {}
    boxes = "".join(_rubric_box(run, task, name, figures) for name, figures in section.items()
                    if isinstance(figures, dict) and task in (figures.get("tasks") or [task]))
    if not boxes:
        boxes = _calibration({})
    return f"<h3>Judge reliability</h3>{boxes}{_inconsistent(run, task)}"
