"""`mella-eval report RESULT_DIR`: one self-contained static report.html for a run folder.

The page needs no network and runs no script: CSS is inline, charts are inline SVG, thumbnails
(`thumbs/<sha256>.jpg` in the run folder, keyed by a record's `image_sha256[0]`) are base64
`data:` URLs, and a Content-Security-Policy forbids every other source. Predictions, references
and judge rationales are untrusted text: every string goes through `html.escape`.

Sections: run header; per task a heatmap (languages x metrics, colour scaled per metric over the
languages, macro means underneath), one bar chart per metric (95% CI whiskers when the score rows
carry `ci_low`/`ci_high`), the worst samples (lowest per-sample metric when records carry one,
else lowest sentence-level chrF against the references) and the failed samples with reasons. A judged
task also gets a "Judge reliability" box (results.json `judge.reliability` and `judge.counts`).

Only the standard library and light mella_eval modules are imported here: the CLI imports this
module at start-up.

Modules: `run` (reading a run folder, thumbnails), `markup` (escaping and small formatters),
`charts` (heatmap, bar charts), `judge` (judge reliability), `samples` (worst and failed samples), `page` (header, the whole
page, writing it, the CLI), `style` (the inline CSS).
"""

from __future__ import annotations

from mella_eval.report.page import REPORT_NAME, build_report, main, register, write_report
from mella_eval.report.run import Run, load_run
from mella_eval.report.samples import rank_worst

__all__ = ["REPORT_NAME", "Run", "build_report", "load_run", "main", "rank_worst", "register",
           "write_report"]
