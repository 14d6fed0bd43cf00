"""The console shows mella-eval's lines; the engines' output (fds 1 and 2, subprocesses
included) goes to the run folder's run.log; -v shows it live too."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from mella_eval.progress import LineProgress, progress_bar
from mella_eval.run_log import LOG_NAME, console
from prediction_runs import SAMPLE_ROWS

REPO = Path(__file__).resolve().parent.parent

# A fake "engine": the C-level and subprocess output a real one writes, then mella-eval's run.
ENGINE = r"""
import os, subprocess, sys
from mella_eval import evaluator
real_run = evaluator.run

def noisy_run(config):
    os.write(2, b"W1201 torch/_library/triton.py:53] Triton not available\n")
    subprocess.run([sys.executable, "-c", "import sys; print('(EngineCore pid=1) INFO engine core'); "
                    "print('engine stderr', file=sys.stderr)"], check=True)
    print("python-level library print")
    import warnings; warnings.warn("a FutureWarning from a library", FutureWarning)
    return real_run(config)

evaluator.run = noisy_run
from mella_eval.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_cli(tmp_path: Path, *extra: str, env_extra: dict | None = None):
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"task": "linguistic", "lang": r["lang"], "id": r["id"],
                                         "prediction": r["references"][0]}) + "\n"
                             for r in SAMPLE_ROWS), encoding="utf-8")
    env = {**os.environ, "MELLA_PROGRESS": "auto", **(env_extra or {})}
    return subprocess.run([sys.executable, "-c", ENGINE, "run", "--predictions", str(preds),
                           "--langs", "th,vi", "--output-dir", str(tmp_path / "out"), "--run-name", "r",
                           *extra], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


def test_engine_output_goes_to_run_log_not_the_console(tmp_path):
    done = run_cli(tmp_path)
    assert done.returncode == 0, done.stderr
    console_text = done.stdout + done.stderr
    for noise in ("Triton not available", "engine core", "engine stderr", "python-level library print",
                  "FutureWarning"):
        assert noise not in console_text
    log = (tmp_path / "out" / "r" / LOG_NAME).read_text(encoding="utf-8")
    for noise in ("Triton not available", "(EngineCore pid=1) INFO engine core", "engine stderr",
                  "python-level library print", "a FutureWarning from a library"):
        assert noise in log
    # The summary is on the console, and names the log, the results and the report.
    assert "linguistic" in done.stdout and "bleu" in done.stdout
    assert f"log:     {tmp_path / 'out' / 'r' / LOG_NAME}" in done.stdout
    assert f"results: {tmp_path / 'out' / 'r' / 'results.json'}" in done.stdout
    assert "report:  mella-eval report" in done.stdout
    assert "failed per task: linguistic 0/16" in done.stdout
    assert not (tmp_path / "out" / f"r.{LOG_NAME}").exists()  # moved into the run folder


def test_verbose_shows_the_engine_output_live_and_logs_it(tmp_path):
    done = run_cli(tmp_path, "-v")
    assert done.returncode == 0, done.stderr
    for noise in ("Triton not available", "engine core", "engine stderr"):
        assert noise in done.stderr + done.stdout
        assert noise in (tmp_path / "out" / "r" / LOG_NAME).read_text(encoding="utf-8")


def test_a_failed_run_names_its_log(tmp_path):
    # The fake engine wrote its output, then the run fails (a task that needs a judge, run
    # without one): the error stays one line, and names the log, left beside the run folder.
    done = run_cli(tmp_path, "--tasks", "culture")
    log = tmp_path / "out" / f"r.{LOG_NAME}"
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "need a judge" in done.stderr and done.stderr.endswith(f"; the engines' log: {log}\n")
    assert "engine stderr" in log.read_text(encoding="utf-8")


def test_a_run_failing_before_any_output_leaves_no_log(tmp_path, capsys):
    from mella_eval.cli import main

    (tmp_path / "p.jsonl").write_text("", encoding="utf-8")
    assert main(["run", "--predictions", str(tmp_path / "p.jsonl"), "--tasks", "culture",
                 "--output-dir", str(tmp_path / "out"), "--run-name", "r"]) == 2
    assert "need a judge" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob(f"*{LOG_NAME}"))


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_line_progress_every_interval_with_counts_rate_and_eta():
    clock, stream = Clock(), io.StringIO()
    bar = LineProgress(100, "generate (vllm)", stream, interval=10, clock=clock)
    clock.t = 30  # an engine starting: no request finished yet
    bar.update()  # the first request: the rate is counted from here, without it
    assert stream.getvalue().splitlines() == ["mella-eval: generate (vllm): 1/100 (1%), 0.0 req/s, ETA ?"]
    for _ in range(20):
        clock.t += 1
        bar.update()
    # Then a line every 10 s: 10 more done in the 10 s since the first (1.0/s, 89 left), 20 in 20 s.
    assert stream.getvalue().splitlines()[1:] == [
        "mella-eval: generate (vllm): 11/100 (11%), 1.0 req/s, ETA 1m29s",
        "mella-eval: generate (vllm): 21/100 (21%), 1.0 req/s, ETA 1m19s"]
    clock.t += 5
    bar.update(79)
    bar.close()
    assert stream.getvalue().splitlines()[-1] == \
        "mella-eval: generate (vllm): 100/100 (100%), 4.0 req/s, done in 55s"


def test_a_first_chunk_finishing_at_once_does_not_inflate_the_rate():
    clock, stream = Clock(), io.StringIO()
    bar = LineProgress(4096, "generate (vllm)", stream, interval=10, clock=clock)
    clock.t = 30
    bar.update(1024)  # a whole chunk reported at one instant
    clock.t = 40.0001
    bar.update(1)
    clock.t = 50.0002
    bar.update(99)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "mella-eval: generate (vllm): 1024/4096 (25%), 0.0 req/s, ETA ?"
    assert lines[-1].startswith("mella-eval: generate (vllm): 1124/4096 (27%), 5.0 req/s")


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("MELLA_PROGRESS", "auto")
    monkeypatch.setattr(console, "_err", io.StringIO())
    assert isinstance(progress_bar(5, "x"), LineProgress)
    monkeypatch.setattr(console, "_err", Tty())
    bar = progress_bar(5, "x")
    assert not isinstance(bar, LineProgress)
    bar.close()
    monkeypatch.setenv("MELLA_PROGRESS", "off")
    quiet = progress_bar(5, "x")
    quiet.update(5)
    quiet.close()
    assert console._err.getvalue() .count("mella-eval: x") >= 1  # only the bar wrote


def test_an_engine_failure_names_its_cause_from_the_log(tmp_path, capsys, monkeypatch):
    """vLLM's own error says only "See root cause above"; the cause is in run.log."""
    from mella_eval import evaluator
    from mella_eval.cli import main
    from mella_eval.errors import MellaError

    def failing_engine(config):
        os.write(2, b"(EngineCore pid=9) ERROR [core.py:1] ValueError: Available memory on node 0 "
                    b"(7.22/14.84 GiB) on startup is less than desired CPU memory utilization\n")
        raise MellaError("M cannot run on --backend vllm: RuntimeError: Engine core initialization "
                         "failed. See root cause above.")

    monkeypatch.setattr(evaluator, "run", failing_engine)
    preds = tmp_path / "p.jsonl"
    preds.write_text("", encoding="utf-8")
    assert main(["run", "--predictions", str(preds), "--output-dir", str(tmp_path), "--run-name", "r"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "; the engine's error: ValueError: Available memory on node 0 " \
        "(7.22/14.84 GiB) on startup is less than desired CPU memory utilization; the engines' log: " in err
