"""Corpus BLEU / chrF / chrF++: script-aware tokenization, multi-reference, NFC."""

import json
import unicodedata

import pytest
import sacrebleu

from mella_eval.metrics.corpus import bleu_tokenizer_for, corpus_score

THAI_REF = "แมวลายสีส้มนอนอยู่บนผ้าห่มสีขาว"
THAI_HYP = "แมวลายสีส้มนอนอยู่บนผ้าห่ม"


def test_thai_bleu_needs_character_tokenization():
    # Word tokenizers see one "word" per Thai sentence: near-identical sentences score 0.
    assert sacrebleu.corpus_bleu([THAI_HYP], [[THAI_REF]], tokenize="13a").score == 0.0
    ours = corpus_score("bleu", "th", [THAI_HYP], [[THAI_REF]])
    assert ours.value > 50
    assert "tok:char" in ours.signature


def test_korean_uses_mecab_when_installed():
    pytest.importorskip("mecab_ko")
    assert bleu_tokenizer_for("ko") == "ko-mecab"
    assert "tok:ko-mecab" in corpus_score("bleu", "ko", ["고양이가 잔다"], [["고양이가 잔다"]]).signature


def test_latin_and_cyrillic_use_13a():
    for lang in ("cs", "hu", "vi", "ru", "sr", "ar"):
        assert bleu_tokenizer_for(lang) == "13a"


def test_variable_reference_counts_match_sacrebleu():
    hyps = ["a red car on the road", "the cat sleeps"]
    refs = [["a red car on a road", "red car driving"], ["the cat is sleeping"]]
    ours = corpus_score("bleu", "cs", hyps, refs).value
    direct = sacrebleu.corpus_bleu(hyps, [["a red car on a road", "the cat is sleeping"],
                                          ["red car driving", None]]).score
    assert ours == pytest.approx(direct)


def test_nfc_normalisation_makes_decomposed_text_equal():
    composed = "Con mèo đang ngủ trên ghế."
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert corpus_score("chrf", "vi", [decomposed], [[composed]]).value == pytest.approx(100.0)


def test_chrf_plus_plus_signature_has_word_order():
    assert "nw:2" in corpus_score("chrf++", "ru", ["кот спит"], [["кот спит"]]).signature
    assert "nw:0" in corpus_score("chrf", "ru", ["кот спит"], [["кот спит"]]).signature


def test_run_scores_equal_sacrebleu_on_samples_jsonl(tmp_path, run_cli, sample_dir):
    """The numbers in results.json are what sacrebleu itself gives on samples.jsonl."""
    rows = [json.loads(line) for line in (sample_dir / "samples.jsonl").open(encoding="utf-8")]
    preds = tmp_path / "preds.jsonl"
    with preds.open("w", encoding="utf-8") as fh:
        for i, row in enumerate(rows):
            text = row["references"][i % 2] if i % 3 else row["references"][-1][: len(row["references"][-1]) // 2]
            fh.write(json.dumps({"task": "linguistic", "lang": row["lang"], "id": row["id"],
                                 "prediction": text}, ensure_ascii=False) + "\n")
    proc = run_cli("run", "--predictions", preds, "--tasks", "linguistic", "--langs", "all",
                   "--output-dir", tmp_path, "--run-name", "r")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    samples = [json.loads(line) for line in (tmp_path / "r" / "samples.jsonl").open(encoding="utf-8")]
    corpus_rows = [s for s in results["scores"] if s["metric"] in ("bleu", "chrf", "chrf++")]
    assert len(corpus_rows) == 8 * 3
    for score in corpus_rows:
        lang_rows = [s for s in samples if s["lang"] == score["lang"]]
        hyps = [s["prediction"] for s in lang_rows]
        width = max(len(s["references"]) for s in lang_rows)
        streams = [[s["references"][k] if k < len(s["references"]) else None for s in lang_rows]
                   for k in range(width)]
        if score["metric"] == "bleu":
            tok = {"th": "char", "ko": bleu_tokenizer_for("ko")}.get(score["lang"], "13a")
            direct = sacrebleu.corpus_bleu(hyps, streams, tokenize=tok).score
        else:
            direct = sacrebleu.corpus_chrf(hyps, streams, word_order=2 if score["metric"] == "chrf++" else 0).score
        assert score["value"] == pytest.approx(direct, abs=1e-9), score
        assert score["n"] == len(lang_rows) and score["failed"] == 0
        assert "version:" in score["signature"]
