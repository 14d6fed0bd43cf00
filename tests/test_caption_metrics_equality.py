"""ROUGE-L, METEOR and CIDEr-D equal their reference implementations on the same tokens, in all
eight MELLA languages, on real human text (tests/data/udhr_paragraphs.json: the Universal
Declaration of Human Rights as the OHCHR's translators wrote it; source and licence in the file).

- ROUGE-L vs pycocoevalcap's `Rouge.calc_score` (fed `" ".join(tokens)`, which it splits back);
- METEOR vs nltk's `meteor_score` called directly (no WordNet), with nltk's own Snowball stemmer
  where nltk has the language (hu, ru) and with the stemmer mella-eval uses elsewhere;
- CIDEr-D vs pycocoevalcap's `Cider.compute_score` over the same corpus.

Samples: paragraph i against paragraph i+1 (one reference) or i+1 and i+2 (two), and the first
60% of every third paragraph's words against the whole paragraph (high overlap).
"""

import json
from pathlib import Path

import pytest

from mella_eval.languages import MELLA_LANGS
from mella_eval.metrics import cider, meteor, rouge
from mella_eval.metrics.segment import tokenize

pytest.importorskip("pycocoevalcap")

DATA = json.loads((Path(__file__).parent / "data" / "udhr_paragraphs.json").read_text(encoding="utf-8"))


def corpus(lang: str):
    paragraphs = DATA["paragraphs"][lang]
    hyps, refs = [], []
    for i in range(len(paragraphs) - 2):
        hyps.append(paragraphs[i])
        refs.append([paragraphs[i + 1]] if i % 2 == 0 else [paragraphs[i + 1], paragraphs[i + 2]])
    for i in range(0, len(paragraphs), 3):
        words = paragraphs[i].split()
        hyps.append(" ".join(words[: max(1, len(words) * 3 // 5)]))
        refs.append([paragraphs[i]])
    return hyps, refs


def toks(text: str, lang: str) -> list[str]:
    return tokenize(text, lang, punctuation=False)


class NoWordNet:
    def synsets(self, word, *args, **kwargs):
        return []


def test_fixture_is_real_text_in_every_mella_language():
    assert set(DATA["paragraphs"]) == set(MELLA_LANGS)
    assert "OHCHR" in DATA["source"] and DATA["licence"]
    for lang, paragraphs in DATA["paragraphs"].items():
        assert len(paragraphs) == 30 and len(set(paragraphs)) == 30, lang


@pytest.mark.parametrize("lang", MELLA_LANGS)
def test_rouge_l_equals_pycocoevalcap(lang):
    from pycocoevalcap.rouge.rouge import Rouge

    hyps, refs = corpus(lang)
    ours = rouge.rouge_l(hyps, refs, lang)
    reference = [100 * Rouge().calc_score([" ".join(toks(h, lang))], [" ".join(toks(r, lang)) for r in rs])
                 for h, rs in zip(hyps, refs)]
    assert ours.per_sample == pytest.approx(reference, abs=1e-12)
    assert ours.score == pytest.approx(sum(reference) / len(reference), abs=1e-12)
    assert 10 < ours.score < 90  # real overlap, neither trivial nor empty
    assert len({round(v, 6) for v in ours.per_sample}) > 10


@pytest.mark.parametrize("lang", MELLA_LANGS)
def test_meteor_equals_nltk(lang):
    from nltk.stem.snowball import SnowballStemmer
    from nltk.translate.meteor_score import meteor_score

    hyps, refs = corpus(lang)
    ours = meteor.meteor(hyps, refs, lang)
    stemmers = [meteor.stemmer_for(lang)[0]]
    if lang in ("hu", "ru"):  # nltk ships these two Snowball stemmers itself
        stemmers.append(SnowballStemmer({"hu": "hungarian", "ru": "russian"}[lang]))
    for stemmer in stemmers:
        reference = [100 * meteor_score([toks(r, lang) for r in rs], toks(h, lang), stemmer=stemmer,
                                        wordnet=NoWordNet(), alpha=0.9, beta=3, gamma=0.5)
                     for h, rs in zip(hyps, refs)]
        assert ours.per_sample == pytest.approx(reference, abs=1e-12), type(stemmer)
    assert 10 < ours.score < 90
    expected_stem = {"ar": "arabic", "cs": "czech", "hu": "hungarian", "ru": "russian",
                     "sr": "serbian"}.get(lang, "none")
    assert f"|stem:{expected_stem}|" in meteor.signature(lang)


@pytest.mark.parametrize("lang", MELLA_LANGS)
def test_cider_equals_pycocoevalcap(lang):
    from pycocoevalcap.cider.cider import Cider

    hyps, refs = corpus(lang)
    ours = cider.cider_d(hyps, refs, lang)
    gts = {i: [" ".join(toks(r, lang)) for r in rs] for i, rs in enumerate(refs)}
    res = {i: [" ".join(toks(h, lang))] for i, h in enumerate(hyps)}
    score, per_sample = Cider().compute_score(gts, res)
    assert ours.score == pytest.approx(score, abs=1e-12)
    assert ours.per_sample == pytest.approx(list(per_sample), abs=1e-12)
