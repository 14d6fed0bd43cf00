"""coco-caption's PTB tokenisation, in pure Python: no Java needed.

pycocoevalcap's `PTBTokenizer` (used by PangeaBench's XM100 and MaXM scoring) writes the captions,
one a line, to a file, runs Stanford CoreNLP 3.4.1's `edu.stanford.nlp.process.PTBTokenizer
-preserveLines -lowerCase` on it, splits the output on "\\n", zips the lines back onto the
captions and drops the tokens in `PUNCTUATIONS`. This module re-implements that behaviour from
the specification of the lexer (CoreNLP v3.4.1 `PTBLexer.flex`, options `tokenizeNLs` only:
the defaults plus newline tokens), not from its code:

- JFlex semantics: at each position the rule with the longest match wins (a trailing context
  `r1/r2` counts with its context), ties go to the earlier rule; `%caseless` applies to literal
  letters only, never inside character classes. The `regex` module's POSIX (leftmost-longest)
  mode gives the longest match of each rule.
- Java reads UTF-16 code units: a character outside the BMP is two surrogates that no letter or
  digit class matches, so each is "untokenizable" and deleted (emoji vanish), while negated
  classes (URLs, e-mail) keep them. The text is scanned as UTF-16 units for that reason.
- Character classes `[:letter:]`, `[:digit:]`, `[:uppercase:]` are Java 8's `Character.isLetter`,
  `isDigit`, `isUpperCase` (Unicode 6.2, the JDK that generated the lexer), kept as tables in
  `reference_ptb_tables`: letters added to Unicode since are untokenizable (deleted) there too.
- Every newline-like character (\\r, \\r\\n, U+2028, U+2029, U+000B, U+000C, U+0085) ends an
  output line, but pycocoevalcap only replaces "\\n" inside a caption: a caption holding one of
  the others makes extra lines and shifts every later caption onto its neighbour's tokens.
  `tokenize_captions` reproduces that shift. The lexer also looks across lines: "etc." ending a
  caption is "etc. ." before a line that starts upper-case, "etc." otherwise.
- `-lowerCase` lower-cases tokens after normalisation, so `-LRB-` becomes `-lrb-`, which is not
  in pycocoevalcap's punctuation list: brackets stay as the tokens -lrb-/-rrb-/-lsb-/....
"""

from __future__ import annotations

from functools import lru_cache

import regex

from mella_eval.protocols.reference_ptb_macros import (
    ACRO, ACRONYM, ACRONYM_NEXT, ABBREV1, ABBREV2, ABBREV3, ABBREV4, APOWORD, APOWORD2, ASIANSMILEY,
    DATE, DBLQUOT, DIGIT_CLASS, DOLSIGN, DOLSIGN2, EMAIL, FILENAME, FRAC, FRAC2, FULLURL, HTHING,
    INSENTP, L, LDOTS, LIKELYURL, MISCSYMBOL, NEWLINE, NUMBER, PHONE, QUOTES, REDAUX, SENTEND,
    SGML, SMILEY, SPACE, SPACENL, SPAMP, SPMDASH, SPPUNC, SREDAUX, SUBSUPNUM, SWORD, TBSPEC,
    TBSPEC2, THING, THING3, THINGA, TWITTER, WORD, _ci, _cis)

# pycocoevalcap/tokenizer/ptbtokenizer.py: tokens removed after tokenisation (upper-case bracket
# names never match, since -lowerCase runs first).
PUNCTUATIONS = frozenset(["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!",
                          ",", ":", "-", "--", "...", ";"])
NEWLINE_TOKEN = "*NL*"

# ---------------------------------------------------------------- actions
_AMP = regex.compile(r"&[aA][mM][pP];")
_CURRENCY = (("\u00A2", "cents"), ("\u00A3", "#"), ("\u0080", "$"), ("\u00A4", "$"),
             ("\u20A0", "$"), ("\u20AC", "$"))
_FRACTIONS = (("\u00BC", "1/4"), ("\u00BD", "1/2"), ("\u00BE", "3/4"), ("\u2153", "1/3"),
              ("\u2154", "2/3"))
_LATEX_QUOTES = (("[\u0091\u2018\u201B\u2039]", "`"), ("[\u0092\u2019\u203A]", "'"),
                 ("[\u0093\u201C\u00AB]", "``"), ("[\u0094\u201D\u00BB]", "''"))
_SINGLE = regex.compile("&apos;|'")  # Java's patterns here are case-sensitive
_DOUBLE = regex.compile('"|&quot;')


def _soft(text: str) -> str:
    """removeSoftHyphens: U+00AD is dropped, but a token never becomes empty."""
    out = text.replace("\u00AD", "")
    return out if out or not text else "-"


def _quotes(text: str, left: bool) -> str:
    """latexQuotes (the default quote style): ` `` for probably-left quotes, ' '' otherwise."""
    text = _SINGLE.sub("`" if left else "'", text)
    text = _DOUBLE.sub("``" if left else "''", text)
    for pattern, repl in _LATEX_QUOTES:
        text = regex.sub(pattern, repl, text)
    return text


def _parens(text: str) -> str:
    return text.replace("(", "-LRB-").replace(")", "-RRB-")


def _replace_all(text: str, pairs) -> str:
    for old, new in pairs:
        text = text.replace(old, new)
    return text


def _same(text):
    return text, len(text)


def _emit(transform):
    return lambda text: (transform(text), len(text))


def _pushback(n):
    return lambda text: (text[:-n], len(text) - n)


def _skip(text):
    return None, len(text)


def _acronym(text):
    # "I." -> "I" then "."; longer acronyms are returned WITH the period and the period again.
    return (text[:1], 1) if len(text) == 2 else (text, len(text) - 1)


def _abbrev_final(text):
    return text, len(text) - 1  # the token keeps its period; the period is also read again


def _hyphens(text):
    return ("--" if 3 <= len(text) <= 4 else text), len(text)


_BRACKETS = {"{": "-LCB-", "}": "-RCB-", "[": "-LSB-", "]": "-RSB-", "(": "-LRB-", ")": "-RRB-"}

# (pattern, trailing context or None, action), in PTBLexer.flex order (the order breaks ties).
# Only the YyTraditionalTreebank3 state is active (strictTreebank3 is off), so FRACSTB3 is absent.
_RULES = [
    (_ci("c") + r"[+][+]", None, _same),
    (_cis("c", "f") + "#", None, _same),
    (_ci("cannot"), None, _pushback(3)),
    (_ci("'twas"), None, _pushback(3)),
    (_ci("'tis"), None, _pushback(2)),
    (_cis("gonna", "gotta", "lemme", "gimme", "wanna"), None, _pushback(2)),
    (SGML, None, _emit(lambda t: t.replace(" ", "\u00A0"))),
    (SPMDASH, None, _emit(lambda t: "--")),
    (SPAMP, None, _emit(lambda t: _AMP.sub("&", t))),
    (SPPUNC, None, _same),
    (WORD, REDAUX, _emit(_soft)),
    (SWORD, SREDAUX, _emit(_soft)),
    (WORD, None, _emit(_soft)),
    (APOWORD, None, _same),
    (APOWORD2, L, _same),
    (FULLURL, None, _same),
    (LIKELYURL, None, _same),
    (EMAIL, None, _same),
    (TWITTER, None, _same),
    (REDAUX, "[^A-Za-z]", _emit(lambda t: _quotes(t, False))),
    (SREDAUX, "[^A-Za-z]", _emit(lambda t: _quotes(t, False))),
    (DATE, None, _same),
    (NUMBER, None, _emit(_soft)),
    (SUBSUPNUM, None, _same),
    (FRAC, None, _emit(lambda t: t.replace(" ", "\u00A0"))),
    (FRAC2, None, _emit(lambda t: _replace_all(t, _FRACTIONS))),
    (TBSPEC, None, _emit(lambda t: _AMP.sub("&", t))),
    (THING3, None, _same),
    (DOLSIGN, None, _same),
    (DOLSIGN2, None, _emit(lambda t: _replace_all(t, _CURRENCY))),
    (ACRONYM, "(?:" + SPACENL + ")+" + ACRONYM_NEXT + SPACENL, _acronym),
    (ABBREV3, SPACENL + "?[" + DIGIT_CLASS + "]", _same),
    ("(?:" + _ci("pt") + "[eyEY]|" + _ci("co") + r")\.", SPACE + _cis("ltd", "lim"), _same),
    (ABBREV1, SENTEND, _abbrev_final),
    (ABBREV1, r"(?s:..)", _same),
    (ABBREV1, None, _abbrev_final),
    (ABBREV2, None, _same),
    (ABBREV4, SPACE, _same),
    (ACRO, SPACENL, _same),
    (TBSPEC2, SPACENL, _same),
    (FILENAME, "(?:" + SPACENL + "|[.?!,])", _same),
    (WORD + r"\.", INSENTP, _emit(_soft)),
    (PHONE, None, _emit(lambda t: _parens(t.replace(" ", "\u00A0")))),
    (DBLQUOT, "[A-Za-z0-9$]", _emit(lambda t: _quotes(t, True))),
    (DBLQUOT, None, _emit(lambda t: _quotes(t, False))),
    ("\x7f", None, _skip),
    ("(?:<|" + _ci("&lt;") + ")", None, _emit(lambda t: "<")),
    ("(?:>|" + _ci("&gt;") + ")", None, _emit(lambda t: ">")),
    (SMILEY, "[^A-Za-z0-9]", _emit(_parens)),
    (ASIANSMILEY, None, _emit(_parens)),
    (r"[{}\[\]()]", None, _emit(_BRACKETS.__getitem__)),
    (r"-+", None, _hyphens),
    (LDOTS, None, _emit(lambda t: "...")),
    (r"(?:@+|#+|_+)", None, _same),
    (r"(?:\*+|(?:\\\*){1,3})", None, _same),
    (INSENTP, None, _same),
    (r"[?!]+", None, _same),
    ("[.\u00A1\u00BF\u037E\u0589\u061F\u06D4\u0700-\u0702\u07FA\u3002]", None, _same),
    ("=", None, _same),
    ("/", None, _same),
    (HTHING + r"\.", INSENTP, _emit(_soft)),
    (HTHING, None, _emit(_soft)),
    (THING + r"\.", INSENTP, _same),
    (THING, None, _same),
    (THINGA + r"\.", INSENTP, _emit(lambda t: _AMP.sub("&", t))),
    (THINGA, None, _emit(lambda t: _AMP.sub("&", t))),
    ("'", "[A-Za-z][^ \t\n\r\u00A0]", _emit(lambda t: _quotes(t, True))),
    (REDAUX, None, _emit(lambda t: _quotes(t, False))),
    (SREDAUX, None, _emit(lambda t: _quotes(t, False))),
    (QUOTES, None, _emit(lambda t: _quotes(t, False))),
    ("(?:<<|>>)", None, _same),
    (MISCSYMBOL, None, _same),
    ("(?:\x00|" + SPACE + "+|[\u200B\u200E\u200F\uFEFF])", None, _skip),
    (NEWLINE, None, _emit(lambda t: NEWLINE_TOKEN)),
    (_ci("&nbsp;"), None, _skip),
    ("[^\n]", None, _skip),  # untokenizable: deleted (CoreNLP logs the first one)
]
_COMPILED = [(regex.compile("(?P<t>" + pattern + ")" + (f"(?:{context})" if context else ""),
                            regex.POSIX | regex.VERSION0), action)
             for pattern, context, action in _RULES]


_BY_FIRST: dict[str, tuple] = {}


def _rules_starting_with(unit: str) -> tuple:
    """The rules (in order) whose matches can begin with `unit`: a partial match of the one
    character (no rule has look-around, so this never drops a rule that could match)."""
    rules = _BY_FIRST.get(unit)
    if rules is None:
        rules = tuple(rule for rule in _COMPILED if rule[0].match(unit, partial=True))
        _BY_FIRST[unit] = rules
    return rules


def _utf16_units(text: str) -> str:
    """The text as Java sees it: one str item per UTF-16 code unit (astral chars as surrogates)."""
    if all(ord(ch) <= 0xFFFF for ch in text):
        return text
    out = []
    for ch in text:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            out.append(chr(0xD800 + (cp >> 10)) + chr(0xDC00 + (cp & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out)


def _from_units(token: str) -> str:
    """Surrogate pairs back to characters; a lone surrogate is written as "?" by Java's encoder."""
    if all(not 0xD800 <= ord(ch) <= 0xDFFF for ch in token):
        return token
    return regex.sub("[\ud800-\udfff]", "?",
                     token.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
                     .replace("\ufffd", "?"))


def lex(text: str) -> list[str]:
    """PTBLexer's tokens for `text` (before lower-casing); each newline is NEWLINE_TOKEN."""
    units = _utf16_units(text)
    tokens: list[str] = []
    pos, end = 0, len(units)
    while pos < end:
        best, best_len = None, 0
        for pattern, action in _rules_starting_with(units[pos]):
            m = pattern.match(units, pos)
            if m is not None and m.end() - pos > best_len:
                best, best_len = (m, action), m.end() - pos
        m, action = best
        token, consumed = action(m.group("t"))
        if token is not None:
            tokens.append(_from_units(token))
        pos += consumed
    return tokens


@lru_cache(maxsize=8192)  # corpora repeat their references across runs and metrics
def java_output(text: str) -> str:
    """What `PTBTokenizer -preserveLines -lowerCase` prints for `text` (lines joined by "\\n")."""
    lines, current = [], []
    for token in lex(text):
        if token == NEWLINE_TOKEN:
            lines.append(" ".join(current))
            current = []
        else:
            current.append(token.lower())  # Java: toLowerCase(Locale.ENGLISH)
    lines.append(" ".join(current))
    return "\n".join(lines)


def _drop_punctuation(line: str) -> str:
    return " ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS)


def tokenize_captions(captions_for_image: dict) -> dict:
    """pycocoevalcap `PTBTokenizer.tokenize` on {key: [caption str, ...]} -> {key: [tokens str]}.

    One Java run over all captions joined by "\\n" (inner "\\n" become spaces), output lines
    zipped back in order: a caption that makes extra lines (\\r, U+2028, ...) shifts the later
    ones, and keys past the last output line get nothing, as in pycocoevalcap."""
    keys = [k for k, caps in captions_for_image.items() for _ in caps]
    text = "\n".join(c.replace("\n", " ") for caps in captions_for_image.values() for c in caps)
    out: dict = {}
    for key, line in zip(keys, java_output(text).split("\n")):
        out.setdefault(key, []).append(_drop_punctuation(line))
    return out


def ptb_tokenize(text: str) -> str:
    """The tokens pycocoevalcap's PTBTokenizer gives one caption, space-joined: lower-cased,
    punctuation tokens removed (a caption alone: only its first output line counts)."""
    return tokenize_captions({0: [text]}).get(0, [""])[0]
