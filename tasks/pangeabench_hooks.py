"""Row hooks (`process_sample`) of the PangeaBench tasks: reshape one dataset row into the fields
the task maps. Each takes a row dict and returns it (changed), or None to skip the row.
Schemas and sources: tasks/data/pangeabench/SCHEMAS.md.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import re

# CVQA's `Subset` language names -> codes (mella_eval/languages.py).
CVQA_LANGUAGES = {
    "Amharic": "am", "Bengali": "bn", "Breton": "br", "Bulgarian": "bg", "Chinese": "zh",
    "Egyptian_Arabic": "ar", "Filipino": "fil", "French": "fr", "Hindi": "hi", "Igbo": "ig",
    "Indonesian": "id", "Irish": "ga", "Japanese": "ja", "Javanese": "jv", "Kinyarwanda": "rw",
    "Korean": "ko", "Malay": "ms", "Marathi": "mr", "Mongolian": "mn", "Norwegian": "no",
    "Portuguese": "pt", "Romanian": "ro", "Russian": "ru", "Sinhala": "si", "Spanish": "es",
    "Sundanese": "su", "Swahili": "sw", "Tamil": "ta", "Telugu": "te", "Urdu": "ur",
}
OPTION_LABEL = re.compile(r"^\s*(?:\(\s*[1-9A-Za-z]\s*\)|[A-Za-z1-9][.)])\s*")
M3EXAM_MARKER = re.compile(r"\(image\)\[[^\]]*\]")


def _short_hash(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode("utf-8")).hexdigest()[:12]


def cvqa(row: dict) -> dict | None:
    """`Subset` = "('Korean', 'South Korea')" -> lang and country; unknown languages skipped."""
    language, country = ast.literal_eval(row["Subset"])
    row["lang"] = CVQA_LANGUAGES.get(language)
    row["country"] = country.replace("_", " ")
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


def xmmmu(row: dict) -> dict | None:
    """Multiple-choice rows only; `options` is a Python list literal; images image_1..image_7."""
    if row.get("question_type", "multiple-choice") != "multiple-choice":
        return None
    row["options"] = ast.literal_eval(row["options"]) if isinstance(row["options"], str) else row["options"]
    row["images"] = [row[f"image_{i}"] for i in range(1, 8) if row.get(f"image_{i}")]
    return row


def m3exam(row: dict) -> dict:
    """Base64 images image_0..9 ("None" when absent), `(image)[name]` markers -> <image N>,
    options without their "(1)"/"A." labels, the answer digit -> a 1-based index, a synthesised id."""
    images = [base64.b64decode(row[f"image_{i}"]) for i in range(10)
              if row.get(f"image_{i}") not in (None, "", "None")]
    counter = iter(range(1, len(images) + 1))
    question = "\n".join(list(row.get("background_description") or []) + [row["question_text"]])
    row["question"] = M3EXAM_MARKER.sub(lambda m: f"<image {next(counter, 0)}>", question)
    row["images"] = images
    row["options"] = [OPTION_LABEL.sub("", o, count=1) for o in row["options"]]
    answer = str(row["answer_text"]).strip()
    row["answer"] = int(answer) if answer.isdigit() else "ABCDE".index(answer.upper()) + 1
    row["id"] = _short_hash(row["question_text"], *row["options"])
    return row


def xchat(row: dict) -> dict:
    """Id from task + index; the item's rubric in Prometheus' layout."""
    rubric = row["score_rubric"]
    row["id"] = f"{row['task']}-{row['instance_idx']}"
    row["item_rubric"] = f"[{rubric['criteria']}]\n" + "\n".join(
        f"Score {i}: {rubric[f'score{i}_description']}" for i in range(1, 6))
    return row
