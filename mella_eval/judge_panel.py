"""Judge panels: several judges grade every answer (`--judge-panel FILE`).

The file is a small YAML document (read within the limits of mella_eval/safe_yaml.py):

    judges:
      - name: gpt                      # optional; default: the model name (names must differ)
        model: gpt-4o-2024-08-06
        backend: openai                # auto (default) | openai | vllm | hf
        base_url: https://api.openai.com/v1
        api_key_env: OPENAI_API_KEY    # variable holding this judge's key
        concurrency: 8                 # optional
      - name: local
        model: /models/Qwen2.5-VL-7B-Instruct
        backend: vllm
        model_args: {gpu_memory_utilization: 0.5}
        max_model_len: 8192            # optional
        tensor_parallel_size: 1        # optional

Each judge is configured apart from the others and from the model under test: what is not given
takes the judge defaults of the command line (--judge-concurrency, --judge-api-key-env, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from mella_eval.errors import MellaError, TaskError
from mella_eval.safe_yaml import excerpt, key_text, load_yaml_file

JUDGE_KEYS = ("name", "model", "backend", "base_url", "api_key_env", "concurrency", "model_args",
              "max_model_len", "tensor_parallel_size")
BACKENDS = ("auto", "openai", "vllm", "hf")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class PanelJudge:
    name: str
    model: str
    backend: str = "auto"
    base_url: str | None = None
    api_key_env: str | None = None
    concurrency: int | None = None
    model_args: dict = field(default_factory=dict)
    max_model_len: int | None = None
    tensor_parallel_size: int | None = None

    def run_config(self, config):
        """The run config with this judge as `--judge-*`; unset fields keep the command line's."""
        return replace(
            config, judge_model=self.model, judge_backend=self.backend, judge_base_url=self.base_url,
            judge_api_key_env=self.api_key_env or config.judge_api_key_env,
            judge_concurrency=self.concurrency or config.judge_concurrency,
            judge_model_args=dict(self.model_args),
            judge_max_model_len=self.max_model_len or config.judge_max_model_len,
            judge_tensor_parallel_size=self.tensor_parallel_size or config.judge_tensor_parallel_size)


def load_panel(path: str | Path) -> tuple[PanelJudge, ...]:
    path = Path(path)
    if not path.is_file():
        raise MellaError(f"--judge-panel {path}: no such file")
    doc, _ = load_yaml_file(path, what="judge panel")
    judges = doc.get("judges") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or set(doc) != {"judges"} or not isinstance(judges, list) or not judges:
        raise TaskError(path, "judges", "expected a mapping with one key, judges: a non-empty list")
    out = [_judge(path, i, entry) for i, entry in enumerate(judges)]
    names = [j.name for j in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TaskError(path, "judges", f"two judges are named {twice[0]}: give each a distinct name")
    return tuple(out)


def _judge(path: Path, i: int, entry) -> PanelJudge:
    where = f"judges[{i}]"
    if not isinstance(entry, dict):
        raise TaskError(path, where, f"expected a mapping with model, backend, base_url, ..., got {excerpt(entry)}")
    unknown = sorted(map(key_text, set(entry) - set(JUDGE_KEYS)))
    if unknown:
        raise TaskError(path, f"{where}.{unknown[0]}", f"unknown key (expected: {', '.join(JUDGE_KEYS)})")
    for key in ("model", "name", "base_url", "api_key_env"):
        value = entry.get(key)
        if (key == "model" or value is not None) and (not isinstance(value, str) or not value.strip()):
            raise TaskError(path, f"{where}.{key}", f"expected a non-empty string, got {excerpt(value)}")
    if "name" in entry:
        name = entry["name"]
        if not NAME_RE.match(name):
            raise TaskError(path, f"{where}.name", "expected letters, digits, '.', '_' or '-' (at most 64)")
    else:  # the model's last path part, where it makes a name
        name = entry["model"].rstrip("/").rsplit("/", 1)[-1]
        name = name if NAME_RE.match(name) else f"judge{i + 1}"
    backend = entry.get("backend", "auto")
    if backend not in BACKENDS:
        raise TaskError(path, f"{where}.backend", f"expected one of {', '.join(BACKENDS)}, got {excerpt(backend)}")
    if backend == "openai" and not entry.get("base_url"):
        raise TaskError(path, f"{where}.base_url", "backend openai needs a base_url")
    if entry.get("base_url"):
        from mella_eval.config import check_server_url
        try:
            check_server_url("base_url", entry["base_url"])
        except MellaError as e:
            raise TaskError(path, f"{where}.base_url", str(e)) from None
    for key in ("concurrency", "max_model_len", "tensor_parallel_size"):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise TaskError(path, f"{where}.{key}", f"expected a positive integer, got {excerpt(value)}")
    args = entry.get("model_args", {})
    if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
        raise TaskError(path, f"{where}.model_args", f"expected a mapping of name -> value, got {excerpt(args)}")
    return PanelJudge(name=name, model=entry["model"],
                      backend=backend, base_url=entry.get("base_url"), api_key_env=entry.get("api_key_env"),
                      concurrency=entry.get("concurrency"), model_args=dict(args),
                      max_model_len=entry.get("max_model_len"),
                      tensor_parallel_size=entry.get("tensor_parallel_size"))
