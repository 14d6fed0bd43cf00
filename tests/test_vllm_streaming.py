"""Issue 12: the vLLM backend keeps the engine fed (requests added as others finish, at most
`chunk_size` in the engine) and hands each response on the step it finishes; a request whose
rendering fails fails alone. The engine here is a stand-in with vLLM 0.32's request-level API
(`LLM.enqueue_chat`, `llm_engine.step()`, internal ids with a random suffix); the real engine's
answers are checked equal to `LLM.chat`'s by tests/test_e2e_generation.py,
tests/test_families_vllm.py and benchmarks/generation_overhead.py."""

from types import SimpleNamespace

import pytest

from mella_eval.backends.vllm_backend import VLLMBackend, _external_id
from mella_eval.build import GenerationRequest
from mella_eval.messages import user_message
from mella_eval.tasks import GenerationSettings

pytest.importorskip("vllm")


class FakeEngine:
    """Finishes the oldest request on every step, as an engine with one running slot would."""

    def __init__(self):
        self.queue: list[tuple[str, str]] = []  # (external id, prompt text)
        self.counter = 0
        self.events: list[tuple[str, int]] = []  # ("add", n) / ("done", request id)
        self.most_in_flight = 0

    def add(self, conversations):
        ids = []
        for conversation in conversations:
            text = conversation[0]["content"][-1]["text"] if isinstance(conversation[0]["content"], list) \
                else conversation[0]["content"]
            if "BAD" in text:  # vLLM withdraws the whole call's requests and raises
                self.queue = self.queue[:len(self.queue) - len(ids)]
                raise ValueError(f"cannot render {text!r}")
            external = str(self.counter)
            self.counter += 1
            self.queue.append((external, text))
            ids.append(f"{external}-{'abcdef12'}")
        self.events.append(("add", len(ids)))
        self.most_in_flight = max(self.most_in_flight, len(self.queue))
        return ids

    def has_unfinished_requests(self):
        return bool(self.queue)

    def step(self):
        external, text = self.queue.pop(0)
        self.events.append(("done", int(external)))
        output = SimpleNamespace(text=f" answer to {text} ", token_ids=[1, 2])
        return [SimpleNamespace(request_id=external, finished=True, outputs=[output],
                                prompt_token_ids=[5] * 3)]


def backend_with_fake_engine(chunk_size: int) -> tuple[VLLMBackend, FakeEngine]:
    backend = VLLMBackend("/nonexistent/model", chunk_size=chunk_size)
    engine = FakeEngine()
    backend.llm = SimpleNamespace(
        llm_engine=engine,
        enqueue_chat=lambda conversations, params, use_tqdm, tokenization_kwargs: engine.add(conversations))
    return backend, engine


def requests(texts):
    settings = GenerationSettings(max_new_tokens=4)
    return [GenerationRequest("t", "en", str(i), (user_message(text),), settings)
            for i, text in enumerate(texts)]


def test_engine_is_topped_up_as_requests_finish_and_each_result_is_handed_on_at_once():
    backend, engine = backend_with_fake_engine(chunk_size=8)
    batch = requests([f"q{i}" for i in range(40)])
    seen = []
    results = backend.generate(batch, on_result=lambda i, c: seen.append((i, len(engine.events))))
    assert [c.text for c in results] == [f"answer to q{i}" for i in range(40)]
    assert results[0].usage == {"prompt_tokens": 3, "completion_tokens": 2}
    assert engine.most_in_flight <= 8
    # The first answer is handed on long before the last request is added (not per chunk).
    assert seen[0][0] == 0 and seen[0][1] < len(engine.events) // 2
    first_done = next(n for n, (kind, _) in enumerate(engine.events) if kind == "done")
    assert any(kind == "add" for kind, _ in engine.events[first_done:])  # added as others finished
    assert sorted(i for i, _ in seen) == list(range(40))


def test_a_request_that_cannot_be_rendered_fails_alone():
    backend, _ = backend_with_fake_engine(chunk_size=0)
    results = backend.generate(requests(["a", "BAD one", "c", "d"]))
    assert [c.status for c in results] == ["ok", "error", "ok", "ok"]
    assert "cannot render" in results[1].reason
    assert [c.text for c in results if c.status == "ok"] == ["answer to a", "answer to c", "answer to d"]


def test_internal_request_ids_map_back_to_the_given_ones():
    assert _external_id("17-1a2b3c4d") == "17"
    assert _external_id("17") == "17"
    assert _external_id("run-17-1a2b3c4d") == "run-17"
