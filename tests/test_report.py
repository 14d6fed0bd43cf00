"""`mella-eval report`: a self-contained HTML report of a real run folder (built via the CLI)."""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mella_eval.errors import MellaError
from mella_eval.report import build_report, register, write_report

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO / "tasks" / "data" / "mella_sample"
LANGS = ["ar", "cs", "hu", "ko", "ru", "sr", "th", "vi"]
METRICS = ["bleu", "chrf", "chrf++"]
XSS = "<script>alert(1)</script>"
WORST_ID = "camera-cs"


def _predictions(path: Path) -> None:
    """Perfect captions except: Thai all null (no score), one garbage + XSS caption (the known
    worst sample), one null prediction and one missing row (error samples)."""
    rows = []
    for line in (SAMPLE_DIR / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        sample = json.loads(line)
        prediction = sample["references"][0]
        if sample["lang"] == "th" or sample["id"] == "coffee-ru":
            prediction = None
        elif sample["id"] == WORST_ID:
            prediction = f"qqq {XSS} zzz"
        elif sample["id"] == "chelsea-hu":
            prediction = sample["references"][1][:20]
        elif sample["id"] == "rocket-vi":
            continue
        rows.append({"task": "linguistic", "lang": sample["lang"], "id": sample["id"],
                     "prediction": prediction})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _thumbs(run_dir: Path) -> None:
    """thumbs/<sha256 of the image file>.jpg for the sample images (where the run wrote none)."""
    from PIL import Image

    (run_dir / "thumbs").mkdir(exist_ok=True)
    for image in (SAMPLE_DIR / "images").iterdir():
        sha = hashlib.sha256(image.read_bytes()).hexdigest()
        if (run_dir / "thumbs" / f"{sha}.jpg").exists():
            continue
        with Image.open(image) as im:
            im = im.convert("RGB")
            im.thumbnail((64, 64))
            im.save(run_dir / "thumbs" / f"{sha}.jpg", "JPEG", quality=70)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run folder from `mella-eval run --predictions`, with a thumbnail for every image."""
    tmp = tmp_path_factory.mktemp("report")
    _predictions(tmp / "preds.jsonl")
    proc = subprocess.run([sys.executable, "-m", "mella_eval", "run", "--predictions", tmp / "preds.jsonl",
                           "--tasks", "linguistic", "--langs", "all", "--output-dir", tmp / "runs",
                           "--run-name", "r"], capture_output=True, text=True, cwd=REPO, timeout=120)
    run_dir = tmp / "runs" / "r"
    # Thai has no value, so the run exits 1, but the folder is complete.
    assert proc.returncode == 1 and (run_dir / "results.json").is_file(), proc.stderr
    _thumbs(run_dir)
    return run_dir


@pytest.fixture(scope="module")
def report(run_dir) -> str:
    path = write_report(run_dir)
    assert path == run_dir / "report.html" and path.is_file()
    return path.read_text(encoding="utf-8")


def _section(text: str, start: str, end: str) -> str:
    return text.split(f"<h3>{start}</h3>", 1)[1].split(f"<h3>{end}</h3>", 1)[0]


def test_report_is_self_contained(report):
    assert "http://" not in report and "https://" not in report
    assert "<script" not in report.lower() and "url(" not in report
    refs = re.findall(r"""\b(?:src|href)\s*=\s*['"]?([^'"\s>]+)""", report)
    assert refs and all(r.startswith(("data:image/jpeg;base64,", "#")) for r in refs), refs
    images = re.findall(r"<img src='([^']+)'", report)
    assert len(images) == 10  # one thumbnail per worst sample
    assert all(src.startswith("data:image/jpeg;base64,") for src in images)


def test_every_language_and_metric_shown(report):
    heatmap = _section(report, "Scores by language", "Per metric")
    for lang in LANGS:
        assert f"data-lang='{lang}'" in heatmap
    for metric in METRICS:
        assert f"<th>{html.escape(metric)}</th>" in heatmap
        assert f"<figcaption>{html.escape(metric)}</figcaption>" in report


def test_heatmap_values_match_results(report, run_dir):
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    cells = {(m["lang"], m["metric"]): m for m in re.finditer(
        r"<td class='?cell(?P<missing> missing)?'? data-task='linguistic' data-lang='(?P<lang>[^']+)' "
        r"data-metric='(?P<metric>[^']+)'(?: data-value='(?P<value>[^']+)')? title='(?P<title>[^']*)'"
        r"[^>]*>(?P<shown>[^<]*)", report)}
    metrics = results["tasks"]["linguistic"]["metrics"]
    assert set(METRICS) <= set(metrics)
    assert len(cells) == len(results["scores"]) == len(LANGS) * len(metrics)
    for row in results["scores"]:
        cell = cells[(row["lang"], row["metric"])]
        if row["value"] is None:
            assert cell["missing"] and cell["shown"] == "—"
            assert html.unescape(cell["title"]) == row["error"]
        else:
            assert float(cell["value"]) == row["value"]
            assert cell["shown"] == f"{row['value']:.2f}"
    assert [r["lang"] for r in results["scores"] if r["value"] is None] == ["th"] * len(metrics)


def test_worst_samples_start_with_the_known_worst(report, run_dir):
    """Ranked by the task's first per-sample metric (rouge_l), lowest first; the sample made
    worst on purpose is the lowest."""
    worst = _section(report, "Worst samples", "Failed samples")
    assert "per-sample <b>rouge_l</b>" in worst
    ids = re.findall(r"<article class=card id='linguistic-(\w+)-([\w-]+)'", worst)
    assert len(ids) == 10 and ids[0] == ("cs", WORST_ID)
    scores = [float(s) for s in re.findall(r"<span class=score>rouge_l ([\d.]+)</span>", worst)]
    assert scores == sorted(scores) and len(scores) == 10
    records = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text(encoding="utf-8").split("\n") if line]
    values = sorted(r["metrics"]["rouge_l"] for r in records if "rouge_l" in r["metrics"])
    assert scores == [round(v, 2) for v in values[:10]]


def test_prediction_is_html_escaped(report):
    assert XSS not in report
    assert html.escape(XSS) in _section(report, "Worst samples", "Failed samples")


def test_failed_samples_listed_with_reasons(report):
    failed = report.split("<h3>Failed samples</h3>", 1)[1]
    assert "<span class='badge bad'>10 failed</span>" in failed
    for sample_id, reason in [("coffee-ru", "prediction is null"), ("astronaut-th", "prediction is null"),
                              ("rocket-vi", "no prediction in preds.jsonl")]:
        assert re.search(rf"<code>{sample_id}</code></td><td>error</td><td class=reason dir=auto>"
                         rf"{re.escape(reason)}</td>", failed), sample_id


def test_header_names_the_run(report, run_dir):
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    header = report.split("</header>", 1)[0]
    for text in ["<b>preds</b>", "predictions", "54 ok", "10 error", "sacrebleu",
                 results["run"]["execution"]["started_at"]]:
        assert text in header


def test_confidence_intervals_per_sample_metric_and_judge(run_dir, tmp_path):
    """Score rows with ci_low/ci_high get whiskers; records with a per-sample metric are ranked by
    it; the judge rationale is shown (escaped); a judge failure is listed as failed."""
    dst = tmp_path / "r"
    shutil.copytree(run_dir, dst)
    results = json.loads((dst / "results.json").read_text(encoding="utf-8"))
    for row in results["scores"]:
        if row["value"] is not None:
            row["ci_low"], row["ci_high"] = row["value"] - 5, row["value"] + 4
    (dst / "results.json").write_text(json.dumps(results), encoding="utf-8")
    records = [json.loads(x) for x in (dst / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    for i, record in enumerate(records):
        if record["status"] == "ok":
            record["metrics"] = {"keyword_acc": 0.5 + i / 1000}
            record["judge"] = {"status": "ok", "rationale": f"names <b>{i}</b> cultural details"}
    target = next(r for r in records if r["id"] == "chelsea-ko")
    target["metrics"]["keyword_acc"] = 0.01
    target["alt_text"] = "a cat & <em>its</em> whiskers"
    broken = next(r for r in records if r["id"] == "rocket-ar")
    broken["judge"] = {"status": "error", "reason": "judge reply did not parse", "rationale": None}
    (dst / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    text = build_report(dst)
    scored = [r for r in results["scores"] if r["value"] is not None]
    assert text.count("<path class=ci ") == len(scored)
    assert "[57.0" in text or "<small>[" in text  # CI printed in heatmap cells
    worst = _section(text, "Worst samples", "Failed samples")
    assert "per-sample <b>keyword_acc</b>" in worst
    first = worst.split("<article", 2)[1]
    assert "chelsea-ko" in first and "keyword_acc 0.01" in first
    assert "names &lt;b&gt;" in first and "names <b>" not in text
    assert "a cat &amp; &lt;em&gt;its&lt;/em&gt; whiskers" in first
    failed = text.split("<h3>Failed samples</h3>", 1)[1]
    assert "<code>rocket-ar</code></td><td>judge error</td>" in failed
    assert "judge reply did not parse" in failed


def test_missing_thumbnails_get_placeholders(run_dir, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(run_dir, bare, ignore=shutil.ignore_patterns("thumbs", "report.html"))
    out = write_report(bare, tmp_path / "sub" / "report.html")
    text = out.read_text(encoding="utf-8")
    assert "<img" not in text and text.count("no thumbnail") == 10
    assert not (bare / "report.html").exists()


def test_cli_subcommand(run_dir, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="mella-eval")
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "out.html"
    args = parser.parse_args(["report", str(run_dir), "-o", str(out)])
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_invalid_run_folder_names_what_is_missing(tmp_path):
    with pytest.raises(MellaError, match=re.escape(str(tmp_path / "nope"))):
        write_report(tmp_path / "nope")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "results.json").write_text("{}", encoding="utf-8")
    with pytest.raises(MellaError, match="samples.jsonl is missing"):
        write_report(tmp_path / "half")
    (tmp_path / "half" / "samples.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(MellaError, match="schema_version"):
        write_report(tmp_path / "half")
    (tmp_path / "half" / "results.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(MellaError, match="results.json: not valid JSON"):
        write_report(tmp_path / "half")


def test_module_import_is_light():
    code = ("import sys, mella_eval.report; heavy = {'sacrebleu', 'PIL', 'pandas', 'torch', 'numpy'} "
            "& set(sys.modules); assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)


def test_record_fields_of_the_wrong_type_are_one_line_errors(run_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad, ignore=shutil.ignore_patterns("report.html"))
    lines = (bad / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[2])
    record["metrics"] = [0.5]
    lines[2] = json.dumps(record, ensure_ascii=False)
    (bad / "samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(MellaError, match=r"samples.jsonl line 3: 'metrics' must be an object, got list"):
        write_report(bad)


def test_a_prediction_with_u2028_is_reported(run_dir, tmp_path):
    odd = tmp_path / "odd"
    shutil.copytree(run_dir, odd, ignore=shutil.ignore_patterns("report.html"))
    lines = (odd / "samples.jsonl").read_text(encoding="utf-8").split("\n")
    record = json.loads(lines[0])
    record["prediction"] = "first\u2028second\u2029third\x85fourth"
    lines[0] = json.dumps(record, ensure_ascii=False)  # raw separators, as json allows
    (odd / "samples.jsonl").write_text("\n".join(lines), encoding="utf-8")
    assert "first\u2028second" in write_report(odd).read_text(encoding="utf-8")


def test_an_unjudged_run_has_no_judge_reliability_box(report):
    assert "Judge reliability" not in report and "judge not calibrated" not in report
