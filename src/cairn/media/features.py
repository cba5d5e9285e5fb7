"""Local features of a decoded image: SIFT keypoints and descriptors on a bounded view.

Computed by the ingest workers beside PDQ, on the pixels already decoded for it (a JPEG's draft
decode included; a video's scene keyframes, media.video), and by `cairn similar` on a query
image. The view is bounded (MAX_SIDE on the
long side) so that a huge picture costs what a small one does; keypoint positions are given in
pixels of the image as stored. Why SIFT and these numbers: docs/similarity.md.

OpenCV and numpy are imported inside the functions: analysis runs in workers.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from cairn.core.records import LocalFeatures

if TYPE_CHECKING:
    from collections.abc import Sequence

    import cv2
    import numpy as np
    from numpy.typing import NDArray
    from PIL.Image import Image

MAX_SIDE = 512  # pixels on the long side of the view SIFT runs on
MAX_FEATURES = 256  # keypoints kept per image: the strongest, spread over the picture
DETECTED = 4 * MAX_FEATURES  # keypoints SIFT keeps before text is dropped and spread chosen
SPREAD_GRID = 8  # the view cut SPREAD_GRID x SPREAD_GRID: each cell's strongest come first
CONTRAST = 0.03  # SIFT's contrast threshold (OpenCV's default 0.04 leaves soft photos too few)
MIN_FEATURES = 12  # fewer cannot carry a verified link (matching.local_features.MIN_INLIERS)
MIN_SIDE = 32  # smaller pictures (icons, tracking pixels) have nothing to link
FLAT_STDDEV = 2.0  # grey-level spread under which a picture is flat (one colour, a dark frame)
STROKE = 40  # grey-level step (3 x 3) that marks an edge of a glyph, in the view
LINE_HEIGHT = (4, 28)  # a line of text's height in the view, in pixels


def image_features(img: Image, width: int, height: int) -> LocalFeatures:
    """The features of a decoded Pillow image whose stored size is `width` x `height` (the
    decoded one may be smaller: a JPEG draft)."""
    import numpy as np

    if img.mode == "YCbCr":  # a draft decode: its Y plane is the luma
        grey = np.asarray(img)[:, :, 0]
    elif img.mode == "L":
        grey = np.asarray(img)
    else:
        grey = np.asarray(img.convert("L"))
    return grey_features(grey, width, height)


def grey_features(grey: NDArray[np.uint8], width: int, height: int) -> LocalFeatures:
    """The features of a grey image (rows x columns) showing a picture of `width` x `height`."""
    import numpy as np

    _single_threaded()
    if min(width, height) < MIN_SIDE or min(grey.shape) < MIN_SIDE:
        return LocalFeatures(width, height, 0, reason="too small")
    if float(grey.std()) < FLAT_STDDEV:
        return LocalFeatures(width, height, 0, reason="flat")
    view = bounded_view(grey)
    keypoints, descriptors = _sift().detectAndCompute(view, None)
    if descriptors is None:
        return LocalFeatures(width, height, 0, reason="too few features")
    text = text_lines(view)
    keep = [i for i, k in enumerate(keypoints) if not text[int(k.pt[1]), int(k.pt[0])]]
    if len(keep) < MIN_FEATURES:
        return LocalFeatures(width, height, 0, reason="too few features")
    order = _spread(keypoints, keep, view.shape)
    points = np.array([keypoints[i].pt for i in order], np.float32)
    points[:, 0] *= width / view.shape[1]
    points[:, 1] *= height / view.shape[0]
    # SIFT's descriptors are whole numbers 0..255 in float32: uint8 loses nothing.
    quantised = np.clip(np.rint(descriptors[order]), 0, 255).astype(np.uint8)
    return LocalFeatures(width, height, len(order), points.tobytes(), quantised.tobytes())


def bounded_view(grey: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The grey image SIFT runs on: at most MAX_SIDE pixels on the long side (a copy, so a
    video decoder's buffer can be reused once it is taken)."""
    import cv2
    import numpy as np

    rows, columns = grey.shape
    scale = min(1.0, MAX_SIDE / max(rows, columns))
    if scale == 1.0:
        return np.array(grey, np.uint8)
    size = (max(1, round(columns * scale)), max(1, round(rows * scale)))
    return np.asarray(
        cv2.resize(np.ascontiguousarray(grey), size, interpolation=cv2.INTER_AREA), np.uint8
    )


def text_lines(view: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Where the view shows lines of text (an app's bars, captions, a page), padded by half a
    line: glyphs are the same in every screenshot of an app and every page of a font, so
    their features would link pictures that share nothing else. A line is a run of edges
    (closed across letter gaps) 4-28 pixels high and at least twice as wide, whose grey level
    flips between ink and background many times along it (a drawn line or a shape's edge
    flips once or twice)."""
    import cv2
    import numpy as np

    edges = cv2.morphologyEx(view, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > STROKE
    runs = cv2.morphologyEx(edges.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, 9), np.uint8))
    count, _labels, stats, _centres = cv2.connectedComponentsWithStats(runs, connectivity=8)
    mask = np.zeros(view.shape, bool)
    low, high = LINE_HEIGHT
    for x, y, w, h, _area in stats[1:count].tolist():
        if (
            low <= h <= high
            and w >= 2 * h
            and _flips(view[y : y + h, x : x + w]) >= max(6, 1.5 * w / h)
        ):
            pad = h // 2
            mask[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad] = True
    return mask


def _flips(box: NDArray[np.uint8]) -> int:
    """The most ink/background alternations along a row near the box's middle (with a
    hysteresis of a quarter of the row's contrast, so JPEG ringing does not count)."""
    import numpy as np

    most = 0
    for share in (0.35, 0.5, 0.65):
        row = box[int(box.shape[0] * share)].astype(np.float32)
        low, high = np.percentile(row, (10, 90))
        if high - low < STROKE:
            continue
        middle, band = (low + high) / 2, (high - low) / 4
        side = np.where(row > middle + band, 1, np.where(row < middle - band, -1, 0))
        side = side[side != 0]
        most = max(most, int(np.count_nonzero(np.diff(side))))
    return most


def _spread(
    keypoints: Sequence[cv2.KeyPoint], keep: list[int], shape: tuple[int, ...]
) -> list[int]:
    """Up to MAX_FEATURES of the kept keypoints, spread over the view: each grid cell's
    strongest first, then each cell's second, ...; ties by response, then position, so the
    same picture gives the same list. By response alone, one busy area takes the budget and a
    crop that cuts it away keeps too few."""
    rows, columns = shape[:2]
    by_cell: dict[tuple[int, int], list[int]] = {}
    for i in sorted(
        keep, key=lambda i: (-keypoints[i].response, keypoints[i].pt[1], keypoints[i].pt[0])
    ):
        x, y = keypoints[i].pt
        cell = (int(y * SPREAD_GRID / rows), int(x * SPREAD_GRID / columns))
        by_cell.setdefault(cell, []).append(i)
    rank = {i: r for members in by_cell.values() for r, i in enumerate(members)}
    return sorted(
        keep,
        key=lambda i: (rank[i], -keypoints[i].response, keypoints[i].pt[1], keypoints[i].pt[0]),
    )[:MAX_FEATURES]


@functools.cache
def _sift() -> cv2.SIFT:
    import cv2

    return cv2.SIFT.create(nfeatures=DETECTED, contrastThreshold=CONTRAST)


@functools.cache
def _single_threaded() -> None:
    """Workers are processes, one per core: OpenCV's own threads would only contend."""
    import cv2

    cv2.setNumThreads(1)
