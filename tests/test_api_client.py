"""ChatClient against a real HTTP server on loopback (tests/fault_server.py) and a real vLLM server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from email.utils import formatdate

import pytest

from fault_server import FaultServer, drop, error, malformed, per_prompt, reply, reply_json
from mella_eval.api_client import ChatClient, FatalAPIError, RetryPolicy, parse_retry_after
from mella_eval.errors import MellaError

KEY = "sk-test-5f1e0c9a7b3d42e8"
FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05, jitter=0.0, retry_after_cap=5.0)


def client_for(server: FaultServer, **kwargs) -> ChatClient:
    kwargs.setdefault("policy", FAST)
    kwargs.setdefault("timeout", 5.0)
    return ChatClient(server.base_url, KEY, server.model, **kwargs)


def job(text: str, **params):
    return ([{"role": "user", "content": [{"type": "text", "text": text}]}], params)


# -- Retry-After and backoff (pure) -------------------------------------------------------------

def test_parse_retry_after_forms():
    now = 1_800_000_000.0
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert parse_retry_after({"Retry-After": formatdate(now + 30, usegmt=True)}, now=now) == 30.0
    assert parse_retry_after({"Retry-After": formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    assert parse_retry_after({"Retry-After": "-3"}) == 0.0
    for unreadable in ("soon", "", "nan", "inf"):
        assert parse_retry_after({"Retry-After": unreadable}) is None
    assert parse_retry_after({}) is None


def test_backoff_doubles_is_capped_and_jittered():
    import random

    rng = random.Random(0)
    exact = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.0, retry_after_cap=10.0)
    assert [exact.delay(n, None, rng) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert exact.delay(1, 3600.0, rng) == 10.0  # Retry-After capped
    assert exact.delay(4, 0.5, rng) == 0.5  # Retry-After wins over the backoff
    jittered = RetryPolicy(base_delay=1.0, max_delay=60.0, jitter=0.5)
    delays = [jittered.delay(3, None, rng) for _ in range(200)]
    assert 2.0 <= min(delays) < 2.3 and 3.7 < max(delays) <= 4.0
    with pytest.raises(MellaError):
        RetryPolicy(jitter=1.5)


# -- retries ------------------------------------------------------------------------------------

@pytest.mark.parametrize("failure", [
    error(500), error(503), error(429), error(408), drop(),
    malformed("not_json"), malformed("truncated"), malformed("no_choices"), malformed("null_content"),
], ids=["500", "503", "429", "408", "dropped", "not_json", "truncated", "no_choices", "null_content"])
def test_transient_failures_are_retried(failure):
    with FaultServer(script=[failure, failure, reply("fine")]) as server:
        [result] = client_for(server).run_all([job("hello")])
    assert result.ok and result.text == "fine"
    assert result.attempts == 3 and len(server.requests) == 3


def test_timeout_is_retried():
    with FaultServer(script=[reply("late", latency=2.0), reply("fine")]) as server:
        start = time.monotonic()
        [result] = client_for(server, timeout=0.3).run_all([job("hello")])
        elapsed = time.monotonic() - start
    assert result.ok and result.text == "fine" and result.attempts == 2
    assert 0.3 <= elapsed < 1.5


@pytest.mark.parametrize("failure, reason", [
    (error(500, "boom"), "HTTP 500 after 3 attempts: boom"),
    (error(429, "slow down"), "HTTP 429 after 3 attempts: slow down"),
    (malformed("no_choices"), "malformed response after 3 attempts: no choices"),
    (malformed("null_content"), "malformed response after 3 attempts: choices[0].message.content is null"),
    (reply(latency=2.0), "timeout (0.2 s) after 3 attempts"),
], ids=["500", "429", "no_choices", "null_content", "timeout"])
def test_exhausted_retries_fail_that_request_only(failure, reason):
    """After max_retries the request is an error with a reason; the other requests go on."""
    finished = []
    with FaultServer(script=per_prompt({"bad": failure})) as server:
        results = client_for(server, timeout=0.2).run_all(
            [job("good 0"), job("bad"), job("good 1"), job("good 2")],
            on_result=lambda i, r: finished.append(i))
    assert [r.status for r in results] == ["ok", "error", "ok", "ok"]
    assert results[1].reason == reason and results[1].attempts == 3 and results[1].text is None
    assert [results[i].text for i in (0, 2, 3)] == ["reply to: good 0", "reply to: good 1", "reply to: good 2"]
    assert sum("bad" in r.text for r in server.requests) == 3
    assert sorted(finished) == [0, 1, 2, 3]


def test_client_errors_are_not_retried():
    with FaultServer(script=per_prompt({"too long": error(400, "prompt too long")})) as server:
        results = client_for(server).run_all([job("fine"), job("too long")])
    assert results[0].ok
    assert results[1].reason == "HTTP 400 after 1 attempt: prompt too long"
    assert len(server.requests) == 2


# -- Retry-After, measured on the server's clock ------------------------------------------------

def _gap(server: FaultServer) -> float:
    first, second = server.requests[:2]
    return second.at - first.at


def test_retry_after_seconds_is_honoured():
    with FaultServer(script=[error(429, retry_after=1), reply("fine")]) as server:
        [result] = client_for(server).run_all([job("hello")])
    assert result.ok and result.attempts == 2
    assert 1.0 <= _gap(server) < 1.4  # the backoff alone would have been 0.01 s


def test_retry_after_http_date_is_honoured():
    target = float(int(time.time()) + 1)  # an HTTP-date has whole seconds: 0-1 s from now
    with FaultServer(script=[error(503, retry_after=formatdate(target, usegmt=True)),
                             reply("fine")]) as server:
        [result] = client_for(server).run_all([job("hello")])
    assert result.ok
    first, second = server.requests[:2]
    assert second.wall >= target - 0.01
    assert second.wall - max(first.wall, target) < 0.4


def test_retry_after_is_capped():
    policy = RetryPolicy(max_retries=1, base_delay=0.01, jitter=0.0, retry_after_cap=0.2)
    with FaultServer(script=[error(429, retry_after=3600), reply("fine")]) as server:
        [result] = client_for(server, policy=policy).run_all([job("hello")])
    assert result.ok
    assert 0.2 <= _gap(server) < 0.6


# -- errors that stop the run -------------------------------------------------------------------

@pytest.mark.parametrize("status, hint", [(401, "check the API key"), (403, "check the API key"),
                                          (404, "serves model 'fault-model'")])
def test_auth_or_not_found_stops_the_run_quickly(status, hint):
    # The server echoes the key back, as some APIs do: it must not reach the message.
    with FaultServer(default=error(status, f"Incorrect API key provided: {KEY}")) as server:
        client = client_for(server, concurrency=4)
        start = time.monotonic()
        with pytest.raises(FatalAPIError) as caught:
            client.run_all([job(f"q{i}") for i in range(500)])
        elapsed = time.monotonic() - start
    message = str(caught.value)
    assert isinstance(caught.value, MellaError)
    assert f"HTTP {status} from {server.base_url}" in message and hint in message
    assert KEY not in message and "***" in message
    assert elapsed < 2.0
    assert len(server.requests) <= 8  # one wave of requests, not 500


def test_auth_error_after_successes_is_a_per_request_error():
    with FaultServer(script=per_prompt({"forbidden": error(403, "no")})) as server:
        results = client_for(server, concurrency=1).run_all([job("a"), job("forbidden"), job("b")])
    assert [r.status for r in results] == ["ok", "error", "ok"]
    assert results[1].reason == "HTTP 403 after 1 attempt: no" and results[1].fatal


def test_revoked_key_mid_run_stops_after_a_streak():
    state = {"n": 0}

    def revoke_after_three(request):
        state["n"] += 1
        return reply() if state["n"] <= 3 else error(401, "key revoked")

    with FaultServer(script=revoke_after_three) as server:
        with pytest.raises(FatalAPIError, match="HTTP 401"):
            client_for(server, concurrency=1).run_all([job(f"q{i}") for i in range(100)])
    # Streak limit max(8, concurrency); one more may have started as the last slot was freed.
    assert 3 + 8 <= len(server.requests) <= 3 + 8 + 1


def test_unreachable_server_stops_the_run():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ChatClient(f"http://127.0.0.1:{port}/v1", KEY, "m", policy=FAST)
    start = time.monotonic()
    with pytest.raises(FatalAPIError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1: connection error after 3 attempts"):
        client.run_all([job(f"q{i}") for i in range(100)])
    assert time.monotonic() - start < 2.0


def test_bad_arguments_are_clear_errors():
    with pytest.raises(MellaError, match="base URL must start with http"):
        ChatClient("localhost:8000/v1", KEY, "m")
    with pytest.raises(MellaError, match="concurrency"):
        ChatClient("http://127.0.0.1:1/v1", KEY, "m", concurrency=0)


# -- the key stays secret -----------------------------------------------------------------------

def test_key_only_in_the_authorization_header():
    with FaultServer(default=error(500, f"upstream rejected key {KEY}")) as server:
        client = client_for(server)
        [result] = client.run_all([job("hello")])
    assert result.status == "error" and KEY not in result.reason and "***" in result.reason
    assert KEY not in repr(client)
    request = server.requests[0]
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in json.dumps(request.body)


# -- concurrency and streaming of results -------------------------------------------------------

def test_concurrency_bound_is_respected_and_used():
    flaky = per_prompt({"flaky": [error(500), reply()]}, default=reply(latency=0.05))
    with FaultServer(script=flaky) as server:
        jobs = [job(f"q{i}" + (" flaky" if i % 7 == 0 else "")) for i in range(40)]
        results = client_for(server, concurrency=4).run_all(jobs)
    assert all(r.ok for r in results)
    assert server.max_in_flight == 4


def test_on_result_is_called_as_each_request_finishes():
    calls = []
    script = per_prompt({"slow": reply("slow one", latency=0.8)}, default=reply(latency=0.02))
    with FaultServer(script=script) as server:
        results = client_for(server, concurrency=4).run_all(
            [job("slow")] + [job(f"fast {i}") for i in range(6)],
            on_result=lambda i, r: calls.append((i, time.monotonic(), r.text)))
    order = [i for i, _, _ in calls]
    assert order[-1] == 0 and sorted(order) == list(range(7))  # slow one reported last
    slow_at = calls[-1][1]
    assert all(at < slow_at - 0.5 for _, at, _ in calls[:-1])  # others reported long before
    assert results[0].text == "slow one" and [r.text for r in results[1:]] == [f"reply to: fast {i}" for i in range(6)]
    assert {text for _, _, text in calls} == {r.text for r in results}


def test_error_in_on_result_stops_the_run():
    def explode(index, result):
        raise OSError("disk full")

    with FaultServer() as server:
        with pytest.raises(OSError, match="disk full"):
            client_for(server, concurrency=2).run_all([job(f"q{i}") for i in range(50)], on_result=explode)
    assert len(server.requests) < 10


# -- request body, async use --------------------------------------------------------------------

def test_params_pass_through_and_result_fields():
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": True}}
    with FaultServer(script=[reply_json({"score": 4}, usage={"prompt_tokens": 3, "completion_tokens": 5})]) as server:
        [result] = client_for(server).run_all([job("judge this", max_tokens=32, temperature=0.0,
                                                    seed=7, stop=None, response_format=fmt)])
    body = server.requests[0].body
    assert body["model"] == server.model and body["response_format"] == fmt
    assert body["max_tokens"] == 32 and body["seed"] == 7 and "stop" not in body
    assert json.loads(result.text) == {"score": 4}
    assert result.finish_reason == "stop" and result.usage == {"prompt_tokens": 3, "completion_tokens": 5}


def test_complete_inside_an_async_program_and_run_all_inside_a_loop():
    with FaultServer() as server:
        async def main():
            async with client_for(server) as client:
                one = await client.complete(lambda: job("lazy")[0], max_tokens=5)
                many = client.run_all([job("x"), job("y")])  # from inside a running loop
            return one, many
        one, many = asyncio.run(main())
    assert one.ok and one.text == "reply to: lazy"
    assert [r.text for r in many] == ["reply to: x", "reply to: y"]


# -- against a real vLLM server -----------------------------------------------------------------

@pytest.mark.slow
def test_json_schema_response_format_with_vllm(vllm_server):
    jsonschema = pytest.importorskip("jsonschema")
    schema = {
        "type": "object",
        "properties": {"score": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
                       "verdict": {"type": "string", "enum": ["thick", "thin"]}},
        "required": ["score", "verdict"], "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": True}}
    client = ChatClient(vllm_server["base_url"], None, vllm_server["model"], concurrency=4,
                        timeout=60, label="judge")
    jobs = [job(f"Rate description {i} from 1 to 5.", max_tokens=48, temperature=0.0, response_format=fmt)
            for i in range(3)]
    results = client.run_all(jobs)
    for result in results:
        assert result.ok, result.reason
        jsonschema.validate(json.loads(result.text), schema)
        assert result.usage["prompt_tokens"] > 0 and result.usage["completion_tokens"] > 0
        assert result.finish_reason == "stop"


def test_an_image_that_became_unusable_fails_that_request_only():
    from mella_eval.images import ImageProblem

    def broken():
        raise ImageProblem("image x.jpg changed since the dataset was loaded")

    with FaultServer(default=reply("fine")) as server:
        results = client_for(server).run_all([(broken, {}), job("hello")])
    assert [r.status for r in results] == ["error", "ok"]
    assert results[0].reason == "image x.jpg changed since the dataset was loaded"
    assert results[0].error_kind == "input" and len(server.requests) == 1
