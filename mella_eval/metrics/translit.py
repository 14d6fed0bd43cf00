"""Serbian Latin -> Cyrillic transliteration, so a Latin-script Serbian answer can be scored
against Cyrillic references (BLEU/chrF of the two scripts against each other is near 0).

Serbian's two alphabets map one to one (Vuk's Cyrillic and Gaj's Latin): 27 letters each way,
plus the digraphs lj -> љ, nj -> њ, dž -> џ, which are one letter in Cyrillic. A digraph is two
letters only across a prefix boundary; the few common words where that happens are listed in
_SPLIT (in-jekcija -> инјекција, nad-živeti -> надживети). Capitals follow the source: Lj, LJ
-> Љ; Njegoš -> Његош; DŽEP -> ЏЕП.

Left as they are: Cyrillic (mixed text is fine), URLs and e-mail addresses, and tokens that
are not Serbian words: with a digit, an inner capital (iPhone, McDonald's), or q w x y (Wi-Fi,
New York): Serbian writes such names in Latin in Cyrillic text too. "dj" is not read as đ
(the ASCII spelling of đ): it is д+ј in words such as nadjačati.

`SIGNATURE` names this mapping in a score's signature, so a transliterated score is never
mistaken for a plain one.
"""

from __future__ import annotations

import re

SIGNATURE = "translit:sr-Latn>Cyrl.1"

_LETTERS = dict(zip("abcčćdđefghijklmnoprsštuvzž",
                    "абцчћдђефгхијклмнопрсштувзж"))
_DIGRAPHS = {"lj": "љ", "nj": "њ", "dž": "џ"}
# Word starts where a digraph's two letters belong to different parts (prefix + stem): the
# letters are transliterated one by one there.
_SPLIT = ("injekc", "injunkt", "konjug", "konjunk", "vanjezič", "tanjug",
          "nadživ", "nadžnje", "podžanr", "podžupan", "predžet")

_TOKEN = re.compile(r"\S+")
_URLISH = re.compile(r"(?:https?://|www\.|@|\w\.\w{2,})")
_FOREIGN = re.compile(r"[qwxyQWXY\d]|[a-zčćđšž][A-ZČĆĐŠŽ]")


def _split_at(lower: str) -> int:
    """Where a digraph of `lower` is two letters (a word in _SPLIT), or -1."""
    for prefix in _SPLIT:
        if lower.startswith(prefix):
            return next(j for j in range(len(prefix) - 1) if prefix[j:j + 2] in _DIGRAPHS)
    return -1


def _word(word: str) -> str:
    lower = word.casefold()
    split = _split_at(lower)
    out = []
    i = 0
    while i < len(word):
        pair = lower[i:i + 2]
        if pair in _DIGRAPHS and i != split:
            cyr = _DIGRAPHS[pair]
            out.append(cyr.upper() if word[i].isupper() else cyr)  # Lj, LJ -> Љ
            i += 2
            continue
        cyr = _LETTERS.get(lower[i])
        out.append(word[i] if cyr is None else cyr.upper() if word[i].isupper() else cyr)
        i += 1
    return "".join(out)


def sr_latin_to_cyrillic(text: str) -> str:
    """`text` with its Serbian Latin words written in Cyrillic (see the module docstring)."""
    def convert(m: re.Match) -> str:
        token = m.group(0)
        if _URLISH.search(token) or _FOREIGN.search(token):
            return token
        return _word(token)
    return _TOKEN.sub(convert, text)
