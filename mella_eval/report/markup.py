"""Escaping and the small formatters every section shares."""

from __future__ import annotations

import html
import math
import re

TEXT_LIMIT = 1000  # characters of one prediction / reference / rationale shown
# YlGnBu: light (lowest value of a metric over the languages) to dark (highest).
_PALETTE = ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84")


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _clip(text, limit: int = TEXT_LIMIT) -> str:
    text = "" if text is None else str(text)
    if len(text) <= limit:
        return _e(text)
    return f"{_e(text[:limit])}<span class=muted> … ({len(text) - limit} more characters)</span>"


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value) -> str:
    value = _number(value)
    return "—" if value is None else f"{value:.2f}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "x"


def _ci(row: dict | None) -> tuple[float, float] | None:
    if not row:
        return None
    low, high = _number(row.get("ci_low")), _number(row.get("ci_high"))
    return (low, high) if low is not None and high is not None else None


def _lang_label(code: str) -> str:
    from mella_eval.languages import LANGUAGES

    lang = LANGUAGES.get(code)
    if lang is None:
        return f"<b>{_e(code)}</b>"
    return (f"<b>{_e(code)}</b> <span class=muted>{_e(lang.english)} · "
            f"<bdi dir=auto>{_e(lang.native)}</bdi></span>")


def _is_rtl(code) -> bool:
    from mella_eval.languages import LANGUAGES

    lang = LANGUAGES.get(code)
    return lang is not None and lang.script in ("Arab", "Hebr", "Syrc", "Thaa", "Nkoo")


def _colour(t: float) -> tuple[str, str]:
    """Background for position t in [0, 1] on the palette, and a readable text colour."""
    t = min(max(t, 0.0), 1.0) * (len(_PALETTE) - 1)
    i = min(int(t), len(_PALETTE) - 2)
    a, b = _PALETTE[i], _PALETTE[i + 1]
    mix = [round(int(a[k:k + 2], 16) + (int(b[k:k + 2], 16) - int(a[k:k + 2], 16)) * (t - i))
           for k in (1, 3, 5)]
    return "#%02x%02x%02x" % tuple(mix), ("#ffffff" if t > (len(_PALETTE) - 1) * 0.55 else "#1f2328")


def _nice_ceiling(x: float) -> float:
    if x <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(x))
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= x - 1e-12:
            return step * scale
    return 10 * scale


def _has_prediction(record: dict) -> bool:
    return record.get("status") == "ok" and isinstance(record.get("prediction"), str)


def _failure(record: dict) -> tuple[str, str] | None:
    """(what failed, why) for a sample without a prediction or whose judge failed; else None."""
    if record.get("status") != "ok":
        return str(record.get("status")), str(record.get("reason") or "no reason given")
    if not isinstance(record.get("prediction"), str):
        return "error", "no prediction"
    judges = record.get("judge") if isinstance(record.get("judge"), list) else [record.get("judge")]
    for judge in judges:
        if isinstance(judge, dict) and judge.get("status") not in (None, "ok"):
            return f"judge {judge.get('status')}", str(judge.get("reason") or "no reason given")
    return None
