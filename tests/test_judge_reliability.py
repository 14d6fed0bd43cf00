"""Judges that can be trusted (issue 18): repeat agreement, both orders of pairwise rubrics, panels.

Scripted judge servers on loopback (tests/fault_server.py) stand for judges that are consistent,
random (their verdict depends on the sampling seed), self-contradictory, or position-biased;
every figure they lead to is pinned."""

import json
import sys
from pathlib import Path

import pytest

from fault_server import FaultServer, reply_json
from mella_eval import cli
from mella_eval.errors import TaskError
from mella_eval.judge_panel import load_panel

sys.path.insert(0, str(Path(__file__).parent))
from test_pangeabench import fixture_tasks, samples_of  # noqa: E402,F401  (the PangeaBench fixtures)


@pytest.fixture(scope="module")
def ru_rows(sample_dir):
    rows = [json.loads(l) for l in (sample_dir / "samples.jsonl").open(encoding="utf-8")]
    return [r for r in rows if r["lang"] == "ru"]


def culture_predictions(path, rows):
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({"task": "culture", "lang": r["lang"], "id": r["id"],
                                 "prediction": r["alt_text"]}, ensure_ascii=False) + "\n")
    return path


def run_culture(tmp_path, preds, judge_args, *extra, name="r"):
    code = cli.main(["run", "--predictions", str(preds), "--tasks", "culture", "--langs", "ru",
                     *judge_args, "--output-dir", str(tmp_path), "--run-name", name,
                     "--cache-dir", str(tmp_path / "cache"), "--max-retries", "0", *extra])
    results = json.loads((tmp_path / name / "results.json").read_text(encoding="utf-8"))
    records = [json.loads(l) for l in (tmp_path / name / "samples.jsonl").open(encoding="utf-8")]
    return code, results, records


def verdict(thickness, faithfulness=4, label=None):
    label = label or ("thick" if thickness >= 4 and faithfulness >= 3 else "thin")
    return reply_json({"rationale": "r", "thickness": thickness, "faithfulness": faithfulness,
                       "fluency": 5, "label": label})


def by_alt_text(rows, table, default):
    """A judge whose reply depends on which answer it is shown (the alt-text in the prompt)."""
    def choose(request):
        for row, action in zip(rows, table):
            if row["alt_text"] in request.text:
                return action
        return default
    return choose


def test_consistent_judge_repeats_agree_and_are_reused(tmp_path, ru_rows):
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    table = [verdict(t) for t in (1, 2, 3, 4, 5, 4, 3, 2)]  # differs by answer, not by repeat
    with FaultServer(by_alt_text(ru_rows, table, verdict(3))) as server:
        args = ["--judge-model", server.model, "--judge-base-url", server.base_url]
        code, results, records = run_culture(tmp_path, preds, args, "--judge-repeats", "3",
                                             "--judge-temperature", "0.7")
        sent = list(server.requests)
        code2, results2, _ = run_culture(tmp_path, preds, args, "--judge-repeats", "3",
                                         "--judge-temperature", "0.7", name="again")
        assert len(server.requests) == len(sent)  # every repeat came from the store
    assert code == 0 and code2 == 0
    assert len(sent) == 3 * len(ru_rows)
    assert {r.body["temperature"] for r in sent} == {0.7}
    assert sorted({r.body["seed"] for r in sent}) == [0, 1, 2]
    assert results["run"]["execution"]["judge_requests"] == {"reused": 0, "new": 24, "failed": 0}
    assert results2["run"]["execution"]["judge_requests"] == {"reused": 24, "new": 0, "failed": 0}
    figures = results["judge"]["reliability"]["thick_description"]
    assert figures["repeats"] == 3 and figures["judges"] == [""] and figures["swap"] is False
    repeats = figures["overall"]["repeats"][""]
    assert repeats["units"] == 8 and repeats["label_identical"] == 1.0
    assert repeats["alpha"]["thickness"] == 1.0
    assert repeats["alpha"]["faithfulness"] is None  # always 4: no variation to agree on
    assert figures["by_lang"][0]["lang"] == "ru" and figures["by_lang"][0]["answers"] == 8
    record = next(r for r in records if r["id"] == ru_rows[0]["id"])
    assert [a["repeat"] for a in record["judge"]["asks"]] == [0, 1, 2]
    assert all(a["scores"]["thickness"] == 1 and a["raw"] for a in record["judge"]["asks"])
    scores = {s["metric"]: s["value"] for s in results["scores"]}
    assert scores["judge_thickness"] == pytest.approx(3.0)  # (1+2+3+4+5+4+3+2) / 8


def test_random_judge_disagrees_with_itself(tmp_path, ru_rows):
    """A judge whose verdict follows its sampling seed: thickness 1 (thin) or 5 (thick)."""
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    with FaultServer(lambda request: verdict(1 if request.body["seed"] % 2 == 0 else 5)) as server:
        code, results, records = run_culture(
            tmp_path, preds, ["--judge-model", server.model, "--judge-base-url", server.base_url],
            "--judge-repeats", "2", "--judge-temperature", "1.0")
    assert code == 0
    repeats = results["judge"]["reliability"]["thick_description"]["overall"]["repeats"][""]
    # every unit {1, 5}: D_o = 16, D_e = 16 U / (2U - 1), alpha = -(U - 1) / U with U = 8
    assert repeats["alpha"]["thickness"] == pytest.approx(-7 / 8)
    assert repeats["label_identical"] == 0.0
    scores = {s["metric"]: s["value"] for s in results["scores"]}
    assert scores["judge_thickness"] == 3.0  # the mean of the two repeats
    assert scores["thick_rate"] == 0.0  # derived from the mean scores (thickness 3): thin
    assert all(r["judge"]["label"] == "thin" for r in records)


def test_contradictory_repeats_count_as_inconsistent(tmp_path, ru_rows):
    """Thickness 3 labelled thick on the second repeat: that answer is inconsistent."""
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    script = lambda request: verdict(3, label="thick" if request.body["seed"] == 1 else "thin")  # noqa: E731
    with FaultServer(script) as server:
        code, results, records = run_culture(
            tmp_path, preds, ["--judge-model", server.model, "--judge-base-url", server.base_url],
            "--judge-repeats", "2", "--judge-temperature", "0.5")
    counts = results["judge"]["counts"][0]
    assert counts["inconsistent"] == 8 and counts["consistency_checked"] == 8
    repeats = results["judge"]["reliability"]["thick_description"]["overall"]["repeats"][""]
    assert repeats["label_identical"] == 1.0  # the derived labels agree (thin), the replies did not
    assert [a["consistent"] for a in records[0]["judge"]["asks"]] == [True, False]


def test_a_failed_repeat_fails_the_answer_and_is_asked_again(tmp_path, ru_rows):
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    first = ru_rows[0]["alt_text"]
    flaky = {"n": 0}

    def script(request):
        if first in request.text and request.body["seed"] == 1 and flaky["n"] == 0:
            flaky["n"] += 1
            return reply_json({"rationale": "r"})  # missing scores: parse_error
        return verdict(4)
    with FaultServer(script) as server:
        args = ["--judge-model", server.model, "--judge-base-url", server.base_url]
        code, results, records = run_culture(tmp_path, preds, args, "--judge-repeats", "2",
                                             "--judge-temperature", "0.5", "--max-judge-failure-rate", "1")
        record = next(r for r in records if r["id"] == ru_rows[0]["id"])
        assert record["judge"]["status"] == "parse_error"
        assert record["judge"]["reason"].startswith("1 of 2 judgements failed; first order, repeat 2:")
        assert "judge_thickness" not in record["metrics"]
        assert results["judge"]["failed"] == 1
        before = len(server.requests)
        code, results, _ = run_culture(tmp_path, preds, args, "--judge-repeats", "2",
                                       "--judge-temperature", "0.5", name="again")
        assert len(server.requests) - before == 1 and results["judge"]["failed"] == 0


def test_repeats_flag_values_are_checked(tmp_path, ru_rows, capsys):
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    for flag, value in (("--judge-repeats", "0"), ("--judge-temperature", "-1")):
        code = cli.main(["run", "--predictions", str(preds), "--tasks", "culture", "--langs", "ru",
                         "--judge-model", "m", "--judge-base-url", "http://127.0.0.1:9/v1",
                         "--output-dir", str(tmp_path), flag, value])
        assert code == 2 and flag in capsys.readouterr().err


# -- pairwise rubrics: both orders -----------------------------------------------------------

def llava_scores(first_score, second_score):
    """A judge that scores the answer shown first `first_score` and the second `second_score`,
    whatever they are: the position decides (position-biased)."""
    def choose(request):
        reference_first = "Answer 1 (reference)" in request.text
        ref, cand = (first_score, second_score) if reference_first else (second_score, first_score)
        return reply_json({"rationale": "r", "reference_score": ref, "candidate_score": cand})
    return choose


def run_llava(fixture_tasks, tmp_path, script, *extra):
    task, samples = samples_of(fixture_tasks, "m_llava_bench")
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"task": "m_llava_bench", "lang": s.lang, "id": s.id,
                                         "prediction": s.reference_answer}, ensure_ascii=False) + "\n"
                             for s in samples), encoding="utf-8")
    with FaultServer(script) as server:
        code = cli.main(["run", "--predictions", str(preds), "--tasks", str(fixture_tasks / "m_llava_bench.yaml"),
                         "--include-path", str(fixture_tasks), "--langs", "task", "--no-cache",
                         "--judge-model", server.model, "--judge-base-url", server.base_url,
                         "--output-dir", str(tmp_path), "--run-name", "j", *extra])
        texts = [r.text for r in server.requests]
    results = json.loads((tmp_path / "j" / "results.json").read_text(encoding="utf-8"))
    records = [json.loads(l) for l in (tmp_path / "j" / "samples.jsonl").open(encoding="utf-8")]
    return code, results, records, texts, len(samples)


def test_position_biased_judge_is_measured_and_averaged_out(fixture_tasks, tmp_path):
    code, results, records, texts, n = run_llava(fixture_tasks, tmp_path, llava_scores(8, 4))
    assert code == 0 and len(texts) == 2 * n  # both orders of every answer, by default
    assert sum("Answer 1 (candidate" in t for t in texts) == n
    position = results["judge"]["reliability"]["llava_bench"]["overall"]["position"][""]
    assert position == {"pairs": n, "position_bias_rate": 1.0, "order_disagreement_rate": 1.0,
                        "first_position_win_rate": 1.0,
                        "mean_abs_order_gap": {"reference_score": 4.0, "candidate_score": 4.0}}
    # the mean of both orders: 6 and 6, so the relative score is 100, not 50 or 200
    assert {s["value"] for s in results["scores"] if s["metric"] == "llava_relative"} == {100.0}
    assert all(r["judge"]["scores"] == {"reference_score": 6.0, "candidate_score": 6.0} for r in records)
    assert all([a["swapped"] for a in r["judge"]["asks"]] == [False, True] for r in records)


def test_unbiased_judge_has_no_position_bias(fixture_tasks, tmp_path):
    def fair(request):
        return reply_json({"rationale": "r", "reference_score": 8, "candidate_score": 6})
    code, results, _, texts, n = run_llava(fixture_tasks, tmp_path, fair)
    position = results["judge"]["reliability"]["llava_bench"]["overall"]["position"][""]
    assert position["position_bias_rate"] == 0.0 and position["order_disagreement_rate"] == 0.0
    assert position["first_position_win_rate"] == 0.5  # the reference wins, shown first half the time
    assert {s["value"] for s in results["scores"] if s["metric"] == "llava_relative"} == {75.0}


def test_no_judge_swap_asks_one_order(fixture_tasks, tmp_path):
    code, results, records, texts, n = run_llava(fixture_tasks, tmp_path, llava_scores(8, 4), "--no-judge-swap")
    assert code == 0 and len(texts) == n and not any("Answer 1 (candidate" in t for t in texts)
    assert "reliability" not in results["judge"]
    assert {s["value"] for s in results["scores"] if s["metric"] == "llava_relative"} == {50.0}
    assert all("asks" not in r["judge"] for r in records)


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.pop("user_swapped"), "user_swapped"),
    (lambda d: d.update(pairwise=["reference_score", "colour"]), "pairwise"),
    (lambda d: d.update(user_swapped=d["user"]), "another order"),
    (lambda d: d.update(user_swapped="no candidate here {question}"), "must contain {candidate}"),
    (lambda d: d.pop("pairwise"), "pairwise"),
])
def test_bad_pairwise_rubrics_are_one_line_errors(tmp_path, change, problem):
    import yaml

    from mella_eval.rubric import load_rubric
    doc = yaml.safe_load(Path(load_rubric("llava_bench").file).read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TaskError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        load_rubric(str(path))


# -- panels ----------------------------------------------------------------------------------

A_LABELS = "TTTTtttt"
B_LABELS = "TTTttttT"  # agrees with A on 6 of 8; both say thick half the time: kappa 0.5


def panel_file(tmp_path, a, b):
    path = tmp_path / "panel.yaml"
    path.write_text(f"""judges:
  - name: api
    model: {a.model}
    backend: openai
    base_url: {a.base_url}
    api_key_env: API_JUDGE_KEY
  - name: local
    model: {b.model}
    base_url: {b.base_url}
    concurrency: 2
""", encoding="utf-8")
    return path


def test_panel_keeps_each_judge_and_reports_the_mean_and_agreement(tmp_path, ru_rows, monkeypatch):
    monkeypatch.setenv("API_JUDGE_KEY", "sk-api")
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    judge_a = by_alt_text(ru_rows, [verdict(4 if c == "T" else 2) for c in A_LABELS], verdict(3))
    judge_b = by_alt_text(ru_rows, [verdict(5 if c == "T" else 1) for c in B_LABELS], verdict(3))
    with FaultServer(judge_a, model="judge-a") as a, FaultServer(judge_b, model="judge-b") as b:
        code, results, records = run_culture(tmp_path, preds, ["--judge-panel", str(panel_file(tmp_path, a, b))])
        assert len(a.requests) == len(b.requests) == 8
        assert a.requests[0].headers.get("Authorization") == "Bearer sk-api"
    assert code == 0
    judge = results["judge"]
    assert [i["name"] for i in judge["identity"]["panel"]] == ["api", "local"]
    assert [i["model"] for i in judge["identity"]["panel"]] == ["judge-a", "judge-b"]
    figures = judge["reliability"]["thick_description"]
    assert figures["judges"] == ["api", "local"]
    overall = figures["overall"]
    assert overall["judge_means"]["api"]["thickness"] == 3.0  # (4*4 + 4*2) / 8
    assert overall["judge_means"]["local"]["thickness"] == 3.0  # (4*5 + 4*1) / 8
    panel = overall["panel"]
    assert panel["label_kappa"] == {"api|local": 0.5} and panel["label_kappa_mean"] == 0.5
    # interval alpha of thickness over the 8 answers x 2 judges, checked with the krippendorff package
    assert panel["alpha"]["thickness"] == pytest.approx(0.4375, abs=1e-9)
    assert panel["alpha"]["faithfulness"] is None
    first = next(r for r in records if r["id"] == ru_rows[0]["id"])
    assert first["judge"]["by_judge"] == {
        "api": {"status": "ok", "scores": {"thickness": 4.0, "faithfulness": 4.0, "fluency": 5.0}, "label": "thick"},
        "local": {"status": "ok", "scores": {"thickness": 5.0, "faithfulness": 4.0, "fluency": 5.0}, "label": "thick"}}
    assert first["judge"]["scores"]["thickness"] == 4.5 and first["metrics"]["judge_thickness"] == 4.5
    fourth = next(r for r in records if r["id"] == ru_rows[3]["id"])  # api 4 (thick), local 1 (thin)
    assert fourth["judge"]["scores"]["thickness"] == 2.5 and fourth["judge"]["label"] == "thin"
    scores = {s["metric"]: s["value"] for s in results["scores"]}
    assert scores["judge_thickness"] == 3.0
    assert scores["thick_rate"] == pytest.approx(3 / 8)  # the panel mean is >= 4 for three answers


@pytest.mark.parametrize("text, problem", [
    ("judges: []\n", "non-empty list"),
    ("- model: a\n", "one key, judges"),
    ("judges:\n  - {model: a, colour: red}\n", r"judges\[0\].colour"),
    ("judges:\n  - {model: a, backend: openai}\n", "needs a base_url"),
    ("judges:\n  - {model: a, name: x}\n  - {model: b, name: x}\n", "named x"),
    ("judges:\n  - {model: a, concurrency: 0}\n", "positive integer"),
    ("judges:\n  - {name: a}\n", r"judges\[0\].model"),
    ("judges:\n  - {model: a, base_url: 'ftp://x'}\n", "base_url"),
])
def test_bad_panel_files_are_one_line_errors(tmp_path, text, problem):
    path = tmp_path / "panel.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Exception, match=problem) as info:
        load_panel(path)
    assert "\n" not in str(info.value)


def test_panel_and_judge_model_together_is_an_error(tmp_path, ru_rows, capsys):
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    path = tmp_path / "panel.yaml"
    path.write_text("judges:\n  - {model: a, base_url: 'http://127.0.0.1:9/v1'}\n", encoding="utf-8")
    code = cli.main(["run", "--predictions", str(preds), "--tasks", "culture", "--langs", "ru",
                     "--judge-model", "m", "--judge-panel", str(path), "--output-dir", str(tmp_path)])
    assert code == 2 and "either --judge-model or --judge-panel" in capsys.readouterr().err


# -- compare: the panel mean, the same panel wherever it is served ---------------------------

def compare_runs(baseline, candidate):
    from mella_eval import compare
    return compare.main(cli.build_parser().parse_args(["compare", str(baseline), str(candidate), "--n-boot", "200"]))


def test_compare_uses_the_panel_mean_and_needs_the_same_panel(tmp_path, ru_rows, monkeypatch, capsys):
    monkeypatch.setenv("API_JUDGE_KEY", "sk-api")
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    judge_a = by_alt_text(ru_rows, [verdict(4 if c == "T" else 2) for c in A_LABELS], verdict(3))
    judge_b = by_alt_text(ru_rows, [verdict(5 if c == "T" else 1) for c in B_LABELS], verdict(3))
    runs = {}
    for name in ("one", "two"):  # the same panel on other ports: comparable
        with FaultServer(judge_a, model="judge-a") as a, FaultServer(judge_b, model="judge-b") as b:
            run_culture(tmp_path, preds, ["--judge-panel", str(panel_file(tmp_path, a, b))], "--no-cache", name=name)
        runs[name] = tmp_path / name
    with FaultServer(judge_a, model="judge-a") as a:
        run_culture(tmp_path, preds, ["--judge-model", a.model, "--judge-base-url", a.base_url], "--no-cache", name="single")
    capsys.readouterr()
    assert compare_runs(runs["one"], runs["two"]) == 0
    out = capsys.readouterr().out
    assert "judge_thickness" in out
    assert compare_runs(runs["one"], tmp_path / "single") == 2
    err = capsys.readouterr().err
    assert "judges differ" in err and "the panel api=judge-a, local=judge-b" in err


def test_compare_refuses_one_order_against_both(fixture_tasks, tmp_path, capsys):
    (tmp_path / "both").mkdir()
    (tmp_path / "one").mkdir()
    run_llava(fixture_tasks, tmp_path / "both", llava_scores(8, 4))
    run_llava(fixture_tasks, tmp_path / "one", llava_scores(8, 4), "--no-judge-swap")
    capsys.readouterr()
    assert compare_runs(tmp_path / "both" / "j", tmp_path / "one" / "j") == 2
    assert "judge orders differ" in capsys.readouterr().err


def test_repeats_and_both_orders_together(fixture_tasks, tmp_path):
    code, results, records, texts, n = run_llava(fixture_tasks, tmp_path, llava_scores(9, 3),
                                                 "--judge-repeats", "2", "--judge-temperature", "0.5")
    assert code == 0 and len(texts) == 4 * n
    figures = results["judge"]["reliability"]["llava_bench"]["overall"]
    assert figures["position"][""]["pairs"] == 2 * n and figures["position"][""]["position_bias_rate"] == 1.0
    # within one order the repeats agree exactly; the disagreement is all between the orders
    assert figures["repeats"][""]["alpha"] == {"reference_score": 1.0, "candidate_score": 1.0}
    assert figures["repeats"][""]["units"] == 2 * n and figures["repeats"][""]["label_identical"] is None
    assert all([(a["swapped"], a["repeat"]) for a in r["judge"]["asks"]] ==
               [(False, 0), (False, 1), (True, 0), (True, 1)] for r in records)
    assert {s["value"] for s in results["scores"] if s["metric"] == "llava_relative"} == {100.0}


def test_panel_names_default_to_the_model_name(tmp_path):
    path = tmp_path / "panel.yaml"
    path.write_text("judges:\n  - {model: /models/Qwen2.5-VL-7B-Instruct/, backend: vllm}\n"
                    "  - {model: 'org/judge:latest', base_url: 'http://127.0.0.1:9/v1', api_key_env: K}\n",
                    encoding="utf-8")
    first, second = load_panel(path)
    assert first.name == "Qwen2.5-VL-7B-Instruct" and first.backend == "vllm"
    assert second.name == "judge2" and second.api_key_env == "K"  # ':' makes no name


def test_reliability_is_recomputed_over_merged_shards(fixture_tasks, tmp_path):
    """What merge needs: the figures of all records computed again from the section's settings."""
    from mella_eval.judge_reliability import recompute_reliability
    code, results, records, _, n = run_llava(fixture_tasks, tmp_path, llava_scores(8, 4))
    section = results["judge"]["reliability"]
    assert section["llava_bench"]["pairwise"] == ["reference_score", "candidate_score"]
    assert recompute_reliability(section, records) == section
    half = recompute_reliability(section, records[: n // 2])
    assert half["llava_bench"]["overall"]["position"][""]["pairs"] == n // 2


def test_judge_swap_on_a_rubric_with_one_answer_says_it_does_nothing(tmp_path, ru_rows, caplog):
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    with FaultServer(default=verdict(4)) as server:
        code, results, _ = run_culture(tmp_path, preds, ["--judge-model", server.model, "--judge-base-url",
                                                         server.base_url], "--judge-swap")
        assert len(server.requests) == 8
    assert code == 0 and "--judge-swap has no effect here" in caplog.text
    assert "reliability" not in results["judge"]
