"""Leaderboard submission files written beside results.json.

CVQA's official test split hides its labels (`Label = -1`); its leaderboard takes a CSV of
`ID,pred` lines (0-based option index), the file the reference writes
(neulab/Pangea `cvqa/utils.py` `cvqa_test_aggregation_result`: `cvqa_predictions.csv`, no header).
Every run of a CVQA task writes `<task>_predictions.csv`: the option read under the mella
protocol, the reference parser's under `--protocol reference`. An answer no option could be read
from has an empty pred (the reference would write a random option's index there).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

SUBMISSION_TASKS = ("cvqa", "cvqa_en")


def submission_rows(task, records: list[dict]) -> list[tuple[str, str]]:
    if task.protocol == "reference":
        rows = []
        for r in records:
            if r["task"] != task.name or r.get("prediction") is None or "reference" not in r:
                continue
            pred = r["reference"].get("pred")
            rows.append((str(r["id"]), "" if pred is None else str(pred)))
        return rows
    from mella_eval.metrics.answers import submission_rows as mella_rows

    return mella_rows(records, task)


def write_submissions(run_dir: Path, tasks, records: list[dict]) -> list[Path]:
    from mella_eval.results import atomic_write_text

    written = []
    for task in (t for t in tasks if t.name in SUBMISSION_TASKS):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(submission_rows(task, records))
        path = Path(run_dir) / f"{task.name}_predictions.csv"
        atomic_write_text(path, out.getvalue())
        written.append(path)
    return written
