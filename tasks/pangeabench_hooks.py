"""Row hooks (`process_sample`) of the PangeaBench tasks: reshape one dataset row into the fields
the task maps. Each takes a row dict and returns it (changed), or None to skip the row.
Schemas and sources: tasks/data/pangeabench/SCHEMAS.md.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import logging
import re
import unicodedata

# CVQA's `Subset` language names -> codes (mella_eval/languages.py).
CVQA_LANGUAGES = {
    "Amharic": "am", "Bengali": "bn", "Breton": "br", "Bulgarian": "bg", "Chinese": "zh",
    "Egyptian_Arabic": "ar", "Filipino": "fil", "French": "fr", "Hindi": "hi", "Igbo": "ig",
    "Indonesian": "id", "Irish": "ga", "Japanese": "ja", "Javanese": "jv", "Kinyarwanda": "rw",
    "Korean": "ko", "Malay": "ms", "Marathi": "mr", "Mongolian": "mn", "Norwegian": "no",
    "Portuguese": "pt", "Romanian": "ro", "Russian": "ru", "Sinhala": "si", "Spanish": "es",
    "Sundanese": "su", "Swahili": "sw", "Tamil": "ta", "Telugu": "te", "Urdu": "ur",
    "Minangkabau": "min", "Oromo": "om",  # ISO 639: min; om (the card's "orm" is its 639-3 code)
}
# An option's own label: (1) (A) 1. A. 1) A) 1、, in ASCII or full-width forms (（１） Ａ．), or a
# circled number ①..⑩; not the "2." of "2.5 m".
OPTION_LABEL = re.compile(r"^\s*(?:[(（]\s*[1-9１-９A-Za-zＡ-Ｚａ-ｚ]\s*[)）]"
                          r"|[A-Za-z1-9Ａ-Ｚａ-ｚ１-９]\s*[.)．）、](?![0-9０-９])|[①-⑩])\s*")
M3EXAM_MARKER = re.compile(r"\(image\)\[[^\]]*\]")
M3EXAM_ANSWER = re.compile(r"^[(（]?\s*([1-9A-Ea-e])\s*[)）.．、]?$")
log = logging.getLogger("mella_eval")
_unknown_cvqa: set[str] = set()
_unknown_m3exam: set[str] = set()


def _short_hash(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode("utf-8")).hexdigest()[:12]


def cvqa(row: dict) -> dict | None:
    """`Subset` = "('Korean', 'South Korea')" -> lang and country. A language missing from
    CVQA_LANGUAGES or from mella_eval/languages.py is skipped with one warning per name."""
    from mella_eval.languages import LANGUAGES

    language, country = ast.literal_eval(row["Subset"])
    code = CVQA_LANGUAGES.get(language)
    row["lang"] = code if code in LANGUAGES else None
    row["country"] = country.replace("_", " ")
    if row["lang"] is None and language not in _unknown_cvqa:
        _unknown_cvqa.add(language)
        where = ("CVQA_LANGUAGES in tasks/pangeabench_hooks.py" if code is None
                 else f"mella_eval/languages.py (code {code!r})")
        log.warning("cvqa: rows of language %r skipped: add it to %s", language, where)
    return row if row["lang"] else None


def marvl(row: dict) -> dict:
    """The hypothesis sits in a fixed template of the first turn; the answer turn is true/false."""
    human, answer = row["conversations"][0]["value"], row["conversations"][1]["value"]
    match = re.search(r"Text:\s*(.*?)\s*\n\s*Options:", human, re.DOTALL)
    row["hypothesis"] = match.group(1) if match else human
    row["label"] = answer.strip().lower().endswith("true")
    return row


def xgqa(row: dict) -> dict:
    """No id column: image id + a hash of the question; the (English) answer as a list."""
    row["id"] = f"{row['image_id']}-{_short_hash(row['question'])}"
    row["answers"] = [row["answer"]]
    return row


XMMMU_INSTRUCTION = {
    "multiple-choice": "Answer with the option letter from the given choices directly.",
    "open": "Answer the question using a single word or phrase.",
}


def xmmmu(row: dict) -> dict:
    """`options` is a Python list literal (empty for `open` rows); images image_1..image_7.
    Open rows are kept: no options, their answer (a string, or a list literal of accepted
    answers) in `answers`; `prompt_text` is the question with its options and the instruction
    of its type (the reference's construct_prompt layout)."""
    options = row.get("options")
    options = _literal_list(options) if isinstance(options, str) else (options or [])
    is_open = row.get("question_type", "multiple-choice") == "open"
    row["options"] = [] if is_open else options
    answer = row.get("answer")
    row["answers"] = (_literal_list(answer) if isinstance(answer, str) and answer.strip().startswith("[")
                      else [answer]) if is_open else [answer]
    # The prompt differs by question type, so the hook writes it (the task's prompt is
    # "{prompt_text}"): question, "A. ..." option lines, the type's instruction.
    lines = [row["question"], *(f"{chr(65 + i)}. {o}" for i, o in enumerate(row["options"]))]
    row["prompt_text"] = "\n".join(lines + [XMMMU_INSTRUCTION["open" if is_open else "multiple-choice"]])
    row["images"] = [row[f"image_{i}"] for i in range(1, 8) if row.get(f"image_{i}")]
    return row


def _literal_list(text: str) -> list:
    """A Python list literal; MMMU's literals sometimes hold raw newlines."""
    value = ast.literal_eval(text.replace("\n", " "))
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


# M3Exam's prompt per language, as the reference builds it (m3exam/utils.py: a hint naming the
# subject, the question, the options, an answer cue), with one change: the hint lists the
# letters the question really has ("A, B, C, D or E" for five options), not always A-D.
# language -> (hint with {subject} and {letters}, the word "or", answer cue)
M3EXAM_PROMPT = {
    "english": ("The following is a multiple choice question about {subject}. Please only respond "
                "with the letter ({letters}) corresponding to the correct answer, without any "
                "additional explanation.", "or", "Answer:"),
    "chinese": ("以下是关于{subject}的单项选择题。 请仅给出正确选项对应的选项序号（{letters}） 而非其他细节。",
                "或", "答案："),
    "thai": ("ต่อไปนี้เป็นคำถามแบบปรนัย วิชา{subject} โปรดตอบเพียงตัวอักษร ({letters}) "
             "ที่ตรงกับคำตอบที่ถูกต้อง โดยไม่ต้องมีคำอธิบายเพิ่มเติม", "หรือ", "คำตอบ:"),
    "vietnamese": ("Sau đây là câu hỏi trắc nghiệm về {subject}. Vui lòng chỉ trả lời bằng chữ cái "
                   "({letters}) tương ứng với câu trả lời đúng, không cần giải thích thêm.",
                   "hoặc", "Câu trả lời:"),
    "italian": ("La seguente è una domanda a scelta multipla su {subject}. Si prega di rispondere "
                "solo con la lettera ({letters}) corrispondente alla risposta corretta, senza alcuna "
                "spiegazione aggiuntiva.", "o", "La risposta:"),
    "afrikaans": ("Die volgende is 'n meervoudige keuse vraag oor {subject}. Antwoord asseblief "
                  "slegs met die letter ({letters}) wat ooreenstem met die korrekte antwoord, "
                  "sonder enige bykomende verduideliking.", "of", "Antwoord:"),
    "portuguese": ("A seguir está uma questão de múltipla escolha sobre {subject}. Por favor, "
                   "responda apenas com a letra ({letters}) correspondente à resposta correta, sem "
                   "qualquer explicação adicional.", "ou", "Responder:"),
}
# subject_category -> the subject's name in the exam's language: the reference's own table
# (m3exam/utils.py), kept once with the reference protocol.
from mella_eval.protocols.reference_choice import M3EXAM_CATEGORIES, M3EXAM_SUBJECTS  # noqa: E402


def m3exam(row: dict) -> dict:
    """Base64 images image_0..9 ("None" when absent), `(image)[name]` markers -> <image N>,
    options without their "(1)"/"A." labels, the answer -> a 1-based index (None when it names
    no option), a synthesised id, and `prompt_text`: the language's hint with the subject, the
    background, the question, the "(A) ..." options and the answer cue (M3EXAM_PROMPT)."""
    images = [base64.b64decode(row[f"image_{i}"]) for i in range(10)
              if row.get(f"image_{i}") not in (None, "", "None")]
    counter = iter(range(1, len(images) + 1))
    question = "\n".join(list(row.get("background_description") or []) + [row["question_text"]])
    row["question"] = M3EXAM_MARKER.sub(lambda m: f"<image {next(counter, 0)}>", question)
    row["images"] = images
    row["options"] = [OPTION_LABEL.sub("", o, count=1) for o in row["options"]]
    row["answer"] = m3exam_answer(row.get("answer_text"))
    row["id"] = _short_hash(row["question_text"], *row["options"])
    row["prompt_text"] = _m3exam_prompt(row)
    return row


def _m3exam_prompt(row: dict) -> str:
    language = str(row.get("language") or "").lower()
    if language not in M3EXAM_PROMPT:
        if language not in _unknown_m3exam:
            _unknown_m3exam.add(language)
            log.warning("m3exam: no prompt for language %r: the English one is used (add it to "
                        "M3EXAM_PROMPT in tasks/pangeabench_hooks.py)", language)
        language = "english"
    hint, or_word, cue = M3EXAM_PROMPT[language]
    category = row.get("subject_category")
    subject = (M3EXAM_SUBJECTS[language][M3EXAM_CATEGORIES.index(category)]
               if category in M3EXAM_CATEGORIES else str(category or "").replace("-", " "))
    letters = [chr(65 + i) for i in range(len(row["options"]))]
    listed = f"{', '.join(letters[:-1])} {or_word} {letters[-1]}" if len(letters) > 1 else "".join(letters)
    options = "\n".join(f"({letter}) {option}" for letter, option in zip(letters, row["options"]))
    hint = hint.format(subject=subject, letters=listed)
    return f"{hint}\n\n{row['question']}\n{options}\n{cue}"


def _fold(text: str) -> str:
    """NFKC (full-width （１） -> (1), ② -> 2), then every decimal digit as ASCII."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.digit(ch)) if unicodedata.category(ch) == "Nd" else ch
                   for ch in text)


def m3exam_answer(answer_text) -> int | None:
    """`answer_text` as a 1-based option index: "2", "(2)", "2.", "②", "（２）", "B", "(b)".
    Anything else (empty included) is None: the loader records the sample's missing answer
    instead of scoring it against option A."""
    m = M3EXAM_ANSWER.match(_fold(str(answer_text or "")).strip())
    if not m:
        return None
    label = m.group(1)
    return int(label) if label.isdigit() else "ABCDE".index(label.upper()) + 1


def xchat(row: dict) -> dict:
    """Id from task + index; the item's rubric in Prometheus' layout."""
    rubric = row["score_rubric"]
    row["id"] = f"{row['task']}-{row['instance_idx']}"
    row["item_rubric"] = f"[{rubric['criteria']}]\n" + "\n".join(
        f"Score {i}: {rubric[f'score{i}_description']}" for i in range(1, 6))
    return row
