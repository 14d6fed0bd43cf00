"""--shard i/N and merge: balanced deterministic slices; merged shards equal an unsharded run."""

import json
from collections import Counter
from pathlib import Path

import pytest

from fault_server import FaultServer, reply_json
from mella_eval.cli import main
from mella_eval.data import load_samples
from mella_eval.errors import MellaError
from mella_eval.shard import parse_shard, select_shard
from mella_eval.tasks import TaskRegistry

REPO = Path(__file__).resolve().parent.parent
PREDICTIONS = REPO / "results" / "baseline" / "predictions.jsonl"
VERDICT = {"rationale": "r", "thickness": 3, "faithfulness": 4, "fluency": 5, "label": "thin"}


def comparable(run_dir: Path) -> tuple[dict, str]:
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    results["run"].pop("execution"), results["run"].pop("name")
    for key in ("output_dir", "run_name"):
        results["run"]["config"].pop(key)
    return results, (run_dir / "samples.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize("spec, message", [("3/3", "0..2"), ("a/b", "expected i/N"), ("1/0", "N >= 1")])
def test_bad_shard_specs(spec, message):
    with pytest.raises(MellaError, match=message):
        parse_shard(spec)


def test_shards_are_disjoint_complete_and_balanced_per_language():
    task = TaskRegistry().resolve("linguistic")[0]
    samples = load_samples(task, task.langs)
    shards = [select_shard(samples, i, 3) for i in range(3)]
    ids = [(s.lang, s.id) for shard in shards for s in shard]
    assert sorted(ids) == sorted((s.lang, s.id) for s in samples) and len(set(ids)) == len(ids)
    for lang in task.langs:
        sizes = [sum(s.lang == lang for s in shard) for shard in shards]
        assert max(sizes) - min(sizes) <= 1, (lang, sizes)
    # Deterministic, and independent of the input order.
    again = select_shard(list(reversed(samples)), 1, 3)
    assert {s.id + s.lang for s in again} == {s.id + s.lang for s in shards[1]}


def run(out: Path, name: str, *extra) -> int:
    return main(["run", "--predictions", str(PREDICTIONS), "--tasks", "culture,linguistic",
                 "--langs", "all", "--output-dir", str(out), "--run-name", name, *extra])


def test_merged_shards_equal_the_unsharded_run_judge_included(tmp_path):
    with FaultServer(default=reply_json(VERDICT)) as server:
        judge = ["--judge-model", server.model, "--judge-base-url", server.base_url,
                 "--cache-dir", str(tmp_path / "cache")]
        assert run(tmp_path, "whole", *judge) == 0
        for i in range(3):
            assert run(tmp_path, f"s{i}", "--shard", f"{i}/3", *judge) == 0
    sizes = [json.loads((tmp_path / f"s{i}" / "results.json").read_text())["run"]["counts"]["samples"]
             for i in range(3)]
    assert sum(sizes) == 128 and max(sizes) - min(sizes) <= 16
    assert main(["merge", *(str(tmp_path / f"s{i}") for i in (2, 0, 1)), "-o", str(tmp_path / "merged")]) == 0
    whole, merged = comparable(tmp_path / "whole"), comparable(tmp_path / "merged")
    assert merged[1] == whole[1]  # samples.jsonl, byte for byte
    assert merged[0] == whole[0]  # every score, interval, count and judge total
    assert json.loads((tmp_path / "merged" / "results.json").read_text())["run"]["execution"]["merged_from"]


def test_merge_refuses_incomplete_or_mismatched_shards(tmp_path, capsys):
    for i in range(2):
        assert run(tmp_path, f"s{i}", "--shard", f"{i}/2", "--no-judge") == 0
    assert run(tmp_path, "limited", "--shard", "1/2", "--no-judge", "--limit", "3") == 0
    assert main(["run", "--predictions", str(PREDICTIONS), "--tasks", "linguistic", "--langs", "all",
                 "--output-dir", str(tmp_path), "--run-name", "other-tasks", "--shard", "1/2"]) == 0
    assert run(tmp_path, "whole", "--no-judge") == 0
    cases = [
        ([tmp_path / "s0"], "missing shard(s) 1/2 of 2"),
        ([tmp_path / "s0", tmp_path / "s0"], "shard 0/2 given twice"),
        ([tmp_path / "s0", tmp_path / "limited"], "different settings: limit"),
        ([tmp_path / "s0", tmp_path / "other-tasks"], "differ in run.tasks"),
        ([tmp_path / "s0", tmp_path / "whole"], "not a shard"),
        ([tmp_path / "s0", tmp_path / "nothing"], "not a run folder"),
    ]
    for dirs, message in cases:
        code = main(["merge", *map(str, dirs), "-o", str(tmp_path / "m")])
        err = capsys.readouterr().err
        assert code == 2 and message in err, (dirs, err)


def rewrite_shard(src: Path, dst: Path, edit, recount: bool) -> Path:
    """A copy of shard `src` whose samples are `edit(records)`; with `recount`, results.json is
    recomputed from them too (counts and scores consistent with the damaged samples)."""
    from types import SimpleNamespace

    from mella_eval.results import read_results, read_samples, write_run
    from mella_eval.score import record_counts, summarize

    results, records = read_results(src), edit(read_samples(src))
    if recount:
        tasks = [SimpleNamespace(name=n, metrics=i["metrics"], breakdown=None) for n, i in results["tasks"].items()]
        results.update(summarize(tasks, records))
        results["run"]["counts"].update(record_counts(records))
    write_run(dst, results, records)
    return dst


def first_in_shard_order(records: list[dict], task: str, lang: str) -> dict:
    from mella_eval.shard import shard_key

    group = [r for r in records if (r["task"], r["lang"]) == (task, lang)]
    return min(group, key=lambda r: shard_key(task, lang, r["id"]))


def test_merge_refuses_a_shard_that_lost_rows(tmp_path, capsys):
    for i in range(2):
        assert run(tmp_path, f"s{i}", "--shard", f"{i}/2", "--no-judge") == 0
    drop_last = lambda records: records[:-1]  # noqa: E731
    drop_first_ar = lambda records: [r for r in records if r is not first_in_shard_order(  # noqa: E731
        records, "linguistic", "ar")]
    lost = rewrite_shard(tmp_path / "s1", tmp_path / "lost", drop_last, recount=False)
    hidden = rewrite_shard(tmp_path / "s1", tmp_path / "hidden", drop_first_ar, recount=True)
    cases = [(lost, f"{lost}: samples.jsonl has 63 samples but its results.json counted 64: this shard lost"),
             # Counts rewritten to match: the rows after the lost one moved to the other shard.
             (hidden, "(among the merged samples it falls in shard ")]
    for shard, message in cases:
        code = main(["merge", str(tmp_path / "s0"), str(shard), "-o", str(tmp_path / "m")])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "lost or gained rows" in err, err
        assert not (tmp_path / "m").exists()


def test_merge_refuses_rows_moved_between_shards(tmp_path, capsys):
    """Counts all agree, but a sample sits in the other shard: the assignment check finds it."""
    from mella_eval.results import read_samples

    for i in range(2):
        assert run(tmp_path, f"s{i}", "--shard", f"{i}/2", "--no-judge") == 0
    a = first_in_shard_order(read_samples(tmp_path / "s0"), "culture", "th")
    b = first_in_shard_order(read_samples(tmp_path / "s1"), "culture", "th")
    swap = lambda old, new: lambda records: [new if r["id"] == old["id"] and r["task"] == old["task"]  # noqa: E731
                                             and r["lang"] == old["lang"] else r for r in records]
    s0 = rewrite_shard(tmp_path / "s0", tmp_path / "x0", swap(a, b), recount=True)
    s1 = rewrite_shard(tmp_path / "s1", tmp_path / "x1", swap(b, a), recount=True)
    assert main(["merge", str(s0), str(s1), "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert (f"culture/th/{a['id']} does not belong to shard 1/2" in err
            or f"culture/th/{b['id']} does not belong to shard 0/2" in err), err


def test_merged_shards_equal_the_unsharded_run_with_a_whole_corpus_metric(tmp_path):
    """CIDEr-D's idf is over the whole (task, lang) corpus: each shard saw a part, merge rescored."""
    import re

    text = (REPO / "tasks" / "linguistic.yaml").read_text(encoding="utf-8")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "linguistic.yaml").write_text(re.sub(r"(?m)^metrics: .*$", "metrics: [bleu, cider]", text),
                                           encoding="utf-8")
    common = ["--predictions", str(PREDICTIONS), "--tasks", str(tasks / "linguistic.yaml"), "--include-path",
              str(tasks), "--data-dir", str(REPO / "tasks" / "data" / "mella_sample"), "--langs", "all",
              "--output-dir", str(tmp_path)]
    assert main(["run", *common, "--run-name", "whole"]) == 0
    for i in range(2):
        assert main(["run", *common, "--run-name", f"s{i}", "--shard", f"{i}/2"]) == 0
    shard_cider = json.loads((tmp_path / "s0" / "samples.jsonl").read_text(encoding="utf-8").splitlines()[0])
    whole_rows = {(r["lang"], r["id"]): r for r in map(json.loads, (tmp_path / "whole" / "samples.jsonl")
                                                       .read_text(encoding="utf-8").splitlines())}
    assert shard_cider["metrics"]["cider"] != whole_rows[(shard_cider["lang"], shard_cider["id"])]["metrics"]["cider"]
    assert main(["merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "-o", str(tmp_path / "merged")]) == 0
    whole, merged = comparable(tmp_path / "whole"), comparable(tmp_path / "merged")
    assert merged[1] == whole[1] and merged[0] == whole[0]
