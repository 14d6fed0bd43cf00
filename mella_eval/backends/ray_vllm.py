"""`--backend ray-vllm`: generation as a Ray Data pipeline over a pool of vLLM engine actors.

    requests ──> ray.data.from_items(rows) ──> map_batches(_EngineActor, ActorPoolStrategy(N))
             ──> iter_rows() on the driver ──> on_result(index, completion) ──> response store

Each row is plain data (the request's index, its messages as JSON with the image bytes in a
binary column, its settings as JSON), so rows travel through the object store and to any node.
Each actor builds one vLLM engine in `__init__` (through `VLLMBackend`, so engine arguments,
sampling parameters, structured outputs, usage and split-and-retry on a failing request are the
offline backend's own code) and answers one batch per call. The driver stores every response as
soon as its batch comes back; Ray Data restarts a lost actor (a lost node) and re-runs only the
batches it had not finished, and a crash of the driver loses only batches in flight: the same
command run again sends only what is missing.

Where Ray runs: `ray_address=None` starts a local Ray instance (and stops it, actors and
engines included, in `close`) unless `RAY_ADDRESS` names a cluster (as inside a Ray job); "auto"
joins the cluster this machine belongs to; "HOST:6379" or "ray://HOST:10001" connects to one (the
cluster is left running on `close`). A Ray already initialised in this process is used as it is.
Workers need the same mella-eval and vLLM installed as the driver, and the model at the same path
(or a hub id).

One actor pool (so one engine start per replica) per `generate` call, i.e. per generation
setting of a run: Ray Data's actors live as long as the dataset being executed.

`ray_batch_size` is also how many sequences each engine runs at once (an actor answers one batch
at a time): on GPUs, raise it (64-256) for throughput; smaller batches stream results sooner and
lose less on a node failure.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import socket

from mella_eval.backends.base import Completion, ResultCallback
from mella_eval.backends.vllm_backend import VLLMBackend
from mella_eval.build import GenerationRequest
from mella_eval.errors import MellaError
from mella_eval.messages import ImagePart, Message, TextPart, all_images
from mella_eval.tasks import GenerationSettings

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'mella-eval[ray]'"


class RayVLLMBackend:
    name = "ray-vllm"

    def __init__(self, model: str, *, dtype: str = "auto", tensor_parallel_size: int = 1,
                 gpu_memory_utilization: float | None = None, max_model_len: int | None = None,
                 trust_remote_code: bool = False, seed: int = 0, model_args: dict | None = None,
                 ray_address: str | None = None, num_replicas: int = 1,
                 ray_gpus_per_replica: float | None = None, ray_cpus_per_replica: float = 1,
                 ray_batch_size: int = 16, ray_init_kwargs: dict | None = None):
        if num_replicas < 1:
            raise MellaError(f"--num-replicas must be at least 1, got {num_replicas}")
        if ray_batch_size < 1:
            raise MellaError(f"--ray-batch-size must be at least 1, got {ray_batch_size}")
        if ray_cpus_per_replica <= 0:
            raise MellaError(f"--ray-cpus-per-replica must be positive, got {ray_cpus_per_replica}")
        if ray_gpus_per_replica is not None and ray_gpus_per_replica < 0:
            raise MellaError(f"--ray-gpus-per-replica must be 0 or more, got {ray_gpus_per_replica}")
        self.model_name = model
        self.address = ray_address
        self.num_replicas = num_replicas
        self.gpus_per_replica = ray_gpus_per_replica  # None: decided from the cluster
        self.cpus_per_replica = ray_cpus_per_replica
        self.batch_size = ray_batch_size
        self.init_kwargs = dict(ray_init_kwargs or {})  # extra ray.init arguments (tests, notebooks)
        # What each actor passes to VLLMBackend; dtype is resolved once Ray tells CPU from GPU.
        self._engine_kwargs = dict(model=model, dtype=dtype, tensor_parallel_size=tensor_parallel_size,
                                   gpu_memory_utilization=gpu_memory_utilization,
                                   max_model_len=max_model_len, trust_remote_code=trust_remote_code,
                                   seed=seed, model_args=model_args, chunk_size=0)
        self._connected = False
        self._owns_ray = False  # ray.init was called here, so close() calls ray.shutdown()
        self._warned_path = False

    @classmethod
    def from_config(cls, config) -> "RayVLLMBackend":
        return cls(config.model, dtype=getattr(config, "dtype", "auto"),
                   tensor_parallel_size=getattr(config, "tensor_parallel_size", 1),
                   gpu_memory_utilization=getattr(config, "gpu_memory_utilization", None),
                   max_model_len=getattr(config, "max_model_len", None),
                   trust_remote_code=getattr(config, "trust_remote_code", False),
                   model_args=getattr(config, "model_args", None),
                   ray_address=getattr(config, "ray_address", None),
                   num_replicas=getattr(config, "num_replicas", 1),
                   ray_gpus_per_replica=getattr(config, "ray_gpus_per_replica", None),
                   ray_cpus_per_replica=getattr(config, "ray_cpus_per_replica", 1),
                   ray_batch_size=getattr(config, "ray_batch_size", 16))

    # -- identity ---------------------------------------------------------------------------

    def cache_identity(self) -> dict:
        """Exactly the offline vLLM backend's identity, "backend": "vllm" included.

        The store shares answers between `--backend vllm` and `--backend ray-vllm` on purpose:
        every response comes from the same code (`VLLMBackend` inside each actor) with the same
        engine arguments and sampling parameters, so greedy outputs are identical (the tests
        check it), just as they are for `--data-parallel-size N`, which shares keys with one
        engine too. Ray is how requests reach the engines (like the number of replicas or the
        batch size), not what answers them. Sharing lets a Ray run resume or extend a vllm run
        and the other way round. The one thing that could differ is the dtype "auto" resolves
        to, which depends on where the engines run (float32 on CPU, the model's dtype on GPU):
        it is resolved for the Ray workers, not for this machine, and goes into the key.
        """
        kwargs = self._resolved_engine_kwargs()
        if self.model_name.startswith(("/", "./", "../", "~")) and \
                not os.path.exists(os.path.expanduser(self.model_name)) and not self._warned_path:
            self._warned_path = True
            log.warning("ray-vllm: %s is not on this machine (only on the workers?): the response "
                        "store keys on the path without a weights fingerprint, so a checkpoint "
                        "retrained at the same path would reuse old answers (--no-cache avoids it)",
                        self.model_name)
        # VLLMBackend resolves "auto" for this machine; the engines run on the Ray workers.
        return {**VLLMBackend(**kwargs).cache_identity(), "dtype": kwargs["dtype"]}

    def identity(self) -> dict:
        """As recorded in results.json: the engine identity, with the backend that ran it."""
        return {**self.cache_identity(), "backend": self.name}

    def _resolved_engine_kwargs(self) -> dict:
        kwargs = dict(self._engine_kwargs)
        if kwargs["dtype"] == "auto" and not self._engines_on_gpu():
            kwargs["dtype"] = "float32"  # what VLLMBackend resolves "auto" to on CPU
        return kwargs

    def _engines_on_gpu(self) -> bool:
        if self.gpus_per_replica is not None:
            return self.gpus_per_replica > 0
        if self._local() and not _ray_initialized():
            # A local instance is this machine: no need to start Ray just to know (a fully
            # cached run never starts it).
            import torch

            return torch.cuda.is_available()
        return self._cluster_gpus() > 0

    # -- Ray --------------------------------------------------------------------------------

    def _connect(self):
        ray = _import_ray()
        if self._connected:
            return ray
        if ray.is_initialized():
            log.info("ray-vllm: using the Ray instance already initialised in this process")
        else:
            if not self._local():
                _check_reachable(self.address or os.environ["RAY_ADDRESS"])
            kwargs = dict(self.init_kwargs)
            if self.address is not None:
                kwargs["address"] = self.address
            if self._local():
                kwargs.setdefault("include_dashboard", False)
            try:
                ray.init(**kwargs)
            except Exception as e:  # noqa: BLE001  (Ray raises ConnectionError, RuntimeError, ...)
                where = "start a local Ray instance" if self._local() \
                    else f"connect to Ray at {self.address or os.environ.get('RAY_ADDRESS')!r}"
                raise MellaError(f"ray-vllm: cannot {where}: {_first_line(e)}") from None
            self._owns_ray = True
        self._connected = True
        return ray

    def _local(self) -> bool:
        """Whether ray.init starts a Ray instance on this machine (rather than joining one)."""
        if self.address is None:
            return not os.environ.get("RAY_ADDRESS")
        return self.address == "local"

    def _cluster_gpus(self) -> float:
        return self._connect().cluster_resources().get("GPU", 0)

    def _gpus(self) -> float:
        if self.gpus_per_replica is not None:
            return self.gpus_per_replica
        return self._engine_kwargs["tensor_parallel_size"] if self._cluster_gpus() > 0 else 0

    def _check_resources(self, ray, gpus: float) -> None:
        """A pool the cluster can never hold waits forever: say so instead."""
        total = ray.cluster_resources()
        need = {"CPU": self.num_replicas * self.cpus_per_replica, "GPU": self.num_replicas * gpus}
        short = [f"{need[r]:g} {r}s (the cluster has {total.get(r, 0):g})"
                 for r in need if need[r] > total.get(r, 0)]
        if not short:
            return
        message = (f"ray-vllm: {self.num_replicas} replica(s) need {' and '.join(short)}; "
                   "lower --num-replicas or the resources per replica")
        if self._local() and self._owns_ray:
            raise MellaError(message)  # a local instance does not grow
        log.warning("%s (waiting for the cluster to scale up)", message)

    # -- generation -------------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest],
                 on_result: ResultCallback | None = None) -> list[Completion]:
        if not requests:
            return []
        ray = self._connect()
        gpus = self._gpus()
        self._check_resources(ray, gpus)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the caller has its own progress bar

        rows = [_to_row(i, r) for i, r in enumerate(requests)]
        # About one block per batch, so each batch's answers come back as soon as it is done.
        blocks = max(1, min(len(rows), -(-len(rows) // self.batch_size)))
        dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            _EngineActor,
            fn_constructor_kwargs={"engine_kwargs": self._resolved_engine_kwargs(),
                                   "max_images": max(len(all_images(r.messages)) for r in requests)},
            batch_size=self.batch_size, batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=self.num_replicas),
            num_cpus=self.cpus_per_replica, num_gpus=gpus or None,
        )
        results: list[Completion | None] = [None] * len(requests)
        rows_out = iter(dataset.iter_rows())  # rows of each batch as soon as it is done
        while True:
            try:
                row = next(rows_out)
            except StopIteration:
                break
            except Exception as e:  # noqa: BLE001  (an engine that cannot start, a cluster gone)
                raise MellaError(f"ray-vllm: generation stopped: {_reason(e)}; finished responses "
                                 "are saved, re-run the same command to resume") from None
            index = int(row["index"])
            results[index] = Completion(**json.loads(row["completion"]))
            if on_result:
                on_result(index, results[index])
        for index, completion in enumerate(results):
            if completion is None:  # not expected: Ray Data returns every row it was given
                results[index] = Completion.failed("ray-vllm: no answer came back for this request")
                if on_result:
                    on_result(index, results[index])
        return results  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the local Ray instance this backend started (its actors and engines with it), or
        disconnect from a cluster it joined; a Ray initialised by the caller is left running."""
        if self._owns_ray:
            import ray

            ours = _descendants() if self._local() else []
            ray.shutdown()
            # Ray's workers (the engines) exit a few seconds after their raylet: wait, so their
            # memory (GPU memory) is free for the phase that follows (an in-process judge).
            _wait_gone(ours, timeout=60)
        self._owns_ray = False
        self._connected = False


class _EngineActor:
    """One vLLM engine per actor, built once; called with one batch of rows at a time.

    Lives in the package (not in a test or script) because Ray workers import it by name.
    """

    def __init__(self, engine_kwargs: dict, max_images: int):
        # The engine core inside this process: no extra process per engine, no /dev/shm file.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        self.backend = VLLMBackend(**engine_kwargs)
        # Started now with the run's largest image count, not by the first batch.
        self.backend.start(max_images)

    def __call__(self, batch):
        import pyarrow as pa

        rows = batch.to_pylist()
        by_settings: dict[str, list[dict]] = {}
        for row in rows:  # one setting per generate call today; mixed batches work too
            by_settings.setdefault(row["settings"], []).append(row)
        indices, completions = [], []
        for settings, group in by_settings.items():
            try:
                done = self.backend.generate([_from_row(row) for row in group])
            except Exception as e:  # noqa: BLE001  (recorded per request: never a lost batch)
                done = [Completion.failed(f"{type(e).__name__}: {e}") for _ in group]
            indices.extend(row["index"] for row in group)
            completions.extend(json.dumps({"text": c.text, "status": c.status, "reason": c.reason,
                                           "usage": c.usage}, ensure_ascii=False) for c in done)
        return pa.table({"index": pa.array(indices, pa.int64()),
                         "completion": pa.array(completions, pa.string())})


def _to_row(index: int, request: GenerationRequest) -> dict:
    """A plain row: messages as JSON (an image part names its position in `images`)."""
    images: list[bytes] = []
    messages = []
    for m in request.messages:
        parts = []
        for p in m.parts:
            if isinstance(p, TextPart):
                parts.append({"text": p.text})
            else:
                parts.append({"image": len(images)})
                images.append(p.data)
        messages.append({"role": m.role, "parts": parts})
    return {"index": index, "messages": json.dumps(messages, ensure_ascii=False), "images": images,
            "settings": json.dumps(dataclasses.asdict(request.settings), sort_keys=True)}


def _from_row(row: dict) -> GenerationRequest:
    images = row["images"] or []
    messages = tuple(
        Message(m["role"], tuple(TextPart(p["text"]) if "text" in p else ImagePart(images[p["image"]])
                                 for p in m["parts"]))
        for m in json.loads(row["messages"]))
    settings = json.loads(row["settings"])
    settings = GenerationSettings(**{**settings, "stop": tuple(settings["stop"])})
    return GenerationRequest(task="", lang="", sample_id=str(row["index"]), messages=messages,
                             settings=settings)


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (ray without the [data] extra has no Ray Data)
    except ImportError:
        raise MellaError(f"--backend ray-vllm needs Ray Data: {INSTALL_HINT}") from None
    return ray


def _check_reachable(address: str, timeout: float = 10) -> None:
    """ray.init retries an address where no Ray answers for minutes: fail fast instead."""
    if address in ("auto", "local"):
        return  # Ray finds (or starts) it on this machine and says so at once
    scheme, _, target = address.rpartition("://")
    host, _, port = target.rpartition(":")
    if not port.isdigit():
        host, port = target, ("10001" if scheme == "ray" else "6379")  # Ray's default ports
    host = host.strip("[]")
    if not host:
        raise MellaError(f"ray-vllm: --ray-address {address!r}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise MellaError(f"ray-vllm: cannot connect to Ray at {address!r}: nothing answers on "
                         f"{host}:{port} ({e.strerror or type(e).__name__}); is the cluster up "
                         "(`ray start --head`) and the port open?") from None


def _descendants() -> list:
    """The processes of the local Ray instance: its own (raylet, GCS, agents) and their children
    (the workers: our engines). Nothing else this process started (a server, a pool)."""
    try:
        import psutil
        from ray._private import worker

        procs = []
        for _, popen in worker._global_node.live_processes():
            parent = psutil.Process(popen.pid)
            procs += [parent, *parent.children(recursive=True)]
        return procs
    except Exception:  # noqa: BLE001  (psutil missing, Ray internals changed: nothing to wait for)
        return []


def _wait_gone(procs: list, timeout: float) -> None:
    if not procs:
        return
    import psutil

    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:  # still there: these are processes of the Ray instance we started
        log.warning("ray-vllm: stopping leftover Ray process %d", proc.pid)
        try:
            proc.kill()
        except psutil.Error:
            pass


def _ray_initialized() -> bool:
    try:
        import ray
    except ImportError:
        return False
    return ray.is_initialized()


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ERROR_LINE = re.compile(r"[\w.]*(?:Error|Exception): \S.*")


def _reason(e: BaseException) -> str:
    """The innermost message of an error from a Ray worker (an engine that cannot start arrives
    as an ActorDiedError whose text holds the remote traceback), not Ray's wrapper."""
    seen: list[BaseException] = []
    while e is not None and e not in seen:
        seen.append(e)
        if isinstance(e, MellaError) and type(e).__module__ == MellaError.__module__:
            return str(e)
        cause = getattr(e, "cause", None)
        e = cause if isinstance(cause, BaseException) else e.__cause__
    for err in reversed(seen):
        lines = [m.group(0) for line in _ANSI.sub("", str(err)).splitlines()
                 if (m := _ERROR_LINE.match(line.strip()))]
        ours = [line.split("MellaError: ", 1)[1] for line in lines if "MellaError: " in line]
        if ours or lines:
            return (ours or lines)[-1]
    return _first_line(seen[0])


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
