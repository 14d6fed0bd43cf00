"""`--protocol`: the task as the chosen protocol runs it.

"mella" (the default) is the task file as written: the corrected protocol. "reference" gives each
PangeaBench task the paper code's prompt, generation settings and scoring (REFERENCE_TASKS);
a task without a reference protocol (the MELLA tasks, XM3600) keeps its own and results.json
says so per task.
"""

from __future__ import annotations

import dataclasses
import logging

from mella_eval.config import PROTOCOLS
from mella_eval.errors import MellaError
from mella_eval.tasks import GenerationSettings, Task

log = logging.getLogger("mella_eval")


def apply_protocol(tasks: list[Task], protocol: str) -> list[Task]:
    if protocol not in PROTOCOLS:
        raise MellaError(f"--protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if protocol == "mella":
        return list(tasks)
    from mella_eval.protocols import REFERENCE_TASKS

    out, kept = [], []
    for task in tasks:
        if task.name in REFERENCE_TASKS:
            out.append(reference_variant(task))
        else:
            kept.append(task.name)
            out.append(task)
    if kept:
        log.warning("--protocol reference: %s %s no reference protocol (not PangeaBench tasks of "
                    "the paper): scored with the mella protocol, and results.json says so",
                    ", ".join(kept), "has" if len(kept) == 1 else "have")
    return out


def reference_variant(task: Task) -> Task:
    """The task with the reference's prompts (built per row at request time), per-language
    generation settings and "ref_*" metrics, on the languages the reference has."""
    from mella_eval.protocols import REFERENCE_TASKS

    reference = REFERENCE_TASKS[task.name]
    langs = [lang for lang in task.langs
             if reference.languages is None or lang in reference.languages]
    if not langs:
        raise MellaError(f"task {task.name}: --protocol reference covers none of its languages "
                         f"({', '.join(task.langs)}); the reference has {', '.join(reference.languages)}")
    settings = {lang: reference_settings(reference.generation(lang), task.generation) for lang in langs}
    first = settings[langs[0]]
    return dataclasses.replace(
        task,
        protocol="reference",
        prompts={lang: task.prompts[lang] for lang in langs},
        generation=first,
        lang_generation={lang: s for lang, s in settings.items() if s != first},
        metrics=reference.metric_names,
        judge=reference.judge,
        # The reference sends no system turn (xChat's system prompt is part of its prompt text).
        system_prompt=None,
        fields={ours: theirs for ours, theirs in task.fields.items() if ours != "system_prompt"},
    )


def reference_settings(kwargs: dict, base: GenerationSettings) -> GenerationSettings:
    """The reference YAML's generation_kwargs as our settings. Its runs are greedy (do_sample
    false, temperature 0, one beam), so top_p does not change a token; its "top_p: 0" (not a
    valid nucleus for vLLM or an API) becomes 1.0."""
    if kwargs.get("do_sample") or float(kwargs.get("temperature", 0) or 0) > 0:
        raise MellaError(f"reference generation settings {kwargs} sample: only greedy decoding is supported")
    if int(kwargs.get("num_beams", 1)) != 1:
        raise MellaError(f"reference generation settings {kwargs}: beam search is not supported")
    top_p = float(kwargs.get("top_p", 1.0)) or 1.0
    return dataclasses.replace(base, max_new_tokens=int(kwargs["max_new_tokens"]), temperature=0.0,
                               top_p=top_p, stop=tuple(kwargs.get("until", ())))

