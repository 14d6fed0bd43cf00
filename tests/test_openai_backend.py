"""OpenAIBackend on real requests (bundled task + sample images) against real HTTP servers."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from types import SimpleNamespace

import pytest

from fault_server import FaultServer, error, per_prompt, reply
from mella_eval.api_client import RetryPolicy
from mella_eval.backends.base import Completion
from mella_eval.backends.openai_backend import OpenAIBackend
from mella_eval.build import build_requests
from mella_eval.data import load_samples
from mella_eval.errors import MellaError
from mella_eval.languages import MELLA_LANGS
from mella_eval.tasks import GenerationSettings, TaskRegistry

KEY = "sk-live-0d6c2b8e4f1a9735"
FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05, jitter=0.0)


def sample_requests(langs=("ar", "th", "ko", "vi"), limit=1, settings=None):
    task = TaskRegistry().resolve("linguistic")[0]
    return build_requests(task, load_samples(task, list(langs), None, limit), settings)


def make_backend(server: FaultServer, monkeypatch, env="MELLA_TEST_KEY", key=KEY, **kwargs):
    if key is None:
        monkeypatch.delenv(env, raising=False)
    else:
        monkeypatch.setenv(env, key)
    kwargs.setdefault("policy", FAST)
    return OpenAIBackend(server.model, server.base_url, api_key_env=env, **kwargs)


def test_generate_sends_images_as_data_urls_and_maps_settings(monkeypatch):
    settings = GenerationSettings(max_new_tokens=7, temperature=0.5, top_p=0.9, seed=3, stop=("\n",))
    requests = sample_requests(settings=settings)
    finished = {}
    with FaultServer() as server:
        backend = make_backend(server, monkeypatch)
        completions = backend.generate(requests, on_result=finished.__setitem__)
    assert [c.status for c in completions] == ["ok"] * len(requests)
    # In request order, whatever order they finished in; text stripped like other backends.
    assert [c.text for c in completions] == [f"reply to: {r.messages[0].text}" for r in requests]
    assert all(c.usage["prompt_tokens"] > 0 and c.usage["completion_tokens"] > 0 for c in completions)
    assert finished == dict(enumerate(completions))  # each one reported as it finished
    by_prompt = {r.text: r for r in server.requests}
    for request in requests:
        received = by_prompt[request.messages[0].text]
        [url] = received.image_urls
        [image] = request.messages[0].images
        assert url.startswith("data:image/jpeg;base64,")
        assert base64.b64decode(url.split(",", 1)[1]) == image.data
        body = received.body
        assert (body["max_tokens"], body["temperature"], body["top_p"], body["seed"], body["stop"]) == \
            (7, 0.5, 0.9, 3, ["\n"])
        assert body["model"] == server.model
        assert received.headers["Authorization"] == f"Bearer {KEY}"


def test_json_schema_setting_becomes_response_format(monkeypatch):
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}
    settings = GenerationSettings(json_schema=json.dumps(schema))
    with FaultServer(default=reply('{"score": 3}')) as server:
        [completion] = make_backend(server, monkeypatch).generate(
            sample_requests(langs=("hu",), settings=settings))
    assert completion.text == '{"score": 3}'
    fmt = server.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == schema


def test_key_from_env_var_or_placeholder(monkeypatch):
    with FaultServer() as server:
        make_backend(server, monkeypatch, key=None).generate(sample_requests(langs=("cs",)))
        make_backend(server, monkeypatch, env="OTHER_KEY_VAR", key="sk-other-1234").generate(
            sample_requests(langs=("cs",)))
    assert [r.headers["Authorization"] for r in server.requests] == ["Bearer EMPTY", "Bearer sk-other-1234"]


def test_failed_request_is_a_failed_completion_and_the_rest_go_on(monkeypatch):
    requests = sample_requests(langs=("ar", "hu", "ru", "sr"))
    failing = requests[1].messages[0].text
    with FaultServer(script=per_prompt({failing: error(500, f"overloaded ({KEY})")})) as server:
        completions = make_backend(server, monkeypatch).generate(requests)
    assert [c.status for c in completions] == ["ok", "error", "ok", "ok"]
    failed = completions[1]
    assert failed.text is None and failed.usage == {}
    assert failed.reason == "HTTP 500 after 3 attempts: overloaded (***)"
    assert sum(r.text == failing for r in server.requests) == 3


def test_bad_key_stops_with_a_clear_error_quickly(monkeypatch):
    requests = sample_requests(langs=MELLA_LANGS, limit=8)  # 64 requests
    with FaultServer(default=error(401, f"Incorrect API key provided: {KEY}")) as server:
        backend = make_backend(server, monkeypatch, concurrency=4)
        start = time.monotonic()
        with pytest.raises(MellaError) as caught:
            backend.generate(requests)
        elapsed = time.monotonic() - start
    message = str(caught.value)
    assert message.startswith(f"openai backend: HTTP 401 from {server.base_url} — check --api-key-env MELLA_TEST_KEY")
    assert KEY not in message
    assert elapsed < 2.0 and len(server.requests) <= 8


def test_unset_key_variable_is_named_in_the_error(monkeypatch):
    with FaultServer(default=error(401, "missing key")) as server:
        backend = make_backend(server, monkeypatch, key=None)
        with pytest.raises(MellaError, match=r"check --api-key-env MELLA_TEST_KEY \(the variable is not set\)"):
            backend.generate(sample_requests())


def test_identity_never_holds_the_key(monkeypatch):
    with FaultServer() as server:
        backend = make_backend(server, monkeypatch)
        expected = {"backend": "openai", "model": server.model, "base_url": server.base_url}
        assert backend.identity() == backend.cache_identity() == expected
        assert KEY not in repr(backend)
    monkeypatch.setenv("MELLA_TEST_KEY", KEY)
    with_userinfo = OpenAIBackend("m", "https://user:pw@api.example.com/v1/", api_key_env="MELLA_TEST_KEY")
    assert with_userinfo.identity()["base_url"] == "https://***@api.example.com/v1"


def test_from_config_reads_attributes_with_defaults(monkeypatch):
    with FaultServer(default=error(502)) as server:
        config = SimpleNamespace(model=server.model, base_url=server.base_url, api_key_env="MELLA_TEST_KEY",
                                 concurrency=3, max_retries=0, request_timeout=9.0)
        monkeypatch.setenv("MELLA_TEST_KEY", KEY)
        backend = OpenAIBackend.from_config(config)
        assert backend.client.concurrency == 3 and backend.client.timeout == 9.0
        [completion] = backend.generate(sample_requests(langs=("vi",)))
    assert completion.reason.startswith("HTTP 502 after 1 attempt")  # --max-retries 0 honoured
    defaults = OpenAIBackend.from_config(SimpleNamespace(model="m", base_url="http://127.0.0.1:1/v1"))
    assert (defaults.client.concurrency, defaults.client.timeout, defaults.client.policy.max_retries) == (16, 120.0, 5)
    with pytest.raises(MellaError, match="--base-url"):
        OpenAIBackend.from_config(SimpleNamespace(model="m"))
    with pytest.raises(MellaError, match="--model"):
        OpenAIBackend.from_config(SimpleNamespace(model=None, base_url="http://127.0.0.1:1/v1"))


def test_nothing_to_generate(monkeypatch):
    with FaultServer() as server:
        assert make_backend(server, monkeypatch).generate([]) == []
    assert server.requests == []


# -- against a real vLLM server -----------------------------------------------------------------

@pytest.mark.slow
def test_generate_with_vllm_server(vllm_server, monkeypatch):
    """The tiny VLM behind vLLM's OpenAI-compatible server: one image + prompt per language."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    task = TaskRegistry().resolve("linguistic")[0]
    settings = replace(task.generation, max_new_tokens=16)
    requests = build_requests(task, load_samples(task, list(MELLA_LANGS), None, 1), settings)
    assert len(requests) == len(MELLA_LANGS)
    backend = OpenAIBackend(vllm_server["model"], vllm_server["base_url"], concurrency=4, request_timeout=60)
    completions = backend.generate(requests)
    backend.close()
    for request, completion in zip(requests, completions):
        assert isinstance(completion, Completion)
        assert completion.status == "ok", (request.lang, completion.reason)
        assert completion.text
        assert completion.usage["prompt_tokens"] > 16  # the text plus the image's vision tokens
        assert 0 < completion.usage["completion_tokens"] <= 16
