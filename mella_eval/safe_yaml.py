"""YAML files that may be hostile (task files, task groups, judge rubrics): bounded in every way.

- size: a file larger than `max_bytes` is refused before it is parsed (a 50 MB file took a
  minute and a gigabyte); only regular files are read (a FIFO would hang, /dev/zero never end).
- aliases: the node graph is composed first (libyaml's CSafeLoader where installed) and its size
  *with every alias expanded* is counted before any Python object is built; past
  `max_nodes` it is refused (a 1 KB "billion laughs" file expands to gigabytes wherever a
  validator, repr() or json.dumps walks it). A recursive alias is refused too.
- duplicate keys in one mapping are refused (PyYAML silently keeps the last one).
- only plain YAML types are built (safe loader: no tags that construct Python objects).
Errors are TaskError (file, where, what) and quote at most a short excerpt of any value.
"""

from __future__ import annotations

import os
import reprlib
import stat
from pathlib import Path
from typing import Any

import yaml

from mella_eval.errors import TaskError

try:  # libyaml: a C parser, ~10x faster on big files; the pure-Python one otherwise
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

MAX_YAML_BYTES = 1024 * 1024  # bundled task files and rubrics are under 5 KB
MAX_YAML_NODES = 100_000  # scalars + collections after alias expansion; bundled files: < 500
MERGE_TAG = "tag:yaml.org,2002:merge"

_excerpt = reprlib.Repr()
_excerpt.maxstring = _excerpt.maxother = 60
_excerpt.maxlist = _excerpt.maxtuple = _excerpt.maxdict = _excerpt.maxset = 4
_excerpt.maxlevel = 2


def excerpt(value: Any) -> str:
    """A short repr of a value for an error message (never the whole of a huge or nested value)."""
    return _excerpt.repr(value)


def key_text(key: Any) -> str:
    """A mapping key as it is shown in "file: key: problem" (short, unquoted)."""
    text = str(key)
    return text if len(text) <= 40 else text[:37] + "..."


def read_limited(path: Path, max_bytes: int = MAX_YAML_BYTES, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `max_bytes`; TaskError otherwise."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise TaskError(path, "", f"not a regular file (a {what} must be a plain file)")
            if info.st_size > max_bytes:
                raise TaskError(path, "", f"{what} is {info.st_size:,} bytes; the limit is {max_bytes:,}")
            data = fh.read(max_bytes + 1)  # the file may grow while it is read
    except OSError as e:
        raise TaskError(path, "", f"cannot read {what}: {e.strerror}") from None
    if len(data) > max_bytes:
        raise TaskError(path, "", f"{what} is over {max_bytes:,} bytes, the limit")
    return data


def load_yaml_file(path: Path, what: str = "YAML file", max_bytes: int = MAX_YAML_BYTES,
                   max_nodes: int = MAX_YAML_NODES) -> tuple[Any, bytes]:
    """(document, raw bytes) of a YAML file, within the limits above."""
    raw = read_limited(path, max_bytes, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TaskError(path, "", "not UTF-8 text") from None
    return loads(text, path, max_nodes), raw


def loads(text: str, path: Path | str = "<string>", max_nodes: int = MAX_YAML_NODES) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, path, max_nodes)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise TaskError(path, "", f"invalid YAML: {where}{excerpt(problem)[1:-1]}") from None
    finally:
        loader.dispose()


def _check_graph(root: yaml.Node, path, max_nodes: int) -> None:
    """Count the nodes of the document as if every alias were expanded (memoised per node, so a
    shared subtree costs one visit), refuse recursion and duplicate mapping keys."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    # Iterative post-order walk: a deeply nested document must not hit Python's recursion limit.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        nid = id(node)
        if children_done:
            active.discard(nid)
            size = 1 + sum(sizes[id(c)] for c in _children(node))
            if size > max_nodes:
                raise TaskError(path, "", f"the YAML expands to more than {max_nodes:,} values "
                                          f"(aliases used as a 'billion laughs'?); line {node.start_mark.line + 1}")
            sizes[nid] = size
            continue
        if nid in sizes:
            continue
        if nid in active:
            raise TaskError(path, "", f"recursive YAML alias at line {node.start_mark.line + 1}")
        active.add(nid)
        if isinstance(node, yaml.MappingNode):
            _check_duplicate_keys(node, path)
        stack.append((node, True))
        for child in _children(node):
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_duplicate_keys(node: yaml.MappingNode, path) -> None:
    seen: set[tuple[str, str]] = set()
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == MERGE_TAG:
            continue  # `<<: *base` merges are meant to be overridden by the keys beside them
        ident = (key.tag, key.value)
        if ident in seen:
            raise TaskError(path, "", f"line {key.start_mark.line + 1}: duplicate key "
                                      f"{excerpt(key.value)} (YAML would silently keep the last one)")
        seen.add(ident)
