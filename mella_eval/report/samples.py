"""Per task: the worst samples (cards with thumbnail, prediction, references, judge) and the
failed samples with their reasons."""

from __future__ import annotations

from collections import Counter

from mella_eval.report.markup import (_clip, _e, _failure, _fmt, _has_prediction, _is_rtl, _number,
                                      _slug)
from mella_eval.report.run import Run, Thumbs

WORST_PER_TASK = 10
FAILED_SHOWN = 200  # failed samples listed per task; the rest are counted


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


def shown_image_shas(run: Run) -> set[str]:
    """sha256 of every image the report shows: the first image of each task's worst samples
    (what `Thumbs.url` looks up). The run writes thumbnails for these only."""
    shas: set[str] = set()
    for task in run.tasks:
        records = [r for r in run.records if r.get("task") == task]
        _, ranked, _ = rank_worst(records, run.metrics(task))
        for _, record in ranked[:WORST_PER_TASK]:
            images = record.get("image_sha256") or []
            if isinstance(images, list) and images and isinstance(images[0], str):
                shas.add(images[0])
    return shas


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
