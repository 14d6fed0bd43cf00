"""The command line: start-up cost, clear one-line errors, exit codes, --predictions."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "vllm", "datasets", "sacrebleu", "pandas")


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["tasks"]])
def test_help_and_tasks_import_nothing_heavy(argv):
    code = ("import sys, runpy; sys.argv = ['mella-eval', *%r]\n"
            "try:\n    runpy.run_module('mella_eval', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in %r if m in sys.modules))" % (argv, HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_tasks_lists_languages_and_metrics(run_cli):
    proc = run_cli("tasks")
    assert proc.returncode == 0
    line = next(l for l in proc.stdout.splitlines() if l.startswith("linguistic"))
    assert "ar,cs,hu,ko,ru,sr,th,vi" in line and "bleu,chrf,chrf++" in line


@pytest.mark.parametrize("args, message", [
    (["run", "--model", "/no/such/model", "--tasks", "linguistic"], "--model /no/such/model: no such file"),
    (["run", "--model", ".", "--tasks", "nope"], "unknown task 'nope'"),
    (["run", "--model", ".", "--langs", "ar,zz"], "unknown language code 'zz'"),
    (["run", "--tasks", "linguistic"], "--model is required"),
    (["run", "--predictions", "/no/file.jsonl"], "--predictions /no/file.jsonl: file not found"),
    (["run", "--model", ".", "--model-args", "novalue"], "--model-args: expected key=value"),
    (["run", "--backend", "openai", "--model", "m"], "--base-url"),
    (["run", "--backend", "openai", "--model", "m", "--base-url", "http://user:s3cret@127.0.0.1:9/v1"],
     "--base-url http://***@127.0.0.1/v1: credentials in the URL are not supported"),
    (["run", "--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:port/v1"],
     "--base-url: not a valid URL (the port is not a number)"),
    (["run", "--backend", "openai", "--model", "m", "--base-url", "127.0.0.1:8000"], "expected http(s)://"),
    (["run", "--model", ".", "--judge-model", "j", "--judge-base-url", "https://k:s3cret@judge.example/v1"],
     "--judge-base-url https://***@judge.example/v1"),
    (["run", "--model", ".", "--run-name", ".."], "--run-name '..': one folder name"),
    (["run", "--model", ".", "--run-name", "."], "--run-name '.': one folder name"),
    (["run", "--model", ".", "--run-name", "a/b"], "--run-name 'a/b'"),
    (["run", "--model", ".", "--run-name", "..\\x"], "--run-name"),
    (["run", "--model", ".", "--max-failure-rate", "1.5"], "--max-failure-rate must be in [0, 1]"),
    (["run", "--model", ".", "--max-image-mb", "0"], "--max-image-mb must be a number > 0"),
])
def test_user_errors_are_one_line_without_traceback(run_cli, args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr
    assert len([l for l in proc.stderr.splitlines() if l.startswith("mella-eval: error")]) == 1
    assert "s3cret" not in proc.stderr + proc.stdout


def test_predictions_file_scored_and_gaps_recorded(run_cli, tmp_path, sample_dir):
    rows = [json.loads(l) for l in (sample_dir / "samples.jsonl").open(encoding="utf-8")]
    th = [r for r in rows if r["lang"] == "th"]
    preds = tmp_path / "p.jsonl"
    with preds.open("w", encoding="utf-8") as fh:
        for r in th[1:]:  # the first Thai sample has no prediction
            fh.write(json.dumps({"task": "linguistic", "lang": "th", "id": r["id"],
                                 "prediction": r["references"][0]}, ensure_ascii=False) + "\n")
        fh.write(json.dumps({"task": "linguistic", "lang": "th", "id": "unknown", "prediction": "x"}) + "\n")
    proc = run_cli("run", "--predictions", preds, "--tasks", "linguistic", "--langs", "th",
                   "--output-dir", tmp_path, "--run-name", "p", "--max-failure-rate", "0.125")
    assert proc.returncode == 0, proc.stderr  # 1 of 8 failed: within --max-failure-rate
    results = json.loads((tmp_path / "p" / "results.json").read_text())
    assert results["run"]["counts"] == {"samples": len(th), "ok": len(th) - 1, "error": 1,
                                        "unmatched_predictions": 1}
    bleu = next(s for s in results["scores"] if s["metric"] == "bleu")
    assert bleu["value"] == pytest.approx(100.0) and bleu["n"] == len(th) - 1 and bleu["failed"] == 1
    records = [json.loads(l) for l in (tmp_path / "p" / "samples.jsonl").open(encoding="utf-8")]
    missing = next(r for r in records if r["id"] == th[0]["id"])
    assert missing["status"] == "error" and "no prediction" in missing["reason"]
    assert {"task", "lang", "id", "prompt", "prediction", "references", "status"} <= set(missing)
    assert "th" in proc.stdout and "bleu" in proc.stdout  # the summary table


def test_malformed_predictions_file_names_the_line(run_cli, tmp_path):
    preds = tmp_path / "bad.jsonl"
    preds.write_text('{"task": "linguistic", "lang": "th", "id": "a", "prediction": "x"}\n{"task": "linguistic"}\n')
    proc = run_cli("run", "--predictions", preds, "--tasks", "linguistic", "--langs", "th",
                   "--output-dir", tmp_path)
    assert proc.returncode == 2
    assert f"{preds} line 2: missing key(s) lang, id, prediction" in proc.stderr


def test_language_with_no_scorable_sample_fails_the_run(run_cli, tmp_path):
    preds = tmp_path / "empty.jsonl"
    preds.write_text("")
    proc = run_cli("run", "--predictions", preds, "--tasks", "linguistic", "--langs", "ar",
                   "--output-dir", tmp_path, "--run-name", "e")
    assert proc.returncode == 1
    assert "linguistic/ar/bleu: no sample could be scored" in proc.stderr
    results = json.loads((tmp_path / "e" / "results.json").read_text())
    assert all(s["value"] is None and s["n"] == 0 for s in results["scores"])
