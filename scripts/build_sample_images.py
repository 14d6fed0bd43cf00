#!/usr/bin/env python3
"""Rebuild tasks/data/mella_sample/images/*.jpg from photographs that ship inside PyPI wheels.

The committed JPEGs are what mella-eval uses; maintainers run this script only to regenerate
them (see tasks/data/mella_sample/PROVENANCE.md for each image's author and licence).

It needs scikit-image, matplotlib and Pillow, which are NOT dependencies of mella-eval, so run
it from a throwaway virtual environment:

    python3 -m venv /tmp/sample-venv
    /tmp/sample-venv/bin/pip install scikit-image matplotlib pillow
    /tmp/sample-venv/bin/python scripts/build_sample_images.py

Only files bundled in the wheels are read (nothing is downloaded; scikit-image's pooch
fetcher is never called), and only photographs that their packages document as public domain
or CC0 are used. Each image is converted to RGB, resized so that its longest side is 256 px,
and saved as a baseline JPEG (quality 85) without EXIF, ICC profile or comments.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tasks" / "data" / "mella_sample" / "images"
LONGEST_SIDE = 256
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Source:
    name: str  # output file stem: images/<name>.jpg
    package: str  # "skimage" or "matplotlib"
    relpath: str  # path of the bundled file inside its package data folder
    licence: str  # as documented by the package (see PROVENANCE.md)


# Every entry is a photograph whose licence the shipping package documents as public domain or
# CC0 (skimage: the function's docstring; matplotlib: PR #1599, which added the file).
SOURCES: tuple[Source, ...] = (
    Source("astronaut", "skimage", "astronaut.png", "public domain (NASA)"),
    Source("coffee", "skimage", "coffee.png", "CC0 (Rachel Michetti)"),
    Source("chelsea", "skimage", "chelsea.png", "CC0 (Stefan van der Walt)"),
    Source("rocket", "skimage", "rocket.jpg", "public domain (SpaceX)"),
    Source("camera", "skimage", "camera.png", "CC0 (Lav Varshney)"),
    Source("hubble_deep_field", "skimage", "hubble_deep_field.jpg", "public domain (NASA)"),
    Source("retina", "skimage", "retina.jpg", "CC0 (Mikael Häggström)"),
    Source(
        "grace_hopper", "matplotlib", "sample_data/grace_hopper.jpg", "public domain (U.S. Navy)"
    ),
)


# sha256 of bundled files that scikit-image's registry does not cover (matplotlib 3.11.2).
KNOWN_SHA256: dict[tuple[str, str], str] = {
    ("matplotlib", "sample_data/grace_hopper.jpg"):
        "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
}


def package_data_dir(package: str) -> Path:
    if package == "skimage":
        import skimage.data  # noqa: PLC0415 - optional, only needed when rebuilding

        return Path(skimage.data.__file__).resolve().parent
    if package == "matplotlib":
        import matplotlib  # noqa: PLC0415

        return Path(matplotlib.get_data_path())
    raise ValueError(f"unknown package {package!r}")


def skimage_registry() -> dict[str, str]:
    """sha256 of scikit-image's data files, used to check that the bundled file is the known one."""
    try:
        from skimage.data._registry import registry  # noqa: PLC0415
    except ImportError:  # private module; the check is best-effort
        return {}
    return dict(registry)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(src: Path, dst: Path) -> tuple[int, int]:
    with Image.open(src) as im:
        im.load()
        rgb = im.convert("RGB")  # drops alpha / palette / grayscale modes
    w, h = rgb.size
    scale = LONGEST_SIDE / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = rgb.resize(size, Image.Resampling.LANCZOS)
    # A fresh image carries no info dict, so no EXIF, ICC profile or comment is written.
    clean = Image.new("RGB", small.size)
    clean.paste(small)
    dst.parent.mkdir(parents=True, exist_ok=True)
    clean.save(
        dst, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False, subsampling="4:2:0"
    )
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)

    registry = skimage_registry()
    total = 0
    for source in SOURCES:
        src = package_data_dir(source.package) / source.relpath
        if not src.is_file():
            print(
                f"error: {source.package} does not ship {source.relpath} (looked at {src})",
                file=sys.stderr,
            )
            return 1
        if source.package == "skimage":
            expected = registry.get(f"data/{source.relpath}")
        else:
            expected = KNOWN_SHA256.get((source.package, source.relpath))
        if expected is not None and sha256(src) != expected:
            # A changed file may have a different origin or licence: check PROVENANCE.md first.
            print(f"error: {src} is not the file whose licence was checked", file=sys.stderr)
            return 1
        dst = args.out / f"{source.name}.jpg"
        w, h = convert(src, dst)
        nbytes = dst.stat().st_size
        total += nbytes
        print(
            f"{source.name:<18} {w:>3}x{h:<3} {nbytes / 1024:6.1f} KiB"
            f"  <- {source.package}:{source.relpath} [{source.licence}]"
        )
    print(f"total {total / 1024:.1f} KiB in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
