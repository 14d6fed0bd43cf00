"""Phase 1: turn (task, sample) pairs into generation requests: typed chat messages + settings."""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass, replace

from mella_eval.data import Sample
from mella_eval.languages import get_language
from mella_eval.messages import Message, TextPart, messages_fingerprint, user_message
from mella_eval.tasks import GenerationSettings, Task


OPTION_LETTERS = string.ascii_uppercase


@dataclass(frozen=True)
class GenerationRequest:
    task: str
    lang: str
    sample_id: str
    messages: tuple[Message, ...]
    settings: GenerationSettings

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.task, self.lang, self.sample_id)

    @property
    def prompt_hash(self) -> str:
        """sha256 of the rendered messages (image bytes by hash): changes when a prompt drifts."""
        payload = json.dumps(messages_fingerprint(self.messages), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def build_requests(task: Task, samples: list[Sample], settings: GenerationSettings | None = None,
                   max_new_tokens: int | None = None) -> list[GenerationRequest]:
    """One request per loadable sample; samples with an `error` get none (they are recorded as is).
    `settings` replaces the task's (every language's); `max_new_tokens` overrides that one value."""
    def settings_for(lang: str) -> GenerationSettings:
        chosen = settings or task.generation_for(lang)
        return replace(chosen, max_new_tokens=max_new_tokens) if max_new_tokens else chosen

    return [
        GenerationRequest(task=task.name, lang=s.lang, sample_id=s.id,
                          messages=render_messages(task, s), settings=settings_for(s.lang))
        for s in samples if s.error is None
    ]


def render_messages(task: Task, sample: Sample) -> tuple[Message, ...]:
    """The system turn (the item's, else the task's, if any), then the user turn."""
    system = system_prompt(task, sample)
    user = render_user_message(task, sample)
    return (Message("system", (TextPart(system),)), user) if system else (user,)


def system_prompt(task: Task, sample: Sample) -> str | None:
    if sample.system_prompt:
        return sample.system_prompt
    if task.system_prompt:
        return task.system_prompt.format(language=get_language(sample.lang).english)
    return None


def render_prompt(task: Task, sample: Sample) -> str:
    """The language's prompt with {question}, {options} and {language} (its English name); under
    the reference protocol, the reference code's prompt for the dataset row."""
    if task.protocol == "reference":
        from mella_eval.protocols import reference_task

        return reference_task(task.name).prompt(sample.extra["source_row"], sample.lang)
    options = "\n".join(task.options_format.format(letter=letter, option=option)
                        for letter, option in zip(OPTION_LETTERS, sample.options))
    return task.prompts[sample.lang].format(question=sample.question or "", options=options,
                                            language=get_language(sample.lang).english)


def render_user_message(task: Task, sample: Sample) -> Message:
    """Images first, then the prompt; with an `image_marker` (e.g. "<image (\\d+)>"), each marked
    image goes where its marker stands in the text instead (interleaved, as in M3Exam)."""
    text = render_prompt(task, sample)
    if task.protocol == "reference":
        return _reference_user_message(text, sample.images)
    if not task.image_marker:
        return user_message(text, sample.images)
    parts: list = []
    placed: set[int] = set()
    position = 0
    for match in re.finditer(task.image_marker, text):
        number = int(match.group(1))
        if not 1 <= number <= len(sample.images):
            continue  # a marker without its image stays as text
        if text[position:match.start()]:
            parts.append(TextPart(text[position:match.start()]))
        parts.append(sample.images[number - 1])
        placed.add(number - 1)
        position = match.end()
    if text[position:]:
        parts.append(TextPart(text[position:]))
    unplaced = [img for i, img in enumerate(sample.images) if i not in placed]
    return Message("user", tuple(unplaced) + tuple(parts))


REFERENCE_IMAGE_TOKEN = "<image>"


def _reference_user_message(text: str, images) -> Message:
    """As the reference's LLaVA-OneVision runner lays a prompt out: each "<image>" in the text is
    the next image; without one, the images go first. Images beyond the placeholders go first,
    and a placeholder beyond the images stays text."""
    pieces = text.split(REFERENCE_IMAGE_TOKEN)
    placed = min(len(pieces) - 1, len(images))
    parts: list = list(images[placed:])
    pending = pieces[0]
    for i, piece in enumerate(pieces[1:]):
        if i < placed:
            parts += [TextPart(pending)] if pending else []
            parts.append(images[i])
            pending = piece
        else:
            pending += REFERENCE_IMAGE_TOKEN + piece
    if pending:
        parts.append(TextPart(pending))
    return Message("user", tuple(parts))
