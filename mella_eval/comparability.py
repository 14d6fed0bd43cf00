"""Whether two runs are the same test, for `mella-eval compare`.

Comparable means: the same tasks, the same languages per task, the same sample ids per
(task, lang), and per sample the same prompt hash, references and image hashes. Anything else
is a different test, and the gate says which and stops (exit 2): re-baseline on purpose.

The instruments must match too, wherever compare takes a value from the runs instead of
recomputing it (everything but corpus metrics, which are recomputed here from both runs'
predictions with one implementation):
- judge metrics (judge and ratio kinds): the same judge model (backend, model name, weights
  fingerprint; not the server address) and the same rubric (sha256) in both runs;
- any score row with a `signature` (sacrebleu's, CIDEr's, METEOR's settings and version): the
  same signature in both runs. A corpus metric whose recorded signatures differ is still
  compared (both sides are recomputed here) and the difference is printed as a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mella_eval.errors import MellaError


class NotComparable(MellaError):
    """The two runs are different tests; `reasons` says how."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("runs cannot be compared: " + "; ".join(reasons))


@dataclass
class RunData:
    path: Path
    results: dict
    # (task, lang) -> sample id -> samples.jsonl record
    records: dict[tuple[str, str], dict[str, dict]] = field(default_factory=dict)



def load_run(path: Path) -> RunData:
    from mella_eval.results import read_results, read_samples

    if path.is_file() and path.name == "results.json":
        path = path.parent
    for name in ("results.json", "samples.jsonl"):
        if not (path / name).is_file():
            raise MellaError(f"{path}: not a run folder (no {name})")
    try:
        results, samples = read_results(path), read_samples(path)
    except (OSError, ValueError) as e:
        raise MellaError(f"{path}: cannot be read ({e})") from None
    run = RunData(path, results)
    for record in samples:
        group = run.records.setdefault((record["task"], record["lang"]), {})
        if record["id"] in group:
            raise MellaError(f"{path / 'samples.jsonl'}: sample {record['task']}/{record['lang']}/"
                             f"{record['id']} appears twice")
        group[record["id"]] = record
    return run


def _sample_diff(what: str, keys: list[str], where: str, consequence: str) -> str:
    return f"{what} differ for {len(keys)} sample(s) of {where} (e.g. id {keys[0]}): {consequence}"


def check_comparable(baseline: RunData, candidate: RunData) -> dict[str, list[str]]:
    """Raise NotComparable with every reason; return the metrics to compare per task."""
    reasons: list[str] = []
    tasks_b = tasks_of(baseline)
    tasks_c = tasks_of(candidate)
    if set(tasks_b) != set(tasks_c):
        reasons.append(f"tasks differ: baseline has {', '.join(tasks_b) or 'none'}, "
                       f"candidate has {', '.join(tasks_c) or 'none'}")
    metrics: dict[str, list[str]] = {}
    reasons += [f"{line} (--protocol): a reference-protocol number is not comparable with a "
                "corrected one" for line in mixed_protocols([("the baseline", baseline.results),
                                                              ("the candidate", candidate.results)])]
    for task in (t for t in tasks_b if t in tasks_c):
        langs_b = sorted(lang for (t, lang) in baseline.records if t == task)
        langs_c = sorted(lang for (t, lang) in candidate.records if t == task)
        if langs_b != langs_c:
            reasons.append(f"languages differ for task {task}: baseline has {', '.join(langs_b)}, "
                           f"candidate has {', '.join(langs_c)}")
        for lang in (lang for lang in langs_b if lang in langs_c):
            where = f"{task}/{lang}"
            rb, rc = baseline.records[(task, lang)], candidate.records[(task, lang)]
            only_b, only_c = sorted(set(rb) - set(rc)), sorted(set(rc) - set(rb))
            if only_b or only_c:
                parts = [f"{len(ids)} only in {side} (e.g. id {ids[0]})"
                         for side, ids in (("baseline", only_b), ("candidate", only_c)) if ids]
                reasons.append(f"samples differ for {where}: {'; '.join(parts)}")
            shared = sorted(set(rb) & set(rc))
            checks = [("prompt hashes", "prompt_hash", "a prompt changed; re-baseline on purpose"),
                      ("references", "references", "the dataset changed; re-baseline on purpose"),
                      ("image hashes", "image_sha256", "the images changed; re-baseline on purpose")]
            for what, key, consequence in checks:
                differing = [i for i in shared if rb[i].get(key) != rc[i].get(key)]
                if differing:
                    reasons.append(_sample_diff(what, differing, where, consequence))
        declared_b = metrics_of(baseline, task)
        declared_c = metrics_of(candidate, task)
        common = [m for m in declared_b if m in declared_c]
        if not common:
            reasons.append(f"no metric in common for task {task}: baseline has "
                           f"{', '.join(declared_b) or 'none'}, "
                           f"candidate has {', '.join(declared_c) or 'none'}")
        metrics[task] = common
        reasons += judge_differences(baseline, candidate, task, common)
        reasons += signature_differences(baseline, candidate, task, common)
    if reasons:
        raise NotComparable(reasons)
    return metrics


def protocol_of(results: dict, task: str) -> str:
    """The protocol a results.json scored `task` with (runs before --protocol: "mella")."""
    return ((results.get("tasks") or {}).get(task) or {}).get("protocol", "mella")


def mixed_protocols(named_results: list[tuple[str, dict]]) -> list[str]:
    """One line per task that two of the runs scored with different protocols."""
    seen: dict[str, dict[str, str]] = {}
    for name, results in named_results:
        for task in (results.get("run") or {}).get("tasks") or list(results.get("tasks") or {}):
            seen.setdefault(task, {}).setdefault(protocol_of(results, task), name)
    return [f"task {task} is scored with " + " and ".join(f"the {p} protocol in {run}"
                                                          for p, run in by.items())
            for task, by in seen.items() if len(by) > 1]


JUDGE_KINDS = ("judge", "ratio")
# Where a judge is served does not change its verdicts; what it is does.
NOT_JUDGE_IDENTITY = ("base_url",)


def judge_of(run: RunData, task: str) -> tuple[dict | None, dict | None]:
    """(the judge's identity without its address, the task's rubric {name, version, sha256})."""
    judge = run.results.get("judge") or {}
    identity = judge.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("panel"), list):  # --judge-panel
        identity = {"panel": [_without_address(j) for j in identity["panel"]]}
    elif isinstance(identity, dict):
        identity = _without_address(identity)
    rubric_name = (run.results.get("tasks", {}).get(task) or {}).get("judge")
    rubric = (judge.get("rubrics") or {}).get(rubric_name) if rubric_name else None
    if rubric is not None:
        rubric = {"name": rubric_name, **rubric}
    return identity, rubric


def _without_address(identity):
    if not isinstance(identity, dict):
        return identity
    return {k: v for k, v in identity.items() if k not in NOT_JUDGE_IDENTITY}


def _describe_judge(identity: dict | None) -> str:
    if not identity:
        return "no recorded judge"
    if isinstance(identity.get("panel"), list):
        return "the panel " + ", ".join(f"{j.get('name')}={j.get('model')}" for j in identity["panel"])
    return " ".join(f"{k}={v}" for k, v in identity.items() if v not in (None, {}, []))


def judge_differences(baseline: RunData, candidate: RunData, task: str, metrics: list[str]) -> list[str]:
    """Judge scores from two judges (or two rubrics) are two instruments: not comparable."""
    from mella_eval.metrics.registry import METRICS

    judged = [m for m in metrics if m in METRICS and METRICS[m].kind in JUDGE_KINDS]
    if not judged:
        return []
    (judge_b, rubric_b), (judge_c, rubric_c) = judge_of(baseline, task), judge_of(candidate, task)
    which = f"task {task} ({', '.join(judged)})"
    fix = "compare runs judged by the same judge and rubric, or runs made with --no-judge"
    out = []
    if judge_b != judge_c:
        out.append(f"judges differ for {which}: baseline judged by {_describe_judge(judge_b)}, "
                   f"candidate by {_describe_judge(judge_c)}; {fix}")
    sha_b, sha_c = (r and r.get("sha256") for r in (rubric_b, rubric_c))
    if sha_b != sha_c:
        def show(r):
            return f"{r['name']} v{r.get('version')} (sha256 {str(r.get('sha256'))[:12]})" if r else "none recorded"
        out.append(f"judge rubrics differ for {which}: baseline {show(rubric_b)}, candidate "
                   f"{show(rubric_c)}; {fix}")
    swap_b, swap_c = (_swapped(run, r) for run, r in ((baseline, rubric_b), (candidate, rubric_c)))
    if sha_b == sha_c and swap_b != swap_c:  # one order's score vs the mean of both orders
        out.append(f"judge orders differ for {which}: baseline judged "
                   f"{'both orders' if swap_b else 'one order'}, candidate {'both orders' if swap_c else 'one order'}; "
                   "compare runs made with the same --judge-swap")
    return out


def _swapped(run: RunData, rubric: dict | None) -> bool:
    """Whether a pairwise rubric's answers were judged in both orders (judge.reliability.<rubric>.swap)."""
    figures = ((run.results.get("judge") or {}).get("reliability") or {}).get((rubric or {}).get("name")) or {}
    return bool(figures.get("swap"))


def _signatures(run: RunData, task: str) -> dict[tuple[str, str], str | None]:
    return {(s["lang"], s["metric"]): s.get("signature") for s in run.results.get("scores", [])
            if s["task"] == task}


def signature_differences(baseline: RunData, candidate: RunData, task: str, metrics: list[str],
                          recomputed: bool = False) -> list[str]:
    """Score rows whose `signature` (implementation, settings, version) differs between the runs,
    one line per metric. `recomputed=False`: the metrics whose values compare takes from the
    runs (all but corpus metrics): each is a reason not to compare. `recomputed=True`: the corpus
    metrics, recomputed here for both runs: notes only."""
    from mella_eval.metrics.registry import METRICS

    sig_b, sig_c = _signatures(baseline, task), _signatures(candidate, task)
    out = []
    for metric in metrics:
        if metric not in METRICS or (METRICS[metric].kind == "corpus") != recomputed:
            continue
        langs = sorted(lang for (lang, m) in sig_b.keys() & sig_c.keys()
                       if m == metric and sig_b[(lang, m)] != sig_c[(lang, m)])
        if not langs:
            continue
        first_b, first_c = sig_b[(langs[0], metric)], sig_c[(langs[0], metric)]
        where = f"{task}/{metric} ({', '.join(langs)})"
        if recomputed:
            out.append(f"{where}: signatures differ in results.json (baseline {first_b}, candidate "
                       f"{first_c}); both sides recomputed here from samples.jsonl with one implementation")
        else:
            out.append(f"signatures differ for {where}: baseline {first_b or 'none recorded'}, candidate "
                       f"{first_c or 'none recorded'}: per-sample values from different implementations "
                       "or settings; re-score both runs with one version, or re-baseline on purpose")
    return out


def tasks_of(run: RunData) -> list[str]:
    tasks = list(run.results.get("run", {}).get("tasks") or [])
    for task, _ in run.records:
        if task not in tasks:
            tasks.append(task)
    return tasks


def metrics_of(run: RunData, task: str) -> list[str]:
    declared = (run.results.get("tasks", {}).get(task) or {}).get("metrics")
    if declared:
        return list(declared)
    return list(dict.fromkeys(s["metric"] for s in run.results.get("scores", []) if s["task"] == task))


