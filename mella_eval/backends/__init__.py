"""Inference backends. Each turns a list of `GenerationRequest`s into `Completion`s.

Backends never see task formats: they get typed messages and generation settings only.
Modules are imported lazily so the CLI starts without torch, transformers or vllm.
"""

from __future__ import annotations


from mella_eval.backends.base import Backend, Completion

BACKENDS = ("hf",)


def default_backend() -> str:
    return "hf"


def create_backend(config) -> Backend:
    name = config.backend
    if name == "hf":
        from mella_eval.backends.hf import HFBackend

        return HFBackend.from_config(config)
    raise ValueError(f"unknown backend {name!r}")


__all__ = ["BACKENDS", "Backend", "Completion", "create_backend", "default_backend"]
