"""`--shard i/N`: a deterministic 1/N of a run's samples, for several nodes under a scheduler.

Within every (task, language) the samples are ordered by a stable hash of (task, language, id)
and dealt out round-robin, so each shard gets an equal share of every language (at most one
sample more than another) whatever order the data comes in, and the same sample always lands in
the same shard. Shard indices are 0-based, like SLURM_ARRAY_TASK_ID and Kubernetes'
JOB_COMPLETION_INDEX.
"""

from __future__ import annotations

import hashlib
import re

from mella_eval.errors import MellaError

SHARD_RE = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    if spec is None:
        return None
    match = SHARD_RE.match(spec.strip())
    if not match:
        raise MellaError(f"--shard {spec!r}: expected i/N, e.g. 0/4 (0-based index, N shards)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 0 <= index < count:
        raise MellaError(f"--shard {spec}: the index must be in 0..{max(count - 1, 0)} and N >= 1")
    return index, count


def shard_key(task: str, lang: str, sample_id: str) -> str:
    return hashlib.sha256(f"{task}\0{lang}\0{sample_id}".encode("utf-8")).hexdigest()


def select_shard(samples: list, index: int, count: int) -> list:
    """The samples of shard `index` of `count`, in their original order."""
    groups: dict[tuple[str, str], list] = {}
    for sample in samples:
        groups.setdefault((sample.task, sample.lang), []).append(sample)
    chosen: set[int] = set()
    for group in groups.values():
        ordered = sorted(group, key=lambda s: shard_key(s.task, s.lang, s.id))
        chosen.update(id(s) for s in ordered[index::count])
    return [s for s in samples if id(s) in chosen]
