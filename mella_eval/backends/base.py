"""The contract every backend meets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
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


def local_model_identity(model: str, resolved: tuple[str, str | None] | None = None) -> dict:
    """{"model", "weights", "chat_template_sha256"} (+ "revision" for a hub id) for a model
    loaded from disk or a hub, computed from its files without loading it.

    The fingerprint (weights, config, tokenizer and chat template files) makes a retrained
    checkpoint at the same path a different model for the response store. A hub id
    ("org/name", not an existing path) is resolved offline through the local Hugging Face cache
    to the snapshot that `refs/main` points at, and that folder is fingerprinted: a new hub
    revision is a new model. When it cannot be resolved, "weights" is None and the generation
    phase reuses no stored response (see `identity_is_verifiable`). `resolved` is a
    `resolve_model_folder(model)` result the caller already holds (so it loads what was
    fingerprinted).
    """
    from mella_eval.fingerprint import model_fingerprint

    folder, revision = resolved if resolved is not None else resolve_model_folder(model)
    identity = {"model": model, "weights": model_fingerprint(folder),
                "chat_template_sha256": chat_template_sha256(folder)}
    if revision is not None:
        identity["revision"] = revision
    return identity


def resolve_model_folder(model: str) -> tuple[str, str | None]:
    """(what to load, hub revision or None): an existing path as given; a hub id cached
    locally as its snapshot folder (the files `local_model_identity` fingerprints, so the
    backend loads that revision, not whatever the hub serves now); anything else as given."""
    if not Path(model).expanduser().exists():
        snapshot = resolve_hub_snapshot(model)
        if snapshot is not None:
            return str(snapshot[0]), snapshot[1]
    return model, None


def cuda_visible_without_torch() -> bool | None:
    """Whether torch would see a CUDA (or ROCm) device, decided without importing torch
    (2.6 s) where the answer is certain: False when CUDA_VISIBLE_DEVICES hides every device,
    on macOS, or on Linux without NVIDIA/AMD device nodes; otherwise None (ask torch)."""
    import os
    import sys

    if "torch" in sys.modules:  # already paid for: ask it
        return sys.modules["torch"].cuda.is_available()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and (visible.strip() == "" or visible.strip().startswith("-1")):
        return False
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        nodes = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/kfd", "/dev/dxg")
        if not any(os.path.exists(node) for node in nodes):
            return False
    return None


def cuda_available() -> bool:
    """torch.cuda.is_available(), without importing torch when the answer is certain."""
    known = cuda_visible_without_torch()
    if known is not None:
        return known
    import torch

    return torch.cuda.is_available()


def identity_is_verifiable(identity: dict) -> bool:
    """False for a local-weights identity whose weights could not be fingerprinted (a hub id
    not found in the local cache): its stored responses may come from other weights."""
    return not ("weights" in identity and identity["weights"] is None)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def resolve_hub_snapshot(model: str) -> tuple[Path, str] | None:
    """(snapshot folder, commit sha) of hub id `model` in the local Hugging Face cache (what
    `refs/main` points at, read offline), or None when `model` is no hub id or is not cached.

    The cache folder is read from the environment at call time (HF_HUB_CACHE, else
    HF_HOME/hub, else huggingface_hub's default), as transformers will when loading.
    """
    if not _HUB_ID.match(model) or ".." in model:
        return None
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        folder = Path(snapshot_download(model, local_files_only=True, cache_dir=hub_cache_dir()))
    except Exception:  # noqa: BLE001  (not cached, bad id, broken cache: all mean "unknown")
        return None
    if not folder.is_dir():
        return None
    return folder, folder.name  # snapshots/<commit sha>


def hub_cache_dir() -> str | None:
    import os

    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return None  # huggingface_hub's own default


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
