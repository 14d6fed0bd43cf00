"""The reference protocol's judges (mella_eval/protocols/reference_judges.py) against the reference
code's own outputs (tests/data/pangea_reference/judges.json: Pangea's llava-bench `parse_score`,
`llava_aggregation` and `llava_process_results` prompt; prometheus-eval's parser on Pangea's
real xChat judge replies and its ABSOLUTE_PROMPT), and end to end through a judge server."""

import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace


sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_server import FaultServer, reply  # noqa: E402
from test_pangeabench import fixture_tasks  # noqa: E402,F401  (the PangeaBench fixtures)

from mella_eval.cli import main  # noqa: E402
from mella_eval.protocols import reference_judges as rj  # noqa: E402
from mella_eval.rubric import load_rubric  # noqa: E402

GOLDEN = json.loads((Path(__file__).parent / "data" / "pangea_reference" / "judges.json")
                    .read_text(encoding="utf-8"))


def test_llava_reply_reading_equals_parse_score():
    for case in GOLDEN["llava_replies"]:
        verdict = load_rubric("reference:m_llava_bench").parse(case["reply"])
        got = [verdict.scores["reference_score"], verdict.scores["candidate_score"]]
        if all(math.isfinite(x) for x in case["scores"]):
            assert got == case["scores"], case["reply"]
        else:  # "nan 3": the reference keeps NaN; we read it as unreadable, [-1, -1]
            assert got == [-1.0, -1.0]
        assert verdict.status == "ok"  # never a parse error: the reference scores -1 instead
    assert sum(c["scores"] == [-1, -1] for c in GOLDEN["llava_replies"]) >= 10


def test_llava_relative_scores_equal_llava_aggregation():
    for case in GOLDEN["llava_aggregation"]:
        records = [{"source_row": {"category": category},
                    "judge": {"status": "ok", "scores": {"reference_score": ref, "candidate_score": cand}}}
                   for category, (ref, cand) in case["rows"]]
        records.append({"source_row": {"category": "conv"}, "judge": {"status": "error", "scores": {}}})
        got = rj.llava_relative_scores(records, "ar")
        for category, expected in case["expected"].items():
            value = got[f"gpt_eval_llava_{category}"]
            if expected is None:  # the reference's None: an empty category (or a 0 mean)
                assert value is None or isinstance(value, str)
            else:
                assert value == expected, (category, case)


def test_llava_prompt_is_the_references_byte_for_byte():
    judge = load_rubric("reference:m_llava_bench")
    for case in GOLDEN["llava_prompts"]:
        assert rj.llava_content(case["row"], case["candidate"]) == case["content"]
        sample = SimpleNamespace(id="x", lang="ar", extra={"source_row": case["row"]}, images=())
        system, user = judge.render(case["candidate"], sample)
        assert system.parts[0].text == rj.LLAVA_SYSTEM
        assert [p.text for p in user.parts] == [case["content"]]  # text only, no image


def test_prometheus_score_reading_equals_prometheus_eval():
    judge = load_rubric("reference:xchatbench")
    real = GOLDEN["xchat_replies"]
    assert len(real) >= 300 and sum(c["score"] is None for c in real) >= 10
    for case in real:
        verdict = judge.parse(case["reply"])
        if case["score"] is None:
            assert verdict.status == "parse_error"
        else:
            assert verdict.status == "ok" and verdict.scores == {"score": case["score"]}


def test_prometheus_prompt_is_prometheus_evals_absolute_prompt():
    judge = load_rubric("reference:xchatbench")
    assert judge.system == GOLDEN["xchat_system"]
    for case in GOLDEN["xchat_prompts"]:
        assert rj.prometheus_content(case["row"], case["candidate"]) == case["content"]


def llava_reply(request) -> object:
    text = request.text
    if "unreadable" in text:
        return reply("The first answer is better.\n8 3")  # not two numbers on line one
    return reply("8 6\nAssistant 1 is more detailed.")


def prometheus_reply(request) -> object:
    if "no-score-first" in request.text and request.index < 100 and not prometheus_reply.retried:
        prometheus_reply.retried = True
        return reply("Good response without a verdict.")
    return reply("Feedback: the response covers the rubric. [RESULT] 4")


prometheus_reply.retried = False


def reference_judged_run(fixture_tasks, tmp_path, name, predictions, script):
    from mella_eval.data import load_samples
    from mella_eval.protocols.variant import apply_protocol
    from mella_eval.tasks import TaskRegistry

    task = apply_protocol(TaskRegistry([fixture_tasks]).resolve(str(fixture_tasks / f"{name}.yaml")),
                          "reference")[0]
    samples = load_samples(task, task.langs)
    lines = [json.dumps({"task": name, "lang": s.lang, "id": s.id, "prediction": predictions(i, s)},
                        ensure_ascii=False) for i, s in enumerate(samples)]
    (tmp_path / "p.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with FaultServer(script=script) as server:
        code = main(["run", "--predictions", str(tmp_path / "p.jsonl"), "--tasks",
                     str(fixture_tasks / f"{name}.yaml"), "--include-path", str(fixture_tasks),
                     "--langs", "task", "--no-cache", "--protocol", "reference",
                     "--judge-model", server.model, "--judge-base-url", server.base_url,
                     "--output-dir", str(tmp_path), "--run-name", "r"])
        received = list(server.requests)
    assert code == 0
    run = tmp_path / "r"
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    records = [json.loads(line) for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    return results, records, received


def test_m_llava_bench_reference_run(fixture_tasks, tmp_path):
    def prediction(i, sample):
        if i == 0:
            return "The cup holds espresso with golden crema on a red saucer."  # English, not Arabic
        if i == 1:
            return "unreadable"
        return sample.extra["source_row"]["gpt_answer"]

    results, records, received = reference_judged_run(fixture_tasks, tmp_path, "m_llava_bench",
                                                      prediction, llava_reply)
    assert len(received) == len(records)  # one ask each: no swap, no repeats
    contents = {rj.llava_content(r["source_row"], r["prediction"]) for r in records}
    for request in received:
        assert [m["role"] for m in request.messages] == ["system", "user"]
        assert request.text == rj.LLAVA_SYSTEM + "\n" + request.text.split("\n", 1)[1]
        assert request.text.split("\n", 1)[1] in contents  # the reference's user message
        assert request.image_urls == [] and request.body["temperature"] == 0.2
    by_id = {(r["lang"], r["id"]): r for r in records}
    first = records[0]
    assert first["wrong_language"] and first["judge"]["scores"]["candidate_score"] == 0.0
    unreadable = [r for r in records if r["prediction"] == "unreadable"][0]
    assert unreadable["judge"]["scores"] == {"reference_score": -1.0, "candidate_score": -1.0}
    rows = {(s["lang"], s["metric"]): s for s in results["scores"] if s["task"] == "m_llava_bench"}
    for lang in {r["lang"] for r in records}:
        mine = [r for r in by_id.values() if r["lang"] == lang]
        expected = rj.llava_relative_scores(mine, lang)
        for category in ("all", "conv", "detail", "complex"):
            value = expected[f"gpt_eval_llava_{category}"]
            if value is None:  # a category this split lacks: no row, as the reference's None
                assert (lang, f"ref_llava_{category}") not in rows
            else:
                assert rows[(lang, f"ref_llava_{category}")]["value"] == value
    assert results["tasks"]["m_llava_bench"]["protocol"] == "reference"


def test_xchatbench_reference_run_reasks_a_reply_without_a_score(fixture_tasks, tmp_path):
    prometheus_reply.retried = False
    results, records, received = reference_judged_run(
        fixture_tasks, tmp_path, "xchatbench",
        lambda i, s: "no-score-first answer" if i == 0 else "An answer.", prometheus_reply)
    assert len(received) == len(records) + 1  # the reply without a score was asked again
    assert all(r.text.startswith(rj.PROMETHEUS_SYSTEM + "\n###Task Description:") for r in received)
    assert all(r.body["temperature"] == 1.0 and r.body["top_p"] == 0.9 for r in received)
    assert all(r["judge"]["status"] == "ok" and r["metrics"]["ref_xchat_score"] == 4.0 for r in records)
    # The model was prompted as Pangea's xchat prompts: system prompt and input in one user turn.
    row = records[0]["source_row"]
    assert records[0]["prompt"] == f"{row['system_prompt']}\n\n{row['input']}"
    assert "system_prompt" not in records[0]
    scores = [s for s in results["scores"] if s["metric"] == "ref_xchat_score"]
    assert scores and all(s["value"] == 4.0 for s in scores)


def test_no_judge_under_the_reference_protocol_says_what_is_left(fixture_tasks, tmp_path):
    """--no-judge drops the reference judge's scores and the relative scores made of them."""
    from mella_eval.evaluator import without_judge
    from mella_eval.errors import MellaError
    from mella_eval.protocols.variant import apply_protocol
    from mella_eval.tasks import TaskRegistry

    for name in ("m_llava_bench", "xchatbench"):
        task = apply_protocol(TaskRegistry([fixture_tasks]).resolve(str(fixture_tasks / f"{name}.yaml")),
                              "reference")[0]
        try:
            without_judge(task)
        except MellaError as exc:
            assert "--no-judge leaves no metric" in str(exc)
        else:
            raise AssertionError(f"{name}: --no-judge kept metrics that need the judge")
