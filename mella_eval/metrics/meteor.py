"""METEOR as nltk's `meteor_score` computes it, on script-aware tokens, scale 0-100.

nltk (`nltk.translate.meteor_score`, Lavie & Agarwal 2007) is called itself, not copied:

- Hypothesis and references are cut by `segment.tokenize(text, lang, punctuation=False)`, the
  tokens CIDEr-D and ROUGE-L count (NFC, casefold, characters for Thai/Chinese/Japanese, mecab
  morphemes for Korean, punctuation dropped), and passed to nltk pre-tokenised.
- nltk aligns the hypothesis to each reference in three stages: exact tokens; then tokens whose
  stems are equal, with the language's Snowball stemmer (`languages.Language.stemmer`, from the
  `snowballstemmer` package: e.g. Hungarian, Russian, Serbian, Czech, Arabic; Korean, Thai,
  Vietnamese, Chinese and Japanese have none and skip the stage); then WordNet synonyms, for
  English only and only when nltk's WordNet data is installed (it is never downloaded).
- With m matched unigrams, P = m / len(hyp), R = m / len(ref),
  Fmean = P R / (alpha P + (1 - alpha) R), and the fragmentation penalty
  gamma (chunks / m)^beta, score = Fmean (1 - penalty); alpha 0.9, beta 3, gamma 0.5 (nltk's
  defaults). No match (or an empty hypothesis) scores 0.
- The maximum over the references is the sample's score, x100 (0-100); the (task, lang) value
  is the mean over samples.

This is nltk's METEOR, not the METEOR 1.5 Java jar coco-caption runs (which adds paraphrase
tables and a different parameter set for English): values are comparable only with this
signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mella_eval.errors import MellaError
from mella_eval.metrics.segment import caption_tokens, lang_code
from mella_eval.metrics.segment import signature as tokenizer_signature

ALPHA = 0.9
BETA = 3.0
GAMMA = 0.5
SCALE = 100.0


@dataclass(frozen=True)
class MeteorResult:
    """`score`: mean of `per_sample`, both 0-100."""

    score: float
    per_sample: list[float]


class _NoSynonyms:
    """Stands in for nltk's WordNet reader: no synonym stage (non-English, or no WordNet data)."""

    @staticmethod
    def synsets(word, *args, **kwargs):
        return []


class _IdentityStemmer:
    """No stemmer for the language: the stem stage then matches nothing the exact stage left."""

    @staticmethod
    def stem(word: str) -> str:
        return word


class SnowballStem:
    """A `snowballstemmer` algorithm behind nltk's `StemmerI` interface (`.stem(word)`)."""

    def __init__(self, algorithm: str):
        try:
            import snowballstemmer
        except ImportError:
            raise MellaError("meteor needs the `snowballstemmer` package (>=3.1): "
                             "pip install 'snowballstemmer>=3.1'") from None
        if algorithm not in snowballstemmer.algorithms():
            raise MellaError(f"snowballstemmer has no {algorithm!r} stemmer (languages.py names it); "
                             "upgrade: pip install 'snowballstemmer>=3.1'")
        from mella_eval.metrics.stemming import snowball_stem_word

        self.algorithm = algorithm
        self.stem = snowball_stem_word(algorithm)  # cached, shared with keyword accuracy


def _language(lang: str):
    from mella_eval.languages import LANGUAGES

    return LANGUAGES.get(lang_code(lang))


@lru_cache(maxsize=None)
def stemmer_for(lang: str):
    """The stemmer object for nltk, and its name for the signature ("hungarian" or "none")."""
    language = _language(lang)
    if language is None or language.stemmer is None:
        return _IdentityStemmer(), "none"
    return SnowballStem(language.stemmer), language.stemmer


@lru_cache(maxsize=None)
def synonyms_for(lang: str):
    """nltk's WordNet for English when its data is installed, else no synonyms; and the name."""
    if lang_code(lang) != "en":
        return _NoSynonyms(), "none"
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        try:
            nltk.data.find("corpora/wordnet.zip")
        except LookupError:
            return _NoSynonyms(), "none"
    from nltk.corpus import wordnet

    try:
        version = wordnet.get_version()
    except Exception:  # noqa: BLE001  (a broken data folder: run without synonyms, say so)
        return _NoSynonyms(), "none"
    return wordnet, f"wordnet-{version}"


def meteor_tokens(hypothesis: list[str], references: list[list[str]], lang: str) -> float:
    """nltk's `meteor_score` of one tokenised hypothesis against its references (0-1)."""
    from nltk.translate.meteor_score import meteor_score

    if not references:
        raise ValueError("meteor needs at least one reference")
    stemmer, _ = stemmer_for(lang)
    wordnet, _ = synonyms_for(lang)
    return float(meteor_score(references, hypothesis, stemmer=stemmer, wordnet=wordnet,
                              alpha=ALPHA, beta=BETA, gamma=GAMMA))


def meteor(hypotheses: list[str], references: list[list[str]], lang: str) -> MeteorResult:
    """METEOR of `hypotheses[i]` against `references[i]` (one or more strings each), 0-100."""
    hyp_tokens, ref_tokens = caption_tokens("meteor", hypotheses, references, lang)
    per_sample = [SCALE * meteor_tokens(tokens, refs, lang)
                  for tokens, refs in zip(hyp_tokens, ref_tokens)]
    return MeteorResult(sum(per_sample) / len(per_sample), per_sample)


def signature(lang: str) -> str:
    """What produced a meteor value: tokenizer, stemmer, synonyms, constants, library versions."""
    from importlib import metadata

    _, stem = stemmer_for(lang)
    _, synonyms = synonyms_for(lang)
    versions = [f"nltk-{metadata.version('nltk')}"]
    if stem != "none":
        versions.append(f"snowballstemmer-{metadata.version('snowballstemmer')}")
    return (f"tok:{tokenizer_signature(lang)}|punct:drop|case:fold|stem:{stem}|syn:{synonyms}"
            f"|alpha:{ALPHA:g}|beta:{BETA:g}|gamma:{GAMMA:g}|refs:max|scale:{SCALE:g}"
            f"|version:{'+'.join(versions)}")
