"""Phase 3: the LLM judge, a phase of its own between generation and scoring.

For every sample of a task with a judge rubric and a usable prediction, the rubric is rendered
into a judge request (the candidate as delimited data) and sent through the same machinery as
generation: a backend (an OpenAI-compatible server, or vLLM in-process once the model under test
has been released), the response store (keyed by judge identity, rubric hash and the inputs),
bounded concurrency and retries. Each judgement ends with a status:

  ok           the reply parsed and validated: its scores become the sample's judge metrics
  error        the request failed (after retries): no score
  parse_error  the reply did not match the rubric's schema: no score (and not kept in the store,
               so the next run asks again)

A failure is never a score. With `--wrong-language zero`, an answer in the wrong language gets
zero judge scores without a request; with `flag` it is judged like any other and only flagged.
Under `--protocol reference` a PangeaBench task's judge is the paper code's
(mella_eval/protocols/reference_judges.py): asked once, at its own temperature, its reply read
its way (an unreadable LLaVA-Bench reply is the reference's [-1, -1], a Prometheus reply without
a score is asked again up to its `parse_retries`), and its own language rule applied.

A candidate is untrusted text: the rubric delimits it with tags it cannot forge and defuses
delimiter look-alikes (mella_eval/delimiters.py). Answers sent to the judge that look like an
injection attempt (the guards' `injection_suspected`) are counted per task and language, and a
run with any prints one warning line: their scores are kept, but should be read with care.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from mella_eval.build import GenerationRequest
from mella_eval.data import Sample
from mella_eval.judge_reliability import ask_record, combine, reliability, zero_scores
from mella_eval.rubric import Rubric, Verdict, load_rubric
from mella_eval.store import judgement_key
from mella_eval.tasks import GenerationSettings, Task

log = logging.getLogger(__name__)

JUDGE_STATUSES = ("ok", "error", "parse_error")


@dataclass
class JudgeOutcome:
    """What results.json records about the judge phase."""
    identity: dict = field(default_factory=dict)
    rubrics: dict = field(default_factory=dict)  # name -> {version, sha256, file}
    requests: dict = field(default_factory=dict)  # reused / new / failed
    usage: dict = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})
    counts: list = field(default_factory=list)  # per (task, lang)
    judged: int = 0
    failed: int = 0
    injection_suspected: int = 0  # answers sent to the judge that look like injection attempts
    reliability: dict = field(default_factory=dict)  # rubric -> figures (judge_reliability.py)

    @property
    def failure_rate(self) -> float:
        return self.failed / self.judged if self.judged else 0.0

    def as_dict(self, max_failure_rate: float) -> dict:
        return {"identity": self.identity, "rubrics": self.rubrics, "usage": self.usage, "counts": self.counts, "judged": self.judged,
                "failed": self.failed, "failure_rate": round(self.failure_rate, 6),
                "max_failure_rate": max_failure_rate, "injection_suspected": self.injection_suspected,
                **({"reliability": self.reliability} if self.reliability else {})}


def judged_tasks(tasks: list[Task]) -> list[tuple[Task, Rubric]]:
    return [(t, load_rubric(t.judge, t.file.parent)) for t in tasks if t.judge]


def judge_config(config):
    """The run config as the judge backend sees it: the judge's own model, server, key variable
    and concurrency; nothing of the model under test carries over."""
    backend = config.judge_backend
    if backend == "auto":
        backend = "openai" if config.judge_base_url else "vllm"
    return replace(config, backend=backend, model=config.judge_model,
                   base_url=config.judge_base_url, api_key_env=config.judge_api_key_env,
                   concurrency=config.judge_concurrency, model_args=dict(config.judge_model_args),
                   max_model_len=config.judge_max_model_len, dtype="auto",
                   tensor_parallel_size=config.judge_tensor_parallel_size)


def run_judge(tasks: list[Task], records: list[dict], samples: dict[tuple, Sample], config,
              backend_factory, store) -> JudgeOutcome:
    """Judge every eligible record in place: `record["judge"]` and its judge metrics.

    Every judge of the panel (or the one --judge-model) is asked about every answer, in both
    orders of a pairwise rubric (--judge-swap) and --judge-repeats times each; the asks become
    one verdict by mella_eval/judge_reliability.py, and their agreement is reported."""
    pairs = judged_tasks(tasks)
    outcome = JudgeOutcome(rubrics={r.name: {"version": r.version, "sha256": r.sha256,
                                             "file": r.file.name} for _, r in pairs})
    if not pairs:
        return outcome
    panel = list(config.judge_panel)
    if config.judge_swap and not any(r.pairwise for _, r in pairs):
        log.warning("judge: --judge-swap has no effect here: no rubric of these tasks grades two "
                    "answers (a pairwise rubric declares pairwise and user_swapped)")
    judges = [(j.name, j.run_config(config)) for j in panel] or [("", config)]
    asks: dict[tuple, list] = {}  # record key -> [(ask, verdict, raw, usage)]
    targets: dict[tuple, tuple] = {}  # record key -> (record, rubric, zero)
    identities, totals = [], {"reused": 0, "new": 0, "failed": 0}
    for name, judge_run_config in judges:
        if name:
            from mella_eval.backends import create_backend
            backend = create_backend(judge_config(judge_run_config))
        else:
            backend = backend_factory()
        try:
            identity = backend.cache_identity()
            identities.append({"name": name, **identity} if name else identity)
            stats = _ask_judge(name, backend, identity, pairs, records, samples, config, store, asks, targets)
        finally:
            backend.close()
        for key in totals:
            totals[key] += stats.get(key, 0)
    outcome.identity = {"panel": identities} if panel else identities[0]
    outcome.requests = totals
    for key, (record, rubric, zero) in targets.items():
        given = [(ask, verdict) for ask, verdict, _, _ in asks[key]]
        verdict, by_judge = combine(rubric, given)
        first = asks[key][0]
        _set_verdict(record, rubric, verdict, raw=first[2], usage=first[3])
        if len(given) > 1:
            record["judge"]["asks"] = [ask_record(a, v, raw, usage) for a, v, raw, usage in asks[key]]
            record["judge"]["by_judge"] = by_judge
        for _, _, _, usage in asks[key]:
            for field_name in ("prompt_tokens", "completion_tokens"):
                outcome.usage[field_name] += int(usage.get(field_name, 0) or 0)
    outcome.judged = len(targets)
    outcome.failed = sum(1 for record, _, _ in targets.values() if record["judge"]["status"] != "ok")
    outcome.counts = judge_counts(records, [t.name for t, _ in pairs])
    outcome.injection_suspected = _warn_injections([record for record, _, _ in targets.values()])
    names = [name for name, _ in judges]
    for task, rubric in pairs:
        if config.judge_repeats > 1 or len(names) > 1 or _swaps(rubric, config):
            figures = reliability(records, rubric, [t.name for t, r in pairs if r.name == rubric.name],
                                  names, config.judge_repeats, _swaps(rubric, config))
            outcome.reliability[rubric.name] = figures
    for _, rubric in pairs:
        _add_calibration(outcome, rubric, list(zip(names, identities)), config)
    inconsistent = sum(row["inconsistent"] for row in outcome.counts)
    if inconsistent:
        log.warning("judge: %d replies gave a label their own scores contradict; the label was "
                    "derived from the scores by the rubric's rules (see inconsistent in results' judge "
                    "counts)", inconsistent)
    if outcome.judged:
        log.info("judge: %d answers judged (%d requests reused, %d new), %d failed (%.1f%%)", outcome.judged,
                 totals["reused"], totals["new"], outcome.failed, 100 * outcome.failure_rate)
    return outcome


def _add_calibration(outcome: JudgeOutcome, rubric: Rubric, judges: list[tuple[str, dict]], config) -> None:
    """The saved `judge-check` of each judge with this rubric, and one warning line per flagged one."""
    from mella_eval.judge_check import saved_check

    found = {}
    for name, identity in judges:
        check = saved_check(identity, rubric.sha256, config.cache_dir)
        if check is not None:
            found[name] = {key: check.get(key) for key in ("flagged", "flagged_langs", "thresholds", "by_lang")}
            if check.get("flagged"):
                log.warning("judge%s: its judge-check with rubric %s flagged it: it does not separate "
                            "thick, thin, wrong and injected descriptions in %s; read its scores with care",
                            f" {name}" if name else "", rubric.name, ", ".join(check.get("flagged_langs") or []))
    if found:
        outcome.reliability.setdefault(rubric.name, {})["calibration"] = found


def _swaps(rubric: Rubric, config) -> bool:
    """Whether this rubric's answers are judged in both orders (pairwise rubrics, unless --no-judge-swap)."""
    return rubric.pairwise is not None and config.judge_swap is not False


def _ask_judge(name: str, backend, identity: dict, pairs, records, samples, config, store,
               asks: dict, targets: dict) -> dict:
    """Send one judge every ask of every eligible record; its verdicts are added to `asks`."""
    from mella_eval.generate import generate_all

    requests, keys, where = [], {}, {}

    def add(record: dict, rubric, sample, temperature: float, swapped: bool, repeat: int,
            retry: int = 0) -> None:
        settings = GenerationSettings(max_new_tokens=rubric.max_new_tokens, temperature=temperature,
                                      top_p=rubric.top_p, seed=repeat + retry,
                                      json_schema=rubric.schema_json)
        # The first order's first ask keeps its old id and key: stored replies stay usable.
        sample_id = record["id"] if not (swapped or repeat) else \
            f"{record['id']}#{'swapped' if swapped else 'first'}-{repeat + 1}"
        if retry:
            sample_id += f"#retry-{retry}"
        request = GenerationRequest(task=record["task"], lang=record["lang"], sample_id=sample_id,
                                    messages=rubric.render(record["prediction"], sample, swapped),
                                    settings=settings)
        inputs = rubric.inputs(record["prediction"], sample, swapped)
        for key, value in (("repeat", repeat), ("temperature", temperature), ("retry", retry)):
            if value:
                inputs[key] = value
        keys[request.key] = judgement_key(identity, rubric.sha256, inputs)
        requests.append(request)
        where[request.key] = ((record["task"], record["lang"], record["id"]),
                              {"judge": name, "swapped": swapped, "repeat": repeat})

    for task, rubric in pairs:
        reference = task.protocol == "reference"
        temperature = _temperature(rubric, config, reference)
        repeats = 1 if reference else config.judge_repeats  # the reference asks once
        if repeats > 1 and temperature == 0:
            log.warning("judge: --judge-repeats %d at temperature 0 measures only how deterministic "
                        "the judge is; give --judge-temperature (or the rubric's generation.temperature)",
                        repeats)
        orders = (False, True) if _swaps(rubric, config) else (False,)
        for record in records:
            if record["task"] != task.name or record["status"] != "ok" or record["prediction"] is None:
                continue
            record_key = (record["task"], record["lang"], record["id"])
            zero = bool(record.get("wrong_language")) and config.wrong_language == "zero" and not reference
            if zero and not rubric.judges_wrong_language:
                if record_key not in targets:  # scored 0 once, without any judge
                    targets[record_key] = (record, rubric, zero)
                    asks[record_key] = [({"judge": "", "swapped": False, "repeat": 0},
                                         _zeroed(rubric, record), None, {})]
                continue
            targets[record_key] = (record, rubric, zero)
            for swapped in orders:
                for repeat in range(repeats):
                    add(record, rubric, samples[record_key], temperature, swapped, repeat)

    def rubric_of(request: GenerationRequest):
        return targets[where[request.key][0]][1]

    def reject(request: GenerationRequest, completion) -> str | None:
        verdict = rubric_of(request).parse(completion.text)
        return None if verdict.status == "ok" else f"parse_error: {verdict.reason}"

    completions, stats = generate_all(backend, requests, store, kind="judgement", keys=keys,
                                      desc=f"judge {name}".strip(), reject=reject, identity=identity)
    final = list(requests)
    for retry in range(1, 1 + max((rubric.parse_retries for _, rubric in pairs), default=0)):
        # prometheus-eval re-asks a reply without a score (sampled, so it may differ): each
        # retry replaces that ask; the last reply is kept whatever it says.
        again = [(i, r) for i, r in enumerate(final) if completions[r.key].status == "ok"
                 and rubric_of(r).parse_retries >= retry
                 and rubric_of(r).parse(completions[r.key].text).status != "ok"]
        if not again:
            break
        requests.clear()
        for index, old in again:
            record_key, ask = where[old.key]
            record, rubric, _ = targets[record_key]
            add(record, rubric, samples[record_key], old.settings.temperature, ask["swapped"],
                ask["repeat"], retry)
            final[index] = requests[-1]
        more, more_stats = generate_all(backend, requests, store, kind="judgement", keys=keys,
                                        desc=f"judge {name} re-ask {retry}".strip(), reject=reject,
                                        identity=identity)
        completions.update(more)
        stats.reused += more_stats.reused
        stats.new += more_stats.new
        stats.failed += more_stats.failed
    for request in final:  # in asking order
        completion = completions[request.key]
        record_key, ask = where[request.key]
        record, rubric, zero = targets[record_key]
        if completion.status != "ok":
            verdict = Verdict("error", {}, reason=completion.reason)
        else:
            verdict = rubric.parse(completion.text)
            if hasattr(rubric, "finish"):  # a reference judge's own language rule
                verdict = rubric.finish(verdict, record)
            elif zero and verdict.status == "ok":  # judged for its other scores; these are 0
                verdict = zero_scores(rubric, verdict)
        asks.setdefault(record_key, []).append((ask, verdict, completion.text, completion.usage))
    return stats.as_dict()


def _temperature(rubric, config, reference: bool) -> float:
    """The rubric's temperature unless --judge-temperature; a reference judge's is fixed."""
    if reference:
        if config.judge_temperature is not None and config.judge_temperature != rubric.temperature:
            log.warning("judge: --judge-temperature %s ignored: --protocol reference asks the "
                        "%s judge at the reference's temperature %s", config.judge_temperature,
                        rubric.name, rubric.temperature)
        return rubric.temperature
    return config.judge_temperature if config.judge_temperature is not None else rubric.temperature


def _warn_injections(judged: list[dict]) -> int:
    """One warning line for the answers sent to the judge that look like injection attempts."""
    suspects: dict[str, int] = {}
    for record in judged:
        if record.get("injection_suspected"):
            where = f"{record['task']}/{record['lang']}"
            suspects[where] = suspects.get(where, 0) + 1
    total = sum(suspects.values())
    if total:
        places = ", ".join(f"{where} {n}" for where, n in sorted(suspects.items()))
        log.warning("judge: %d of %d judged answers look like prompt injection (%s); they were "
                    "delimited as data and judged, see injection_suspected in samples.jsonl",
                    total, len(judged), places)
    return total


def _zeroed(rubric: Rubric, record: dict) -> Verdict:
    return Verdict("ok", {d.key: 0 for d in rubric.dimensions},
                   label=next((l for l in rubric.labels if l != rubric.positive_label), None),
                   rationale=None,
                   reason=f"wrong language (expected {record.get('expected_lang', record['lang'])}, "
                          f"detected {record.get('detected_lang')}): scored 0 "
                          "without a judge request (--wrong-language zero)")


def _set_verdict(record: dict, rubric: Rubric, verdict: Verdict, raw: str | None, usage: dict) -> None:
    record["judge"] = {
        "status": verdict.status,
        "scores": verdict.scores,
        "label": verdict.label,
        # The judge's own label, and whether it follows from its scores by the rubric's rules.
        "reply_label": verdict.reply_label,
        "consistent": verdict.consistent,
        "rationale": verdict.rationale,
        "reason": verdict.reason,
        "raw": raw,
        "usage": usage,
        "rubric": rubric.name,
        "rubric_sha256": rubric.sha256,
    }
    if verdict.status == "ok":
        for dim in rubric.dimensions:
            record["metrics"][dim.metric] = float(verdict.scores[dim.key])
        if rubric.label_metric:
            record["metrics"][rubric.label_metric] = 1.0 if verdict.label == rubric.positive_label else 0.0


def judge_counts(records: list[dict], task_names: list[str]) -> list[dict]:
    out: dict[tuple[str, str], dict] = {}
    for r in records:
        if r["task"] not in task_names:
            continue
        row = out.setdefault((r["task"], r["lang"]), {
            "task": r["task"], "lang": r["lang"], "ok": 0, "error": 0, "parse_error": 0,
            "zeroed_wrong_language": 0, "not_judged": 0, "consistency_checked": 0, "inconsistent": 0,
            "inconsistent_rate": None})
        judge = r.get("judge")
        if judge is None:
            row["not_judged"] += 1
        else:
            row[judge["status"]] += 1
            row["zeroed_wrong_language"] += bool(judge["reason"] and judge["reason"].startswith("wrong language"))
            if judge.get("consistent") is not None:
                row["consistency_checked"] += 1
                row["inconsistent"] += not judge["consistent"]
    for row in out.values():
        if row["consistency_checked"]:
            row["inconsistent_rate"] = round(row["inconsistent"] / row["consistency_checked"], 6)
    return list(out.values())
