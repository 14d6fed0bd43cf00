"""Real run folders made from predictions (no model), shared by the aggregate/export/compare tests."""

from __future__ import annotations

import json
from pathlib import Path

from mella_eval.cli import main as cli_main

REPO = Path(__file__).resolve().parent.parent
SAMPLE_ROWS = [json.loads(line) for line in
               (REPO / "tasks/data/mella_sample/samples.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
LANGS = ["ar", "cs", "hu", "ko", "ru", "sr", "th", "vi"]


def degraded(text: str, i: int) -> str:
    """A prediction that keeps 40-85% of a reference, varying by sample (works for Thai too)."""
    return text[: max(1, int(len(text) * (0.4 + 0.15 * (i % 4))))]


def make_run(tmp_path_factory, name: str, predict, langs: str = "all", task: str = "linguistic",
             extra: tuple[str, ...] = ()) -> Path:
    """A real run folder from `mella-eval run --predictions`; reused when already made.
    The model label is the run name."""
    root = tmp_path_factory.getbasetemp() / "mella-runs"
    run_dir = root / name
    if not (run_dir / "results.json").exists():
        root.mkdir(exist_ok=True)
        preds = root / f"{name}.jsonl"
        preds.write_text("".join(json.dumps({"task": task, "lang": r["lang"], "id": r["id"],
                                             "prediction": predict(r, i)}, ensure_ascii=False) + "\n"
                                 for i, r in enumerate(SAMPLE_ROWS)), encoding="utf-8")
        cli_main(["run", "--predictions", str(preds), "--langs", langs, "--output-dir", str(root),
                  "--run-name", name, *(extra or ("--tasks", task))])
    return run_dir
