"""Rubric rules are applied, not trusted (issue 18, first bullet): a label the rubric defines from
the scores is derived from them, and a reply whose own label contradicts its scores is counted as
inconsistent per task and language in results' judge section."""

import json
from pathlib import Path

import pytest

from fault_server import FaultServer, per_prompt, reply_json
from mella_eval.cli import main
from mella_eval.errors import TaskError
from mella_eval.rubric import load_rubric

CONSISTENT = {"rationale": "names the dish", "thickness": 4, "faithfulness": 3, "fluency": 5, "label": "thick"}
# What the tiny demo judge did: thickness 3 with "thick", though thick needs thickness >= 4.
CONTRADICTORY = {"rationale": "generic", "thickness": 3, "faithfulness": 5, "fluency": 5, "label": "thick"}


@pytest.fixture(scope="module")
def rubric():
    return load_rubric("thick_description")


@pytest.mark.parametrize("reply, label, consistent", [
    (CONSISTENT, "thick", True),
    (CONTRADICTORY, "thin", False),
    ({**CONSISTENT, "faithfulness": 2}, "thin", False),  # the second condition
    ({**CONTRADICTORY, "label": "thin"}, "thin", True),
    ({**CONSISTENT, "thickness": 5, "label": "thin"}, "thick", False),  # a too-modest label too
])
def test_the_label_follows_from_the_scores(rubric, reply, label, consistent):
    verdict = rubric.parse(json.dumps(reply))
    assert verdict.status == "ok"
    assert verdict.label == label and verdict.reply_label == reply["label"]
    assert verdict.consistent is consistent
    assert verdict.scores["thickness"] == reply["thickness"]  # the scores are kept as given


def test_rubrics_without_rules_take_the_label_as_given(tmp_path):
    text = Path(load_rubric("thick_description").file).read_text(encoding="utf-8")
    start = text.index("label_rules:")
    end = text.index("\nsystem:")
    path = tmp_path / "r.yaml"
    path.write_text(text[:start] + text[end + 1:], encoding="utf-8")
    verdict = load_rubric(str(path)).parse(json.dumps(CONTRADICTORY))
    assert verdict.label == "thick" and verdict.consistent is None


@pytest.mark.parametrize("rules, problem", [
    ("label_rules:\n  - label: thick\n    when: {thickness: {min: 4}}\n", "the default"),
    ("label_rules:\n  - label: great\n", "label_rules[0]"),
    ("label_rules:\n  - label: thick\n    when: {colour: {min: 1}}\n  - label: thin\n", "label_rules[0].when.colour"),
    ("label_rules:\n  - label: thick\n    when: {thickness: {min: '4'}}\n  - label: thin\n", "integer min"),
    ("label_rules:\n  - label: thin\n  - label: thick\n", "the default"),
])
def test_bad_label_rules_are_one_line_errors(tmp_path, rules, problem):
    text = Path(load_rubric("thick_description").file).read_text(encoding="utf-8")
    start = text.index("label_rules:")
    end = text.index("\nsystem:")
    path = tmp_path / "r.yaml"
    path.write_text(text[:start] + rules + text[end:], encoding="utf-8")
    with pytest.raises(TaskError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        load_rubric(str(path))


def test_contradictory_replies_are_derived_and_counted_per_language(tmp_path, sample_dir):
    rows = [json.loads(l) for l in (sample_dir / "samples.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r["lang"] in ("ru", "th")]
    preds = tmp_path / "p.jsonl"
    with preds.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({"task": "culture", "lang": r["lang"], "id": r["id"],
                                 "prediction": r["alt_text"]}, ensure_ascii=False) + "\n")
    # A judge that contradicts itself on every Thai answer and is consistent on Russian ones.
    script = per_prompt({"written in Thai": reply_json(CONTRADICTORY)}, default=reply_json(CONSISTENT))
    with FaultServer(script) as server:
        code = main(["run", "--predictions", str(preds), "--tasks", "culture", "--langs", "ru,th",
                     "--judge-model", server.model, "--judge-base-url", server.base_url,
                     "--output-dir", str(tmp_path), "--run-name", "r",
                     "--cache-dir", str(tmp_path / "cache"), "--max-retries", "1"])
    assert code == 0
    results = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    counts = {c["lang"]: c for c in results["judge"]["counts"]}
    n_th = sum(r["lang"] == "th" for r in rows)
    n_ru = len(rows) - n_th
    assert counts["th"]["inconsistent"] == n_th and counts["th"]["consistency_checked"] == n_th
    assert counts["th"]["inconsistent_rate"] == 1.0
    assert counts["ru"]["inconsistent"] == 0 and counts["ru"]["consistency_checked"] == n_ru
    assert counts["ru"]["inconsistent_rate"] == 0.0
    scores = {(s["lang"], s["metric"]): s["value"] for s in results["scores"]}
    assert scores[("th", "thick_rate")] == 0.0  # derived from thickness 3, not the reply's "thick"
    assert scores[("ru", "thick_rate")] == 1.0
    assert scores[("th", "judge_thickness")] == 3.0
    records = [json.loads(l) for l in (tmp_path / "r" / "samples.jsonl").open(encoding="utf-8")]
    th = next(r for r in records if r["lang"] == "th")
    assert th["judge"]["label"] == "thin" and th["judge"]["reply_label"] == "thick"
    assert th["judge"]["consistent"] is False and th["metrics"]["thick_rate"] == 0.0
