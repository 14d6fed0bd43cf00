"""Task files: validation errors name the file, the key and what was expected."""

from pathlib import Path

import pytest
import yaml

from mella_eval.errors import MellaError, TaskError
from mella_eval.tasks import TaskRegistry, bundled_tasks_dir, load_task

REPO = Path(__file__).resolve().parent.parent
GOOD = {
    "name": "mini",
    "version": 1,
    "description": "a test task",
    "dataset": {"path": str(REPO / "tasks" / "data" / "mella_sample")},
    "prompts": {"ru": "Опишите изображение.", "th": "อธิบายภาพนี้"},
    "generation": {"max_new_tokens": 8},
    "metrics": ["bleu", "chrf"],
}


def write(tmp_path, doc, name="mini.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True) if isinstance(doc, dict) else doc,
                    encoding="utf-8")
    return path


def error_for(tmp_path, **changes) -> TaskError:
    doc = {**GOOD, **changes}
    doc = {k: v for k, v in doc.items() if v is not None}
    with pytest.raises(TaskError) as e:
        load_task(write(tmp_path, doc))
    return e.value


def test_bundled_linguistic_task_is_valid():
    task = TaskRegistry().resolve("linguistic")[0]
    assert task.langs == ["ar", "cs", "hu", "ko", "ru", "sr", "th", "vi"]
    assert task.metrics[:3] == ("bleu", "chrf", "chrf++")
    assert task.fields["references"] == "references"
    assert len(task.content_hash) == 64
    # Every prompt is written in its own language, not English.
    assert all(not prompt.isascii() for lang, prompt in task.prompts.items())


def test_good_task_loads(tmp_path):
    task = load_task(write(tmp_path, GOOD))
    assert task.name == "mini" and task.generation.max_new_tokens == 8
    assert task.generation.temperature == 0.0  # greedy by default


@pytest.mark.parametrize("changes, key, expected", [
    ({"name": None}, "name", "missing required key"),
    ({"name": "Bad Name"}, "name", "lowercase"),
    ({"metrics": ["bleu", "rouge"]}, "metrics[1]", "unknown metric 'rouge'"),
    ({"metrics": []}, "metrics", "at least one metric"),
    ({"prompts": {"xx": "hello"}}, "prompts.xx", "unknown language code"),
    ({"prompts": {"ru": ""}}, "prompts.ru", "non-empty prompt"),
    ({"generation": {"max_new_tokens": "many"}}, "generation.max_new_tokens", "expected int"),
    ({"generation": {"beams": 2}}, "generation.beams", "unknown key"),
    ({"dataset": {"hub": "org/data"}}, "dataset.revision", "pinned revision"),
    ({"dataset": {"path": "a", "hub": "b"}}, "dataset", "exactly one of"),
    ({"fields": {"picture": "img"}}, "fields.picture", "unknown field"),
    ({"extra": 1}, "extra", "unknown key"),
])
def test_validation_errors_name_key_and_expectation(tmp_path, changes, key, expected):
    err = error_for(tmp_path, **changes)
    assert err.key == key
    assert expected in str(err)
    assert str(tmp_path / "mini.yaml") in str(err)


def test_invalid_yaml_reports_line(tmp_path):
    path = write(tmp_path, "name: x\nprompts: [unclosed\n")
    with pytest.raises(TaskError, match=r"invalid YAML: line \d+"):
        load_task(path)


def test_yaml_tags_do_not_run_code(tmp_path):
    path = write(tmp_path, "!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(TaskError, match="invalid YAML"):
        load_task(path)


def test_python_hook_needs_trusted_folder(tmp_path):
    (tmp_path / "hooks.py").write_text("def upper(row):\n    row['id'] = str(row['id']).upper()\n    return row\n")
    path = write(tmp_path, {**GOOD, "process_sample": "hooks.py:upper"})
    with pytest.raises(TaskError, match="--include-path"):
        TaskRegistry().load(path)
    task = TaskRegistry([tmp_path]).load(path)
    assert task.process_sample({"id": "a"}) == {"id": "A"}


def test_registry_resolves_names_files_and_folders(tmp_path):
    write(tmp_path, GOOD)
    registry = TaskRegistry()
    assert "linguistic" in registry.names()
    assert [t.name for t in registry.resolve(str(tmp_path / "mini.yaml"))] == ["mini"]
    assert [t.name for t in registry.resolve(str(tmp_path))] == ["mini"]
    with pytest.raises(MellaError, match="unknown task 'nope'; available: .*linguistic"):
        registry.resolve("nope")
    assert bundled_tasks_dir().is_dir()
