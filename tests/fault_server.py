"""A fault-injecting OpenAI-compatible chat server on 127.0.0.1, for tests and benchmarks.

    with FaultServer(script=[error(429, retry_after=1), reply("hi")]) as server:
        client = ChatClient(server.base_url, "sk-test", server.model, ...)
        ...
        assert len(server.requests) == 2

What each request gets is scripted: a list of `Action`s consumed in arrival order (then
`default`), or a function of the `Received` request (its prompt text, its count, its body),
e.g. `per_prompt({"flaky": [error(500), reply()]})`. Actions: `reply` (a valid completion,
with a latency), `error` (any status, optional Retry-After), `malformed` (not JSON, truncated,
no choices, null content), `drop` (close the connection without answering). The server keeps
every request it received (headers and JSON body, arrival time) and the most requests it had
in flight at once.

It runs aiohttp on its own event loop in a daemon thread, listens on loopback only, and stops
(cancelling slow handlers) when the `with` block or the fixture using it ends.

As a script it serves fixed-latency replies until SIGTERM/SIGINT, for benchmarks in another
process: `python tests/fault_server.py --latency-ms 50` prints its base URL on the first line.
`GET /_stats` answers {"requests": N, "max_in_flight": M}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Union


@dataclass(frozen=True)
class Action:
    status: int = 200
    text: str | None = None  # completion text; None: echo the prompt ("reply to: ...")
    latency: float = 0.0  # seconds to wait before answering
    headers: dict = field(default_factory=dict)
    body: bytes | None = None  # sent as is instead of a generated body (errors, malformed)
    content_type: str = "application/json"
    usage: dict | None = None  # None: counted from words
    finish_reason: str = "stop"
    drop: bool = False  # close the connection without an answer


def reply(text: str | None = None, latency: float = 0.0, usage: dict | None = None,
          finish_reason: str = "stop") -> Action:
    """A valid chat completion (text None echoes the prompt)."""
    return Action(text=text, latency=latency, usage=usage, finish_reason=finish_reason)


def reply_json(obj: Any, latency: float = 0.0, usage: dict | None = None) -> Action:
    """A completion whose content is `obj` as JSON (a scripted judge verdict)."""
    return reply(json.dumps(obj, ensure_ascii=False), latency=latency, usage=usage)


def error(status: int, message: str = "scripted failure", retry_after: str | float | None = None,
          latency: float = 0.0) -> Action:
    """An OpenAI-style error body with this status (429, 500, 401, ...)."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    body = json.dumps({"error": {"message": message, "type": "scripted", "code": status}}).encode()
    return Action(status=status, headers=headers, body=body, latency=latency)


MALFORMED_BODIES = {
    "not_json": (b"<html><body>502 Bad Gateway</body></html>", "text/html"),
    "truncated": (b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "mess',
                  "application/json"),
    "no_choices": (b'{"id": "x", "object": "chat.completion", "created": 0, "model": "m"}',
                   "application/json"),
    "null_content": (json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": None}}]}
                                ).encode(), "application/json"),
}


def malformed(kind: str = "not_json") -> Action:
    """A 200 whose body is not a usable completion: one of MALFORMED_BODIES."""
    body, content_type = MALFORMED_BODIES[kind]
    return Action(body=body, content_type=content_type)


def drop(latency: float = 0.0) -> Action:
    """Close the connection without answering (the client sees a disconnect)."""
    return Action(drop=True, latency=latency)


@dataclass
class Received:
    index: int  # arrival order, from 0
    path: str
    headers: dict[str, str]
    raw: bytes = field(repr=False)
    at: float = 0.0  # time.monotonic() on arrival
    wall: float = 0.0  # time.time() on arrival (to compare with HTTP-dates)

    @cached_property
    def body(self) -> Any:
        """The parsed JSON body; None when it was not JSON. Parsed on first use, so a
        fixed-latency benchmark server spends no CPU on it."""
        try:
            return json.loads(self.raw)
        except ValueError:
            return None

    @property
    def messages(self) -> list[dict]:
        return (self.body or {}).get("messages") or []

    @property
    def text(self) -> str:
        """All text parts of all messages, joined by newlines."""
        out = []
        for m in self.messages:
            content = m.get("content")
            if isinstance(content, str):
                out.append(content)
            else:
                out.extend(p.get("text", "") for p in content or [] if p.get("type") == "text")
        return "\n".join(out)

    @property
    def image_urls(self) -> list[str]:
        return [p["image_url"]["url"] for m in self.messages if isinstance(m.get("content"), list)
                for p in m["content"] if p.get("type") == "image_url"]


Script = Union[list, Callable[[Received], Action], None]


def per_prompt(rules: dict[str, Union[Action, list]], default: Action | None = None
               ) -> Callable[[Received], Action]:
    """Script by prompt text: the first rule whose key is in the prompt answers. A list is
    consumed one action per request with that prompt (its last action then repeats)."""
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def choose(request: Received) -> Action:
        for key, actions in rules.items():
            if key in request.text:
                if isinstance(actions, Action):
                    return actions
                with lock:
                    n = counts[key] = counts.get(key, -1) + 1
                return actions[min(n, len(actions) - 1)]
        return default or reply()
    return choose


class FaultServer:
    def __init__(self, script: Script = None, *, default: Action | None = None,
                 model: str = "fault-model"):
        self.script = script
        self.default = default or reply()
        self.model = model
        self.requests: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.script_errors: list[BaseException] = []  # raised again when the server stops
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "FaultServer":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # loopback only
        self.port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(sock, ready), daemon=True,
                                        name=f"fault-server-{self.port}")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fault server did not start")
        return self

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=256 << 20)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_get("/_stats", self._stats)
        # shutdown_timeout: on stop, slow handlers (scripted latency) are cancelled at once.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        self._loop.run_until_complete(self._runner.setup())
        site = web.SockSite(self._runner, sock)
        self._loop.run_until_complete(site.start())
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        pending = asyncio.all_tasks(self._loop)  # handlers still sleeping or reading
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, exc_type, *exc) -> None:
        self.stop()
        if self.script_errors and exc_type is None:
            raise RuntimeError(f"the fault server's script failed: {self.script_errors[0]!r}") \
                from self.script_errors[0]

    # -- handlers ----------------------------------------------------------------------------

    def _choose(self, request: Received) -> Action:
        if callable(self.script):
            return self.script(request)
        if isinstance(self.script, list) and request.index < len(self.script):
            return self.script[request.index]
        return self.default

    async def _chat(self, request):
        from aiohttp import web

        raw = await request.read()
        with self._lock:
            received = Received(index=len(self.requests), path=request.path,
                                headers=dict(request.headers), raw=raw, at=time.monotonic(),
                                wall=time.time())
            self.requests.append(received)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            try:
                action = self._choose(received)
            except Exception as e:  # a bug in a test's script: fail that test, not silently retry
                self.script_errors.append(e)
                return web.Response(status=500, text=f"script error: {e!r}")
            if action.latency:
                await asyncio.sleep(action.latency)
            if action.drop:
                request.transport.close()
                return web.Response(status=500)  # never reaches the client
            if action.body is not None:
                return web.Response(status=action.status, body=action.body,
                                    content_type=action.content_type, headers=action.headers)
            return web.json_response(self._completion(received, action), status=action.status,
                                     headers=action.headers)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _completion(self, received: Received, action: Action) -> dict:
        text = action.text if action.text is not None else f"reply to: {received.text}"
        usage = action.usage or {"prompt_tokens": len(received.text.split()) + 1,
                                 "completion_tokens": len(text.split())}
        usage = {**usage, "total_tokens": sum(v for v in usage.values() if isinstance(v, int))}
        return {
            "id": f"chatcmpl-{received.index}", "object": "chat.completion", "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "finish_reason": action.finish_reason,
                         "message": {"role": "assistant", "content": text}}],
            "usage": usage,
        }

    async def _models(self, request):
        from aiohttp import web

        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _health(self, request):
        from aiohttp import web

        return web.Response(text="ok")

    async def _stats(self, request):
        from aiohttp import web

        return web.json_response({"requests": len(self.requests), "max_in_flight": self.max_in_flight})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fixed-latency OpenAI-compatible server on 127.0.0.1")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--model", default="fault-model")
    parser.add_argument("--reply", default="ok", help="the fixed reply text (e.g. a JSON verdict)")
    args = parser.parse_args(argv)
    # Fixed text and usage: the request body is never parsed (see Received.body).
    server = FaultServer(default=reply(args.reply, latency=args.latency_ms / 1000,
                                       usage={"prompt_tokens": 1, "completion_tokens": 1}),
                         model=args.model)
    signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # before the server thread starts
    with server:
        print(server.base_url, flush=True)
        signal.sigwait(signals)


if __name__ == "__main__":
    main()
