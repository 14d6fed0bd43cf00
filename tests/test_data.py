"""Loading samples: local jsonl, parquet and imagefolder; bad rows recorded, bad datasets refused."""

import json
import shutil

import pytest

from mella_eval.data import load_samples
from mella_eval.errors import DataError
from mella_eval.tasks import TaskRegistry


@pytest.fixture(scope="module")
def linguistic():
    return TaskRegistry().resolve("linguistic")[0]


def read_rows(folder):
    return [json.loads(line) for line in (folder / "samples.jsonl").open(encoding="utf-8")]


def write_rows(folder, rows):
    with (folder / "samples.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def test_bundled_sample_has_six_or_more_per_language(linguistic):
    samples = load_samples(linguistic, linguistic.langs)
    for lang in linguistic.langs:
        mine = [s for s in samples if s.lang == lang]
        assert len(mine) >= 6, lang
        assert all(s.error is None and len(s.references) >= 2 and s.images for s in mine)


def test_limit_and_language_order(linguistic):
    samples = load_samples(linguistic, ["th", "ar"], limit=2)
    assert [s.lang for s in samples] == ["th", "th", "ar", "ar"]


def test_bad_images_are_sample_errors_not_run_errors(linguistic, copy_sample):
    rows = read_rows(copy_sample)
    (copy_sample / "images" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    rows[0]["image"] = "images/broken.jpg"
    rows[1]["image"] = "images/missing.jpg"
    write_rows(copy_sample, rows)
    samples = load_samples(linguistic, ["ar"], data_dir=copy_sample)
    by_id = {s.id: s for s in samples}
    assert "unreadable image" in by_id[rows[0]["id"]].error
    assert "image not found" in by_id[rows[1]["id"]].error
    assert "samples.jsonl line 2" in by_id[rows[1]["id"]].error
    assert sum(s.error is None for s in samples) == len(samples) - 2


def test_empty_references_are_a_sample_error(linguistic, copy_sample):
    rows = read_rows(copy_sample)
    rows[0]["references"] = []
    write_rows(copy_sample, rows)
    sample = load_samples(linguistic, ["ar"], data_dir=copy_sample)[0]
    assert "no references" in sample.error


def test_missing_mapped_column_is_a_clear_dataset_error(linguistic, copy_sample):
    rows = read_rows(copy_sample)
    for row in rows:
        row["captions"] = row.pop("references")
    write_rows(copy_sample, rows)
    with pytest.raises(DataError, match=r"fields.references -> column 'references'.*captions"):
        load_samples(linguistic, ["ar"], data_dir=copy_sample)


def test_invalid_json_line_is_named(linguistic, copy_sample):
    with (copy_sample / "samples.jsonl").open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(DataError, match=r"samples.jsonl line 65: not valid JSON"):
        load_samples(linguistic, ["ar"], data_dir=copy_sample)


def test_parquet_through_datasets(linguistic, copy_sample, tmp_path):
    import pandas as pd

    rows = read_rows(copy_sample)
    folder = tmp_path / "pq"
    shutil.copytree(copy_sample / "images", folder / "images")
    pd.DataFrame(rows).to_parquet(folder / "data.parquet")
    samples = load_samples(linguistic, ["ko"], data_dir=folder)
    assert len(samples) == sum(r["lang"] == "ko" for r in rows)
    assert all(s.error is None and s.images[0].data[:3] == b"\xff\xd8\xff" for s in samples)


def test_imagefolder_through_datasets(linguistic, copy_sample, tmp_path):
    rows = [r for r in read_rows(copy_sample) if r["lang"] == "vi"]
    folder = tmp_path / "imgf"
    folder.mkdir()
    with (folder / "metadata.jsonl").open("w", encoding="utf-8") as fh:
        for r in rows:
            name = r["image"].split("/")[-1]
            shutil.copy(copy_sample / r["image"], folder / name)
            fh.write(json.dumps({"file_name": name, "id": r["id"], "lang": r["lang"],
                                 "references": r["references"]}, ensure_ascii=False) + "\n")
    task = TaskRegistry().resolve("linguistic")[0]
    # imagefolder exposes the picture as column "image" (what the task maps).
    samples = load_samples(task, ["vi"], data_dir=folder)
    assert {s.id for s in samples} == {r["id"] for r in rows}
    assert all(s.error is None and s.references for s in samples)


def test_hub_dataset_offline_fails_with_one_clear_line(tmp_path):
    import yaml

    doc = yaml.safe_load((TaskRegistry()._files["linguistic"]).read_text(encoding="utf-8"))
    doc["dataset"] = {"hub": "nobody/not-a-dataset", "revision": "main", "split": "test"}
    path = tmp_path / "hub.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    task = TaskRegistry().load(path)
    with pytest.raises(DataError, match="cannot load dataset nobody/not-a-dataset@main"):
        load_samples(task, ["ar"])
