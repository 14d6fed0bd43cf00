"""Checks on a local checkpoint's files that explain, in one line, why an engine cannot load it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mella_eval.errors import MellaError

# CLIP/SigLIP towers as transformers 5.x saves them inside LLaVA-style models, without the
# `vision_model.` level that published checkpoints (and vLLM's weight loader) have.
_FLAT_TOWER_KEY = re.compile(r"(^|\.)vision_tower\.(embeddings|encoder|post_layernorm|pre_layrnorm|head)\.")
_TOWER_TYPES = ("clip_vision_model", "siglip_vision_model")


def read_config(model: str) -> dict | None:
    path = Path(model).expanduser() / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def architecture(model: str) -> str:
    """The checkpoint's architecture class name (config.json), else its model_type, else the name."""
    config = read_config(model) or {}
    architectures = config.get("architectures") or []
    return architectures[0] if architectures else config.get("model_type") or model


def weight_names(model: str) -> list[str]:
    folder = Path(model).expanduser()
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            return list(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}))
        except ValueError:
            return []
    names: list[str] = []
    for path in sorted(folder.glob("*.safetensors")):
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                names.extend(f.keys())
        except Exception:  # noqa: BLE001 -- unreadable weights: the engine says why
            return names
    return names


def check_vllm_layout(model: str, arch: str) -> None:
    """Refuse a CLIP/SigLIP tower saved as `vision_tower.embeddings...` (transformers 5.x):
    vLLM 0.32 loads only `vision_tower.vision_model.embeddings...` and would stop with a
    KeyError deep in its loader."""
    config = read_config(model)
    if not config:
        return  # a hub id or no config: nothing to check here
    vision_type = (config.get("vision_config") or {}).get("model_type")
    if vision_type not in _TOWER_TYPES:
        return
    flat = next((name for name in weight_names(model) if _FLAT_TOWER_KEY.search(name)), None)
    if flat is not None:
        raise MellaError(
            f"{arch} cannot run on --backend vllm: its {vision_type} weights are saved as "
            f"{flat!r} (transformers 5.x layout); vLLM loads only 'vision_tower.vision_model.*'. "
            "Rename the keys (insert 'vision_model.' after 'vision_tower.') or use --backend hf")


def vllm_request_refusal(model_type: str | None, image_count: int) -> str | None:
    """Why vLLM cannot answer this request the way transformers does, or None.

    LLaVA-OneVision shows a prompt with several images at base resolution (transformers and the
    reference code tile only a single image); vLLM 0.32 tiles every image, so a multi-image
    answer would differ between backends."""
    if model_type == "llava_onevision" and image_count > 1:
        return ("LLaVA-OneVision with 2+ images per prompt: vLLM tiles every image (anyres) while "
                "transformers and the reference use base resolution; use --backend hf for these")
    return None


def check_vllm_architecture(arch: str, version: str) -> None:
    """Refuse, before an engine starts, an architecture vLLM has dropped (Mllama, Aya Vision in
    vLLM 0.32): vLLM would try its generic Transformers fallback, which fails later (Mllama:
    AttributeError in the processor; Aya Vision: the engine dies on its first batch)."""
    try:
        from vllm import ModelRegistry
        from vllm.model_executor.models import registry
    except ImportError:
        return
    dropped = getattr(registry, "_PREVIOUSLY_SUPPORTED_MODELS", {})
    if arch in dropped and arch not in ModelRegistry.get_supported_archs():
        raise MellaError(f"{arch} cannot run on --backend vllm (vLLM {version}): vLLM supported it "
                         f"until v{dropped[arch]} only; use --backend hf or an older vLLM")
