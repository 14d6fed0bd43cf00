"""Exit codes of `mella-eval run`: failed samples fail a run (--max-failure-rate), a crash is not a
regression (its own code, one line), a full disk says what was saved where, SIGTERM is Ctrl-C."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fault_server import FaultServer, error, reply
from mella_eval import errors
from mella_eval.cli import main
from prediction_runs import SAMPLE_ROWS

REPO = Path(__file__).resolve().parent.parent


def predictions(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps({"task": "linguistic", "lang": r["lang"], "id": r["id"],
                                        "prediction": r["references"][0]}, ensure_ascii=False) + "\n"
                            for r in rows), encoding="utf-8")
    return path


THAI = [r for r in SAMPLE_ROWS if r["lang"] == "th"]


def run_predictions(tmp_path, rows, *extra) -> int:
    return main(["run", "--predictions", str(predictions(tmp_path / "p.jsonl", rows)), "--tasks", "linguistic",
                 "--langs", "th", "--output-dir", str(tmp_path), "--run-name", "r", *extra])


def test_one_prediction_of_eight_fails_the_run_and_keeps_the_results(tmp_path, capsys):
    """BLEU 100 from 1 of 8 samples is not a pass: exit 1, results written, `failed` shown."""
    assert run_predictions(tmp_path, THAI[:1]) == errors.EXIT_FAILED
    out, err = capsys.readouterr()
    assert "7 of 8 samples failed (87.5% > --max-failure-rate 0.0%): linguistic/th 7/8" in err
    assert "7/8" in out and "(1 ok, 7 failed)" in out  # the summary table
    results = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    assert results["failures"] == {"samples": 8, "failed": 7, "failure_rate": 0.875, "max_failure_rate": 0.0,
                                   "by_task_lang": [{"task": "linguistic", "lang": "th", "samples": 8,
                                                     "failed": 7}]}
    assert results["run"]["config"]["max_failure_rate"] == 0.0
    assert next(s for s in results["scores"] if s["metric"] == "bleu")["value"] == pytest.approx(100.0)


@pytest.mark.parametrize("answered, limit, code", [(8, "0", 0), (7, "0", 1), (7, "0.125", 0), (6, "0.125", 1)])
def test_max_failure_rate_is_the_largest_share_that_passes(tmp_path, answered, limit, code):
    assert run_predictions(tmp_path, THAI[:answered], "--max-failure-rate", limit) == code


def test_server_errors_on_a_third_of_requests_fail_the_run(tmp_path, capsys):
    """The issue's case: a third of the requests answered 500, the survivors scored, exit 0."""
    with FaultServer(script=lambda req: error(500) if req.index % 3 == 0 else reply()) as server:
        code = main(["run", "--backend", "openai", "--base-url", server.base_url, "--model", server.model,
                     "--max-retries", "0", "--concurrency", "1", "--tasks", "linguistic", "--langs", "th",
                     "--output-dir", str(tmp_path), "--run-name", "r", "--no-cache"])
    assert code == errors.EXIT_FAILED
    results = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    assert results["failures"]["failed"] == 3  # requests 0, 3 and 6 of 8
    assert "3 of 8 samples failed" in capsys.readouterr().err


def test_unexpected_error_is_one_line_with_its_own_exit_code(tmp_path, monkeypatch, capsys):
    """A bug must not read as "a gate failed" (1) in CI."""
    import mella_eval.evaluator

    def broken(config):
        raise KeyError("scores")

    monkeypatch.setattr(mella_eval.evaluator, "run", broken)
    assert run_predictions(tmp_path, THAI) == errors.EXIT_INTERNAL == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("mella-eval: internal error: KeyError: 'scores' at test_exit_codes.py:")
    assert "a bug in mella-eval" in err


def test_unexpected_error_through_the_command(tmp_path):
    """A real crash in a subprocess: exit 3, one line; MELLA_TRACEBACK=1 shows the traceback."""
    code = ("import sys, mella_eval.evaluator as e, mella_eval.cli as c\n"
            "e.run = lambda config: 1 / 0\n"
            "sys.exit(c.main(sys.argv[1:]))")
    args = ["run", "--predictions", str(predictions(tmp_path / "p.jsonl", THAI)), "--tasks", "linguistic",
            "--langs", "th", "--output-dir", str(tmp_path)]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "mella-eval: internal error: ZeroDivisionError: division by zero" in proc.stderr
    debug = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO,
                           timeout=120, env={**os.environ, "MELLA_TRACEBACK": "1"})
    assert debug.returncode == 3 and "Traceback" in debug.stderr


def test_full_disk_says_what_was_saved_where_and_the_rerun_generates_nothing(tmp_path, monkeypatch, capsys):
    import mella_eval.evaluator

    real_write = mella_eval.evaluator.write_run

    def full_disk(run_dir, results, records):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    cache = tmp_path / "cache"
    with FaultServer(default=reply()) as server:
        cmd = ["run", "--backend", "openai", "--base-url", server.base_url, "--model", server.model,
               "--tasks", "linguistic", "--langs", "th", "--output-dir", str(tmp_path / "out"),
               "--run-name", "r", "--cache-dir", str(cache)]
        monkeypatch.setattr(mella_eval.evaluator, "write_run", full_disk)
        assert main(cmd) == errors.EXIT_BAD_INPUT
        err = capsys.readouterr().err
        assert (f"cannot write the results to {tmp_path / 'out' / 'r'}: No space left on device; the model "
                f"responses finished so far are saved in the response store {cache}; run the same "
                "command again to resume") in err
        assert "Traceback" not in err
        sent = len(server.requests)
        assert sent == 8
        monkeypatch.setattr(mella_eval.evaluator, "write_run", real_write)
        assert main(cmd) == 0
        assert len(server.requests) == sent  # nothing generated again
    assert (tmp_path / "out" / "r" / "results.json").is_file()


def test_results_folder_that_cannot_be_created_is_one_line(tmp_path, capsys):
    """An OSError from the environment outside the results write is exit 2 too, not a crash."""
    (tmp_path / "file").write_text("not a folder")
    assert main(["run", "--predictions", str(predictions(tmp_path / "p.jsonl", THAI)), "--tasks", "linguistic",
                 "--langs", "th", "--output-dir", str(tmp_path / "file"), "--run-name", "r"]) == errors.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err and "mella-eval: error:" in err


def test_sigterm_is_handled_like_ctrl_c_and_says_how_to_resume(tmp_path):
    cache = tmp_path / "cache"
    with FaultServer(default=reply(latency=0.2)) as server:
        cmd = [sys.executable, "-m", "mella_eval", "run", "--backend", "openai", "--base-url", server.base_url,
               "--model", server.model, "--concurrency", "1", "--tasks", "linguistic", "--langs", "th,vi",
               "--output-dir", str(tmp_path), "--run-name", "r", "--cache-dir", str(cache)]
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(server.requests) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM == 143, err
        assert "Traceback" not in err
        assert (f"mella-eval: interrupted (SIGTERM) before results were written: the model responses "
                f"finished so far are saved in the response store {cache}; run the same command again "
                "to resume") in err
        assert not (tmp_path / "r" / "results.json").exists()
        before = len(server.requests)
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        reused = json.loads((tmp_path / "r" / "results.json").read_text())["run"]["execution"]["requests"]["reused"]
        assert reused >= 3 and len(server.requests) - before == 16 - reused


def test_exit_codes_are_in_the_help():
    proc = subprocess.run([sys.executable, "-m", "mella_eval", "run", "--help"], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    codes = proc.stdout.split("exit codes:")[1]
    for code in ("0 ", "1 ", "2 ", "3 ", "130", "143"):
        assert code in codes


def test_max_image_mb_and_external_images_reach_the_loader(tmp_path, copy_sample, capsys):
    """--max-image-mb caps each image file; --allow-external-images lets rows leave the folder."""
    thai = [json.loads(line) for line in (copy_sample / "samples.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["lang"] == "th"]
    preds = predictions(tmp_path / "p.jsonl", thai)
    base = ["run", "--predictions", str(preds), "--tasks", "linguistic", "--langs", "th",
            "--data-dir", str(copy_sample), "--output-dir", str(tmp_path), "--max-failure-rate", "1"]

    def reasons(name):
        rows = [json.loads(line) for line in (tmp_path / name / "samples.jsonl").open(encoding="utf-8")]
        return [r["reason"] for r in rows if r["status"] != "ok"]

    limit = int(0.012 * (1 << 20))  # between the sizes of the bundled images (7-18 KB)
    too_big = [r for r in thai if (copy_sample / r["image"]).stat().st_size > limit]
    assert 0 < len(too_big) < len(thai)
    assert main([*base, "--run-name", "small", "--max-image-mb", "0.012"]) == 0
    small = reasons("small")
    assert len(small) == len(too_big) and all("--max-image-mb" in reason for reason in small), small
    results = json.loads((tmp_path / "small" / "results.json").read_text(encoding="utf-8"))
    assert results["run"]["config"]["max_image_bytes"] == limit

    outside = tmp_path / "outside.jpg"
    outside.write_bytes((copy_sample / "images" / "astronaut.jpg").read_bytes())
    rows = (copy_sample / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    first_th = next(i for i, line in enumerate(rows) if line.strip() and json.loads(line)["lang"] == "th")
    row = json.loads(rows[first_th])
    row["image"] = str(outside)
    rows[first_th] = json.dumps(row, ensure_ascii=False)
    (copy_sample / "samples.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main([*base, "--run-name", "confined"]) == 0
    assert len(reasons("confined")) == 1
    assert main([*base, "--run-name", "allowed", "--allow-external-images"]) == 0
    assert reasons("allowed") == []
    # A task file in an --include-path folder is trusted with images outside its dataset too.
    trusted = tmp_path / "my_tasks"
    trusted.mkdir()
    (trusted / "linguistic.yaml").write_text((REPO / "tasks" / "linguistic.yaml").read_text(encoding="utf-8"),
                                             encoding="utf-8")
    assert main([*base, "--run-name", "trusted", "--tasks", str(trusted / "linguistic.yaml"),
                 "--include-path", str(trusted)]) == 0
    assert reasons("trusted") == []


def test_only_task_files_directly_in_an_include_path_may_name_outside_images(tmp_path):
    """The same trust scope as hooks: a task file in a subfolder of an --include-path folder
    (e.g. a downloaded dataset) is data, and its rows stay inside their folder."""
    from types import SimpleNamespace

    from mella_eval.evaluator import _image_policy

    trusted = tmp_path / "mytasks"
    (trusted / "downloaded").mkdir(parents=True)
    config = SimpleNamespace(allow_external_images=False, include_paths=[trusted], max_image_bytes=1 << 20)
    direct = SimpleNamespace(file=trusted / "t.yaml")
    nested = SimpleNamespace(file=trusted / "downloaded" / "t.yaml")
    assert _image_policy(config, direct)["allow_external_images"] is True
    assert _image_policy(config, nested)["allow_external_images"] is False
    config.allow_external_images = True
    assert _image_policy(config, nested)["allow_external_images"] is True
