"""Phase 2: answer every request, from the response store where possible, else from the backend.

Requests sharing generation settings go to the backend together (one dispatch per setting), so
an engine like vLLM schedules the whole workload at once. Each finished response is committed to
the store as it arrives: a crash or Ctrl-C loses only requests still in flight, and the same
command run again sends only what is missing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Callable

from mella_eval.backends.base import Backend, Completion, identity_is_verifiable
from mella_eval.build import GenerationRequest
from mella_eval.progress import progress_bar
from mella_eval.store import generation_key
from mella_eval.text_safety import clean_text

log = logging.getLogger(__name__)


@dataclass
class GenerationStats:
    reused: int = 0  # answered from the store
    new: int = 0  # sent to the backend
    failed: int = 0  # of the new ones, failed (stored as errors: retried next run)

    def as_dict(self) -> dict:
        return {"reused": self.reused, "new": self.new, "failed": self.failed}


def generate_all(backend: Backend, requests: list[GenerationRequest], store, *,
                 kind: str = "generation", keys: dict[tuple, str] | None = None,
                 desc: str | None = None,
                 reject: Callable[[GenerationRequest, Completion], str | None] | None = None,
                 identity: dict | None = None,
                 ) -> tuple[dict[tuple, Completion], GenerationStats]:
    """Completions keyed by request key, and how many were reused / new.

    `keys` maps each request key to its store key; by default the generation key (model
    identity, rendered messages, settings). The judge phase passes judgement keys instead.
    `reject(request, completion)` may return a reason not to keep an ok completion as an answer
    (a judge reply that does not parse): it is then stored as an error, so the next run asks again.
    `identity` is the backend's cache identity when the caller already has it (with `keys`).

    Every completion's text passes `clean_text` here, before the store and the records: a lone
    surrogate from any backend (an emoji cut at max_tokens) cannot crash a write later.
    A local model whose weights could not be identified (a hub id not in the local cache) gets
    no stored response reused: they may come from other weights.
    """
    def save(request: GenerationRequest, completion: Completion) -> None:
        """Commit at once: a crash loses only requests still in flight."""
        reason = reject(request, completion) if reject and completion.status == "ok" else None
        stored = Completion.failed(reason) if reason else completion
        store.put_completions(kind, [(keys[request.key], stored)])

    if keys is None:
        identity = backend.cache_identity() if identity is None else identity
        keys = {r.key: generation_key(identity, r.messages, r.settings) for r in requests}
    if requests and identity is not None and not identity_is_verifiable(identity):
        log.warning("cannot identify the weights of %s (not a local folder, and not found in the "
                    "local Hugging Face cache): stored responses are not reused in this run",
                    identity.get("model"))
        cached = {}
    else:
        cached = store.get_many(keys.values())
    completions: dict[tuple, Completion] = {}
    groups: dict = defaultdict(list)
    for request in requests:
        hit = cached.get(keys[request.key])
        if hit is not None:
            completions[request.key] = Completion(text=hit["text"], usage=hit.get("usage", {}))
        else:
            groups[request.settings].append(request)
    stats = GenerationStats(reused=len(completions), new=len(requests) - len(completions))

    with progress_bar(total=stats.new, desc=desc or f"generate ({backend.name})") as bar:
        for group in groups.values():
            def on_result(index: int, completion: Completion, group=group) -> None:
                request = group[index]
                completion = _cleaned(completion)
                completions[request.key] = completion
                save(request, completion)
                bar.update(1)

            results = backend.generate(group, on_result=on_result)
            if len(results) != len(group):
                raise RuntimeError(f"backend {backend.name} returned {len(results)} completions "
                                   f"for {len(group)} requests")
            for request, completion in zip(group, results):
                if request.key not in completions:  # a backend that did not call on_result
                    completion = _cleaned(completion)
                    completions[request.key] = completion
                    save(request, completion)
    stats.failed = sum(1 for r in requests if completions[r.key].status != "ok") if stats.new else 0
    return completions, stats


def _cleaned(completion: Completion) -> Completion:
    text = completion.text
    if text is None or clean_text(text) is text:
        return completion
    return replace(completion, text=clean_text(text))
