"""Offline language ID: accuracy on written captions, ru/sr pairs, sr-Latin, wrong-language flag."""

import json
from pathlib import Path

import pytest

from mella_eval.errors import MellaError
from mella_eval.langid import LANG_SCRIPTS, detect_language, is_wrong_language
from mella_eval.languages import MELLA_LANGS

SAMPLES = Path(__file__).resolve().parents[1] / "tasks/data/mella_sample/samples.jsonl"

SENTENCES = {
    "ar": ["قطة رمادية تجلس على حافة النافذة وتنظر إلى الشارع.",
           "فنجان من القهوة العربية مع التمر على صينية نحاسية.",
           "مسجد كبير بقبة ذهبية ومئذنتين عاليتين.",
           "رجل يبيع الخضار في سوق مزدحم.",
           "رائد فضاء يطفو فوق الأرض.",
           "صاروخ Falcon 9 على منصة الإطلاق."],
    "cs": ["Šedá kočka sedí na okenním parapetu a dívá se na ulici.",
           "Šálek kávy s mlékem stojí na dřevěném stole.",
           "Pražský hrad při západu slunce, v popředí Karlův most.",
           "Muž prodává zeleninu na přeplněném trhu.",
           "Astronaut ve skafandru se vznáší nad Zemí.",
           "Dívka čte knihu v parku."],
    "hu": ["Egy szürke macska ül az ablakpárkányon, és az utcát nézi.",
           "Egy csésze kávé tejjel a fa asztalon.",
           "A budapesti Parlament épülete este, kivilágítva a Duna partján.",
           "Egy férfi zöldséget árul a zsúfolt piacon.",
           "Egy űrhajós lebeg a Föld felett.",
           "A képen egy kutya látható."],
    "ko": ["회색 고양이가 창턱에 앉아 거리를 바라보고 있다.",
           "나무 탁자 위에 우유를 넣은 커피 한 잔이 놓여 있습니다.",
           "경복궁 앞에서 한복을 입은 사람들.",
           "시장에서 채소를 파는 남자.",
           "우주비행사가 지구 위에 떠 있다.",
           "NASA 로고가 있는 주황색 우주복을 입은 여성."],
    "ru": ["Серая кошка сидит на подоконнике и смотрит на улицу.",
           "Чашка кофе с молоком стоит на деревянном столе.",
           "Храм Василия Блаженного на Красной площади в Москве.",
           "Мужчина продаёт овощи на многолюдном рынке.",
           "Космонавт парит над Землёй.",
           "Девушка читает книгу в парке."],
    # Serbian Cyrillic, on the same topics as the Russian ones (pairs), then Serbian Latin.
    "sr": ["Сива мачка седи поред прозора и гледа на улицу.",
           "Шоља кафе са млеком стоји на дрвеном столу.",
           "Храм Светог Саве у Београду.",
           "Човек продаје поврће на препуној пијаци.",
           "Астронаут лебди изнад Земље.",
           "Девојка чита књигу у парку.",
           "Siva mačka sedi pored prozora i gleda na ulicu.",
           "Šolja kafe sa mlekom stoji na drvenom stolu.",
           "Hram Svetog Save u Beogradu.",
           "Čovek prodaje povrće na prepunoj pijaci.",
           "Devojka čita knjigu u parku."],
    "th": ["แมวสีเทานั่งอยู่ริมหน้าต่างและมองออกไปที่ถนน",
           "กาแฟหนึ่งแก้วกับนมวางอยู่บนโต๊ะไม้",
           "วัดพระแก้วในกรุงเทพฯ ยามเย็น",
           "ชายคนหนึ่งขายผักในตลาดที่มีผู้คนพลุกพล่าน",
           "นักบินอวกาศลอยอยู่เหนือโลก"],
    "vi": ["Một con mèo xám ngồi bên cửa sổ nhìn ra đường.",
           "Một tách cà phê sữa đá trên bàn gỗ.",
           "Chùa Một Cột ở Hà Nội vào buổi sáng.",
           "Người đàn ông bán rau ở chợ đông đúc.",
           "Phi hành gia lơ lửng phía trên Trái Đất.",
           "Bát phở bò với rau thơm."],
    "en": ["A grey cat sits on the window sill looking at the street.",
           "A cup of coffee with milk on a wooden table.",
           "Prague Castle at sunset, with Charles Bridge in the foreground.",
           "A man selling vegetables at a crowded market.",
           "An astronaut floating above the Earth.",
           "The image shows a dog."],
    "other": ["Eine graue Katze sitzt auf dem Fensterbrett und schaut auf die Straße.",
              "Un chat gris est assis sur le rebord de la fenêtre.",
              "Un gato gris está sentado en la ventana mirando la calle.",
              "Szary kot siedzi na parapecie i patrzy na ulicę.",
              "Sivá mačka sedí na parapete a pozerá sa na ulicu.",
              "Bir gri kedi pencere kenarında oturuyor.",
              "一只灰色的猫坐在窗台上看着街道。",
              "灰色の猫が窓辺に座って通りを見ています。",
              "Сірий кіт сидить на підвіконні і дивиться на вулицю.",
              "Сива котка седи на перваза и гледа към улицата.",
              "گربه خاکستری کنار پنجره نشسته است و به خیابان نگاه می‌کند.",
              "एक भूरे रंग की बिल्ली खिड़की पर बैठी है।",
              "Ένα γκρίζο γατί κάθεται στο περβάζι.",
              "חתול אפור יושב על אדן החלון."],
}
CASES = [(lang, text) for lang, texts in SENTENCES.items() for text in texts]


@pytest.mark.parametrize("lang,text", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_detects_written_sentences(lang, text):
    guess = detect_language(text)
    assert guess.code == lang, guess
    assert 0.0 < guess.confidence <= 1.0


def test_overall_accuracy():
    correct = sum(detect_language(text).code == lang for lang, text in CASES)
    assert correct / len(CASES) >= 0.98


def test_bundled_references_are_identified():
    samples = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]
    for s in samples:
        for text in [s["alt_text"], *s["references"]]:
            assert detect_language(text).code == s["lang"], (s["id"], text)


@pytest.mark.parametrize("ru,sr", list(zip(SENTENCES["ru"], SENTENCES["sr"][:6])))
def test_russian_and_serbian_on_the_same_topic(ru, sr):
    assert detect_language(ru).code == "ru"
    assert detect_language(sr).code == "sr"
    assert is_wrong_language(ru, "sr") and not is_wrong_language(ru, "ru")
    assert is_wrong_language(sr, "ru") and not is_wrong_language(sr, "sr")


def test_short_cyrillic_without_telltale_letters_uses_frequent_words():
    assert detect_language("Сива мачка поред прозора.").code == "sr"  # no ђ ј љ њ ћ џ
    assert detect_language("Это кошка.").code == "ru"
    assert detect_language("Ово је мачка.").code == "sr"


def test_serbian_latin_is_serbian_not_wrong():
    for text in SENTENCES["sr"][6:]:
        assert not is_wrong_language(text, "sr")
        assert is_wrong_language(text, "cs")


def test_wrong_language_matrix():
    # Every sentence of 12+ letters is flagged for every other language and not for its own.
    codes = sorted(LANG_SCRIPTS)
    for lang, text in CASES:
        if lang == "other":
            assert all(is_wrong_language(text, c) for c in codes), text
            continue
        for code in codes:
            assert is_wrong_language(text, code) == (code != lang), (text, code)


def test_too_short_is_not_flagged():
    for text in ["", "   ", "5", "OK", "…", "12:30"]:
        assert detect_language(text).code == "und"
        assert not is_wrong_language(text, "ko")
    # One or two words in the expected script: not enough to tell Czech from Slovak etc.
    assert not is_wrong_language("Kočka", "cs")
    assert not is_wrong_language("Mačka", "cs")
    # ... but a script the language is never written in is flagged even when short.
    assert is_wrong_language("A cat", "ko")
    assert is_wrong_language("고양이", "ru")
    assert is_wrong_language("кошка", "th")


def test_script_majority_in_mixed_text():
    assert detect_language("서울 N타워의 야경, Seoul Tower").code == "ko"
    assert detect_language("ร้าน Starbucks ริมถนนสุขุมวิท").code == "th"


def test_every_mella_language_is_known():
    assert set(MELLA_LANGS) | {"en"} == set(LANG_SCRIPTS)
    with pytest.raises(MellaError, match="langid.py"):
        is_wrong_language("text", "xx")
