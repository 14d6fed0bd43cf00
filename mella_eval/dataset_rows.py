"""Rows of a dataset source as plain dicts, each with where it came from (for messages) and
the folder its relative image paths resolve against: a local JSONL/JSON file read directly (so
errors name the line), parquet, CSV, an imagefolder or a hub dataset through `datasets`, with
images kept as encoded bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from mella_eval.errors import DataError
from mella_eval.results import iter_jsonl_objects
from mella_eval.tasks import DatasetSource

DATA_FILE_SUFFIXES = {".jsonl": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
IMAGEFOLDER_METADATA = ("metadata.jsonl", "metadata.csv")


@dataclass
class Row:
    values: dict
    base_dir: Path | None  # relative image paths resolve against this
    where: str  # "FILE line N" / "dataset row N", for messages


def read_rows(source: DatasetSource) -> tuple[Iterable[Row], set[str]]:
    if source.hub is not None:
        return _read_with_datasets(source, None)
    path = source.path
    if not path.exists():
        raise DataError(f"dataset not found: {path}")
    if path.is_dir():
        if any((path / m).is_file() for m in IMAGEFOLDER_METADATA) and source.format in (None, "imagefolder"):
            return _read_with_datasets(source, "imagefolder")
        files = [p for p in sorted(path.iterdir()) if p.suffix in DATA_FILE_SUFFIXES]
        if len(files) != 1:
            raise DataError(
                f"dataset folder {path}: expected one data file (*.jsonl, *.json, *.parquet, *.csv) "
                f"or an imagefolder with metadata.jsonl, found {len(files)}: "
                f"{', '.join(p.name for p in files) or 'none'}")
        path = files[0]
    fmt = source.format or DATA_FILE_SUFFIXES.get(path.suffix)
    if fmt == "jsonl" or (fmt == "json" and _looks_like_jsonl(path)):
        return _read_jsonl(path)
    if fmt in ("json", "parquet", "csv"):
        return _read_with_datasets(DatasetSource(path=path, format=fmt), fmt)
    raise DataError(f"dataset {path}: unknown format; expected one of {', '.join(DATA_FILE_SUFFIXES)}")


def _looks_like_jsonl(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(1) != b"["


def _read_jsonl(path: Path) -> tuple[list[Row], set[str]]:
    rows, columns = [], set()
    for number, values in iter_jsonl_objects(path, DataError):
        columns.update(values)
        rows.append(Row(values, path.parent, f"{path.name} line {number}"))
    return rows, columns


def _read_with_datasets(source: DatasetSource, builder: str | None):
    import datasets

    try:
        if source.hub is not None:
            ds = datasets.load_dataset(source.hub, source.config, split=source.split,
                                       revision=source.revision)
            base_dir, label = None, source.hub
        elif builder == "imagefolder":
            ds = datasets.load_dataset("imagefolder", data_dir=str(source.path), split="train")
            base_dir, label = source.path, source.path.name
        else:
            ds = datasets.load_dataset(builder, data_files=str(source.path), split="train")
            base_dir, label = source.path.parent, source.path.name
    except Exception as e:  # datasets raises many types; the user needs the first line
        raise DataError(f"cannot load dataset {source.describe()}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    # Keep images as encoded bytes: no decode until a backend needs pixels.
    for name, feature in ds.features.items():
        if type(feature).__name__ == "Image":
            ds = ds.cast_column(name, datasets.Image(decode=False))
    columns = set(ds.column_names)
    rows = (Row(values, base_dir, f"{label} row {i}") for i, values in enumerate(ds))
    return rows, columns
