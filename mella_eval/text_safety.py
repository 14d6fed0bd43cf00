"""The one cleaning step for text that enters the harness from outside (model replies, API
bodies, predictions files): lone UTF-16 surrogates become U+FFFD.

A reply cut at `max_tokens` in the middle of an emoji, or JSON with an unpaired "\\ud83d"
escape, gives a Python `str` holding a lone surrogate. It cannot be encoded as UTF-8, so it
would crash the response store or the results writer after all the work was done. A
correctly paired escape ("\\ud83d\\ude00") is already one code point when it gets here and is
kept.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(s: str) -> str:
    """`s` with every lone surrogate replaced by U+FFFD (the same object when there is none)."""
    if s.isascii():  # the common case: nothing to look for
        return s
    return _SURROGATE.sub(REPLACEMENT, s)


def has_surrogates(s: str) -> bool:
    return not s.isascii() and _SURROGATE.search(s) is not None
