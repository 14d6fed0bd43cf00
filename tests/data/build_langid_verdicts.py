"""Record `judge_language` / `detect_language` verdicts on varied texts (tests/data/langid_verdicts.json.gz).

The golden test_langid_verdicts.py compares against was recorded with the language identifier as
it was before it was made faster (issue 12): every verdict must stay identical. Texts: the real
sentences of benchmarks/data/langid (Tatoeba) and the UDHR paragraphs of tests/data, each judged
against its own language and a random other one, plus windows of varied length, code-mixed
captions, sentences joined across languages and short/edge strings. Re-run only when a verdict
change is intended (and say why in the commit):

    .venv/bin/python tests/data/build_langid_verdicts.py [--rejudge]

History: recorded at 547ae5e (before the speed-up); re-judged once when Oromo joined the table
(py3langid knows `om`, so its label joined the model's restricted set: every detected language
and wrong flag stayed the same, 1,183 confidences moved in the 4th decimal).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().parent / "langid_verdicts.json.gz"

EDGE = ["", "   ", "42", "OK", "A.", "ok!", "https://example.com/a?b=1", "RTX4090 iPhone 15 Pro",
        "Starbucks BTS", "😀😀😀", "...", "12:30 — 5 km", "ВВС", "東京", "東京タワー", "서울",
        "ก", "กขค", "no", "Yes, it is.", "é à ü", "ⓐⓑⓒ", "ﬁﬂ ligatures", "Ｆｕｌｌｗｉｄｔｈ テキスト"]


def build_texts() -> list[tuple[str, str]]:
    from mella_eval.languages import LANGUAGES
    rng = random.Random(12)
    data = ROOT / "benchmarks/data/langid"
    rows = []
    for name in ("sentences.tsv", "codemixed.tsv"):
        with open(data / name, encoding="utf-8", newline="") as f:
            rows += [(r[0], r[1]) for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                     if len(r) >= 2 and r[0] in LANGUAGES]
    paragraphs = json.loads((ROOT / "tests/data/udhr_paragraphs.json").read_text("utf-8"))
    for lang, texts in paragraphs["paragraphs"].items():
        for text in texts:
            for length in (15, 40, 120, 300):
                start = rng.randrange(0, max(1, len(text) - length))
                rows.append((lang, text[start:start + length]))
    codes = sorted(LANGUAGES)
    cases = []
    for lang, text in rows:
        cases.append((text, lang))
        cases.append((text, rng.choice(codes)))
    for _ in range(400):  # two languages in one answer
        (la, a), (lb, b) = rng.sample(rows, 2)
        cases.append((f"{a} {b}", rng.choice((la, lb))))
    for _ in range(200):  # brands and codes around a real sentence
        lang, text = rng.choice(rows)
        cases.append((f"{rng.choice(EDGE[5:10])} {text} Samsung Galaxy S24", lang))
    for text in EDGE:
        for lang in rng.sample(codes, 4):
            cases.append((text, lang))
    return cases


def main() -> None:
    """`--rejudge`: keep the stored pairs, record what the code gives now (an intended change)."""
    from mella_eval.langid import detect_language, judge_language
    if "--rejudge" in sys.argv:
        with gzip.open(OUT, "rt", encoding="utf-8") as f:
            old = json.load(f)
        cases = [(old["texts"][i], lang) for i, lang, *_ in old["judge"]]
    else:
        cases = build_texts()
    texts = sorted({t for t, _ in cases})
    index = {t: i for i, t in enumerate(texts)}
    verdicts = []
    for text, lang in cases:
        v = judge_language(text, lang)
        verdicts.append([index[text], lang, v.detected, v.wrong, v.method, v.confidence])
    detected = []
    for text in texts:
        g = detect_language(text)
        detected.append([g.code, round(g.confidence, 6), g.method])
    payload = {"note": __doc__.strip().splitlines()[0], "texts": texts, "judge": verdicts,
               "detect": detected}
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(payload, f, ensure_ascii=False, separators=(",", ":"))
    print(f"{len(verdicts)} verdicts, {len(texts)} texts -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
