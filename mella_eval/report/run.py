"""A run folder as the report reads it: results.json, samples.jsonl, thumbnails."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

from mella_eval.errors import MellaError
from mella_eval.report.markup import _number
from mella_eval.results import SCHEMA_VERSION, iter_jsonl_objects

THUMB_MAX_BYTES = 512 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Run:
    """A run folder's results.json and samples.jsonl, with look-ups the sections share."""

    dir: Path
    results: dict
    records: list[dict]

    def __post_init__(self):
        self._scores = {(r.get("task"), r.get("lang"), r.get("metric")): r for r in self.results["scores"]}
        self._macro = {(r.get("task"), r.get("metric")): r
                       for r in (self.results.get("macro") or {}).get("scores") or [] if isinstance(r, dict)}

    @property
    def langs(self) -> list[str]:
        langs = list(self.results["run"].get("langs") or [])
        return langs + list(dict.fromkeys(lang for _, lang, _ in self._scores if lang not in langs))

    @property
    def tasks(self) -> list[str]:
        tasks = list(self.results["run"].get("tasks") or [])
        return tasks + [t for t in self.results["tasks"] if t not in tasks]

    def metrics(self, task: str) -> list[str]:
        metrics = list((self.results["tasks"].get(task) or {}).get("metrics") or [])
        return metrics + list(dict.fromkeys(m for t, _, m in self._scores if t == task and m not in metrics))

    def score(self, task: str, lang: str, metric: str) -> dict | None:
        return self._scores.get((task, lang, metric))

    def macro(self, task: str, metric: str) -> dict | None:
        return self._macro.get((task, metric))

    @property
    def ci_name(self) -> str:
        """How intervals are labelled: the confidence of results.json's "bootstrap" record, else 95%."""
        confidence = _number((self.results.get("bootstrap") or {}).get("confidence"))
        return f"{confidence * 100:g}% CI" if confidence else "95% CI"


def load_run(run_dir: Path) -> Run:
    """results.json + samples.jsonl of a run folder; MellaError naming what is missing or wrong."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MellaError(f"{run_dir}: no such run folder (expected a folder with results.json "
                         "and samples.jsonl, as written by `mella-eval run`)")
    results_path, samples_path = run_dir / "results.json", run_dir / "samples.jsonl"
    for path in (results_path, samples_path):
        if not path.is_file():
            raise MellaError(f"{run_dir}: not a run folder: {path.name} is missing")
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise MellaError(f"{results_path}: not valid JSON ({e})") from None
    _check_results(results_path, results)
    return Run(run_dir, results, _read_records(samples_path))


def _check_results(path: Path, results) -> None:
    if not isinstance(results, dict):
        raise MellaError(f"{path}: expected a JSON object")
    version = results.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise MellaError(f"{path}: schema_version {version!r} is not supported "
                         f"(this mella-eval reads up to {SCHEMA_VERSION})")
    for key, kind in (("run", dict), ("tasks", dict), ("scores", list)):
        if not isinstance(results.get(key), kind):
            raise MellaError(f"{path}: key '{key}' is missing or not a {kind.__name__}")
    if not all(isinstance(row, dict) for row in results["scores"]):
        raise MellaError(f"{path}: every entry of 'scores' must be an object")


# Record fields the sections take apart, and the JSON types they may have (null is always fine).
RECORD_FIELD_TYPES = {"metrics": (dict, "an object"), "references": (list, "a list"),
                      "image_sha256": (list, "a list"), "keywords": (list, "a list"),
                      "judge": ((dict, list), "an object or a list")}


def _read_records(path: Path) -> list[dict]:
    """The records, each checked where the page relies on a type: a hand-edited or foreign
    samples.jsonl gets one line naming the line and field, not a traceback."""
    records = []
    for number, record in iter_jsonl_objects(path):
        for name, (kind, expected) in RECORD_FIELD_TYPES.items():
            value = record.get(name)
            if value is not None and not isinstance(value, kind):
                raise MellaError(f"{path} line {number}: '{name}' must be {expected}, "
                                 f"got {type(value).__name__}")
        records.append(record)
    return records


class Thumbs:
    """`thumbs/<sha256>.jpg` of the run folder as data: URLs (None where there is none)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._cache: dict[str, str | None] = {}

    def url(self, record: dict) -> str | None:
        shas = record.get("image_sha256") or []
        sha = shas[0] if isinstance(shas, list) and shas else None
        if not isinstance(sha, str) or not _SHA256.match(sha):  # never a path from the record
            return None
        if sha not in self._cache:
            self._cache[sha] = self._load(sha)
        return self._cache[sha]

    def _load(self, sha: str) -> str | None:
        path = self.folder / f"{sha}.jpg"
        try:
            if not path.is_file() or path.stat().st_size > THUMB_MAX_BYTES:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        mime = _image_mime(data)
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}" if mime else None


def _image_mime(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
