"""Local features of a decoded image: SIFT keypoints and descriptors on a bounded view.

Computed by the ingest workers beside PDQ, on the pixels already decoded for it (a JPEG's draft
decode included), and by `cairn similar` on a query image. The view is bounded (MAX_SIDE on the
long side) so that a huge picture costs what a small one does; keypoint positions are given in
pixels of the image as stored. Why SIFT and these numbers: docs/similarity.md.

OpenCV and numpy are imported inside the functions: analysis runs in workers.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from cairn.core.records import LocalFeatures

if TYPE_CHECKING:
    import cv2
    import numpy as np
    from numpy.typing import NDArray
    from PIL.Image import Image

MAX_SIDE = 512  # pixels on the long side of the view SIFT runs on
MAX_FEATURES = 256  # the strongest keypoints kept per image
MIN_FEATURES = 12  # fewer cannot carry a verified link (matching.local_features.MIN_INLIERS)
MIN_SIDE = 32  # smaller pictures (icons, tracking pixels) have nothing to link
FLAT_STDDEV = 2.0  # grey-level spread under which a picture is flat (one colour, a dark frame)


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
    import cv2
    import numpy as np

    _single_threaded()
    if min(width, height) < MIN_SIDE or min(grey.shape) < MIN_SIDE:
        return LocalFeatures(width, height, 0, reason="too small")
    if float(grey.std()) < FLAT_STDDEV:
        return LocalFeatures(width, height, 0, reason="flat")
    rows, columns = grey.shape
    scale = min(1.0, MAX_SIDE / max(rows, columns))
    view = np.ascontiguousarray(grey)
    if scale < 1.0:
        size = (max(1, round(columns * scale)), max(1, round(rows * scale)))
        view = np.asarray(cv2.resize(view, size, interpolation=cv2.INTER_AREA), np.uint8)
    keypoints, descriptors = _sift().detectAndCompute(view, None)
    if descriptors is None or len(keypoints) < MIN_FEATURES:
        return LocalFeatures(width, height, 0, reason="too few features")
    # The strongest first, ties by position: the same picture gives the same list.
    order = sorted(
        range(len(keypoints)),
        key=lambda i: (-keypoints[i].response, keypoints[i].pt[1], keypoints[i].pt[0]),
    )[:MAX_FEATURES]
    points = np.array([keypoints[i].pt for i in order], np.float32)
    points[:, 0] *= width / view.shape[1]
    points[:, 1] *= height / view.shape[0]
    # SIFT's descriptors are whole numbers 0..255 in float32: uint8 loses nothing.
    quantised = np.clip(np.rint(descriptors[order]), 0, 255).astype(np.uint8)
    return LocalFeatures(width, height, len(order), points.tobytes(), quantised.tobytes())


@functools.cache
def _sift() -> cv2.SIFT:
    import cv2

    return cv2.SIFT.create(nfeatures=MAX_FEATURES)


@functools.cache
def _single_threaded() -> None:
    """Workers are processes, one per core: OpenCV's own threads would only contend."""
    import cv2

    cv2.setNumThreads(1)
