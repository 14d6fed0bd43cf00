"""Task files as hostile input (issue 11, rows 9, 14, 16 and the 50 MB file): every bad file is one
short TaskError naming the file and the key, never a traceback, a hang or a gigabyte."""

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from mella_eval.errors import TaskError
from mella_eval.tasks import TaskRegistry, load_task

from test_tasks import GOOD, REPO  # noqa: E402  (the shared minimal task)
MAX_MESSAGE = 1000  # one readable line (the longest lists every metric name), never the bad value whole


def write(tmp_path: Path, doc, name: str = "mini.yaml") -> Path:
    path = tmp_path / name
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, trusted: bool = False) -> str:
    with pytest.raises(TaskError) as e:
        load_task(path, trusted=trusted)
    message = str(e.value)
    assert str(path.name) in message and len(message) < MAX_MESSAGE, message[:1000]
    return message


def good_yaml(**extra_lines: str) -> str:
    body = yaml.safe_dump(GOOD, allow_unicode=True)
    return body + "".join(f"{k}: {v}\n" for k, v in extra_lines.items())


# --- row 9: billion laughs, recursion, duplicate keys, short excerpts -------------------------

def laughs(levels: int, width: int = 10) -> str:
    lines = ['l0: &l0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def rest_of_good(*without: str) -> str:
    return yaml.safe_dump({k: v for k, v in GOOD.items() if k not in without}, allow_unicode=True)


def anchors(levels: int) -> str:
    """The laughs as a mapping under an ignored key, defined before use."""
    return "_anchors:\n  " + laughs(levels).replace("\n", "\n  ").rstrip() + "\n"


def test_billion_laughs_is_refused_quickly_with_a_short_message(tmp_path):
    # 10**6 leaves after expansion, defined inside a value the validator used to repr() whole
    # into its message (generation.seed): 8 MB of message before the fix, 80 MB at 10**7.
    defs = ['&l0 "lol"'] + [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 7)]
    text = "generation:\n  max_new_tokens: 8\n  seed: [" + ", ".join(defs) + "]\n" + rest_of_good("generation")
    path = write(tmp_path, text)
    assert path.stat().st_size < 2000
    t0 = time.monotonic()
    message = refused(path)
    assert time.monotonic() - t0 < 5
    assert "expands to more than" in message


def test_a_billion_laughs_never_gets_built(tmp_path):
    # 10**9 leaves: refused while only the node graph (a few dozen nodes) exists.
    text = anchors(9) + "metrics: *l9\n" + rest_of_good("metrics")
    t0 = time.monotonic()
    message = refused(write(tmp_path, text))
    assert time.monotonic() - t0 < 5 and "expands to more than" in message


def test_recursive_alias_is_refused(tmp_path):
    text = good_yaml().replace("metrics:\n- bleu\n- chrf\n", "metrics: &m [bleu, *m]\n")
    assert "&m" in text
    assert "recursive YAML alias" in refused(write(tmp_path, text))


def test_duplicate_keys_are_refused(tmp_path):
    text = good_yaml() + "name: other\n"
    assert "duplicate key 'name'" in refused(write(tmp_path, text))


def test_merge_keys_still_work(tmp_path):
    text = "generation:\n  <<: {max_new_tokens: 8, seed: 1}\n  seed: 2\n" + rest_of_good("generation")
    task = load_task(write(tmp_path, text))
    assert task.generation.seed == 2 and task.generation.max_new_tokens == 8


@pytest.mark.parametrize("key, value", [
    ("judge", ["x" * 100_000]),
    ("description", {"a" * 50_000: 1}),
    ("generation", {"seed": "9" * 50_000}),
    ("metrics", ["bleu", "y" * 50_000]),
])
def test_errors_quote_only_a_short_excerpt(tmp_path, key, value):
    refused(write(tmp_path, {**GOOD, key: value}))


# --- size cap (the 50 MB task file) and files that are not files ------------------------------

def test_oversized_task_file_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, good_yaml() + "# padding\n" + ("#" + "x" * 99 + "\n") * 20_000)  # 2 MB
    t0 = time.monotonic()
    message = refused(path)
    assert "limit" in message and time.monotonic() - t0 < 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_a_task_file_does_not_hang(tmp_path):
    fifo = tmp_path / "mini.yaml"
    os.mkfifo(fifo)
    outcome = {}

    def load():
        try:
            load_task(fifo)
        except TaskError as e:
            outcome["error"] = str(e)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # unblock the reader before failing
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    assert not thread.is_alive() and "not a regular file" in outcome.get("error", "")


# --- row 14: element types, finiteness, placeholders, duplicates ------------------------------

@pytest.mark.parametrize("changes, key", [
    ({"metrics": [["bleu"]]}, "metrics[0]"),
    ({"metrics": ["bleu", {"a": 1}]}, "metrics[1]"),
    ({"langs": [["ru"]], "prompts": {"default": "x"}}, "langs[0]"),
    ({"answer_lang": ["ru"]}, "answer_lang"),
    ({"answer_format": ["letter"]}, "answer_format"),
    ({"dataset": {**GOOD["dataset"], "format": ["jsonl"]}}, "dataset.format"),
    ({"dataset": {**GOOD["dataset"], "split": ["test"]}}, "dataset.split"),
    ({"dataset": {**GOOD["dataset"], "lang_names": {"ru": ["russian"]}}}, "dataset.lang_names"),
    ({"prompts": {"ru": ["Опишите"]}}, "prompts.ru"),
    ({"options_format": ["{letter}"]}, "options_format"),
    ({"image_marker": ["<image>"]}, "image_marker"),
    ({"fields": {"id": ["a", "b"]}}, "fields.id"),
    ({"process_sample": ["hooks.py:f"]}, "process_sample"),
])
def test_lists_where_strings_belong_are_errors_not_crashes(tmp_path, changes, key):
    message = refused(write(tmp_path, {**GOOD, **changes}), trusted=True)
    assert f": {key}:" in message


@pytest.mark.parametrize("generation, key", [
    ({"temperature": float("nan")}, "generation.temperature"),
    ({"temperature": float("inf")}, "generation.temperature"),
    ({"top_p": float("nan")}, "generation.top_p"),
    ({"stop": [["a"]]}, "generation.stop[0]"),
    ({"stop": ["ok", 7]}, "generation.stop[1]"),
    ({"stop": [""]}, "generation.stop[0]"),
    ({"seed": -1}, "generation.seed"),
    ({"seed": 2**70}, "generation.seed"),
    ({"max_new_tokens": 2**40}, "generation.max_new_tokens"),
])
def test_generation_values_are_typed_and_finite(tmp_path, generation, key):
    message = refused(write(tmp_path, {**GOOD, "generation": {"max_new_tokens": 8, **generation}}))
    assert f": {key}:" in message


def test_nan_version_is_refused(tmp_path):
    assert ": version:" in refused(write(tmp_path, good_yaml().replace("version: 1", "version: .nan")))


@pytest.mark.parametrize("template", [
    "{language:>99999999}",  # pads every prompt to 100 MB
    "{question!r}",
    "{question.__class__.__mro__}",
    "{options[0]}",
    "{}",
    "{0}",
    "{language:{question}}",
    "Describe {lang}.",
])
def test_prompt_placeholders_are_names_only(tmp_path, template):
    message = refused(write(tmp_path, {**GOOD, "prompts": {"ru": "Опишите " + template}}))
    assert ": prompts.ru:" in message and "placeholder" in message


@pytest.mark.parametrize("template", ["{letter}. {option:>99999999}", "{letter!a} {option}",
                                      "{letter.__doc__} {option}", "{letter}. {choice}"])
def test_options_format_placeholders_are_names_only(tmp_path, template):
    message = refused(write(tmp_path, {**GOOD, "options_format": template}))
    assert ": options_format:" in message


def test_good_placeholders_still_work(tmp_path):
    task = load_task(write(tmp_path, {**GOOD, "prompts": {"ru": "{question}\n{options}\nОтветьте на {language}. {{x}}"},
                                      "options_format": "({letter}) {option}"}))
    assert task.prompts["ru"].startswith("{question}") and task.options_format == "({letter}) {option}"


def test_duplicate_metrics_and_languages_are_refused(tmp_path):
    assert "listed twice" in refused(write(tmp_path, {**GOOD, "metrics": ["bleu", "chrf", "bleu"]}))
    assert "listed twice" in refused(write(tmp_path, {**GOOD, "langs": ["ru", "th", "ru"],
                                                      "prompts": {"default": "Describe."}}))


def test_every_bundled_task_and_group_still_validates():
    registry = TaskRegistry()
    assert len(registry.resolve(registry.names())) == len(registry.names())
    assert registry.groups  # the groups parse with the same bounded loader


# --- row 16: trust is per file, not per tree -----------------------------------------------------

HOOK = "def upper(row):\n    row['id'] = str(row['id']).upper()\n    return row\n"


def test_a_task_file_below_the_bundled_tasks_folder_is_not_trusted():
    folder = Path(tempfile.mkdtemp(prefix="untrusted-", dir=REPO / "tasks" / "data"))
    try:
        (folder / "hooks.py").write_text(HOOK)
        path = write(folder, {**GOOD, "process_sample": "hooks.py:upper"}, "t.yaml")
        with pytest.raises(TaskError, match="--include-path"):
            TaskRegistry().load(path)
        assert not TaskRegistry().is_trusted(path)
    finally:
        shutil.rmtree(folder)


def test_bundled_task_files_themselves_are_trusted():
    registry = TaskRegistry()
    bundled = [registry._files[n] for n in registry.names()]
    assert bundled and all(registry.is_trusted(f) for f in bundled)
    assert not registry.is_trusted(REPO / "tasks" / "pangeabench_hooks.py")


def test_include_path_trusts_its_own_files_not_its_subfolders(tmp_path):
    sub = tmp_path / "downloads"
    sub.mkdir()
    for folder in (tmp_path, sub):
        (folder / "hooks.py").write_text(HOOK)
        write(folder, {**GOOD, "process_sample": "hooks.py:upper"}, "t.yaml")
    registry = TaskRegistry([tmp_path])
    assert registry.load(tmp_path / "t.yaml").process_sample({"id": "a"}) == {"id": "A"}
    with pytest.raises(TaskError, match="--include-path"):
        registry.load(sub / "t.yaml")
