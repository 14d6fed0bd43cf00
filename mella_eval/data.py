"""Load a task's samples from its dataset source into plain `Sample` records.

Sources: a local JSONL/JSON file (read directly, so errors can name the line), a local parquet
or CSV file, an imagefolder (a folder with metadata.jsonl/csv), or a hub dataset id at a pinned
revision (the last three through `datasets`). A problem with the whole dataset (missing file,
missing mapped column) is a `DataError`; a problem with one row (unreadable image, empty
references) becomes that sample's `error` and the run goes on. Rows without a language are
counted and reported in one warning line.

Images are read and checked in `mella_eval.images` only: regular files, at most
`max_image_bytes`, inside the dataset's folder unless `allow_external_images`. An image file
becomes a `FileImagePart` (path, size, sha256, type; the bytes are read again when used);
bytes embedded in a row stay an `ImagePart` of those bytes. Reading the rows themselves is
`mella_eval.dataset_rows`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mella_eval.dataset_rows import Row, read_rows
from mella_eval.errors import DataError
from mella_eval.images import (DEFAULT_MAX_IMAGE_BYTES, FileImagePart, ImageProblem,
                               check_image, pil_image_bytes)
from mella_eval.messages import ImagePart
from mella_eval.metrics.text import nfc
from mella_eval.tasks import DatasetSource, Task
from mella_eval.text_safety import clean_text

log = logging.getLogger(__name__)


@dataclass
class Sample:
    task: str
    lang: str
    id: str
    images: tuple[ImagePart, ...] = ()
    references: tuple[str, ...] = ()
    alt_text: str | None = None
    keywords: tuple[tuple[str, ...], ...] = ()  # each keyword: its accepted variants
    question: str | None = None
    options: tuple[str, ...] = ()  # multiple-choice options, in order (A, B, ...)
    answer: str | int | bool | None = None  # the right option (see Task.answer_format) or yes/no
    answers: tuple[str, ...] = ()  # accepted short answers
    country: str | None = None
    reference_answer: str | None = None  # a reference answer for the judge (LLaVA-Bench, xChat)
    item_rubric: str | None = None  # a per-item scoring rubric for the judge (xChatBench)
    system_prompt: str | None = None  # the item's own system turn (xChatBench), else the task's
    error: str | None = None  # why this sample cannot be evaluated (recorded, not fatal)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ImagePolicy:
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    allow_external: bool = False

    def roots(self, base_dir: Path | None) -> list[Path] | None:
        """Folders a row's image path may lead into (None: anywhere)."""
        if self.allow_external:
            return None
        return list(_image_roots(base_dir))


@lru_cache(maxsize=256)
def _image_roots(base_dir: Path | None) -> tuple[Path, ...]:
    # Asked once per image: resolving the folders each time was a third of loading 12,800 samples.
    if base_dir is None:
        return (_hub_datasets_cache(),)  # a hub dataset's files live in the datasets cache
    shipped = _bundled_tasks_dir().resolve()
    if Path(base_dir).resolve().is_relative_to(shipped):
        return (shipped,)  # data shipped with mella-eval shares images between its folders
    return (Path(base_dir),)


def load_samples(task: Task, langs: list[str], data_dir: Path | None = None,
                 limit: int | None = None, *, max_image_bytes: int | None = DEFAULT_MAX_IMAGE_BYTES,
                 allow_external_images: bool = False) -> list[Sample]:
    """Samples of `task` in `langs` (in that order), at most `limit` per language.

    Image files larger than `max_image_bytes` are sample errors; so are image paths that lead
    out of the dataset's folder unless `allow_external_images` (data shipped in mella-eval's
    tasks/ folder may share images between its folders)."""
    source = (DatasetSource(path=Path(data_dir).absolute(), lang_names=task.dataset.lang_names)
              if data_dir else task.dataset)
    policy = ImagePolicy(DEFAULT_MAX_IMAGE_BYTES if max_image_bytes is None else int(max_image_bytes),
                         bool(allow_external_images))
    wanted = [lang for lang in langs if lang in task.prompts]
    per_lang: dict[str, list[Sample]] = {lang: [] for lang in wanted}
    seen: set[tuple[str, str]] = set()
    no_lang: list[str] = []
    keep_source = task.protocol != "mella"  # the reference protocol reads the row as published
    for position, (fixed_lang, row) in enumerate(_rows_by_language(task, source, wanted)):
        source_row = source_fields(row.values, task.fields.get("image")) if keep_source else None
        if task.process_sample is not None:  # first: it may set the language, the id, the images
            values = task.process_sample(dict(row.values))
            if values is None:  # the hook skips this row
                continue
            row.values = values
        lang = fixed_lang or row.values.get(task.fields["lang"])
        if not isinstance(lang, str) or not lang.strip():
            no_lang.append(row.where)
            continue
        if lang not in per_lang or (limit is not None and len(per_lang[lang]) >= limit):
            continue
        row.values = _cleaned(row.values)
        sample = _to_sample(task, lang, row, policy)
        if source_row is not None:
            sample.extra["source_row"] = source_row
            # Dataset order: samples are sorted by id, but MaXM's reference keeps the last answer
            # per image in the order it reads the rows.
            sample.extra["source_index"] = position
        if (lang, sample.id) in seen:
            raise DataError(f"{row.where}: duplicate id {sample.id!r} for language {lang} "
                            f"(task {task.name}); ids must be unique per language")
        seen.add((lang, sample.id))
        per_lang[lang].append(sample)
    if no_lang:
        log.warning("task %s: %d dataset row(s) without a language in column %r were skipped "
                    "(first: %s)", task.name, len(no_lang), task.fields.get("lang"), no_lang[0])
    return [s for lang in wanted for s in per_lang[lang]]


def _bundled_tasks_dir() -> Path:
    try:
        from mella_eval.task_registry import bundled_tasks_dir
    except ImportError:
        from mella_eval.tasks import bundled_tasks_dir
    return bundled_tasks_dir()


def _hub_datasets_cache() -> Path:
    try:
        import datasets.config

        return Path(datasets.config.HF_DATASETS_CACHE)
    except ImportError:
        return Path.home() / ".cache" / "huggingface" / "datasets"


def _rows_by_language(task: Task, source: DatasetSource, langs: list[str]):
    """(language or None, row): one dataset read, or one per language when the source has a
    "{lang}" in its config, split or path (then the language is the one being read)."""
    if not source.per_language and "lang" not in task.fields:
        raise DataError(f"task {task.name} reads one dataset per language ({{lang}} in its source); "
                        f"{source.describe()} has no {{lang}}: pass a --data-dir with {{lang}} in it")
    sources = [(lang, source.for_lang(lang)) for lang in langs] if source.per_language else [(None, source)]
    for lang, one in sources:
        rows, columns = read_rows(one)
        needed = {ours: theirs for ours, theirs in task.fields.items() if not (lang and ours == "lang")}
        missing = [f"fields.{ours} -> column {theirs!r}" for ours, theirs in needed.items()
                   if theirs not in columns]
        # A process_sample hook may create columns: then a missing value is a per-sample error.
        if missing and task.process_sample is None:
            raise DataError(
                f"dataset {one.describe()} (task {task.name}, {task.file}) lacks mapped fields: "
                f"{'; '.join(missing)}; its columns are: {', '.join(sorted(columns)) or 'none'}")
        for row in rows:
            yield lang, row


def _to_sample(task: Task, lang: str, row: Row, policy: ImagePolicy = ImagePolicy()) -> Sample:
    f, v = task.fields, row.values
    raw_id = v.get(f["id"])
    sample = Sample(task=task.name, lang=lang, id=str(raw_id) if raw_id not in (None, "") else row.where)
    problems: list[str] = []
    if raw_id in (None, ""):
        problems.append(f"empty id ({f['id']})")
    try:
        sample.images = tuple(_load_images(v.get(f["image"]), row.base_dir, policy))
        if not sample.images:
            problems.append(f"no image in column {f['image']!r}")
    except ImageProblem as e:
        problems.append(str(e))
    if "references" in f:
        refs = _as_str_list(v.get(f["references"]))
        if refs is None:
            problems.append(f"column {f['references']!r}: expected a string or a list of strings, "
                            f"got {_describe_value(v.get(f['references']))}")
        elif not refs:
            problems.append(f"no references in column {f['references']!r}")
        else:
            sample.references = tuple(nfc(r) for r in refs)
    if "alt_text" in f:
        alt = v.get(f["alt_text"])
        sample.alt_text = nfc(alt) if isinstance(alt, str) and alt.strip() else None
    if "keywords" in f:
        keywords = _as_keywords(v.get(f["keywords"]))
        if keywords is None:
            problems.append(f"column {f['keywords']!r}: expected a list of keywords "
                            "(each a string or a list of accepted variants)")
        else:
            sample.keywords = keywords
    problems.extend(_task_fields(task, v, sample))
    if problems:
        sample.error = f"{row.where}: " + "; ".join(problems)
    return sample


def _task_fields(task: Task, v: dict, sample: Sample) -> list[str]:
    """Question-answering fields; returns the problems found (empty when all is well)."""
    f, problems = task.fields, []
    if "question" in f:
        question = v.get(f["question"])
        if not isinstance(question, str) or not question.strip():
            problems.append(f"no question in column {f['question']!r}")
        else:
            sample.question = nfc(question)
    if "options" in f:
        options = v.get(f["options"])
        if isinstance(options, dict):  # {"A": "...", "B": "..."}
            options = [options[k] for k in sorted(options)]
        if options in (None, "", []) and "answers" in f and _as_str_list(v.get(f["answers"])):
            pass  # an open question in a multiple-choice task: scored by its `answers`
        elif not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, (str, int, float)) for o in options):
            problems.append(f"column {f['options']!r}: expected a list of at least two options")
        else:
            sample.options = tuple(nfc(str(o)) for o in options)
    if "answer" in f:
        answer = v.get(f["answer"])
        if answer is None or answer == "":
            problems.append(f"no answer in column {f['answer']!r}")
        else:
            sample.answer = nfc(answer) if isinstance(answer, str) else answer
    if "answers" in f:
        answers = _as_str_list(v.get(f["answers"]))
        if not answers:
            problems.append(f"no answers in column {f['answers']!r}")
        else:
            sample.answers = tuple(nfc(a) for a in answers)
    if "country" in f:
        country = v.get(f["country"])
        sample.country = str(country) if country not in (None, "") else None
    if "system_prompt" in f:  # optional per item: an empty one leaves the task's
        value = v.get(f["system_prompt"])
        sample.system_prompt = nfc(value).strip() if isinstance(value, str) and value.strip() else None
    for name in ("reference_answer", "item_rubric"):
        if name in f:
            value = v.get(f[name])
            if not isinstance(value, str) or not value.strip():
                problems.append(f"no {name.replace('_', ' ')} in column {f[name]!r}")
            else:
                setattr(sample, name, nfc(value))
    return problems


# --- field values -----------------------------------------------------------------------------

def _load_images(value: Any, base_dir: Path | None, policy: ImagePolicy) -> list[ImagePart]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [_load_image(item, base_dir, policy, i if len(items) > 1 else None)
            for i, item in enumerate(items, 1)]


def _load_image(item: Any, base_dir: Path | None, policy: ImagePolicy,
                number: int | None = None) -> ImagePart:
    data: bytes | None = None
    label = "embedded image" if number is None else f"embedded image {number}"
    if isinstance(item, (bytes, bytearray)):  # raw encoded bytes (e.g. decoded from base64)
        data, item = bytes(item), None
    elif isinstance(item, dict):  # datasets' Image(decode=False): {"bytes": ..., "path": ...}
        data = item.get("bytes")
        item = item.get("path") if data is None else None
        if data is not None and not isinstance(data, (bytes, bytearray)):
            raise ImageProblem(f"{label}: 'bytes' is a {type(data).__name__}, not bytes")
    if isinstance(item, str):
        if not item.strip() or "\0" in item:
            raise ImageProblem(f"image path {item!r} is not a file name")
        path = Path(item) if Path(item).is_absolute() or base_dir is None else base_dir / item
        # By reference: checked now, read again when a request needs the bytes.
        return FileImagePart.load(path, max_bytes=policy.max_bytes,
                                  allowed_roots=policy.roots(base_dir))
    elif item is not None and data is None and hasattr(item, "save") and hasattr(item, "size"):
        data = pil_image_bytes(item, label)  # a PIL image
    if data is None:
        raise ImageProblem(f"unsupported image value of type {type(item).__name__}")
    check_image(bytes(data), label, max_bytes=policy.max_bytes)
    return ImagePart(bytes(data))


# Base64 of JPEG, PNG, GIF, WebP files (M3Exam stores its images so), and data URLs.
_BASE64_IMAGE_STARTS = ("/9j/", "iVBORw0KGgo", "R0lGOD", "UklGR", "data:image/")


def source_fields(values: dict, image_column: str | None = None) -> dict:
    """The row's text and number fields as the dataset has them (images, image columns and
    base64-encoded images left out): what the reference protocol's prompt and scoring functions
    read, kept in the record."""
    def plain(value):
        if value is None or isinstance(value, (str, bool, int, float)):
            return True
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        return False
    return {key: value for key, value in values.items()
            if isinstance(key, str) and key != image_column and plain(value)
            and not _looks_like_image(value)}


def _looks_like_image(value) -> bool:
    """An image column decoded as {"bytes": ..., "path": ...}, or an image as base64 text."""
    if isinstance(value, dict):
        return set(value) <= {"bytes", "path"} and "path" in value
    return isinstance(value, str) and value.startswith(_BASE64_IMAGE_STARTS)


def _cleaned(value: Any) -> Any:
    """Every string of a row with lone surrogates replaced (JSON may escape half an emoji)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    return value


def _describe_value(value: Any) -> str:
    if isinstance(value, list):
        kinds = sorted({type(v).__name__ for v in value if not isinstance(v, str)})
        return f"a list with {', '.join(kinds)} item(s)"
    return "null" if value is None else f"a {type(value).__name__}"


def _as_str_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v for v in value if v.strip()]
    return None


def _as_keywords(value: Any) -> tuple[tuple[str, ...], ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list):
        return None
    keywords = []
    for item in value:
        variants = [item] if isinstance(item, str) else item
        if not isinstance(variants, list) or not variants or not all(isinstance(v, str) and v.strip() for v in variants):
            return None
        keywords.append(tuple(nfc(v) for v in variants))
    return tuple(keywords)
