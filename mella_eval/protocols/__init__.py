"""The reference protocol of PangeaBench: prompts, generation settings, scoring and aggregation as
the paper's code computes them (neulab/Pangea, `evaluation/lmms-eval/lmms_eval/tasks/`, commit
ecc4403), for `mella-eval run --protocol reference`.

The interface is plain data in, plain data out:

    task = reference_task("m3exam")
    text = task.prompt(sample, lang)            # the exact prompt text (images stay placeholders)
    settings = task.generation(lang)            # the reference YAML's generation_kwargs
    scored = task.score(sample, prediction, lang)
    # -> {"metrics": {name: value}, "guessed": bool, "details": {...}}
    totals = task.aggregate([scored, ...])      # -> {name: value, "n": int, "guessed": int}

`sample` is the dataset row as a dict (PangeaBench field names), `lang` the split code. The one
deliberate difference from the reference: where it draws a random option for an answer it cannot
parse, `score` credits the expected value of that draw (1/k) and sets `guessed`; `aggregate`
counts such samples under "guessed".

Some values are not per sample: XM100's and MaXM's pycocoevalcap scores and LLaVA-Bench's relative
scores are computed once per (task, lang) corpus by `task.corpus(records, lang)`; m_llava_bench
and xChatBench are scored by the reference's judge (`task.judge`, reference_judges.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mella_eval.errors import MellaError
from mella_eval.protocols import reference_caption as caption
from mella_eval.protocols import reference_choice as choice
from mella_eval.protocols import reference_mmmu as mmmu
from mella_eval.protocols import reference_short as short
from mella_eval.protocols.reference_judges import llava_relative_scores

# _default_template.yaml of multilingual-llava-bench (top_p 0 under greedy: see variant.py).
LLAVA_GENERATION = {"max_new_tokens": 1024, "temperature": 0, "top_p": 0, "num_beams": 1,
                    "do_sample": False, "until": ["ASSISTANT:"]}

REFERENCE_COMMIT = "ecc4403"


@dataclass(frozen=True)
class ReferenceTask:
    name: str
    prompt: Callable[[dict, str], str]
    generation: Callable[[str], dict]
    score: Callable[[dict, str, str], dict]
    aggregate: Callable[[list[dict]], dict]
    languages: tuple[str, ...] | None = None  # mella language codes; None: any the task has
    # In a run: `score`'s metric names -> the names results.json shows (metrics/registry.py
    # "ref_*": the reference's scale, never mixed up with the corrected protocol's metrics).
    reported: tuple[tuple[str, str], ...] = ()
    # Metrics the reference computes over a (task, lang) corpus (pycocoevalcap's BLEU, METEOR,
    # ROUGE-L, CIDEr): `corpus(records, lang)` -> {name: value} from the ok records
    # (`source_row`, `prediction`); reported like `reported`. No per-sample values, no interval.
    corpus: Callable[[list[dict], str], dict] | None = None
    corpus_reported: tuple[tuple[str, str], ...] = ()
    # The reference's judge (protocols/reference_judges.py) and the per-sample metrics it gives.
    judge: str | None = None
    judged: tuple[str, ...] = ()

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(ours for _, ours in self.reported + self.corpus_reported) + self.judged


def _fixed(settings: dict) -> Callable[[str], dict]:
    return lambda lang: dict(settings)


# M3Exam's splits are named by language (the task file's dataset.lang_names).
M3EXAM_LANGUAGE_NAMES = {"af": "afrikaans", "en": "english", "it": "italian", "pt": "portuguese",
                         "th": "thai", "vi": "vietnamese", "zh": "chinese"}
ACCURACY = (("accuracy", "ref_accuracy"),)
# MaXM's Hebrew split is "iw" (the old ISO code); mella-eval's code is "he".
MAXM_SPLITS = {"he": "iw"}
MAXM_CODES = {split: code for code, split in MAXM_SPLITS.items()}


def _in_dataset_order(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: r.get("source_index", 0))


def _xm100_corpus(records: list[dict], lang: str) -> dict:
    """xm100_process_result's (image id, prediction, [caption]) per row, scored as one corpus."""
    items = [(r["source_row"]["image_id"], r["prediction"], [r["source_row"]["caption"]])
             for r in _in_dataset_order(records)]
    scores = caption.xm100_corpus_scores(items, lang)
    if "METEOR" not in scores:
        scores["METEOR"] = ("the reference's METEOR runs pycocoevalcap's meteor-1.5.jar, and no "
                            "`java` is on PATH")
    return scores


def _maxm_corpus(records: list[dict], lang: str) -> dict:
    """maxm_process_results' (image id, prediction, answers), in the order the rows are read:
    the reference scores the last prediction per image."""
    items = [(r["source_row"]["image_id"], r["prediction"], r["source_row"]["answers"])
             for r in _in_dataset_order(records)]
    return caption.maxm_corpus_scores(items, MAXM_SPLITS.get(lang, lang))


def _no_sample_metrics(sample: dict, prediction: str, lang: str) -> dict:
    return {"metrics": {}, "guessed": False}


def _xchat_prompt(row: dict, lang: str) -> str:
    """prompts/<language>_prompts.jsonl: the item's system prompt and input in one user turn."""
    return f"{row['system_prompt']}\n\n{row['input']}"


# Pangea has no xChat task file; its prompts were answered as long-form chat (our task's limit).
XCHAT_GENERATION = {"max_new_tokens": 1024, "temperature": 0, "num_beams": 1, "do_sample": False}
# llava_aggregation's metrics: the relative score overall and per rule category.
LLAVA_REPORTED = tuple((f"gpt_eval_llava_{c}", f"ref_llava_{c}")
                       for c in ("all", "conv", "detail", "complex"))


# xm100_aggregation_result's names -> ours (pycocoevalcap's 0-1 scale; CIDEr about 0-10).
XM100_REPORTED = tuple((name, "ref_" + name.lower()) for name in caption.XM100_METRICS)

REFERENCE_TASKS = {
    "cvqa": ReferenceTask(
        "cvqa", lambda s, lang: choice.cvqa_prompt(s), _fixed(choice.CVQA_GENERATION),
        lambda s, p, lang: choice.cvqa_score(s, p), choice.mean_accuracy, reported=ACCURACY),
    # cvqa_translated.yaml: the English question and options in the prompt; process_results
    # sees the row as published (its doc_to_text rewrites a copy).
    "cvqa_en": ReferenceTask(
        "cvqa_en", lambda s, lang: choice.cvqa_prompt(s, translated=True),
        _fixed(choice.CVQA_GENERATION), lambda s, p, lang: choice.cvqa_score(s, p),
        choice.mean_accuracy, reported=ACCURACY),
    "m3exam": ReferenceTask(
        "m3exam", lambda s, lang: choice.m3exam_prompt(s),
        lambda lang: choice.m3exam_generation(M3EXAM_LANGUAGE_NAMES[lang]),
        lambda s, p, lang: choice.m3exam_score(s, p), choice.mean_accuracy,
        tuple(code for code, name in M3EXAM_LANGUAGE_NAMES.items() if name in choice.M3EXAM_HINTS),
        reported=ACCURACY),
    "xmmmu": ReferenceTask(
        "xmmmu", lambda s, lang: mmmu.prompt(s), _fixed(mmmu.GENERATION),
        lambda s, p, lang: mmmu.score(s, p), mmmu.aggregate,
        ("ar", "en", "fr", "hi", "id", "ja", "pt"), reported=ACCURACY),
    "xgqa": ReferenceTask(
        "xgqa", short.xgqa_prompt, _fixed(short.SHORT_GENERATION),
        lambda s, p, lang: short.xgqa_score(s, p), short.mean_of,
        ("bn", "de", "en", "id", "ko", "pt", "ru", "zh"),
        reported=(("exact_match", "ref_exact_match"),)),
    "marvl": ReferenceTask(
        "marvl", lambda s, lang: short.marvl_prompt(s), _fixed(short.SHORT_GENERATION),
        lambda s, p, lang: short.marvl_score(s, p), short.mean_of,
        ("en", "id", "sw", "ta", "tr", "zh"), reported=(("exact_match", "ref_exact_match"),)),
    "maxm": ReferenceTask(
        "maxm", lambda s, lang: short.maxm_prompt(s, MAXM_SPLITS.get(lang, lang)),
        _fixed(short.MAXM_GENERATION), lambda s, p, lang: short.maxm_score(s, p), short.mean_of,
        tuple(sorted({MAXM_CODES.get(split, split) for split in short.MAXM_LANGUAGE_NAMES})),
        reported=(("exact_match", "ref_maxm_exact_match"),
                  ("relaxed_accuracy", "ref_maxm_relaxed_accuracy")),
        corpus=_maxm_corpus, corpus_reported=(("rouge_l", "ref_maxm_rouge_l"),
                                              ("cider", "ref_maxm_cider"))),
    "xm100": ReferenceTask(
        "xm100", caption.xm100_prompt, _fixed(caption.XM100_GENERATION), _no_sample_metrics,
        lambda scored: {"n": len(scored)}, tuple(sorted(caption.XM100_LANGUAGE_NAMES)),
        corpus=_xm100_corpus, corpus_reported=XM100_REPORTED),
    "m_llava_bench": ReferenceTask(
        "m_llava_bench", lambda s, lang: s["question"], _fixed(LLAVA_GENERATION),
        _no_sample_metrics, lambda scored: {"n": len(scored)},
        corpus=lambda records, lang: llava_relative_scores(records, lang),
        corpus_reported=LLAVA_REPORTED, judge="reference:m_llava_bench",
        judged=("ref_llava_reference_score", "ref_llava_candidate_score")),
    "xchatbench": ReferenceTask(
        "xchatbench", _xchat_prompt, _fixed(XCHAT_GENERATION), _no_sample_metrics,
        lambda scored: {"n": len(scored)}, judge="reference:xchatbench",
        judged=("ref_xchat_score",)),
}


def reference_task(name: str) -> ReferenceTask:
    """The reference protocol of one PangeaBench task; a clear error for one it does not cover."""
    try:
        return REFERENCE_TASKS[name]
    except KeyError:
        raise MellaError(f"--protocol reference: no reference protocol for task {name!r} "
                         f"(available: {', '.join(sorted(REFERENCE_TASKS))})") from None
