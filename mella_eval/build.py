"""Phase 1: turn (task, sample) pairs into generation requests: typed chat messages + settings."""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass

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


def build_requests(task: Task, samples: list[Sample], settings: GenerationSettings | None = None
                   ) -> list[GenerationRequest]:
    """One request per loadable sample; samples with an `error` get none (they are recorded as is)."""
    settings = settings or task.generation
    return [
        GenerationRequest(task=task.name, lang=s.lang, sample_id=s.id,
                          messages=(render_user_message(task, s),), settings=settings)
        for s in samples if s.error is None
    ]


def render_prompt(task: Task, sample: Sample) -> str:
    """The language's prompt with {question}, {options} and {language} (its English name)."""
    options = "\n".join(task.options_format.format(letter=letter, option=option)
                        for letter, option in zip(OPTION_LETTERS, sample.options))
    return task.prompts[sample.lang].format(question=sample.question or "", options=options,
                                            language=get_language(sample.lang).english)


def render_user_message(task: Task, sample: Sample) -> Message:
    """Images first, then the prompt; with an `image_marker` (e.g. "<image (\\d+)>"), each marked
    image goes where its marker stands in the text instead (interleaved, as in M3Exam)."""
    text = render_prompt(task, sample)
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
