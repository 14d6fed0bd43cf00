"""`mella-eval report RESULT_DIR`: one self-contained static report.html for a run folder.

The page needs no network and runs no script: CSS is inline, charts are inline SVG, thumbnails
(`thumbs/<sha256>.jpg` in the run folder, keyed by a record's `image_sha256[0]`) are base64
`data:` URLs, and a Content-Security-Policy forbids every other source. Predictions, references
and judge rationales are untrusted text: every string goes through `html.escape`.

Sections: run header; per task a heatmap (languages x metrics, colour scaled per metric over the
languages, macro means underneath), one bar chart per metric (95% CI whiskers when the score rows
carry `ci_low`/`ci_high`), the worst samples (lowest per-sample metric when records carry one,
else lowest sentence-level chrF against the references) and the failed samples with reasons.

Only the standard library and light mella_eval modules are imported here: the CLI imports this
module at start-up.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from mella_eval.errors import MellaError
from mella_eval.results import SCHEMA_VERSION, atomic_write_text, iter_jsonl_objects

REPORT_NAME = "report.html"
WORST_PER_TASK = 10
FAILED_SHOWN = 200  # failed samples listed per task; the rest are counted
TEXT_LIMIT = 1000  # characters of one prediction / reference / rationale shown
THUMB_MAX_BYTES = 512 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# YlGnBu: light (lowest value of a metric over the languages) to dark (highest).
_PALETTE = ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84")

REPORT_EPILOG = """examples:
  mella-eval report results/my-vlm-20250101-120000
  mella-eval report results/my-vlm-20250101-120000 -o /tmp/my-vlm.html
"""


@dataclass
class Run:
    """A run folder's results.json and samples.jsonl, with look-ups the sections share."""

    dir: Path
    results: dict
    records: list[dict]

    def __post_init__(self):
        self._scores = {(r.get("task"), r.get("lang"), r.get("metric")): r for r in self.results["scores"]}
        self._macro = {(r.get("task"), r.get("metric")): r
                       for r in (self.results.get("macro") or {}).get("scores") or [] if isinstance(r, dict)}

    @property
    def langs(self) -> list[str]:
        langs = list(self.results["run"].get("langs") or [])
        return langs + list(dict.fromkeys(lang for _, lang, _ in self._scores if lang not in langs))

    @property
    def tasks(self) -> list[str]:
        tasks = list(self.results["run"].get("tasks") or [])
        return tasks + [t for t in self.results["tasks"] if t not in tasks]

    def metrics(self, task: str) -> list[str]:
        metrics = list((self.results["tasks"].get(task) or {}).get("metrics") or [])
        return metrics + list(dict.fromkeys(m for t, _, m in self._scores if t == task and m not in metrics))

    def score(self, task: str, lang: str, metric: str) -> dict | None:
        return self._scores.get((task, lang, metric))

    def macro(self, task: str, metric: str) -> dict | None:
        return self._macro.get((task, metric))

    @property
    def ci_name(self) -> str:
        """How intervals are labelled: the confidence of results.json's "bootstrap" record, else 95%."""
        confidence = _number((self.results.get("bootstrap") or {}).get("confidence"))
        return f"{confidence * 100:g}% CI" if confidence else "95% CI"


# ---------------------------------------------------------------- loading

def load_run(run_dir: Path) -> Run:
    """results.json + samples.jsonl of a run folder; MellaError naming what is missing or wrong."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MellaError(f"{run_dir}: no such run folder (expected a folder with results.json "
                         "and samples.jsonl, as written by `mella-eval run`)")
    results_path, samples_path = run_dir / "results.json", run_dir / "samples.jsonl"
    for path in (results_path, samples_path):
        if not path.is_file():
            raise MellaError(f"{run_dir}: not a run folder: {path.name} is missing")
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise MellaError(f"{results_path}: not valid JSON ({e})") from None
    _check_results(results_path, results)
    return Run(run_dir, results, _read_records(samples_path))


def _check_results(path: Path, results) -> None:
    if not isinstance(results, dict):
        raise MellaError(f"{path}: expected a JSON object")
    version = results.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise MellaError(f"{path}: schema_version {version!r} is not supported "
                         f"(this mella-eval reads up to {SCHEMA_VERSION})")
    for key, kind in (("run", dict), ("tasks", dict), ("scores", list)):
        if not isinstance(results.get(key), kind):
            raise MellaError(f"{path}: key '{key}' is missing or not a {kind.__name__}")
    if not all(isinstance(row, dict) for row in results["scores"]):
        raise MellaError(f"{path}: every entry of 'scores' must be an object")


def _read_records(path: Path) -> list[dict]:
    return [record for _, record in iter_jsonl_objects(path)]


class Thumbs:
    """`thumbs/<sha256>.jpg` of the run folder as data: URLs (None where there is none)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._cache: dict[str, str | None] = {}

    def url(self, record: dict) -> str | None:
        shas = record.get("image_sha256") or []
        sha = shas[0] if isinstance(shas, list) and shas else None
        if not isinstance(sha, str) or not _SHA256.match(sha):  # never a path from the record
            return None
        if sha not in self._cache:
            self._cache[sha] = self._load(sha)
        return self._cache[sha]

    def _load(self, sha: str) -> str | None:
        path = self.folder / f"{sha}.jpg"
        try:
            if not path.is_file() or path.stat().st_size > THUMB_MAX_BYTES:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        mime = _image_mime(data)
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}" if mime else None


def _image_mime(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# ---------------------------------------------------------------- small helpers

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


# ---------------------------------------------------------------- header

def _header(run: Run) -> str:
    info = run.results["run"]
    counts = info.get("counts") or {}
    execution = info.get("execution") or info  # older results kept these at the top of "run"
    tasks = "".join(
        f"<span class=chip>{_e(name)} <span class=muted>v{_e(t.get('version'))} · "
        f"{_e(str(t.get('sha256') or '')[:12])}</span></span> "
        for name, t in ((n, run.results["tasks"].get(n, {})) for n in run.tasks))
    versions = " ".join(f"<span class=chip>{_e(k)} {_e(v)}</span>"
                        for k, v in (info.get("versions") or {}).items())
    ok = counts.get("ok", sum(r.get("status") == "ok" for r in run.records))
    errors = counts.get("error", sum(r.get("status") != "ok" for r in run.records))
    identity = " ".join(f"<span class=chip>{_e(k)} {_e(str(v)[:120])}</span>"
                        for k, v in (info.get("model_identity") or {}).items()
                        if k != "backend" and isinstance(v, (str, int, float)) and not isinstance(v, bool))
    rows = [
        ("model", f"<b>{_e(info.get('model'))}</b>"),
        ("backend", f"{_e(info.get('backend'))} {identity}"),
        ("tasks", tasks),
        ("languages", " ".join(f"<span class=chip>{_e(code)}</span>" for code in run.langs)),
        ("date", f"{_e(execution.get('started_at'))} → {_e(execution.get('finished_at'))}"
                 f" <span class=muted>({_e(execution.get('duration_s'))} s)</span>"),
        ("samples", f"{_e(counts.get('samples', len(run.records)))} · "
                    f"<span class='badge ok'>{_e(ok)} ok</span> "
                    f"<span class='badge {'bad' if errors else 'ok'}'>{_e(errors)} error</span>"
                    + (f" <span class=muted>· {_e(counts['unmatched_predictions'])} unmatched "
                       "predictions</span>" if counts.get("unmatched_predictions") else "")),
        ("versions", versions),
        ("git commit", f"<code>{_e(info.get('git_commit') or '—')}</code>"),
        ("run folder", f"<code>{_e(run.dir)}</code>"),
    ]
    grid = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    nav = " ".join(f"<a href='#task-{_slug(t)}'>{_e(t)}</a>" for t in run.tasks)
    return (f"<header><h1>mella-eval report <span class=muted>· {_e(info.get('name'))}</span></h1>"
            f"<dl class=meta>{grid}</dl><nav>Tasks: {nav}</nav></header>")


# ---------------------------------------------------------------- heatmap

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


# ---------------------------------------------------------------- bar charts

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


# ---------------------------------------------------------------- worst and failed samples

def rank_worst(records: list[dict], metrics: list[str]) -> tuple[str, list[tuple[float, dict]], int]:
    """(what they are ranked by, [(score, record)] lowest first, how many could not be ranked).

    The first of the task's metrics (then any other key) that records carry as a per-sample number
    in `metrics`; without one, sentence-level chrF of the prediction against the references.
    """
    usable = [r for r in records if _has_prediction(r)]
    keys = list(metrics)
    for record in usable:
        keys += [k for k in (record.get("metrics") or {}) if k not in keys]
    for key in keys:
        scored = [(v, r) for r in usable
                  if (v := _number((r.get("metrics") or {}).get(key))) is not None]
        if scored:
            return key, sorted(scored, key=_rank_key), len(usable) - len(scored)
    scored = [(v, r) for r in usable if (v := _sentence_chrf(r)) is not None]
    return "sentence chrF", sorted(scored, key=_rank_key), len(usable) - len(scored)


def _rank_key(item: tuple[float, dict]):
    value, record = item
    return value, str(record.get("lang")), str(record.get("id"))


def _sentence_chrf(record: dict) -> float | None:
    from sacrebleu import sentence_chrf

    from mella_eval.metrics.text import nfc

    prediction = record.get("prediction")
    references = [nfc(r) for r in record.get("references") or [] if isinstance(r, str)]
    if not isinstance(prediction, str) or not references:
        return None
    return float(sentence_chrf(nfc(prediction), references).score)


def _worst(run: Run, task: str, thumbs: Thumbs, records: list[dict]) -> str:
    key, ranked, unranked = rank_worst(records, run.metrics(task))
    if not ranked:
        return "<p class=note>No sample of this task could be ranked (no usable prediction).</p>"
    how = (f"Ranked by sentence-level chrF of the prediction against the references"
           if key == "sentence chrF" else f"Ranked by the per-sample <b>{_e(key)}</b>")
    note = (f"<p class=note>{how}, lowest first: the {min(WORST_PER_TASK, len(ranked))} lowest of "
            f"{len(ranked)} ranked samples" + (f"; {unranked} without that value are not ranked"
                                               if unranked else "") + ".</p>")
    cards = [_sample_card(i, key, score, record, thumbs)
             for i, (score, record) in enumerate(ranked[:WORST_PER_TASK], 1)]
    return note + "".join(cards)


def _sample_card(rank: int, key: str, score: float, record: dict, thumbs: Thumbs) -> str:
    url = thumbs.url(record)
    alt = record.get("alt_text") or f"image of sample {record.get('id')}"
    image = (f"<img src='{url}' alt='{_e(alt)}'>" if url
             else "<div class=noimg>no thumbnail</div>")
    prediction = record.get("prediction")
    shown = (f"<div class=pred dir=auto>{_clip(prediction)}</div>" if prediction is not None
             else f"<div class='pred error'>{_e(record.get('reason') or 'no prediction')}</div>")
    refs = "".join(f"<li dir=auto>{_clip(r)}</li>" for r in record.get("references") or [])
    refs_dir = "rtl" if _is_rtl(record.get("lang")) else "ltr"
    refs = f"<div class=label>references</div><ol class=refs dir={refs_dir}>{refs}</ol>" if refs else ""
    if isinstance(record.get("alt_text"), str):
        refs += f"<div class=label>alt text</div><div class=alt dir=auto>{_clip(record['alt_text'])}</div>"
    chips = " ".join(f"<span class=chip>{_e(k)} {_fmt(v)}</span>"
                     for k, v in (record.get("metrics") or {}).items()
                     if k != key and _number(v) is not None)
    keywords = record.get("keywords")
    keyword_line = ""
    if isinstance(keywords, list) and keywords:
        groups = " · ".join(" / ".join(map(str, k)) if isinstance(k, list) else str(k) for k in keywords)
        keyword_line = f"<div class=kw dir=auto><span class=label>keywords</span> {_clip(groups)}</div>"
    anchor = _slug("-".join(str(record.get(k)) for k in ("task", "lang", "id")))
    return (f"<article class=card id='{_e(anchor)}'>"
            f"<div class=thumb>{image}</div><div class=body>"
            f"<div class=head><span class=rank>#{rank}</span> "
            f"<span class=chip>{_e(record.get('lang'))}</span> <code>{_e(record.get('id'))}</code> "
            f"<span class=score>{_e(key)} {score:.2f}</span> {chips}</div>"
            f"<div class=label>prediction</div>{shown}"
            f"{refs}{keyword_line}"
            f"{_judge(record.get('judge'))}</div></article>")


def _judge(judge) -> str:
    judges = judge if isinstance(judge, list) else [judge]
    out = []
    for j in judges:
        if not isinstance(j, dict):
            continue
        status = j.get("status")
        extras = " ".join(f"<span class=chip>{_e(k)} {_e(str(v)[:80])}</span>" for k, v in j.items()
                          if k not in ("rationale", "status", "reason")
                          and isinstance(v, (str, int, float, bool)) and v is not None)
        badge = (f"<span class='badge {'ok' if status == 'ok' else 'bad'}'>{_e(status)}</span>"
                 if status else "")
        text = j.get("rationale")
        body = (f"<div class=rationale dir=auto>{_clip(text)}</div>" if text
                else f"<div class='rationale muted'>{_e(j.get('reason') or 'no rationale')}</div>")
        out.append(f"<div class=label>judge {badge} {extras}</div>{body}")
    return "".join(out)


def _failed(records: list[dict]) -> str:
    failed = [(r, *why) for r in records if (why := _failure(r)) is not None]
    if not failed:
        return "<p class=note>No failed samples.</p>"
    reasons = Counter((what, reason) for _, what, reason in failed)
    summary = "".join(f"<tr><td class=num>{n}</td><td>{_e(what)}</td>"
                      f"<td dir=auto>{_clip(reason, 300)}</td></tr>"
                      for (what, reason), n in reasons.most_common())
    rows = "".join(f"<tr><td>{_e(r.get('lang'))}</td><td><code>{_e(r.get('id'))}</code></td>"
                   f"<td>{_e(what)}</td><td class=reason dir=auto>{_clip(reason, 300)}</td></tr>"
                   for r, what, reason in failed[:FAILED_SHOWN])
    more = (f"<p class=note>… and {len(failed) - FAILED_SHOWN} more (see samples.jsonl).</p>"
            if len(failed) > FAILED_SHOWN else "")
    return (f"<p><span class='badge bad'>{len(failed)} failed</span> of {len(records)} samples.</p>"
            f"<table class=list><thead><tr><th>count</th><th>failed</th><th>reason</th></tr></thead>"
            f"<tbody>{summary}</tbody></table>"
            f"<details{' open' if len(failed) <= 40 else ''}><summary>every failed sample</summary>"
            f"<table class='list failed'><thead><tr><th>lang</th><th>id</th><th>failed</th>"
            f"<th>reason</th></tr></thead><tbody>{rows}</tbody></table>{more}</details>")


# ---------------------------------------------------------------- page

def _task_section(run: Run, task: str, thumbs: Thumbs) -> str:
    records = [r for r in run.records if r.get("task") == task]
    meta = run.results["tasks"].get(task, {})
    dataset = f" · data: <code>{_e(meta['dataset'])}</code>" if meta.get("dataset") else ""
    return (f"<section id='task-{_slug(task)}'><h2>{_e(task)} <span class=muted>v{_e(meta.get('version'))}"
            f"</span></h2><p class=note>{len(records)} samples{dataset}</p>"
            f"<h3>Scores by language</h3>{_heatmap(run, task)}"
            f"<h3>Per metric</h3>{_bars(run, task)}"
            f"<h3>Worst samples</h3>{_worst(run, task, thumbs, records)}"
            f"<h3>Failed samples</h3>{_failed(records)}</section>")


def build_report(run_dir) -> str:
    """The report of a run folder as one self-contained HTML document."""
    import mella_eval

    run = load_run(Path(run_dir))
    thumbs = Thumbs(run.dir / "thumbs")
    sections = "".join(_task_section(run, task, thumbs) for task in run.tasks)
    made = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = f"mella-eval report · {run.results['run'].get('name') or run.dir.name}"
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f"{_header(run)}{sections}"
        f"<footer>Written by mella-eval {_e(mella_eval.__version__)} at {made} from "
        f"<code>{_e(run.dir)}</code>. Self-contained: no script, no network.</footer>"
        "</main></body></html>\n"
    )


def write_report(run_dir, out=None) -> Path:
    """Write the report (default RESULT_DIR/report.html; a folder gets report.html inside)."""
    run_dir = Path(run_dir)
    path = run_dir / REPORT_NAME if out is None else Path(out)
    if path.is_dir():
        path = path / REPORT_NAME
    atomic_write_text(path, build_report(run_dir))
    return path


# ---------------------------------------------------------------- CLI

def register(subparsers) -> None:
    """Add `report` to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "report", help="write a self-contained HTML report of a run folder",
        description="Write one static HTML file (no network, no script) with a heatmap of languages "
                    "x metrics, per-language bars with confidence intervals, the worst samples with "
                    "thumbnails and the failed samples.",
        epilog=REPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result_dir", metavar="RESULT_DIR",
                        help="a run folder written by `mella-eval run` (results.json + samples.jsonl)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="where to write the HTML (default: RESULT_DIR/report.html)")
    parser.set_defaults(func=main)


def main(args) -> int:
    path = write_report(Path(args.result_dir), args.output)
    print(path)
    return 0


_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--accent:#3b6fb6;--bad:#c62828;
--good:#1a7f37;--judge:#7c4dcc}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font-size:14px;line-height:1.5;
font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans Arabic","Noto Naskh Arabic",
"Noto Sans Thai","Noto Sans CJK KR","Noto Sans KR","Apple SD Gothic Neo","Malgun Gothic",
"Leelawadee UI",Tahoma,"DejaVu Sans",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 32px 64px}
h1{font-size:24px;margin:0 0 16px}
h2{font-size:20px;margin:40px 0 4px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h3{font-size:15px;margin:28px 0 8px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
code{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
a{color:var(--accent)}
.muted{color:var(--muted);font-weight:normal}
.note{color:var(--muted);font-size:12.5px;margin:6px 0}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:6px 18px;margin:0 0 12px;padding:14px 18px;
background:var(--panel);border:1px solid var(--line);border-radius:8px}
.meta dt{color:var(--muted)}
.meta dd{margin:0}
nav{margin:8px 0}
.chip{display:inline-block;padding:0 8px;margin:1px 0;border-radius:999px;background:#fff;
border:1px solid var(--line);font-size:12px;white-space:nowrap}
.badge{display:inline-block;padding:0 8px;border-radius:999px;font-size:12px;font-weight:600;color:#fff}
.badge.ok{background:var(--good)}
.badge.bad{background:var(--bad)}
table.heat{border-collapse:separate;border-spacing:3px;margin:4px 0}
table.heat th{font-weight:600;text-align:center;padding:4px 8px}
table.heat th.lang{text-align:left;white-space:nowrap;font-weight:normal}
table.heat td.cell{min-width:96px;padding:7px 10px;text-align:center;border-radius:5px;
font-variant-numeric:tabular-nums;font-weight:600}
table.heat td.cell small{display:block;font-weight:normal;font-size:11px;opacity:.85}
table.heat td.missing{background:repeating-linear-gradient(45deg,#eceff2,#eceff2 5px,#e3e7eb 5px,#e3e7eb 10px);
color:#8b949e;cursor:help}
table.heat tr.macro th{padding-top:10px}
table.heat td.macro{background:#fff;color:var(--fg);border:1px solid var(--line)}
table.heat td.count{color:var(--muted);font-size:12px;text-align:center;padding:0 8px;white-space:nowrap}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:12px 20px}
figure.chart svg{max-width:100%;height:auto}
figure.chart{margin:0;padding:10px 12px;border:1px solid var(--line);border-radius:8px}
figure.chart figcaption{font-weight:600;margin-bottom:2px}
svg text{font-size:12px;fill:var(--fg)}
svg .tick{fill:var(--muted);font-size:10.5px}
svg .grid{stroke:#eaeef2}
svg .axis{stroke:#8c959f}
svg .bar{fill:var(--accent);opacity:.85}
svg .bar.macro{fill:#1f2328;opacity:.75}
svg .sep{stroke:var(--line);stroke-dasharray:3 3}
svg .ci{stroke:var(--fg);stroke-width:1.4;fill:none}
svg .lab{font-weight:600}
svg .nobar text.val{fill:var(--muted);font-style:italic}
.card{display:grid;grid-template-columns:120px 1fr;gap:16px;padding:12px;margin:10px 0;
border:1px solid var(--line);border-radius:8px;break-inside:avoid}
.thumb img,.noimg{width:120px;height:120px;object-fit:cover;border-radius:6px;display:block;background:var(--panel)}
.noimg{display:flex;align-items:center;justify-content:center;color:var(--muted);font-size:12px;
border:1px dashed var(--line)}
.card .head{margin-bottom:4px}
.card .rank{font-weight:700;color:var(--bad)}
.card .score{font-weight:600;margin:0 6px}
.label{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin-top:6px}
.kw .label{display:inline;margin-right:6px}
.alt{overflow-wrap:anywhere}
.label .chip,.label .badge{text-transform:none;letter-spacing:normal}
.pred{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff8e6;border-radius:4px;padding:4px 8px}
.pred.error{background:#ffebe9;color:var(--bad)}
ol.refs{margin:2px 0;padding-inline-start:22px}
ol.refs li{overflow-wrap:anywhere}
.rationale{white-space:pre-wrap;overflow-wrap:anywhere;border-inline-start:3px solid var(--judge);
padding:2px 10px;background:#f7f3fd}
table.list{border-collapse:collapse;margin:6px 0;font-size:13px}
table.list th,table.list td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:start;vertical-align:top}
table.list td.num{text-align:right;font-variant-numeric:tabular-nums}
table.list td.reason{color:var(--bad);overflow-wrap:anywhere}
details summary{cursor:pointer;color:var(--accent);margin:6px 0}
footer{margin-top:48px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:10px}
@media print{main{max-width:none;padding:0}details{display:block}}
"""
