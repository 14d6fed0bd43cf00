"""The one place where image bytes enter the harness: read, confined, capped and checked.

Every problem with one image (missing, not a regular file, too big, outside the dataset folder,
not an image, a decompression bomb, anything PIL raises) is an `ImageProblem` with a one-line
message; the data loader records it as that sample's error and the run goes on.

- Only regular files are read: a FIFO would block forever and `/dev/zero` never ends. The file
  is opened non-blocking, checked with `fstat`, and read to at most `max_bytes`.
- `max_bytes` (default 64 MiB, `--max-image-mb`) caps a file and embedded bytes alike.
- A path must lie inside one of the allowed folders (the dataset's folder) once resolved:
  absolute paths, `..` and symlinks that lead out are refused unless the caller allows external
  images (`--allow-external-images`, or a trusted task folder). With `--backend openai` an image
  is uploaded, so a hostile dataset must not name `~/.ssh/id_rsa.png`.
- At most `MAX_IMAGE_PIXELS` pixels (PIL's own warning threshold, ~89 megapixels): a PNG of a
  few KB can declare 20000 x 20000 pixels and take gigabytes to decode.

Image files are kept by reference (`FileImagePart`): loading reads a file once to check it and
compute its sha256 and type, then lets the bytes go; a backend reads it again when the request
is about to be sent. Memory then stays flat however many samples a run has.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from mella_eval.messages import ImagePart

DEFAULT_MAX_IMAGE_BYTES = 64 << 20
MAX_IMAGE_PIXELS = 89_478_485  # PIL.Image.MAX_IMAGE_PIXELS's default; decoded RGB ~ 256 MiB
_READ_BLOCK = 1 << 20
_OBJECT_REPR = re.compile(r"<_io\.\w+ object at 0x[0-9a-fA-F]+>")


class ImageProblem(ValueError):
    """One image cannot be used; the message says which and why (one line)."""


def read_image_file(path: Path, *, max_bytes: int | None = None,
                    allowed_roots: Sequence[Path] | None = None) -> bytes:
    """The bytes of the image file at `path`, checked as described in the module docstring.
    `allowed_roots=None` allows any folder (external images allowed)."""
    max_bytes = DEFAULT_MAX_IMAGE_BYTES if max_bytes is None else max_bytes
    if allowed_roots is not None:
        _confine(path, allowed_roots)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ImageProblem(f"image not found: {path}") from None
    except OSError as e:
        raise ImageProblem(f"cannot read image {path}: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageProblem(f"image {path} is not a regular file ({_file_kind(info.st_mode)})")
        if info.st_size > max_bytes:
            raise ImageProblem(_too_big(path, info.st_size, max_bytes))
        chunks, total = [], 0
        while chunk := os.read(fd, min(_READ_BLOCK, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # it grew while we read
                raise ImageProblem(_too_big(path, total, max_bytes))
        return b"".join(chunks)
    except OSError as e:
        raise ImageProblem(f"cannot read image {path}: {e.strerror or e}") from None
    finally:
        os.close(fd)


class FileImagePart(ImagePart):
    """An `ImagePart` of an image file, held by path: `data` reads the file each time it is used
    (same confinement and size cap as at load) and keeps nothing. `sha256` and `mime_type` are
    those of the bytes checked at load, so request keys, prompt hashes and records never read the
    file; if it changed since, `data` raises `ImageProblem` (that request fails, the run goes on)."""

    def __init__(self, path: Path, *, sha256: str, mime_type: str, size: int,
                 max_bytes: int | None = None, allowed_roots: Sequence[Path] | None = None):
        # ImagePart is frozen: set our fields as the dataclass itself does. Pre-filling the
        # instance __dict__ answers its cached_property sha256/mime_type without the bytes.
        for name, value in (("path", Path(path)), ("size", size), ("max_bytes", max_bytes),
                            ("allowed_roots", None if allowed_roots is None else tuple(allowed_roots)),
                            ("sha256", sha256), ("mime_type", mime_type)):
            object.__setattr__(self, name, value)

    @classmethod
    def load(cls, path: Path, *, max_bytes: int | None = None,
             allowed_roots: Sequence[Path] | None = None) -> "FileImagePart":
        """Read and check the file once (as `read_image_file` + `check_image`), keep its path."""
        data = read_image_file(path, max_bytes=max_bytes, allowed_roots=allowed_roots)
        check_image(data, str(path), max_bytes=max_bytes)
        probe = ImagePart(data)  # the same sha256 and type an in-memory image would have
        return cls(path, sha256=probe.sha256, mime_type=probe.mime_type, size=len(data),
                   max_bytes=max_bytes, allowed_roots=allowed_roots)

    @property
    def data(self) -> bytes:
        data = read_image_file(self.path, max_bytes=self.max_bytes, allowed_roots=self.allowed_roots)
        if len(data) != self.size or hashlib.sha256(data).hexdigest() != self.sha256:
            raise ImageProblem(f"image {self.path} changed since the dataset was loaded "
                               f"(sha256 {self.sha256[:12]}... expected); run again")
        return data

    def __repr__(self) -> str:  # the dataclass repr would read the file
        return f"FileImagePart(path={str(self.path)!r}, sha256={self.sha256[:12]!r}, size={self.size})"

    def __reduce__(self):  # pickled (ray) as the reference, not the bytes
        return (_rebuild_file_image, (self.path, self.sha256, self.mime_type, self.size,
                                      self.max_bytes, self.allowed_roots))


def _rebuild_file_image(path, sha256, mime_type, size, max_bytes, allowed_roots):
    return FileImagePart(path, sha256=sha256, mime_type=mime_type, size=size,
                         max_bytes=max_bytes, allowed_roots=allowed_roots)


def check_image(data: bytes, label: str, *, max_bytes: int | None = None) -> None:
    """Raise `ImageProblem` unless `data` is one readable image of sane size."""
    max_bytes = DEFAULT_MAX_IMAGE_BYTES if max_bytes is None else max_bytes
    if len(data) > max_bytes:
        raise ImageProblem(_too_big(label, len(data), max_bytes))
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():  # reported as our own error just below, not as a warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                check_pixels(im.size, label)
                im.verify()
    except ImageProblem:
        raise
    except Exception as e:  # noqa: BLE001  (PIL raises many types, DecompressionBombError too)
        raise ImageProblem(f"unreadable image {label}: {describe_pil_error(e)}") from None


def check_pixels(size: tuple[int, int], label: str) -> None:
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageProblem(f"image {label} is {width} x {height} pixels, more than the "
                           f"{MAX_IMAGE_PIXELS:,} allowed (a decompression bomb?)")


def pil_image_bytes(image, label: str) -> bytes:
    """A PIL image object (from a dataset or a hook) as PNG bytes, size-checked first."""
    try:
        check_pixels(image.size, label)
        buf = io.BytesIO()
        image.save(buf, format="PNG")
    except ImageProblem:
        raise
    except Exception as e:  # noqa: BLE001
        raise ImageProblem(f"unreadable image {label}: {describe_pil_error(e)}") from None
    return buf.getvalue()


def describe_pil_error(e: Exception) -> str:
    """PIL's message without the repr of our in-memory buffer ("<_io.BytesIO object at 0x..>")."""
    text = " ".join(str(e).split())
    text = _OBJECT_REPR.sub("(in memory)", text)
    if type(e).__name__ == "UnidentifiedImageError":
        return "not a known image format"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


@lru_cache(maxsize=1024)
def _resolved_folder(folder: Path) -> Path:
    return folder.resolve()  # dataset and image folders: resolved once, not once per image


def _resolved(path: Path) -> Path:
    """`path.resolve()`, its folder resolved once per folder: a file that is not itself a
    symlink resolves to its resolved folder plus its name (one lstat per image, not one per
    path component)."""
    if path.name in ("", ".", "..") or path.is_symlink():
        return path.resolve()
    folder = path.parent if path.is_absolute() else Path.cwd() / path.parent  # not normalised:
    return _resolved_folder(folder) / path.name  # ".." after a symlink is the link's parent's


def _confine(path: Path, roots: Sequence[Path]) -> None:
    try:
        resolved = _resolved(Path(path))
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise ImageProblem(f"cannot resolve image path {path}: {e}") from None
    for root in roots:
        if resolved.is_relative_to(_resolved_folder(Path(root))):
            return
    where = " or ".join(str(r) for r in roots) or "the dataset folder"
    raise ImageProblem(
        f"image path {path} is outside the dataset folder {where} (an absolute path, '..' or a "
        "symlink leading out); pass --allow-external-images, or put the task file in an "
        "--include-path folder, to allow it")


def _too_big(label, size: int, limit: int) -> str:
    return (f"image {label} is {size / 2**20:.1f} MiB, over the {limit / 2**20:g} MiB limit "
            "(--max-image-mb)")


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"
