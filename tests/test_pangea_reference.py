"""Parity of mella_eval.protocols (the PangeaBench reference protocol) with the reference code.

The golden files in tests/data/pangea_reference/ hold what neulab/Pangea's own utils.py (commit
ecc4403) returns on the fixture rows of tasks/data/pangeabench/ and many predictions (see that
folder's README). Where the reference draws a random option, the golden value is the mean of
the reference's score over every possible draw: the expected value our 1/k rule credits.
"""

import json
from pathlib import Path

import pytest

from mella_eval.errors import MellaError
from mella_eval.protocols import REFERENCE_TASKS, reference_task
from mella_eval.protocols import reference_choice, reference_short

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "pangea_reference"
FIXTURES = ROOT / "tasks" / "data" / "pangeabench"
TOL = 1e-6


def golden(task):
    return json.loads((GOLDEN / f"{task}.json").read_text(encoding="utf-8"))


def fixture_rows(task):
    lines = (FIXTURES / task / "data.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def rows_by(task, key):
    rows = fixture_rows(task)
    return {str(row[key]): row for row in rows} if key else {str(i): row for i, row in enumerate(rows)}


def check_samples(task, key, metrics, lang_of=lambda row: row.get("_split", "")):
    data, rows = golden(task), rows_by(task, key)
    spec = reference_task(task)
    mismatches, scored = [], []
    for expected in data["samples"]:
        row = rows[str(expected["row"])]
        got = spec.score(row, expected["prediction"], lang_of(row))
        scored.append((expected, got))
        if got["guessed"] != expected["guessed"]:
            mismatches.append((expected["row"], expected["prediction"], "guessed", got["guessed"]))
        for name, ref_name in metrics.items():
            if abs(got["metrics"][name] - expected[ref_name]) > TOL:
                mismatches.append((expected["row"], expected["prediction"], name,
                                   got["metrics"][name], expected[ref_name]))
    assert not mismatches, mismatches[:10]
    assert len(scored) > 100
    return data, scored


@pytest.mark.parametrize("task,key", [("cvqa", "ID"), ("m3exam", None), ("xmmmu", "id"),
                                      ("xgqa", None), ("marvl", None), ("maxm", None)])
def test_prompts_are_the_reference_text(task, key):
    data, rows = golden(task), rows_by(task, key)
    spec = reference_task(task)
    for name, expected in data["prompts"].items():
        index, _, lang = name.partition(":")
        row = rows[index]
        assert spec.prompt(row, lang or row.get("_split", "")) == expected, name


def test_cvqa_per_sample_and_aggregate():
    data, scored = check_samples("cvqa", "ID", {"accuracy": "accuracy"})
    for expected, got in scored:
        assert got["details"]["pred"] == expected["pred"]
    totals = reference_task("cvqa").aggregate([got for _, got in scored])
    mean = sum(e["accuracy"] for e, _ in scored) / len(scored)
    assert abs(totals["accuracy"] - mean) < TOL
    assert totals["guessed"] == sum(e["guessed"] for e, _ in scored) > 0


def test_cvqa_unlabelled_rows_are_not_scored():
    row = dict(fixture_rows("cvqa")[0], Label=-1)
    got = reference_task("cvqa").score(row, "B", "")
    assert got["metrics"] == {} and got["details"]["pred"] == 1
    assert reference_task("cvqa").aggregate([got])["n"] == 0


def test_m3exam_per_sample_and_aggregate():
    data, scored = check_samples("m3exam", None, {"accuracy": "accuracy"})
    deterministic = [got for expected, got in scored if not expected["guessed"]]
    totals = reference_task("m3exam").aggregate(deterministic)
    assert abs(totals["accuracy"] - data["aggregate_deterministic"]) < TOL
    everything = reference_task("m3exam").aggregate([got for _, got in scored])
    assert abs(everything["accuracy"] - sum(e["accuracy"] for e, _ in scored) / len(scored)) < TOL
    for answer, expected in data["standardize_answer"].items():
        assert reference_choice.standardize_answer(answer) == expected, answer


def test_m3exam_generation_per_language():
    spec = reference_task("m3exam")
    assert spec.generation("zh")["max_new_tokens"] == 32
    assert spec.generation("th")["max_new_tokens"] == 16


def test_xmmmu_per_sample_and_aggregate():
    data, scored = check_samples("xmmmu", "id", {"accuracy": "accuracy"})
    spec = reference_task("xmmmu")
    deterministic = [got for expected, got in scored if not expected["guessed"]]
    assert abs(spec.aggregate(deterministic)["accuracy"] - data["aggregate_deterministic"]) < TOL
    for chosen in data["aggregate_sets"]:
        batch = [got for expected, got in scored if expected["prediction"] == chosen["prediction"]]
        assert abs(spec.aggregate(batch)["accuracy"] - chosen["accuracy"]) < TOL
    guessed = [(e, g) for e, g in scored if e["guessed"]]
    assert guessed and all(0 < g["metrics"]["accuracy"] < 1 or e["accuracy"] == 0
                           for e, g in guessed)


def test_xgqa_and_marvl_per_sample():
    check_samples("xgqa", None, {"exact_match": "exact_match"})
    check_samples("marvl", None, {"exact_match": "exact_match"})


def test_maxm_per_sample_and_aggregate():
    data, _ = check_samples("maxm", None, {"exact_match": "exact_match",
                                            "relaxed_accuracy": "relaxed_accuracy"})
    rows = fixture_rows("maxm")
    spec = reference_task("maxm")
    for chosen in data["aggregate_sets"]:
        preds = [row["answers"][0] if chosen["answer_on_odd"] else chosen["prediction"]
                 for row in rows]
        totals = spec.aggregate([spec.score(r, p, r["_split"]) for r, p in zip(rows, preds)])
        assert abs(totals["exact_match"] - chosen["exact_match"]) < TOL
        assert abs(totals["relaxed_accuracy"] - chosen["relaxed_accuracy"]) < TOL


def test_maxm_relaxed_folds_the_prediction_not_the_answers():
    # The reference cleans (and lower-cases) the prediction, but compares with the stripped answers.
    assert reference_short.maxm_relaxed("Red.", ["red"])
    assert not reference_short.maxm_relaxed("Red", ["Red"])  # gold answers keep their case


def test_letter_parser_quirks():
    assert reference_choice.parse_letter("Answer: B", ["x", "y", "z", "w"]) == "A"
    assert reference_choice.parse_letter("The answer is (B).", ["x", "y", "z", "w"]) == "B"
    assert reference_choice.parse_letter("xyz", ["pqr", "stu", "vw", "o"]) is None


def test_unknown_task_and_bad_rows_are_clear_errors():
    with pytest.raises(MellaError, match="no reference protocol for task 'nope'"):
        reference_task("nope")
    with pytest.raises(MellaError, match="field 'language'"):
        reference_task("m3exam").prompt({"language": "klingon"}, "")
    with pytest.raises(MellaError, match="neither 'true' nor 'false'"):
        reference_task("marvl").score({"id": "x", "conversations": [{"value": "q"},
                                                                     {"value": "maybe"}]}, "", "")
    assert set(REFERENCE_TASKS) >= {"cvqa", "cvqa_en", "m3exam", "xmmmu", "xgqa", "marvl", "maxm"}
