"""XM100 / MaXM reference caption scoring against goldens made by the reference code itself.

tests/data/pangea_reference/{ptb_tokenizer,xm100,maxm_captions}.json come from pycocoevalcap's
Java PTBTokenizer and PangeaBench's `xm100_aggregation_result` / `maxm_aggregate_results_v2`
(README.md there, "XM100 and MaXM captions"). The golden tests need no Java; the ones that run
the real tokenizer or METEOR skip without `java`.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mella_eval.errors import MellaError
from mella_eval.protocols import reference_caption as rc
from mella_eval.protocols.reference_ptb import ptb_tokenize, tokenize_captions

DATA = Path(__file__).parent / "data" / "pangea_reference"
METRICS = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr")


def _load(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


PTB = _load("ptb_tokenizer.json")
XM100 = _load("xm100.json")["cases"]
MAXM = _load("maxm_captions.json")["cases"]


def test_ptb_batch_equals_java_on_every_golden_string():
    texts = [case["text"] for case in PTB["batch"]]
    mine = tokenize_captions({i: [t] for i, t in enumerate(texts)})
    wrong = [(t, case["tokens"], mine[i][0]) for i, (t, case) in enumerate(zip(texts, PTB["batch"]))
             if mine[i][0] != case["tokens"]]
    assert not wrong, wrong[:5]


def test_ptb_single_caption_equals_java():
    wrong = [(c["text"], c["tokens"], ptb_tokenize(c["text"])) for c in PTB["alone"]
             if ptb_tokenize(c["text"]) != c["tokens"]]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize("case", PTB["line_shifts"], ids=lambda c: repr(c["captions"])[:40])
def test_ptb_line_shifts_like_pycocoevalcap(case):
    """\\r, U+2028, ... end Java's output lines: later captions get their neighbours' tokens."""
    mine = tokenize_captions({i: [c] for i, c in enumerate(case["captions"])})
    assert {str(k): v for k, v in mine.items()} == case["tokens"]


def test_ptb_examples():
    assert ptb_tokenize("A man's dog (big) -- RUNS!") == "a man 's dog -lrb- big -rrb- runs"
    assert ptb_tokenize("I can't, y'all.") == "i ca n't y' all"
    assert ptb_tokenize("一只猫坐在桌子上。") == "一只猫坐在桌子上 。"
    assert ptb_tokenize("emoji 😀 gone") == "emoji gone"


def _items(case):
    return [tuple(item) for item in case["items"]]


@pytest.mark.parametrize("case", XM100, ids=lambda c: f"{c['set']}-{c['tasks']}-{c['scenario']}")
def test_xm100_scores_equal_reference(case):
    mine = rc.xm100_corpus_scores(_items(case), case["lang"], tasks=case["tasks"], meteor=False)
    assert set(mine) == set(METRICS)
    for name in METRICS:
        assert mine[name] == pytest.approx(case["scores"][name], abs=1e-6), name


@pytest.mark.parametrize("case", MAXM, ids=lambda c: f"{c['set']}-{c['scenario']}")
def test_maxm_rouge_cider_equal_reference(case):
    mine = rc.maxm_corpus_scores(_items(case), case["lang"])
    assert mine == {"rouge_l": pytest.approx(case["scores"]["rouge_l"], abs=1e-6),
                    "cider": pytest.approx(case["scores"]["cider"], abs=1e-6)}


def test_xm100_default_tasks_string_is_the_language_task():
    zh = next(c for c in XM100 if c["lang"] == "zh" and c["tasks"] == "xm100_zh"
              and c["scenario"] == "spaced")
    assert rc.xm100_corpus_scores(_items(zh), "zh", meteor=False)["CIDEr"] == pytest.approx(
        zh["scores"]["CIDEr"], abs=1e-6)


def test_normalisation_quirks():
    assert rc.xm100_normalize("一只 猫  坐在\t桌子 上", "xm100_zh") == "一只猫 坐在\t桌子上"
    assert rc.xm100_normalize("一只 猫", "xm100") == "一只 猫"  # group run: nothing
    assert rc.xm100_normalize("a cat", "xm100_zh,xm100_en") == "acat"  # leaks to English
    assert rc.xm100_normalize("猫 が", "xm100_ja") == "猫 が"  # tests 'xm100_jp': never
    assert rc.xm100_normalize("ก า", "xm100_th") == "ก า"
    assert rc.xm100_normalize("e\u0301", "xm100_en") == "\u00e9"
    with pytest.raises(MellaError):
        rc.xm100_normalize("x", "xm100_jp")


def test_image_ids_and_crashes():
    assert rc.reference_image_id("1a") == rc.reference_image_id("11") == 11
    assert rc.reference_image_id("z0") == 260
    with pytest.raises(MellaError, match="not an integer"):
        rc.reference_image_id("4B")
    with pytest.raises(MellaError, match="share the reference image id"):
        rc.xm100_corpus_scores([("1a", "x", ["y"]), ("11", "x", ["y"])], "en", meteor=False)
    with pytest.raises(MellaError, match="no predictions"):
        rc.maxm_corpus_scores([], "th")
    with pytest.raises(MellaError):
        rc.xm100_corpus_scores([("1", "x", ["y"])], "xx")


def test_prompt_and_generation():
    assert rc.xm100_prompt({}, "en") == "Provide a one-sentence caption for the provided image."
    assert rc.xm100_prompt({}, "th") == ("Provide a one-sentence caption for the provided image "
                                         "in Thai.")
    assert rc.XM100_GENERATION == {"max_new_tokens": 128, "temperature": 0, "top_p": 0,
                                   "num_beams": 1, "do_sample": False}


JAVA = shutil.which("java") is not None


@pytest.mark.skipif(not JAVA, reason="needs java (pycocoevalcap's PTBTokenizer is Java)")
def test_ptb_equals_live_java_tokenizer():
    pytest.importorskip("pycocoevalcap")
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    texts = ["Mr. Smith's (big) dog -- 3.5 kg!", "etc. And", "‘quoted’ «x» ½ $5", "ถ้วย กาแฟ 😀"]
    try:
        java = PTBTokenizer().tokenize({i: [{"caption": t}] for i, t in enumerate(texts)})
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"java did not run: {err}")
    assert tokenize_captions({i: [t] for i, t in enumerate(texts)}) == java


@pytest.mark.slow
@pytest.mark.skipif(not rc.java_meteor_available(), reason="needs java for meteor-1.5.jar")
def test_xm100_meteor_with_java_equals_reference():
    cases = [c for c in XM100 if c["set"] in ("ko", "m_en") and c["tasks"].startswith("xm100_")]
    for case in cases[:2]:  # ~10 s each: Meteor loads its paraphrase table
        mine = rc.xm100_corpus_scores(_items(case), case["lang"], tasks=case["tasks"], meteor=True)
        assert mine["METEOR"] == pytest.approx(case["scores"]["METEOR"], abs=1e-6)
