"""Drift gates against the committed baselines in results/baseline/ (see scripts/rebaseline.sh).

A change to a prompt, a tokenizer or a metric fails here with the compare table and the reason.
To accept such a change on purpose: `bash scripts/rebaseline.sh`, review `git diff results/baseline`,
commit.
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BASELINES = REPO / "results" / "baseline"
HOW_TO = "if the change is intended, re-baseline: bash scripts/rebaseline.sh (then review git diff results/baseline)"


def mella(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "mella_eval", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def compare(baseline: Path, candidate: Path, *extra) -> None:
    proc = mella("compare", baseline, candidate, *extra)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{HOW_TO}"


def test_metrics_and_tokenizers_unchanged_on_fixed_predictions(tmp_path):
    run = mella("run", "--predictions", BASELINES / "predictions.jsonl", "--tasks", "culture,linguistic",
                "--langs", "all", "--no-judge", "--output-dir", tmp_path, "--run-name", "reference-predictions")
    assert run.returncode == 0, run.stderr
    compare(BASELINES / "reference-predictions", tmp_path / "reference-predictions", "--exact")


@pytest.mark.slow
def test_tiny_model_on_the_sample_unchanged(tmp_path, tiny_vlm):
    run = mella("run", "--model", tiny_vlm, "--backend", "hf", "--tasks", "culture,linguistic",
                "--langs", "all", "--no-judge", "--no-cache", "--output-dir", tmp_path,
                "--run-name", "tiny-sample")
    assert run.returncode == 0, run.stderr
    compare(BASELINES / "tiny-sample", tmp_path / "tiny-sample")


def test_a_changed_prompt_is_caught(tmp_path):
    """The gate itself: a run whose linguistic prompt differs cannot be compared (exit 2)."""
    task = (REPO / "tasks" / "linguistic.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "tasks"
    changed.mkdir()
    (changed / "linguistic.yaml").write_text(task.replace("bằng tiếng Việt.", "bằng tiếng Việt!"), encoding="utf-8")
    (changed / "culture.yaml").write_text((REPO / "tasks" / "culture.yaml").read_text(encoding="utf-8")
                                          .replace("path: data/mella_sample", f"path: {REPO / 'tasks' / 'data' / 'mella_sample'}"),
                                          encoding="utf-8")
    (changed / "linguistic.yaml").write_text((changed / "linguistic.yaml").read_text(encoding="utf-8")
                                             .replace("path: data/mella_sample", f"path: {REPO / 'tasks' / 'data' / 'mella_sample'}"),
                                             encoding="utf-8")
    run = mella("run", "--predictions", BASELINES / "predictions.jsonl", "--tasks", changed,
                "--langs", "all", "--no-judge", "--output-dir", tmp_path, "--run-name", "r")
    assert run.returncode == 0, run.stderr
    proc = mella("compare", BASELINES / "reference-predictions", tmp_path / "r")
    assert proc.returncode == 2
    assert "prompt hashes differ" in proc.stderr and "linguistic/vi" in proc.stderr
