"""Serbian Latin -> Cyrillic on real text (the Universal Declaration's Article 1 as the UN
publishes it in both scripts; the anthem "Bože pravde", 1872), digraphs and capitals."""

import pytest

from mella_eval.metrics.translit import SIGNATURE, sr_latin_to_cyrillic

REAL = [
    ("Sva ljudska bića rađaju se slobodna i jednaka u dostojanstvu i pravima. Ona su obdarena "
     "razumom i svešću i treba jedni prema drugima da postupaju u duhu bratstva.",
     "Сва људска бића рађају се слободна и једнака у достојанству и правима. Она су обдарена "
     "разумом и свешћу и треба једни према другима да поступају у духу братства."),
    ("Bože pravde, ti što spase od propasti dosad nas, čuj i sada naše glase i od sada spasi nas!",
     "Боже правде, ти што спасе од пропасти досад нас, чуј и сада наше гласе и од сада спаси нас!"),
]


@pytest.mark.parametrize("latin,cyrillic", REAL)
def test_real_serbian_text(latin, cyrillic):
    assert sr_latin_to_cyrillic(latin) == cyrillic


def test_digraphs_are_one_letter():
    assert sr_latin_to_cyrillic("Džon je njen najbolji prijatelj.") == \
        "Џон је њен најбољи пријатељ."
    assert sr_latin_to_cyrillic("konj, ljubav, džep, đak, ćup") == "коњ, љубав, џеп, ђак, ћуп"


def test_capitals_follow_the_source():
    assert sr_latin_to_cyrillic("Ljubljana LJUBAV Njegoš NJIVA Džamija DŽEP") == \
        "Љубљана ЉУБАВ Његош ЊИВА Џамија ЏЕП"


def test_digraph_letters_across_a_prefix_stay_two():
    assert sr_latin_to_cyrillic("injekcija nadživeti konjugacija") == \
        "инјекција надживети конјугација"
    assert sr_latin_to_cyrillic("Konjic") == "Коњиц"  # not a prefix: one letter


def test_names_codes_urls_and_cyrillic_are_left_alone():
    assert sr_latin_to_cyrillic("Kupio sam iPhone 15 na www.example.rs i Wi-Fi ruter.") == \
        "Купио сам iPhone 15 на www.example.rs и Wi-Fi рутер."
    assert sr_latin_to_cyrillic("Још је hladno.") == "Још је хладно."
    assert sr_latin_to_cyrillic("") == "" and "sr-Latn>Cyrl" in SIGNATURE


def test_latin_serbian_sentences_from_tatoeba_become_cyrillic_serbian():
    import csv
    from pathlib import Path

    from mella_eval.langid import judge_language

    path = Path(__file__).resolve().parents[1] / "benchmarks/data/langid/sentences.tsv"
    with path.open(encoding="utf-8", newline="") as f:
        latin = [text for lang, text, _ in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                 if lang == "sr" and not any("\u0400" <= c <= "\u04ff" for c in text)]
    assert len(latin) >= 10
    for text in latin:
        cyr = sr_latin_to_cyrillic(text)
        letters = [c for c in cyr if c.isalpha()]
        assert sum("\u0400" <= c <= "\u04ff" for c in letters) >= 0.9 * len(letters), cyr
        verdict = judge_language(cyr, "sr")
        assert not verdict.wrong, (text, cyr, verdict)
