"""The HTML report's "Judge reliability" box (issue 18), rendered from results.json of real runs
against the scripted loopback judges of tests/test_judge_reliability.py."""

import html
import json
import re
import sys
from pathlib import Path

from mella_eval.report import build_report

sys.path.insert(0, str(Path(__file__).parent))
from fault_server import FaultServer  # noqa: E402
from test_judge_reliability import (A_LABELS, B_LABELS, by_alt_text, culture_predictions,  # noqa: E402,F401
                                    fixture_tasks, llava_scores, panel_file, ru_rows, run_culture,
                                    run_llava, verdict)


def _box(report: str) -> str:
    start = report.index("<h3>Judge reliability</h3>")
    return report[start:report.index("<h3>Worst samples</h3>", start)]


def _row(box: str, label: str) -> list[str]:
    """The cells of the table row headed `label` (escaped as the page writes it)."""
    match = re.search(r"<tr><th>" + re.escape(label) + r"</th>(.*?)</tr>", box)
    assert match, f"no row {label!r} in {box}"
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))]


def test_repeats_and_position_bias_are_shown(fixture_tasks, tmp_path):
    code, results, _, _, n = run_llava(fixture_tasks, tmp_path, llava_scores(9, 3),
                                       "--judge-repeats", "2", "--judge-temperature", "0.5")
    assert code == 0
    box = _box(build_report(tmp_path / "j"))
    figures = results["judge"]["reliability"]["llava_bench"]
    langs = [row["lang"] for row in figures["by_lang"]]
    assert "rubric <code>llava_bench</code>" in box and "repeats: 2 · both orders: yes" in box
    judge = "<span class=muted>(the judge)</span>"
    # overall, then one column per language, each from results.json
    assert _row(box, f"position bias rate · {judge}") == ["1.00"] * (1 + len(langs))
    assert _row(box, f"order disagreement rate · {judge}") == ["1.00"] * (1 + len(langs))
    assert _row(box, f"repeat alpha reference_score · {judge}") == ["1.00"] * (1 + len(langs))
    assert "class='alpha ok'" in box
    mean = figures["overall"]["judge_means"][""]["reference_score"]
    assert _row(box, f"mean reference_score · {judge}")[0] == f"{mean:.2f}"
    assert "judge not calibrated" in box  # no saved judge-check of this judge
    assert "panel alpha" not in box  # one judge: no panel figures
    for lang in langs:
        assert f"<th>{lang}</th>" in box


def test_panel_agreement_calibration_and_inconsistency_are_shown(tmp_path, ru_rows, monkeypatch):
    monkeypatch.setenv("API_JUDGE_KEY", "sk-api")
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    judge_a = by_alt_text(ru_rows, [verdict(4 if c == "T" else 2) for c in A_LABELS], verdict(3))
    # judge b contradicts itself on the first answer: label "thin" with thickness 5
    judge_b = by_alt_text(ru_rows, [verdict(5, label="thin") if i == 0 else verdict(5 if c == "T" else 1)
                                    for i, c in enumerate(B_LABELS)], verdict(3))
    with FaultServer(judge_a, model="judge-a") as a, FaultServer(judge_b, model="judge-b") as b:
        code, results, _ = run_culture(tmp_path, preds, ["--judge-panel", str(panel_file(tmp_path, a, b))])
    assert code == 0
    run_dir = tmp_path / "r"
    box = _box(build_report(run_dir))
    panel = results["judge"]["reliability"]["thick_description"]["overall"]["panel"]
    assert _row(box, "panel alpha thickness")[0] == f"{panel['alpha']['thickness']:.2f}"
    assert _row(box, "panel label kappa (mean)")[0] == f"{panel['label_kappa_mean']:.2f}"
    assert _row(box, "mean thickness · api") == ["3.00", "3.00"]  # overall, ru
    assert "repeat alpha" not in box and "position bias" not in box  # one ask per judge, one answer
    counts = next(c for c in results["judge"]["counts"] if c["lang"] == "ru")
    assert counts["inconsistent"] >= 1
    assert _row(box, "inconsistent rate") == [
        f"{counts['inconsistent_rate']:.2f} ({counts['inconsistent']}/{counts['consistency_checked']})"]

    # A flagged calibration (hand-added, with hostile text) is shown as a badge, escaped.
    path = run_dir / "results.json"
    edited = json.loads(path.read_text(encoding="utf-8"))
    edited["judge"]["reliability"]["thick_description"]["calibration"] = {
        "api": {"flagged": True, "flagged_langs": ["ru", "<img src=x>"]},
        "local": {"flagged": False, "flagged_langs": []}}
    edited["judge"]["reliability"]["thick_description"]["judges"] = ["api", "<b>local</b>"]
    path.write_text(json.dumps(edited), encoding="utf-8")
    (run_dir / "run.log").write_text("engine output\n", encoding="utf-8")
    report = build_report(run_dir)
    box = _box(report)
    assert f"judge api flagged by judge-check: ru, {html.escape('<img src=x>')}" in box
    assert "judge local passed judge-check" in box and "judge not calibrated" not in box
    assert "<img src=x>" not in report and "<b>local</b>" not in report
    assert html.escape("<b>local</b>") in box
    assert html.escape(str(run_dir / "run.log")) in report


def test_a_judged_run_without_reliability_figures_renders(tmp_path, ru_rows):
    preds = culture_predictions(tmp_path / "p.jsonl", ru_rows)
    with FaultServer(lambda request: verdict(4)) as server:
        code, results, _ = run_culture(tmp_path, preds, ["--judge-model", server.model,
                                                         "--judge-base-url", server.base_url])
    assert code == 0 and not (results["judge"].get("reliability") or {})
    box = _box(build_report(tmp_path / "r"))
    assert "judge not calibrated" in box and "<table class=reliability>" in box  # inconsistent rate
    assert _row(box, "inconsistent rate") == ["0.00 (0/8)"]
