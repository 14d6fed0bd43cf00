"""OpenAI-compatible backend: any chat-completions server (vLLM's own, llama.cpp, a hosted API).

Requests go out through `mella_eval.api_client.ChatClient` (async, bounded concurrency, retries);
images travel as base64 data URLs. A request that still fails after its retries becomes a
failed `Completion` with the reason; only a failure that would hit every request (bad key,
wrong URL or model, nothing listening) raises `MellaError`.
"""

from __future__ import annotations

import json
import logging
import os
from functools import partial

from mella_eval.api_client import DUMMY_API_KEY, ChatClient, ChatResult, RetryPolicy
from mella_eval.backends.base import Completion, ResultCallback
from mella_eval.build import GenerationRequest
from mella_eval.errors import MellaError
from mella_eval.messages import to_openai_messages
from mella_eval.tasks import GenerationSettings

log = logging.getLogger(__name__)

DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"


class OpenAIBackend:
    name = "openai"

    def __init__(self, model: str, base_url: str, *, api_key_env: str = DEFAULT_API_KEY_ENV,
                 concurrency: int = 16, max_retries: int = 5, request_timeout: float = 120.0,
                 policy: RetryPolicy | None = None):
        if not model:
            raise MellaError("--backend openai needs --model NAME (the model name the server serves)")
        if not base_url:
            raise MellaError("--backend openai needs --base-url URL, e.g. http://127.0.0.1:8000/v1")
        api_key = os.environ.get(api_key_env) or None
        key_hint = f"--api-key-env {api_key_env}"
        if api_key is None:
            # Local servers accept any key; a hosted API will answer 401, and the hint says why.
            key_hint += " (the variable is not set)"
            log.info("%s is not set: sending the placeholder key %r (fine for local servers)",
                     api_key_env, DUMMY_API_KEY)
        self.model_name = model
        self.client = ChatClient(
            base_url, api_key, model, concurrency=concurrency, timeout=request_timeout,
            policy=policy or RetryPolicy(max_retries=max_retries),
            label="openai backend", key_hint=key_hint)

    @classmethod
    def from_config(cls, config) -> "OpenAIBackend":
        # getattr: works with any config object that has these attributes (RunConfig, a namespace).
        return cls(
            getattr(config, "model", None), getattr(config, "base_url", None),
            api_key_env=getattr(config, "api_key_env", None) or DEFAULT_API_KEY_ENV,
            concurrency=_or_default(getattr(config, "concurrency", None), 16),
            max_retries=_or_default(getattr(config, "max_retries", None), 5),
            request_timeout=_or_default(getattr(config, "request_timeout", None), 120.0),
        )

    def cache_identity(self) -> dict:
        """Served model name and server; never the key (nor user:password in the URL).
        Concurrency, retries and timeouts change speed, not outputs, so they stay out."""
        return {"backend": self.name, "model": self.model_name, "base_url": self.client.display_url}

    def identity(self) -> dict:
        return self.cache_identity()

    def generate(self, requests: list[GenerationRequest],
                 on_result: ResultCallback | None = None) -> list[Completion]:
        """One completion per request, in order; `on_result(index, completion)` is called as
        each request finishes (in completion order), so it can be saved before the rest."""
        jobs = [(partial(to_openai_messages, r.messages), sampling_params(r.settings))
                for r in requests]

        def report(index: int, result: ChatResult) -> None:
            if on_result is not None:
                on_result(index, to_completion(result))

        return [to_completion(r) for r in self.client.run_all(jobs, report)]

    def close(self) -> None:
        """Nothing to release: `run_all` closes its HTTP session when it returns."""

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.client!r})"


def sampling_params(settings: GenerationSettings) -> dict:
    """GenerationSettings -> chat-completions request fields."""
    params = {"max_tokens": settings.max_new_tokens, "temperature": settings.temperature,
              "top_p": settings.top_p, "seed": settings.seed}
    if settings.stop:
        params["stop"] = list(settings.stop)
    if settings.json_schema is not None:
        # Structured output where the server supports it; the caller still parses strictly.
        params["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "reply", "strict": True, "schema": json.loads(settings.json_schema)}}
    return params


def to_completion(result: ChatResult) -> Completion:
    if not result.ok:
        return Completion.failed(result.reason or "request failed")
    # Stripped like the other backends' outputs, so the same words score the same.
    return Completion(text=result.text.strip(), usage=dict(result.usage))


def _or_default(value, default):
    return default if value is None else value
