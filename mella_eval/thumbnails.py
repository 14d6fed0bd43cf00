"""Small JPEG thumbnails of a run's images, so the HTML report can show them offline."""

from __future__ import annotations

import io
from pathlib import Path

from mella_eval.data import Sample

THUMB_SIZE = 160


def write_thumbnails(run_dir: Path, samples: list[Sample]) -> int:
    """`run_dir/thumbs/<sha256>.jpg` for each distinct image; returns how many were written."""
    from PIL import Image

    folder = run_dir / "thumbs"
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for sample in samples:
        for image in sample.images:
            target = folder / f"{image.sha256}.jpg"
            if target.exists():
                continue
            try:
                with Image.open(io.BytesIO(image.data)) as im:
                    im = im.convert("RGB")
                    im.thumbnail((THUMB_SIZE, THUMB_SIZE))
                    tmp = target.with_suffix(".tmp")
                    im.save(tmp, format="JPEG", quality=80)
                    tmp.replace(target)
                    written += 1
            except OSError:
                continue  # an unreadable image is already recorded on its sample
    return written
