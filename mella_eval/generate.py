"""Phase 2: send every request to the backend, one dispatch per distinct generation setting."""

from __future__ import annotations

from collections import defaultdict

from mella_eval.backends.base import Backend, Completion
from mella_eval.build import GenerationRequest
from mella_eval.progress import progress_bar


def generate_all(backend: Backend, requests: list[GenerationRequest]) -> dict[tuple, Completion]:
    """Completions keyed by request key. Requests sharing settings go to the backend together,
    so an engine like vLLM schedules the whole workload at once."""
    groups: dict = defaultdict(list)
    for request in requests:
        groups[request.settings].append(request)
    completions: dict[tuple, Completion] = {}
    with progress_bar(total=len(requests), desc=f"generate ({backend.name})") as bar:
        for group in groups.values():
            results = backend.generate(group, on_progress=bar.update)
            if len(results) != len(group):
                raise RuntimeError(f"backend {backend.name} returned {len(results)} completions "
                                   f"for {len(group)} requests")
            for request, completion in zip(group, results):
                completions[request.key] = completion
    return completions
