"""Small JPEG thumbnails of the images the HTML report shows, so it can show them offline.

Only the report's images get one (the first image of each task's worst samples, see
`mella_eval.report.samples.shown_image_shas`): a thumbnail per sample would grow the run folder
by ~10 KB a sample (158 MB at 12,800 samples) for pictures no page shows.
"""

from __future__ import annotations

from pathlib import Path

from mella_eval.data import Sample
from mella_eval.images import ImageProblem

THUMB_SIZE = 160


def write_thumbnails(run_dir: Path, samples: list[Sample], shown: set[str] | None = None) -> int:
    """`run_dir/thumbs/<sha256>.jpg` for each distinct image the report of the run folder shows
    (`shown`: their sha256; default: read from the results and records in `run_dir`). Returns
    how many were written."""
    from mella_eval.report.run import load_run
    from mella_eval.report.samples import shown_image_shas

    if shown is None:
        shown = shown_image_shas(load_run(run_dir))
    folder = run_dir / "thumbs"
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for sample in samples:
        for image in sample.images:
            if image.sha256 not in shown:
                continue
            target = folder / f"{image.sha256}.jpg"
            if target.exists():
                continue
            written += _write_one(image, target)
    return written


def _write_one(image, target: Path) -> int:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(image.data)) as im:
            im = im.convert("RGB")
            im.thumbnail((THUMB_SIZE, THUMB_SIZE))
            tmp = target.with_suffix(".tmp")
            im.save(tmp, format="JPEG", quality=80)
            tmp.replace(target)
            return 1
    except (OSError, ImageProblem):  # unreadable or changed: already recorded, or no picture
        return 0
