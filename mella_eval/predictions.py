"""`--predictions FILE`: outputs produced elsewhere, scored without generation."""

from __future__ import annotations

import json
from pathlib import Path

from mella_eval.backends.base import Completion
from mella_eval.build import GenerationRequest
from mella_eval.errors import MellaError
from mella_eval.results import jsonl_lines
from mella_eval.text_safety import clean_text

REQUIRED_KEYS = ("task", "lang", "id", "prediction")


def load_predictions(path: Path) -> dict[tuple[str, str, str], str | None]:
    """JSONL rows `{"task", "lang", "id", "prediction"}` -> {(task, lang, id): prediction}."""
    predictions: dict[tuple[str, str, str], str | None] = {}
    for number, line in enumerate(jsonl_lines(path, MellaError), 1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise MellaError(f"{where}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise MellaError(f"{where}: expected a JSON object with keys {', '.join(REQUIRED_KEYS)}")
        missing = [k for k in REQUIRED_KEYS if k not in row]
        if missing:
            raise MellaError(f"{where}: missing key(s) {', '.join(missing)}; "
                             f"expected {', '.join(REQUIRED_KEYS)}")
        if row["prediction"] is not None and not isinstance(row["prediction"], str):
            raise MellaError(f"{where}: 'prediction' must be a string or null")
        key = tuple(clean_text(str(row[k])) for k in ("task", "lang", "id"))
        if key in predictions:
            raise MellaError(f"{where}: duplicate prediction for task={key[0]} lang={key[1]} id={key[2]}")
        # "\ud83d" (an emoji cut in two) is valid JSON but no UTF-8: U+FFFD instead.
        predictions[key] = clean_text(row["prediction"]) if row["prediction"] is not None else None
    return predictions


def completions_from_predictions(requests: list[GenerationRequest], path: Path,
                                 known: set[tuple[str, str, str]] | None = None
                                 ) -> tuple[dict[tuple, Completion], int]:
    """Completions for `requests` from the file, and how many file rows match no sample of the
    run (`known`: every sample's key, also those of other shards; default: the requests)."""
    predictions = load_predictions(path)
    completions: dict[tuple, Completion] = {}
    for request in requests:
        if request.key not in predictions:
            completions[request.key] = Completion.failed(f"no prediction in {Path(path).name}")
        elif predictions[request.key] is None:
            completions[request.key] = Completion.failed("prediction is null")
        else:
            completions[request.key] = Completion(text=predictions[request.key])
    unmatched = len(set(predictions) - (known if known is not None else set(completions)))
    return completions, unmatched
