"""`mella-eval compare`: the regression gate on real run folders (exit 0 / 1 / 2, JUnit XML)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mella_eval import compare
from mella_eval.cli import build_parser
from mella_eval.errors import MellaError
from mella_eval.results import read_results, read_samples, write_run
from prediction_runs import LANGS, REPO, SAMPLE_ROWS, degraded, make_run

REPO = Path(__file__).resolve().parent.parent
def task_variant(tmp_path_factory, name: str, old: str, new: str) -> Path:
    """A copy of tasks/linguistic.yaml with one line changed (a new prompt, a new name)."""
    folder = tmp_path_factory.mktemp(name)
    text = (REPO / "tasks" / "linguistic.yaml").read_text(encoding="utf-8")
    assert old in text
    (folder / "linguistic.yaml").write_text(text.replace(old, new), encoding="utf-8")
    return folder / "linguistic.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    sample = str(REPO / "tasks" / "data" / "mella_sample")
    th_prompt = task_variant(tmp_path_factory, "th-prompt", "  th: ", "  th: ช่วย")
    renamed = task_variant(tmp_path_factory, "renamed", "name: linguistic", "name: linguistic_v2")
    return {
        "good": make_run(tmp_path_factory, "cmp-good", lambda r, i: degraded(r["references"][i % 3], i + 2)),
        "bad": make_run(tmp_path_factory, "cmp-bad",
                        lambda r, i: r["references"][0][: len(r["references"][0]) // 4]),
        "best": make_run(tmp_path_factory, "cmp-best", lambda r, i: r["references"][i % 3]),
        "thai-fails": make_run(tmp_path_factory, "cmp-thai-fails", lambda r, i: None if r["lang"] == "th"
                               else degraded(r["references"][i % 3], i + 2)),
        "th-vi": make_run(tmp_path_factory, "cmp-th-vi", lambda r, i: degraded(r["references"][i % 3], i + 2),
                          langs="th,vi"),
        "limit": make_run(tmp_path_factory, "cmp-limit", lambda r, i: degraded(r["references"][i % 3], i + 2),
                          extra=("--tasks", "linguistic", "--limit", "6")),
        "th-prompt": make_run(tmp_path_factory, "cmp-th-prompt",
                              lambda r, i: degraded(r["references"][i % 3], i + 2),
                              extra=("--tasks", str(th_prompt), "--include-path", str(th_prompt.parent),
                                     "--data-dir", sample)),
        "renamed": make_run(tmp_path_factory, "cmp-renamed",
                            lambda r, i: degraded(r["references"][i % 3], i + 2),
                            task="linguistic_v2",
                            extra=("--tasks", str(renamed), "--include-path", str(renamed.parent),
                                   "--data-dir", sample)),
    }


def run_compare(baseline: Path, candidate: Path, *extra: str) -> int:
    return compare.main(build_parser().parse_args(["compare", str(baseline), str(candidate),
                                              "--n-boot", "300", *extra]))


def junit(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return root.find("testsuite")


def test_identical_runs_pass(runs, tmp_path, capsys):
    xml = tmp_path / "same.xml"
    assert run_compare(runs["good"], runs["good"], "--junit-xml", str(xml)) == 0
    out = capsys.readouterr().out
    assert re.search(r"\n0 of \d+ regressed", out) and "REGRESSED" not in out
    suite = junit(xml)
    n_cases = 8 * len(read_results(runs["good"])["tasks"]["linguistic"]["metrics"])
    assert suite.get("tests") == str(n_cases) and suite.get("failures") == "0"
    assert len(suite.findall("testcase")) == n_cases and not suite.findall("testcase/failure")


def test_degraded_candidate_fails_the_gate(runs, tmp_path, capsys):
    xml = tmp_path / "bad.xml"
    assert run_compare(runs["good"], runs["bad"], "--junit-xml", str(xml)) == 1
    assert "REGRESSED" in capsys.readouterr().out
    suite = junit(xml)
    failed = {(c.get("classname"), c.get("name")) for c in suite.findall("testcase")
              if c.find("failure") is not None}
    corpus = {(f"linguistic.{lang}", m) for lang in LANGS for m in ("bleu", "chrf", "chrf++")}
    assert corpus <= failed  # every corpus metric of every language
    assert suite.get("failures") == str(len(failed))
    th_bleu = suite.find("testcase[@classname='linguistic.th'][@name='bleu']/failure")
    assert th_bleu.get("type") == "regression" and th_bleu.get("message").startswith("worse by ")


def test_improved_candidate_passes(runs, capsys):
    assert run_compare(runs["good"], runs["best"]) == 0
    assert "improved" in capsys.readouterr().out


def test_max_drop_tolerates_and_is_per_metric(runs, capsys):
    # Drops below 100 points are tolerated for every metric ...
    assert run_compare(runs["good"], runs["bad"], "--max-drop", "100") == 0
    assert "worse, within --max-drop" in capsys.readouterr().out
    # ... unless a metric has its own, stricter limit.
    assert run_compare(runs["good"], runs["bad"], "--max-drop", "100", "--max-drop", "chrf=1") == 1
    assert re.search(r"\n8 of \d+ regressed", capsys.readouterr().out)
    with pytest.raises(MellaError, match="expected a number or METRIC=NUMBER"):
        run_compare(runs["good"], runs["bad"], "--max-drop", "chrf=lots")


def test_failed_samples_count_as_empty_predictions(runs, capsys):
    """A candidate whose Thai generations all failed must not pass by dropping them."""
    baseline, candidate = compare.load_run(runs["good"]), compare.load_run(runs["thai-fails"])
    rows = compare.compare_runs(baseline, candidate, 1.0, n_boot=300)
    regressed = {(c.lang, c.metric) for c in rows if c.regressed}
    assert {("th", "bleu"), ("th", "chrf"), ("th", "chrf++")} <= regressed
    assert all(lang == "th" for lang, _ in regressed)
    th = next(c for c in rows if (c.lang, c.metric) == ("th", "chrf"))
    assert th.candidate == 0.0 and th.failed_candidate == 8 and th.n == 8
    assert run_compare(runs["good"], runs["thai-fails"]) == 1
    assert "candidate 8" in capsys.readouterr().out


def test_paired_bootstrap_is_seeded(runs):
    baseline, candidate = compare.load_run(runs["good"]), compare.load_run(runs["best"])
    a = compare.compare_runs(baseline, candidate, 1.0, n_boot=200, seed=3)
    b = compare.compare_runs(baseline, candidate, 1.0, n_boot=200, seed=3)
    c = compare.compare_runs(baseline, candidate, 1.0, n_boot=200, seed=4)
    assert a == b and a != c
    for row in a:
        assert row.ci_low <= row.delta <= row.ci_high
        assert 0 < row.p_worse <= 1 and row.p_better < 0.05


@pytest.mark.parametrize("candidate, reason", [
    ("th-prompt", "prompt hashes differ for 8 sample(s) of linguistic/th (e.g. id astronaut-th): "
                  "a prompt changed; re-baseline on purpose"),
    ("limit", "samples differ for linguistic/ar: 2 only in baseline"),
    ("th-vi", "languages differ for task linguistic: baseline has ar, cs, hu, ko, ru, sr, th, vi, "
              "candidate has th, vi"),
    ("renamed", "tasks differ: baseline has linguistic, candidate has linguistic_v2"),
])
def test_incomparable_runs_exit_2_with_the_reason(runs, tmp_path, capsys, candidate, reason):
    xml = tmp_path / "incomparable.xml"
    assert run_compare(runs["good"], runs[candidate], "--junit-xml", str(xml)) == 2
    err = capsys.readouterr().err
    assert "runs cannot be compared" in err and reason in err
    suite = junit(xml)
    assert suite.get("errors") == "1" and reason in suite.find("testcase/error").text


def test_compare_command_exit_codes(runs):
    """Through `python -m mella_eval`."""
    cmd = [sys.executable, "-m", "mella_eval", "compare"]
    expected = [(runs["good"], runs["good"], 0), (runs["good"], runs["bad"], 1),
                (runs["good"], runs["th-prompt"], 2), (runs["good"], REPO / "no-such-run", 2)]
    for baseline, candidate, code in expected:
        done = subprocess.run([*cmd, str(baseline), str(candidate), "--n-boot", "200"],
                              capture_output=True, text=True, cwd=REPO, timeout=120)
        assert done.returncode == code, (candidate, done.stdout, done.stderr)


def with_sample_metric(src: Path, dst: Path, metric: str, value) -> Path:
    """A copy of run `src` whose task also reports the sample metric `metric` (value(record))."""
    results, records = read_results(src), read_samples(src)
    if metric not in results["tasks"]["linguistic"]["metrics"]:
        results["tasks"]["linguistic"]["metrics"].append(metric)
    for record in records:
        if record["status"] == "ok":
            record["metrics"][metric] = value(record)
    write_run(dst, results, records)
    return dst


@pytest.fixture
def error_rate(monkeypatch) -> str:
    """A lower-is-better share metric of kind "sample", registered for the test only."""
    from mella_eval.metrics.registry import METRICS, MetricSpec

    monkeypatch.setitem(METRICS, "test_error_rate", MetricSpec("test_error_rate", "sample", (), "test"))
    monkeypatch.setitem(compare.METRIC_SCALES, "test_error_rate", (1.0, False))
    return "test_error_rate"


def test_lower_is_better_metric_and_failed_samples_get_the_worst_value(runs, tmp_path, error_rate):
    """A rate where lower is better: a rise is the regression; a failed generation counts as 1."""
    base = with_sample_metric(runs["good"], tmp_path / "base", error_rate, lambda r: 0.0)
    worse = with_sample_metric(runs["good"], tmp_path / "worse", error_rate,
                               lambda r: 1.0 if r["lang"] == "vi" else 0.0)
    rows = {(c.lang, c.metric): c for c in compare.compare_runs(
        compare.load_run(base), compare.load_run(worse), 1.0, n_boot=200)}
    vi = rows[("vi", error_rate)]
    assert vi.delta == 1.0 and vi.regressed and vi.p_worse < 0.05
    assert not rows[("ar", error_rate)].regressed
    # Back the other way, the fall is an improvement.
    back = {(c.lang, c.metric): c for c in compare.compare_runs(
        compare.load_run(worse), compare.load_run(base), 1.0, n_boot=200)}
    assert back[("vi", error_rate)].verdict == "improved"
    # Thai generations failed in the candidate: no value there, yet a rate of 1 in the pairing.
    fails = with_sample_metric(runs["thai-fails"], tmp_path / "fails", error_rate, lambda r: 0.0)
    th = {(c.lang, c.metric): c for c in compare.compare_runs(
        compare.load_run(base), compare.load_run(fails), 1.0, n_boot=200)}[("th", error_rate)]
    assert th.candidate == 1.0 and th.regressed


# Judges, signatures and --exact -------------------------------------------------------------

VERDICT = {"rationale": "r", "thickness": 3, "faithfulness": 4, "fluency": 5, "label": "thin"}
PREDICTIONS = REPO / "results" / "baseline" / "predictions.jsonl"


@pytest.fixture(scope="module")
def judged(tmp_path_factory) -> dict[str, Path]:
    """Culture runs on the same predictions, judged by judge-a (on two servers) and by judge-b."""
    from fault_server import FaultServer, reply_json
    from mella_eval.cli import main

    root = tmp_path_factory.mktemp("judged")
    out = {}
    for name, judge_model in (("a", "judge-a"), ("a-elsewhere", "judge-a"), ("b", "judge-b")):
        with FaultServer(default=reply_json(VERDICT)) as server:
            assert main(["run", "--predictions", str(PREDICTIONS), "--tasks", "culture", "--langs", "th,vi",
                         "--judge-model", judge_model, "--judge-base-url", server.base_url,
                         "--cache-dir", str(root / f"cache-{name}"), "--output-dir", str(root),
                         "--run-name", name]) == 0
        out[name] = root / name
    return out


def test_runs_judged_by_different_judges_cannot_be_compared(judged, capsys):
    assert run_compare(judged["a"], judged["b"]) == 2
    err = capsys.readouterr().err
    assert ("judges differ for task culture (judge_thickness, judge_faithfulness, judge_fluency, "
            "thick_rate): baseline judged by backend=openai model=judge-a, candidate by backend=openai "
            "model=judge-b; compare runs judged by the same judge and rubric") in err
    # The same judge served from another address is the same instrument.
    assert run_compare(judged["a"], judged["a-elsewhere"]) == 0


def test_runs_judged_with_different_rubrics_cannot_be_compared(judged, tmp_path, capsys):
    results, records = read_results(judged["a-elsewhere"]), read_samples(judged["a-elsewhere"])
    rubric = results["tasks"]["culture"]["judge"]
    results["judge"]["rubrics"][rubric]["sha256"] = "0" * 64
    write_run(tmp_path / "other-rubric", results, records)
    assert run_compare(judged["a"], tmp_path / "other-rubric") == 2
    err = capsys.readouterr().err
    assert f"judge rubrics differ for task culture" in err and "candidate " + rubric in err
    assert "(sha256 000000000000)" in err


def with_signature(src: Path, dst: Path, metric: str, signature: str | None) -> Path:
    """A copy of run `src` with score rows of `metric` carrying `signature`."""
    results, records = read_results(src), read_samples(src)
    if metric not in results["tasks"]["linguistic"]["metrics"]:
        results["tasks"]["linguistic"]["metrics"].append(metric)
        for lang in LANGS:
            results["scores"].append({"task": "linguistic", "lang": lang, "metric": metric, "value": 1.0,
                                      "n": 8, "failed": 0})
        for record in records:
            record["metrics"][metric] = 1.0
    for row in results["scores"]:
        if row["metric"] == metric:
            row["signature"] = signature
    write_run(dst, results, records)
    return dst


def test_a_stored_metric_with_another_signature_is_not_compared(runs, tmp_path, capsys):
    """CIDEr's per-sample values come from the runs: another implementation is another test."""
    base = with_signature(runs["good"], tmp_path / "base", "cider", "cider-d|sigma:6|v:1")
    same = with_signature(runs["good"], tmp_path / "same", "cider", "cider-d|sigma:6|v:1")
    other = with_signature(runs["good"], tmp_path / "other", "cider", "cider-d|sigma:6|v:2")
    assert run_compare(base, same) == 0
    assert run_compare(base, other) == 2
    err = capsys.readouterr().err
    assert ("signatures differ for linguistic/cider (ar, cs, hu, ko, ru, sr, th, vi): baseline "
            "cider-d|sigma:6|v:1, candidate cider-d|sigma:6|v:2") in err


def test_a_recomputed_corpus_metric_with_another_signature_is_compared_with_a_note(runs, tmp_path, capsys):
    """BLEU is recomputed here for both runs: a recorded signature difference is said, not fatal."""
    old = read_results(runs["good"])["scores"][0]
    assert old["metric"] == "bleu" and "version:" in old["signature"]
    other = with_signature(runs["good"], tmp_path / "other", "bleu", "nrefs:3|tok:intl|version:1.0")
    assert run_compare(runs["good"], other) == 0
    assert "note: linguistic/bleu (ar, cs, hu, ko, ru, sr, th, vi): signatures differ in results.json" \
        in capsys.readouterr().out


def test_exact_recomputes_from_samples_instead_of_trusting_results_json(runs, tmp_path, capsys):
    """A candidate whose predictions changed a little but whose results.json was copied from the
    baseline passed --exact; now the scores come from samples.jsonl."""
    records = read_samples(runs["good"])
    changed = next(r for r in records if r["lang"] == "vi")
    changed["prediction"] += " thêm"
    write_run(tmp_path / "edited", read_results(runs["good"]), records)
    assert run_compare(runs["good"], tmp_path / "edited") == 0  # within --max-drop: the plain gate passes
    capsys.readouterr()
    assert run_compare(runs["good"], tmp_path / "edited", "--exact") == 1
    err = capsys.readouterr().err
    assert "linguistic/vi/bleu:" in err and "(recomputed from samples.jsonl)" in err
    assert "the candidate's results.json records" in err and "does not match its samples.jsonl" in err
    assert not [line for line in err.splitlines() if "/ar/" in line]


def test_exact_reports_a_baseline_made_by_other_metric_code(runs, tmp_path, capsys):
    results = read_results(runs["good"])
    row = next(s for s in results["scores"] if (s["lang"], s["metric"]) == ("th", "chrf"))
    row["value"] += 0.5  # what an older chrF would have recorded
    write_run(tmp_path / "old", results, read_samples(runs["good"]))
    assert run_compare(tmp_path / "old", runs["good"], "--exact") == 1
    err = capsys.readouterr().err
    assert "linguistic/th/chrf: the baseline's results.json records" in err
    assert "the metric or tokenizer changed since the baseline was made" in err
    assert run_compare(runs["good"], runs["good"], "--exact") == 0
