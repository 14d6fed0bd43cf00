"""Delimiters of the judge prompt that the candidate cannot forge.

The candidate answer (written by the model under test) and the sample's fields (from a dataset
file) are untrusted text pasted into the judge's prompt. Two defences:

1. The candidate goes between tags named for this one request, `<candidate-XXXXXXXXXXXXXXXX>`,
   where the 16 hex digits are the start of sha256(rubric hash, language, candidate text). The
   name is deterministic, so the same judgement is asked with the same bytes on every run (the
   response store keeps it), yet the candidate cannot contain its own closing tag: that would
   need a text that contains (a prefix of) its own sha256.
2. Inside every untrusted value, anything that reads like a delimiter tag of the prompt -- `<`,
   an optional `/`, a tag name the prompt uses (candidate, reference, ...) and a `>` within 200
   characters, in any case, with spaces, zero-width characters, full-width or other
   compatibility forms, or angle look-alikes (`＜/ＣＡＮＤＩＤＡＴＥ >`, `</candidate >`,
   `‹/candidate›`, `</candidate-0123abcd>`) -- has its `<` replaced by `&lt;`, so
   the judge sees it as text. The count of such neutralised tags is kept: a candidate that
   contains one is suspected of injection.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

CANDIDATE = "candidate"
TAG_DIGITS = 16
# Opening angle brackets after NFKC (which already maps ＜ and ﹤ to <) and casefolding.
_ANGLES = "<\u2039\u2329\u3008\u27e8\u276e\u29fc\u02c2\u1438"
_CLOSING = ">\u203a\u232a\u3009\u27e9\u276f\u29fd\u02c3\u1433"
_SLASHES = "/\u2044\u2215\u29f8\\\\"
_TAG_RE = re.compile(r"<([a-z][a-z0-9_-]{0,40})>", re.IGNORECASE)


def candidate_tag(rubric_sha256: str, lang: str, candidate: str) -> str:
    """The tag name delimiting `candidate` in one judge request (see the module docstring)."""
    digest = hashlib.sha256("\0".join((rubric_sha256, lang, candidate)).encode("utf-8", "surrogatepass"))
    return f"{CANDIDATE}-{digest.hexdigest()[:TAG_DIGITS]}"


def wrap_candidate(tag: str, text: str) -> str:
    return f"<{tag}>\n{text}\n</{tag}>"


def template_tag_names(*templates: str) -> tuple[str, ...]:
    """Tag names a prompt uses as delimiters (`<reference>` -> "reference"), plus "candidate"."""
    names = {CANDIDATE}
    for template in templates:
        names.update(m.group(1).casefold() for m in _TAG_RE.finditer(template))
    return tuple(sorted(names))


def neutralise_tags(text: str, names: tuple[str, ...]) -> tuple[str, int]:
    """`text` with every tag-like spelling of `names` defused, and how many there were."""
    if not text or not may_hold_tag(text):
        return text, 0
    skeleton, origin = _skeleton(text)
    pattern = re.compile(f"[{_ANGLES}]\\s*[{_SLASHES}]?\\s*(?:{'|'.join(map(re.escape, names))})"
                         f"[^{_ANGLES}{_CLOSING}]{{0,200}}[{_CLOSING}]")
    starts = sorted({origin[m.start()] for m in pattern.finditer(skeleton)})
    if not starts:
        return text, 0
    out, last = [], 0
    for start in starts:
        out.append(text[last:start])
        out.append("&lt;")
        last = start + 1
    out.append(text[last:])
    return "".join(out), len(starts)


def _skeleton(text: str) -> tuple[str, list[int]]:
    """NFKC + casefold per character, invisible format characters dropped; for each skeleton
    character, the index of the original character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold(ch)
        if folded:
            chars.append(folded)
            origin.extend([i] * len(folded))
    return "".join(chars), origin


@lru_cache(maxsize=65536)
def _fold(ch: str) -> str:
    if unicodedata.category(ch) == "Cf":  # zero-width space/joiner, bidi marks, soft hyphen
        return ""
    return unicodedata.normalize("NFKC", ch).casefold()


# Characters whose fold holds an opening angle, and those seen without one (bounded).
_ANGLED: set[str] = set()
_PLAIN: set[str] = set()


def may_hold_tag(text: str) -> bool:
    """Whether `text` has a character that folds to an opening angle: without one, no tag
    spelling can be in it, and neutralise_tags has nothing to do."""
    chars = set(text)
    for ch in chars - _PLAIN - _ANGLED:  # characters not seen before
        if len(_PLAIN) > 100_000:  # bound the memory a text of every code point could take
            _PLAIN.clear()
        (_ANGLED if any(a in _fold(ch) for a in _ANGLES) else _PLAIN).add(ch)
    return not _ANGLED.isdisjoint(chars)
