"""Question-answering task features: prompt placeholders, several and interleaved images,
per-language datasets, QA metrics, breakdowns, groups and `--langs task` — through real runs."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from fault_server import FaultServer, reply
from mella_eval.build import build_requests
from mella_eval.cli import main
from mella_eval.data import load_samples
from mella_eval.messages import ImagePart, TextPart
from mella_eval.task_registry import TaskRegistry
from mella_eval.tasks import load_task

REPO = Path(__file__).resolve().parent.parent
IMAGES = REPO / "tasks" / "data" / "mella_sample" / "images"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def qa_dir(tmp_path) -> Path:
    """A folder with three small tasks over local data in several languages."""
    (tmp_path / "img").mkdir()
    for name in ("chelsea", "coffee", "rocket", "astronaut"):
        shutil.copy(IMAGES / f"{name}.jpg", tmp_path / "img" / f"{name}.jpg")
    write_jsonl(tmp_path / "pairs.jsonl", [
        {"uid": "p1", "language": "id", "images": ["img/chelsea.jpg", "img/coffee.jpg"],
         "statement": "Gambar kiri menunjukkan seekor kucing.", "label": True},
        {"uid": "p2", "language": "id", "images": ["img/rocket.jpg", "img/coffee.jpg"],
         "statement": "Kedua gambar menunjukkan minuman.", "label": False},
        {"uid": "p3", "language": "tr", "images": ["img/astronaut.jpg", "img/rocket.jpg"],
         "statement": "Sağdaki resimde bir roket var.", "label": True},
    ])
    (tmp_path / "pairs.yaml").write_text(yaml.safe_dump({
        "name": "pairs", "version": 1, "description": "true/false about two images",
        "dataset": {"path": "pairs.jsonl"},
        "fields": {"id": "uid", "lang": "language", "image": "images", "question": "statement",
                   "answer": "label"},
        "langs": ["id", "tr"],
        "prompts": {"default": "{question}\nIs the statement true? Answer yes or no."},
        "answer_format": "bool", "metrics": ["yes_no_accuracy", "extract_fail_rate"],
    }, allow_unicode=True), encoding="utf-8")
    write_jsonl(tmp_path / "exam.jsonl", [
        {"id": "e1", "lang": "vi", "country": "VN", "image": ["img/chelsea.jpg", "img/coffee.jpg"],
         "question": "Nhìn <image 1> và <image 2>. Ảnh nào có con mèo?",
         "options": ["Ảnh thứ nhất", "Ảnh thứ hai", "Cả hai", "Không ảnh nào"], "answer": "A"},
        {"id": "e2", "lang": "vi", "country": "VN", "image": ["img/rocket.jpg"],
         "question": "<image 1> Đây là gì?", "options": ["Tên lửa", "Con mèo", "Tách cà phê", "Máy ảnh"],
         "answer": "A"},
        {"id": "e3", "lang": "th", "country": "TH", "image": ["img/coffee.jpg"],
         "question": "<image 1> ในภาพคืออะไร", "options": ["แมว", "กาแฟ", "จรวด", "นักบินอวกาศ"],
         "answer": "B"},
    ])
    (tmp_path / "exam.yaml").write_text(yaml.safe_dump({
        "name": "exam", "version": 1, "description": "multiple choice with interleaved images",
        "dataset": {"path": "exam.jsonl"},
        "fields": {"question": "question", "options": "options", "answer": "answer", "country": "country"},
        "langs": ["vi", "th"],
        "prompts": {"default": "{question}\n{options}\nAnswer with the option's letter."},
        "image_marker": "<image (\\d+)>", "breakdown": "country",
        "metrics": ["mc_accuracy", "extract_fail_rate"],
    }, allow_unicode=True), encoding="utf-8")
    for lang, rows in {"ru": [("c1", "chelsea", "кошка", ["кошка", "кот"])],
                       "zh": [("c1", "chelsea", "猫", ["一只猫", "猫"]), ("c2", "coffee", "咖啡", ["咖啡"])]}.items():
        write_jsonl(tmp_path / f"short-{lang}.jsonl", [
            {"qid": qid, "image": f"img/{img}.jpg", "q": q, "answers": answers,
             "captions": [f"{answers[0]}。", f"一张{answers[0]}的照片"]} for qid, img, q, answers in rows])
    (tmp_path / "short.yaml").write_text(yaml.safe_dump({
        "name": "short", "version": 1, "description": "short answers, one file per language",
        "dataset": {"path": "short-{lang}.jsonl"},
        "fields": {"id": "qid", "question": "q", "answers": "answers", "references": "captions"},
        "langs": ["ru", "zh"], "prompts": {"default": "{question}"},
        "metrics": ["exact_match", "relaxed_accuracy", "cider", "bleu"],
    }, allow_unicode=True), encoding="utf-8")
    (tmp_path / "groups").mkdir()
    (tmp_path / "groups" / "qa.yaml").write_text("group: qa\ntasks: [pairs, exam, short]\n")
    return tmp_path


def run_predictions(qa_dir: Path, out: Path, predictions: dict, *extra) -> dict:
    preds = out / "preds.jsonl"
    write_jsonl(preds, [{"task": t, "lang": lang, "id": i, "prediction": p}
                        for (t, lang, i), p in predictions.items()])
    code = main(["run", "--predictions", str(preds), "--tasks", "qa", "--include-path", str(qa_dir),
                 "--langs", "task", "--output-dir", str(out), "--run-name", "r", *extra])
    assert code == 0
    results = json.loads((out / "r" / "results.json").read_text(encoding="utf-8"))
    results["records"] = {(r["task"], r["id"]): r for r in
                          map(json.loads, (out / "r" / "samples.jsonl").open(encoding="utf-8"))}
    return results


def score(results, task, lang, metric):
    return next(s["value"] for s in results["scores"]
                if (s["task"], s["lang"], s["metric"]) == (task, lang, metric))


def test_interleaved_images_and_options_in_the_message(qa_dir):
    task = load_task(qa_dir / "exam.yaml")
    samples = load_samples(task, ["vi"])
    request = next(r for r in build_requests(task, samples) if r.sample_id == "e1")
    parts = request.messages[0].parts
    kinds = ["ImagePart" if isinstance(p, ImagePart) else type(p).__name__ for p in parts]  # lazy parts too
    assert kinds == ["TextPart", "ImagePart", "TextPart", "ImagePart", "TextPart"]
    assert parts[0].text == "Nhìn " and parts[2].text == " và "
    assert isinstance(parts[1], ImagePart) and parts[1] == samples[0].images[0]
    assert "A. Ảnh thứ nhất\nB. Ảnh thứ hai" in parts[4].text
    assert all(not isinstance(p, TextPart) or "<image" not in p.text for p in parts)


def test_qa_metrics_breakdown_groups_and_every_task_language(qa_dir, tmp_path):
    results = run_predictions(qa_dir, tmp_path, {
        ("pairs", "id", "p1"): "Ya, benar.",  # yes: right
        ("pairs", "id", "p2"): "Yes",         # wrong
        ("pairs", "tr", "p3"): "Hmm, maybe",  # unreadable: wrong and an extraction failure
        ("exam", "vi", "e1"): "Đáp án: A",
        ("exam", "vi", "e2"): "Con mèo",      # the text of option B: wrong
        ("exam", "th", "e3"): "B",
        ("short", "ru", "c1"): "Это кошка",
        ("short", "zh", "c1"): "猫",
        ("short", "zh", "c2"): "我觉得是茶",
    })
    assert results["run"]["tasks"] == ["pairs", "exam", "short"]
    assert results["run"]["langs"] == ["id", "tr", "vi", "th", "ru", "zh"]
    assert score(results, "pairs", "id", "yes_no_accuracy") == 0.5
    assert score(results, "pairs", "tr", "yes_no_accuracy") == 0.0
    assert score(results, "pairs", "tr", "extract_fail_rate") == 1.0
    assert score(results, "exam", "vi", "mc_accuracy") == 0.5
    assert results["records"][("exam", "e2")]["extracted"]["method"] == "option_text"
    assert score(results, "exam", "th", "mc_accuracy") == 1.0
    assert score(results, "short", "ru", "exact_match") == 0.0
    assert score(results, "short", "ru", "relaxed_accuracy") == 1.0
    assert score(results, "short", "zh", "exact_match") == 0.5
    assert score(results, "short", "zh", "cider") >= 0
    bleu = next(s for s in results["scores"] if s["task"] == "short" and s["lang"] == "zh" and s["metric"] == "bleu")
    assert "tok:zh" in bleu["signature"]
    by_country = {(b["country"], b["metric"]): b for b in results["breakdowns"]}
    assert by_country[("VN", "mc_accuracy")]["value"] == 0.5 and by_country[("TH", "mc_accuracy")]["n"] == 1
    record = results["records"][("exam", "e1")]
    assert record["options"][0] == "Ảnh thứ nhất" and record["country"] == "VN"
    assert "A. Ảnh thứ nhất" in record["prompt"]


def test_two_images_reach_an_openai_compatible_server(qa_dir, tmp_path):
    with FaultServer(default=reply("Yes")) as server:
        code = main(["run", "--backend", "openai", "--base-url", server.base_url, "--model", server.model,
                     "--tasks", str(qa_dir / "pairs.yaml"), "--langs", "task", "--no-cache",
                     "--output-dir", str(tmp_path), "--run-name", "o"])
        assert code == 0
        assert len(server.requests) == 3
        assert all(len(r.image_urls) == 2 for r in server.requests)


def test_unknown_group_member_and_bad_task_keys_are_clear(qa_dir, tmp_path):
    from mella_eval.errors import MellaError, TaskError

    (qa_dir / "groups" / "broken.yaml").write_text("group: broken\ntasks: [pairs, nope]\n")
    with pytest.raises(MellaError, match="unknown task 'nope'"):
        TaskRegistry([qa_dir]).resolve("broken")
    doc = yaml.safe_load((qa_dir / "exam.yaml").read_text(encoding="utf-8"))
    for key, value, message in [("answer_format", "number", "expected one of letter"),
                                ("image_marker", "<image>", "exactly one group"),
                                ("breakdown", "continent", "expected a mapped field"),
                                ("prompts", {"default": "{question} {choices}"}, "bad placeholder"),
                                ("langs", ["vi", "xx"], "unknown language code 'xx'")]:
        bad = qa_dir / "bad.yaml"
        bad.write_text(yaml.safe_dump({**doc, key: value}, allow_unicode=True), encoding="utf-8")
        with pytest.raises(TaskError, match=message):
            load_task(bad)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["hf", "vllm"])
def test_several_images_through_local_backends(qa_dir, tmp_path, tiny_vlm, backend):
    code = main(["run", "--model", str(tiny_vlm), "--backend", backend, "--max-model-len", "1024",
                 "--tasks", "qa", "--include-path", str(qa_dir), "--langs", "task", "--no-cache",
                 "--max-new-tokens", "8", "--output-dir", str(tmp_path), "--run-name", backend])
    assert code == 0
    records = [json.loads(l) for l in (tmp_path / backend / "samples.jsonl").open(encoding="utf-8")]
    assert len(records) == 9 and all(r["status"] == "ok" and r["prediction"] for r in records)
    assert all(len(r["image_sha256"]) == 2 for r in records if r["task"] == "pairs")
