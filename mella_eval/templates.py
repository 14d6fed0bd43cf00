"""Prompt templates of task files and rubrics: `{name}` placeholders, checked before use.

A template is filled with str.format, which also understands format specs (`{language:>99999999}`
pads to 100 MB), conversions (`{question!r}`) and attribute or index access
(`{question.__class__}`, `{options[0]}`). A template from a file may use none of them: only
`{name}` for an allowed name, and `{{` / `}}` for literal braces.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Iterable

from mella_eval.errors import TaskError

_FORMATTER = string.Formatter()


def placeholders(template: str) -> list[str]:
    """The placeholder names of a checked template, in order of first use."""
    names: list[str] = []
    for _, name, _, _ in _FORMATTER.parse(template):
        if name is not None and name not in names:
            names.append(name)
    return names


def check_template(path: Path, key: str, template, allowed: Iterable[str]) -> list[str]:
    """The placeholders of `template` (a string); TaskError at `key` for anything else."""
    allowed = tuple(allowed)
    hint = "allowed: " + ", ".join("{" + p + "}" for p in allowed) + " (write {{ and }} for literal braces)"
    if not isinstance(template, str):
        raise TaskError(path, key, f"expected a template string, got {type(template).__name__}")
    try:
        fields = list(_FORMATTER.parse(template))
    except ValueError as e:  # a lone { or }
        raise TaskError(path, key, f"bad placeholder: {e}; {hint}") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        shown = "{" + name + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}"
        shown = shown if len(shown) <= 40 else shown[:37] + "...}"
        if name not in allowed:
            raise TaskError(path, key, f"bad placeholder {shown}; {hint}")
        if spec or conversion:
            raise TaskError(path, key, f"placeholder {shown}: a format spec or conversion is not "
                                       f"allowed, only the name ({{{name}}})")
    return placeholders(template)
