"""Task definitions: YAML files validated into `Task` objects, and the registry that finds them.

A task file is data. It is read with `yaml.safe_load`; the one key that names Python code
(`process_sample`) is honoured only for files in a folder the user trusted with
`--include-path`. Every validation error names the file, the key and what was expected.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from mella_eval.errors import MellaError, TaskError
from mella_eval.languages import LANGUAGES
from mella_eval.metrics.registry import METRICS

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
TOP_LEVEL_KEYS = {
    "name", "version", "description", "dataset", "fields", "prompts", "generation", "metrics",
    "process_sample", "judge", "langs", "options_format", "answer_format", "image_marker",
    "breakdown", "answer_lang",
}
DATASET_KEYS = {"path", "hub", "revision", "split", "config", "format", "lang_names"}
DATA_FORMATS = {"jsonl", "json", "parquet", "csv", "imagefolder"}
# Our field names -> whether every task needs them. Metrics add their own needs (registry).
FIELD_KEYS = {"id": True, "lang": True, "image": True, "references": False, "alt_text": False,
              "keywords": False, "question": False, "options": False, "answer": False,
              "answers": False, "country": False, "reference_answer": False, "item_rubric": False}
# Placeholders a prompt may use, filled from the sample.
PROMPT_PLACEHOLDERS = ("question", "options", "language")
ANSWER_FORMATS = ("letter", "index0", "index1", "text", "bool")
DEFAULT_PROMPT = "default"  # prompts.default: the prompt of every language in `langs` without its own
GENERATION_KEYS = {"max_new_tokens": int, "temperature": float, "top_p": float, "seed": int,
                   "stop": list}


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
    process_sample: Callable[[dict], dict] | None = field(default=None, compare=False)

    @property
    def langs(self) -> list[str]:
        return list(self.prompts)

    def expected_answer_lang(self, sample_lang: str) -> str:
        """The language a reply to a sample in `sample_lang` should be written in."""
        return self.answer_lang or sample_lang


def load_task(path: Path, trusted: bool = False) -> Task:
    path = Path(path).resolve()
    try:
        raw_bytes = path.read_bytes()
    except OSError as e:
        raise MellaError(f"cannot read task file {path}: {e.strerror}") from None
    try:
        doc = yaml.safe_load(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise TaskError(path, "", "not UTF-8 text") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise TaskError(path, "", f"invalid YAML: {where}{getattr(e, 'problem', e)}") from None
    if not isinstance(doc, dict):
        raise TaskError(path, "", f"expected a mapping at the top level, got {_type(doc)}")
    return _validate(path, doc, raw_bytes, trusted)


def _validate(path: Path, doc: dict, raw_bytes: bytes, trusted: bool) -> Task:
    unknown = set(doc) - TOP_LEVEL_KEYS
    if unknown:
        raise TaskError(path, sorted(unknown)[0],
                        f"unknown key; expected one of: {', '.join(sorted(TOP_LEVEL_KEYS))}")
    name = _require(path, doc, "name", str)
    if not NAME_RE.match(name):
        raise TaskError(path, "name", f"expected lowercase letters, digits, '_', '-' or '.', got {name!r}")
    version = _require(path, doc, "version", (int, float, str))
    description = _require(path, doc, "description", str)

    metrics = _require(path, doc, "metrics", list)
    if not metrics:
        raise TaskError(path, "metrics", "expected at least one metric")
    for i, metric in enumerate(metrics):
        if metric not in METRICS:
            raise TaskError(path, f"metrics[{i}]",
                            f"unknown metric {metric!r}; expected one of: {', '.join(METRICS)}")

    fields = _validate_fields(path, doc, metrics)
    prompts = _validate_prompts(path, doc)
    dataset = _validate_dataset(path, doc)
    if dataset.per_language:
        fields.pop("lang", None)  # the language comes from the config/split/file being read
    extras = _validate_extras(path, doc, fields)
    generation = _validate_generation(path, doc.get("generation") or {})

    judge = doc.get("judge")
    if judge is not None and (not isinstance(judge, str) or not judge):
        raise TaskError(path, "judge", f"expected a rubric name (a file in judges/) or path, got {judge!r}")
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
            raise TaskError(path, f"fields.{key}",
                            f"unknown field; expected one of: {', '.join(FIELD_KEYS)}")
        if not isinstance(column, str) or not column:
            raise TaskError(path, f"fields.{key}", f"expected a column name, got {column!r}")
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
        if lang not in LANGUAGES and lang != DEFAULT_PROMPT:
            raise TaskError(path, f"prompts.{lang}",
                            f"unknown language code; expected one of: {', '.join(LANGUAGES)} or default")
        if not isinstance(text, str) or not text.strip():
            raise TaskError(path, f"prompts.{lang}", "expected a non-empty prompt in that language")
        try:
            text.format(**{p: "" for p in PROMPT_PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as e:
            raise TaskError(path, f"prompts.{lang}", f"bad placeholder {e}; allowed: "
                            + ", ".join("{" + p + "}" for p in PROMPT_PLACEHOLDERS)
                            + " (write {{ and }} for literal braces)") from None
    langs = doc.get("langs")
    if langs is None:
        if DEFAULT_PROMPT in prompts:
            raise TaskError(path, "langs", "prompts.default needs `langs`: the languages it applies to")
        langs = list(prompts)
    if not isinstance(langs, list) or not langs:
        raise TaskError(path, "langs", "expected a list of language codes")
    out = {}
    for i, lang in enumerate(langs):
        if lang not in LANGUAGES:
            raise TaskError(path, f"langs[{i}]", f"unknown language code {lang!r}; add it to "
                                                 "mella_eval/languages.py")
        text = prompts.get(lang, prompts.get(DEFAULT_PROMPT))
        if text is None:
            raise TaskError(path, f"prompts.{lang}", "missing: give a prompt in that language or prompts.default")
        out[lang] = text.strip()
    return out


def _validate_extras(path: Path, doc: dict, fields: dict) -> dict:
    extras = {}
    for key in ("options_format", "image_marker", "breakdown"):
        value = doc.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise TaskError(path, key, f"expected a string, got {value!r}")
        if value is not None:
            extras[key] = value
    if "options_format" in extras:
        try:
            extras["options_format"].format(letter="A", option="x")
        except (KeyError, IndexError, ValueError):
            raise TaskError(path, "options_format", "expected a template with {letter} and {option}") from None
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
        if answer_lang not in LANGUAGES:
            raise TaskError(path, "answer_lang", "expected a language code the answers are written in "
                                                 f"(one of: {', '.join(LANGUAGES)})")
        extras["answer_lang"] = answer_lang
    answer_format = doc.get("answer_format", "letter")
    if answer_format not in ANSWER_FORMATS:
        raise TaskError(path, "answer_format", f"expected one of {', '.join(ANSWER_FORMATS)}")
    extras["answer_format"] = answer_format
    return extras


def _validate_dataset(path: Path, doc: dict) -> DatasetSource:
    ds = _require(path, doc, "dataset", dict)
    unknown = set(ds) - DATASET_KEYS
    if unknown:
        raise TaskError(path, f"dataset.{sorted(unknown)[0]}",
                        f"unknown key; expected one of: {', '.join(sorted(DATASET_KEYS))}")
    if ("path" in ds) == ("hub" in ds):
        raise TaskError(path, "dataset", "expected exactly one of 'path' (local data) or 'hub' (dataset id)")
    fmt = ds.get("format")
    if fmt is not None and fmt not in DATA_FORMATS:
        raise TaskError(path, "dataset.format", f"expected one of: {', '.join(sorted(DATA_FORMATS))}")
    for key in ("path", "hub", "revision", "split", "config"):
        if key in ds and not isinstance(ds[key], str):
            raise TaskError(path, f"dataset.{key}", f"expected a string, got {_type(ds[key])}")
    names = ds.get("lang_names") or {}
    if not isinstance(names, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
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
            raise TaskError(path, f"generation.{key}",
                            f"unknown key; expected one of: {', '.join(GENERATION_KEYS)}")
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) if expected is float \
            else isinstance(value, expected) and not isinstance(value, bool)
        if not ok:
            raise TaskError(path, f"generation.{key}", f"expected {expected.__name__}, got {value!r}")
        values[key] = tuple(value) if key == "stop" else expected(value)
    settings = GenerationSettings(**values)
    if settings.max_new_tokens < 1:
        raise TaskError(path, "generation.max_new_tokens", "expected a positive integer")
    if settings.temperature < 0 or not 0 < settings.top_p <= 1:
        raise TaskError(path, "generation", "expected temperature >= 0 and 0 < top_p <= 1")
    return settings


def _load_hook(path: Path, spec: Any, trusted: bool) -> Callable:
    if not trusted:
        raise TaskError(path, "process_sample",
                        "names Python code, which runs only from a trusted folder; "
                        f"pass --include-path {path.parent} to trust it")
    if not isinstance(spec, str) or ":" not in spec:
        raise TaskError(path, "process_sample", f"expected 'file.py:function', got {spec!r}")
    file_name, func_name = spec.rsplit(":", 1)
    module_path = (path.parent / file_name).resolve()
    if not module_path.is_file():
        raise TaskError(path, "process_sample", f"file not found: {module_path}")
    module_spec = importlib.util.spec_from_file_location(f"mella_task_hook_{module_path.stem}", module_path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    func = getattr(module, func_name, None)
    if not callable(func):
        raise TaskError(path, "process_sample", f"{module_path} has no function {func_name!r}")
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


# ---------------------------------------------------------------------------------------------
# Registry: bundled tasks plus --include-path folders.

def bundled_dir(name: str) -> Path:
    """`tasks` or `judges`: beside the package in a checkout, mella_eval/_bundled/ in a wheel."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "_bundled" / name, package_dir.parent / name):
        if candidate.is_dir():
            return candidate
    raise MellaError(f"bundled {name}/ folder not found beside {package_dir}; reinstall mella-eval")


def bundled_tasks_dir() -> Path:
    return bundled_dir("tasks")


class TaskRegistry:
    """Finds task files (and groups) by name: the bundled ones and those of --include-path folders."""

    def __init__(self, include_paths: list[Path] | tuple[Path, ...] = ()):
        self.trusted_dirs = [Path(p).resolve() for p in include_paths]
        for d in self.trusted_dirs:
            if not d.is_dir():
                raise MellaError(f"--include-path {d}: not a folder")
        self._files: dict[str, Path] = {}
        self.groups: dict[str, list[str]] = {}
        for d in [bundled_tasks_dir(), *self.trusted_dirs]:  # later folders override bundled names
            for f in sorted(d.glob("*.yaml")):
                self._files[f.stem] = f
            for f in sorted((d / "groups").glob("*.yaml")):
                self.groups[f.stem] = _load_group(f)

    def names(self) -> list[str]:
        return sorted(self._files)

    def is_trusted(self, path: Path) -> bool:
        """Task files shipped with mella-eval (their hooks are part of the package) and those in
        --include-path folders may name Python hooks; any other task file is data only."""
        path = path.resolve()
        return any(path.is_relative_to(d) for d in [bundled_tasks_dir().resolve(), *self.trusted_dirs])

    def load(self, path: Path) -> Task:
        return load_task(path, trusted=self.is_trusted(path))

    def resolve(self, spec: str | list[str]) -> list[Task]:
        """`linguistic,culture`, a task file, or a folder of task files -> validated tasks."""
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        items = self._expand_groups([i.strip() for i in items if i.strip()])
        tasks: list[Task] = []
        for item in items:
            candidate = Path(item).expanduser()
            if item in self._files:
                found = [self._files[item]]
            elif candidate.is_dir():
                found = sorted(candidate.glob("*.yaml"))
                if not found:
                    raise MellaError(f"--tasks {item}: folder has no *.yaml task files")
            elif candidate.suffix in (".yaml", ".yml") or candidate.exists():
                if not candidate.is_file():
                    raise MellaError(f"--tasks {item}: task file not found")
                found = [candidate]
            else:
                raise MellaError(f"unknown task {item!r}; available: {', '.join(self.names())} "
                                 "(or pass a path to a task file or folder)")
            for f in found:
                task = self.load(f)
                if any(t.name == task.name for t in tasks):
                    raise MellaError(f"task {task.name!r} requested twice ({f})")
                tasks.append(task)
        if not tasks:
            raise MellaError("--tasks is empty; available: " + ", ".join(self.names()))
        return tasks

    def _expand_groups(self, items: list[str], seen: tuple[str, ...] = ()) -> list[str]:
        out: list[str] = []
        for item in items:
            if item in self.groups and item not in self._files:
                if item in seen:
                    raise MellaError(f"task group {item!r} includes itself")
                out.extend(t for t in self._expand_groups(self.groups[item], seen + (item,)) if t not in out)
            elif item not in out:
                out.append(item)
        return out


def _load_group(path: Path) -> list[str]:
    """tasks/groups/NAME.yaml: {group: NAME, description: ..., tasks: [task or group names]}."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise TaskError(path, "", f"invalid YAML: {e}") from None
    if not isinstance(doc, dict) or doc.get("group") != path.stem:
        raise TaskError(path, "group", f"expected `group: {path.stem}` (the file name)")
    tasks = doc.get("tasks")
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise TaskError(path, "tasks", "expected a non-empty list of task names")
    return tasks
