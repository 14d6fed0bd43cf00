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

    @property
    def failure_rate(self) -> float:
        return self.failed / self.judged if self.judged else 0.0

    def as_dict(self, max_failure_rate: float) -> dict:
        return {"identity": self.identity, "rubrics": self.rubrics, "usage": self.usage, "counts": self.counts, "judged": self.judged,
                "failed": self.failed, "failure_rate": round(self.failure_rate, 6),
                "max_failure_rate": max_failure_rate, "injection_suspected": self.injection_suspected}


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
    """Judge every eligible record in place: `record["judge"]` and its judge metrics."""
    from mella_eval.generate import generate_all

    pairs = judged_tasks(tasks)
    outcome = JudgeOutcome(rubrics={r.name: {"version": r.version, "sha256": r.sha256,
                                             "file": r.file.name} for _, r in pairs})
    if not pairs:
        return outcome
    backend = backend_factory()
    identity = backend.cache_identity()
    outcome.identity = identity
    requests, keys, targets = [], {}, {}
    for task, rubric in pairs:
        settings = GenerationSettings(max_new_tokens=rubric.max_new_tokens, temperature=0.0,
                                      json_schema=rubric.schema_json)
        for record in records:
            if record["task"] != task.name or record["status"] != "ok" or record["prediction"] is None:
                continue
            zero = bool(record.get("wrong_language")) and config.wrong_language == "zero"
            if zero and not rubric.judges_wrong_language:
                _set_verdict(record, rubric, _zeroed(rubric, record), raw=None, usage={})
                continue
            sample = samples[(record["task"], record["lang"], record["id"])]
            request = GenerationRequest(
                task=record["task"], lang=record["lang"], sample_id=record["id"],
                messages=rubric.render(record["prediction"], sample), settings=settings)
            keys[request.key] = judgement_key(identity, rubric.sha256,
                                              rubric.inputs(record["prediction"], sample))
            requests.append(request)
            targets[request.key] = (record, rubric, zero)

    def reject(request: GenerationRequest, completion) -> str | None:
        verdict = targets[request.key][1].parse(completion.text)
        return None if verdict.status == "ok" else f"parse_error: {verdict.reason}"

    try:
        completions, stats = generate_all(backend, requests, store, kind="judgement", keys=keys,
                                          desc="judge", reject=reject)
        outcome.requests = stats.as_dict()
    finally:
        backend.close()

    for key, completion in completions.items():
        record, rubric, zero = targets[key]
        if completion.status != "ok":
            verdict = Verdict("error", {}, reason=completion.reason)
        else:
            verdict = rubric.parse(completion.text)
            if zero and verdict.status == "ok":  # judged for its other scores; this one is 0
                scores = {k: 0 if k in rubric.zero_dimensions else v for k, v in verdict.scores.items()}
                verdict = replace(verdict, scores=scores,
                                  label=rubric.derive_label(scores) if rubric.label_rules else verdict.label,
                                  reason="wrong language: " + ", ".join(rubric.zero_dimensions) + " set to 0")
        _set_verdict(record, rubric, verdict, raw=completion.text, usage=completion.usage)
        for name in ("prompt_tokens", "completion_tokens"):
            outcome.usage[name] += int(completion.usage.get(name, 0) or 0)
    outcome.judged = len(completions)
    outcome.failed = sum(1 for c in completions if targets[c][0]["judge"]["status"] != "ok")
    outcome.counts = judge_counts(records, [t.name for t, _ in pairs])
    outcome.injection_suspected = _warn_injections([targets[k][0] for k in completions])
    inconsistent = sum(row["inconsistent"] for row in outcome.counts)
    if inconsistent:
        log.warning("judge: %d replies gave a label their own scores contradict; the label was "
                    "derived from the scores by the rubric's rules (see inconsistent in results' judge "
                    "counts)", inconsistent)
    if outcome.judged:
        log.info("judge: %d judgements (%d reused, %d new), %d failed (%.1f%%)", outcome.judged,
                 outcome.requests["reused"], outcome.requests["new"], outcome.failed,
                 100 * outcome.failure_rate)
    return outcome


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
                   reason=f"wrong language (detected {record.get('detected_lang')}): scored 0 "
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
