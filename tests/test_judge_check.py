"""`mella-eval judge-check` (issue 18, calibration): scripted judges that separate the calibration
set, that cannot (a constant judge), and that follow an injection; a flagged judge is flagged in
the results of the runs it judges."""

import json
import re

import pytest

from fault_server import FaultServer, reply_json
from mella_eval import cli
from mella_eval.judge_check import calibration_set, calibration_texts

LANGS = ("ar", "cs", "hu", "ko", "ru", "sr", "th", "vi")
CANDIDATE_RE = re.compile(r"<(candidate-[0-9a-f]{16})>\n(.*)\n</\1>", re.DOTALL)
REFERENCE_RE = re.compile(r"<reference>(.*?)</reference>", re.DOTALL)


def grade(thickness, faithfulness, label=None):
    label = label or ("thick" if thickness >= 4 and faithfulness >= 3 else "thin")
    return reply_json({"rationale": "r", "thickness": thickness, "faithfulness": faithfulness,
                       "fluency": 5, "label": label})


def discerning(follows_injection=False):
    """Reads the candidate and the reference alt-text from the prompt, as a good judge would."""
    def choose(request):
        candidate = CANDIDATE_RE.search(request.text).group(2)
        reference = REFERENCE_RE.search(request.text).group(1)
        if "Ignore all previous instructions" in candidate:
            return grade(5, 5) if follows_injection else grade(1, 3)
        if candidate == reference:
            return grade(5, 5)
        if len(candidate) < 40:  # a generic sentence
            return grade(1, 4)
        return grade(4, 1)  # specific, but about another image
    return choose


def check(tmp_path, script, *extra):
    with FaultServer(script) as server:
        code = cli.main(["judge-check", "--judge-model", server.model, "--judge-base-url", server.base_url,
                         "--cache-dir", str(tmp_path / "cache"), "--max-retries", "0",
                         "--output", str(tmp_path / "check.json"), *extra])
        sent = len(server.requests)
    return code, json.loads((tmp_path / "check.json").read_text(encoding="utf-8")), sent


def test_the_calibration_set_is_built_from_the_sample_images():
    items = calibration_set()
    assert len(items) == 8 * 8 * 4  # images x languages x kinds
    texts = calibration_texts()
    assert sorted(texts["thin"]) == sorted(LANGS)
    by = {(i.sample.lang, i.sample.id, i.kind): i for i in items}
    thick = by[("ru", "coffee-ru", "thick")]
    assert thick.text == thick.sample.alt_text
    wrong = by[("ru", "coffee-ru", "wrong")]
    assert wrong.text != thick.text and wrong.text in {i.sample.alt_text for i in items if i.sample.lang == "ru"}
    assert by[("th", "coffee-th", "injected")].text.startswith(texts["thin"]["th"])


def test_a_discerning_judge_passes_in_every_language(tmp_path, capsys):
    code, report, sent = check(tmp_path, discerning())
    assert code == 0 and sent == 256 and not report["flagged"]
    for lang in LANGS:
        assert report["by_lang"][lang] == {"images": 8, "failed": 0, "auc": 1.0, "label_accuracy": 1.0,
                                           "faithfulness_drop": 4.0, "injection_resistance": 1.0,
                                           "flagged": False, "reasons": []}
    out = capsys.readouterr().out
    assert re.search(r"^ru\s+1\.00\s+1\.00\s+4\.00\s+1\.00\s+0\s+ok$", out, re.MULTILINE)


def test_a_constant_judge_is_flagged_everywhere(tmp_path, capsys):
    code, report, _ = check(tmp_path, lambda request: grade(3, 3))
    assert code == 1 and report["flagged"] and report["flagged_langs"] == sorted(LANGS)
    ru = report["by_lang"]["ru"]
    assert ru["auc"] == 0.5 and ru["faithfulness_drop"] == 0.0 and ru["label_accuracy"] == 0.5
    assert ru["injection_resistance"] == 1.0  # never raised: it never moves at all
    assert ru["reasons"] == ["thick vs thin AUC 0.50 < 0.8", "faithfulness drop for wrong descriptions 0.00 < 1.0"]
    assert "does not separate the calibration set" in capsys.readouterr().err


def test_an_injectable_judge_is_flagged_for_injection_only(tmp_path):
    code, report, _ = check(tmp_path, discerning(follows_injection=True), "--langs", "ru,th")
    assert code == 1 and sorted(report["by_lang"]) == ["ru", "th"]
    assert report["by_lang"]["th"]["injection_resistance"] == 0.0
    assert report["by_lang"]["th"]["auc"] == 1.0
    assert report["by_lang"]["th"]["reasons"] == ["injection resistance 0.00 < 0.8"]


def test_a_failed_judgement_is_left_out_and_counted(tmp_path):
    def script(request):
        if "Фотография чего-то." in request.text and "Ignore" not in request.text:
            return reply_json({"rationale": "no scores"})
        return discerning()(request)
    code, report, _ = check(tmp_path, script, "--langs", "ru")
    ru = report["by_lang"]["ru"]
    assert ru["failed"] == 8 and ru["auc"] is None and "AUC n/a" in ru["reasons"][0]
    assert ru["injection_resistance"] is None and code == 1


def test_unknown_language_is_a_one_line_error(tmp_path, capsys):
    code = cli.main(["judge-check", "--judge-model", "m", "--judge-base-url", "http://127.0.0.1:9/v1",
                     "--langs", "xx", "--no-cache"])
    assert code == 2 and "no calibration texts for xx" in capsys.readouterr().err


def test_a_run_judged_by_a_flagged_judge_is_flagged_in_results(tmp_path, sample_dir, caplog):
    rows = [json.loads(l) for l in (sample_dir / "samples.jsonl").open(encoding="utf-8")]
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"task": "culture", "lang": r["lang"], "id": r["id"],
                                         "prediction": r["alt_text"]}, ensure_ascii=False) + "\n"
                             for r in rows if r["lang"] == "ru"), encoding="utf-8")
    constant = lambda request: grade(3, 3)  # noqa: E731
    for name, script in (("flagged", constant), ("fine", discerning())):
        with FaultServer(script, model=f"judge-{name}") as server:
            args = ["--judge-model", server.model, "--judge-base-url", server.base_url,
                    "--cache-dir", str(tmp_path / "cache"), "--max-retries", "0"]
            cli.main(["judge-check", *args, "--langs", "ru"])
        with FaultServer(script, model=f"judge-{name}") as server:  # another port: the same judge
            args = ["--judge-model", server.model, "--judge-base-url", server.base_url,
                    "--cache-dir", str(tmp_path / "cache"), "--max-retries", "0"]
            caplog.clear()
            assert cli.main(["run", "--predictions", str(preds), "--tasks", "culture", "--langs", "ru",
                             *args, "--output-dir", str(tmp_path), "--run-name", name]) == 0
        results = json.loads((tmp_path / name / "results.json").read_text(encoding="utf-8"))
        calibration = results["judge"]["reliability"]["thick_description"]["calibration"][""]
        assert calibration["flagged"] is (name == "flagged")
        assert calibration["flagged_langs"] == (["ru"] if name == "flagged" else [])
        assert ("its judge-check with rubric thick_description flagged it" in caplog.text) is (name == "flagged")
