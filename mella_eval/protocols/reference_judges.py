"""The reference protocol's judges, for `--protocol reference` (`judge: reference:<task>`).

- **m_llava_bench** (neulab/Pangea ecc4403, `tasks/multilingual-llava-bench/utils.py` and
  `rule.json`): one text-only ask (no image), the captions as context, the GPT-4 answer as
  Assistant 1 and the candidate as Assistant 2, the category's rule prompt; temperature 0.2,
  1,024 tokens. The reply's first line, commas read as spaces and split on single spaces, must be
  exactly two numbers, else both scores are -1 (`parse_score`). Scores are not range-checked.
  Language rule: a candidate in another language than the reference answer and the question
  gets min(0, score); a candidate the language detector cannot read (no letters) gets [-1, -1].
  Aggregation (`llava_aggregation`): column means over the category's samples (-1 rows
  included), each rounded to 3 decimals, then round(candidate / reference x 100, 1).
- **xchatbench**: Pangea has no judge script; its results files are prometheus-eval's
  absolute-grading output, so the judge is prometheus-eval's (`prometheus_eval/prompts.py`
  ABS_SYSTEM_PROMPT, ABSOLUTE_PROMPT, SCORE_RUBRIC_TEMPLATE; `parser.py`
  `_parse_output_absolute`; `utils.py` defaults temperature 1.0, top_p 0.9, 1,024 tokens and up
  to 10 re-asks of a reply without a score), as BiGGen-Bench's `run_response_eval.py` calls it:
  the instruction is the item's `input`, the rubric its `score_rubric`. The score is 1-5.

A ReferenceJudge has the interface of a Rubric (render, inputs, parse, dimensions, ...), so the
judge phase asks it like any other; the differences are its fixed prompts, a reply format that
is not JSON, `parse_retries` and `finish` (the language rule).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Callable

from mella_eval.errors import MellaError
from mella_eval.messages import Message, TextPart
from mella_eval.rubric import Dimension, Verdict

LLAVA_SYSTEM = "You are a helpful and precise assistant for checking the quality of the answer."
# rule.json's "llava_bench_conv" / "_detail" / "_complex": the same role and prompt for all three.
LLAVA_RULE_PROMPT = (
    "We would like to request your feedback on the performance of two AI assistants in response "
    "to the user question displayed above. The user asks the question on observing an image. For "
    "your reference, the visual content in the image is represented with a few sentences "
    "describing the image. \nPlease rate the helpfulness, relevance, accuracy, level of details of "
    "their responses. Each assistant receives an overall score on a scale of 1 to 10, where a "
    "higher score indicates better overall performance.\nPlease first output a single line "
    "containing only two values indicating the scores for Assistant 1 and 2, respectively. The "
    "two scores are separated by a space.\nIn the subsequent line, please provide a comprehensive "
    "explanation of your evaluation, avoiding any potential bias and ensuring that the order in "
    "which the responses were presented does not affect your judgment.")
LLAVA_CATEGORIES = ("conv", "detail", "complex")

PROMETHEUS_SYSTEM = (
    "You are a fair judge assistant tasked with providing clear, objective feedback based on "
    "specific criteria, ensuring each assessment reflects the absolute standards set for "
    "performance.")
PROMETHEUS_ABSOLUTE = """###Task Description:
An instruction (might include an Input inside it), a response to evaluate, a reference answer that gets a score of 5, and a score rubric representing a evaluation criteria are given.
1. Write a detailed feedback that assess the quality of the response strictly based on the given score rubric, not evaluating in general.
2. After writing a feedback, write a score that is an integer between 1 and 5. You should refer to the score rubric.
3. The output format should look as follows: "(write a feedback for criteria) [RESULT] (an integer number between 1 and 5)"
4. Please do not generate any other opening, closing, and explanations.

###The instruction to evaluate:
{instruction}

###Response to evaluate:
{response}

###Reference Answer (Score 5):
{reference_answer}

###Score Rubrics:
{rubric}

###Feedback: """
PROMETHEUS_RUBRIC = ("[{criteria}]\nScore 1: {score1_description}\nScore 2: {score2_description}\n"
                     "Score 3: {score3_description}\nScore 4: {score4_description}\n"
                     "Score 5: {score5_description}")
# The score after [RESULT] / Score: / ... at the very end of the reply (prometheus-eval's rule).
PROMETHEUS_SCORE = re.compile(
    r"(?:\[RESULT\]|\[SCORE\]|Score:?|score:?|Result:?|\[Result\]:?|score\s+of)\s*(?:\(|\[|\s)*"
    r"(\d+)(?:(?:\)|\]|\s|$)|(?:/\s*5|\s*out\s*of\s*5))?(?:\s*$)", re.IGNORECASE)


def _row(sample) -> dict:
    row = sample.extra.get("source_row")
    if row is None:
        raise MellaError(f"sample {sample.id}: a reference judge needs the dataset row "
                         "(run with --protocol reference)")
    return row


def llava_content(row: dict, candidate: str) -> str:
    """`llava_process_results`' user message, byte for byte."""
    captions = row.get("caption", [])
    context = "\n".join(captions) if isinstance(captions, list) else captions
    rule_known = row.get("category", "") in LLAVA_CATEGORIES
    prompt, role = (LLAVA_RULE_PROMPT, "Assistant") if rule_known else ("", "user")
    return (f"[Context]\n{context}\n\n[Question]\n{row.get('question', '')}\n\n"
            f"[{role} 1]\n{row['gpt_answer']}\n\n[End of {role} 1]\n\n"
            f"[{role} 2]\n{candidate}\n\n[End of {role} 2]\n\n[System]\n{prompt}\n\n")


def llava_scores(reply: str | None) -> tuple[float, float] | None:
    """`parse_score`: two numbers on the reply's first line, or None (the reference's [-1, -1]).
    Python's float() as the reference calls it; a non-finite value (it would read "nan") is
    unreadable here, so no NaN reaches the means."""
    fields = (reply or "").strip().split("\n")[0].replace(",", " ").split(" ")
    if len(fields) != 2:
        return None
    try:
        pair = (float(fields[0]), float(fields[1]))
    except ValueError:
        return None
    return pair if all(math.isfinite(x) for x in pair) else None


def prometheus_content(row: dict, candidate: str) -> str:
    rubric = row["score_rubric"]
    if not isinstance(rubric, dict):
        raise MellaError(f"xchatbench row {row.get('task')}-{row.get('instance_idx')}: field "
                         f"'score_rubric' must be a mapping, got {type(rubric).__name__}")
    return PROMETHEUS_ABSOLUTE.format(instruction=row["input"], response=candidate,
                                      reference_answer=row["reference_answer"],
                                      rubric=PROMETHEUS_RUBRIC.format(**rubric))


def prometheus_score(reply: str | None) -> int | None:
    match = PROMETHEUS_SCORE.search(reply or "")
    if match and 1 <= int(match.group(1)) <= 5:
        return int(match.group(1))
    return None


@dataclass(frozen=True)
class ReferenceJudge:
    name: str
    version: str
    source: str  # where the reference defines it
    system: str
    content: Callable[[dict, str], str]  # (dataset row, candidate) -> user message
    dimensions: tuple[Dimension, ...]
    temperature: float
    top_p: float
    max_new_tokens: int
    parse_retries: int  # re-asks of a reply without a score (sampled again, new seed)
    reads: Callable[[str | None], dict | None]  # reply -> {dimension: score} or None
    unreadable: dict | None  # scores of an unreadable reply (None: a parse_error)
    language_rule: bool = False  # m_llava_bench's min(0, candidate) for another language
    # What the judge phase asks of a Rubric; a reference judge has none of these.
    pairwise = None
    labels: tuple = ()
    label_metric = None
    positive_label = None
    label_rules: tuple = ()
    zero_dimensions: tuple = ()
    include_image = False
    schema_json = None
    judges_wrong_language = True  # always asked: the reference applies its own language rule

    @property
    def file(self) -> Path:
        return Path(f"reference-{self.name}")

    @cached_property
    def sha256(self) -> str:
        """Of everything that makes the prompt and the reading: stored with every judgement."""
        spec = {"name": self.name, "version": self.version, "system": self.system,
                "probe": self.content(_PROBE_ROW, "\x00candidate\x00"),
                "generation": [self.temperature, self.top_p, self.max_new_tokens, self.parse_retries]}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode("utf-8")).hexdigest()

    def metrics(self) -> list[str]:
        return [d.metric for d in self.dimensions]

    def derive_label(self, scores: dict):
        return None

    def render(self, candidate: str, sample, swapped: bool = False) -> tuple[Message, ...]:
        return (Message("system", (TextPart(self.system),)),
                Message("user", (TextPart(self.content(_row(sample), candidate)),)))

    def inputs(self, candidate: str, sample, swapped: bool = False) -> dict:
        return {"protocol": "reference", "candidate": candidate, "lang": sample.lang,
                "content": self.content(_row(sample), candidate)}

    def parse(self, raw: str | None) -> Verdict:
        scores = self.reads(raw)
        if scores is not None:
            return Verdict("ok", scores, rationale=raw)
        if self.unreadable is not None:
            return Verdict("ok", dict(self.unreadable), rationale=raw,
                           reason="reply without two scores on its first line: [-1, -1] as the reference")
        return Verdict("parse_error", {}, reason="no [RESULT] score 1-5 at the end of the reply")

    def finish(self, verdict: Verdict, record: dict) -> Verdict:
        """The reference's language rule on a read verdict."""
        if not self.language_rule or verdict.status != "ok":
            return verdict
        if not any(ch.isalpha() for ch in record["prediction"] or ""):
            return replace(verdict, scores={d.key: -1.0 for d in self.dimensions},
                           reason="no letters: the reference's language detector raises, [-1, -1]")
        if record.get("wrong_language"):
            scores = dict(verdict.scores)
            scores["candidate_score"] = min(0.0, scores["candidate_score"])
            return replace(verdict, scores=scores,
                           reason=f"wrong language (detected {record.get('detected_lang')}): "
                                  "candidate score min(0, score) as the reference")
        return verdict


_PROBE_ROW = {"caption": ["c"], "question": "q", "gpt_answer": "a", "category": "conv",
              "input": "i", "reference_answer": "r",
              "score_rubric": {"criteria": "c", **{f"score{i}_description": str(i) for i in range(1, 6)}}}

REFERENCE_JUDGES = {
    "m_llava_bench": ReferenceJudge(
        "m_llava_bench", "1", "neulab/Pangea ecc4403 tasks/multilingual-llava-bench/utils.py",
        LLAVA_SYSTEM, llava_content,
        (Dimension("reference_score", "ref_llava_reference_score", -1, 10),
         Dimension("candidate_score", "ref_llava_candidate_score", -1, 10)),
        temperature=0.2, top_p=1.0, max_new_tokens=1024, parse_retries=0,
        reads=lambda raw: (None if (pair := llava_scores(raw)) is None
                           else {"reference_score": pair[0], "candidate_score": pair[1]}),
        unreadable={"reference_score": -1.0, "candidate_score": -1.0}, language_rule=True),
    "xchatbench": ReferenceJudge(
        "xchatbench", "1", "prometheus-eval 0.1.20 (ABSOLUTE_PROMPT), as BiGGen-Bench calls it",
        PROMETHEUS_SYSTEM, prometheus_content,
        (Dimension("score", "ref_xchat_score", 1, 5),),
        temperature=1.0, top_p=0.9, max_new_tokens=1024, parse_retries=10,
        reads=lambda raw: None if (score := prometheus_score(raw)) is None else {"score": score},
        unreadable=None),
}


def reference_judge(name: str) -> ReferenceJudge:
    try:
        return REFERENCE_JUDGES[name]
    except KeyError:
        raise MellaError(f"judge reference:{name}: no reference judge by that name (available: "
                         f"{', '.join(sorted(REFERENCE_JUDGES))})") from None


def llava_relative_scores(records: list[dict], lang: str) -> dict:
    """`llava_aggregation` per category ("all" and each rule's), over the judged records: each
    mean of [reference, candidate] rounded to 3 decimals, then round(candidate / reference x 100,
    1). A category without judged samples is None (no row: the reference's None); one whose
    reference mean is 0 has the reason."""
    import numpy as np

    judged = [(r["source_row"].get("category", ""), r["judge"]["scores"]) for r in records
              if (r.get("judge") or {}).get("status") == "ok"]
    out: dict[str, float | str | None] = {}
    for category in ("all", *LLAVA_CATEGORIES):
        pairs = [[s["reference_score"], s["candidate_score"]] for c, s in judged
                 if category == "all" or c == category]
        if not pairs:
            out[f"gpt_eval_llava_{category}"] = None
            continue
        reference, candidate = (round(x, 3) for x in np.asarray(pairs).mean(0).tolist())
        out[f"gpt_eval_llava_{category}"] = (round(candidate / reference * 100, 1) if reference
                                             else "the reference answers' mean score is 0")
    return out
