"""`mella-eval export`: several real runs of different "models" merged into one table."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mella_eval import leaderboard
from mella_eval.cli import build_parser
from prediction_runs import LANGS, SAMPLE_ROWS, make_run
from mella_eval.errors import MellaError

REPO = Path(__file__).resolve().parent.parent
def expected_columns(metrics: list[str], per_language: bool = True) -> list[str]:
    """The --per-language header (or, with per_language False, the default one)."""
    return (["model", "run"] + [f"linguistic/macro/{m}" for m in metrics] + ["linguistic/n", "linguistic/failed"]
            + ([f"linguistic/{lang}/{m}" for lang in LANGS for m in metrics] if per_language else []))


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    """A folder of three runs: a perfect model, a truncating one, and one run on th,vi only."""
    root = tmp_path_factory.mktemp("board")
    for name, predict, langs in [
        ("model-a", lambda r, i: r["references"][0], "all"),
        ("model-b", lambda r, i: r["references"][0][: len(r["references"][0]) // 2], "all"),
        ("model-c", lambda r, i: r["references"][1][: 2 * len(r["references"][1]) // 3], "th,vi"),
    ]:
        run = make_run(tmp_path_factory, name, predict, langs)
        (root / name).symlink_to(run, target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def columns(board) -> list[str]:
    """The expected header: metrics in the task's order (results.json tasks.linguistic.metrics)."""
    metrics = json.loads((board / "model-a" / "results.json").read_text())["tasks"]["linguistic"]["metrics"]
    assert metrics[:3] == ["bleu", "chrf", "chrf++"]
    return expected_columns(metrics)


def export(*argv: str) -> int:
    """`mella-eval export ...` through the real parser."""
    return leaderboard.main(build_parser().parse_args(["export", *argv]))


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_columns_order_and_cells(board, tmp_path, columns):
    out = tmp_path / "board.csv"
    assert export(str(board / "model-a"), str(board / "model-b"), str(board / "model-c"),
                  "--format", "csv", "--per-language", "-o", str(out)) == 0
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == columns
    rows = read_csv(out)
    assert [r["model"] for r in rows] == ["model-a", "model-b", "model-c"]
    a, b, c = rows
    assert a["linguistic/th/bleu"] == "100.00" and a["linguistic/macro/chrf"] == "100.00"
    assert a["linguistic/n"] == "64" and c["linguistic/n"] == "16"
    # Rounded to 2 decimals, and the macro cell is the mean of the language cells.
    assert all(len(b[col].split(".")[1]) == 2 for col in columns[2:5])
    langs = [float(b[f"linguistic/{lang}/chrf"]) for lang in LANGS]
    assert abs(float(b["linguistic/macro/chrf"]) - sum(langs) / 8) < 0.01
    # model-c ran th and vi only: other languages are empty cells, and so is its macro (a mean
    # over two languages would rank as if it were the mean over eight).
    assert c["linguistic/ar/bleu"] == "" and c["linguistic/th/bleu"] != ""
    assert c["linguistic/macro/bleu"] == ""


def test_folder_of_runs_and_sort_by(board, tmp_path, capsys):
    out = tmp_path / "sorted.csv"
    assert export(str(board), "--per-language", "--sort-by", "linguistic/th/chrf", "-o", str(out)) == 0
    rows = read_csv(out)
    values = [float(r["linguistic/th/chrf"]) for r in rows]
    assert values == sorted(values, reverse=True) and rows[0]["model"] == "model-a"
    # Descending with empty cells last.
    assert export(str(board), "--sort-by", "linguistic/macro/bleu", "-o", str(out)) == 0
    assert [r["model"] for r in read_csv(out)] == ["model-a", "model-b", "model-c"]
    assert "model-c: its linguistic macro means cover th, vi only" in capsys.readouterr().err


def test_markdown(board, capsys, columns):
    assert export(str(board / "model-b"), str(board / "model-c"), "--format", "md", "--per-language") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| " + " | ".join(columns) + " |"
    assert lines[1].startswith("| --- | --- | ---: |")
    assert len(lines) == 4
    cells = [c.strip() for c in lines[3].strip("|").split("|")]
    assert len(cells) == len(columns) and cells[:2] == ["model-c", "model-c"]
    assert cells[columns.index("linguistic/ar/bleu")] == ""


def test_markdown_from_output_suffix(board, tmp_path):
    out = tmp_path / "board.md"
    assert export(str(board / "model-a"), "-o", str(out)) == 0
    assert out.read_text(encoding="utf-8").startswith("| model | run |")


def test_unknown_sort_column_and_bad_folder(board, tmp_path):
    with pytest.raises(MellaError, match=r"--sort-by 'linguistic/xx/bleu' is not a column; valid "
                                         r"columns include linguistic/macro/bleu"):
        export(str(board), "--sort-by", "linguistic/xx/bleu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MellaError, match="not a run folder"):
        export(str(tmp_path / "empty"))


def test_run_with_failed_language_has_empty_cells_and_says_why(tmp_path_factory, tmp_path, capsys):
    run = make_run(tmp_path_factory, "thai-fails-lb", lambda r, i: None if r["lang"] == "th"
                   else r["references"][0])
    out = tmp_path / "f.csv"
    assert export(str(run), "--per-language", "-o", str(out)) == 0
    row = read_csv(out)[0]
    assert row["linguistic/th/bleu"] == "" and row["linguistic/macro/bleu"] == ""
    assert row["linguistic/vi/bleu"] == "100.00"
    assert row["linguistic/failed"] == "8" and row["linguistic/n"] == "56"  # 8 Thai samples failed
    err = capsys.readouterr().err
    assert "linguistic/th/bleu has no value (no sample could be scored (8 failed))" in err


def test_export_command_exit_codes(board, tmp_path, columns):
    """Through `python -m mella_eval`."""
    out = tmp_path / "cli.csv"
    ok = subprocess.run([sys.executable, "-m", "mella_eval", "export", str(board), "--per-language", "-o", str(out)],
                        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert out.read_text(encoding="utf-8").splitlines()[0].split(",") == columns
    bad = subprocess.run([sys.executable, "-m", "mella_eval", "export", str(board), "--sort-by", "nope"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert bad.returncode == 2 and "is not a column" in bad.stderr


def test_csv_is_plain_utf8(board, columns):
    frame = leaderboard.leaderboard_frame([json.loads((board / "model-a" / "results.json").read_text())],
                                          per_language=True)
    text = leaderboard.to_csv(frame)
    assert list(csv.reader(io.StringIO(text)))[0] == columns


def test_failed_column_for_results_without_a_failures_record(tmp_path_factory):
    """Runs written before results.json had `failures`: the count comes from the score rows."""
    run = make_run(tmp_path_factory, "thai-fails-lb", lambda r, i: None if r["lang"] == "th"
                   else r["references"][0])
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    assert results["failures"]["failed"] == 8
    del results["failures"]
    frame = leaderboard.leaderboard_frame([results])
    assert int(frame.loc[0, "linguistic/failed"]) == 8


HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx",
           "<img src=x onerror=alert(1)>", "a & b | c"]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    """A real run whose model and run names are a spreadsheet formula and raw HTML."""
    run = make_run(tmp_path_factory, "hostile", lambda r, i: r["references"][0], langs="th")
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    results["run"]["model"], results["run"]["name"] = HOSTILE[0], HOSTILE[6]
    dst = tmp_path_factory.mktemp("hostile") / "run"
    dst.mkdir()
    (dst / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return dst


@pytest.mark.parametrize("name", HOSTILE)
def test_csv_cells_never_start_a_formula(name):
    import pandas as pd

    frame = pd.DataFrame([{"model": name, "run": "r", "t/n": 1, "t/macro/bleu": -1.5}])
    model, run, n, value = list(csv.reader(io.StringIO(leaderboard.to_csv(frame), newline="")))[1]
    assert not model.startswith(leaderboard.FORMULA_STARTS)
    assert model.lstrip("'") == name.replace("\r", "\n") and (model == name) == (name[0] not in "=+-@\t\r")
    assert value == "-1.50"  # our own numbers stay numbers


def test_csv_and_markdown_of_a_hostile_run(hostile_run, tmp_path):
    out = tmp_path / "b.csv"
    assert export(str(hostile_run), "-o", str(out)) == 0
    row = read_csv(out)[0]
    assert row["model"] == "'" + HOSTILE[0] and row["run"] == HOSTILE[6]
    md = tmp_path / "b.md"
    assert export(str(hostile_run), "-o", str(md)) == 0
    text = md.read_text(encoding="utf-8")
    assert "<" not in text and ">" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_markdown_escapes_html_and_table_breaks():
    assert leaderboard.markdown_text("a & b | <b>c</b>\nd") == "a &amp; b \\| &lt;b&gt;c&lt;/b&gt; d"


def test_default_is_a_readers_leaderboard(board, tmp_path, columns, capsys):
    """One row per run: the per-task macro metrics, n and failed; no per-language columns."""
    metrics = [c.split("/")[2] for c in columns if "/macro/" in c]
    out = tmp_path / "default.csv"
    assert export(str(board), "-o", str(out)) == 0
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == expected_columns(metrics, per_language=False)
    rows = read_csv(out)
    assert [r["model"] for r in rows] == ["model-a", "model-b", "model-c"]
    assert rows[0]["linguistic/macro/bleu"] == "100.00" and rows[0]["linguistic/n"] == "64"
    # Markdown: the same header and cells.
    assert export(str(board), "--format", "md") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| " + " | ".join(header) + " |" and len(lines) == 2 + 3
    md_cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert md_cells == [rows[0][c] for c in header]


def test_long_form_one_row_per_score_with_ci(board, tmp_path, capsys):
    results = [json.loads((board / name / "results.json").read_text()) for name in ("model-b", "model-c")]
    out = tmp_path / "long.csv"
    assert export(str(board / "model-b"), str(board / "model-c"), "--long", "-o", str(out)) == 0
    rows = read_csv(out)
    assert list(rows[0]) == leaderboard.LONG_COLUMNS
    # Every score row and macro row of both runs, once.
    expected = sum(len(r["scores"]) + len(r["macro"]["scores"]) for r in results)
    assert len(rows) == expected
    by_key = {(r["run"], r["lang"], r["metric"]): r for r in rows}
    for score in results[0]["scores"]:
        row = by_key[("model-b", score["lang"], score["metric"])]
        assert row["value"] == f"{score['value']:.2f}" and row["n"] == str(score["n"])
        assert row["ci_low"] == f"{score['ci_low']:.2f}" and row["ci_high"] == f"{score['ci_high']:.2f}"
        assert float(row["ci_low"]) <= float(row["value"]) <= float(row["ci_high"])
    macro = by_key[("model-b", "macro", "chrf")]
    assert macro["n"] == "64" and macro["task"] == "linguistic"
    # Languages in the table's order, the macro rows after them; model-c has th and vi only.
    langs_b = [r["lang"] for r in rows if r["run"] == "model-b"]
    assert list(dict.fromkeys(langs_b)) == [*LANGS, "macro"]
    assert {r["lang"] for r in rows if r["run"] == "model-c"} == {"th", "vi", "macro"}
    # Markdown: the same rows and cells; text columns left-aligned, numbers right-aligned.
    assert export(str(board / "model-b"), str(board / "model-c"), "--long", "--format", "md") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    assert len(lines) == 2 + expected
    assert [c.strip() for c in lines[2].strip("|").split("|")] == list(rows[0].values())


def test_long_form_sorts_and_keeps_failures(tmp_path_factory, tmp_path):
    run = make_run(tmp_path_factory, "thai-fails-lb", lambda r, i: None if r["lang"] == "th"
                   else r["references"][0])
    out = tmp_path / "long.csv"
    assert export(str(run), "--long", "--sort-by", "value", "-o", str(out)) == 0
    rows = read_csv(out)
    th = [r for r in rows if r["lang"] == "th"]
    assert th and all(r["value"] == "" and r["failed"] == "8" for r in th)
    assert rows[-1]["value"] == ""  # empty values sort last
    assert build_parser().parse_args(["export", str(run), "--long"]).long
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", str(run), "--long", "--per-language"])
