"""Phase 1: turn (task, sample) pairs into generation requests: typed chat messages + settings."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from mella_eval.data import Sample
from mella_eval.messages import Message, messages_fingerprint, user_message
from mella_eval.tasks import GenerationSettings, Task


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
        GenerationRequest(
            task=task.name, lang=s.lang, sample_id=s.id,
            messages=(user_message(task.prompts[s.lang], s.images),),
            settings=settings,
        )
        for s in samples if s.error is None
    ]
