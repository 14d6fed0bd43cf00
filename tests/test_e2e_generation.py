"""End to end on the bundled sample with the tiny model: transformers and a real vLLM engine."""

import json

import pytest

from mella_eval.languages import MELLA_LANGS

pytestmark = pytest.mark.slow


def load(run_dir):
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    samples = [json.loads(l) for l in (run_dir / "samples.jsonl").open(encoding="utf-8")]
    return results, samples


def test_hf_run_covers_all_languages_and_the_results_contract(hf_sample_run):
    results, samples = load(hf_sample_run)
    run = results["run"]
    assert run["backend"] == "hf" and run["langs"] == list(MELLA_LANGS)
    assert run["model_identity"]["dtype"] == "float32" and run["model_identity"]["device"] == "cpu"
    assert len(run["model_identity"]["chat_template_sha256"]) == 64
    assert {"transformers", "torch", "sacrebleu"} <= set(run["versions"])
    assert {(s["lang"], s["metric"]) for s in results["scores"]} >= {
        (lang, m) for lang in MELLA_LANGS for m in ("bleu", "chrf", "chrf++")}  # the task may add more
    assert all(s["value"] is not None and s["n"] >= 6 and s["failed"] == 0 for s in results["scores"])
    assert results["tasks"]["linguistic"]["sha256"]
    assert len(samples) == run["counts"]["samples"] == run["counts"]["ok"]
    for s in samples:
        assert {"task", "lang", "id", "prompt", "prediction", "references", "status", "prompt_hash"} <= set(s)
        assert s["status"] == "ok" and isinstance(s["prediction"], str) and s["prediction"]
        assert (hf_sample_run / "thumbs" / f"{s['image_sha256'][0]}.jpg").is_file()


def test_vllm_and_hf_greedy_predictions_are_identical(hf_sample_run, vllm_sample_run):
    hf_results, hf_samples = load(hf_sample_run)
    vllm_results, vllm_samples = load(vllm_sample_run)
    assert vllm_results["run"]["backend"] == "vllm"
    assert vllm_results["run"]["model_identity"]["dtype"] == "float32"
    hf_pred = {(s["lang"], s["id"]): s["prediction"] for s in hf_samples}
    vllm_pred = {(s["lang"], s["id"]): s["prediction"] for s in vllm_samples}
    assert hf_pred.keys() == vllm_pred.keys() and len(hf_pred) >= 48
    mismatched = [k for k in hf_pred if hf_pred[k] != vllm_pred[k]]
    assert not mismatched, mismatched[:5]
    assert [s["value"] for s in hf_results["scores"]] == [s["value"] for s in vllm_results["scores"]]


def test_vllm_data_parallel_replicas_give_identical_results(vllm_sample_run, tmp_path, run_cli, tiny_vlm):
    proc = run_cli("run", "--model", tiny_vlm, "--backend", "vllm", "--data-parallel-size", "2",
                   "--max-model-len", "512", "--tasks", "linguistic", "--langs", "ar,th,ko",
                   "--no-cache", "--output-dir", tmp_path, "--run-name", "dp", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "started 2 vLLM replicas" in proc.stderr
    _, dp_samples = load(tmp_path / "dp")
    _, one_samples = load(vllm_sample_run)
    one = {(s["lang"], s["id"]): s["prediction"] for s in one_samples}
    assert dp_samples and all(s["prediction"] == one[(s["lang"], s["id"])] for s in dp_samples)
