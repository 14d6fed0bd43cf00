"""transformers backend: batched `generate` with the model's own chat template and processor."""

from __future__ import annotations

import logging
from pathlib import Path

from mella_eval.backends.base import Completion, ResultCallback, cuda_available, local_model_identity
from mella_eval.backends.base import resolve_model_folder
from mella_eval.backends.chat_prompt import ChatFormat
from mella_eval.build import GenerationRequest
from mella_eval.errors import MellaError
from mella_eval.messages import all_images

log = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16", "float16")


class HFBackend:
    name = "hf"

    def __init__(self, model: str, *, batch_size: int = 8, dtype: str = "auto",
                 device: str | None = None, trust_remote_code: bool = False,
                 num_threads: int | None = None, model_args: dict | None = None):
        self.model_name = model
        self.batch_size = batch_size
        # Both decided without torch where possible: a fully cached run never imports it.
        self.device = device or ("cuda" if cuda_available() else "cpu")
        self.dtype = _resolve_dtype(dtype, self.device)  # a name: "float32", "bfloat16", ...
        self._resolved: tuple[str, str | None] | None = None
        self.trust_remote_code = trust_remote_code
        self.num_threads = num_threads
        self.model_args = dict(model_args or {})
        self.processor = self.model = self.tokenizer = None  # loaded on first generate()
        self.chat_format: ChatFormat | None = None
        self.stop_token_ids: list[int] = []

    def _ensure_loaded(self) -> None:
        if self.model is not None:
            return
        import torch

        if self.device == "cpu":
            # Measured: a tiny model's generate() took 4-7 s with 2 threads, 0.13 s with one.
            torch.set_num_threads(self.num_threads or 1)
        elif self.num_threads:
            torch.set_num_threads(self.num_threads)
        model_args, processor_args = split_processor_args(self.model_args)
        # A hub id loads the snapshot that cache_identity fingerprinted.
        self.processor, self.model = _load(self.resolved()[0], getattr(torch, self.dtype), self.device,
                                           self.trust_remote_code, model_args, processor_args)
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        tokenizer.padding_side = "left"  # decoder-only batching: pad on the left
        self.tokenizer = tokenizer
        self.chat_format = ChatFormat.from_processor(self.processor, self.model.config.model_type)
        self.stop_token_ids = stop_token_ids(tokenizer, self.model.generation_config)

    @classmethod
    def from_config(cls, config) -> "HFBackend":
        return cls(config.model, batch_size=config.batch_size, dtype=config.dtype,
                   device=config.device, trust_remote_code=config.trust_remote_code,
                   num_threads=config.num_threads, model_args=config.model_args)

    def resolved(self) -> tuple[str, str | None]:
        """(folder to load, hub revision): resolved once, so identity and weights agree."""
        if self._resolved is None:
            self._resolved = resolve_model_folder(self.model_name)
        return self._resolved

    def cache_identity(self) -> dict:
        return {"backend": self.name, **local_model_identity(self.model_name, self.resolved()),
                "dtype": self.dtype, "model_args": self.model_args}

    def identity(self) -> dict:
        return {**self.cache_identity(), "device": self.device}

    def generate(self, requests: list[GenerationRequest],
                 on_result: ResultCallback | None = None) -> list[Completion]:
        self._ensure_loaded()
        results: list[Completion] = []
        for start in range(0, len(requests), self.batch_size):
            batch = requests[start:start + self.batch_size]
            try:
                done = self._generate_batch(batch)
            except Exception as e:  # isolate the request that broke the batch
                log.warning("batch failed (%s); retrying its %d requests one by one", e, len(batch))
                done = []
                for request in batch:
                    try:
                        done.extend(self._generate_batch([request]))
                    except Exception as single:
                        done.append(Completion.failed(f"{type(single).__name__}: {single}"))
            for offset, completion in enumerate(done):
                if on_result:
                    on_result(start + offset, completion)
            results.extend(done)
        return results

    def _generate_batch(self, batch: list[GenerationRequest]) -> list[Completion]:
        import torch

        settings = batch[0].settings
        inputs = self.prepare_inputs(batch).to(self.model.device)
        # Stop where vLLM stops: the tokenizer's eos and generation_config's eos ids.
        kwargs = {"max_new_tokens": settings.max_new_tokens, "eos_token_id": self.stop_token_ids or None}
        if settings.temperature > 0:
            kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p)
            torch.manual_seed(settings.seed)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if settings.stop:
            kwargs.update(stop_strings=list(settings.stop), tokenizer=self.tokenizer)
        with torch.inference_mode():
            output = self.model.generate(**inputs, **kwargs)
        prompt_len = inputs["input_ids"].shape[1]
        new_tokens = output[:, prompt_len:]
        decoded = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        pad_id = self.tokenizer.pad_token_id
        completions = []
        for i, text in enumerate(decoded):
            completion_tokens = int((new_tokens[i] != pad_id).sum()) if pad_id is not None else new_tokens.shape[1]
            completions.append(Completion(
                text=_cut_at_stop(text, settings.stop).strip(),
                usage={"prompt_tokens": int(inputs["attention_mask"][i].sum()),
                       "completion_tokens": completion_tokens},
            ))
        return completions

    def prepare_inputs(self, batch: list[GenerationRequest]):
        """The processor's tensors for a batch: the token ids transformers' own
        `apply_chat_template(tokenize=True)` gives for each request, left-padded."""
        self._ensure_loaded()
        texts = [self.chat_format.render(r.messages) for r in batch]
        special = {self.chat_format.add_special_tokens(t) for t in texts}
        if len(special) > 1:  # some prompts start with BOS and some do not: the retry splits them
            raise ValueError("prompts of one batch disagree on BOS")
        text_kwargs = {} if self.chat_format.content_format == "none" else {"add_special_tokens": special.pop()}
        # One image list per request: processors that count images per prompt (Gemma 3, Mllama)
        # refuse a flat list for a batch.
        images = [[img.to_pil() for img in all_images(r.messages)] for r in batch]
        return self.processor(text=texts, images=images if any(images) else None, padding=True,
                              return_tensors="pt", **text_kwargs)

    def close(self) -> None:
        if self.model is None:
            return
        import gc

        import torch

        self.model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _resolve_dtype(name: str, device: str) -> str:
    """The torch dtype name `--dtype name` means on `device`; torch is imported only to ask a
    CUDA device whether it supports bfloat16."""
    if name not in DTYPES:
        raise MellaError(f"--dtype {name!r}: expected one of {', '.join(DTYPES)}")
    if name == "auto":
        if device.startswith("cuda"):
            import torch

            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "float32"
    return name


def _load(model: str, dtype, device: str, trust_remote_code: bool, model_args: dict,
          processor_args: dict):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(model, trust_remote_code=trust_remote_code,
                                                  **processor_args)
        loaded = AutoModelForImageTextToText.from_pretrained(
            model, dtype=dtype, trust_remote_code=trust_remote_code, **model_args)
    except (OSError, ValueError, ImportError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        hint = "" if Path(model).exists() else " (not a local folder; hub ids need network access)"
        raise MellaError(f"cannot load model {model!r} with transformers{hint}: {first}") from None
    if "device_map" not in model_args:
        loaded = loaded.to(device)
    loaded.eval()
    return processor, loaded


def split_processor_args(model_args: dict) -> tuple[dict, dict]:
    """`processor_KEY=value` model args -> ({other args}, {KEY: value}) for the processor."""
    rest = dict(model_args)
    processor_args = {k[len("processor_"):]: rest.pop(k) for k in list(rest) if k.startswith("processor_")}
    return rest, processor_args


def stop_token_ids(tokenizer, generation_config) -> list[int]:
    """The tokenizer's eos plus generation_config's eos ids (vLLM stops at both)."""
    ids = []
    configured = getattr(generation_config, "eos_token_id", None)
    for token_id in [getattr(tokenizer, "eos_token_id", None),
                     *(configured if isinstance(configured, (list, tuple)) else [configured])]:
        if token_id is not None and token_id not in ids:
            ids.append(int(token_id))
    return ids


def _cut_at_stop(text: str, stops) -> str:
    for stop in stops:
        index = text.find(stop)
        if index >= 0:
            text = text[:index]
    return text
