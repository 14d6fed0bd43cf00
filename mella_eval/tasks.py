"""Task definitions: YAML files validated into `Task` objects, and the registry that finds them.

A task file is data, and may be hostile: it is read within limits (size, alias expansion,
duplicate keys: mella_eval/safe_yaml.py), every value is checked for its type (a list where a
string belongs, a NaN temperature), prompt templates may use only `{name}` placeholders
(mella_eval/templates.py), and the one key that names Python code (`process_sample`) is honoured
only for trusted files (mella_eval/task_registry.py). Every validation error names the file, the
key and what was expected, quoting at most a short excerpt of the bad value.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mella_eval.errors import TaskError
from mella_eval.languages import LANGUAGES
from mella_eval.metrics.registry import METRICS
from mella_eval.safe_yaml import excerpt, key_text, load_yaml_file
from mella_eval.templates import check_template

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
TOP_LEVEL_KEYS = {
    "name", "version", "description", "dataset", "fields", "prompts", "generation", "metrics",
    "process_sample", "judge", "langs", "options_format", "answer_format", "image_marker",
    "breakdown", "answer_lang", "system_prompt",
}
DATASET_KEYS = {"path", "hub", "revision", "split", "config", "format", "lang_names"}
DATA_FORMATS = {"jsonl", "json", "parquet", "csv", "imagefolder"}
# Our field names -> whether every task needs them. Metrics add their own needs (registry).
FIELD_KEYS = {"id": True, "lang": True, "image": True, "references": False, "alt_text": False,
              "keywords": False, "question": False, "options": False, "answer": False,
              "answers": False, "country": False, "reference_answer": False, "item_rubric": False,
              "system_prompt": False}
# Placeholders a prompt may use, filled from the sample.
PROMPT_PLACEHOLDERS = ("question", "options", "language")
OPTION_PLACEHOLDERS = ("letter", "option")  # options_format: one line per option
ANSWER_FORMATS = ("letter", "index0", "index1", "text", "bool")
DEFAULT_PROMPT = "default"  # prompts.default: the prompt of every language in `langs` without its own
GENERATION_KEYS = {"max_new_tokens": int, "temperature": float, "top_p": float, "seed": int,
                   "stop": list}
MAX_INT32 = 2**31 - 1  # engines keep max_tokens in an int32
MAX_SEED = 2**63 - 1  # torch.manual_seed takes an int64


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = 128
    temperature: float = 0.0  # greedy unless a task asks otherwise
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    # A JSON schema (as JSON text) the reply must follow: set by the judge phase, not by tasks.
    # Backends constrain decoding with it where they can; the reply is parsed strictly anyway.
    json_schema: str | None = None

    def as_dict(self) -> dict:
        out = {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature,
               "top_p": self.top_p, "seed": self.seed, "stop": list(self.stop)}
        if self.json_schema is not None:
            out["json_schema"] = self.json_schema
        return out


@dataclass(frozen=True)
class DatasetSource:
    path: Path | None = None  # absolute (resolved against the task file)
    hub: str | None = None
    revision: str | None = None
    split: str = "test"
    config: str | None = None
    format: str | None = None
    # What "{lang}" stands for per language when the source names differ (th -> "thai").
    lang_names: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def per_language(self) -> bool:
        """One config, split or file per language: "{lang}" in config, split or path."""
        return any("{lang}" in str(v) for v in (self.config, self.split, self.path) if v is not None)

    def for_lang(self, lang: str) -> "DatasetSource":
        from dataclasses import replace

        name = self.lang_names.get(lang, lang)
        fill = lambda v: None if v is None else str(v).replace("{lang}", name)  # noqa: E731
        return replace(self, config=fill(self.config), split=fill(self.split),
                       path=Path(fill(self.path)) if self.path is not None else None)

    def describe(self) -> str:
        if self.path is not None:
            return str(self.path)
        return f"{self.hub}@{self.revision} ({self.config or 'default'}/{self.split})"


@dataclass(frozen=True)
class Task:
    name: str
    version: str
    description: str
    file: Path
    dataset: DatasetSource
    fields: dict[str, str]  # our field name -> dataset column
    prompts: dict[str, str]  # language code -> prompt in that language
    generation: GenerationSettings
    metrics: tuple[str, ...]
    content_hash: str  # sha256 of the task file's bytes
    judge: str | None = None  # rubric name in judges/ (or a path), for "judge" metrics
    options_format: str = "{letter}. {option}"  # one line per option in {options}
    answer_format: str = "letter"  # how `answer` names the right option (or a bool for yes/no)
    image_marker: str | None = None  # regex with the 1-based image number, e.g. "<image (\\d+)>"
    breakdown: str | None = None  # a field to break sample metrics down by (e.g. country)
    # The language answers are expected in when it is not the sample's (xGQA: English answers
    # to questions in every language). None: the sample's language.
    answer_lang: str | None = None
    # A system turn before the user turn ({language} filled in); an item's own `system_prompt`
    # field, when mapped and non-empty, replaces it (xChatBench).
    system_prompt: str | None = None
    # "mella" (this harness's corrected protocol) or "reference" (the paper code's, for
    # PangeaBench tasks: mella_eval/protocols/); set by `--protocol`, never by the task file.
    protocol: str = "mella"
    # Generation settings of the languages that differ from `generation` (the reference
    # protocol's per-language settings, e.g. M3Exam zh).
    lang_generation: dict[str, GenerationSettings] = field(default_factory=dict)
    process_sample: Callable[[dict], dict] | None = field(default=None, compare=False)

    @property
    def langs(self) -> list[str]:
        return list(self.prompts)

    def generation_for(self, lang: str) -> GenerationSettings:
        return self.lang_generation.get(lang, self.generation)

    def expected_answer_lang(self, sample_lang: str) -> str:
        """The language a reply to a sample in `sample_lang` should be written in."""
        return self.answer_lang or sample_lang


def load_task(path: Path, trusted: bool = False) -> Task:
    path = Path(path).resolve()
    doc, raw_bytes = load_yaml_file(path, what="task file")
    if not isinstance(doc, dict):
        raise TaskError(path, "", f"expected a mapping at the top level, got {_type(doc)}")
    return _validate(path, doc, raw_bytes, trusted)


def _validate(path: Path, doc: dict, raw_bytes: bytes, trusted: bool) -> Task:
    unknown = sorted(map(str, set(doc) - TOP_LEVEL_KEYS))
    if unknown:
        raise TaskError(path, key_text(unknown[0]),
                        f"unknown key; expected one of: {', '.join(sorted(TOP_LEVEL_KEYS))}")
    name = _require(path, doc, "name", str)
    if not NAME_RE.match(name):
        raise TaskError(path, "name", f"expected lowercase letters, digits, '_', '-' or '.', got {excerpt(name)}")
    version = _require(path, doc, "version", (int, float, str))
    if isinstance(version, float) and not math.isfinite(version):
        raise TaskError(path, "version", f"expected a version number or string, got {version}")
    description = _require(path, doc, "description", str)

    metrics = _require(path, doc, "metrics", list)
    if not metrics:
        raise TaskError(path, "metrics", "expected at least one metric")
    for i, metric in enumerate(metrics):
        if not isinstance(metric, str) or metric not in METRICS:
            raise TaskError(path, f"metrics[{i}]",
                            f"unknown metric {excerpt(metric)}; expected one of: {', '.join(METRICS)}")
        if metric in metrics[:i]:
            raise TaskError(path, f"metrics[{i}]", f"{metric} is listed twice")

    fields = _validate_fields(path, doc, metrics)
    prompts = _validate_prompts(path, doc)
    dataset = _validate_dataset(path, doc)
    if dataset.per_language:
        fields.pop("lang", None)  # the language comes from the config/split/file being read
    extras = _validate_extras(path, doc, fields)
    generation = _validate_generation(path, doc.get("generation") or {})

    judge = doc.get("judge")
    if judge is not None and (not isinstance(judge, str) or not judge):
        raise TaskError(path, "judge", f"expected a rubric name (a file in judges/) or path, got {excerpt(judge)}")
    judge_metrics = [m for m in metrics if METRICS[m].kind in ("judge", "ratio")]
    if judge_metrics and judge is None:
        raise TaskError(path, "judge", f"metrics {', '.join(judge_metrics)} need a judge rubric: "
                                       "add e.g. `judge: thick_description`")

    hook = None
    if "process_sample" in doc:
        hook = _load_hook(path, doc["process_sample"], trusted)

    return Task(
        name=name, version=str(version), description=description.strip(), file=path,
        dataset=dataset, fields=fields, prompts=prompts, generation=generation,
        metrics=tuple(metrics), content_hash=hashlib.sha256(raw_bytes).hexdigest(),
        judge=judge, process_sample=hook, **extras,
    )


def _validate_fields(path: Path, doc: dict, metrics: list[str]) -> dict[str, str]:
    given = doc.get("fields") or {}
    if not isinstance(given, dict):
        raise TaskError(path, "fields", f"expected a mapping of field -> column, got {_type(given)}")
    for key, column in given.items():
        if key not in FIELD_KEYS:
            raise TaskError(path, f"fields.{key_text(key)}",
                            f"unknown field; expected one of: {', '.join(FIELD_KEYS)}")
        if not isinstance(column, str) or not column:
            raise TaskError(path, f"fields.{key}", f"expected a column name, got {excerpt(column)}")
    # Unmapped fields default to a column of the same name.
    fields = {key: given.get(key, key) for key, always in FIELD_KEYS.items()
              if always or key in given}
    for metric in metrics:
        for needed in METRICS[metric].needs:
            fields.setdefault(needed, needed)
    return fields


def _validate_prompts(path: Path, doc: dict) -> dict[str, str]:
    """{lang: prompt} for every language of the task: the keys of `prompts`, or `langs` when
    given (languages without their own prompt then use `prompts.default`)."""
    prompts = _require(path, doc, "prompts", dict)
    if not prompts:
        raise TaskError(path, "prompts", "expected one prompt per language, got none")
    for lang, text in prompts.items():
        if not isinstance(lang, str) or (lang not in LANGUAGES and lang != DEFAULT_PROMPT):
            raise TaskError(path, f"prompts.{key_text(lang)}",
                            f"unknown language code; expected one of: {', '.join(LANGUAGES)} or default")
        if not isinstance(text, str) or not text.strip():
            raise TaskError(path, f"prompts.{lang}", "expected a non-empty prompt in that language, "
                                                     f"got {excerpt(text)}")
        check_template(path, f"prompts.{lang}", text, PROMPT_PLACEHOLDERS)
    langs = doc.get("langs")
    if langs is None:
        if DEFAULT_PROMPT in prompts:
            raise TaskError(path, "langs", "prompts.default needs `langs`: the languages it applies to")
        langs = list(prompts)
    if not isinstance(langs, list) or not langs:
        raise TaskError(path, "langs", "expected a list of language codes")
    out = {}
    for i, lang in enumerate(langs):
        if not isinstance(lang, str) or lang not in LANGUAGES:
            raise TaskError(path, f"langs[{i}]", f"unknown language code {excerpt(lang)}; add it to "
                                                 "mella_eval/languages.py")
        if lang in out:
            raise TaskError(path, f"langs[{i}]", f"{lang} is listed twice")
        text = prompts.get(lang, prompts.get(DEFAULT_PROMPT))
        if text is None:
            raise TaskError(path, f"prompts.{lang}", "missing: give a prompt in that language or prompts.default")
        out[lang] = text.strip()
    return out


def _validate_extras(path: Path, doc: dict, fields: dict) -> dict:
    extras = {}
    for key in ("options_format", "image_marker", "breakdown", "system_prompt"):
        value = doc.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise TaskError(path, key, f"expected a string, got {excerpt(value)}")
        if value is not None:
            extras[key] = value
    if "options_format" in extras:
        if "{option}" not in extras["options_format"]:
            raise TaskError(path, "options_format", "expected a template with {option} (and {letter})")
        check_template(path, "options_format", extras["options_format"], OPTION_PLACEHOLDERS)
    if "system_prompt" in extras:
        extras["system_prompt"] = extras["system_prompt"].strip()
        check_template(path, "system_prompt", extras["system_prompt"], ("language",))
    if "image_marker" in extras:
        try:
            if re.compile(extras["image_marker"]).groups != 1:
                raise re.error("needs exactly one group (the 1-based image number)")
        except re.error as e:
            raise TaskError(path, "image_marker", f"not a usable regular expression: {e}") from None
    if "breakdown" in extras and extras["breakdown"] not in fields:
        raise TaskError(path, "breakdown", f"expected a mapped field ({', '.join(fields)})")
    answer_lang = doc.get("answer_lang")
    if answer_lang is not None:
        if not isinstance(answer_lang, str) or answer_lang not in LANGUAGES:
            raise TaskError(path, "answer_lang", "expected a language code the answers are written in "
                                                 f"(one of: {', '.join(LANGUAGES)})")
        extras["answer_lang"] = answer_lang
    answer_format = doc.get("answer_format", "letter")
    if not isinstance(answer_format, str) or answer_format not in ANSWER_FORMATS:
        raise TaskError(path, "answer_format", f"expected one of {', '.join(ANSWER_FORMATS)}, "
                                               f"got {excerpt(answer_format)}")
    extras["answer_format"] = answer_format
    return extras


def _validate_dataset(path: Path, doc: dict) -> DatasetSource:
    ds = _require(path, doc, "dataset", dict)
    unknown = sorted(map(str, set(ds) - DATASET_KEYS))
    if unknown:
        raise TaskError(path, f"dataset.{key_text(unknown[0])}",
                        f"unknown key; expected one of: {', '.join(sorted(DATASET_KEYS))}")
    if ("path" in ds) == ("hub" in ds):
        raise TaskError(path, "dataset", "expected exactly one of 'path' (local data) or 'hub' (dataset id)")
    for key in ("path", "hub", "revision", "split", "config", "format"):
        if key in ds and (not isinstance(ds[key], str) or not ds[key].strip()):
            raise TaskError(path, f"dataset.{key}", f"expected a non-empty string, got {_type(ds[key])} "
                                                    f"{excerpt(ds[key])}")
    fmt = ds.get("format")
    if fmt is not None and fmt not in DATA_FORMATS:
        raise TaskError(path, "dataset.format", f"expected one of: {', '.join(sorted(DATA_FORMATS))}")
    names = ds.get("lang_names") or {}
    if not isinstance(names, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                              for k, v in names.items()):
        raise TaskError(path, "dataset.lang_names", "expected a mapping of language code -> name in the source")
    if "path" in ds:
        # No resolve(): a "{lang}" in the path is filled in later.
        return DatasetSource(path=Path(os.path.normpath(path.parent / ds["path"])), format=fmt,
                             split=ds.get("split", "test"), lang_names=names)
    if not ds.get("revision"):
        raise TaskError(path, "dataset.revision",
                        "a hub dataset needs a pinned revision (commit sha or tag) for reproducible scores")
    return DatasetSource(hub=ds["hub"], revision=ds["revision"], split=ds.get("split", "test"),
                         config=ds.get("config"), format=fmt, lang_names=names)


def _validate_generation(path: Path, gen: Any) -> GenerationSettings:
    if not isinstance(gen, dict):
        raise TaskError(path, "generation", f"expected a mapping, got {_type(gen)}")
    values = {}
    for key, value in gen.items():
        expected = GENERATION_KEYS.get(key)
        if expected is None:
            raise TaskError(path, f"generation.{key_text(key)}",
                            f"unknown key; expected one of: {', '.join(GENERATION_KEYS)}")
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) if expected is float \
            else isinstance(value, expected) and not isinstance(value, bool)
        if not ok:
            raise TaskError(path, f"generation.{key}", f"expected {expected.__name__}, got {excerpt(value)}")
        if expected is float and not math.isfinite(value):
            raise TaskError(path, f"generation.{key}", f"expected a finite number, got {value}")
        if key == "stop":
            for i, stop in enumerate(value):
                if not isinstance(stop, str) or not stop:
                    raise TaskError(path, f"generation.stop[{i}]",
                                    f"expected a non-empty string, got {excerpt(stop)}")
        values[key] = tuple(value) if key == "stop" else expected(value)
    settings = GenerationSettings(**values)
    if not 1 <= settings.max_new_tokens <= MAX_INT32:
        raise TaskError(path, "generation.max_new_tokens", f"expected an integer from 1 to {MAX_INT32}")
    if not 0 <= settings.seed <= MAX_SEED:
        raise TaskError(path, "generation.seed", f"expected an integer from 0 to {MAX_SEED}")
    if settings.temperature < 0 or not 0 < settings.top_p <= 1:
        raise TaskError(path, "generation", "expected temperature >= 0 and 0 < top_p <= 1")
    return settings


def _load_hook(path: Path, spec: Any, trusted: bool) -> Callable:
    if not trusted:
        raise TaskError(path, "process_sample",
                        "names Python code, which runs only from a trusted folder; "
                        f"pass --include-path {path.parent} to trust it")
    if not isinstance(spec, str) or ":" not in spec:
        raise TaskError(path, "process_sample", f"expected 'file.py:function', got {excerpt(spec)}")
    file_name, func_name = spec.rsplit(":", 1)
    module_path = (path.parent / file_name).resolve()
    if not module_path.is_file():
        raise TaskError(path, "process_sample", f"file not found: {module_path}")
    module_spec = importlib.util.spec_from_file_location(f"mella_task_hook_{module_path.stem}", module_path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:  # a trusted hook file that does not import: its own error, one line
        raise TaskError(path, "process_sample", f"{module_path} failed to import: "
                                                f"{type(e).__name__}: {excerpt(str(e))[1:-1]}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise TaskError(path, "process_sample", f"{module_path} has no function {excerpt(func_name)}")
    return func


def _require(path: Path, doc: dict, key: str, kind):
    if key not in doc or doc[key] is None:
        raise TaskError(path, key, "missing required key")
    value = doc[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise TaskError(path, key, f"expected {names}, got {_type(value)}")
    return value


def _type(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


# The registry lives in its own module; it is re-exported here, where callers import it from.
from mella_eval.task_registry import TaskRegistry, bundled_dir, bundled_tasks_dir  # noqa: E402,F401


