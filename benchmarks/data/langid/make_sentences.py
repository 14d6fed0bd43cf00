"""Rebuild sentences.tsv's LASER part from a clone of facebookresearch/LASER (Tatoeba test sets).

    python benchmarks/data/langid/make_sentences.py /path/to/LASER > laser_part.tsv

Per language: the first 40 distinct lines of 20+ characters of data/tatoeba/v1/tatoeba.XXX-eng.XXX
and the first 10 distinct shorter lines with 3+ letters (file order, no filtering by any
identifier). The languages LASER lacks (ig, mi, pa, quz, rw, si, su) come from
Helsinki-NLP/Tatoeba-Challenge test files; see SOURCES.md.
"""

import subprocess
import sys
from pathlib import Path

# Our code -> LASER's Tatoeba code (ISO 639-3; pes: Iranian Persian, zsm: Standard Malay, ...)
LASER = {"af": "afr", "am": "amh", "ar": "ara", "bg": "bul", "bn": "ben", "br": "bre",
         "cs": "ces", "da": "dan", "de": "deu", "el": "ell", "es": "spa", "fa": "pes",
         "fi": "fin", "fil": "tgl", "fr": "fra", "ga": "gle", "he": "heb", "hi": "hin",
         "hr": "hrv", "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn", "jv": "jav",
         "ko": "kor", "mn": "mon", "mr": "mar", "ms": "zsm", "nl": "nld", "no": "nob",
         "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sr": "srp", "sv": "swe",
         "sw": "swh", "ta": "tam", "te": "tel", "th": "tha", "tr": "tur", "uk": "ukr",
         "ur": "urd", "vi": "vie", "zh": "cmn"}
LONG, SHORT, MIN_CHARS = 40, 10, 20


def pick(lines):
    long_, short, seen = [], [], set()
    for line in (ln.strip() for ln in lines):
        if not line or line in seen:
            continue
        seen.add(line)
        if len(line) >= MIN_CHARS and len(long_) < LONG:
            long_.append(line)
        elif len(line) < MIN_CHARS and sum(c.isalpha() for c in line) >= 3 and len(short) < SHORT:
            short.append(line)
    return long_ + short


def read(repo: Path, name: str) -> list[str]:
    path = f"data/tatoeba/v1/{name}"
    if (repo / path).exists():
        return (repo / path).read_text(encoding="utf-8").splitlines()
    return subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout.splitlines()


def main(repo: Path) -> None:
    files = {code: f"tatoeba.{iso}-eng.{iso}" for code, iso in LASER.items()}
    files["en"] = "tatoeba.fra-eng.eng"
    for code in sorted(files):
        for text in pick(read(repo, files[code])):
            print(f"{code}\t{text}\ttatoeba-laser:{files[code]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
