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


# Called as soon as request `index` (position in the list given to `generate`) is finished,
# so the caller can store it before the rest are done.
ResultCallback = Callable[[int, Completion], None]


class Backend(Protocol):
    name: str

    def cache_identity(self) -> dict:
        """What determines this backend's outputs, known WITHOUT loading the model (so a fully
        cached run never loads it): backend, model (+ weights fingerprint), dtype, model args.
        Not what only changes speed (batch size, GPU count)."""

    def identity(self) -> dict:
        """Everything known about the model once it ran (recorded in results)."""

    def generate(self, requests: list[GenerationRequest],
                 on_result: ResultCallback | None = None) -> list[Completion]:
        """One completion per request, in order. All requests share the same settings.

        A failure of one request is that request's `Completion.failed`; only a failure that
        makes every request fail (model cannot load, bad credentials) raises.
        """

    def close(self) -> None:
        """Release the model (GPU memory) before the next phase."""


def local_model_identity(model: str) -> dict:
    """{"model", "weights", "chat_template_sha256"} for a model loaded from disk or a hub,
    computed from its files without loading it.

    The fingerprint (weights, config, tokenizer and chat template files) makes a retrained
    checkpoint at the same path a different model for the response store.
    """
    from mella_eval.fingerprint import model_fingerprint

    return {"model": model, "weights": model_fingerprint(model),
            "chat_template_sha256": chat_template_sha256(model)}


def chat_template_sha256(model: str) -> str | None:
    """sha256 of the chat template a local model folder ships, found where transformers looks:
    chat_template.jinja, chat_template.json, then processor/tokenizer config. None if none."""
    import hashlib
    import json
    from pathlib import Path

    folder = Path(model).expanduser()
    if not folder.is_dir():
        return None
    template = None
    if (folder / "chat_template.jinja").is_file():
        template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    else:
        for name in ("chat_template.json", "processor_config.json", "tokenizer_config.json"):
            path = folder / name
            if path.is_file():
                try:
                    value = json.loads(path.read_text(encoding="utf-8")).get("chat_template")
                except (ValueError, AttributeError):
                    value = None
                if value:
                    template = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                    break
    return hashlib.sha256(template.encode("utf-8")).hexdigest() if template else None
