"""`mella-eval judge-check`: can this judge tell a thick description from a thin, wrong or
injected one, in every language?

The calibration set is built from the bundled sample images (tasks/data/mella_sample) and
tasks/data/judge_calibration/texts.yaml: for each image and language a thick candidate (the native
alt-text), a thin one (a generic sentence), a wrong one (the alt-text of another image) and an
injected one (the thin sentence plus a request for top marks). The judge grades each with the
rubric (default thick_description); per language it reports:

  auc                   P(thickness of a thick candidate > that of a thin one), ties 1/2, over
                        every thick x thin pair of the language (Mann-Whitney AUC)
  label_accuracy        share of thick and thin candidates given the right label
  faithfulness_drop     mean faithfulness of thick minus mean faithfulness of wrong candidates
  injection_resistance  share of images whose injected candidate scored no higher in thickness
                        than the plain thin one and was not labelled positive
  failed                judgements that failed (left out of the figures)

A language is flagged when auc < 0.8, faithfulness_drop < 1, or injection_resistance < 0.8 (or
nothing could be judged). The check is saved next to the response store; a run judged by the same
judge and rubric records it in judge.reliability.<rubric>.calibration and warns when it is flagged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

from mella_eval.errors import MellaError

log = logging.getLogger(__name__)

KINDS = ("thick", "thin", "wrong", "injected")
MIN_AUC = 0.8
MIN_FAITHFULNESS_DROP = 1.0
MIN_INJECTION_RESISTANCE = 0.8
CHECKS_FOLDER = "judge-checks"


@dataclass(frozen=True)
class CalibrationItem:
    sample: object  # the mella_sample Sample (image, alt-text, keywords)
    kind: str
    text: str

    @property
    def key(self) -> tuple[str, str, str]:
        return ("judge-check", self.sample.lang, f"{self.sample.id}#{self.kind}")


def calibration_texts() -> dict:
    from mella_eval.safe_yaml import load_yaml_file
    from mella_eval.task_registry import bundled_dir

    doc, _ = load_yaml_file(bundled_dir("tasks") / "data" / "judge_calibration" / "texts.yaml",
                            what="judge calibration texts")
    return doc


def calibration_set(langs: list[str] | None = None) -> list[CalibrationItem]:
    """The four candidates of every sample image in `langs` (default: every language it has)."""
    from mella_eval.data import load_samples
    from mella_eval.task_registry import TaskRegistry

    texts = calibration_texts()
    available = sorted(texts["thin"])
    langs = langs or available
    unknown = [lang for lang in langs if lang not in available]
    if unknown:
        raise MellaError(f"judge-check: no calibration texts for {', '.join(unknown)}; "
                         f"the set has {', '.join(available)}")
    task = TaskRegistry().resolve("culture")[0]
    items = []
    for lang in langs:
        samples = sorted((s for s in load_samples(task, [lang]) if s.error is None), key=lambda s: s.id)
        for i, sample in enumerate(samples):
            other = samples[(i + 1) % len(samples)]  # another image's description: wrong here
            thin = texts["thin"][lang]
            items += [CalibrationItem(sample, "thick", sample.alt_text),
                      CalibrationItem(sample, "thin", thin),
                      CalibrationItem(sample, "wrong", other.alt_text),
                      CalibrationItem(sample, "injected", f"{thin} {texts['injection']}")]
    return items


def judge_items(items: list[CalibrationItem], rubric, config, store) -> dict[tuple, object]:
    """Verdict of every item (the judge phase's machinery: store, retries, strict parsing)."""
    from mella_eval.backends import create_backend
    from mella_eval.build import GenerationRequest
    from mella_eval.generate import generate_all
    from mella_eval.judge import judge_config
    from mella_eval.rubric import Verdict
    from mella_eval.store import judgement_key
    from mella_eval.tasks import GenerationSettings

    backend = create_backend(judge_config(config))
    try:
        identity = backend.cache_identity()
        settings = GenerationSettings(max_new_tokens=rubric.max_new_tokens, temperature=0.0,
                                      json_schema=rubric.schema_json)
        requests, keys = [], {}
        for item in items:
            request = GenerationRequest(*item.key, messages=rubric.render(item.text, item.sample),
                                        settings=settings)
            keys[request.key] = judgement_key(identity, rubric.sha256, rubric.inputs(item.text, item.sample))
            requests.append(request)

        def reject(request, completion):
            verdict = rubric.parse(completion.text)
            return None if verdict.status == "ok" else f"parse_error: {verdict.reason}"
        completions, _ = generate_all(backend, requests, store, kind="judgement", keys=keys,
                                      desc="judge-check", reject=reject, identity=identity)
    finally:
        backend.close()
    out = {}
    for item in items:
        completion = completions[item.key]
        out[item.key] = rubric.parse(completion.text) if completion.status == "ok" \
            else Verdict("error", {}, reason=completion.reason)
    return out, identity


def separation(items: list[CalibrationItem], verdicts: dict, rubric) -> dict:
    """Per-language figures (see the module docstring) and whether each is flagged."""
    by_lang: dict[str, dict] = {}
    for item in items:
        by_lang.setdefault(item.sample.lang, {}).setdefault(item.sample.id, {})[item.kind] = verdicts[item.key]
    out = {}
    for lang, images in by_lang.items():
        ok = {sid: {k: v for k, v in kinds.items() if v.status == "ok"} for sid, kinds in images.items()}
        failed = sum(v.status != "ok" for kinds in images.values() for v in kinds.values())

        def scores(kind, key):
            return [v[kind].scores[key] for v in ok.values() if kind in v]
        thick, thin = scores("thick", "thickness"), scores("thin", "thickness")
        pairs = [(a, b) for a in thick for b in thin]
        auc = fmean(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) if pairs else None
        labelled = [(k, v[k].label) for v in ok.values() for k in ("thick", "thin") if k in v]
        accuracy = fmean((label == rubric.positive_label) == (k == "thick") for k, label in labelled) \
            if labelled else None
        faith_thick, faith_wrong = scores("thick", "faithfulness"), scores("wrong", "faithfulness")
        drop = fmean(faith_thick) - fmean(faith_wrong) if faith_thick and faith_wrong else None
        injected = [v for v in ok.values() if "injected" in v and "thin" in v]
        resisted = [v["injected"].scores["thickness"] <= v["thin"].scores["thickness"]
                    and v["injected"].label != rubric.positive_label for v in injected]
        resistance = fmean(resisted) if resisted else None
        reasons = []
        if auc is None or auc < MIN_AUC:
            reasons.append(f"thick vs thin AUC {_show(auc)} < {MIN_AUC}")
        if drop is None or drop < MIN_FAITHFULNESS_DROP:
            reasons.append(f"faithfulness drop for wrong descriptions {_show(drop)} < {MIN_FAITHFULNESS_DROP}")
        if resistance is None or resistance < MIN_INJECTION_RESISTANCE:
            reasons.append(f"injection resistance {_show(resistance)} < {MIN_INJECTION_RESISTANCE}")
        out[lang] = {"images": len(images), "failed": failed, "auc": _round(auc),
                     "label_accuracy": _round(accuracy), "faithfulness_drop": _round(drop),
                     "injection_resistance": _round(resistance), "flagged": bool(reasons), "reasons": reasons}
    return out


def _round(value):
    return None if value is None else round(value, 6)


def _show(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def check_key(identity: dict, rubric_sha256: str) -> str:
    """Which saved check belongs to a judge and rubric (the judge's address does not count)."""
    from mella_eval.comparability import NOT_JUDGE_IDENTITY
    from mella_eval.store import canonical_json

    ident = {k: v for k, v in identity.items() if k not in NOT_JUDGE_IDENTITY and k != "name"}
    return hashlib.sha256(canonical_json({"judge": ident, "rubric": rubric_sha256}).encode()).hexdigest()[:24]


def checks_dir(cache_dir) -> Path:
    from mella_eval.store import default_cache_dir
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / CHECKS_FOLDER


def saved_check(identity: dict, rubric_sha256: str, cache_dir) -> dict | None:
    """The last judge-check of this judge and rubric, if one was saved."""
    path = checks_dir(cache_dir) / f"{check_key(identity, rubric_sha256)}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_check(config, rubric_spec: str = "thick_description", langs: list[str] | None = None,
              output: Path | None = None) -> dict:
    from mella_eval.rubric import load_rubric
    from mella_eval.store import open_store

    rubric = load_rubric(rubric_spec)
    keys = {d.key for d in rubric.dimensions}
    if not {"thickness", "faithfulness"} <= keys or not rubric.positive_label:
        raise MellaError(f"judge-check: rubric {rubric.name} needs thickness and faithfulness "
                         "dimensions and a positive label (like thick_description)")
    items = calibration_set(langs)
    store = open_store(config.cache_dir, enabled=config.use_cache)
    try:
        verdicts, identity = judge_items(items, rubric, config, store)
    finally:
        store.close()
    figures = separation(items, verdicts, rubric)
    report = {"judge": identity, "rubric": {"name": rubric.name, "version": rubric.version, "sha256": rubric.sha256},
              "thresholds": {"auc": MIN_AUC, "faithfulness_drop": MIN_FAITHFULNESS_DROP,
                             "injection_resistance": MIN_INJECTION_RESISTANCE},
              "flagged": any(f["flagged"] for f in figures.values()),
              "flagged_langs": [lang for lang, f in figures.items() if f["flagged"]], "by_lang": figures}
    text = json.dumps(report, ensure_ascii=False, indent=1)
    folder = checks_dir(config.cache_dir)
    if config.use_cache:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{check_key(identity, rubric.sha256)}.json").write_text(text, encoding="utf-8")
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
    return report


def print_report(report: dict, stream=None) -> None:
    stream = stream or sys.stdout
    header = f"{'lang':<5} {'auc':>5} {'label_acc':>9} {'faith_drop':>10} {'inj_resist':>10} {'failed':>6}  verdict"
    print(f"judge {report['judge'].get('model')} with rubric {report['rubric']['name']} "
          f"v{report['rubric']['version']}", file=stream)
    print(header, file=stream)
    for lang, f in report["by_lang"].items():
        verdict = "FLAGGED: " + "; ".join(f["reasons"]) if f["flagged"] else "ok"
        print(f"{lang:<5} {_show(f['auc']):>5} {_show(f['label_accuracy']):>9} {_show(f['faithfulness_drop']):>10} "
              f"{_show(f['injection_resistance']):>10} {f['failed']:>6}  {verdict}", file=stream)


def register_judge_check(sub) -> None:
    """The `judge-check` subcommand (cli.py: `judge_check.register_judge_check(sub)`)."""
    p = sub.add_parser("judge-check", help="check that a judge separates thick, thin, wrong and "
                                           "injected descriptions in every language")
    p.add_argument("--judge-model", required=True, help="judge model (served name or local model)")
    p.add_argument("--judge-backend", default="auto", choices=["auto", "openai", "vllm", "hf"])
    p.add_argument("--judge-base-url", help="OpenAI-compatible server of the judge")
    p.add_argument("--judge-api-key-env", default="MELLA_JUDGE_API_KEY", metavar="VAR")
    p.add_argument("--judge-concurrency", type=int, default=16)
    p.add_argument("--judge-model-args", metavar="K=V,...")
    p.add_argument("--judge-max-model-len", type=int)
    p.add_argument("--judge-tensor-parallel-size", type=int, default=1)
    p.add_argument("--rubric", default="thick_description", help="rubric name or file (default: thick_description)")
    p.add_argument("--langs", help="comma-separated languages (default: every language of the set)")
    p.add_argument("--max-retries", type=int, default=5)
    p.add_argument("--request-timeout", type=float, default=120.0)
    p.add_argument("--cache-dir", help="response store folder; the check is saved there too")
    p.add_argument("--no-cache", action="store_true", help="neither reuse nor store responses or the check")
    p.add_argument("--output", metavar="FILE", help="also write the check as JSON to FILE")
    p.set_defaults(func=cmd_judge_check)


def cmd_judge_check(args) -> int:
    from mella_eval.config import RunConfig, check_server_url, parse_model_args

    if args.judge_base_url:
        check_server_url("--judge-base-url", args.judge_base_url)
    if args.judge_backend == "openai" and not args.judge_base_url:
        raise MellaError("--judge-backend openai needs --judge-base-url")
    config = RunConfig(tasks=["culture"], langs=[], cache_dir=Path(args.cache_dir) if args.cache_dir else None,
                       use_cache=not args.no_cache, max_retries=args.max_retries,
                       request_timeout=args.request_timeout, judge_model=args.judge_model,
                       judge_backend=args.judge_backend, judge_base_url=args.judge_base_url,
                       judge_api_key_env=args.judge_api_key_env, judge_concurrency=args.judge_concurrency,
                       judge_model_args=parse_model_args(args.judge_model_args, "--judge-model-args"),
                       judge_max_model_len=args.judge_max_model_len,
                       judge_tensor_parallel_size=args.judge_tensor_parallel_size)
    langs = [lang.strip() for lang in args.langs.split(",") if lang.strip()] if args.langs else None
    report = run_check(config, args.rubric, langs, Path(args.output) if args.output else None)
    print_report(report)
    if report["flagged"]:
        print(f"mella-eval: judge-check: this judge does not separate the calibration set in "
              f"{', '.join(report['flagged_langs'])}; runs it judges will be flagged", file=sys.stderr)
        return 1
    return 0
