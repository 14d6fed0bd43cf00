"""Judge rubrics as data (judges/*.yaml): load and validate, render prompts, parse replies strictly.

A reply is accepted only if it is one JSON object that matches the rubric: every dimension an
integer in its range, the label one of the rubric's labels, a string rationale, no other keys.
Anything else is a `parse_error` with the reason: a judge failure never becomes a score.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from mella_eval.errors import MellaError, TaskError
from mella_eval.languages import get_language
from mella_eval.messages import ImagePart, Message, TextPart

REQUIRED_KEYS = ("name", "version", "description", "dimensions", "system", "user", "schema")
OPTIONAL_KEYS = ("include_image", "generation", "labels", "label_metric", "positive_label",
                 "zero_dimensions")
# Placeholders of the prompt templates; all but language and candidate come from the sample.
PLACEHOLDERS = ("language", "candidate", "alt_text", "keywords", "question", "reference_answer",
                "item_rubric")
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
    label: str | None = None
    rationale: str | None = None
    reason: str | None = None


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
    include_image: bool = True
    max_new_tokens: int = 400

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
        return [p for p in PLACEHOLDERS if "{" + p + "}" in self.system + self.user]

    def values(self, candidate: str, sample) -> dict[str, str]:
        """Placeholder values: the candidate (as data: a delimiter inside it is neutralised so it
        cannot end its block early) and the sample's fields."""
        def text(value) -> str:
            return value if isinstance(value, str) and value.strip() else "(none given)"
        keywords = getattr(sample, "keywords", ())
        return {
            "language": get_language(sample.lang).english,
            "candidate": candidate.replace("</candidate>", "</ candidate>").replace("<candidate>", "< candidate>"),
            "alt_text": text(getattr(sample, "alt_text", None)),
            "keywords": ", ".join(" / ".join(k) for k in keywords) if keywords else "(none given)",
            "question": text(getattr(sample, "question", None)),
            "reference_answer": text(getattr(sample, "reference_answer", None)),
            "item_rubric": text(getattr(sample, "item_rubric", None)),
        }

    def inputs(self, candidate: str, sample) -> dict:
        """What the judgement depends on (its store key): used placeholders and image hashes."""
        values = self.values(candidate, sample)
        out = {p: values[p] for p in self.used_placeholders()}
        out["candidate"], out["lang"] = candidate, sample.lang
        out["images"] = [i.sha256 for i in sample.images] if self.include_image else []
        return out

    def render(self, candidate: str, sample) -> tuple[Message, ...]:
        """System + user messages for judging `candidate`, an answer to `sample`."""
        values = self.values(candidate, sample)
        images: tuple[ImagePart, ...] = tuple(sample.images) if self.include_image else ()
        return (Message("system", (TextPart(self.system.format(**values)),)),
                Message("user", images + (TextPart(self.user.format(**values)),)))

    def parse(self, raw: str | None) -> Verdict:
        if raw is None or not raw.strip():
            return _bad("empty reply")
        text = raw.strip()
        fenced = FENCE_RE.match(text)
        if fenced:
            text = fenced.group(1).strip()
        try:
            reply = json.loads(text)
        except json.JSONDecodeError as e:
            return _bad(f"not valid JSON ({e.msg} at position {e.pos})")
        if not isinstance(reply, dict):
            return _bad(f"expected a JSON object, got {type(reply).__name__}")
        allowed = {d.key for d in self.dimensions} | {"rationale"} | ({"label"} if self.labels else set())
        extra = sorted(set(reply) - allowed)
        if extra:
            return _bad(f"unexpected key(s): {', '.join(extra)}")
        scores = {}
        for dim in self.dimensions:
            value = reply.get(dim.key)
            if isinstance(value, bool) or not isinstance(value, int):
                return _bad(f"{dim.key}: expected an integer {dim.min}-{dim.max}, got {value!r}")
            if not dim.min <= value <= dim.max:
                return _bad(f"{dim.key}: {value} is outside {dim.min}-{dim.max}")
            scores[dim.key] = value
        label = reply.get("label")
        if self.labels and label not in self.labels:
            return _bad(f"label: expected one of {', '.join(self.labels)}, got {label!r}")
        rationale = reply.get("rationale")
        if not isinstance(rationale, str):
            return _bad(f"rationale: expected a string, got {rationale!r}")
        return Verdict("ok", scores, label, rationale)


def _bad(reason: str) -> Verdict:
    return Verdict("parse_error", {}, reason=reason)


def load_rubric(spec: str, base: Path | None = None) -> Rubric:
    """A rubric by name (judges/NAME.yaml) or by path (relative to `base`, the task's folder)."""
    from mella_eval.tasks import bundled_dir

    candidates = [bundled_dir("judges") / f"{spec}.yaml"]
    if base is not None:
        candidates.insert(0, base / spec)
    candidates.append(Path(spec))
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        available = sorted(p.stem for p in bundled_dir("judges").glob("*.yaml"))
        raise MellaError(f"judge rubric {spec!r} not found; bundled rubrics: {', '.join(available)}")
    raw = path.read_bytes()
    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise TaskError(path, "", f"invalid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise TaskError(path, "", "expected a mapping at the top level")
    for key in REQUIRED_KEYS:
        if key not in doc:
            raise TaskError(path, key, "missing required key")
    unknown = set(doc) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS)
    if unknown:
        raise TaskError(path, sorted(unknown)[0], "unknown key")
    dims = []
    if not isinstance(doc["dimensions"], dict) or not doc["dimensions"]:
        raise TaskError(path, "dimensions", "expected a mapping of reply key -> {metric, min, max}")
    for key, d in doc["dimensions"].items():
        if not isinstance(d, dict) or not all(isinstance(d.get(k), int) for k in ("min", "max")) \
                or not isinstance(d.get("metric"), str) or d["min"] >= d["max"]:
            raise TaskError(path, f"dimensions.{key}", "expected {metric: name, min: int, max: int} with min < max")
        dims.append(Dimension(key, d["metric"], d["min"], d["max"]))
    labels = doc.get("labels") or []
    if labels and (not isinstance(labels, list) or doc.get("positive_label") not in labels
                   or not isinstance(doc.get("label_metric"), str)):
        raise TaskError(path, "labels", "labels need label_metric and a positive_label among them")
    zero = doc.get("zero_dimensions", [d.key for d in dims])
    if not isinstance(zero, list) or not set(zero) <= {d.key for d in dims}:
        raise TaskError(path, "zero_dimensions", "expected a list of dimension keys")
    schema = doc["schema"]
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    expected = {d.key for d in dims} | {"rationale"} | ({"label"} if labels else set())
    if set(props) != expected or set(schema.get("required", [])) != expected:
        raise TaskError(path, "schema", f"properties and required must be exactly: {', '.join(sorted(expected))}")
    for key in ("system", "user"):
        _check_template(path, key, doc[key])
    generation = doc.get("generation") or {}
    return Rubric(
        name=str(doc["name"]), version=str(doc["version"]), file=path.resolve(),
        sha256=hashlib.sha256(raw).hexdigest(), dimensions=tuple(dims), labels=tuple(labels),
        label_metric=doc.get("label_metric"), positive_label=doc.get("positive_label"),
        zero_dimensions=tuple(zero), system=doc["system"], user=doc["user"], schema=schema,
        include_image=bool(doc.get("include_image", True)),
        max_new_tokens=int(generation.get("max_new_tokens", 400)),
    )


def _check_template(path: Path, key: str, template) -> None:
    if not isinstance(template, str):
        raise TaskError(path, key, "expected a prompt template string")
    try:
        template.format(**{p: "" for p in PLACEHOLDERS})
    except (KeyError, IndexError, ValueError) as e:
        raise TaskError(path, key, f"bad placeholder {e}; allowed: "
                                   + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                                   + " (write {{ and }} for literal braces)") from None
    if key == "user" and "{candidate}" not in template:
        raise TaskError(path, key, "the user template must contain {candidate}")
