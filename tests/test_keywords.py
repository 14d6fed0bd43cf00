"""Keyword accuracy: inflected forms, clitics, particles, scripts; no false matches."""

import json
import unicodedata
from pathlib import Path

import pytest

from mella_eval.errors import MellaError
from mella_eval.languages import MELLA_LANGS
from mella_eval.metrics.keywords import _RULES, keyword_accuracy
from mella_eval.metrics.stemming import ar_light10, sr_to_latin

SAMPLES = Path(__file__).resolve().parents[1] / "tasks/data/mella_sample/samples.jsonl"


def found(prediction: str, keyword: str, lang: str) -> bool:
    return keyword_accuracy(prediction, [[keyword]], lang).found == 1


# (lang, keyword, predictions that must match, predictions that must not)
CASES = [
    ("ru", "кошка", ["Я вижу кошку.", "Рядом с кошкой стоит миска.", "Две кошки спят.",
                     "КОШКА на окне"], ["Кошелёк на столе.", "Котлета на тарелке."]),
    ("ru", "Красная площадь", ["Толпа на Красной площади.", "вид на красную площадь"],
     ["Красная машина на площадке.", "площадь красная"]),
    ("ru", "матрёшка", ["Продают матрешки.", "Матрёшку держит девочка."], ["Мать и дочь."]),
    ("ru", "штатив", ["камера на штативе", "без штатива", "штатив"], ["штат Техас"]),
    ("ru", "объектив", ["объективом", "объектив камеры"], ["объект на фото"]),
    ("ru", "кот", ["рыжий кот", "с котом", "с котами"], ["медный котёл", "котлеты на тарелке"]),
    ("ru", "книга", ["много книг", "с книгой"], ["книжный магазин"]),
    ("cs", "káva", ["Šálek kávy.", "Snídaně s kávou.", "Mléko v kávě."], ["Kávovar na lince."]),
    ("cs", "Pražský hrad", ["Pohled na Pražský hrad.", "Nádvoří Pražského hradu."],
     ["Hrad Karlštejn u Prahy."]),
    ("cs", "kamera", ["Muž u staré kamery.", "Muž se sklání ke kameře."], ["Kamarád v parku."]),
    ("cs", "Praha", ["Most v Praze.", "Okolí Prahy."], ["Práh domu."]),
    ("cs", "pivo", ["Sklenice piva.", "S pivem v ruce."], ["Pivoňka na stole."]),
    ("hu", "macska", ["Egy macskát látok.", "A macskával játszik.", "Két macskák alszik.",
                      "MACSKA az ablakban"], ["Egy mackó az ágyon.", "Egy makk a földön."]),
    ("hu", "kávé", ["Egy csésze kávét iszik.", "Reggeli kávéval.", "A kávéház előtt."],
     ["Nagy kár."]),
    ("hu", "templom", ["A templomban gyertyák égnek.", "Egy templomot látunk."],
     ["A temető kapuja."]),
    ("hu", "Parlament", ["A Parlamentet kivilágítják.", "a Parlamentben"], ["A park."]),
    ("hu", "gulyás", ["Egy tál gulyást esznek.", "Gulyásleves paprikával."], ["Gulya legel."]),
    ("sr", "мачка", ["Видим мачку.", "Дечак са мачком.", "Две мачке спавају.",
                     "Vidim mačku na prozoru."], ["Витез држи мач.", "Mačevalac vežba."]),
    ("sr", "храм", ["Унутрашњост храма.", "у храму", "Hram Svetog Save."], ["Храна на столу."]),
    ("sr", "Храм Светог Саве", ["Испред Храма Светог Саве.", "u Hramu Svetog Save"],
     ["Храм у Београду."]),
    ("sr", "ćevapi", ["Тањир ћевапа са луком.", "ćevapima i lepinjom"], ["Цев од метала."]),
    ("sr", "ракија", ["Чашица ракије.", "ракију"], ["Рак на плажи."]),
    ("ar", "قهوة", ["فنجان القهوة العربية", "تمر وقهوة", "نستمتع بالقهوة", "فالقهوة جاهزة",
                    "وقت للقهوة", "قَهْوَة"], ["مقهى في الشارع", "قهر"]),
    ("ar", "قط", ["القط نائم", "قطة صغيرة", "والقطة تلعب"], ["صورة فقط", "قطار سريع", "قطع"]),
    ("ar", "مسجد", ["المسجد الكبير", "والمسجد", "بالمسجد"], ["سجادة حمراء"]),
    ("ar", "رائد فضاء", ["صورة لرائد الفضاء", "رائد فضاء يبتسم"], ["رائد أعمال في الفضاء"]),
    ("ar", "خوذة", ["وأمامها خوذتها", "خوذة سوداء"], ["خوخ"]),
    ("th", "ต้มยำกุ้ง", ["ชามต้มยำกุ้งร้อนๆ", "ต้มยำ กุ้ง น้ำข้น", "ต้มยำ\u200bกุ้ง"],
     ["ต้มข่าไก่", "กุ้งเผา"]),
    ("th", "วัด", ["วัดพระแก้วยามเย็น", "พระสงฆ์เดินในวัด"], ["ตลาดน้ำ"]),
    ("ko", "고양이", ["고양이가 잔다", "고양이는 귀엽다", "고양이를 안은 소녀"], ["강아지가 잔다"]),
    ("ko", "떡볶이", ["떡 볶이 한 접시", "매운 떡볶이를 먹는다"], ["떡국 한 그릇"]),
    ("ko", "차", ["차를 마신다", "녹차 말고 차 한 잔", "차가 있다"],
     ["자동차가 달린다", "차가운 바람", "차례를 지낸다"]),
    ("ko", "경복궁", ["경복궁의 근정전", "경복궁에서 한복을 입은 사람들"], ["창덕궁 후원"]),
    ("vi", "cà phê", ["Một tách cà phê sữa đá.", "CÀ PHÊ trứng"], ["Cà chua và phê duyệt."]),
    ("vi", "phở bò", ["Một bát phở bò nóng.", "phở bò tái"], ["phở gà", "bò bít tết và phở"]),
    ("vi", "chùa", ["Chùa Một Cột.", "ngôi chùa cổ"], ["quả chua", "Chua cay"]),
]


@pytest.mark.parametrize("lang,keyword,positives,negatives", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_inflected_forms_match_and_unrelated_words_do_not(lang, keyword, positives, negatives):
    for text in positives:
        assert found(text, keyword, lang), f"{keyword!r} should be found in {text!r}"
    for text in negatives:
        assert not found(text, keyword, lang), f"{keyword!r} should NOT be found in {text!r}"


def test_score_matched_and_missed_as_plain_data():
    r = keyword_accuracy("Šálek kávy na stole u okna.",
                         [["káva", "espresso"], ["okno"], ["čaj"], ["Praha"]], "cs")
    assert (r.found, r.total, r.score) == (2, 4, 0.5)
    assert r.matched == ("káva", "okno")
    assert r.missed == ("čaj", "Praha")
    assert r.hits == (True, True, False, False)
    assert json.loads(json.dumps(r.to_dict())) == {
        "score": 0.5, "found": 2, "total": 4, "matched": ["káva", "okno"],
        "missed": ["čaj", "Praha"]}


def test_any_variant_counts_and_bare_strings_are_one_variant():
    r = keyword_accuracy("Чашка эспрессо.", [["кофе", "эспрессо"], "чашка"], "ru")
    assert r.score == 1.0
    assert r.matched == ("эспрессо", "чашка")


def test_nfc_and_case_on_both_sides():
    decomposed = unicodedata.normalize("NFD", "Một tách CÀ PHÊ")
    assert found(decomposed, "cà phê", "vi")
    assert found("Một tách cà phê", unicodedata.normalize("NFD", "Cà Phê"), "vi")


def test_serbian_scripts_are_interchangeable():
    assert sr_to_latin("љубав њива џак ђак ћуфта") == "ljubav njiva džak đak ćufta"
    assert found("Šolja kafe sa mlekom.", "шоља кафе", "sr")
    assert found("Шоља кафе са млеком.", "šolja kafe", "sr")


def test_arabic_light10():
    assert ar_light10("قهوه") == ar_light10("القهوه") == ar_light10("بالقهوه") == "قهو"
    assert ar_light10("والمسجد") == "مسجد"


def test_empty_prediction_scores_zero():
    r = keyword_accuracy("", [["кошка"], ["собака"]], "ru")
    assert (r.score, r.found, r.missed) == (0.0, 0, ("кошка", "собака"))


def test_every_mella_language_has_a_rule():
    assert set(MELLA_LANGS) <= set(_RULES)


def test_bad_input_fails_loudly():
    with pytest.raises(MellaError, match="keywords.py"):
        keyword_accuracy("text", [["word"]], "xx")
    with pytest.raises(ValueError):
        keyword_accuracy("text", [], "ru")
    with pytest.raises(ValueError):
        keyword_accuracy("text", [[]], "ru")
    with pytest.raises(ValueError):
        keyword_accuracy("text", [["!!!"]], "ru")


def test_bundled_references_mention_their_keywords():
    # The sample's keywords were written from its references: joined, they should find most.
    samples = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]
    by_lang: dict[str, list[float]] = {}
    for s in samples:
        r = keyword_accuracy(" ".join(s["references"]), s["keywords"], s["lang"])
        by_lang.setdefault(s["lang"], []).append(r.score)
    assert set(by_lang) == set(MELLA_LANGS)
    for lang, scores in by_lang.items():
        assert sum(scores) / len(scores) >= 0.75, (lang, scores)


def test_samples_without_keywords_are_not_applicable_not_failed():
    from mella_eval.metrics.keywords import NOT_APPLICABLE, add_keyword_scores, not_applicable_count

    records = [
        {"lang": "ru", "status": "ok", "prediction": "Кошка спит", "keywords": [["кошка"]], "metrics": {}},
        {"lang": "ru", "status": "ok", "prediction": "Кошка спит", "keywords": [], "metrics": {}},
        {"lang": "ru", "status": "error", "prediction": None, "keywords": [["кошка"]], "metrics": {}},
        {"lang": "ru", "status": "ok", "prediction": "x", "keywords": [[""]], "metrics": {}},
    ]
    add_keyword_scores(records)
    assert records[0]["metrics"]["keyword_acc"] == 1.0
    assert records[1]["metrics"] == {} and records[1][NOT_APPLICABLE] == {"keyword_acc": "no keywords"}
    assert records[2]["metrics"] == {} and NOT_APPLICABLE not in records[2]  # failed, not n/a
    assert "keyword_acc" in records[3]["metric_errors"]
    assert not_applicable_count(records, "keyword_acc") == 1
    assert not_applicable_count(records, "bleu") == 0


def test_score_row_leaves_not_applicable_samples_out_of_n_and_failed():
    from mella_eval.metrics.keywords import add_keyword_scores
    from mella_eval.score import _score_row

    records = [
        {"lang": "ru", "status": "ok", "prediction": "Кошка спит", "keywords": [["кошка"]], "metrics": {}},
        {"lang": "ru", "status": "ok", "prediction": "Кошка спит", "keywords": [], "metrics": {}},
        {"lang": "ru", "status": "ok", "prediction": "Собака", "keywords": None, "metrics": {}},
        {"lang": "ru", "status": "error", "prediction": None, "keywords": [["кошка"]], "metrics": {}},
    ]
    add_keyword_scores(records)
    row = _score_row("culture", "ru", "keyword_acc", records)
    assert (row["value"], row["n"], row["failed"], row["not_applicable"]) == (1.0, 1, 1, 2)
