"""ROUGE-L and METEOR: hand-worked values, NFD = NFC, empty predictions, one vs several
references, stemmers and synonyms per language, signatures; and in runs: rows with signatures
and intervals, the Japanese BLEU fallback, one failing metric never losing a run."""

import json
import math
import unicodedata
from pathlib import Path

import pytest
import yaml

from mella_eval.cli import main
from mella_eval.metrics import corpus, meteor, rouge
from mella_eval.metrics.meteor import meteor as meteor_score
from mella_eval.metrics.rouge import lcs_length, rouge_l

REPO = Path(__file__).resolve().parent.parent


def f_beta(p, r, beta=1.2):
    return (1 + beta ** 2) * p * r / (r + beta ** 2 * p)


def test_lcs():
    assert lcs_length("a b c d".split(), "a c d e f".split()) == 3
    assert lcs_length([], ["a"]) == 0
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4  # the textbook example


def test_rouge_l_hand_computed():
    """"a b c d" vs "a c d e f": LCS 3 (a c d), P = 3/4, R = 3/5."""
    result = rouge_l(["A b, c d."], [["a c d e f"]], "en")
    assert result.per_sample == pytest.approx([100 * f_beta(3 / 4, 3 / 5)], abs=1e-12)
    assert result.per_sample[0] == pytest.approx(65.35714285714286, abs=1e-9)


def test_rouge_l_takes_max_precision_and_max_recall_separately():
    """coco-caption's rule: P from "a b c d e f" (1.0), R from "a x" (0.5), not the best pair."""
    result = rouge_l(["a b"], [["a b c d e f", "a x"]], "en")
    assert result.per_sample[0] == pytest.approx(100 * f_beta(1.0, 0.5), abs=1e-12)
    best_pair = max(f_beta(1.0, 1 / 3), f_beta(0.5, 0.5))
    assert result.per_sample[0] > 100 * best_pair


def test_meteor_hand_computed():
    """Identical 4 tokens: m = 4, P = R = 1, one chunk: 1 - 0.5 (1/4)^3 = 0.9921875.
    Russian "кошки спят на диване" vs "кошка спит на диване": кошки/кошка share the Snowball stem
    кошк, спят/спит do not: m = 3, P = R = 3/4, 2 chunks: 0.75 (1 - 0.5 (2/3)^3)."""
    assert meteor_score(["a cat on mats"], [["a cat on mats"]], "th").per_sample == [pytest.approx(99.21875)]
    ru = meteor_score(["Кошки спят на диване."], [["кошка спит на диване"]], "ru").per_sample[0]
    assert ru == pytest.approx(100 * 0.75 * (1 - 0.5 * (2 / 3) ** 3), abs=1e-12)
    # without the stem stage only "на диване" matches: 0.5 (1 - 0.5 (1/2)^3)
    assert meteor.meteor_tokens("кошки спят на диване".split(), ["кошка спит на диване".split()],
                                "uk") == pytest.approx(0.5 * (1 - 0.5 * 0.5 ** 3))


@pytest.mark.parametrize("lang, text", [
    ("vi", "Một con mèo đang ngủ trên ghế sofa màu xanh."),
    ("ko", "고양이가 파란 소파 위에서 자고 있다."),
    ("cs", "Černá kočka spí na židli."),
])
def test_nfd_input_scores_as_nfc(lang, text):
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    ref = [[text[: len(text) * 2 // 3], "Một con chó đang chạy."]]
    for metric in (rouge_l, meteor_score):
        assert metric([nfd], ref, lang).per_sample == metric([text], ref, lang).per_sample
        assert metric([nfd], [[text]], lang).per_sample[0] > 90


@pytest.mark.parametrize("metric", [rouge_l, meteor_score])
def test_empty_and_punctuation_only_predictions_score_zero(metric):
    refs = [["con mèo đang ngủ"], ["con mèo đang ngủ"], ["con mèo"]]
    result = metric(["", " ...! ", "con mèo"], refs, "vi")
    assert result.per_sample[:2] == [0.0, 0.0] and result.per_sample[2] > 90
    assert result.score == pytest.approx(sum(result.per_sample) / 3)
    # a reference made only of punctuation matches nothing, without dividing by zero
    assert metric(["con mèo"], [["..."]], "vi").per_sample == [0.0]


@pytest.mark.parametrize("metric", [rouge_l, meteor_score])
def test_one_vs_several_references(metric):
    hyp = ["Egy fekete macska alszik a széken."]
    one = metric(hyp, [["Egy fekete macska alszik egy széken."]], "hu").per_sample[0]
    worse = metric(hyp, [["Egy kutya fut a parkban."]], "hu").per_sample[0]
    both = metric(hyp, [["Egy kutya fut a parkban.", "Egy fekete macska alszik egy széken."]], "hu").per_sample[0]
    assert worse < one
    assert both >= one  # the maximum over references: a worse reference never lowers the score
    if metric is meteor_score:
        assert both == one


@pytest.mark.parametrize("metric", [rouge_l, meteor_score])
@pytest.mark.parametrize("hyps, refs", [
    (["a"], [["a"], ["b"]]), (["a", "b"], [["a"], []]), (["a", "b"], [["a"], "b"]), ([], []),
], ids=["length", "empty-refs", "str-refs", "empty-corpus"])
def test_bad_input(metric, hyps, refs):
    with pytest.raises(ValueError):
        metric(hyps, refs, "en")


def test_stemmers_per_language():
    names = {lang: meteor.stemmer_for(lang)[1] for lang in ("ar", "cs", "hu", "ru", "sr", "ko", "th", "vi", "ja", "zh")}
    assert names == {"ar": "arabic", "cs": "czech", "hu": "hungarian", "ru": "russian", "sr": "serbian",
                     "ko": "none", "th": "none", "vi": "none", "ja": "none", "zh": "none"}
    # Serbian: Snowball's stemmer reads Cyrillic, so inflected forms meet
    stem = meteor.stemmer_for("sr")[0].stem
    assert stem("мачка") == stem("мачке")
    # a region or script tag changes nothing
    assert meteor.stemmer_for("sr-Cyrl")[1] == "serbian"


class FakeWordNet:
    """Stands in for nltk's WordNet reader: "dog" has the synonym "hound"."""

    class _Lemma:
        def __init__(self, name):
            self._name = name

        def name(self):
            return self._name

    class _Synset:
        def __init__(self, names):
            self._names = names

        def lemmas(self):
            return [FakeWordNet._Lemma(n) for n in self._names]

    def synsets(self, word, *args, **kwargs):
        return [self._Synset(["dog", "hound"])] if word in ("dog", "hound") else []


def test_synonyms_only_for_english(monkeypatch):
    monkeypatch.setattr(meteor, "synonyms_for",
                        lambda lang: (FakeWordNet(), "wordnet-test") if lang == "en" else (meteor._NoSynonyms(), "none"))
    en = meteor_score(["a hound runs"], [["a dog runs"]], "en").per_sample[0]
    assert en == pytest.approx(100 * (1 - 0.5 * (1 / 3) ** 3))  # all three match, one chunk
    # the same tokens as another language: no synonym stage, "hound" stays unmatched
    assert meteor_score(["a hound runs"], [["a dog runs"]], "fi").per_sample[0] < en
    assert "syn:wordnet-test" in meteor.signature("en") and "syn:none" in meteor.signature("fi")


def test_no_wordnet_data_means_no_synonyms():
    """WordNet is never downloaded: without its data English runs with syn:none."""
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
        pytest.skip("WordNet data is installed here")
    except LookupError:
        pass
    assert meteor.synonyms_for("en")[1] == "none"
    assert meteor.synonyms_for("ru")[1] == "none"


def test_signatures():
    from importlib import metadata

    hu = meteor.signature("hu")
    assert hu.startswith("tok:mella-seg1|") and "|stem:hungarian|syn:none|alpha:0.9|beta:3|gamma:0.5|" in hu
    assert f"nltk-{metadata.version('nltk')}" in hu and "snowballstemmer-" in hu
    assert "stem:none" in meteor.signature("th") and "snowballstemmer" not in meteor.signature("th")
    assert rouge.signature("th") == "tok:mella-seg1|punct:drop|case:fold|lcs:max-p-max-r|beta:1.2|scale:100|version:mella-rouge1"
    from mella_eval.metrics.segment import korean_backend

    if korean_backend() == "mecab":
        assert "tok:mella-seg1+mecab-ko-" in rouge.signature("ko")


# Runs --------------------------------------------------------------------------------------------

CAPTIONS = {  # (id, references) per language; predictions are derived from them below
    "ja": [("a", ["オレンジ色の猫がソファで寝ている", "猫がソファの上で眠っている"]),
           ("b", ["女の子が浜辺で凧を揚げている"]), ("c", ["水上マーケットで果物を売る船"])],
    "ko": [("a", ["고양이가 소파 위에서 자고 있다"]), ("b", ["소녀가 해변에서 연을 날린다"]),
           ("c", ["수상 시장에서 과일을 파는 배"])],
    "th": [("a", ["แมวสีส้มนอนอยู่บนโซฟา"]), ("b", ["เด็กผู้หญิงกำลังเล่นว่าวที่ชายหาด"]),
           ("c", ["ตลาดน้ำมีเรือขายผลไม้"])],
}


def caption_run(tmp_path, name="r", task="xm100"):
    """A run of a copy of the bundled `task` on a small caption set with Japanese in it."""
    import shutil

    shutil.copy(REPO / "tasks" / "data" / "mella_sample" / "images" / "coffee.jpg", tmp_path / "coffee.jpg")
    rows = [{"image_id": f"{lang}-{i}", "caption": refs[0], "_split": lang, "image": "coffee.jpg"}
            for lang, items in CAPTIONS.items() for i, refs in items]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    doc = yaml.safe_load((REPO / "tasks" / f"{task}.yaml").read_text(encoding="utf-8"))
    doc["dataset"] = {"path": str(data)}
    doc["fields"]["lang"] = "_split"
    doc["langs"] = list(CAPTIONS)
    folder = tmp_path / "tasks"
    folder.mkdir(exist_ok=True)
    (folder / f"{task}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"task": task, "lang": r["_split"], "id": r["image_id"],
                                         "prediction": r["caption"][: max(1, len(r["caption"]) * 3 // 4)]},
                                        ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    code = main(["run", "--predictions", str(preds), "--tasks", str(folder / f"{task}.yaml"),
                 "--include-path", str(folder), "--langs", "task", "--output-dir", str(tmp_path),
                 "--run-name", name])
    results = json.loads((tmp_path / name / "results.json").read_text(encoding="utf-8"))
    return code, {(s["lang"], s["metric"]): s for s in results["scores"]}


def test_caption_rows_have_values_intervals_and_signatures(tmp_path):
    code, rows = caption_run(tmp_path)
    assert code == 0
    for lang in CAPTIONS:
        for metric in ("cider", "rouge_l", "meteor", "bleu", "chrf++"):
            row = rows[(lang, metric)]
            assert row["value"] is not None and row.get("error") is None, row
            assert row["ci_low"] <= row["value"] <= row["ci_high"], row
            assert row["signature"], row
        assert rows[(lang, "rouge_l")]["signature"] == rouge.signature(lang)
        assert rows[(lang, "meteor")]["signature"] == meteor.signature(lang)
        assert "|n:4|sigma:6|" in rows[(lang, "cider")]["signature"]
    assert 0 < rows[("th", "rouge_l")]["value"] <= 100 and 0 < rows[("th", "meteor")]["value"] <= 100


def test_japanese_without_mecab_falls_back_and_says_so(tmp_path, monkeypatch):
    """issue 15, 2.1: without `sacrebleu[ja]` Japanese BLEU raised inside scoring and the run was
    lost. Now it scores on characters, and the signature names the fallback."""
    from sacrebleu.tokenizers import tokenizer_ja_mecab

    monkeypatch.setattr(tokenizer_ja_mecab, "MeCab", None)  # what a missing mecab-python3 looks like
    corpus.bleu_tokenizer_choice.cache_clear()
    try:
        choice = corpus.bleu_tokenizer_choice("ja")
        assert (choice.name, choice.wanted, choice.fallback) == ("char", "ja-mecab", True)
        assert "sacrebleu[ja]" in choice.reason or "RuntimeError" in choice.reason
        code, rows = caption_run(tmp_path)
    finally:
        corpus.bleu_tokenizer_choice.cache_clear()
    assert code == 0
    ja = rows[("ja", "bleu")]
    assert ja["value"] > 0 and "tok:char" in ja["signature"] and ja["signature"].endswith("|fallback:ja-mecab")
    assert "fallback" not in rows[("th", "bleu")]["signature"]


def test_japanese_with_mecab_uses_it():
    pytest.importorskip("MeCab")
    corpus.bleu_tokenizer_choice.cache_clear()
    assert corpus.bleu_tokenizer_for("ja") == "ja-mecab"
    score = corpus.corpus_score("bleu", "ja", ["猫がソファで寝ている"], [["猫がソファの上で寝ている"]])
    assert "tok:ja-mecab" in score.signature and "fallback" not in score.signature


def test_a_metric_failing_for_one_language_loses_nothing_else(tmp_path, monkeypatch):
    real_meteor, real_stats = meteor.meteor, None
    import mella_eval.score as score

    real_stats = score.corpus_statistics

    def flaky_meteor(hyps, refs, lang):
        if lang == "th":
            raise RuntimeError("stemmer exploded\nsecond line")
        return real_meteor(hyps, refs, lang)

    def flaky_stats(metric, lang, hyps, refs):
        if (metric, lang) == ("bleu", "ko"):
            raise RuntimeError("tokenizer exploded")
        return real_stats(metric, lang, hyps, refs)

    monkeypatch.setattr(meteor, "meteor", flaky_meteor)
    monkeypatch.setattr(score, "corpus_statistics", flaky_stats)
    code, rows = caption_run(tmp_path)
    assert code in (0, 1)  # a run with a failed metric is written either way
    th = rows[("th", "meteor")]
    assert th["value"] is None and th["ci_low"] is None
    assert th["error"] == "meteor failed: RuntimeError: stemmer exploded"
    ko = rows[("ko", "bleu")]
    assert ko["value"] is None and "tokenizer exploded" in ko["error"]
    for key, row in rows.items():
        if key not in (("th", "meteor"), ("ko", "bleu")):
            assert row["value"] is not None and not row.get("error"), row
    samples = [json.loads(line) for line in (tmp_path / "r" / "samples.jsonl").open(encoding="utf-8")]
    th_samples = [s for s in samples if s["lang"] == "th"]
    assert all("meteor" not in s["metrics"] and "rouge_l" in s["metrics"] for s in th_samples)
    assert all(s["metric_errors"]["meteor"].startswith("RuntimeError") for s in th_samples)


def test_cider_of_shards_is_rescored_over_the_whole_corpus():
    """CIDEr-D's idf comes from the whole (task, lang) corpus: values computed shard by shard
    differ, and `rescore_whole_corpus_metrics` (for `merge`) restores the whole-corpus ones."""
    from types import SimpleNamespace

    from mella_eval.metrics.cider import cider_d
    from mella_eval.score import add_caption_metric, rescore_whole_corpus_metrics

    items = [(h, refs) for _, refs in CAPTIONS["th"] for h in (refs[0][:-3], refs[0][2:])]
    records = [{"task": "t", "lang": "th", "id": str(i), "status": "ok", "prediction": h,
                "references": refs, "metrics": {}} for i, (h, refs) in enumerate(items)]
    add_caption_metric("cider", records[:3])
    add_caption_metric("cider", records[3:])
    whole = cider_d([r["prediction"] for r in records], [r["references"] for r in records], "th").per_sample
    assert [r["metrics"]["cider"] for r in records] != pytest.approx(whole)
    rescore_whole_corpus_metrics([SimpleNamespace(name="t", metrics=["cider", "rouge_l"])], records)
    assert [r["metrics"]["cider"] for r in records] == pytest.approx(whole, abs=1e-12)


def test_linguistic_task_lists_rouge_l_and_meteor():
    for task in ("linguistic", "xm100", "xm3600"):
        doc = yaml.safe_load((REPO / "tasks" / f"{task}.yaml").read_text(encoding="utf-8"))
        assert {"rouge_l", "meteor"} <= set(doc["metrics"]), task


def test_compare_scale_of_the_new_metrics():
    from mella_eval.compare import metric_scale

    assert metric_scale("rouge_l") == (100.0, True) and metric_scale("meteor") == (100.0, True)
    assert math.isclose(metric_scale("cider")[0], 10.0)
