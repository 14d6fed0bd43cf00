"""CVQA's Minangkabau and Oromo rows (issue 15 item 8): in the language table, loaded with
`--langs task`, and judged by the output-language check like the other languages."""

import logging
import shutil
from pathlib import Path

import yaml

from mella_eval.data import load_samples
from mella_eval.langid import check_language, judge_language
from mella_eval.languages import LANGUAGES, get_language
from mella_eval.task_registry import TaskRegistry

REPO = Path(__file__).resolve().parent.parent

# Real public text: Afaan Oromoo Wikipedia "Oromiyaa" and "Jimma"; the Minangkabau adage quoted
# in Indonesian Wikipedia "Orang Minangkabau" (see tasks/data/pangeabench/cvqa/README.md).
OROMO = ["Magaalaan guddoon Oromiyaa Finfinnee dha.",
         "Oromiyaan kutaalee Itoophiyaa kudha tokko keessaa tokko kan taateedha.",
         "Jimma magaalaa guddaa kibba-lixa Itoophiyaa yoo ta'u Finfinneerraa km330 fagaatee argama."]
MINANGKABAU = ["Adat basandi syarak, syarak basandi Kitabullah.", "Baso Minangkabau"]


def test_rows_in_the_language_table():
    assert (get_language("min").english, get_language("om").english) == ("Minangkabau", "Oromo")
    for code in ("min", "om"):
        lang = LANGUAGES[code]
        assert (lang.script, lang.bleu_tokenize, lang.stemmer) == ("Latn", "13a", None)
        check_language(code)  # the output-language check has rules for both


def test_cvqa_task_languages_load_min_and_om_without_warning(tmp_path, caplog):
    shutil.copy(REPO / "tasks" / "pangeabench_hooks.py", tmp_path)
    doc = yaml.safe_load((REPO / "tasks" / "cvqa.yaml").read_text(encoding="utf-8"))
    assert {"min", "om"} <= set(doc["langs"])
    doc["dataset"] = {"path": str(REPO / "tasks/data/pangeabench/cvqa/splits/test.jsonl")}
    (tmp_path / "cvqa.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    task = TaskRegistry([tmp_path]).resolve(str(tmp_path / "cvqa.yaml"))[0]
    with caplog.at_level(logging.WARNING, logger="mella_eval"):
        samples = load_samples(task, task.langs)  # what `--langs task` loads
    assert not [m for m in caplog.messages if "skipped" in m]
    by_lang = {s.lang: s for s in samples}
    assert {"min", "om", "id", "ko", "ru"} <= set(by_lang)
    assert by_lang["om"].country == "Ethiopia" and by_lang["min"].country == "Indonesia"
    assert all(s.error is None for s in samples)


def test_real_sentences_are_not_flagged():
    for text in OROMO:
        assert not judge_language(text, "om").wrong, text
    for text in MINANGKABAU:
        assert not judge_language(text, "min").wrong, text
    # Minangkabau is close to Malay and Indonesian: an Indonesian answer is not called wrong
    assert not judge_language("Apa warna cangkir kopi pada gambar ini?", "min").wrong


def test_other_languages_are_flagged_as_for_maori_and_sundanese():
    english = "The cup on the table is full of hot black coffee and there is a spoon next to it."
    russian = "На столе стоит чашка горячего кофе, рядом с ней лежит ложка."
    thai = "บนโต๊ะมีแก้วกาแฟร้อนและช้อนวางอยู่ข้างๆ"
    for code in ("min", "om", "mi", "su"):
        assert judge_language(english, code).detected == "en" and judge_language(english, code).wrong
        assert judge_language(russian, code).wrong and judge_language(thai, code).wrong
    assert judge_language(OROMO[1], "min").wrong  # Oromo for a Minangkabau question
