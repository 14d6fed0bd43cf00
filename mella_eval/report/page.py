"""The whole page: run header, one section per task, footer; writing it; `mella-eval report`."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from mella_eval.report.charts import _bars, _heatmap
from mella_eval.report.judge import judge_reliability
from mella_eval.report.markup import _e, _slug
from mella_eval.report.run import Run, Thumbs, load_run
from mella_eval.report.samples import _failed, _worst
from mella_eval.report.style import CSS as _CSS
from mella_eval.results import atomic_write_text
from mella_eval.run_log import LOG_NAME

REPORT_NAME = "report.html"
REPORT_EPILOG = """examples:
  mella-eval report results/my-vlm-20250101-120000
  mella-eval report results/my-vlm-20250101-120000 -o /tmp/my-vlm.html
"""


def _header(run: Run) -> str:
    info = run.results["run"]
    counts = info.get("counts") or {}
    execution = info.get("execution") or info  # older results kept these at the top of "run"
    tasks = "".join(
        f"<span class=chip>{_e(name)} <span class=muted>v{_e(t.get('version'))} · "
        f"{_e(str(t.get('sha256') or '')[:12])}</span></span> "
        for name, t in ((n, run.results["tasks"].get(n, {})) for n in run.tasks))
    versions = " ".join(f"<span class=chip>{_e(k)} {_e(v)}</span>"
                        for k, v in (info.get("versions") or {}).items())
    ok = counts.get("ok", sum(r.get("status") == "ok" for r in run.records))
    errors = counts.get("error", sum(r.get("status") != "ok" for r in run.records))
    identity = " ".join(f"<span class=chip>{_e(k)} {_e(str(v)[:120])}</span>"
                        for k, v in (info.get("model_identity") or {}).items()
                        if k != "backend" and isinstance(v, (str, int, float)) and not isinstance(v, bool))
    rows = [
        ("model", f"<b>{_e(info.get('model'))}</b>"),
        ("backend", f"{_e(info.get('backend'))} {identity}"),
        ("tasks", tasks),
        ("languages", " ".join(f"<span class=chip>{_e(code)}</span>" for code in run.langs)),
        ("date", f"{_e(execution.get('started_at'))} → {_e(execution.get('finished_at'))}"
                 f" <span class=muted>({_e(execution.get('duration_s'))} s)</span>"),
        ("samples", f"{_e(counts.get('samples', len(run.records)))} · "
                    f"<span class='badge ok'>{_e(ok)} ok</span> "
                    f"<span class='badge {'bad' if errors else 'ok'}'>{_e(errors)} error</span>"
                    + (f" <span class=muted>· {_e(counts['unmatched_predictions'])} unmatched "
                       "predictions</span>" if counts.get("unmatched_predictions") else "")),
        ("versions", versions),
        ("git commit", f"<code>{_e(info.get('git_commit') or '—')}</code>"),
        ("run folder", f"<code>{_e(run.dir)}</code>"
                       + (f" · engine and library output: <code>{_e(run.dir / LOG_NAME)}</code>" if (run.dir / LOG_NAME).is_file() else "")),
    ]
    grid = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    nav = " ".join(f"<a href='#task-{_slug(t)}'>{_e(t)}</a>" for t in run.tasks)
    return (f"<header><h1>mella-eval report <span class=muted>· {_e(info.get('name'))}</span></h1>"
            f"<dl class=meta>{grid}</dl><nav>Tasks: {nav}</nav></header>")


def _task_section(run: Run, task: str, thumbs: Thumbs) -> str:
    records = [r for r in run.records if r.get("task") == task]
    meta = run.results["tasks"].get(task, {})
    dataset = f" · data: <code>{_e(meta['dataset'])}</code>" if meta.get("dataset") else ""
    return (f"<section id='task-{_slug(task)}'><h2>{_e(task)} <span class=muted>v{_e(meta.get('version'))}"
            f"</span></h2><p class=note>{len(records)} samples{dataset}</p>"
            f"<h3>Scores by language</h3>{_heatmap(run, task)}"
            f"<h3>Per metric</h3>{_bars(run, task)}{judge_reliability(run, task)}"
            f"<h3>Worst samples</h3>{_worst(run, task, thumbs, records)}"
            f"<h3>Failed samples</h3>{_failed(records)}</section>")


def build_report(run_dir) -> str:
    """The report of a run folder as one self-contained HTML document."""
    import mella_eval

    run = load_run(Path(run_dir))
    thumbs = Thumbs(run.dir / "thumbs")
    sections = "".join(_task_section(run, task, thumbs) for task in run.tasks)
    made = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = f"mella-eval report · {run.results['run'].get('name') or run.dir.name}"
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f"{_header(run)}{sections}"
        f"<footer>Written by mella-eval {_e(mella_eval.__version__)} at {made} from "
        f"<code>{_e(run.dir)}</code>. Self-contained: no script, no network.</footer>"
        "</main></body></html>\n"
    )


def write_report(run_dir, out=None) -> Path:
    """Write the report (default RESULT_DIR/report.html; a folder gets report.html inside)."""
    run_dir = Path(run_dir)
    path = run_dir / REPORT_NAME if out is None else Path(out)
    if path.is_dir():
        path = path / REPORT_NAME
    atomic_write_text(path, build_report(run_dir))
    return path


def register(subparsers) -> None:
    """Add `report` to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "report", help="write a self-contained HTML report of a run folder",
        description="Write one static HTML file (no network, no script) with a heatmap of languages "
                    "x metrics, per-language bars with confidence intervals, the worst samples with "
                    "thumbnails and the failed samples.",
        epilog=REPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result_dir", metavar="RESULT_DIR",
                        help="a run folder written by `mella-eval run` (results.json + samples.jsonl)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="where to write the HTML (default: RESULT_DIR/report.html)")
    parser.set_defaults(func=main)


def main(args) -> int:
    path = write_report(Path(args.result_dir), args.output)
    print(path)
    return 0
