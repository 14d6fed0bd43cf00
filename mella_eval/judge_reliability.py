"""How far a judge's verdicts can be trusted: one verdict from many asks, and the figures.

One answer may be judged several times: by every judge of a panel, in both orders of a pairwise
rubric, and K times each (--judge-repeats). Each ask is kept (`judge.asks` in samples.jsonl);
`combine` makes the answer's verdict from them:

- it is ok only when every ask is ok (a failure is never averaged away; a re-run asks the failed
  ones again), else it has the first failure's status;
- its scores are the mean over the asks of each judge, then the mean over the judges (the panel
  mean): every judge weighs the same, whatever its number of asks;
- its label is derived from those mean scores by the rubric's label rules, or else is the
  majority label (ties: the first ask's);
- consistent is False when any ask's own label contradicted its scores.

`reliability` turns the asks of all records into results.json's judge.reliability.<rubric>:

- repeats (per judge): Krippendorff's interval alpha of each dimension over units = (answer,
  order) with the K repeats as coders; label_identical = share of those units whose K labels are
  all equal.
- position (per judge, pairwise rubrics judged in both orders): over (answer, repeat) pairs with
  both orders ok, the verdict of an order is which position scored higher (or a tie).
  position_bias_rate = share of pairs where the same position won in both orders (the verdict
  followed the position, not the answer); order_disagreement_rate = share where the winner by
  answer differs between the orders (a tie in one counts); first_position_win_rate = share of
  decided verdicts won by the answer shown first; mean_abs_order_gap = mean |score(order 1) -
  score(order 2)| of each dimension.
- panel (two judges or more): interval alpha of each dimension over answers with the judges'
  means as coders; label_alpha (nominal) and label_kappa: Cohen's kappa of every two judges'
  labels, and their mean.
- judge_means: each judge's mean of each dimension (the panel mean is the task's metric).
Every figure is given overall and per (task, language); None where nothing could be compared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from itertools import combinations
from statistics import fmean

from mella_eval.judge_stats import cohen_kappa, identical_share, krippendorff_alpha, rounded
from mella_eval.rubric import Rubric, Verdict


def combine(rubric: Rubric, asks: list[tuple[dict, Verdict]]) -> tuple[Verdict, dict]:
    """(the answer's verdict, per-judge {status, scores, label}) from its asks; each ask is
    ({judge, swapped, repeat}, verdict), in asking order."""
    failed = [(a, v) for a, v in asks if v.status != "ok"]
    by_judge: dict[str, list[Verdict]] = {}
    for ask, verdict in asks:
        by_judge.setdefault(ask["judge"], []).append(verdict)
    per_judge = {name: _mean_verdict(rubric, vs) for name, vs in by_judge.items()}
    if failed:
        ask, first = failed[0]
        where = _describe(ask)
        reason = f"{len(failed)} of {len(asks)} judgements failed; {where}: {first.reason}" \
            if len(asks) > 1 else first.reason
        return Verdict(first.status, {}, reason=reason), _judge_summary(per_judge)
    verdicts = [v for _, v in asks]
    judges = list(per_judge.values())
    scores = {d.key: round(fmean(j.scores[d.key] for j in judges), 6) for d in rubric.dimensions}
    label = _label(rubric, scores, [v.label for v in verdicts])
    checks = [v.consistent for v in verdicts if v.consistent is not None]
    reasons = sorted({v.reason for v in verdicts if v.reason})
    return (Verdict("ok", scores, label, verdicts[0].rationale, reason="; ".join(reasons) or None,
                    reply_label=verdicts[0].reply_label, consistent=all(checks) if checks else None),
            _judge_summary(per_judge))


def _mean_verdict(rubric: Rubric, verdicts: list[Verdict]) -> Verdict:
    ok = [v for v in verdicts if v.status == "ok"]
    if len(ok) < len(verdicts):
        return next(v for v in verdicts if v.status != "ok")
    scores = {d.key: round(fmean(v.scores[d.key] for v in ok), 6) for d in rubric.dimensions}
    return Verdict("ok", scores, _label(rubric, scores, [v.label for v in ok]))


def _label(rubric: Rubric, scores: dict, labels: list) -> str | None:
    if rubric.label_rules:
        return rubric.derive_label(scores)
    labels = [label for label in labels if label is not None]
    if not labels:
        return None
    counts = Counter(labels)
    top = max(counts.values())
    return next(label for label in labels if counts[label] == top)


def _judge_summary(per_judge: dict[str, Verdict]) -> dict:
    return {name: {"status": v.status, "scores": v.scores, "label": v.label} for name, v in per_judge.items()}


def _describe(ask: dict) -> str:
    parts = [f"judge {ask['judge']}"] if ask["judge"] else []
    parts.append("swapped order" if ask["swapped"] else "first order")
    parts.append(f"repeat {ask['repeat'] + 1}")
    return ", ".join(parts)


def reliability(records: list[dict], rubric: Rubric, task_names: list[str], judges: list[str],
                repeats: int, swap: bool) -> dict:
    """results.json judge.reliability.<rubric> (see the module docstring)."""
    mine = [r for r in records if r["task"] in task_names and (r.get("judge") or {}).get("asks")]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in mine:
        groups.setdefault((r["task"], r["lang"]), []).append(r)
    # What the figures were computed from: enough to compute them again (merge of shards).
    settings = {"judges": judges, "repeats": repeats, "swap": swap, "tasks": task_names,
                "dimensions": [d.key for d in rubric.dimensions], "labels": list(rubric.labels),
                "pairwise": list(rubric.pairwise) if rubric.pairwise else None}
    return _section(mine, settings, groups)


def recompute_reliability(section: dict, records: list[dict]) -> dict:
    """judge.reliability of merged shards: every figure computed again over all their records
    (a saved calibration is kept as it is)."""
    out = {}
    for name, figures in section.items():
        if "tasks" not in figures:  # only a calibration
            out[name] = figures
            continue
        settings = {k: figures[k] for k in ("judges", "repeats", "swap", "tasks", "dimensions", "labels", "pairwise")}
        mine = [r for r in records if r["task"] in settings["tasks"] and (r.get("judge") or {}).get("asks")]
        groups: dict[tuple[str, str], list[dict]] = {}
        for r in mine:
            groups.setdefault((r["task"], r["lang"]), []).append(r)
        out[name] = _section(mine, settings, groups)
        if "calibration" in figures:
            out[name]["calibration"] = figures["calibration"]
    return out


def _section(mine: list[dict], settings: dict, groups: dict) -> dict:
    return {**settings, "overall": _figures(mine, settings),
            "by_lang": [{"task": t, "lang": l, **_figures(rs, settings)} for (t, l), rs in groups.items()]}


def _figures(records: list[dict], settings: dict) -> dict:
    keys, judges, labelled = settings["dimensions"], settings["judges"], bool(settings["labels"])
    asks = [r["judge"]["asks"] for r in records]
    out: dict = {"answers": len(records)}
    out["judge_means"] = {
        j: {k: rounded(_mean([(r["judge"].get("by_judge") or {}).get(j, {}).get("scores", {}).get(k)
                              for r in records])) for k in keys} for j in judges}
    if settings["repeats"] > 1:
        out["repeats"] = {j: _repeat_figures(asks, j, keys, labelled) for j in judges}
    if settings["swap"] and settings["pairwise"]:
        out["position"] = {j: _position_figures(asks, j, tuple(settings["pairwise"]), keys) for j in judges}
    if len(judges) > 1:
        out["panel"] = _panel_figures(records, judges, keys, labelled)
    return out


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return fmean(values) if values else None


def _ok(asks: list[dict], judge: str) -> list[dict]:
    return [a for a in asks if a["judge"] == judge and a["status"] == "ok"]


def _repeat_figures(asks: list[list[dict]], judge: str, keys: list[str], labelled: bool) -> dict:
    units: list[list[dict]] = []
    for record_asks in asks:
        for swapped in (False, True):
            unit = [a for a in _ok(record_asks, judge) if a["swapped"] == swapped]
            if unit:
                units.append(unit)
    return {"units": sum(len(u) >= 2 for u in units),
            "alpha": {k: rounded(krippendorff_alpha([[a["scores"][k] for a in u] for u in units])) for k in keys},
            "label_identical": rounded(identical_share([[a["label"] for a in u] for u in units])) if labelled else None}


def _position_figures(asks: list[list[dict]], judge: str, pair: tuple[str, str], keys: list[str]) -> dict:
    first_key, second_key = pair  # the order `user` shows them in; user_swapped shows them reversed
    pairs = []
    for record_asks in asks:
        ok = _ok(record_asks, judge)
        for repeat in sorted({a["repeat"] for a in ok}):
            orders = {a["swapped"]: a for a in ok if a["repeat"] == repeat}
            if len(orders) == 2:
                pairs.append((orders[False], orders[True]))

    def winner(ask: dict) -> str:  # by answer: "first" = the answer `user` shows first
        a, b = ask["scores"][first_key], ask["scores"][second_key]
        return "tie" if a == b else ("first" if a > b else "second")

    def position(ask: dict, by_answer: str) -> str:  # which position won in this ask
        if by_answer == "tie" or not ask["swapped"]:
            return by_answer
        return "second" if by_answer == "first" else "first"
    follows = disagree = first_wins = decided = 0
    for straight, swapped in pairs:
        w1, w2 = winner(straight), winner(swapped)
        disagree += w1 != w2
        p1, p2 = position(straight, w1), position(swapped, w2)
        follows += p1 == p2 != "tie"
        for p in (p1, p2):
            decided += p != "tie"
            first_wins += p == "first"
    n = len(pairs)
    return {"pairs": n,
            "position_bias_rate": rounded(follows / n) if n else None,
            "order_disagreement_rate": rounded(disagree / n) if n else None,
            "first_position_win_rate": rounded(first_wins / decided) if decided else None,
            "mean_abs_order_gap": {k: rounded(_mean([abs(s["scores"][k] - w["scores"][k]) for s, w in pairs]))
                                   for k in keys}}


def _panel_figures(records: list[dict], judges: list[str], keys: list[str], labelled: bool) -> dict:
    def value(r: dict, j: str, field: str, key: str | None = None):
        entry = (r["judge"].get("by_judge") or {}).get(j) or {}
        if entry.get("status") != "ok":
            return None
        return entry[field][key] if key else entry[field]
    out = {"alpha": {k: rounded(krippendorff_alpha([[value(r, j, "scores", k) for j in judges] for r in records]))
                     for k in keys}}
    if labelled:
        labels = {j: [value(r, j, "label") for r in records] for j in judges}
        out["label_alpha"] = rounded(krippendorff_alpha([[labels[j][i] for j in judges] for i in range(len(records))],
                                                        "nominal"))
        kappas = {f"{a}|{b}": rounded(cohen_kappa(labels[a], labels[b])) for a, b in combinations(judges, 2)}
        out["label_kappa"] = kappas
        out["label_kappa_mean"] = rounded(_mean(kappas.values()))
    return out


def ask_record(ask: dict, verdict: Verdict, raw: str | None, usage: dict) -> dict:
    """One ask as samples.jsonl keeps it (judge.asks)."""
    return {"judge": ask["judge"], "swapped": ask["swapped"], "repeat": ask["repeat"],
            "status": verdict.status, "scores": verdict.scores, "label": verdict.label,
            "reply_label": verdict.reply_label, "consistent": verdict.consistent,
            "reason": verdict.reason, "raw": raw, "usage": usage}


def zero_scores(rubric: Rubric, verdict: Verdict) -> Verdict:
    """A wrong-language answer's verdict with the rubric's zero_dimensions set to 0."""
    scores = {k: 0 if k in rubric.zero_dimensions else v for k, v in verdict.scores.items()}
    return replace(verdict, scores=scores,
                   label=rubric.derive_label(scores) if rubric.label_rules else verdict.label,
                   reason="wrong language: " + ", ".join(rubric.zero_dimensions) + " set to 0")
