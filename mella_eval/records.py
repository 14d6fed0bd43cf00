"""Per-sample records: one plain dict per (task, lang, id), written as a samples.jsonl row."""

from __future__ import annotations

from mella_eval.backends.base import Completion
from mella_eval.build import GenerationRequest, render_prompt, system_prompt
from mella_eval.data import Sample
from mella_eval.tasks import Task


def make_records(task: Task, samples: list[Sample], requests: dict[tuple, GenerationRequest],
                 completions: dict[tuple, Completion]) -> list[dict]:
    records = []
    for sample in samples:
        key = (sample.task, sample.lang, sample.id)
        request = requests.get(key)
        completion = completions.get(key) if request else None
        if sample.error is not None:
            status, reason, prediction = "error", sample.error, None
        elif completion is None:
            status, reason, prediction = "error", "no completion", None
        else:
            status, reason, prediction = completion.status, completion.reason, completion.text
        record = {
            "task": sample.task,
            "lang": sample.lang,
            "id": sample.id,
            "prompt": render_prompt(task, sample) if sample.error is None else task.prompts[sample.lang],
            "prompt_hash": request.prompt_hash if request else None,
            "image_sha256": [img.sha256 for img in sample.images],
            "prediction": prediction,
            "references": list(sample.references),
            "status": status,
            "reason": reason,
            "usage": completion.usage if completion else {},
            "metrics": {},
        }
        system = system_prompt(task, sample)
        if system is not None:
            record["system_prompt"] = system
        if "source_row" in sample.extra:  # --protocol reference scores the row as published
            record["source_row"] = sample.extra["source_row"]
            record["source_index"] = sample.extra["source_index"]
        if "alt_text" in task.fields:
            record["alt_text"] = sample.alt_text
        if "keywords" in task.fields:
            record["keywords"] = [list(k) for k in sample.keywords]
        for name in ("question", "options", "answer", "answers", "country", "reference_answer",
                     "item_rubric"):
            if name in task.fields:
                value = getattr(sample, name)
                record[name] = list(value) if isinstance(value, tuple) else value
        records.append(record)
    return records
