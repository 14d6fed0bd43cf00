"""`mella-eval run --protocol reference`: PangeaBench tasks prompted, generated and scored as the
paper's code does (mella_eval/protocols/), end to end on the fixtures; results say which
protocol scored each task, and compare/export refuse to mix them. Also the system-prompt field.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_pangeabench import FIXTURES, fixture_tasks  # noqa: E402,F401  (the PangeaBench fixtures)

from mella_eval.build import build_requests, render_messages  # noqa: E402
from mella_eval.data import load_samples  # noqa: E402
from mella_eval.errors import MellaError, TaskError  # noqa: E402
from mella_eval.messages import ImagePart, TextPart  # noqa: E402
from mella_eval.metrics.registry import METRICS  # noqa: E402
from mella_eval.protocols import REFERENCE_TASKS, reference_task  # noqa: E402
from mella_eval.protocols.variant import apply_protocol, reference_variant  # noqa: E402
from mella_eval.tasks import TaskRegistry, load_task  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SCORED = ["cvqa", "cvqa_en", "m3exam", "xmmmu", "xgqa", "marvl", "maxm", "xm100"]
# Right, wrong, unparseable and verbose answers: some score, some are guessed (1/k).
PREDICTIONS = ["B", "The answer is (A).", "Answer: C", "no idea", "yes", "true", "(b)", "2", ""]


def mella(*args):
    return subprocess.run([sys.executable, "-m", "mella_eval", *args], capture_output=True,
                          text=True, timeout=300)


def task_of(folder: Path, name: str, protocol: str = "reference"):
    return apply_protocol(TaskRegistry([folder]).resolve(str(folder / f"{name}.yaml")), protocol)[0]


def write_predictions(folder: Path, names, path: Path) -> None:
    lines = []
    for name in names:
        task = task_of(folder, name)
        for i, sample in enumerate(load_samples(task, task.langs)):
            lines.append(json.dumps({"task": name, "lang": sample.lang, "id": sample.id,
                                     "prediction": PREDICTIONS[i % len(PREDICTIONS)]},
                                    ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def reference_run(fixture_tasks, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference-run")
    names = SCORED + ["xm3600"]  # xm3600: no reference protocol, scored with the mella one
    write_predictions(fixture_tasks, names, out / "preds.jsonl")
    tasks = ",".join(str(fixture_tasks / f"{n}.yaml") for n in names)
    done = mella("run", "--predictions", str(out / "preds.jsonl"), "--tasks", tasks,
                 "--include-path", str(fixture_tasks), "--langs", "task", "--protocol", "reference",
                 "--output-dir", str(out), "--run-name", "ref")
    assert done.returncode == 0, done.stderr[-3000:]
    run = out / "ref"
    records = [json.loads(line) for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    return run, json.loads((run / "results.json").read_text(encoding="utf-8")), records, done.stderr


def test_every_reference_task_runs_and_results_say_which_protocol(reference_run):
    _, results, records, stderr = reference_run
    for name in SCORED:
        entry = results["tasks"][name]
        assert entry["protocol"] == "reference" and "ecc4403" in entry["protocol_source"]
        assert entry["metrics"] == list(REFERENCE_TASKS[name].metric_names)
    assert results["tasks"]["xm3600"]["protocol"] == "mella"
    assert "xm3600 has no reference protocol" in stderr
    assert {s["metric"] for s in results["scores"] if s["task"] == "xm3600"} >= {"bleu", "cider"}
    assert results["run"]["config"]["protocol"] == "reference"


def test_scores_are_the_reference_functions_on_the_published_rows(reference_run):
    _, results, records, _ = reference_run
    expected: dict = {}
    for r in (r for r in records if r["task"] in SCORED):
        reference = reference_task(r["task"])
        # The prompt sent is the reference's, for the row as the dataset has it.
        assert r["prompt"] == reference.prompt(r["source_row"], r["lang"])
        scored = reference.score(r["source_row"], r["prediction"], r["lang"])
        for theirs, ours in reference.reported:
            if theirs in scored["metrics"]:
                values = expected.setdefault((r["task"], r["lang"], ours), [])
                values.append((scored["metrics"][theirs], scored["guessed"]))
    rows = {(s["task"], s["lang"], s["metric"]): s for s in results["scores"]
            if s["task"] in SCORED and METRICS[s["metric"]].kind == "sample"}
    assert set(rows) == set(expected)
    guessed_total = 0
    for key, values in expected.items():
        row = rows[key]
        assert row["value"] == pytest.approx(sum(v for v, _ in values) / len(values), abs=1e-9), key
        assert row["n"] == len(values) and row["guessed"] == sum(g for _, g in values)
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        guessed_total += row["guessed"]
    assert guessed_total > 0  # the 1/k rule was exercised


def published_rows(task: str, lang: str) -> list[dict]:
    split = {"he": "iw"}.get(lang, lang) if task == "maxm" else lang
    path = FIXTURES / task / "splits" / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_caption_corpus_scores_are_pycocoevalcaps_on_the_published_rows(reference_run):
    """XM100 (BLEU 1-4, ROUGE-L, CIDEr, METEOR with Java) and MaXM (ROUGE-L, CIDEr): one value
    per (task, lang), from the published rows in dataset order and the predictions."""
    from mella_eval.protocols.reference_caption import (java_meteor_available, maxm_corpus_scores,
                                                        xm100_corpus_scores)

    _, results, records, _ = reference_run
    rows = {(s["task"], s["lang"], s["metric"]): s for s in results["scores"]}
    checked = 0
    for task, lang in sorted({(r["task"], r["lang"]) for r in records if r["task"] in ("xm100", "maxm")}):
        preds = {r["id"]: r["prediction"] for r in records if r["task"] == task and r["lang"] == lang}
        published = published_rows(task, lang)
        if task == "xm100":
            items = [(row["image_id"], preds[row["image_id"]], [row["caption"]]) for row in published]
            expected = xm100_corpus_scores(items, lang)
            names = {"Bleu_1": "ref_bleu_1", "Bleu_4": "ref_bleu_4", "ROUGE_L": "ref_rouge_l",
                     "CIDEr": "ref_cider", "METEOR": "ref_meteor"}
        else:
            items = [(row["image_id"], preds[row["question_id"]], row["answers"]) for row in published]
            expected = maxm_corpus_scores(items, lang)
            names = {"rouge_l": "ref_maxm_rouge_l", "cider": "ref_maxm_cider"}
        for theirs, ours in names.items():
            row = rows[(task, lang, ours)]
            if theirs not in expected:  # METEOR without Java: the row says why, the others score
                assert not java_meteor_available() and "java" in row["error"]
                continue
            assert row["value"] == pytest.approx(expected[theirs], abs=1e-9), (task, lang, ours)
            assert row["n"] == len(preds) and row["ci_low"] is None  # no interval
            checked += 1
    assert checked >= 10


def test_source_rows_are_the_rows_as_published(reference_run, fixture_tasks):
    _, _, records, _ = reference_run
    published = {}
    for line in (FIXTURES / "cvqa" / "splits" / "test.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        published[row["ID"]] = row
    cvqa = [r for r in records if r["task"] == "cvqa"]
    assert cvqa
    for r in cvqa:
        row = published[r["id"]]
        assert r["source_row"]["Options"] == row["Options"] and r["source_row"]["Label"] == row["Label"]
        assert "lang" not in r["source_row"]  # the hook's additions are not the published row


def test_compare_and_export_refuse_to_mix_protocols(reference_run, fixture_tasks, tmp_path):
    run, _, _, _ = reference_run
    write_predictions(fixture_tasks, ["cvqa"], tmp_path / "preds.jsonl")
    common = ["--predictions", str(tmp_path / "preds.jsonl"), "--tasks", str(fixture_tasks / "cvqa.yaml"),
              "--include-path", str(fixture_tasks), "--langs", "task", "--output-dir", str(tmp_path)]
    assert mella("run", *common, "--run-name", "mella").returncode == 0
    assert mella("run", *common, "--run-name", "ref", "--protocol", "reference").returncode == 0
    compared = mella("compare", str(tmp_path / "mella"), str(tmp_path / "ref"))
    assert compared.returncode == 2
    assert "task cvqa is scored with the mella protocol in the baseline and the reference" in compared.stderr
    exported = mella("export", str(tmp_path / "mella"), str(tmp_path / "ref"))
    assert exported.returncode == 2 and "export the runs of each protocol separately" in exported.stderr
    assert "Traceback" not in exported.stderr + compared.stderr
    same = mella("export", str(tmp_path / "ref"), str(run))
    assert same.returncode == 0 and "cvqa/macro/ref_accuracy" in same.stdout


def test_generation_settings_per_language_and_the_override():
    m3exam = reference_variant(load_task(REPO / "tasks" / "m3exam.yaml", trusted=True))
    assert m3exam.generation_for("zh").max_new_tokens == 32
    assert m3exam.generation_for("th").max_new_tokens == 16
    assert m3exam.generation_for("th").top_p == 1.0 and m3exam.generation_for("th").temperature == 0.0
    maxm = reference_variant(load_task(REPO / "tasks" / "maxm.yaml", trusted=True))
    assert maxm.generation_for("he").max_new_tokens == 64 and "he" in maxm.langs


def test_requests_use_per_language_settings(fixture_tasks):
    task = task_of(fixture_tasks, "m3exam")
    samples = load_samples(task, task.langs)
    requests = build_requests(task, samples)
    assert {r.settings.max_new_tokens for r in requests} == {16}
    overridden = build_requests(task, samples, max_new_tokens=5)
    assert {r.settings.max_new_tokens for r in overridden} == {5}


def test_reference_images_go_where_the_reference_puts_them(fixture_tasks):
    from mella_eval.build import _reference_user_message

    a, b = ImagePart(b"\xff\xd8\xff a"), ImagePart(b"\xff\xd8\xff b")
    placed = _reference_user_message("Q <image> then <image> end", (a,))
    assert placed.parts == (TextPart("Q "), a, TextPart(" then <image> end"))
    first = _reference_user_message("no placeholder", (a, b))
    assert first.parts == (a, b, TextPart("no placeholder"))
    extra = _reference_user_message("<image> x", (a, b))
    assert extra.parts == (b, a, TextPart(" x"))
    xmmmu = task_of(fixture_tasks, "xmmmu")
    for sample in load_samples(xmmmu, xmmmu.langs):
        message = render_messages(xmmmu, sample)[-1]
        assert sum(isinstance(p, ImagePart) for p in message.parts) == len(sample.images)


def test_a_task_without_the_reference_languages_is_a_clear_error(tmp_path):
    doc = yaml.safe_load((REPO / "tasks" / "xgqa.yaml").read_text(encoding="utf-8"))
    doc["langs"] = ["th"]
    doc.pop("process_sample")  # an untrusted copy may not run the hook; not needed here
    (tmp_path / "xgqa.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    task = load_task(tmp_path / "xgqa.yaml")
    with pytest.raises(MellaError, match="covers none of its languages"):
        reference_variant(task)
    with pytest.raises(MellaError, match="--protocol"):
        apply_protocol([task], "paper")


def test_hidden_cvqa_labels_are_not_applicable_under_the_reference(fixture_tasks):
    from mella_eval.protocols.scoring import add_reference_metrics

    task = task_of(fixture_tasks, "cvqa")
    sample = load_samples(task, task.langs)[0]
    record = {"task": "cvqa", "lang": sample.lang, "status": "ok", "prediction": "B", "metrics": {},
              "source_row": dict(sample.extra["source_row"], Label=-1)}
    add_reference_metrics(task, [record])
    assert record["metrics"] == {} and "ref_accuracy" in record["not_applicable"]
    broken = dict(record, source_row={"Label": 0}, metrics={})
    add_reference_metrics(task, [broken])  # a row the reference cannot read: that sample's error
    assert "ref_accuracy" in broken["metric_errors"]


# ---------------------------------------------------------------- system prompts

def test_xchatbench_sends_each_items_system_prompt(fixture_tasks):
    task = task_of(fixture_tasks, "xchatbench", "mella")
    samples = load_samples(task, task.langs)
    rows = [json.loads(line) for line in
            (FIXTURES / "xchatbench" / "data.jsonl").read_text(encoding="utf-8").splitlines()]
    expected = {row["system_prompt"] for row in rows}
    for request in build_requests(task, samples):
        system, user = request.messages
        assert system.role == "system" and system.text in expected and user.role == "user"


def test_task_system_prompt_with_language_and_item_override(tmp_path):
    import shutil

    image = next((REPO / "tasks" / "data" / "mella_sample" / "images").glob("*.jpg"))
    shutil.copy(image, tmp_path / "x.jpg")
    rows = [{"id": "a", "lang": "th", "image": "x.jpg", "sys": ""},
            {"id": "b", "lang": "th", "image": "x.jpg", "sys": "Be brief."}]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    doc = {"name": "sys", "version": 1, "description": "d", "dataset": {"path": "data.jsonl"},
           "fields": {"references": "id", "system_prompt": "sys"},
           "prompts": {"th": "Describe."}, "metrics": ["bleu"],
           "system_prompt": "Answer in {language}."}
    (tmp_path / "sys.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    task = load_task(tmp_path / "sys.yaml")
    samples = {s.id: s for s in load_samples(task, ["th"])}
    assert render_messages(task, samples["a"])[0].text == "Answer in Thai."
    assert render_messages(task, samples["b"])[0].text == "Be brief."
    doc["system_prompt"] = "Answer in {lang}."
    (tmp_path / "sys.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(TaskError, match="system_prompt"):
        load_task(tmp_path / "sys.yaml")


def test_cvqa_submission_file_in_both_protocols(reference_run, tmp_path, fixture_tasks):
    run, _, records, _ = reference_run
    lines = (run / "cvqa_predictions.csv").read_text(encoding="utf-8").splitlines()
    cvqa = [r for r in records if r["task"] == "cvqa"]
    assert lines == [f"{r['id']},{'' if r['reference'].get('pred') is None else r['reference']['pred']}"
                     for r in cvqa]
    assert any(line.endswith(",") for line in lines)  # a guessed answer: no index written
    write_predictions(fixture_tasks, ["cvqa"], tmp_path / "preds.jsonl")
    done = mella("run", "--predictions", str(tmp_path / "preds.jsonl"), "--tasks",
                 str(fixture_tasks / "cvqa.yaml"), "--include-path", str(fixture_tasks), "--langs",
                 "task", "--output-dir", str(tmp_path), "--run-name", "m")
    assert done.returncode == 0
    rows = [line.split(",") for line in (tmp_path / "m" / "cvqa_predictions.csv").read_text().splitlines()]
    assert len(rows) == len(cvqa) and all(pred in ("", "0", "1", "2", "3") for _, pred in rows)


def test_shards_of_a_reference_run_merge_to_the_whole_run(fixture_tasks, tmp_path):
    names = ["cvqa", "maxm"]
    write_predictions(fixture_tasks, names, tmp_path / "preds.jsonl")
    common = ["--predictions", str(tmp_path / "preds.jsonl"), "--langs", "task",
              "--tasks", ",".join(str(fixture_tasks / f"{n}.yaml") for n in names),
              "--include-path", str(fixture_tasks), "--protocol", "reference", "--output-dir", str(tmp_path)]
    assert mella("run", *common, "--run-name", "whole").returncode == 0
    for i in (0, 1):
        done = mella("run", *common, "--shard", f"{i}/2", "--run-name", f"s{i}")
        assert done.returncode == 0, done.stderr[-2000:]
    merged = mella("merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "-o", str(tmp_path / "merged"))
    assert merged.returncode == 0, merged.stderr[-2000:]
    whole, joined = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("whole", "merged"))
    assert whole["scores"] == joined["scores"] and joined["tasks"]["cvqa"]["protocol"] == "reference"
    lines = [sorted((tmp_path / d / "cvqa_predictions.csv").read_text().splitlines())
             for d in ("whole", "merged")]
    assert lines[0] == lines[1] and lines[0]


def test_source_rows_leave_images_out(reference_run):
    _, _, records, _ = reference_run
    m3exam = [r for r in records if r["task"] == "m3exam"]
    assert m3exam and all(len(json.dumps(r["source_row"])) < 2000 for r in m3exam)
    assert all("image_0" not in r["source_row"] for r in m3exam)  # base64 JPEG text
    assert all("image" not in r["source_row"] for r in records if r["task"] == "cvqa")
