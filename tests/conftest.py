"""Shared fixtures: a tiny random-weight VLM built offline, the bundled sample, real servers.

Heavy fixtures are session-scoped and built once per test run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO / "tasks" / "data" / "mella_sample"

# One CPU thread: tiny models generate far faster, and tests stay deterministic.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("MELLA_PROGRESS", "off")


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory) -> Path:
    """Folder of a tiny random-weight Qwen2-VL (tokenizer + processor), built by the repo script."""
    out = tmp_path_factory.mktemp("models") / "tiny-vlm"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_tiny_vlm.py"), str(out)],
                   check=True, capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE_DIR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http_ok(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def stop_process_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def vllm_server(tiny_vlm, tmp_path_factory):
    """A real vLLM OpenAI-compatible server on 127.0.0.1 serving the tiny model.

    Yields {"base_url": "http://127.0.0.1:PORT/v1", "model": NAME}. Started once per session,
    stopped (whole process group) at the end. Structured outputs via xgrammar without
    whitespace, so even a random model returns schema-valid JSON.
    """
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm-server") / "server.log"
    name = "tiny-vlm"
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(tiny_vlm), "--served-model-name", name,
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float32", "--max-model-len", "4096", "--max-num-seqs", "16",
        "--enforce-eager", "--limit-mm-per-prompt", '{"image": 2}',
        "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"})
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health", timeout=240, proc=proc)
    except Exception:
        stop_process_group(proc)
        raise RuntimeError("vLLM server failed to start:\n" + log_path.read_text()[-4000:])
    try:
        yield {"base_url": f"http://127.0.0.1:{port}/v1", "model": name, "log": log_path}
    finally:
        stop_process_group(proc)


@pytest.fixture
def run_cli():
    """Run `python -m mella_eval ARGS` in a subprocess; returns CompletedProcess (text)."""
    def _run(*args, timeout=600, env=None):
        return subprocess.run([sys.executable, "-m", "mella_eval", *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, cwd=REPO,
                              env={**os.environ, **(env or {})})
    return _run


@pytest.fixture
def copy_sample(tmp_path) -> Path:
    """A writable copy of the bundled sample (to break images or rows in)."""
    dst = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, dst)
    return dst


def _cli_run(out_dir: Path, *args) -> Path:
    proc = subprocess.run([sys.executable, "-m", "mella_eval", "run", *map(str, args),
                           "--output-dir", str(out_dir.parent), "--run-name", out_dir.name],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"mella-eval run failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return out_dir


@pytest.fixture(scope="session")
def hf_sample_run(tiny_vlm, tmp_path_factory) -> Path:
    """The tiny model on the whole bundled sample (8 languages) with --backend hf."""
    return _cli_run(tmp_path_factory.mktemp("runs") / "hf", "--model", tiny_vlm, "--backend", "hf",
                    "--tasks", "linguistic", "--langs", "all", "--no-cache")


@pytest.fixture(scope="session")
def vllm_sample_run(tiny_vlm, tmp_path_factory) -> Path:
    """The same run through a real vLLM engine (vllm-cpu here)."""
    return _cli_run(tmp_path_factory.mktemp("runs") / "vllm", "--model", tiny_vlm, "--backend", "vllm",
                    "--max-model-len", "512", "--tasks", "linguistic", "--langs", "all", "--no-cache")


@pytest.fixture(scope="session")
def tiny_family(tmp_path_factory):
    """Build (once per session) a tiny checkpoint of a VLM family: tiny_family("gemma3") -> Path.
    The families are those of scripts/tiny_families.py."""
    sys.path.insert(0, str(REPO / "scripts"))
    import tiny_families

    built: dict[str, Path] = {}

    def build(family: str) -> Path:
        if family not in built:
            built[family] = tiny_families.build_family(family, tmp_path_factory.mktemp("families") / family)
        return built[family]
    return build
