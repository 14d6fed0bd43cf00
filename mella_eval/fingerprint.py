"""A fingerprint of a local model's weights, cheap enough to compute on every run.

Hashing every byte of a 15-140 GB checkpoint would take minutes per run, so the fingerprint is
the sha256 of:

- the sorted list of (relative path, size) of every file in the folder (hidden files such as
  `.git/` or `.cache/huggingface/`, and `*.md` model cards, are left out: they cannot change
  an output, and download tools rewrite them);
- the full bytes of every file up to `FULL_HASH_BYTES` (16 MiB): config, generation config,
  tokenizer, chat template, preprocessor config, and the weights of small models;
- for each larger weight file (`WEIGHT_SUFFIXES`), by format:
  * safetensors: its JSON header (every tensor's name, dtype, shape and byte offsets), the first
    and last `TENSOR_SAMPLE_BYTES` (4 KiB) of every tensor's data, and the first, middle and last
    MiB of the file;
  * zip archives written by `torch.save` (`*.bin`, `*.pt`, `*.pth`): the central directory,
    i.e. the name, size and CRC-32 of every stored tensor (so any change to any tensor that was
    saved again is seen), plus the first, middle and last MiB;
  * anything else (GGUF, legacy pickles): the first, middle and last MiB and 64 evenly spaced
    4 KiB chunks.
  Other files over `SAMPLED_ABOVE_BYTES` (1 GiB) are sampled the generic way too.

The root path and modification times are not hashed: a copy of the folder elsewhere has the same
fingerprint.

What it detects: any change to config, tokenizer or chat template; added, removed, renamed or
resized files; any change of dtype, shape or layout; and in practice every retraining or
fine-tuning, because a training step (full fine-tune, a merged LoRA, continued pretraining)
changes every tensor it touches throughout, including the sampled first and last rows of each
tensor. What it cannot detect: an in-place edit of a large safetensors/GGUF file confined to
bytes that are not sampled (a hand-edited weight in the middle of a tensor, a bit flip on disk)
that keeps every size the same. For those, use a new folder name or `--no-cache`.

The fingerprint is memoised in the response store per resolved folder, under a signature of
every file's (relative path, size, mtime_ns), so an unchanged folder costs a `stat` per file.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
from pathlib import Path

from mella_eval.errors import MellaError

FINGERPRINT_VERSION = 1  # bump when the method changes (memoised fingerprints are then redone)
FULL_HASH_BYTES = 16 << 20  # files up to this size are hashed in full
SAMPLED_ABOVE_BYTES = 1 << 30  # non-weight files above this size are sampled too
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".ggml", ".h5",
                   ".msgpack", ".onnx", ".npz", ".npy")
EDGE_BYTES = 1 << 20  # first / middle / last chunk of a large file
TENSOR_SAMPLE_BYTES = 4 << 10  # head and tail of each safetensors tensor
GENERIC_SAMPLES = 64  # evenly spaced chunks of a large file without a tensor index
SAFETENSORS_MAX_HEADER = 100 << 20  # the format's own limit
_READ_BLOCK = 1 << 20


def model_fingerprint(path: str | os.PathLike, store=None) -> str | None:
    """sha256 hex identifying the weights of the local model at `path` (a folder or one file).

    None when `path` is not an existing local path (a hub id: the caller keys on id + revision).
    With `store` (a ResponseStore), the result is memoised until a file changes.
    """
    root = Path(path).expanduser()
    if not root.exists():
        return None
    root = root.resolve()
    files = _list_files(root)
    signature = _signature(files)
    if store is not None:
        memo = store.get_fingerprint(str(root), signature)
        if memo is not None:
            return memo
    digest = hashlib.sha256()
    digest.update(f"mella-eval model fingerprint v{FINGERPRINT_VERSION}\n".encode())
    listing = [[rel, size] for rel, _, size, _ in files]
    digest.update(json.dumps(listing, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    for rel, full, size, _ in files:
        digest.update(b"\0file\0" + rel.encode("utf-8") + b"\0")
        try:
            _hash_file(digest, full, size)
        except OSError as e:
            raise MellaError(f"cannot read model file {full}: {e.strerror or e}") from None
    fingerprint = digest.hexdigest()
    if store is not None:
        store.put_fingerprint(str(root), signature, fingerprint)
    return fingerprint


def _list_files(root: Path) -> list[tuple[str, Path, int, int]]:
    """(relative posix path, path, size, mtime_ns) of each counted file, sorted; symlinks followed
    (the Hugging Face cache links snapshot files to blobs)."""
    if root.is_file():
        entries = [("", root)]  # a single file (a .gguf): its name is not part of the fingerprint
    else:
        entries = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=_walk_error):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                if name.startswith(".") or name.lower().endswith(".md"):
                    continue
                full = Path(dirpath) / name
                entries.append((full.relative_to(root).as_posix(), full))
    out = []
    for rel, full in entries:
        try:
            st = full.stat()
        except OSError as e:
            raise MellaError(f"cannot read model file {full}: {e.strerror or e}") from None
        out.append((rel, full, st.st_size, st.st_mtime_ns))
    return sorted(out, key=lambda t: t[0])


def _walk_error(e: OSError) -> None:
    raise MellaError(f"cannot list model folder {e.filename}: {e.strerror or e}")


def _signature(files) -> str:
    doc = {"version": FINGERPRINT_VERSION, "full": FULL_HASH_BYTES, "sampled": SAMPLED_ABOVE_BYTES,
           "files": [[rel, size, mtime] for rel, _, size, mtime in files]}
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode("utf-8")).hexdigest()


def _hash_file(digest, path: Path, size: int) -> None:
    weight = path.name.lower().endswith(WEIGHT_SUFFIXES)
    if size <= FULL_HASH_BYTES or (not weight and size <= SAMPLED_ABOVE_BYTES):
        digest.update(b"full\0")
        with path.open("rb") as f:
            while block := f.read(_READ_BLOCK):
                digest.update(block)
        return
    with path.open("rb") as f:
        ranges = _edge_ranges(size)
        if path.name.lower().endswith(".safetensors"):
            tensor_ranges = _safetensors_ranges(f, size, digest)
            if tensor_ranges is not None:
                ranges += tensor_ranges
            else:
                ranges += _generic_ranges(size)
        elif zipfile.is_zipfile(f):
            _hash_zip_directory(f, digest)
        else:
            ranges += _generic_ranges(size)
        digest.update(b"samples\0")
        for start, end in _merge(ranges):
            f.seek(start)
            digest.update(struct.pack("<QQ", start, end))
            digest.update(f.read(end - start))


def _edge_ranges(size: int) -> list[tuple[int, int]]:
    middle = max(0, size // 2 - EDGE_BYTES // 2)
    return [(0, min(size, EDGE_BYTES)), (middle, min(size, middle + EDGE_BYTES)),
            (max(0, size - EDGE_BYTES), size)]


def _generic_ranges(size: int) -> list[tuple[int, int]]:
    step = size / GENERIC_SAMPLES
    return [(int(i * step), min(size, int(i * step) + TENSOR_SAMPLE_BYTES))
            for i in range(GENERIC_SAMPLES)]


def _safetensors_ranges(f, size: int, digest) -> list[tuple[int, int]] | None:
    """Hash the header; return the head/tail range of each tensor. None if not safetensors."""
    f.seek(0)
    prefix = f.read(8)
    if len(prefix) < 8:
        return None
    (header_len,) = struct.unpack("<Q", prefix)
    if header_len > min(SAFETENSORS_MAX_HEADER, size - 8):
        return None
    header_bytes = f.read(header_len)
    try:
        header = json.loads(header_bytes)
    except ValueError:
        return None
    if not isinstance(header, dict):
        return None
    digest.update(b"safetensors-header\0")
    digest.update(header_bytes)
    base = 8 + header_len
    ranges = []
    for name, info in header.items():
        if name == "__metadata__" or not isinstance(info, dict):
            continue
        offsets = info.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2):
            return None
        start, end = base + int(offsets[0]), min(size, base + int(offsets[1]))
        if end - start <= 2 * TENSOR_SAMPLE_BYTES:
            ranges.append((start, end))
        else:
            ranges += [(start, start + TENSOR_SAMPLE_BYTES), (end - TENSOR_SAMPLE_BYTES, end)]
    return ranges


def _hash_zip_directory(f, digest) -> None:
    f.seek(0)
    with zipfile.ZipFile(f) as archive:
        entries = [[i.filename, i.file_size, i.CRC] for i in archive.infolist()]
    digest.update(b"zip-directory\0")
    digest.update(json.dumps(sorted(entries), separators=(",", ":")).encode("utf-8"))


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]
