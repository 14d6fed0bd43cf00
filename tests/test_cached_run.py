"""Issue 12: a fully cached re-run never imports torch (2.6 s of a 6.5 s re-run went to resolving
`--dtype auto`), and a hub id loads the snapshot that was fingerprinted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mella_eval.backends.base import cuda_visible_without_torch, local_model_identity
from mella_eval.errors import MellaError

REPO = Path(__file__).resolve().parent.parent

needs_no_gpu = pytest.mark.skipif(cuda_visible_without_torch() is not False,
                                  reason="a GPU may be visible: torch decides bfloat16 support")

# Runs the CLI in-process, then reports whether torch was imported (exit code = the CLI's).
CLI_REPORTING_TORCH = (
    "import sys; from mella_eval.cli import main; rc = main(sys.argv[1:]); "
    "print('TORCH_IMPORTED=' + str('torch' in sys.modules), file=sys.stderr); sys.exit(rc)"
)


@needs_no_gpu
def test_fully_cached_hf_rerun_never_imports_torch(tmp_path, tiny_vlm):
    args = ["run", "--model", str(tiny_vlm), "--backend", "hf", "--tasks", "linguistic",
            "--langs", "th", "--limit", "2", "--output-dir", str(tmp_path), "--run-name", "r",
            "--cache-dir", str(tmp_path / "cache")]
    command = [sys.executable, "-c", CLI_REPORTING_TORCH, *args]
    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "TORCH_IMPORTED=True" in first.stderr  # the check can fail: generating needs torch
    results = (tmp_path / "r" / "results.json").read_bytes()
    second = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert "2 reused from the response store, 0 new" in second.stderr
    assert "TORCH_IMPORTED=False" in second.stderr, second.stderr[-2000:]
    saved = json.loads(results)
    again = json.loads((tmp_path / "r" / "results.json").read_bytes())
    assert again.get("model") == saved.get("model")


def identity_in_subprocess(backend: str, model: str, dtype: str = "auto") -> dict:
    code = (
        "import json, sys\n"
        f"from mella_eval.backends.{'hf' if backend == 'hf' else 'vllm_backend'} import "
        f"{'HFBackend as B' if backend == 'hf' else 'VLLMBackend as B'}\n"
        f"identity = B({model!r}, dtype={dtype!r}).cache_identity()\n"
        "print(json.dumps({'identity': identity, 'torch': 'torch' in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_no_gpu
@pytest.mark.parametrize("backend", ["hf", "vllm"])
def test_cache_identity_with_dtype_auto_imports_no_torch_and_is_unchanged(backend, tiny_vlm):
    report = identity_in_subprocess(backend, str(tiny_vlm))
    assert report["torch"] is False
    assert report["identity"]["dtype"] == "float32"  # today's key on CPU: stored responses stay valid


def test_cuda_visibility_without_torch(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert cuda_visible_without_torch() is False
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert cuda_visible_without_torch() is False
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os.path, "exists", lambda path: path == "/dev/nvidiactl")
    assert cuda_visible_without_torch() is None  # a device node: only torch can tell
    monkeypatch.setattr(os.path, "exists", lambda path: False)
    assert cuda_visible_without_torch() is False


def fake_hub_model(root: Path, repo: str, sha: str, source: Path) -> Path:
    """Hugging Face cache layout whose snapshot holds a copy of a real model folder."""
    import shutil

    folder = root / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(sha)
    snapshot = folder / "snapshots" / sha
    shutil.copytree(source, snapshot)
    return snapshot


@pytest.mark.parametrize("backend", ["hf", "vllm"])
def test_hub_id_loads_the_fingerprinted_snapshot(tmp_path, monkeypatch, backend):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "qwen2_vl", "architectures": ["X"]}')
    snapshot = fake_hub_model(tmp_path / "hub", "org/name", "a" * 40, model)
    if backend == "hf":
        from mella_eval.backends.hf import HFBackend as Backend
    else:
        from mella_eval.backends.vllm_backend import VLLMBackend as Backend
    loader = Backend("org/name", dtype="float32")
    identity = loader.cache_identity()
    assert identity["revision"] == "a" * 40
    assert identity == {**identity, **local_model_identity("org/name")}
    # refs/main moves after the identity was taken: the backend still loads what it fingerprinted.
    fake_hub_model(tmp_path / "hub", "org/name", "b" * 40, model)
    (tmp_path / "hub" / "models--org--name" / "refs" / "main").write_text("b" * 40)
    assert loader.resolved() == (str(snapshot), "a" * 40)
    assert Backend("org/name", dtype="float32").resolved()[1] == "b" * 40
    loaded = []

    def refuse(path, *rest):  # what the backend hands to transformers / vLLM, then stop
        loaded.append(str(path))
        raise MellaError("stop here")

    if backend == "hf":
        import mella_eval.backends.hf as module

        monkeypatch.setattr(module, "_load", refuse)
        with pytest.raises(MellaError, match="stop here"):
            loader._ensure_loaded()
    else:
        pytest.importorskip("vllm")
        import mella_eval.backends.vllm_backend as module

        monkeypatch.setattr(module, "architecture", refuse)
        with pytest.raises(MellaError, match="stop here"):
            loader.start(1)
    assert loaded == [str(snapshot)]
