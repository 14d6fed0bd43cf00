"""The PangeaBench tasks on small fixtures in their real schemas (tasks/data/pangeabench/):
hooks, field mappings and scorers end to end; the tiny model through hf and vLLM."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from fault_server import FaultServer, per_prompt, reply_json
from mella_eval.build import OPTION_LETTERS
from mella_eval.cli import main
from mella_eval.data import load_samples
from mella_eval.metrics.answers import gold_letter
from mella_eval.task_registry import TaskRegistry

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tasks" / "data" / "pangeabench"
# task -> (fixture file, languages in the fixture)
FIXTURE = {
    "xm3600": ("xm3600/splits/{lang}.jsonl", ["ar", "cs", "th"]),
    "xm100": ("xm100/splits/{lang}.jsonl", ["ko", "ru", "th"]),
    "cvqa": ("cvqa/splits/test.jsonl", None),
    "cvqa_en": ("cvqa/splits/test.jsonl", None),
    "marvl": ("marvl/splits/{lang}.jsonl", ["en", "id", "tr", "zh"]),
    "xgqa": ("xgqa/splits/{lang}.jsonl", ["de", "ko", "ru"]),
    "maxm": ("maxm/splits/{lang}.jsonl", ["fr", "th", "zh"]),
    "xmmmu": ("xmmmu/splits/{lang}.jsonl", ["ar", "fr", "ja"]),
    "m3exam": ("m3exam/splits/{lang}.jsonl", ["en", "th", "vi"]),
    "m_llava_bench": ("m_llava_bench/splits/{lang}.jsonl", ["ar", "ru", "zh"]),
    "xchatbench": ("xchatbench/splits/{lang}.jsonl", ["en", "ja", "ko"]),
}
NON_JUDGE = [t for t in FIXTURE if t not in ("m_llava_bench", "xchatbench")]


@pytest.fixture(scope="module")
def fixture_tasks(tmp_path_factory) -> Path:
    """The bundled task files, pointed at the fixtures (same hooks, mappings, prompts)."""
    folder = tmp_path_factory.mktemp("pangeabench-tasks")
    shutil.copy(REPO / "tasks" / "pangeabench_hooks.py", folder)
    for name, (path, langs) in FIXTURE.items():
        doc = yaml.safe_load((REPO / "tasks" / f"{name}.yaml").read_text(encoding="utf-8"))
        doc["dataset"] = {"path": str(FIXTURES / path), "lang_names": doc["dataset"].get("lang_names", {})}
        if langs:
            doc["langs"] = langs
        else:  # CVQA: the languages its rows have
            doc["langs"] = ["id", "ko", "ru"]
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return folder


def samples_of(folder: Path, name: str):
    task = TaskRegistry([folder]).resolve(str(folder / f"{name}.yaml"))[0]
    return task, load_samples(task, task.langs)


def gold_prediction(task, sample) -> str:
    if "options" in task.fields and sample.options:
        return f"Answer: {gold_letter(sample.answer, list(sample.options), task.answer_format)}"
    if task.answer_format == "bool":
        return "true" if sample.answer else "false"
    if sample.answers:
        return sample.answers[0]
    return sample.references[0]


@pytest.mark.parametrize("name", list(FIXTURE))
def test_fixture_loads_through_the_task(fixture_tasks, name):
    task, samples = samples_of(fixture_tasks, name)
    assert samples and all(s.error is None for s in samples), [s.error for s in samples if s.error]
    assert {s.lang for s in samples} == set(task.langs)
    if name in ("xmmmu", "m3exam"):
        assert any(len(s.images) >= 1 for s in samples)
    if name == "cvqa":
        assert {s.country for s in samples} >= {"South Korea"}


def test_gold_answers_score_perfectly(fixture_tasks, tmp_path):
    preds = tmp_path / "gold.jsonl"
    with preds.open("w", encoding="utf-8") as fh:
        for name in NON_JUDGE:
            task, samples = samples_of(fixture_tasks, name)
            for s in samples:
                fh.write(json.dumps({"task": name, "lang": s.lang, "id": s.id,
                                     "prediction": gold_prediction(task, s)}, ensure_ascii=False) + "\n")
    code = main(["run", "--predictions", str(preds), "--tasks", ",".join(str(fixture_tasks / f"{n}.yaml") for n in NON_JUDGE),
                 "--include-path", str(fixture_tasks), "--langs", "task",
                 "--output-dir", str(tmp_path), "--run-name", "gold"])
    assert code == 0
    results = json.loads((tmp_path / "gold" / "results.json").read_text(encoding="utf-8"))
    for s in results["scores"]:
        if s["metric"] in ("mc_accuracy", "yes_no_accuracy", "exact_match", "relaxed_accuracy"):
            assert s["value"] == 1.0, s
        if s["metric"] == "extract_fail_rate":
            assert s["value"] == 0.0, s
        if s["metric"] in ("bleu", "chrf++"):
            assert s["value"] == pytest.approx(100.0), s
    assert any(b.get("country") for b in results["breakdowns"])


@pytest.mark.parametrize("name, verdict, metric, expected", [
    ("m_llava_bench", {"rationale": "ok", "reference_score": 8, "candidate_score": 6}, "llava_relative", 75.0),
    ("xchatbench", {"rationale": "ok", "score": 4}, "xchat_score", 4.0),
])
def test_judged_tasks_through_a_judge_server(fixture_tasks, tmp_path, name, verdict, metric, expected):
    task, samples = samples_of(fixture_tasks, name)
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"task": name, "lang": s.lang, "id": s.id,
                                         "prediction": s.reference_answer}, ensure_ascii=False) + "\n"
                             for s in samples), encoding="utf-8")
    with FaultServer(default=reply_json(verdict)) as server:
        code = main(["run", "--predictions", str(preds), "--tasks", str(fixture_tasks / f"{name}.yaml"),
                     "--include-path", str(fixture_tasks), "--langs", "task", "--no-cache",
                     "--judge-model", server.model, "--judge-base-url", server.base_url,
                     "--output-dir", str(tmp_path), "--run-name", "j"])
        texts = [r.text for r in server.requests]
    assert code == 0
    results = json.loads((tmp_path / "j" / "results.json").read_text(encoding="utf-8"))
    values = [s["value"] for s in results["scores"] if s["metric"] == metric]
    assert values and all(v == pytest.approx(expected) for v in values)
    assert all("<reference>" in t for t in texts)
    if name == "xchatbench":
        assert all("Score 5:" in t for t in texts)  # the item's own rubric reached the judge


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["hf", "vllm"])
def test_every_task_runs_the_tiny_model(fixture_tasks, tmp_path, tiny_vlm, backend):
    """All ten tasks (the judged ones with a scripted judge server) through a local backend."""
    verdicts = per_prompt({"Score rubric:": reply_json({"rationale": "r", "score": 2})},
                          default=reply_json({"rationale": "r", "reference_score": 7, "candidate_score": 3}))
    with FaultServer(verdicts) as server:
        code = main(["run", "--model", str(tiny_vlm), "--backend", backend, "--max-model-len", "2048",
                     "--tasks", ",".join(str(fixture_tasks / f"{n}.yaml") for n in FIXTURE),
                     "--include-path", str(fixture_tasks), "--langs", "task", "--limit", "1",
                     "--max-new-tokens", "8", "--no-cache", "--wrong-language", "flag",
                     "--judge-model", server.model, "--judge-base-url", server.base_url,
                     "--output-dir", str(tmp_path), "--run-name", backend])
    assert code in (0, 1)  # tiny-model gibberish may leave a metric without value; never a crash
    records = [json.loads(l) for l in (tmp_path / backend / "samples.jsonl").open(encoding="utf-8")]
    assert {r["task"] for r in records} == set(FIXTURE)
    assert all(r["judge"]["status"] == "ok" for r in records if r["task"] in ("m_llava_bench", "xchatbench"))
    assert all(r["status"] == "ok" and r["prediction"] is not None for r in records), \
        [r["reason"] for r in records if r["status"] != "ok"]
