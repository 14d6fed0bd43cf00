"""Every metric a task may list, with what it needs from the data. Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    name: str
    # "corpus": one value from the whole (task, lang) corpus; "sample": mean of per-sample values;
    # "judge": mean of per-sample judge values over the judgements that succeeded;
    # "ratio": a ratio of sums of two per-sample metrics (LLaVA-Bench's relative score);
    # "reference_corpus": one value from the (task, lang) corpus as the reference protocol's
    # pycocoevalcap scoring computes it (mella_eval/protocols/), without per-sample statistics.
    kind: str
    needs: tuple[str, ...]  # sample fields the metric reads
    description: str
    # kind "ratio": scale * sum(numerator) / sum(denominator) over samples with both values
    ratio_of: tuple[str, str] | None = None
    scale: float = 1.0
    # The largest value the metric can take (compare's scale); None: compare's default rule.
    max_value: float | None = None


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in [
        MetricSpec("bleu", "corpus", ("references",),
                   "corpus BLEU (sacrebleu), multi-reference, tokenizer chosen per language"),
        MetricSpec("chrf", "corpus", ("references",), "corpus chrF (sacrebleu, character n-grams)"),
        MetricSpec("chrf++", "corpus", ("references",),
                   "corpus chrF++ (sacrebleu, character + word bigrams)"),
        MetricSpec("cider", "sample", ("references",),
                   "CIDEr-D x10 (script-aware tokens, idf over the (task, lang) corpus); per-sample values, mean",
                   max_value=10.0),
        MetricSpec("rouge_l", "sample", ("references",),
                   "ROUGE-L x100 as coco-caption (LCS, beta 1.2, max precision and max recall over the "
                   "references), script-aware tokens; mean over samples", max_value=100.0),
        MetricSpec("meteor", "sample", ("references",),
                   "METEOR x100 as nltk's meteor_score (exact, Snowball stem, English WordNet if "
                   "installed; alpha 0.9, beta 3, gamma 0.5; max over references), script-aware "
                   "tokens; mean over samples", max_value=100.0),
        MetricSpec("mc_accuracy", "sample", ("options", "answer"),
                   "multiple choice: share answered right; an answer that cannot be extracted is wrong"),
        MetricSpec("extract_fail_rate", "sample", ("answer",),
                   "share of answers from which no option (or yes/no) could be extracted"),
        MetricSpec("yes_no_accuracy", "sample", ("answer",),
                   "true/false: share answered right; an answer that is neither is wrong"),
        MetricSpec("exact_match", "sample", ("answers",),
                   "short answer: normalised prediction equals an accepted answer"),
        MetricSpec("relaxed_accuracy", "sample", ("answers",),
                   "short answer: normalised prediction contains an accepted answer as whole words"),
        MetricSpec("keyword_acc", "sample", ("keywords",),
                   "share of the sample's culture keywords found in the prediction (inflection-aware)"),
        MetricSpec("judge_thickness", "judge", ("alt_text",), "judge: cultural specificity, 1-5"),
        MetricSpec("judge_faithfulness", "judge", ("alt_text",),
                   "judge: faithfulness to the image and the reference alt-text, 1-5"),
        MetricSpec("judge_fluency", "judge", ("alt_text",), "judge: fluency in the target language, 1-5"),
        MetricSpec("thick_rate", "judge", ("alt_text",), "judge: share of descriptions labelled thick"),
        MetricSpec("llava_candidate_score", "judge", ("question", "reference_answer"),
                   "judge: the candidate answer's score, 1-10 (LLaVA-Bench)"),
        MetricSpec("llava_reference_score", "judge", ("question", "reference_answer"),
                   "judge: the reference answer's score, 1-10 (LLaVA-Bench)"),
        MetricSpec("llava_relative", "ratio", ("question", "reference_answer"),
                   "LLaVA-Bench relative score: 100 x sum(candidate scores) / sum(reference scores)",
                   ratio_of=("llava_candidate_score", "llava_reference_score"), scale=100.0),
        MetricSpec("xchat_score", "judge", ("question", "reference_answer", "item_rubric"),
                   "judge: absolute grade 1-5 against a reference answer and the item's rubric"),
        # --protocol reference (mella_eval/protocols/): the paper code's scoring on its scale.
        # Per-sample values; where the reference draws a random option, the expected value 1/k.
        MetricSpec("ref_accuracy", "sample", (),
                   "reference protocol: accuracy as the paper code scores it (CVQA, M3Exam, xMMMU "
                   "letter parsing; xMMMU open questions by eval_open), 0-1", max_value=1.0),
        MetricSpec("ref_exact_match", "sample", (),
                   "reference protocol: xGQA containment / MaRVL yes-no rule, 0-1", max_value=1.0),
        MetricSpec("ref_maxm_exact_match", "sample", (),
                   "reference protocol: MaXM exact match after VQA normalisation, 0-100",
                   max_value=100.0),
        MetricSpec("ref_maxm_relaxed_accuracy", "sample", (),
                   "reference protocol: MaXM relaxed accuracy, 0-100", max_value=100.0),
        # One value per (task, lang) corpus, pycocoevalcap after its PTB tokenisation.
        *(MetricSpec(f"ref_bleu_{n}", "reference_corpus", (),
                     f"reference protocol: XM100 BLEU-{n} (pycocoevalcap), 0-1", max_value=1.0)
          for n in range(1, 5)),
        MetricSpec("ref_meteor", "reference_corpus", (),
                   "reference protocol: XM100 METEOR 1.5 (pycocoevalcap, needs Java), 0-1",
                   max_value=1.0),
        MetricSpec("ref_rouge_l", "reference_corpus", (),
                   "reference protocol: XM100 ROUGE-L (pycocoevalcap), 0-1", max_value=1.0),
        MetricSpec("ref_cider", "reference_corpus", (),
                   "reference protocol: XM100 CIDEr (pycocoevalcap, idf over the corpus), ~0-10",
                   max_value=10.0),
        MetricSpec("ref_maxm_rouge_l", "reference_corpus", (),
                   "reference protocol: MaXM ROUGE-L (pycocoevalcap, last answer per image), 0-100",
                   max_value=100.0),
        MetricSpec("ref_maxm_cider", "reference_corpus", (),
                   "reference protocol: MaXM CIDEr x100 (pycocoevalcap, last answer per image)",
                   max_value=1000.0),
        # The reference judges (mella_eval/protocols/reference_judges.py).
        MetricSpec("ref_llava_reference_score", "judge", (),
                   "reference protocol: the GPT-4 answer's judge score (-1 where unreadable)"),
        MetricSpec("ref_llava_candidate_score", "judge", (),
                   "reference protocol: the candidate's judge score (-1 unreadable, <= 0 wrong language)"),
        *(MetricSpec(f"ref_llava_{c}", "reference_corpus", (),
                     f"reference protocol: LLaVA-Bench relative score{' (' + c + ' questions)' if c != 'all' else ''}, "
                     "round(mean candidate / mean reference x 100, 1) of 3-decimal means")
          for c in ("all", "conv", "detail", "complex")),
        MetricSpec("ref_xchat_score", "judge", (),
                   "reference protocol: Prometheus absolute grade 1-5 (prometheus-eval's prompt and parser)",
                   max_value=5.0),
    ]
}
