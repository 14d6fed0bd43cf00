"""Progress bars on stderr (tqdm), quiet when stderr is not a terminal unless asked."""

from __future__ import annotations

import os
import sys


def progress_bar(total: int, desc: str):
    from tqdm import tqdm

    disable = os.environ.get("MELLA_PROGRESS", "auto") == "off" or (
        os.environ.get("MELLA_PROGRESS", "auto") == "auto" and not sys.stderr.isatty())
    return tqdm(total=total, desc=desc, unit="req", file=sys.stderr, disable=disable,
                dynamic_ncols=True)
