"""Inference backends. Each turns a list of `GenerationRequest`s into `Completion`s.

Backends never see task formats: they get typed messages and generation settings only.
Modules are imported lazily so the CLI starts without torch, transformers or vllm.
"""

from __future__ import annotations

import importlib.util

from mella_eval.backends.base import Backend, Completion

BACKENDS = ("vllm", "hf", "openai", "ray-vllm")


def default_backend() -> str:
    """vLLM when it is installed (the main engine), else transformers."""
    return "vllm" if importlib.util.find_spec("vllm") is not None else "hf"


def create_backend(config) -> Backend:
    name = config.backend
    if name == "hf":
        from mella_eval.backends.hf import HFBackend

        return HFBackend.from_config(config)
    if name == "vllm":
        from mella_eval.backends.vllm_backend import VLLMBackend

        return VLLMBackend.from_config(config)
    if name == "ray-vllm":
        from mella_eval.backends.ray_vllm import RayVLLMBackend

        return RayVLLMBackend.from_config(config)
    if name == "openai":
        from mella_eval.backends.openai_backend import OpenAIBackend

        return OpenAIBackend.from_config(config)
    raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "Completion", "create_backend", "default_backend"]
