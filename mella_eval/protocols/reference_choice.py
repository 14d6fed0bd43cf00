"""Reference protocol (neulab/Pangea lmms-eval fork, commit ecc4403) for CVQA and M3Exam.

Behaviour reimplemented from `evaluation/lmms-eval/lmms_eval/tasks/{cvqa,m3exam}/utils.py` and
their YAMLs, quirks included (README "Reference protocol"). The one deliberate change: where the
reference draws a random letter for an answer it cannot parse, the sample is credited the
expected value of that draw and flagged `guessed`.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Sequence

from mella_eval.errors import MellaError

# The reference's letter pool for its random fallback: always A-D, whatever the option count.
RANDOM_POOL = ("A", "B", "C", "D")
# First letter A-D (either case) followed by ")", ".", ":" or whitespace; "(" optional before it.
_LETTER_FOLLOWED = re.compile(r"\(?([A-D])[).:\s]", re.IGNORECASE)
# Otherwise the first a-d anywhere, even inside a word: "Answer: B" reads as A.
_ANY_LETTER = re.compile(r"[ABCD]", re.IGNORECASE)
_DOTTED_LABEL = re.compile(r"^[A-D]\.\s*")
SIMILARITY_THRESHOLD = 0.7


def parse_letter(response: str, options: Sequence[str]) -> str | None:
    """The reference's CVQA/M3Exam letter parser; None where it would pick at random."""
    response = response.strip()
    for pattern in (_LETTER_FOLLOWED, _ANY_LETTER):
        found = pattern.search(response)
        if found:
            return found.group(found.lastindex or 0).upper()
    best, best_ratio = None, 0.0
    for index, option in enumerate(options):
        content = _DOTTED_LABEL.sub("", option).strip()
        ratio = SequenceMatcher(None, response, content).ratio()
        if ratio > best_ratio:
            best, best_ratio = chr(65 + index), ratio
    return best if best_ratio > SIMILARITY_THRESHOLD else None


def guess_credit(target: str, pool: Sequence[str]) -> float:
    """Expected score of a uniform draw from `pool` against `target`."""
    return sum(1 for letter in pool if letter == target) / len(pool)


# ---------------------------------------------------------------- CVQA

CVQA_GENERATION = {"max_new_tokens": 16, "temperature": 0, "do_sample": False}


def cvqa_prompt(sample: dict, translated: bool = False) -> str:
    question = sample["Translated Question"] if translated else sample["Question"]
    options = sample["Translated Options"] if translated else sample["Options"]
    lines = "\n".join(f"{chr(65 + i)}. {option}" for i, option in enumerate(options))
    return (f"Question: {question} \n\n Options: {lines} \n\n"
            " Answer with the option's letter from the given choices directly.")


def cvqa_score(sample: dict, prediction: str) -> dict:
    """Accuracy of the predicted index against `Label` (the reference itself only writes the
    index to a leaderboard CSV); a label below 0 (the official test split) is unscored."""
    label = int(sample["Label"])
    letter = parse_letter(prediction, sample["Options"])
    guessed = letter is None
    details = {"id": sample.get("ID"), "pred": None if guessed else "ABCD".index(letter)}
    if label < 0:
        return {"metrics": {}, "guessed": guessed, "details": details}
    target = chr(65 + label)
    value = guess_credit(target, RANDOM_POOL) if guessed else float(letter == target)
    return {"metrics": {"accuracy": value}, "guessed": guessed, "details": details}


# ---------------------------------------------------------------- M3Exam

M3EXAM_ANSWER_CUE = {
    "english": "Answer:", "chinese": "答案：", "vietnamese": "Câu trả lời:", "thai": "คำตอบ:",
    "italian": "La risposta:", "afrikaans": "Antwoord:", "portuguese": "Responder:",
}
M3EXAM_SUBJECTS = {
    "english": ("English", "Math", "Social Science", "Natural Science"),
    "chinese": ("语文", "数学", "社会科学", "自然科学"),
    "thai": ("ภาษาไทย", "คณิตศาสตร์", "สังคมศึกษา", "วิทยาศาสตร์"),
    "vietnamese": ("Tiếng Việt", "Toán", "Khoa học xã hội", "Khoa học tự nhiên"),
    "italian": ("Italiano", "Matematica", "Scienze sociali", "Scienze naturali"),
    "afrikaans": ("Afrikaans Huistaal", "Wiskunde", "Sosiale Wetenskappe", "Natuurwetenskap"),
    "portuguese": ("Linguagens", "Matemática", "Ciências Humanas", "Ciências da Natureza"),
}
M3EXAM_CATEGORIES = ("language", "math", "social-science", "natural-science")
M3EXAM_HINTS = {
    "english": "The following is a multiple choice question about {}. Please only respond with the "
               "letter (A, B, C, or D) corresponding to the correct answer, without any additional "
               "explanation.",
    "chinese": "以下是关于{}的单项选择题。 请仅给出正确选项对应的选项序号（A, B, C, 或 D） 而非其他细节。",
    "thai": "ต่อไปนี้เป็นคำถามแบบปรนัย วิชา{} โปรดตอบเพียงตัวอักษร (A, B, C หรือ D) "
            "ที่ตรงกับคำตอบที่ถูกต้อง โดยไม่ต้องมีคำอธิบายเพิ่มเติม",
    "vietnamese": "Sau đây là câu hỏi trắc nghiệm về {}. Vui lòng chỉ trả lời bằng chữ cái "
                  "(A, B, C hoặc D) tương ứng với câu trả lời đúng, không cần giải thích thêm.",
    "italian": "La seguente è una domanda a scelta multipla su {}. Si prega di rispondere solo con la "
               "lettera (A, B, C o D) corrispondente alla risposta corretta, senza alcuna "
               "spiegazione aggiuntiva.",
    "afrikaans": "Die volgende is 'n meervoudige keuse vraag oor {}. Antwoord asseblief slegs met die "
                 "letter (A, B, C of D) wat ooreenstem met die korrekte antwoord, sonder enige "
                 "bykomende verduideliking.",
    "portuguese": "A seguir está uma questão de múltipla escolha sobre {}. Por favor, responda apenas "
                  "com a letra (A, B, C ou D) correspondente à resposta correta, sem qualquer "
                  "explicação adicional.",
}
_IMAGE_REF = re.compile(r"\(image\)\[[^\]]+\]")
_OPTION_LABEL = re.compile(r"^[\(（]?[A-Da-d\d][\)）\.\s]+\s*")
_LEADING_DIGIT = re.compile(r"\(?(\d)\)?")


def m3exam_generation(language: str) -> dict:
    """Per-split settings of the reference YAMLs: Chinese has 32 new tokens and top_p 1.0."""
    if language == "chinese":
        return {"max_new_tokens": 32, "temperature": 0, "top_p": 1.0, "num_beams": 1,
                "do_sample": False}
    return {"max_new_tokens": 16, "temperature": 0, "top_p": 0, "num_beams": 1, "do_sample": False}


def _m3exam_language(sample: dict) -> str:
    language = sample.get("language")
    if language not in M3EXAM_HINTS:
        raise MellaError(f"m3exam sample: field 'language' is {language!r}; the reference "
                         f"protocol knows {', '.join(sorted(M3EXAM_HINTS))}")
    return language


def standardize_options(options: Sequence[str]) -> list[str]:
    """Relabel options "(A) ...", "(B) ..." after dropping any label they carry."""
    return [f"({chr(65 + i)}) {_OPTION_LABEL.sub('', option).strip()}"
            for i, option in enumerate(options)]


def m3exam_prompt(sample: dict) -> str:
    language = _m3exam_language(sample)
    subjects = dict(zip(M3EXAM_CATEGORIES, M3EXAM_SUBJECTS[language]))
    subject = subjects[sample["subject_category"]]
    options = standardize_options(sample["options"])
    question = _IMAGE_REF.sub("<image>", sample["question_text"], count=1)
    question = _IMAGE_REF.sub("", question)
    options_text = "" if _IMAGE_REF.search(" ".join(options)) else "\n".join(options)
    background = sample.get("background_description") or []
    background_text = "\n" + "\n".join(background) if background else ""
    hint = M3EXAM_HINTS[language].format(subject)
    return (f"{hint}\n\n{background_text}\n{question}\n{options_text}\n"
            f"{M3EXAM_ANSWER_CUE[language]}")


def standardize_answer(answer: str) -> str:
    """The reference's gold-letter mapping, substring tests included ("" stays "", "12" -> "L")."""
    if answer in "ABCDEFGH":
        return answer
    if answer in "12345678":
        return chr(64 + int(answer))
    found = _LEADING_DIGIT.match(answer)
    if found:
        return chr(64 + int(found.group(1)))
    return answer


def m3exam_score(sample: dict, prediction: str) -> dict:
    """The parser sees the options as stored (the reference's relabelling in doc_to_text acts on
    a copy of the row that process_results never sees)."""
    target = standardize_answer(sample["answer_text"])
    letter = parse_letter(prediction, sample["options"])
    guessed = letter is None
    value = guess_credit(target, RANDOM_POOL) if guessed else float(letter == target)
    return {"metrics": {"accuracy": value}, "guessed": guessed,
            "details": {"parsed": letter, "target": target}}


def mean_accuracy(scores: list[dict]) -> dict:
    """CVQA / M3Exam aggregation: the plain mean over scored samples (0 when there are none)."""
    values = [s["metrics"]["accuracy"] for s in scores if "accuracy" in s["metrics"]]
    return {"accuracy": sum(values) / len(values) if values else 0.0,
            "n": len(values), "guessed": sum(1 for s in scores if s["guessed"])}
