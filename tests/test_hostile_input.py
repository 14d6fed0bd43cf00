"""Hostile input where text and images enter (issue 11): lone surrogates, odd line separators,
devices/FIFOs/bombs as images, image paths leading out of the dataset folder, bad rows."""

import json
import logging
import os
import struct
import threading
import zlib
from pathlib import Path

import pytest

from fault_server import FaultServer, reply
from mella_eval.api_client import ChatClient, RetryPolicy
from mella_eval.backends.base import Completion
from mella_eval.build import GenerationRequest
from mella_eval.data import load_samples
from mella_eval.errors import MellaError
from mella_eval.generate import generate_all
from mella_eval.predictions import load_predictions
from mella_eval.results import iter_jsonl_objects, read_samples, write_run
from mella_eval.store import ResponseStore
from mella_eval.tasks import GenerationSettings
from mella_eval.text_safety import clean_text
from test_data import linguistic, read_rows, write_rows  # noqa: F401  (the shared fixture)

LONE = "caption \ud83d"  # an emoji cut in half at max_tokens
FAST = RetryPolicy(max_retries=0, base_delay=0.01, max_delay=0.01, jitter=0.0)


def errors_by_id(samples):
    return {s.id: s.error for s in samples}


# -- row 2: lone surrogates are cleaned where text enters ----------------------------------

def test_clean_text_replaces_only_lone_surrogates():
    assert clean_text(LONE) == "caption \ufffd"
    assert clean_text("\udc00x\ud800") == "\ufffdx\ufffd"
    assert clean_text("ok 😀 ไทย") == "ok 😀 ไทย"
    assert clean_text(json.loads('"\\ud83d\\ude00"')) == "😀"  # a real pair is one code point


class FakeBackend:
    name = "fake"

    def __init__(self, text):
        self.text = text

    def cache_identity(self):
        return {"backend": "fake", "model": "m"}

    def generate(self, requests, on_result=None):
        out = [Completion(text=self.text) for _ in requests]
        for i, c in enumerate(out):
            if on_result:
                on_result(i, c)
        return out


def request(i=0):
    return GenerationRequest(task="t", lang="ar", sample_id=str(i), messages=(),
                             settings=GenerationSettings())


def test_lone_surrogate_from_a_backend_reaches_store_and_results(tmp_path):
    store = ResponseStore(tmp_path / "cache")
    completions, _ = generate_all(FakeBackend(LONE), [request()], store)
    text = next(iter(completions.values())).text
    assert text == "caption \ufffd"
    write_run(tmp_path / "run", {"schema_version": 1}, [{"prediction": text}])
    assert read_samples(tmp_path / "run")[0]["prediction"] == "caption \ufffd"
    again, stats = generate_all(FakeBackend("other"), [request()], store)
    assert stats.reused == 1 and next(iter(again.values())).text == "caption \ufffd"


def test_lone_surrogate_in_an_api_reply_is_cleaned():
    with FaultServer(script=[reply(LONE)]) as server:  # sent as JSON "\ud83d"
        client = ChatClient(server.base_url, "sk-x", server.model, policy=FAST, timeout=5)
        result = client.run_all([([{"role": "user", "content": "hi"}], {})])[0]
    assert result.ok and result.text == "caption \ufffd"


def test_an_api_key_echoed_in_a_reply_is_scrubbed():
    key = "sk-live-0123456789abcdef"
    with FaultServer(script=[reply(f"your key is {key}!")]) as server:
        client = ChatClient(server.base_url, key, server.model, policy=FAST, timeout=5)
        result = client.run_all([([{"role": "user", "content": "hi"}], {})])[0]
    assert result.ok and key not in result.text and result.text == "your key is ***!"


def test_predictions_file_with_lone_surrogate_and_bad_encoding(tmp_path):
    good = tmp_path / "p.jsonl"
    good.write_text('{"task": "t", "lang": "ar", "id": "1", "prediction": "ab\\ud83d"}\n', encoding="utf-8")
    assert load_predictions(good) == {("t", "ar", "1"): "ab\ufffd"}
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(b'{"task": "t", "lang": "ar", "id": "1", "prediction": "ok"}\n'
                    b'{"task": "t", "lang": "ar", "id": "2", "prediction": "caf\xe9"}\n')
    with pytest.raises(MellaError, match=r"latin1.jsonl line 2: not UTF-8"):
        load_predictions(bad)


def test_a_run_with_a_lone_surrogate_prediction_writes_its_results(tmp_path):
    from prediction_runs import SAMPLE_ROWS

    from mella_eval.cli import main

    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"task": "linguistic", "lang": r["lang"], "id": r["id"],
                                         "prediction": r["references"][0][:5] + "\ud83d"}) + "\n"
                             for r in SAMPLE_ROWS if r["lang"] == "ar"), encoding="utf-8")
    code = main(["run", "--predictions", str(preds), "--tasks", "linguistic", "--langs", "ar",
                 "--output-dir", str(tmp_path), "--run-name", "r", "--no-cache"])
    assert code == 0
    records = read_samples(tmp_path / "r")
    assert records and all(r["prediction"].endswith("\ufffd") for r in records)


# -- row 3: U+2028 / U+2029 / U+0085 do not split a JSONL record ---------------------------

ODD = "one\u2028two\u2029three\x85four"


def test_samples_jsonl_with_odd_separators_reads_back(tmp_path):
    records = [{"id": "1", "prediction": ODD}, {"id": "2", "prediction": "plain"}]
    write_run(tmp_path / "run", {"schema_version": 1}, records)
    raw = (tmp_path / "run" / "samples.jsonl").read_text(encoding="utf-8")
    assert raw.count("\n") == 2 and "\u2028" not in raw  # escaped on the way out
    assert read_samples(tmp_path / "run") == records
    # A file written raw by another tool (valid JSON) reads too.
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"p": ODD}, ensure_ascii=False) + "\r\n", encoding="utf-8")
    assert [v for _, v in iter_jsonl_objects(other)] == [{"p": ODD}]


def test_dataset_row_with_u2028_in_a_caption_loads(linguistic, copy_sample):
    rows = read_rows(copy_sample)
    rows[0]["references"] = [rows[0]["references"][0] + "\u2028" + "more", *rows[0]["references"][1:]]
    write_rows(copy_sample, rows)
    samples = load_samples(linguistic, ["ar"], data_dir=copy_sample)
    first = next(s for s in samples if s.id == rows[0]["id"])
    assert first.error is None and "\u2028more" in first.references[0]


# -- rows 4 and 5: devices, FIFOs, size cap, decompression bombs -----------------------------

def load_with_timeout(*args, timeout=20, **kwargs):
    out = {}

    def target():
        out["samples"] = load_samples(*args, **kwargs)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "load_samples hung"
    return out["samples"]


def test_devices_and_fifos_are_sample_errors(linguistic, copy_sample):
    rows = read_rows(copy_sample)
    fifo = copy_sample / "images" / "pipe.jpg"
    os.mkfifo(fifo)
    rows[0]["image"] = "images/pipe.jpg"
    rows[1]["image"] = "/dev/zero"
    write_rows(copy_sample, rows)
    samples = load_with_timeout(linguistic, ["ar"], data_dir=copy_sample, allow_external_images=True)
    errors = errors_by_id(samples)
    assert "not a regular file (a FIFO)" in errors[rows[0]["id"]]
    assert "not a regular file (a character device)" in errors[rows[1]["id"]]
    assert sum(e is None for e in errors.values()) == len(samples) - 2


def test_image_size_cap(linguistic, copy_sample):
    rows = read_rows(copy_sample)
    big = copy_sample / "images" / "big.jpg"
    big.write_bytes((copy_sample / rows[0]["image"]).read_bytes() + b"\0" * (2 << 20))
    rows[0]["image"] = "images/big.jpg"
    write_rows(copy_sample, rows)
    samples = load_samples(linguistic, ["ar"], data_dir=copy_sample, max_image_bytes=1 << 20)
    error = errors_by_id(samples)[rows[0]["id"]]
    assert "over the 1 MiB limit (--max-image-mb)" in error
    assert sum(s.error is None for s in samples) == len(samples) - 1
    # the default cap lets it through
    assert errors_by_id(load_samples(linguistic, ["ar"], data_dir=copy_sample))[rows[0]["id"]] is None


def png_header_only(width, height):
    """A PNG of ~70 bytes that declares width x height pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_decompression_bomb_and_other_pil_errors_are_sample_errors(linguistic, copy_sample):
    rows = read_rows(copy_sample)
    (copy_sample / "images" / "bomb.png").write_bytes(png_header_only(20000, 20000))
    (copy_sample / "images" / "large.png").write_bytes(png_header_only(10000, 10000))
    (copy_sample / "images" / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\xff" * 40)
    for row, name in zip(rows, ("bomb.png", "large.png", "junk.png")):
        row["image"] = f"images/{name}"
    write_rows(copy_sample, rows)
    errors = errors_by_id(load_samples(linguistic, ["ar"], data_dir=copy_sample))
    assert "DecompressionBombError" in errors[rows[0]["id"]]
    assert "10000 x 10000 pixels" in errors[rows[1]["id"]]
    assert "unreadable image" in errors[rows[2]["id"]]


def test_embedded_bytes_error_names_no_python_object(linguistic, copy_sample):
    from mella_eval.data import Row, _to_sample

    task = linguistic
    sample = _to_sample(task, "ar", Row({task.fields["id"]: "x", task.fields["image"]: b"nope",
                                         task.fields["references"]: ["a"]}, copy_sample, "row 1"))
    assert "BytesIO" not in sample.error and "0x" not in sample.error
    assert "embedded image" in sample.error and "not a known image format" in sample.error


# -- row 11: image paths are confined to the dataset folder ---------------------------------

def test_image_paths_outside_the_dataset_folder_are_refused(linguistic, copy_sample, tmp_path):
    rows = read_rows(copy_sample)
    outside = tmp_path / "secret.jpg"
    outside.write_bytes((copy_sample / rows[0]["image"]).read_bytes())
    (copy_sample / "images" / "link.jpg").symlink_to(outside)
    (copy_sample / "images" / "inside-link.jpg").symlink_to(copy_sample / rows[3]["image"])
    rows[0]["image"] = str(outside)  # absolute
    rows[1]["image"] = "../secret.jpg"  # ..
    rows[2]["image"] = "images/link.jpg"  # a symlink leading out
    rows[3]["image"] = "images/inside-link.jpg"  # a symlink that stays inside: fine
    write_rows(copy_sample, rows)
    errors = errors_by_id(load_samples(linguistic, ["ar"], data_dir=copy_sample))
    for row in rows[:3]:
        assert "outside the dataset folder" in errors[row["id"]]
        assert "--allow-external-images" in errors[row["id"]]
    assert errors[rows[3]["id"]] is None
    allowed = errors_by_id(load_samples(linguistic, ["ar"], data_dir=copy_sample,
                                        allow_external_images=True))
    assert all(e is None for e in allowed.values())


def test_a_folder_symlink_leading_out_is_refused(linguistic, copy_sample, tmp_path):
    """Folders are resolved once per folder: a symlinked folder, and '..' after one (the link's
    target's parent, not the lexical one), still lead out."""
    rows = [r for r in read_rows(copy_sample) if r["lang"] == "ar"]
    out = tmp_path / "out" / "deep"
    out.mkdir(parents=True)
    for name in ("secret.jpg", "../secret.jpg"):
        (out / name).write_bytes((copy_sample / rows[0]["image"]).read_bytes())
    (copy_sample / "images" / "outdir").symlink_to(out, target_is_directory=True)
    all_rows = read_rows(copy_sample)
    ar = [r for r in all_rows if r["lang"] == "ar"]
    ar[0]["image"] = "images/outdir/secret.jpg"
    ar[1]["image"] = "images/outdir/../secret.jpg"  # tmp_path/out/secret.jpg, outside
    ar[2]["image"] = "images/outdir/../../" + Path(rows[2]["image"]).name  # tmp_path/...: outside
    write_rows(copy_sample, all_rows)
    errors = errors_by_id(load_samples(linguistic, ["ar"], data_dir=copy_sample))
    assert "outside the dataset folder" in errors[ar[0]["id"]]
    assert "outside the dataset folder" in errors[ar[1]["id"]]
    assert errors[ar[2]["id"]] is not None
    assert all(e is None for i, e in errors.items() if i not in {r["id"] for r in ar[:3]})


# -- smaller rows: languages, references ---------------------------------------------------

def test_rows_without_a_language_are_counted_and_warned(linguistic, copy_sample, caplog):
    rows = read_rows(copy_sample)
    n_ar = sum(r["lang"] == "ar" for r in rows)
    ar_rows = [r for r in rows if r["lang"] == "ar"]
    ar_rows[0]["lang"] = None
    del ar_rows[1]["lang"]
    ar_rows[2]["lang"] = ["ar"]  # not a string: counted, not a crash
    write_rows(copy_sample, rows)
    with caplog.at_level(logging.WARNING, logger="mella_eval"):
        samples = load_samples(linguistic, ["ar"], data_dir=copy_sample)
    assert len(samples) == n_ar - 3
    assert any("3 dataset row(s) without a language" in r.getMessage() for r in caplog.records)


def test_references_of_the_wrong_type_say_what_is_wrong(linguistic, copy_sample):
    rows = read_rows(copy_sample)
    rows[0]["references"] = [1, 2]
    rows[1]["references"] = []
    write_rows(copy_sample, rows)
    errors = errors_by_id(load_samples(linguistic, ["ar"], data_dir=copy_sample))
    assert "expected a string or a list of strings, got a list with int item(s)" in errors[rows[0]["id"]]
    assert "no references" in errors[rows[1]["id"]]




def test_lone_surrogate_in_a_dataset_row_is_cleaned(linguistic, copy_sample):
    rows = read_rows(copy_sample)
    text = (copy_sample / "samples.jsonl").read_text(encoding="utf-8").split("\n")
    first = json.loads(text[0])
    first["references"][0] += "\ud83d"
    text[0] = json.dumps(first)  # ASCII JSON: the half emoji as a "\ud83d" escape
    (copy_sample / "samples.jsonl").write_text("\n".join(text), encoding="utf-8")
    sample = next(s for s in load_samples(linguistic, ["ar"], data_dir=copy_sample)
                  if s.id == rows[0]["id"])
    assert sample.error is None and sample.references[0].endswith("\ufffd")
