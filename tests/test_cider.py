"""CIDEr-D: hand-worked values, coco-caption reference values, invariants, script-aware tokens."""

import math
import random
import unicodedata

import pytest

from mella_eval.metrics import segment
from mella_eval.metrics.cider import CiderResult, cider_d
from mella_eval.metrics.segment import korean_backend


def test_hand_computed_two_image_corpus():
    """Two images, N = 2, references "a b" and "c d"; hypotheses "a b" and "c".

    Every n-gram of the references occurs in exactly one image, so df = 1 and each has
    idf = log(2) - log(1) = log 2 =: L. The hypothesis n-gram vectors get tf * L.

    Image 1, hypothesis = reference = "a b":
      n=1: h = r = (a: L, b: L), cosine = 2L^2 / (L*sqrt2 * L*sqrt2) = 1
      n=2: h = r = ("a b": L), cosine = 1
      n=3, 4: no n-grams, 0.  Length difference 0, penalty 1.
      score = mean(1, 1, 0, 0) / 1 reference * 10 = 5.0
    Image 2, hypothesis "c", reference "c d":
      n=1: h = (c: L), r = (c: L, d: L); clipped dot min(L, L) * L = L^2;
           cosine = L^2 / (L * L*sqrt2) = 1/sqrt2
      n=2..4: the hypothesis has no n-grams, 0.
      length penalty exp(-(1 - 2)^2 / (2 * 6^2)) = exp(-1/72)
      score = (1/sqrt2) * exp(-1/72) / 4 * 10 = 1.7433843...
    Corpus: (5.0 + 1.7433843) / 2 = 3.3716921...
    """
    result = cider_d(["a b", "c"], [["a b"], ["c d"]], "en")
    image2 = 10 / (4 * math.sqrt(2)) * math.exp(-1 / 72)
    assert result.per_sample == pytest.approx([5.0, image2], abs=1e-12)
    assert result.score == pytest.approx((5.0 + image2) / 2, abs=1e-12)
    assert result.score == pytest.approx(3.3716921748800703, abs=1e-12)


def test_clipping_of_repeated_ngrams():
    """Hypothesis "a a" against reference "a b" (same corpus shape, idf L = log 2 for all):
    n=1: h = (a: 2L), r = (a: L, b: L). Clipped dot = min(2L, L) * L = L^2, so the cosine is
    L^2 / (2L * L*sqrt2) = 1/(2 sqrt2); without clipping it would be 1/sqrt2.
    n=2: "a a" is not in the reference, 0. Score = 1/(2 sqrt2) / 4 * 10 = 0.8838834..."""
    result = cider_d(["a a", "c d"], [["a b"], ["c d"]], "en")
    assert result.per_sample[0] == pytest.approx(10 / (8 * math.sqrt(2)), abs=1e-12)
    assert result.per_sample[1] == pytest.approx(5.0)


# Values from coco-caption's CIDEr-D (pycocoevalcap `cider_scorer.py`, identical to vrama91/cider
# `ciderD_scorer.py` with df_mode="corpus"), run on these already-lowercased, punctuation-free,
# space-separated captions, where its `split()` and our tokenisation agree.
REFERENCE_HYPS = ["a man riding a horse on the beach", "two dogs play in the snow", "a red bus",
                  "people at a market"]
REFERENCE_REFS = [["a man rides a horse on a beach", "a person on a horse by the sea"],
                  ["two dogs playing in snow", "dogs run in the snow", "two puppies in the snow"],
                  ["a red double decker bus on the street"],
                  ["a crowded market with people", "people shopping at a street market"]]
REFERENCE_PER_SAMPLE = [2.2965213313473574, 3.155699913967547, 1.651277950225802,
                        2.018878266918439]
REFERENCE_SCORE = 2.2805943656147862


def test_matches_coco_caption_reference_values():
    result = cider_d(REFERENCE_HYPS, REFERENCE_REFS, "en")
    assert result.per_sample == pytest.approx(REFERENCE_PER_SAMPLE, abs=1e-9)
    assert result.score == pytest.approx(REFERENCE_SCORE, abs=1e-9)
    # case and punctuation do not matter (casefold; punctuation dropped as by coco's PTB tokenizer)
    shouted = [h.upper() + "." for h in REFERENCE_HYPS]
    assert cider_d(shouted, REFERENCE_REFS, "en").score == pytest.approx(REFERENCE_SCORE)


def test_identical_hypothesis_scores_the_maximum():
    """A hypothesis equal to every reference has cosine 1 for n = 1..4: 10, the largest value."""
    caps = ["a black cat sleeps on the sofa", "two children fly a kite at the beach",
            "a boat full of fruit on the river"]
    result = cider_d(caps, [[c, c, c] for c in caps], "en")
    assert result.per_sample == pytest.approx([10.0, 10.0, 10.0])
    # with several different references it stays high, and above a paraphrase
    refs = [[c, "an animal resting indoors", "a pet lies on a couch"] for c in caps]
    same = cider_d(caps, refs, "en").per_sample
    para = cider_d(["a cat lies on a couch", *caps[1:]], refs, "en").per_sample
    assert same[0] > 3.0 and same[0] > para[0] > 0


def test_scores_bounded():
    rng = random.Random(7)
    vocab = "a b c d e cat dog on the mat".split()
    hyps = [" ".join(rng.choices(vocab, k=rng.randint(1, 9))) for _ in range(20)]
    refs = [[" ".join(rng.choices(vocab, k=rng.randint(1, 9))) for _ in range(3)]
            for _ in range(20)]
    assert all(0.0 <= s <= 10.0 + 1e-9 for s in cider_d(hyps, refs, "en").per_sample)


def test_empty_hypothesis_scores_zero_and_leaves_others_alone():
    base = cider_d(REFERENCE_HYPS, REFERENCE_REFS, "en")
    hyps = ["", *REFERENCE_HYPS[1:]]
    result = cider_d(hyps, REFERENCE_REFS, "en")
    assert result.per_sample[0] == 0.0
    # the idf comes from the references only, so other samples keep their scores
    assert result.per_sample[1:] == pytest.approx(base.per_sample[1:])
    assert cider_d(["...", *REFERENCE_HYPS[1:]], REFERENCE_REFS, "en").per_sample[0] == 0.0


def test_permutation_invariance():
    base = cider_d(REFERENCE_HYPS, REFERENCE_REFS, "en")
    order = [2, 0, 3, 1]
    shuffled = cider_d([REFERENCE_HYPS[i] for i in order],
                       [list(reversed(REFERENCE_REFS[i])) for i in order], "en")
    assert shuffled.score == pytest.approx(base.score)
    assert shuffled.per_sample == pytest.approx([base.per_sample[i] for i in order])


def test_single_sample_corpus_scores_zero():
    """Every reference n-gram occurs in the only image: idf 0 everywhere (reference behaviour)."""
    assert cider_d(["a cat"], [["a cat"]], "en").per_sample == [0.0]


def test_nfc_on_both_sides():
    hyps = ["con mèo đang ngủ trên ghế", "một chiếc thuyền trên sông"]
    refs = [["con mèo đang ngủ trên ghế sofa"], ["chiếc thuyền nhỏ trên sông"]]
    nfd = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731
    a = cider_d(hyps, refs, "vi")
    b = cider_d([nfd(h) for h in hyps], [[nfd(r) for r in rs] for rs in refs], "vi")
    assert a.per_sample == pytest.approx(b.per_sample) and a.score > 1.0


@pytest.mark.parametrize("hyps, refs", [
    (["a"], [["a"], ["b"]]),  # one reference list per hypothesis
    (["a", "b"], [["a"], []]),  # a sample without references
    (["a", "b"], [["a"], "b"]),  # a bare string, not a list of references
], ids=["length", "empty-refs", "str-refs"])
def test_bad_input(hyps, refs):
    with pytest.raises(ValueError):
        cider_d(hyps, refs, "en")


def test_empty_corpus():
    with pytest.raises(ValueError):
        cider_d([], [], "en")


# Near-identical captions in scripts without spaces between words (hypothesis, references).
NO_SPACE = {
    "th": (["แมวสีส้มนอนอยู่บนโซฟา", "เด็กผู้หญิงกำลังเล่นว่าวที่ชายหาด", "ตลาดน้ำมีเรือขายผลไม้"],
           [["แมวสีส้มนอนบนโซฟา", "แมวตัวหนึ่งนอนบนโซฟาสีเทา"], ["เด็กผู้หญิงเล่นว่าวที่ชายหาด"],
            ["ตลาดน้ำที่มีเรือขายผลไม้มากมาย"]]),
    "zh": (["一只橘猫躺在沙发上", "小女孩在海滩上放风筝", "水上市场有卖水果的船"],
           [["一只橘色的猫躺在沙发上"], ["一个小女孩在海滩放风筝"], ["水上市场里有很多卖水果的小船"]]),
    "ja": (["オレンジ色の猫がソファで寝ている", "女の子が浜辺で凧を揚げている", "水上マーケットで果物を売る船"],
           [["オレンジ色の猫がソファの上で寝ている"], ["少女が浜辺で凧揚げをしている"],
            ["果物を売る船が並ぶ水上マーケット"]]),
}


@pytest.mark.parametrize("lang", sorted(NO_SPACE))
def test_no_space_scripts_score_with_character_tokens(lang, monkeypatch):
    """With one token per character, near-identical captions score well. Tokenised the way the
    PangeaBench code does (re-joined without spaces, then split on spaces), each caption is one
    "word": a near-identical caption shares no n-gram with its reference and scores 0 (an
    identical one would only match the unigram: 2.5 at most)."""
    hyps, refs = NO_SPACE[lang]
    ours = cider_d(hyps, refs, lang)
    assert all(s > 3.0 for s in ours.per_sample), ours
    assert ours.score > 5.0
    # a wrong language code (PangeaBench's `jp`) changes nothing: the script decides
    assert cider_d(hyps, refs, "jp" if lang == "ja" else "en").score == pytest.approx(ours.score)

    monkeypatch.setattr(segment, "tokenize", lambda text, lang, punctuation=True: text.split())
    assert cider_d(hyps, refs, lang) == CiderResult(0.0, [0.0, 0.0, 0.0])


@pytest.mark.skipif(korean_backend() != "mecab", reason="mecab-ko not installed")
def test_korean_morphemes_credit_shared_stems(monkeypatch):
    """고양이가 / 고양이는 share the noun once particles are split off by mecab."""
    hyps = ["고양이가 소파 위에서 자고 있다", "소녀가 해변에서 연을 날린다", "수상 시장에서 과일을 파는 배"]
    refs = [["고양이는 소파 위에서 잠을 자고 있다"], ["소녀는 해변에서 연을 날리고 있다"],
            ["과일을 파는 배들이 있는 수상 시장"]]
    morphemes = cider_d(hyps, refs, "ko").score
    monkeypatch.setattr(segment, "tokenize", lambda text, lang, punctuation=True: text.split())
    assert morphemes > cider_d(hyps, refs, "ko").score > 0


def test_result_to_dict():
    result = cider_d(["a b", "c"], [["a b"], ["c d"]], "en")
    assert result.to_dict() == {"score": result.score, "per_sample": result.per_sample}
