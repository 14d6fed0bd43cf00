"""Never lose or repeat work: re-runs reuse everything, a killed run resumes with only the missing
requests, and the results equal those of an uninterrupted run.

The model under test and the judge are OpenAI-compatible servers here (the fault server with a
fixed latency), driven by a real `mella-eval` subprocess that is killed with SIGKILL.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fault_server import FaultServer, reply, reply_json
from mella_eval.store import ResponseStore

REPO = Path(__file__).resolve().parent.parent
VERDICT = {"rationale": "specific", "thickness": 4, "faithfulness": 4, "fluency": 5, "label": "thick"}


def cli(*args):
    return [sys.executable, "-m", "mella_eval", *map(str, args)]


def stable(run_dir: Path) -> tuple[dict, bytes]:
    """results.json without what legitimately differs between runs, and samples.jsonl bytes."""
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    results["run"].pop("execution")
    results["run"]["config"].pop("cache_dir")
    return results, (run_dir / "samples.jsonl").read_bytes()


def kill_after(cmd, server: FaultServer, n_requests: int, timeout: float = 120) -> None:
    """Start `cmd`, SIGKILL it once the server has received `n_requests`, wait for it to die."""
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    while len(server.requests) < n_requests:
        if proc.poll() is not None:
            raise AssertionError(f"run ended before the kill: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the server never saw enough requests")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def stored(cache: Path, kind: str) -> int:
    with ResponseStore(cache) as store:
        return store.stats().get(kind, {}).get("ok", 0)


def test_generation_killed_then_resumed_equals_uninterrupted(tmp_path):
    langs = "ar,th,ru,vi"
    with FaultServer(default=reply(latency=0.15)) as server:
        base = ["run", "--backend", "openai", "--base-url", server.base_url, "--model", server.model,
                "--tasks", "linguistic", "--langs", langs, "--concurrency", "2"]
        # An uninterrupted reference run, with its own store.
        ref = subprocess.run(cli(*base, "--output-dir", tmp_path / "ref", "--run-name", "r",
                                 "--cache-dir", tmp_path / "ref-cache"), cwd=REPO, capture_output=True, text=True)
        assert ref.returncode == 0, ref.stderr
        total = len(server.requests)
        assert total == 32

        cache = tmp_path / "cache"
        cmd = cli(*base, "--output-dir", tmp_path / "out", "--run-name", "r", "--cache-dir", cache)
        server.requests.clear()
        kill_after(cmd, server, 12)
        done_before_kill = stored(cache, "generation")
        assert 0 < done_before_kill < total  # committed as they arrived, not at the end
        assert not (tmp_path / "out" / "r" / "results.json").exists()

        server.requests.clear()
        resumed = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        assert len(server.requests) == total - done_before_kill  # only the missing ones
        execution = json.loads((tmp_path / "out" / "r" / "results.json").read_text())["run"]["execution"]
        assert execution["requests"] == {"reused": done_before_kill, "new": total - done_before_kill, "failed": 0}
        assert f"{done_before_kill} reused from the response store, {total - done_before_kill} new" in resumed.stderr

        # The same command once more: nothing new at all, byte-identical files.
        first = stable(tmp_path / "out" / "r")
        server.requests.clear()
        again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        assert again.returncode == 0 and len(server.requests) == 0
        assert stable(tmp_path / "out" / "r") == first

    ref_results, ref_samples = stable(tmp_path / "ref" / "r")
    out_results, out_samples = stable(tmp_path / "out" / "r")
    ref_results["run"]["config"].pop("output_dir"), out_results["run"]["config"].pop("output_dir")
    assert out_samples == ref_samples
    assert out_results == ref_results


def test_judging_killed_then_resumed_equals_uninterrupted(tmp_path, sample_dir):
    rows = [json.loads(l) for l in (sample_dir / "samples.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r["lang"] in ("ru", "th", "ko")]
    preds = tmp_path / "p.jsonl"
    with preds.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({"task": "culture", "lang": r["lang"], "id": r["id"],
                                 "prediction": r["alt_text"]}, ensure_ascii=False) + "\n")
    with FaultServer(default=reply_json(VERDICT, latency=0.15)) as server:
        base = ["run", "--predictions", preds, "--tasks", "culture", "--langs", "ru,th,ko",
                "--judge-model", server.model, "--judge-base-url", server.base_url,
                "--judge-concurrency", "2"]
        ref = subprocess.run(cli(*base, "--output-dir", tmp_path / "ref", "--run-name", "r",
                                 "--cache-dir", tmp_path / "ref-cache"), cwd=REPO, capture_output=True, text=True)
        assert ref.returncode == 0, ref.stderr
        total = len(server.requests)
        assert total == len(rows)

        cache = tmp_path / "cache"
        cmd = cli(*base, "--output-dir", tmp_path / "out", "--run-name", "r", "--cache-dir", cache)
        server.requests.clear()
        kill_after(cmd, server, 10)
        judged_before_kill = stored(cache, "judgement")
        assert 0 < judged_before_kill < total

        server.requests.clear()
        resumed = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        assert len(server.requests) == total - judged_before_kill
        results = json.loads((tmp_path / "out" / "r" / "results.json").read_text())
        assert results["run"]["execution"]["judge_requests"]["reused"] == judged_before_kill

    ref_results, ref_samples = stable(tmp_path / "ref" / "r")
    out_results, out_samples = stable(tmp_path / "out" / "r")
    ref_results["run"]["config"].pop("output_dir"), out_results["run"]["config"].pop("output_dir")
    assert out_samples == ref_samples
    assert out_results == ref_results


@pytest.mark.slow
def test_hf_rerun_is_fully_cached_and_byte_identical(tmp_path, tiny_vlm):
    cmd = cli("run", "--model", tiny_vlm, "--backend", "hf", "--tasks", "linguistic", "--langs", "th,sr",
              "--limit", "3", "--output-dir", tmp_path, "--run-name", "r", "--cache-dir", tmp_path / "cache")
    first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = stable(tmp_path / "r")
    second = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "6 reused from the response store, 0 new" in second.stderr
    assert stable(tmp_path / "r") == before
