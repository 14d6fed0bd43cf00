"""Reference protocol for xGQA, MaRVL and MaXM (neulab/Pangea lmms-eval fork, commit ecc4403).

Reimplements `tasks/{xgqa,marvl,maxm}/utils.py` and their YAMLs. No random draws happen in these
tasks, so no sample is ever `guessed`. MaXM's ROUGE-L and CIDEr (pycocoevalcap after the Java PTB
tokenizer) are not reproduced here (README "Reference protocol").
"""

from __future__ import annotations

import re

from mella_eval.errors import MellaError
from mella_eval.protocols.vqa_contractions import CONTRACTIONS

SHORT_GENERATION = {"max_new_tokens": 16, "temperature": 0, "top_p": 1.0, "num_beams": 1,
                    "do_sample": False}
MAXM_GENERATION = {**SHORT_GENERATION, "max_new_tokens": 64}

# ---------------------------------------------------------------- xGQA

XGQA_POST_PROMPT = "\nAnswer the question using a single word or phrase in English."
XGQA_POST_PROMPT_EN = "\nAnswer the question using a single word or phrase."


def xgqa_prompt(sample: dict, lang: str) -> str:
    post = XGQA_POST_PROMPT_EN if lang == "en" else XGQA_POST_PROMPT
    return f"{sample['question'].strip()} {post.strip()}"


def xgqa_score(sample: dict, prediction: str) -> dict:
    """"exact_match" is containment: the lower-cased answer anywhere in the prediction."""
    target = str(sample["answer"]).strip().lower()
    return {"metrics": {"exact_match": float(target in prediction.strip().lower())},
            "guessed": False, "details": {}}


# ---------------------------------------------------------------- MaRVL

MARVL_SUFFIX = ". Answer with the option directly."


def _marvl_turns(sample: dict) -> list:
    turns = sample.get("conversations")
    if not isinstance(turns, list) or len(turns) < 2:
        raise MellaError(f"marvl sample {sample.get('id')!r}: field 'conversations' must hold the "
                         "human turn and the answer turn")
    return turns


def marvl_prompt(sample: dict) -> str:
    return _marvl_turns(sample)[0]["value"].replace("<image>\n", "").strip() + MARVL_SUFFIX


def marvl_target(sample: dict) -> str:
    answer = str(_marvl_turns(sample)[1])  # the reference searches the whole turn's text
    if "true" in answer:
        return "true"
    if "false" in answer:
        return "false"
    raise MellaError(f"marvl sample {sample.get('id')!r}: the answer turn holds neither 'true' "
                     "nor 'false'")


def marvl_score(sample: dict, prediction: str) -> dict:
    """"yes" anywhere means true, else "no" anywhere (even in "not", "know") means false; then
    the target must occur in the (possibly rewritten) prediction."""
    target = marvl_target(sample)
    pred = prediction.strip().lower()
    if "yes" in pred:
        pred = "true"
    elif "no" in pred:
        pred = "false"
    return {"metrics": {"exact_match": float(target in pred)}, "guessed": False, "details": {}}


# ---------------------------------------------------------------- MaXM

MAXM_LANGUAGE_NAMES = {"en": "English", "fr": "French", "hi": "Hindi", "iw": "Hebrew",
                       "ro": "Romanian", "th": "Thai", "zh": "Chinese"}
MAXM_PRE_PROMPT = "Given the image and the question, provide a concise answer. "


def maxm_prompt(sample: dict, lang: str) -> str:
    if lang not in MAXM_LANGUAGE_NAMES:
        raise MellaError(f"maxm: language {lang!r} has no reference prompt (known: "
                         f"{', '.join(sorted(MAXM_LANGUAGE_NAMES))})")
    post = f"\nAnswer the question using a single word or phrase in {MAXM_LANGUAGE_NAMES[lang]}."
    return f"{MAXM_PRE_PROMPT}{sample['question'].strip()}{post}"


_MANUAL_MAP = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
               "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_ARTICLES = frozenset({"a", "an", "the"})
_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@",
          "`", ",", "?", "!")
# As written in the VQA-eval copy the reference uses: "(?!<=\d)" is a lookahead (a bug kept on
# purpose), and re.UNICODE lands in sub()'s count slot, so at most 32 periods are removed.
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
_PERIOD_STRIP_COUNT = 32
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")


def _vqa_punctuation(text: str) -> str:
    out = text
    comma_number = _COMMA_STRIP.search(text) is not None
    for p in _PUNCT:
        if p + " " in text or " " + p in text or comma_number:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out, _PERIOD_STRIP_COUNT)


def _vqa_digits_articles(text: str) -> str:
    words = [_MANUAL_MAP.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in _ARTICLES]
    return " ".join(CONTRACTIONS.get(w, w) for w in words)


def vqa_clean(label: str) -> str:
    """LAVIS/VQA answer cleaning as the reference's copy does it."""
    label = label.replace("\n", "").replace("\t", "").strip()
    return _vqa_digits_articles(_vqa_punctuation(label)).strip("'")


def _yes_no(value: str) -> str:
    lowered = value.lower()
    return "yes" if lowered == "true" else "no" if lowered == "false" else value


def maxm_relaxed(prediction: str, answers: list[str]) -> bool:
    """The reference wraps each prediction in a one-element list and its pandas pipeline turns
    that list into its repr ("['red']") before the VQA cleaning; answers are only stripped and
    true/false mapped to yes/no (not lower-cased), then must start or end the cleaned text."""
    wrapped = str([prediction.rstrip(".")]).strip()
    cleaned = vqa_clean(wrapped)
    golds = [_yes_no(str(answer).strip()) for answer in answers]
    return any(cleaned.startswith(gold) or cleaned.endswith(gold) for gold in golds)


def maxm_score(sample: dict, prediction: str) -> dict:
    """EM: the raw prediction equals one answer exactly (no strip, no case folding)."""
    answers = sample.get("answers")
    if not isinstance(answers, list):
        raise MellaError(f"maxm sample {sample.get('question_id')!r}: field 'answers' must be a "
                         "list of strings")
    answers = [str(answer) for answer in answers]
    return {"metrics": {"exact_match": 100.0 * (prediction in answers),
                        "relaxed_accuracy": 100.0 * maxm_relaxed(prediction, answers)},
            "guessed": False, "details": {}}


def mean_of(scores: list[dict]) -> dict:
    """The mean of every metric over the samples (MaXM's values are already on the 0-100 scale)."""
    names = sorted({name for s in scores for name in s["metrics"]})
    result = {name: sum(s["metrics"][name] for s in scores) / len(scores) if scores else 0.0
              for name in names}
    result.update(n=len(scores), guessed=sum(1 for s in scores if s["guessed"]))
    return result
