"""Judge rubrics as data (judges/*.yaml): load and validate, render prompts, parse replies strictly.

A reply is accepted only if it is one JSON object that matches the rubric: every dimension an
integer in its range, the label one of the rubric's labels, a string rationale, no other keys,
no key twice. Anything else is a `parse_error` with the reason: a judge failure never becomes a
score.

The candidate and the sample's fields are untrusted text in the prompt: the candidate is put
between per-request tags it cannot forge, and delimiter look-alikes inside any of them are
defused (mella_eval/delimiters.py). A rubric file is read within the limits of
mella_eval/safe_yaml.py and its templates may use only `{name}` placeholders.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from mella_eval.delimiters import candidate_tag, neutralise_tags, template_tag_names, wrap_candidate
from mella_eval.errors import MellaError, TaskError
from mella_eval.languages import get_language
from mella_eval.messages import ImagePart, Message, TextPart
from mella_eval.safe_yaml import excerpt, key_text, load_yaml_file
from mella_eval.templates import check_template

REQUIRED_KEYS = ("name", "version", "description", "dimensions", "system", "user", "schema")
OPTIONAL_KEYS = ("include_image", "generation", "labels", "label_metric", "positive_label",
                 "zero_dimensions", "label_rules", "pairwise", "user_swapped")
# Placeholders of the prompt templates; all but language and candidate(_tag) come from the sample.
# {candidate} becomes the delimited block <candidate-TAG>...</candidate-TAG>; {candidate_tag} is
# that tag's name, for a system prompt that wants to say where the candidate ends.
PLACEHOLDERS = ("language", "candidate", "candidate_tag", "alt_text", "keywords", "question",
                "reference_answer", "item_rubric")
# Version of how prompts are rendered from a rubric (delimiters, neutralising): part of every
# judgement's store key, so a change here asks the judge again instead of reusing old replies.
PROMPT_FORMAT = 2
FENCE_RE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.DOTALL)


@dataclass(frozen=True)
class Dimension:
    key: str  # key in the judge's reply
    metric: str  # results metric it feeds
    min: int
    max: int


@dataclass(frozen=True)
class Verdict:
    status: str  # "ok" | "parse_error"
    scores: dict  # dimension key -> int
    label: str | None = None  # derived from the scores where the rubric has label_rules
    rationale: str | None = None
    reason: str | None = None
    reply_label: str | None = None  # the label the judge wrote
    consistent: bool | None = None  # reply_label == the derived label (None: nothing to check)


@dataclass(frozen=True)
class LabelRule:
    """`label` when every listed dimension's score lies in its [min, max]; no conditions: always."""
    label: str
    when: tuple[tuple[str, int | None, int | None], ...] = ()  # (dimension key, min, max)

    def holds(self, scores: dict) -> bool:
        return all((lo is None or scores[key] >= lo) and (hi is None or scores[key] <= hi)
                   for key, lo, hi in self.when)


@dataclass(frozen=True)
class Rubric:
    name: str
    version: str
    file: Path
    sha256: str  # of the rubric file's bytes: stored with every judgement
    dimensions: tuple[Dimension, ...]
    system: str
    user: str
    schema: dict
    labels: tuple[str, ...] = ()  # optional label (e.g. thin/thick) and its share metric
    label_metric: str | None = None
    positive_label: str | None = None
    # Dimensions set to 0 for a wrong-language answer (--wrong-language zero). When some
    # dimensions are not zeroed (a reference's own score), the judge is still asked.
    zero_dimensions: tuple[str, ...] = ()
    # How the label follows from the scores: the first rule that holds (the last one always does).
    label_rules: tuple[LabelRule, ...] = ()
    include_image: bool = True
    max_new_tokens: int = 400
    temperature: float = 0.0  # generation.temperature: what repeated judgements sample at
    # A pairwise rubric grades two answers (e.g. a reference and the candidate) in one prompt:
    # `pairwise` names their two score dimensions in the order `user` shows them; `user_swapped`
    # is the user prompt with the two in the other order, so position bias can be measured
    # (--judge-swap). The reply keys name the answers by role, not by position.
    pairwise: tuple[str, str] | None = None
    user_swapped: str | None = None
    # Fixed for a rubric file; a reference judge (protocols/reference_judges.py) sets its own.
    top_p = 1.0
    parse_retries = 0  # re-asks of a reply that does not parse, within one run

    @property
    def schema_json(self) -> str:
        return json.dumps(self.schema, sort_keys=True, ensure_ascii=False)

    def metrics(self) -> list[str]:
        return [d.metric for d in self.dimensions] + ([self.label_metric] if self.label_metric else [])

    @property
    def judges_wrong_language(self) -> bool:
        """Whether a wrong-language answer still needs the judge (some score is not zeroed)."""
        return any(d.key not in self.zero_dimensions for d in self.dimensions)

    def used_placeholders(self) -> list[str]:
        return [p for p in PLACEHOLDERS if "{" + p + "}" in self.system + self.user + (self.user_swapped or "")]

    def derive_label(self, scores: dict) -> str | None:
        """The label the rubric's rules give these scores (None: the rubric has no rules)."""
        return next((r.label for r in self.label_rules if r.holds(scores)), None)

    def apply_rules(self, verdict: Verdict) -> Verdict:
        """The verdict with its label derived from its scores, and whether the judge agreed."""
        if verdict.status != "ok" or not self.label_rules:
            return verdict
        derived = self.derive_label(verdict.scores)
        return replace(verdict, label=derived, reply_label=verdict.reply_label,
                       consistent=None if verdict.reply_label is None else verdict.reply_label == derived)

    @property
    def tag_names(self) -> tuple[str, ...]:
        """Delimiter tag names of this rubric's prompts: defused inside every untrusted value."""
        return template_tag_names(self.system, self.user)

    def neutralised_tags(self, candidate: str) -> int:
        """How many delimiter look-alikes the candidate contains (an injection attempt)."""
        return neutralise_tags(candidate, self.tag_names)[1]

    def values(self, candidate: str, sample) -> dict[str, str]:
        """Placeholder values: the candidate as a delimited block (see mella_eval/delimiters.py)
        and the sample's fields, every one of them with delimiter look-alikes defused."""
        names = self.tag_names

        def text(value) -> str:
            value = value if isinstance(value, str) and value.strip() else "(none given)"
            return neutralise_tags(value, names)[0]
        keywords = getattr(sample, "keywords", ())
        tag = candidate_tag(self.sha256, sample.lang, candidate)
        return {
            "language": get_language(sample.lang).english,
            "candidate": wrap_candidate(tag, neutralise_tags(candidate, names)[0]),
            "candidate_tag": tag,
            "alt_text": text(getattr(sample, "alt_text", None)),
            "keywords": text(", ".join(" / ".join(k) for k in keywords) if keywords else None),
            "question": text(getattr(sample, "question", None)),
            "reference_answer": text(getattr(sample, "reference_answer", None)),
            "item_rubric": text(getattr(sample, "item_rubric", None)),
        }

    def inputs(self, candidate: str, sample, swapped: bool = False) -> dict:
        """What the judgement depends on (its store key): used placeholders, image hashes and the
        prompt format. The delimiter tag is a function of these, so the key fixes the prompt."""
        values = self.values(candidate, sample)
        out = {p: values[p] for p in self.used_placeholders()}
        out["candidate"], out["lang"] = candidate, sample.lang
        out["images"] = [i.sha256 for i in sample.images] if self.include_image else []
        out["prompt_format"] = PROMPT_FORMAT
        if swapped:
            out["order"] = "swapped"
        return out

    def render(self, candidate: str, sample, swapped: bool = False) -> tuple[Message, ...]:
        """System + user messages for judging `candidate`, an answer to `sample` (`swapped`: a
        pairwise rubric's answers in the other order)."""
        values = self.values(candidate, sample)
        images: tuple[ImagePart, ...] = tuple(sample.images) if self.include_image else ()
        return (Message("system", (TextPart(self.system.format(**values)),)),
                Message("user", images + (TextPart((self.user_swapped if swapped else self.user).format(**values)),)))

    def parse(self, raw: str | None) -> Verdict:
        if raw is None or not raw.strip():
            return _bad("empty reply")
        text = raw.strip()
        fenced = FENCE_RE.match(text)
        if fenced:
            text = fenced.group(1).strip()
        try:
            reply = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as e:
            return _bad(f"not valid JSON ({e.msg} at position {e.pos})")
        except _DuplicateKey as e:
            return _bad(f"duplicate key {excerpt(e.key)} in the reply (which one counts is ambiguous)")
        except ValueError as e:  # e.g. an integer of more than 4300 digits
            return _bad(f"not usable JSON ({excerpt(str(e))[1:-1]})")
        except RecursionError:
            return _bad("not usable JSON (nested too deeply)")
        if not isinstance(reply, dict):
            return _bad(f"expected a JSON object, got {type(reply).__name__}")
        allowed = {d.key for d in self.dimensions} | {"rationale"} | ({"label"} if self.labels else set())
        extra = sorted(set(reply) - allowed)
        if extra:
            return _bad(f"unexpected key(s): {excerpt(', '.join(extra))[1:-1]}")
        scores = {}
        for dim in self.dimensions:
            value = reply.get(dim.key)
            if isinstance(value, bool) or not isinstance(value, int):
                return _bad(f"{dim.key}: expected an integer {dim.min}-{dim.max}, got {excerpt(value)}")
            if not dim.min <= value <= dim.max:
                return _bad(f"{dim.key}: {value} is outside {dim.min}-{dim.max}")
            scores[dim.key] = value
        label = reply.get("label")
        if self.labels and label not in self.labels:
            return _bad(f"label: expected one of {', '.join(self.labels)}, got {excerpt(label)}")
        rationale = reply.get("rationale")
        if not isinstance(rationale, str):
            return _bad(f"rationale: expected a string, got {excerpt(rationale)}")
        return self.apply_rules(Verdict("ok", scores, label, rationale, reply_label=label))


def _bad(reason: str) -> Verdict:
    return Verdict("parse_error", {}, reason=reason)


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        self.key = key
        super().__init__(key)


def _no_duplicate_keys(pairs: list) -> dict:
    """json.loads keeps the last of two equal keys; a judge reply with one is ambiguous."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def load_rubric(spec: str, base: Path | None = None) -> Rubric:
    """A rubric by name (judges/NAME.yaml) or by path (relative to `base`, the task's folder);
    "reference:TASK" is the reference protocol's judge of a PangeaBench task."""
    from mella_eval.task_registry import bundled_dir

    if spec.startswith("reference:"):
        from mella_eval.protocols.reference_judges import reference_judge

        return reference_judge(spec.removeprefix("reference:"))

    candidates = [bundled_dir("judges") / f"{spec}.yaml"]
    if base is not None:
        candidates.insert(0, base / spec)
    candidates.append(Path(spec))
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        available = sorted(p.stem for p in bundled_dir("judges").glob("*.yaml"))
        raise MellaError(f"judge rubric {excerpt(spec)} not found; bundled rubrics: {', '.join(available)}")
    doc, raw = load_yaml_file(path, what="judge rubric")
    if not isinstance(doc, dict):
        raise TaskError(path, "", "expected a mapping at the top level")
    for key in REQUIRED_KEYS:
        if key not in doc:
            raise TaskError(path, key, "missing required key")
    unknown = sorted(map(str, set(doc) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS)))
    if unknown:
        raise TaskError(path, key_text(unknown[0]), "unknown key")
    for key in ("name", "description"):
        _expect_text(path, key, doc[key])
    if not isinstance(doc["version"], (int, str)) or isinstance(doc["version"], bool):
        raise TaskError(path, "version", f"expected an integer or a string, got {excerpt(doc['version'])}")
    dims = _dimensions(path, doc["dimensions"])
    keys = [d.key for d in dims]
    labels = doc.get("labels") or []
    if labels:
        if not isinstance(labels, list) or not all(isinstance(l, str) and l for l in labels) \
                or len(set(labels)) != len(labels):
            raise TaskError(path, "labels", f"expected a list of distinct label strings, got {excerpt(labels)}")
        if not isinstance(doc.get("positive_label"), str) or doc["positive_label"] not in labels \
                or not isinstance(doc.get("label_metric"), str) or not doc["label_metric"]:
            raise TaskError(path, "labels", "labels need label_metric and a positive_label among them")
    zero = doc.get("zero_dimensions", keys)
    if not isinstance(zero, list) or not all(isinstance(z, str) and z in keys for z in zero):
        raise TaskError(path, "zero_dimensions", f"expected a list of dimension keys ({', '.join(keys)})")
    rules = _label_rules(path, doc.get("label_rules"), labels, keys)
    schema = doc["schema"]
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    required = schema.get("required", []) if isinstance(schema, dict) else []
    expected = set(keys) | {"rationale"} | ({"label"} if labels else set())
    if not isinstance(props, dict) or not isinstance(required, list) \
            or not all(isinstance(r, str) for r in required) \
            or set(props) != expected or set(required) != expected:
        raise TaskError(path, "schema", f"properties and required must be exactly: {', '.join(sorted(expected))}")
    for key in ("system", "user"):
        _check_prompt(path, key, doc[key])
    pairwise, swapped = _pairwise(path, doc)
    if not isinstance(doc.get("include_image", True), bool):
        raise TaskError(path, "include_image", "expected true or false")
    generation = doc.get("generation") or {}
    max_new_tokens = generation.get("max_new_tokens", 400) if isinstance(generation, dict) else None
    if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) \
            or not 1 <= max_new_tokens <= 2**31 - 1:
        raise TaskError(path, "generation.max_new_tokens", "expected a positive integer")
    temperature = generation.get("temperature", 0.0)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not 0 <= temperature <= 2:
        raise TaskError(path, "generation.temperature", "expected a number in [0, 2]")
    return Rubric(
        name=doc["name"], version=str(doc["version"]), file=path.resolve(),
        sha256=hashlib.sha256(raw).hexdigest(), dimensions=tuple(dims), labels=tuple(labels),
        label_metric=doc.get("label_metric"), positive_label=doc.get("positive_label"),
        zero_dimensions=tuple(zero), label_rules=rules, system=doc["system"], user=doc["user"], schema=schema,
        include_image=doc.get("include_image", True), max_new_tokens=max_new_tokens,
        temperature=float(temperature), pairwise=pairwise, user_swapped=swapped,
    )


def _pairwise(path: Path, doc: dict) -> tuple[tuple[str, str] | None, str | None]:
    """`pairwise: [first, second]` (dimension keys) needs `user_swapped`, the user prompt with the answers' order swapped,
    using the same placeholders as `user` (only the order differs)."""
    pairwise, swapped = doc.get("pairwise"), doc.get("user_swapped")
    keys = list(doc["dimensions"])
    if pairwise is not None and (not isinstance(pairwise, list) or len(pairwise) != 2
                                 or len(set(map(str, pairwise))) != 2 or not all(p in keys for p in pairwise)):
        raise TaskError(path, "pairwise", f"expected the two answers' score dimensions in the order "
                                          f"the user prompt shows them (two of {', '.join(map(str, keys))})")
    if (pairwise is not None) != (swapped is not None):
        raise TaskError(path, "user_swapped" if pairwise else "pairwise",
                        "a pairwise rubric needs user_swapped (its user prompt with the two answers "
                        "in the other order), and user_swapped needs pairwise")
    if swapped is None:
        return None, None
    used = set(check_template(path, "user_swapped", swapped, PLACEHOLDERS))
    _check_prompt(path, "user_swapped", swapped)
    if used != set(check_template(path, "user", doc["user"], PLACEHOLDERS)) or swapped == doc["user"]:
        raise TaskError(path, "user_swapped", "expected the user prompt's placeholders in another order")
    return tuple(pairwise), swapped


def _expect_text(path: Path, key: str, value) -> None:
    if not isinstance(value, str) or not value.strip():
        raise TaskError(path, key, f"expected a non-empty string, got {excerpt(value)}")


def _dimensions(path: Path, given) -> list[Dimension]:
    if not isinstance(given, dict) or not given:
        raise TaskError(path, "dimensions", "expected a mapping of reply key -> {metric, min, max}")
    dims = []
    for key, d in given.items():
        if not isinstance(key, str) or not key or key in ("rationale", "label"):
            raise TaskError(path, f"dimensions.{key_text(key)}", "expected a reply key other than "
                                                                 "rationale and label")
        ints = isinstance(d, dict) and all(isinstance(d.get(k), int) and not isinstance(d.get(k), bool)
                                           for k in ("min", "max"))
        if not ints or not isinstance(d.get("metric"), str) or not d["metric"] or d["min"] >= d["max"]:
            raise TaskError(path, f"dimensions.{key}", "expected {metric: name, min: int, max: int} with min < max")
        dims.append(Dimension(key, d["metric"], d["min"], d["max"]))
    metrics = [d.metric for d in dims]
    if len(set(metrics)) != len(metrics):
        raise TaskError(path, "dimensions", "two dimensions feed the same metric")
    return dims


def _label_rules(path: Path, given, labels: list[str], keys: list[str]) -> tuple[LabelRule, ...]:
    """label_rules: [{label: thick, when: {thickness: {min: 4}, faithfulness: {min: 3}}},
    {label: thin}]: checked in order, the last one without `when` (the default)."""
    if given is None:
        return ()
    if not labels or not isinstance(given, list) or not given:
        raise TaskError(path, "label_rules", "expected a list of {label, when} rules, with labels")
    rules = []
    for i, rule in enumerate(given):
        where = f"label_rules[{i}]"
        if not isinstance(rule, dict) or set(rule) - {"label", "when"} or rule.get("label") not in labels:
            raise TaskError(path, where, f"expected {{label: one of {', '.join(labels)}, when: ...}}")
        when = rule.get("when") or {}
        if not isinstance(when, dict):
            raise TaskError(path, f"{where}.when", "expected a mapping of dimension -> {min, max}")
        conditions = []
        for key, bounds in when.items():
            ok = key in keys and isinstance(bounds, dict) and bounds and not set(bounds) - {"min", "max"} \
                and all(isinstance(v, int) and not isinstance(v, bool) for v in bounds.values())
            if not ok:
                raise TaskError(path, f"{where}.when.{key_text(key)}",
                                f"expected a dimension ({', '.join(keys)}) with integer min and/or max")
            conditions.append((key, bounds.get("min"), bounds.get("max")))
        rules.append(LabelRule(rule["label"], tuple(conditions)))
    if rules[-1].when or any(not r.when for r in rules[:-1]):
        raise TaskError(path, "label_rules", "only the last rule, the default, may have no `when`")
    return tuple(rules)


def _check_prompt(path: Path, key: str, template) -> None:
    used = check_template(path, key, template, PLACEHOLDERS)
    if key in ("user", "user_swapped") and "candidate" not in used:
        raise TaskError(path, key, "the user template must contain {candidate}")
    if re.search(r"<\s*/?\s*candidate", template, re.IGNORECASE):
        raise TaskError(path, key, "remove the <candidate> tags: {candidate} is delimited by the "
                                   "harness with per-request tags the candidate cannot forge")
