"""Finding added borders: letterbox and pillarbox bars, caption strips, solid frames.

A screenshot of a video, or a photo re-shared with padding, hashes far from the original
because PDQ sees the bars as content. python-threatexchange trims letterboxes for this reason;
we trim every side independently, each to its own solid colour, so mixed frames (a white
caption strip above a black bar) are handled too. The caller keeps the untrimmed hash as well:
a picture whose own content is dark at its edges must not lose its plain hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# A line (row or column) is part of a border when its pixels barely vary and stay close to
# the colour of the outermost line. The tolerances absorb JPEG ringing near hard edges.
LINE_STD_MAX = 6.0
LINE_COLOUR_DELTA = 12.0
MIN_TRIM_SHARE = 0.02  # trimming less than 2 % of a side changes PDQ too little to matter
MIN_KEPT_SHARE = 0.25  # a "border" covering 3/4 of the picture is the picture


def _solid_run(lines_mean: np.ndarray, lines_std: np.ndarray) -> int:
    """How many leading lines are one solid colour (the colour of the first line)."""
    import numpy as np

    reference = lines_mean[0]
    close = np.all(np.abs(lines_mean - reference) <= LINE_COLOUR_DELTA, axis=1)
    solid = (lines_std <= LINE_STD_MAX) & close
    if not solid[0]:
        return 0
    breaks = np.flatnonzero(~solid)
    return int(breaks[0]) if breaks.size else len(solid)


def content_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the picture inside added borders, or None if none.

    `rgb` is an (height, width, 3) uint8 array.
    """
    height, width = rgb.shape[:2]
    if height < 16 or width < 16:
        return None
    pixels = rgb.astype("float32")
    row_mean, row_std = pixels.mean(axis=1), pixels.std(axis=(1, 2))
    col_mean, col_std = pixels.mean(axis=0), pixels.std(axis=(0, 2))
    top = _solid_run(row_mean, row_std)
    bottom = _solid_run(row_mean[::-1], row_std[::-1])
    left = _solid_run(col_mean, col_std)
    right = _solid_run(col_mean[::-1], col_std[::-1])
    # A side counts only when its bar is wide enough; tiny runs are compression noise.
    top = top if top >= MIN_TRIM_SHARE * height else 0
    bottom = bottom if bottom >= MIN_TRIM_SHARE * height else 0
    left = left if left >= MIN_TRIM_SHARE * width else 0
    right = right if right >= MIN_TRIM_SHARE * width else 0
    if not (top or bottom or left or right):
        return None
    box = (top, height - bottom, left, width - right)
    kept_h, kept_w = box[1] - box[0], box[3] - box[2]
    if kept_h < MIN_KEPT_SHARE * height or kept_w < MIN_KEPT_SHARE * width:
        return None
    return box
