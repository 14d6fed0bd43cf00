"""The contract every backend meets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from mella_eval.build import GenerationRequest


@dataclass
class Completion:
    text: str | None
    status: str = "ok"  # "ok" | "error"
    reason: str | None = None
    usage: dict = field(default_factory=dict)  # prompt_tokens / completion_tokens where known

    @classmethod
    def failed(cls, reason: str) -> "Completion":
        return cls(text=None, status="error", reason=reason)


ProgressCallback = Callable[[int], None]  # called with the number of requests just finished


class Backend(Protocol):
    name: str

    def identity(self) -> dict:
        """What identifies the model behind this backend (recorded in results)."""

    def generate(self, requests: list[GenerationRequest],
                 on_progress: ProgressCallback | None = None) -> list[Completion]:
        """One completion per request, in order. All requests share the same settings.

        A failure of one request is that request's `Completion.failed`; only a failure that
        makes every request fail (model cannot load, bad credentials) raises.
        """

    def close(self) -> None:
        """Release the model (GPU memory) before the next phase."""
