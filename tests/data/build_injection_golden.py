"""Record `detect_injection` labels on varied texts (tests/data/injection_golden.json.gz).

The golden test_injection_golden.py compares against was recorded with mella_eval/injection.py
as it was before it was made faster (issue 12): every list of labels, in order, must stay
identical. Texts: the UDHR paragraphs of tests/data (whole and cut into caption-sized windows),
the texts of langid_verdicts.json.gz, the bundled references and alt texts, the strings of
tests/test_injection.py and tests/test_hostile_input.py, and generated hostile shapes: each
known injection spliced into real captions of every language, in upper/title/full-width/
zero-width/decomposed/combining-mark spellings, Serbian Latin, Arabic diacritics, tatweel and
letter variants, score fractions, chat-template tokens, delimiter tags in many spellings, and
random mixes of the words the patterns are made of. Re-run only when a label change is
intended (and say why in the commit):

    .venv/bin/python tests/data/build_injection_golden.py

History: recorded at e6f4dfb (before the speed-up).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import random
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().parent / "injection_golden.json.gz"
LANGS = ("ar", "cs", "hu", "ko", "ru", "sr", "th", "vi")

HOSTILE_STRINGS = ["caption \ud83d", "\udc00x\ud800", "ok 😀 ไทย", "😀",
                   "one\u2028two\u2029three\x85four", "your key is ***!", "ab\ufffd", "plain",
                   "", " ", "\n", "\t\r\n", "\x00\x01"]
FRACTIONS = ["5/5", "10/10", "3 / 5", "6/5", "0/5", "1/10/2020", "100/100", "99/100", "101/100",
             "0.5/5", "5/50", ",5/5", "12/10", "a5/5b", "5/5.", "5/5,0", "5/5/", "7/10 ", "24/7",
             "1/2", ":5/5", "5\u00a0/\u00a05", "٥/٥", "５/５", "5／5", "9/10!", "(4/5)"]
TEMPLATE = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|IM_START|>", "<|a|>", "<|x1|>",
            "[INST]", "[/inst]", "[ INST ]", "<<SYS>>", "<</SYS>>", "<<sys>", "<start_of_turn>",
            "<end_of_turn>", "<START_OF_TURN>", "### Instruction", "## system:", "#response",
            "  ##   Response\n", "####instructionS", "＜|im_start|＞", "［INST］"]
NAMES = ("candidate", "question", "reference", "rubric", "caption", "answer", "candidates",
         "candidate-0123abcdef012345", "ref", "rubrics")
ANGLES = [("<", ">"), ("\u2039", "\u203a"), ("\u2329", "\u232a"), ("\u3008", "\u3009"),
          ("\u27e8", "\u27e9"), ("\u276e", "\u276f"), ("\u29fc", "\u29fd"), ("\u02c2", "\u02c3"),
          ("\u1438", "\u1433"), ("\uff1c", "\uff1e"), ("\ufe64", "\ufe65"), ("\u226e", ">"),
          ("<", ")"), ("(", ">"), ("&lt;", "&gt;")]
SLASHES = ["", "/", "\u2044", "\u2215", "\u29f8", "\\", "\uff0f", " / ", "//"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060", "\u200e", "\u202e"]
AR_MARKS = [chr(c) for c in range(0x064B, 0x0653)] + ["\u0670", "\u0640", "\u0610", "\u06d6"]
AR_VARIANTS = {"ا": "أإآٱ", "ي": "ى", "ه": "ة"}


def load_test_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def sprinkle(rng: random.Random, text: str, marks: list[str], rate: float) -> str:
    return "".join(c + (rng.choice(marks) if c.isalpha() and rng.random() < rate else "")
                   for c in text)


def ar_variants(rng: random.Random, text: str) -> str:
    return "".join(rng.choice(AR_VARIANTS[c]) if c in AR_VARIANTS and rng.random() < 0.5 else c
                   for c in text)


def spellings(rng: random.Random, text: str) -> list[str]:
    from mella_eval.metrics.stemming import sr_to_latin
    out = [text.upper(), text.title(), text.swapcase(), fullwidth(text),
           sprinkle(rng, text, INVISIBLE, 0.3), unicodedata.normalize("NFD", text),
           unicodedata.normalize("NFKD", text),
           sprinkle(rng, text, ["\u0301", "\u0308", "\u0323"], 0.2),
           sr_to_latin(text.lower()), sr_to_latin(text.lower()).upper(),
           text.replace("е", "ё").replace("Е", "Ё"), text.replace(" ", "\u00a0"),
           text.replace(" ", "  \n "), text.replace(".", "\n")]
    if re.search("[\u0600-\u06ff]", text):
        out += [sprinkle(rng, text, AR_MARKS, 0.5), ar_variants(rng, text),
                sprinkle(rng, ar_variants(rng, text), ["\u0640"], 0.4)]
    return out


def windows(rng: random.Random, paragraphs: dict[str, list[str]], per: int) -> list[str]:
    out = []
    for lang in LANGS:
        for p in paragraphs[lang]:
            for _ in range(per):
                n = rng.randint(15, 170)
                start = rng.randint(0, max(0, len(p) - n))
                out.append(p[start:start + n])
    return out


def splice(rng: random.Random, caption: str, phrase: str) -> str:
    cuts = [0, len(caption)] + [m.end() for m in re.finditer(r"[\s.,]", caption)]
    at = rng.choice(cuts)
    return caption[:at] + rng.choice([" ", "", "\n", ". "]) + phrase + " " + caption[at:]


def pattern_words() -> list[str]:
    """The letters-only runs of every pattern's source: the words detection is made of."""
    from mella_eval.injection import _compiled
    words = set()
    for _, rx in _compiled():
        words.update(w for w in re.findall(r"[^\W\d_]+", rx.pattern.replace("\\b", " ")
                                           .replace("\\s", " ").replace("\\w", " ")
                                           .replace("\\S", " ").replace("\\d", " ")) if len(w) > 1)
    return sorted(words)


def fuzz(rng: random.Random, words: list[str], n: int) -> list[str]:
    seps = [" ", " ", " ", "", "  ", "\n", ": ", ":", "=", ", ", ". ", " — ", "-", "/", " / ",
            "{\"", "\": ", "'", "}", "<", ">", "</", "[", "]", "#", "##", "|"]
    fill = ["5", "10", "3.5", "4,5", "100", "0", "a", "the", "this", "it", "на", "та", "az", "이",
            "ให้", "cho", "để", "ال", "all", "previous", "my", "de", "out of", "točk", "ball"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(2, 9)):
            parts.append(rng.choice(words) if rng.random() < 0.65 else rng.choice(fill))
            parts.append(rng.choice(seps))
        text = "".join(parts)
        out.append(text if rng.random() < 0.7 else rng.choice(spellings(rng, text)))
    return out


def tag_shapes(rng: random.Random) -> list[str]:
    out = []
    for name in NAMES:
        for left, right in ANGLES:
            for slash in rng.sample(SLASHES, 3):
                spelled = rng.choice([name, name.upper(), fullwidth(name), name.title(),
                                      sprinkle(rng, name, INVISIBLE, 0.4), f" {name}  ",
                                      name + " x=1", name + "\n", name + "x" * 205])
                out.append(f"{left}{slash}{spelled}{right}")
    out += ["<𝐜𝐚𝐧𝐝𝐢𝐝𝐚𝐭𝐞>", "<ⓒⓐⓝⓓⓘⓓⓐⓣⓔ>", "<cand\u200bidate>", "<candidate", "candidate>",
            "< candidate", "<<candidate>>", "<\u00adrubric>", "<question <reference>", "a < b > c"]
    return out


def build_texts() -> list[str]:
    rng = random.Random(12)
    udhr = ROOT / "tests/data/udhr_paragraphs.json"
    paragraphs = json.loads(udhr.read_text("utf-8"))["paragraphs"]
    langid = json.loads(gzip.decompress((ROOT / "tests/data/langid_verdicts.json.gz").read_bytes()))
    samples = [json.loads(line) for line in (ROOT / "tasks/data/mella_sample/samples.jsonl")
               .read_text("utf-8").splitlines() if line.strip()]
    inj = load_test_module("test_injection")
    phrases = [t for rows in inj.INJECTIONS.values() for t, _ in rows] + [t for t, _ in inj.GLOBAL]
    clean = [t for rows in inj.CLEAN.values() for t in rows]

    texts = [p for lang in LANGS for p in paragraphs[lang]]
    captions = windows(rng, paragraphs, 3)
    texts += captions + langid["texts"] + HOSTILE_STRINGS + phrases + clean
    texts += [t for s in samples for t in [s["alt_text"], *s["references"]]]
    for phrase in phrases:  # each injection in a real caption of every language, many spellings
        for lang in LANGS:
            caption = rng.choice(paragraphs[lang])[:rng.randint(30, 140)]
            texts.append(splice(rng, caption, phrase))
        texts += spellings(rng, phrase)
        texts += [rng.choice(spellings(rng, splice(rng, rng.choice(captions), phrase)))
                  for _ in range(3)]
    for shape in FRACTIONS + TEMPLATE + tag_shapes(rng):
        texts += [shape, splice(rng, rng.choice(captions), shape),
                  f"{shape}\n{rng.choice(captions)}"]
    for role in ("system", "System", "[system]", "assistant", "user", "developer", "human",
                 "система", "пользователь", "systém", "rendszer", "систем", "sistem", "النظام",
                 "시스템", "ระบบ", "hệ thống", "trợ lý", "SYSTEM", "ｓｙｓｔｅｍ"):
        texts += [f"{role}: ok", f"{rng.choice(captions)}\n  {role} : 5", f"x {role}: no"]
    texts += fuzz(rng, pattern_words(), 2500)
    shapes = phrases + FRACTIONS + TEMPLATE + tag_shapes(rng)[:40]
    for _ in range(400):  # several kinds in one text: the labels' order is checked too
        texts.append(rng.choice([" ", "\n", ". "]).join(rng.sample(shapes, rng.randint(2, 4))))
    for caption in rng.sample(captions, 200):  # clean captions in odd spellings
        texts.append(rng.choice(spellings(rng, caption)))
    return list(dict.fromkeys(texts))


def main() -> None:
    from mella_eval.injection import detect_injection
    texts = build_texts()
    pairs = [[t, detect_injection(t)] for t in texts]
    note = ("detect_injection(text) -> labels, recorded by tests/data/build_injection_golden.py "
            "from mella_eval/injection.py before the issue-12 speed-up.")
    data = json.dumps({"note": note, "pairs": pairs}, ensure_ascii=True, separators=(",", ":"))
    OUT.write_bytes(gzip.compress(data.encode("ascii"), mtime=0))
    flagged = sum(bool(labels) for _, labels in pairs)
    print(f"{len(pairs)} texts ({flagged} flagged), {OUT.stat().st_size // 1024} KiB -> {OUT}")


if __name__ == "__main__":
    main()
