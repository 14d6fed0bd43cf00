"""Images by reference: a sample holds its image file's path, size, sha256 and type, never its
bytes; the bytes are read (and checked again) only when used. Thumbnails only for what the
report shows."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
from pathlib import Path

import pytest

from mella_eval.build import build_requests
from mella_eval.data import load_samples
from mella_eval.images import FileImagePart, ImageProblem
from mella_eval.messages import ImagePart, to_openai_messages
from mella_eval.records import make_records
from mella_eval.results import SCHEMA_VERSION
from mella_eval.store import generation_key
from mella_eval.tasks import TaskRegistry
from mella_eval.thumbnails import write_thumbnails

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO / "tasks" / "data" / "mella_sample"


@pytest.fixture(scope="module")
def linguistic():
    return TaskRegistry().resolve("linguistic")[0]


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    dst = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, dst)
    return dst


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (seed * 7 % 256, seed * 13 % 256, seed * 29 % 256)).save(buf, "JPEG")
    return buf.getvalue()


def test_file_images_are_held_by_reference(linguistic, sample_copy):
    samples = load_samples(linguistic, ["cs"], data_dir=sample_copy)
    assert samples and all(s.error is None for s in samples)
    for sample in samples:
        for image in sample.images:
            assert isinstance(image, FileImagePart) and isinstance(image, ImagePart)
            held = [v for v in vars(image).values() if isinstance(v, (bytes, bytearray, memoryview))]
            assert held == []  # no bytes kept on the part
            on_disk = image.path.read_bytes()
            assert image.sha256 == hashlib.sha256(on_disk).hexdigest()
            assert image.mime_type == ImagePart(on_disk).mime_type == "image/jpeg"
            assert image.data == on_disk and image == ImagePart(on_disk)
            assert hash(image) == hash(ImagePart(on_disk))
            assert vars(image).keys() == vars(pickle.loads(pickle.dumps(image))).keys()
            assert "FileImagePart" in repr(image)


def test_keys_hashes_and_records_never_read_the_files(linguistic, sample_copy):
    """With the images deleted after loading, everything before sending still works: request
    keys, prompt hashes and records use the sha256 computed at load."""
    samples = load_samples(linguistic, ["cs"], data_dir=sample_copy)
    expected = [[hashlib.sha256(i.path.read_bytes()).hexdigest() for i in s.images] for s in samples]
    shutil.rmtree(sample_copy / "images")
    requests = build_requests(linguistic, samples)
    keys = [generation_key({"backend": "x"}, r.messages, r.settings) for r in requests]
    assert len(set(keys)) == len(requests) and all(r.prompt_hash for r in requests)
    records = make_records(linguistic, samples, {r.key: r for r in requests}, {})
    assert [r["image_sha256"] for r in records] == expected
    with pytest.raises(ImageProblem, match="image not found"):
        to_openai_messages(requests[0].messages)


def test_same_results_as_bytes_in_memory(linguistic, sample_copy):
    """Request keys and prompt hashes equal those of the same images held as bytes."""
    samples = load_samples(linguistic, ["ar", "th"], data_dir=sample_copy)
    requests = build_requests(linguistic, samples)
    for sample in samples:
        sample.images = tuple(ImagePart(i.path.read_bytes()) for i in sample.images)
    in_memory = build_requests(linguistic, samples)
    assert [r.prompt_hash for r in requests] == [r.prompt_hash for r in in_memory]
    assert ([generation_key({}, r.messages, r.settings) for r in requests]
            == [generation_key({}, r.messages, r.settings) for r in in_memory])
    assert to_openai_messages(requests[0].messages) == to_openai_messages(in_memory[0].messages)


def test_a_file_changed_after_loading_fails_when_used(linguistic, sample_copy):
    samples = load_samples(linguistic, ["cs"], data_dir=sample_copy, limit=1)
    image = samples[0].images[0]
    original = image.path.read_bytes()
    image.path.write_bytes(original[:-10] + b"0123456789")  # same size, other bytes
    with pytest.raises(ImageProblem, match="changed since the dataset was loaded"):
        image.data
    image.path.write_bytes(original)
    assert image.data == original


def test_the_checks_run_again_when_the_bytes_are_read(linguistic, sample_copy):
    samples = load_samples(linguistic, ["cs"], data_dir=sample_copy, limit=1, max_image_bytes=10 << 20)
    image = samples[0].images[0]
    image.path.unlink()
    image.path.symlink_to("/dev/zero")  # swapped for a device: refused, never read whole
    with pytest.raises(ImageProblem):
        image.data


def test_embedded_bytes_stay_in_memory(linguistic, tmp_path):
    import datasets

    rows = [{"id": "a", "lang": "cs", "image": {"bytes": _jpeg(1), "path": None},
             "references": ["x y"]}]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "d.parquet"))
    sample = load_samples(linguistic, ["cs"], data_dir=tmp_path / "d.parquet")[0]
    assert sample.error is None
    assert type(sample.images[0]) is ImagePart and sample.images[0].data == _jpeg(1)


def _run_folder(tmp_path: Path, n: int):
    """A run folder of one task with `n` samples: sample i has rouge_l = i / n and its own image."""
    from mella_eval.data import Sample

    run = tmp_path / "run"
    run.mkdir()
    samples, records = [], []
    for i in range(n):
        path = tmp_path / f"img{i}.jpg"
        path.write_bytes(_jpeg(i))
        part = FileImagePart.load(path)
        samples.append(Sample(task="t", lang="cs", id=f"s{i:03d}", images=(part,)))
        records.append({"task": "t", "lang": "cs", "id": f"s{i:03d}", "prediction": "p",
                        "references": ["r"], "status": "ok", "image_sha256": [part.sha256],
                        "metrics": {"rouge_l": (i * 37 % n) / n}})
    (run / "results.json").write_text(json.dumps({
        "schema_version": SCHEMA_VERSION, "run": {"tasks": ["t"], "langs": ["cs"]},
        "tasks": {"t": {"metrics": ["rouge_l"]}}, "scores": []}), encoding="utf-8")
    (run / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return run, samples, records


def test_thumbnails_only_for_the_samples_the_report_shows(tmp_path):
    from mella_eval.report import build_report
    from mella_eval.report.samples import WORST_PER_TASK

    run, samples, records = _run_folder(tmp_path, 3 * WORST_PER_TASK)
    assert write_thumbnails(run, samples) == WORST_PER_TASK
    worst = sorted(records, key=lambda r: r["metrics"]["rouge_l"])[:WORST_PER_TASK]
    assert {p.stem for p in (run / "thumbs").glob("*.jpg")} == {r["image_sha256"][0] for r in worst}
    page = build_report(run)
    assert page.count("<img src='data:image/jpeg;base64,") == WORST_PER_TASK
    assert "no thumbnail" not in page
    assert write_thumbnails(run, samples) == 0  # already there


def test_a_changed_image_gets_no_thumbnail_and_no_crash(tmp_path):
    run, samples, records = _run_folder(tmp_path, 3)
    samples[0].images[0].path.write_bytes(_jpeg(99))
    assert write_thumbnails(run, samples) == 2
