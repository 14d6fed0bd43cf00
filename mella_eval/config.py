"""`RunConfig`: everything one `mella-eval run` needs, built from the CLI and validated once."""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mella_eval.errors import MellaError
from mella_eval.judge_args import judge_reliability_fields, panel_label
from mella_eval.languages import parse_langs
from mella_eval.shard import parse_shard

# Backends that load weights from --model (a folder or a hub id); others take a served name.
LOCAL_MODEL_BACKENDS = ("auto", "hf", "vllm")  # ray-vllm: the path is read on the workers
DEFAULT_MAX_IMAGE_MB = 64
# A run name is one folder name: no separators, not "." or "..", not a hidden or flag-like name.
# --protocol: "mella", the corrected protocol; "reference", PangeaBench as the paper's code runs it.
PROTOCOLS = ("mella", "reference")
RUN_NAME_RE = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9._+-]*")


@dataclass
class RunConfig:
    tasks: list[str]
    langs: list[str]
    model: str | None = None
    backend: str = "auto"
    predictions: Path | None = None
    data_dir: Path | None = None
    output_dir: Path = Path("results")
    cache_dir: Path | None = None  # None: the shared default (see store.default_cache_dir)
    use_cache: bool = True
    run_name: str | None = None
    limit: int | None = None
    shard: tuple[int, int] | None = None  # (index, count): evaluate this 1/count of the samples
    batch_size: int = 8
    dtype: str = "auto"
    device: str | None = None
    num_threads: int | None = None
    trust_remote_code: bool = False
    model_args: dict = field(default_factory=dict)
    include_paths: list[Path] = field(default_factory=list)
    max_new_tokens: int | None = None  # overrides every task's generation.max_new_tokens
    protocol: str = "mella"  # one of PROTOCOLS
    seed: int = 0  # bootstrap resampling (generation seeds are per task)
    # vllm engine
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    vllm_chunk_size: int = 1024
    # ray-vllm: a Ray Data pipeline over vLLM engine actors
    ray_address: str | None = None  # None: a local Ray instance; "auto" or HOST:PORT: a cluster
    num_replicas: int = 1
    ray_gpus_per_replica: float | None = None  # default: --tensor-parallel-size on GPUs, 0 on CPU
    ray_cpus_per_replica: float = 1.0
    ray_batch_size: int = 16
    # openai-compatible server
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    max_retries: int = 5
    request_timeout: float = 120.0
    # the judge: configured apart from the model under test (own model, server, key variable)
    judge_model: str | None = None
    no_judge: bool = False  # drop judge metrics instead of calling a judge
    judge_backend: str = "auto"  # openai when --judge-base-url is given, else vllm in-process
    judge_base_url: str | None = None
    judge_api_key_env: str = "MELLA_JUDGE_API_KEY"
    judge_concurrency: int = 16
    judge_model_args: dict = field(default_factory=dict)
    judge_max_model_len: int | None = None
    judge_tensor_parallel_size: int = 1
    max_judge_failure_rate: float = 0.05
    wrong_language: str = "zero"  # zero: wrong-language answers get judge scores of 0; flag: only flagged
    # judge reliability (mella_eval/judge_args.py): repeats, both orders of pairwise rubrics, panels
    judge_repeats: int = 1
    judge_temperature: float | None = None  # None: the rubric's generation.temperature
    judge_swap: bool | None = None  # None: on for pairwise rubrics
    judge_panel: tuple = ()  # PanelJudge entries of --judge-panel; judge_model is then "panel:..."
    # A run whose share of failed samples exceeds this exits 1 (results are still written).
    max_failure_rate: float = 0.0
    # Images: a per-sample error past this size; paths outside the dataset folder only if allowed.
    max_image_bytes: int = DEFAULT_MAX_IMAGE_MB << 20
    allow_external_images: bool = False
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))

    @classmethod
    def from_args(cls, args) -> "RunConfig":
        config = cls(
            tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
            langs=parse_langs(args.langs),
            model=args.model,
            backend=args.backend,
            predictions=Path(args.predictions) if args.predictions else None,
            data_dir=Path(args.data_dir) if args.data_dir else None,
            output_dir=Path(args.output_dir),
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            use_cache=not args.no_cache,
            run_name=args.run_name,
            limit=args.limit,
            shard=parse_shard(args.shard),
            batch_size=args.batch_size,
            dtype=args.dtype,
            device=args.device,
            num_threads=args.num_threads,
            trust_remote_code=args.trust_remote_code,
            model_args=parse_model_args(args.model_args),
            include_paths=[Path(p) for p in args.include_path or []],
            max_new_tokens=args.max_new_tokens,
            protocol=args.protocol,
            seed=args.seed,
            tensor_parallel_size=args.tensor_parallel_size,
            data_parallel_size=args.data_parallel_size,
            gpu_memory_utilization=args.gpu_memory_utilization,
            max_model_len=args.max_model_len,
            vllm_chunk_size=args.vllm_chunk_size,
            ray_address=args.ray_address,
            num_replicas=args.num_replicas,
            ray_gpus_per_replica=args.ray_gpus_per_replica,
            ray_cpus_per_replica=args.ray_cpus_per_replica,
            ray_batch_size=args.ray_batch_size,
            base_url=args.base_url,
            api_key_env=args.api_key_env,
            concurrency=args.concurrency,
            max_retries=args.max_retries,
            request_timeout=args.request_timeout,
            judge_model=args.judge_model,
            no_judge=args.no_judge,
            judge_backend=args.judge_backend,
            judge_base_url=args.judge_base_url,
            judge_api_key_env=args.judge_api_key_env,
            judge_concurrency=args.judge_concurrency,
            judge_model_args=parse_model_args(args.judge_model_args, "--judge-model-args"),
            judge_max_model_len=args.judge_max_model_len,
            judge_tensor_parallel_size=args.judge_tensor_parallel_size,
            max_judge_failure_rate=args.max_judge_failure_rate,
            wrong_language=args.wrong_language,
            **judge_reliability_fields(args),
            max_failure_rate=args.max_failure_rate,
            max_image_bytes=_image_bytes(args.max_image_mb),
            allow_external_images=args.allow_external_images,
        )
        if config.judge_panel:  # the panel stands for the judge everywhere a judge is asked for
            config.judge_model = panel_label(config.judge_panel)
        config.validate()
        return config

    def validate(self) -> None:
        if self.backend == "auto" and self.predictions is None:
            from mella_eval.backends import default_backend

            self.backend = default_backend()
        if not self.tasks:
            raise MellaError("--tasks is empty")
        if self.protocol not in PROTOCOLS:
            raise MellaError(f"--protocol: expected one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        if self.predictions is not None:
            if not self.predictions.is_file():
                raise MellaError(f"--predictions {self.predictions}: file not found")
        elif not self.model:
            raise MellaError("--model is required (or pass --predictions FILE to score existing outputs)")
        elif (self.backend in LOCAL_MODEL_BACKENDS and _looks_like_path(self.model)
              and not Path(self.model).expanduser().exists()):
            raise MellaError(f"--model {self.model}: no such file or folder")
        if self.backend == "openai" and self.predictions is None and not self.base_url:
            raise MellaError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if self.data_dir is not None and "{lang}" not in str(self.data_dir) and not self.data_dir.exists():
            raise MellaError(f"--data-dir {self.data_dir}: not found")
        for name, value in (("--limit", self.limit), ("--batch-size", self.batch_size),
                            ("--num-threads", self.num_threads), ("--max-new-tokens", self.max_new_tokens),
                            ("--tensor-parallel-size", self.tensor_parallel_size),
                            ("--data-parallel-size", self.data_parallel_size),
                            ("--max-model-len", self.max_model_len), ("--concurrency", self.concurrency),
                            ("--num-replicas", self.num_replicas), ("--ray-batch-size", self.ray_batch_size)):
            if value is not None and value < 1:
                raise MellaError(f"{name} must be a positive integer, got {value}")
        if self.gpu_memory_utilization is not None and not 0 < self.gpu_memory_utilization <= 1:
            raise MellaError(f"--gpu-memory-utilization must be in (0, 1], got {self.gpu_memory_utilization}")
        if self.max_retries < 0 or self.request_timeout <= 0 or self.vllm_chunk_size < 0:
            raise MellaError("--max-retries and --vllm-chunk-size must be >= 0, --request-timeout > 0")
        if not 0 <= self.max_judge_failure_rate <= 1:
            raise MellaError(f"--max-judge-failure-rate must be in [0, 1], got {self.max_judge_failure_rate}")
        if self.judge_concurrency < 1:
            raise MellaError(f"--judge-concurrency must be a positive integer, got {self.judge_concurrency}")
        if self.judge_backend == "openai" and not self.judge_base_url:
            raise MellaError("--judge-backend openai needs --judge-base-url")
        if self.judge_model and not self.judge_panel and self.judge_backend in ("auto", "vllm", "hf") \
                and not self.judge_base_url \
                and _looks_like_path(self.judge_model) and not Path(self.judge_model).expanduser().exists():
            raise MellaError(f"--judge-model {self.judge_model}: no such file or folder")
        if not 0 <= self.max_failure_rate <= 1:
            raise MellaError(f"--max-failure-rate must be in [0, 1], got {self.max_failure_rate}")
        if self.max_image_bytes < 1:
            raise MellaError(f"--max-image-mb must be > 0, got {self.max_image_bytes / (1 << 20):g}")
        if self.run_name is not None and not RUN_NAME_RE.fullmatch(self.run_name):
            raise MellaError(f"--run-name {self.run_name!r}: one folder name of letters, digits and "
                             ". _ + - (not starting with . or -; no path separators)")
        for flag, url in (("--base-url", self.base_url), ("--judge-base-url", self.judge_base_url)):
            if url is not None:
                check_server_url(flag, url)
        if self.model and self.backend in LOCAL_MODEL_BACKENDS and _looks_like_path(self.model):
            self.model = str(Path(self.model).expanduser().resolve())

    @property
    def model_label(self) -> str:
        if self.model:
            return Path(self.model).name if _looks_like_path(self.model) else self.model
        return self.predictions.stem if self.predictions else "model"

    def resolved_run_name(self) -> str:
        if self.run_name:
            return self.run_name
        stamp = self.started_at.replace("-", "").replace(":", "").replace("T", "-").rstrip("Z")
        return f"{re.sub(r'[^A-Za-z0-9._+-]+', '_', self.model_label)}-{stamp}"

    def as_record(self) -> dict:
        """JSON-able view for results.json."""
        record = asdict(self)
        for key, value in record.items():
            if isinstance(value, Path):
                record[key] = str(value)
        record["include_paths"] = [str(p) for p in self.include_paths]
        record.pop("started_at")
        return record


def parse_model_args(spec: str | None, flag: str = "--model-args") -> dict:
    """`key=value,key2=value2` -> dict; values are Python literals where they parse (1, 0.9, True,
    a dict or a list: commas inside brackets or quotes do not separate items)."""
    if not spec:
        return {}
    out = {}
    for item in _split_top_level(spec):
        if not item.strip():
            continue
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise MellaError(f"{flag}: expected key=value, got {item!r}")
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip()
        out[key.strip()] = value
    return out


def _split_top_level(spec: str) -> list[str]:
    """Split on commas outside brackets and quotes, so a value may be a dict or a list:
    `processor_size={'shortest_edge': 784, 'longest_edge': 3136},max_num_seqs=8`."""
    items, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(spec):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            items.append(spec[start:i])
            start = i + 1
    items.append(spec[start:])
    return items


def check_server_url(flag: str, url: str) -> None:
    """An http(s) URL with a host and no credentials: a password in the URL would be recorded in
    results.json and sent as a second Authorization header. The message never repeats it."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:
        raise MellaError(f"{flag}: not a valid URL (the port is not a number)") from None
    if parts.username is not None or parts.password is not None:
        shown = f"{parts.scheme}://***@{parts.hostname or ''}{parts.path}"
        raise MellaError(f"{flag} {shown}: credentials in the URL are not supported; put the key in "
                         "the environment variable named by --api-key-env / --judge-api-key-env")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MellaError(f"{flag}: expected http(s)://HOST[:PORT]/..., e.g. http://127.0.0.1:8000/v1 "
                         f"(got scheme {parts.scheme or 'none'!r}, host {parts.hostname or 'none'!r})")


def _image_bytes(megabytes: float) -> int:
    import math

    if not math.isfinite(megabytes) or megabytes <= 0:
        raise MellaError(f"--max-image-mb must be a number > 0, got {megabytes}")
    return int(megabytes * (1 << 20))


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", ".", "~")) or Path(model).expanduser().exists() or model.count("/") != 1
