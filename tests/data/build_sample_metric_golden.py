"""Record per-sample CIDEr-D, ROUGE-L, METEOR, keyword accuracy and the tokens of segment's public
tokenizers on varied real text (tests/data/sample_metric_golden.json.gz).

test_sample_metric_golden.py compares against it: recorded with the metric code as it was before
it was made faster (issue 12), every value must stay bit-identical (floats as float.hex).
Texts: the UDHR paragraphs of tests/data (ar cs hu ko ru sr th vi), the Tatoeba sentences of
benchmarks/data/langid joined into paragraphs (ja zh en and 20 more) and its code-mixed
captions, the sample task's captions and keyword lists (tasks/data/mella_sample), and edge
strings (empty, punctuation only, fullwidth, NFD, invisible characters, numbers). Each corpus
mixes perturbed predictions, 1-4 references, empty and identical predictions. The inputs are
stored with the values, so the test does not depend on this script. Re-run only when a value
change is intended (and say why in the commit):

    .venv/bin/python tests/data/build_sample_metric_golden.py
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().parent / "sample_metric_golden.json.gz"

TATOEBA_LANGS = ("ja", "zh", "en", "de", "el", "hi", "he", "fr", "tr", "uk", "pl", "fa", "bn",
                 "ta", "am", "ka", "my", "km", "lo", "es", "fi", "id", "sw")
EDGE = ["", " ", "...", "!!! ???", "—", "42", "3.5 km, 1,000 m, 10:30", "Ｃａｆé ２０２４年 ｶﾞｷﾞ",
        "e\u0301te\u0301 NFD", "straße STRASSE", "a\u00adb\u200bc\u200cd\u200de\ufeff", "\u200f\u202a",
        "กุ้ง ๒๕๖๗ ร้าน", "我用iphone拍照，2024年。", "東京タワー々〆〇", "고양이가 3.5kg", "😀 ok 😀",
        "tab\tnew\nline\r\x07bell", "ﬁﬂ ligatures", "Ǆ ǅ ǆ İ ı", "١٢٣ ٤.٥", "a-b a_b a'b", "‘quoted’ «fr»"]
KEYWORD_LANGS = ("ar", "cs", "hu", "ko", "ru", "sr", "th", "vi")


def _window(text: str, rng: random.Random, length: int) -> str:
    if len(text) <= length:
        return text
    start = rng.randrange(0, len(text) - length)
    space = text.find(" ", start)
    start = space + 1 if 0 <= space < start + 40 else start
    return text[start:start + length]


def _perturb(text: str, rng: random.Random) -> str:
    """Words dropped, repeated, swapped, case changed, characters cut: a model-like answer."""
    words = text.split()
    out = []
    for w in words:
        roll = rng.random()
        if roll < 0.12:
            continue
        if roll < 0.16:
            w = w.upper()
        elif roll < 0.19 and len(w) > 3:
            w = w[:-1]
        out.append(w)
        if roll > 0.95:
            out.append(w)
    if len(out) > 3 and rng.random() < 0.3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    joiner = "" if rng.random() < 0.1 else " "
    return joiner.join(out)


def _texts() -> dict[str, list[str]]:
    paragraphs = json.loads((ROOT / "tests/data/udhr_paragraphs.json").read_text("utf-8"))["paragraphs"]
    texts = {lang: list(ps) for lang, ps in paragraphs.items()}
    by_lang: dict[str, list[str]] = {}
    for name in ("sentences.tsv", "codemixed.tsv"):
        with open(ROOT / "benchmarks/data/langid" / name, encoding="utf-8") as f:
            for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(row) >= 2:
                    by_lang.setdefault(row[0], []).append(row[1])
    for lang in TATOEBA_LANGS:
        sentences = by_lang.get(lang, [])
        if sentences:  # paragraphs of 4 sentences, as long as the UDHR ones
            texts[lang] = [" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4)]
    for lang, sentences in by_lang.items():
        if lang in texts:
            texts[lang] += [s for s in sentences if len(s) > 30][:8]
    return texts


def _keywords(ref: str, rng: random.Random) -> list:
    words = [w.strip(".,;:!?()«»\"'") for w in ref.split()]
    words = [w for w in words if len(w) > 3]
    out: list = []
    for w in words[:rng.randint(1, 6)]:
        roll = rng.random()
        if roll < 0.2:
            out.append(w)  # a bare string
        elif roll < 0.4 and len(w) > 5:
            out.append([w[:-2] + "xy", w])  # a wrong variant first
        elif roll < 0.55:
            out.append([unicodedata.normalize("NFD", w.upper())])
        else:
            out.append([w])
    if len(words) > 6 and rng.random() < 0.5:
        i = rng.randrange(len(words) - 1)
        out.append([f"{words[i]} {words[i + 1]}"])  # a multi-word keyword
    return out or [[ref[:4] or "x"]]


def build_corpora() -> list[dict]:
    rng = random.Random(2026)
    texts = _texts()
    corpora = []
    for lang, paras in sorted(texts.items()):
        samples = []
        for i in range(48 if lang in KEYWORD_LANGS else 24):
            p = i % len(paras)
            n_refs = rng.choice((1, 1, 2, 2, 3, 4))
            refs = [_window(paras[(p + k) % len(paras)], rng, rng.choice((60, 120, 160)))
                    for k in range(n_refs)]
            roll = rng.random()
            if roll < 0.06:
                hyp = ""
            elif roll < 0.1:
                hyp = refs[0]
            elif roll < 0.13:
                hyp = rng.choice(EDGE)
            else:
                hyp = _perturb(_window(paras[p], rng, rng.choice((40, 100, 180))), rng)
            sample = {"hyp": hyp, "refs": refs}
            if lang in KEYWORD_LANGS:
                sample["keywords"] = _keywords(refs[0], rng)
            samples.append(sample)
        corpora.append({"lang": lang, "samples": samples})
    # The sample task: real captions and keyword lists, the alt text as the prediction.
    rows = [json.loads(line) for line in
            (ROOT / "tasks/data/mella_sample/samples.jsonl").read_text("utf-8").splitlines()]
    for lang in KEYWORD_LANGS:
        samples = []
        for row in (r for r in rows if r["lang"] == lang):
            for hyp in (row["alt_text"], _perturb(row["references"][0], rng), row["references"][1]):
                samples.append({"hyp": hyp, "refs": row["references"], "keywords": row["keywords"]})
        corpora.append({"lang": lang, "samples": samples})
    # Edge strings against each other; a one-sample and a two-sample corpus.
    edge = [{"hyp": e, "refs": [EDGE[(i + 1) % len(EDGE)], EDGE[(i + 5) % len(EDGE)] or "x"]}
            for i, e in enumerate(EDGE)]
    corpora += [{"lang": "en", "samples": edge}, {"lang": "ja", "samples": edge},
                {"lang": "ko", "samples": edge[:12]},
                {"lang": "en", "samples": [{"hyp": "a cat on a mat", "refs": ["the cat is on the mat"]}]},
                {"lang": "th", "samples": corpora[-4]["samples"][:2]}]
    return corpora


def _hex(values) -> list[str]:
    return [float(v).hex() for v in values]


def compute(corpus: dict) -> dict:
    """Every value the golden keeps for one corpus, with the current code."""
    from mella_eval.metrics.cider import cider_d
    from mella_eval.metrics.keywords import keyword_accuracy
    from mella_eval.metrics.meteor import meteor
    from mella_eval.metrics.rouge import rouge_l
    from mella_eval.metrics.segment import normalise, tokenize

    lang, samples = corpus["lang"], corpus["samples"]
    hyps = [s["hyp"] for s in samples]
    refs = [s["refs"] for s in samples]
    out: dict = {}
    for name, fn in (("cider", cider_d), ("rouge_l", rouge_l), ("meteor", meteor)):
        result = fn(hyps, refs, lang)
        out[name] = _hex(result.per_sample) + [float(result.score).hex()]
    keywords = []
    for s in samples:
        if "keywords" not in s:
            continue
        try:
            r = keyword_accuracy(s["hyp"], s["keywords"], lang)
            keywords.append([r.score.hex(), r.found, r.total, list(r.matched), list(r.missed),
                             list(r.hits)])
        except Exception as exc:  # noqa: BLE001  (the error is part of the behaviour)
            keywords.append(f"{type(exc).__name__}: {exc}")
    out["keyword_acc"] = keywords
    texts = list(dict.fromkeys([t for s in samples for t in [s["hyp"], *s["refs"]]]))
    out["tokens"] = [[normalise(t), tokenize(t, lang), tokenize(t, lang, punctuation=False)]
                     for t in texts]
    out["texts"] = texts
    return out


def environment() -> dict:
    """What the values depend on besides our code: Korean backend, English synonyms."""
    from mella_eval.metrics.meteor import synonyms_for
    from mella_eval.metrics.segment import korean_backend

    return {"korean": korean_backend(), "synonyms_en": synonyms_for("en")[1]}


def main() -> None:
    corpora = build_corpora()
    golden = {"environment": environment(),
              "corpora": [{**c, "expected": compute(c)} for c in corpora]}
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(golden, f, ensure_ascii=False, separators=(",", ":"))
    n = sum(len(c["samples"]) for c in corpora)
    print(f"{OUT.name}: {len(corpora)} corpora, {n} samples, {OUT.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
