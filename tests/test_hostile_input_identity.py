"""Issue 11, rows 1 and 15: a hub id is the snapshot `refs/main` points at (a new revision is a new
model for the response store; an unresolvable one reuses nothing), and a run folder is written
whole (nothing of an earlier run stays beside new results) while the same command still resumes."""

import json
import logging

import pytest

from mella_eval.backends.base import Completion, local_model_identity
from mella_eval.build import GenerationRequest
from mella_eval.errors import MellaError
from mella_eval.generate import generate_all
from mella_eval.results import read_samples, write_run
from mella_eval.store import ResponseStore
from mella_eval.tasks import GenerationSettings


def fake_hub_cache(root, repo, sha, files):
    """The Hugging Face cache layout: models--org--name/{refs/main, snapshots/<sha>/...}."""
    folder = root / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(sha)
    snapshot = folder / "snapshots" / sha
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (snapshot / name).write_text(text)
    return snapshot


@pytest.fixture
def hub(tmp_path, monkeypatch):
    root = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    return root


def test_hub_id_resolves_to_its_snapshot_and_revision(hub):
    fake_hub_cache(hub, "org/name", "a" * 40, {"config.json": '{"layers": 2}',
                                               "chat_template.jinja": "{{ messages }}"})
    first = local_model_identity("org/name")
    assert first["revision"] == "a" * 40 and first["weights"] is not None
    assert first["chat_template_sha256"] is not None
    fake_hub_cache(hub, "org/name", "b" * 40, {"config.json": '{"layers": 3}'})  # refs/main moves
    second = local_model_identity("org/name")
    assert second["revision"] == "b" * 40 and second["weights"] != first["weights"]
    assert local_model_identity("org/missing")["weights"] is None


class HubBackend:
    """A local-weights backend as hf/vLLM are: its cache identity is local_model_identity."""
    name = "hf"

    def __init__(self, model, answer):
        self.model, self.answer, self.calls = model, answer, 0

    def cache_identity(self):
        return {"backend": self.name, **local_model_identity(self.model)}

    def generate(self, requests, on_result=None):
        self.calls += len(requests)
        return [Completion(text=self.answer) for _ in requests]


REQUESTS = [GenerationRequest(task="t", lang="ar", sample_id=str(i), messages=(),
                              settings=GenerationSettings()) for i in range(3)]


def answers(backend, store):
    completions, stats = generate_all(backend, REQUESTS, store)
    return {c.text for c in completions.values()}, stats


def test_new_hub_revision_is_not_answered_from_the_old_ones_responses(hub, tmp_path):
    store = ResponseStore(tmp_path / "cache")
    fake_hub_cache(hub, "org/name", "a" * 40, {"config.json": "{}", "model.safetensors": "v1"})
    assert answers(HubBackend("org/name", "old revision"), store)[0] == {"old revision"}
    again, stats = answers(HubBackend("org/name", "unused"), store)
    assert again == {"old revision"} and stats.reused == 3  # same revision: resumed from the store
    fake_hub_cache(hub, "org/name", "b" * 40, {"config.json": "{}", "model.safetensors": "v2"})
    new, stats = answers(HubBackend("org/name", "new revision"), store)
    assert new == {"new revision"} and stats.reused == 0


def test_unresolvable_model_reuses_nothing_and_says_so(hub, tmp_path, caplog):
    store = ResponseStore(tmp_path / "cache")
    answers(HubBackend("org/not-cached", "first"), store)
    backend = HubBackend("org/not-cached", "second")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mella_eval"):
        texts, stats = answers(backend, store)
    assert texts == {"second"} and stats.reused == 0 and backend.calls == 3
    lines = [r.getMessage() for r in caplog.records if "not reused" in r.getMessage()]
    assert len(lines) == 1 and "org/not-cached" in lines[0]


# -- row 15: the run folder is written whole ---------------------------------------------------

def test_run_folder_is_replaced_whole(tmp_path):
    run = tmp_path / "out" / "run"
    write_run(run, {"schema_version": 1, "tasks": ["a"]}, [{"id": "1"}])
    (run / "report.html").write_text("<p>report of task a</p>")
    (run / "thumbs").mkdir()
    (run / "thumbs" / "old.jpg").write_bytes(b"x")
    write_run(run, {"schema_version": 1, "tasks": ["b"]}, [{"id": "2"}])
    assert sorted(p.name for p in run.iterdir()) == ["results.json", "samples.jsonl"]
    assert json.loads((run / "results.json").read_text())["tasks"] == ["b"]
    assert read_samples(run) == [{"id": "2"}]
    assert [p.name for p in run.parent.iterdir()] == ["run"]  # no staging folder left behind


def test_a_folder_that_is_not_a_run_is_never_emptied(tmp_path):
    folder = tmp_path / "my-notes"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    with pytest.raises(MellaError, match="is not a run folder"):
        write_run(folder, {"schema_version": 1}, [])
    assert (folder / "thesis.tex").read_text() == "precious"


def test_rerun_with_other_tasks_leaves_no_stale_report_and_still_resumes(tmp_path):
    from prediction_runs import SAMPLE_ROWS

    from mella_eval.cli import main
    from mella_eval.report import write_report

    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"task": task, "lang": r["lang"], "id": r["id"],
                                         "prediction": r["references"][0]}) + "\n"
                             for r in SAMPLE_ROWS if r["lang"] == "ar"
                             for task in ("linguistic", "culture")), encoding="utf-8")
    common = ["run", "--predictions", str(preds), "--langs", "ar", "--output-dir", str(tmp_path),
              "--run-name", "same"]
    assert main([*common, "--tasks", "linguistic"]) == 0
    write_report(tmp_path / "same")
    assert (tmp_path / "same" / "report.html").exists()
    assert main([*common, "--tasks", "culture", "--no-judge"]) == 0
    run = tmp_path / "same"
    assert not (run / "report.html").exists()
    assert {r["task"] for r in read_samples(run)} == {"culture"}
    thumbs = {p.name for p in (run / "thumbs").iterdir()}
    assert thumbs == {f"{sha}.jpg" for r in read_samples(run) for sha in r["image_sha256"]}
