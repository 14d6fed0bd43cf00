"""Reference protocol for xMMMU (neulab/Pangea `tasks/xmmmu/utils.py`, commit ecc4403).

The fork scores with the official MMMU rules: the letter parser of MMMU's `eval_utils.py`,
`eval_open` for open questions, and an overall accuracy rounded to 3 decimals. The one
deliberate change: an unparseable multiple-choice answer, for which the reference draws a random
letter, is credited 1/k (k options) and flagged `guessed`.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict

from mella_eval.errors import MellaError

GENERATION = {"max_new_tokens": 16}
MULTI_CHOICE_PROMPT = "Answer with the option letter from the given choices directly."
OPEN_ENDED_PROMPT = "Answer the question using a single word or phrase."
_EDGE_PUNCTUATION = (",", ".", "!", "?", ";", ":", "'")
_KEY_INDICATORS = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ",
                   "result ")
_NUMBER_PATTERNS = (
    re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b"),  # 1,234,567
    re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+"),  # scientific notation
    re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])"),  # plain
)
_SENTENCE_SPLIT = re.compile(r"\.\s(?=[A-Z])|\n")


def options_of(sample: dict) -> list[str]:
    """The options, stored as a Python list literal (newlines inside it read as spaces)."""
    raw = sample.get("options")
    if isinstance(raw, list):
        return [str(option) for option in raw]
    try:
        options = ast.literal_eval(str(raw).replace("\n", " "))
    except (ValueError, SyntaxError) as exc:
        raise MellaError(f"xmmmu sample {sample.get('id')!r}: field 'options' is not a list "
                         f"literal ({exc.__class__.__name__})") from None
    return [str(option) for option in options]


def prompt(sample: dict) -> str:
    question = sample["question"]
    if sample["question_type"] == "multiple-choice":
        lines = "\n".join(f"{chr(65 + i)}. {option}" for i, option in enumerate(options_of(sample)))
        text = f"{question}\n{lines}\n{MULTI_CHOICE_PROMPT}"
    else:
        text = f"{question}\n{OPEN_ENDED_PROMPT}"
    for number in range(1, 8):
        text = text.replace(f"<image {number}>", "<image>")
    return text


def parse_choice(response: str, choices: list[str], index2ans: dict[str, str]) -> str | None:
    """MMMU's letter parser; None where it would draw at random."""
    for char in _EDGE_PUNCTUATION:
        response = response.strip(char)
    response = f" {response} "
    candidates = [c for c in choices if f"({c})" in response]
    bracketed, by_letter = bool(candidates), True
    if not candidates:
        candidates = [c for c in choices if f"{c} " in response]
    if not candidates:
        candidates = [c for c in choices if f"{c}." in response]
    if not candidates and len(response.split()) > 5:
        candidates = [c for c, text in index2ans.items() if text.lower() in response.lower()]
        by_letter = False
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    if by_letter:
        template = "({})" if bracketed else " {} "
        positions = [response.rfind(template.format(c)) for c in candidates]
    else:
        positions = [response.lower().rfind(index2ans[c].lower()) for c in candidates]
    return candidates[positions.index(max(positions))]  # the last-mentioned; ties: the first


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def normalize(text: str) -> list:
    """Numbers become floats rounded to 2 places; a 1-character string gets space-padded forms."""
    text = text.strip()
    if _is_number(text):
        return [round(float(text.replace(",", "")), 2)]
    text = text.lower()
    return [" " + text, text + " "] if len(text) == 1 else [text]


def _key_subresponses(response: str) -> list[str]:
    response = response.strip().strip(".").lower()
    parts = _SENTENCE_SPLIT.split(response)
    found = []
    for index, part in enumerate(parts):
        indicators = _KEY_INDICATORS + (("=",) if index == len(parts) - 1 else ())
        shortest = None
        for indicator in indicators:
            if indicator in part:
                tail = part.split(indicator)[-1].strip()
                if not shortest or len(tail) < len(shortest):
                    shortest = tail
        if shortest and shortest.strip() not in _EDGE_PUNCTUATION:
            found.append(shortest)
    return found or [response]


def parse_open(response: str) -> list:
    keys = _key_subresponses(response)
    predictions = list(keys)
    for key in keys:
        for pattern in _NUMBER_PATTERNS:
            predictions.extend(pattern.findall(key))
    normalized = []
    for prediction in predictions:
        normalized.extend(normalize(prediction))
    return list(dict.fromkeys(normalized))


def eval_open(gold, predictions: list) -> bool:
    answers = []
    for answer in (gold if isinstance(gold, list) else [gold]):
        answers.extend(normalize(answer))
    for prediction in predictions:
        if isinstance(prediction, str):
            if any(isinstance(a, str) and a in prediction for a in answers):
                return True
        elif prediction in answers:
            return True
    return False


def subdomain(sample_id: str) -> str:
    split = sample_id.split("_")[0]
    found = re.search(rf"^{re.escape(split)}_(.+?)_\d+$", sample_id)
    if not found:
        raise MellaError(f"xmmmu sample id {sample_id!r}: expected '<split>_<Subject>_<number>'")
    return found.group(1)


def score(sample: dict, prediction: str) -> dict:
    details = {"id": sample["id"], "subdomain": subdomain(sample["id"])}
    if sample["question_type"] == "multiple-choice":
        options = options_of(sample)
        choices = [chr(65 + i) for i in range(len(options))]
        letter = parse_choice(prediction, choices, dict(zip(choices, options)))
        if letter is None:
            gold = sample["answer"]
            hits = sum(1 for c in choices if c == gold or (isinstance(gold, list) and c in gold))
            return {"metrics": {"accuracy": hits / len(choices) if choices else 0.0},
                    "guessed": True, "details": details}
        gold = sample["answer"]
        correct = letter in gold if isinstance(gold, list) else letter == gold
        details["parsed"] = letter
    else:
        parsed = parse_open(prediction)
        correct = eval_open(sample["answer"], parsed)
        details["parsed"] = [p if isinstance(p, str) else float(p) for p in parsed]
    return {"metrics": {"accuracy": float(correct)}, "guessed": False, "details": details}


def aggregate(scores: list[dict]) -> dict:
    """Instance-level accuracy over all subdomains, rounded to 3 decimals as the reference does."""
    by_subdomain: dict[str, list[float]] = defaultdict(list)
    for item in scores:
        by_subdomain[item["details"]["subdomain"]].append(item["metrics"]["accuracy"])
    total = sum(len(values) for values in by_subdomain.values())
    # The reference weights each subdomain's accuracy by its size: the mean over samples.
    weighted = sum(sum(values) / len(values) * len(values) for values in by_subdomain.values())
    return {"accuracy": round(weighted / total, 3) if total else 0.0, "n": total,
            "guessed": sum(1 for item in scores if item["guessed"])}
