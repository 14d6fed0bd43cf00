"""Latin-script Serbian predictions are scored against Cyrillic references after Latin -> Cyrillic
transliteration (issue 14), recorded in the signature of every sr row of the reference metrics and
on the samples. Real text: the Universal Declaration's Article 1 as the UN publishes it in both
scripts (Cyrillic from tests/data/udhr_paragraphs.json), and the anthem "Bože pravde" (1872)."""

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from mella_eval.aggregate import add_confidence_intervals
from mella_eval.metrics.corpus import corpus_score
from mella_eval.metrics.registry import METRICS
from mella_eval.metrics.translit import SIGNATURE
from mella_eval.score import add_sample_metrics, macro_means, score_records

UDHR = json.loads((Path(__file__).parent / "data/udhr_paragraphs.json").read_text("utf-8"))["paragraphs"]
ARTICLE_1_LATIN = ("Sva ljudska bića rađaju se slobodna i jednaka u dostojanstvu i pravima. Ona su "
                   "obdarena razumom i svešću i treba jedni prema drugima da postupaju u duhu bratstva.")
ANTHEM_LATIN = "Bože pravde, ti što spase od propasti dosad nas, čuj i sada naše glase i od sada spasi nas!"
ANTHEM_CYRILLIC = "Боже правде, ти што спасе од пропасти досад нас, чуј и сада наше гласе и од сада спаси нас!"
METRIC_NAMES = ("bleu", "chrf", "chrf++", "cider", "rouge_l", "meteor")
TASK = SimpleNamespace(name="captions", metrics=METRIC_NAMES, breakdown=None)


def _records(article_1: str, anthem: str) -> list[dict]:
    sr = UDHR["sr"]
    rows = [(article_1, [sr[0], sr[1]]), (anthem, [ANTHEM_CYRILLIC]),
            (sr[3], [sr[3], sr[4]]), (sr[5][:80], [sr[5]])]  # two Cyrillic answers as well
    records = [{"task": "captions", "lang": "sr", "id": f"sr-{i}", "status": "ok", "prediction": p,
                "references": refs, "metrics": {}} for i, (p, refs) in enumerate(rows)]
    ru = UDHR["ru"]
    records += [{"task": "captions", "lang": "ru", "id": f"ru-{i}", "status": "ok",
                 "prediction": ru[i][:90], "references": [ru[i]], "metrics": {}} for i in range(3)]
    return records


def _summary(records):
    add_sample_metrics([TASK], records)
    scores = score_records([TASK], records)
    add_confidence_intervals(scores, records, {m: s.kind for m, s in METRICS.items()}, n_boot=200,
                             seed=1, macro=macro_means(scores))
    return {(r["lang"], r["metric"]): r for r in scores}


def test_without_transliteration_latin_serbian_scores_near_zero():
    assert corpus_score("bleu", "sr", [ARTICLE_1_LATIN], [[UDHR["sr"][0]]]).value < 5
    assert corpus_score("chrf", "sr", [ARTICLE_1_LATIN], [[UDHR["sr"][0]]]).value < 10


def test_latin_serbian_scores_as_its_cyrillic_text():
    latin = _records(ARTICLE_1_LATIN, ANTHEM_LATIN)
    cyrillic = _records(UDHR["sr"][0], ANTHEM_CYRILLIC)
    latin_rows, cyrillic_rows = _summary(latin), _summary(copy.deepcopy(cyrillic))
    for metric in METRIC_NAMES:
        a, b = latin_rows[("sr", metric)], cyrillic_rows[("sr", metric)]
        assert a["value"] == b["value"] and a["value"] > 0, metric
        assert (a["ci_low"], a["ci_high"]) == (b["ci_low"], b["ci_high"]), metric
        assert a["signature"].endswith("|" + SIGNATURE) and a["signature"] == b["signature"], metric
        assert SIGNATURE not in (latin_rows[("ru", metric)].get("signature") or ""), metric
    assert latin_rows[("sr", "bleu")]["value"] == 100.0 or latin_rows[("sr", "bleu")]["value"] > 50
    # The samples say what was scored; `prediction` is untouched.
    assert latin[0]["prediction"] == ARTICLE_1_LATIN
    assert latin[0]["scored_prediction"] == UDHR["sr"][0]
    assert latin[1]["scored_prediction"] == ANTHEM_CYRILLIC
    assert latin[0]["scored_prediction_translit"] == SIGNATURE
    assert all("scored_prediction" not in r for r in latin[2:] + cyrillic)


def test_latin_references_are_not_transliterated_against():
    records = [{"task": "captions", "lang": "sr", "id": "a", "status": "ok",
                "prediction": ARTICLE_1_LATIN, "references": [ARTICLE_1_LATIN], "metrics": {}}]
    rows = _summary(records)
    assert rows[("sr", "bleu")]["value"] == pytest.approx(100.0)
    assert "scored_prediction" not in records[0]


def test_keyword_accuracy_needs_no_transliteration_and_records_none():
    """keywords.py matches Serbian in either script itself: no transform, no signature."""
    task = SimpleNamespace(name="culture", metrics=("keyword_acc",), breakdown=None)
    record = {"task": "culture", "lang": "sr", "id": "k", "status": "ok", "metrics": {},
              "prediction": ANTHEM_LATIN, "keywords": [["правде"], ["пропасти"], ["гласе"]]}
    add_sample_metrics([task], [record])
    assert record["metrics"]["keyword_acc"] == 1.0
    assert "scored_prediction" not in record
    assert "signature" not in score_records([task], [record])[0]


def test_a_cyrillic_answer_naming_something_in_latin_is_scored_as_it_is():
    """The bundled sample's rocket caption: the probe's name stays DSCOVR, as in its reference."""
    text = ("Ракета Фалкон 9 компаније Спејс Екс са сондом DSCOVR на лансирном комплексу 40 на "
            "Кејп Канавералу у сумраку")
    records = [{"task": "captions", "lang": "sr", "id": "r", "status": "ok", "prediction": text,
                "references": [text], "metrics": {}}]
    rows = _summary(records)
    assert "scored_prediction" not in records[0]
    assert rows[("sr", "bleu")]["value"] == pytest.approx(100.0)
