"""The response store and model fingerprints, with real SQLite files and real processes."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from mella_eval import fingerprint as fp_module
from mella_eval.errors import MellaError
from mella_eval.fingerprint import model_fingerprint
from mella_eval.messages import ImagePart, Message, TextPart, messages_fingerprint, user_message
from mella_eval.store import (
    KEY_VERSION, STORE_FILENAME, NullStore, ResponseStore, default_cache_dir, generation_key,
    judgement_key, open_store, response_key,
)
from mella_eval.tasks import GenerationSettings

REPO = Path(__file__).resolve().parent.parent
CHILD_ENV = {**os.environ, "PYTHONPATH": str(REPO)}

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(200))
IDENTITY = {"backend": "hf", "model": "/models/qwen2-vl-7b", "fingerprint": "ab" * 32,
            "dtype": "bfloat16", "chat_template_sha256": "cd" * 32}
SETTINGS = GenerationSettings(max_new_tokens=64, temperature=0.0, top_p=1.0, seed=0)


def messages(text="Opište obrázek.", image=JPEG, role="user"):
    return (Message(role, (ImagePart(image), TextPart(text))),)


# ---------------------------------------------------------------------------------------------
# Keys


def test_default_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("MELLA_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "mella-eval"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "mella-eval"
    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"


def test_generation_key_changes_with_every_determining_input():
    base = generation_key(IDENTITY, messages(), SETTINGS)
    flipped_image = bytearray(JPEG)
    flipped_image[-1] ^= 1
    variants = {
        "fingerprint": generation_key({**IDENTITY, "fingerprint": "ef" * 32}, messages(), SETTINGS),
        "model path": generation_key({**IDENTITY, "model": "/models/other"}, messages(), SETTINGS),
        "backend": generation_key({**IDENTITY, "backend": "vllm"}, messages(), SETTINGS),
        "served base url": generation_key({**IDENTITY, "base_url": "http://h:8000/v1"}, messages(),
                                          SETTINGS),
        "message text": generation_key(IDENTITY, messages(text="Opište obrázek!"), SETTINGS),
        "image byte": generation_key(IDENTITY, messages(image=bytes(flipped_image)), SETTINGS),
        "role": generation_key(IDENTITY, messages(role="system"), SETTINGS),
        "extra image": generation_key(IDENTITY, (user_message("Opište obrázek.",
                                                              [ImagePart(JPEG)] * 2),), SETTINGS),
        "temperature": generation_key(IDENTITY, messages(), {**SETTINGS.as_dict(), "temperature": 0.7}),
        "max_new_tokens": generation_key(IDENTITY, messages(), {**SETTINGS.as_dict(), "max_new_tokens": 65}),
        "seed": generation_key(IDENTITY, messages(), {**SETTINGS.as_dict(), "seed": 1}),
        "stop": generation_key(IDENTITY, messages(), {**SETTINGS.as_dict(), "stop": ["\n"]}),
    }
    assert base not in variants.values()
    assert len(set(variants.values())) == len(variants), "two different inputs share a key"


def test_generation_key_ignores_what_does_not_determine_the_response():
    base = generation_key(IDENTITY, messages(), SETTINGS)
    reordered = dict(reversed(list(IDENTITY.items())))
    settings_dict = dict(reversed(list(SETTINGS.as_dict().items())))
    settings_dict["temperature"] = 0  # int from YAML == 0.0
    settings_dict["stop"] = ()  # tuple == list
    assert generation_key(reordered, messages(), settings_dict) == base
    # The same image bytes in another object, and the precomputed fingerprint, key the same.
    assert generation_key(IDENTITY, messages(image=bytes(JPEG)), SETTINGS) == base
    assert generation_key(IDENTITY, messages_fingerprint(messages()), SETTINGS) == base
    # A run name or output folder is simply not an input; the key is a pure function.
    assert generation_key(IDENTITY, messages(), SETTINGS) == base


def test_judgement_key_changes_with_judge_rubric_and_inputs():
    judge = {"backend": "openai", "model": "gpt-judge", "base_url": "http://127.0.0.1:9/v1"}
    inputs = {"response": "Một bát phở bò", "lang": "vi", "image_sha256": "00" * 32,
              "keywords": ["phở"]}
    base = judgement_key(judge, "11" * 32, inputs)
    others = [
        judgement_key({**judge, "model": "other-judge"}, "11" * 32, inputs),
        judgement_key(judge, "22" * 32, inputs),
        judgement_key(judge, "11" * 32, {**inputs, "response": "Một bát phở gà"}),
        judgement_key(judge, "11" * 32, {**inputs, "keywords": ["phở", "bò"]}),
    ]
    assert len({base, *others}) == 5
    assert judgement_key(dict(reversed(list(judge.items()))), "11" * 32,
                         dict(reversed(list(inputs.items())))) == base
    # A judgement never collides with a generation built from the same dicts.
    assert response_key("judgement", judge, inputs) != response_key("generation", judge, inputs)


def test_key_is_pinned():
    """Keys address responses stored by earlier runs: if this text changes, bump KEY_VERSION."""
    key = response_key("generation", {"model": "m", "ß": 1.0}, {"temperature": 0.5, "stop": ("x",)})
    canonical = ('{"identity":{"model":"m","ß":1},"key_version":%d,"kind":"generation",'
                 '"payload":{"stop":["x"],"temperature":0.5}}' % KEY_VERSION)
    assert key == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_unkeyable_values_are_refused():
    with pytest.raises(ValueError):
        response_key("generation", IDENTITY, {"temperature": float("nan")})
    with pytest.raises(TypeError):
        response_key("generation", IDENTITY, {"when": object()})
    with pytest.raises(ValueError):
        response_key("answer", IDENTITY, {})


# ---------------------------------------------------------------------------------------------
# Store semantics


def test_errors_are_never_reused_and_an_answer_replaces_them(tmp_path):
    with ResponseStore(tmp_path) as store:
        store.put_error("k", "generation", "HTTP 429")
        assert store.get_many(["k"]) == {}
        assert store.get_errors(["k"]) == {"k": "HTTP 429"}
        store.put_error("k", "generation", "timeout")
        assert store.entry("k")["attempts"] == 2 and store.entry("k")["error"] == "timeout"

        store.put("k", "generation", {"text": "Một bát phở", "usage": {"completion_tokens": 4}})
        assert store.get_many(["k"]) == {"k": {"text": "Một bát phở", "usage": {"completion_tokens": 4}}}
        assert store.get_errors(["k"]) == {}
        assert store.entry("k")["attempts"] == 3

        # Neither a later error nor a second answer replaces the first answer.
        store.put_error("k", "generation", "late failure")
        store.put("k", "generation", {"text": "another"})
        entry = store.entry("k")
        assert entry["status"] == "ok" and entry["value"]["text"] == "Một bát phở"
        assert entry["error"] is None
        assert store.stats() == {"generation": {"ok": 1, "error": 0}}


def test_put_many_one_batch_and_large_lookups(tmp_path):
    with ResponseStore(tmp_path) as store:
        ok = {f"g{i}": {"text": f"t{i}"} for i in range(1200)}
        errors = {f"e{i}": "CUDA out of memory" for i in range(30)}
        store.put_many("generation", ok=ok, errors=errors)
        store.put_many("judgement", ok=[("j1", {"score": 3})], errors=[("j2", "unparsable")])
        got = store.get_many(list(ok) + list(errors) + ["missing"])
        assert got == ok
        assert store.stats() == {"generation": {"ok": 1200, "error": 30},
                                 "judgement": {"ok": 1, "error": 1}}


def test_put_completions_stores_text_usage_and_reasons(tmp_path):
    from mella_eval.backends.base import Completion

    with ResponseStore(tmp_path) as store:
        store.put_completions("generation", [
            ("a", Completion(text="ok", usage={"prompt_tokens": 3})),
            ("b", Completion.failed("ValueError: bad image")),
        ])
        assert store.get_many(["a", "b"]) == {"a": {"text": "ok", "usage": {"prompt_tokens": 3}}}
        assert store.get_errors(["b"]) == {"b": "ValueError: bad image"}


def test_responses_persist_across_reopen(tmp_path):
    with ResponseStore(tmp_path) as store:
        store.put("k", "generation", {"text": "Ежедневная жизнь"})
    assert (tmp_path / STORE_FILENAME).is_file()
    with open_store(tmp_path) as store:
        assert store.get("k") == {"text": "Ежедневная жизнь"}
        assert store.get("missing") is None


def test_null_store_remembers_nothing(tmp_path):
    store = open_store(tmp_path, enabled=False)
    assert isinstance(store, NullStore) and not store.enabled
    with store:
        store.put("k", "generation", {"text": "x"})
        store.put_error("e", "generation", "boom")
        store.put_many("judgement", ok={"j": {}})
        assert store.get_many(["k", "e", "j"]) == {} and store.stats() == {}
    assert not (tmp_path / STORE_FILENAME).exists()


def test_threads_share_one_store(tmp_path):
    with ResponseStore(tmp_path) as store:
        def work(t):
            for i in range(150):
                store.put(f"t{t}-{i}", "judgement", {"score": i})
                assert store.get(f"t{t}-{i}") == {"score": i}

        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.stats() == {"judgement": {"ok": 900, "error": 0}}


def _forked_put(cache_dir):
    # Uses the store object inherited from the parent: it must open its own connection.
    _FORK_STORE.put("from-child", "generation", {"text": "child"})


_FORK_STORE = None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_uses_its_own_connection(tmp_path):
    global _FORK_STORE
    with ResponseStore(tmp_path) as store:
        _FORK_STORE = store
        store.put("from-parent", "generation", {"text": "parent"})
        proc = multiprocessing.get_context("fork").Process(target=_forked_put, args=(tmp_path,))
        proc.start()
        proc.join(30)
        assert proc.exitcode == 0
        assert store.get_many(["from-parent", "from-child"]) == {
            "from-parent": {"text": "parent"}, "from-child": {"text": "child"}}
    _FORK_STORE = None


# ---------------------------------------------------------------------------------------------
# Crashes and concurrent runs (real processes)

KILLED_WRITER = r"""
import sys
from mella_eval.store import ResponseStore
store = ResponseStore(sys.argv[1])
batch = 0
while True:
    store.put_many("generation", ok={f"b{batch}-{j}": {"batch": batch, "j": j, "text": "ß" * 300}
                                     for j in range(5)})
    store.put(f"single{batch}", "judgement", {"batch": batch})
    print(batch, flush=True)
    batch += 1
"""


def test_kill_9_mid_write_keeps_every_committed_row(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tmp_path)], env=CHILD_ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = -1
        deadline = time.monotonic() + 30
        while seen < 300:
            line = proc.stdout.readline()
            assert line, f"writer died: {proc.stderr.read()}"
            seen = int(line)
            assert time.monotonic() < deadline
        os.kill(proc.pid, signal.SIGKILL)  # while it keeps writing
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    printed = [int(x) for x in out.split()]
    last = max([seen, *printed])

    with ResponseStore(tmp_path) as store:
        conn = sqlite3.connect(tmp_path / STORE_FILENAME)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        keys = [f"b{b}-{j}" for b in range(last + 50) for j in range(5)]
        got = store.get_many(keys)
        for b in range(last + 1):  # everything reported as committed is there, intact
            for j in range(5):
                assert got[f"b{b}-{j}"] == {"batch": b, "j": j, "text": "ß" * 300}
            assert store.get(f"single{b}") == {"batch": b}
        for b in range(last + 1, last + 50):  # a batch is all there or not at all
            assert sum(f"b{b}-{j}" in got for j in range(5)) in (0, 5)
        store.put("after-crash", "generation", {"text": "still writable"})
        assert store.get("after-crash") == {"text": "still writable"}


CONCURRENT_WRITER = r"""
import sys
from mella_eval.store import ResponseStore
cache, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = ResponseStore(cache)
print("ready", flush=True)
sys.stdin.readline()
for i in range(n):
    store.put(f"w{worker}-{i}", "generation", {"worker": worker, "i": i})
    if i % 100 == 0:
        store.put_many("judgement", ok={f"w{worker}-j{i}-{k}": {"k": k} for k in range(40)},
                       errors={f"w{worker}-e{i}-{k}": "HTTP 500" for k in range(10)})
    if i % 5 == 0:
        shared = f"shared-{i % 200}"
        if worker == 0:
            store.put(shared, "generation", {"from": worker})
        else:
            store.put_error(shared, "generation", f"failed in {worker}")
print(store.stats(), flush=True)
"""


def test_concurrent_runs_all_land_without_lock_errors(tmp_path):
    workers, n = 3, 3000
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_WRITER, str(tmp_path), str(w), str(n)],
                              env=CHILD_ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(workers)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        for p in procs:  # all start writing at once
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert "locked" not in err.lower()

    with ResponseStore(tmp_path) as store:
        for w in range(workers):
            keys = [f"w{w}-{i}" for i in range(n)]
            assert store.get_many(keys) == {f"w{w}-{i}": {"worker": w, "i": i} for i in range(n)}
        stats = store.stats()
        assert stats["judgement"] == {"ok": workers * (n // 100) * 40, "error": workers * (n // 100) * 10}
        # Whatever the interleaving, the answer from worker 0 wins over the others' errors.
        shared = store.get_many([f"shared-{k}" for k in range(200)])
        assert shared == {f"shared-{k}": {"from": 0} for k in range(0, 200, 5)}
        assert stats["generation"] == {"ok": workers * n + 40, "error": 0}


# ---------------------------------------------------------------------------------------------
# Clear errors


def test_a_file_that_is_not_a_store_is_named(tmp_path):
    (tmp_path / STORE_FILENAME).write_bytes(b"this is not sqlite at all " * 200)
    with pytest.raises(MellaError, match=str(tmp_path / STORE_FILENAME)):
        ResponseStore(tmp_path)


def test_another_apps_database_is_not_taken_over(tmp_path):
    conn = sqlite3.connect(tmp_path / STORE_FILENAME)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(MellaError, match="not a mella-eval response store"):
        ResponseStore(tmp_path)


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    with ResponseStore(tmp_path) as store:
        store.put("k", "generation", {"text": "x"})
    conn = sqlite3.connect(tmp_path / STORE_FILENAME)
    conn.execute("UPDATE store_meta SET value = '99' WHERE name = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(MellaError, match="schema version 99"):
        ResponseStore(tmp_path)


def test_an_uncreatable_cache_dir_is_named(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should go")
    with pytest.raises(MellaError, match="cannot create the cache directory .*not-a-dir"):
        ResponseStore(blocker / "cache")


# ---------------------------------------------------------------------------------------------
# Model fingerprints


@pytest.fixture
def small_limits(monkeypatch):
    """Shrink the size thresholds so a few-hundred-KiB folder exercises the sampled path."""
    monkeypatch.setattr(fp_module, "FULL_HASH_BYTES", 64 << 10)
    monkeypatch.setattr(fp_module, "EDGE_BYTES", 4 << 10)
    monkeypatch.setattr(fp_module, "TENSOR_SAMPLE_BYTES", 256)


def write_safetensors(path: Path, n_tensors=8, tensor_bytes=32 << 10) -> dict:
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for i in range(n_tensors):
        header[f"layer.{i}.weight"] = {"dtype": "F32", "shape": [tensor_bytes // 4],
                                       "data_offsets": [offset, offset + tensor_bytes]}
        offset += tensor_bytes
    header_bytes = json.dumps(header).encode()
    data = bytes((i * 7 + i // 251) % 256 for i in range(offset))
    path.write_bytes(struct.pack("<Q", len(header_bytes)) + header_bytes + data)
    return {"base": 8 + len(header_bytes), "header": header}


def make_model(root: Path) -> dict:
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"model_type": "qwen2_vl", "hidden_size": 64}))
    (root / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages }}"}))
    (root / "README.md").write_text("# A model card\n")
    return write_safetensors(root / "model.safetensors")


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_fingerprint_is_path_independent(tmp_path, small_limits):
    make_model(tmp_path / "a" / "model")
    first = model_fingerprint(tmp_path / "a" / "model")
    assert len(first) == 64
    shutil.copytree(tmp_path / "a" / "model", tmp_path / "elsewhere" / "renamed",
                    copy_function=shutil.copy)  # new mtimes too
    assert model_fingerprint(tmp_path / "elsewhere" / "renamed") == first


def test_fingerprint_sees_weights_header_and_config(tmp_path, small_limits):
    layout = make_model(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    base = model_fingerprint(tmp_path / "m")

    def changed(edit) -> bool:
        shutil.rmtree(tmp_path / "c", ignore_errors=True)
        shutil.copytree(tmp_path / "m", tmp_path / "c")
        edit(tmp_path / "c")
        return model_fingerprint(tmp_path / "c") != base

    tensor3 = layout["base"] + layout["header"]["layer.3.weight"]["data_offsets"][0]
    end5 = layout["base"] + layout["header"]["layer.5.weight"]["data_offsets"][1]
    assert changed(lambda d: flip_byte(d / weights.name, tensor3))  # a tensor's first bytes
    assert changed(lambda d: flip_byte(d / weights.name, end5 - 1))  # a tensor's last bytes
    assert changed(lambda d: flip_byte(d / weights.name, weights.stat().st_size // 2))  # middle
    header_dtype = weights.read_bytes().index(b'"F32"') + 1
    assert changed(lambda d: flip_byte(d / weights.name, header_dtype))  # the header
    assert changed(lambda d: (d / "config.json").write_text('{"model_type": "qwen2_vl", "hidden_size": 65}'))
    assert changed(lambda d: (d / "chat_template.jinja").write_text("{{ other }}"))
    # Model cards and hidden tool folders cannot change an output: ignored.
    assert not changed(lambda d: (d / "README.md").write_text("# Edited card\n"))
    assert not changed(lambda d: ((d / ".cache").mkdir(), (d / ".cache" / "x.lock").write_text("1")))


def test_fingerprint_samples_and_does_not_read_every_byte(tmp_path, small_limits):
    """The documented blind spot: an in-place edit inside a tensor, away from every sample."""
    layout = make_model(tmp_path / "m")
    base = model_fingerprint(tmp_path / "m")
    start, end = layout["header"]["layer.1.weight"]["data_offsets"]
    flip_byte(tmp_path / "m" / "model.safetensors", layout["base"] + (start + end) // 2)
    assert model_fingerprint(tmp_path / "m") == base


def test_fingerprint_of_small_files_is_exact(tmp_path):
    make_model(tmp_path / "m")  # default limits: the 256 KiB weights are hashed in full
    base = model_fingerprint(tmp_path / "m")
    flip_byte(tmp_path / "m" / "model.safetensors", 100_000)
    assert model_fingerprint(tmp_path / "m") != base


def test_fingerprint_of_torch_zip_uses_every_tensor_crc(tmp_path, small_limits):
    def write(path: Path, poke: bool):
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
            for i in range(6):
                data = bytearray(bytes((i + k) % 256 for k in range(40 << 10)))
                if poke and i == 2:
                    data[20 << 10] ^= 1  # inside an unsampled region of the file
                z.writestr(f"archive/data/{i}", bytes(data))
            z.writestr("archive/data.pkl", b"pickle")

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a" / "pytorch_model.bin", poke=False)
    write(tmp_path / "b" / "pytorch_model.bin", poke=True)
    assert model_fingerprint(tmp_path / "a") != model_fingerprint(tmp_path / "b")


def test_fingerprint_of_a_hub_id_is_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert model_fingerprint("Qwen/Qwen2-VL-2B-Instruct") is None


def test_fingerprint_is_memoised_until_a_file_changes(tmp_path, monkeypatch):
    make_model(tmp_path / "m")
    calls = []
    real = fp_module._hash_file
    monkeypatch.setattr(fp_module, "_hash_file", lambda *a: (calls.append(a[1]), real(*a)))
    with ResponseStore(tmp_path / "cache") as store:
        first = model_fingerprint(tmp_path / "m", store=store)
        hashed = len(calls)
        assert model_fingerprint(tmp_path / "m", store=store) == first
        assert len(calls) == hashed  # nothing read again
        config = tmp_path / "m" / "config.json"
        config.write_text(config.read_text().replace("64", "32"))
        os.utime(config, ns=(time.time_ns(), time.time_ns() + 1_000_000))
        assert model_fingerprint(tmp_path / "m", store=store) != first
        assert len(calls) == 2 * hashed
