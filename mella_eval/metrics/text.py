"""Text normalisation shared by every scorer, and the text a prediction is scored as.

Serbian is written in two scripts. A Latin-script Serbian answer scored against Cyrillic
references gets ~0 BLEU/chrF although it is the same text, so before an sr prediction is scored
against references written mostly in Cyrillic, its Latin-script Serbian words are
transliterated to Cyrillic (`mella_eval.metrics.translit`) when the prediction is written mostly in
Latin letters; a Cyrillic answer, also one naming something in Latin, is scored as it is. Every sr
row of the reference-based metrics says so in its signature (`|translit:sr-Latn>Cyrl.1`), and a
sample whose scored text differs from its prediction carries `scored_prediction` (the text the
metrics saw) and `scored_prediction_translit` (the mapping). `prediction` itself never changes.
"""

import re
import unicodedata

# Metrics that compare a prediction with reference texts (the transliteration applies). Not
# keyword_acc: keywords.py already matches Serbian in either script (both folded to Latin).
REFERENCE_METRICS = ("bleu", "chrf", "chrf++", "cider", "rouge_l", "meteor")

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def script_transform(lang: str) -> str | None:
    """The signature part of the language's scoring transliteration, or None (no transform)."""
    if lang != "sr":
        return None
    from mella_eval.metrics.translit import SIGNATURE

    return SIGNATURE


def _mostly_cyrillic(texts) -> bool:
    joined = "".join(texts)
    return len(_CYRILLIC.findall(joined)) > len(_LATIN.findall(joined))


def scored_prediction(record: dict) -> str | None:
    """The text the reference-based metrics score for `record`: the prediction, transliterated
    to the references' script where the language has a transform (Serbian Latin -> Cyrillic
    against Cyrillic references). Pure function of the record, so scoring and intervals agree."""
    prediction = record.get("prediction")
    if prediction is None or script_transform(record.get("lang", "")) is None:
        return prediction
    # A Cyrillic answer naming something in Latin ("сондом DSCOVR") is Cyrillic text: left as it
    # is, like its references; only an answer written mostly in Latin is transliterated.
    references = [r for r in record.get("references") or [] if isinstance(r, str)]
    if not references or _mostly_cyrillic([prediction]) or not _mostly_cyrillic(references):
        return prediction
    from mella_eval.metrics.translit import sr_latin_to_cyrillic

    return sr_latin_to_cyrillic(prediction)
