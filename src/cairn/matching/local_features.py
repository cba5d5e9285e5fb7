"""Geometric verification of local features: are two images the same picture, scene or
object? Matches by descriptor (RootSIFT, Lowe's ratio test), then one RANSAC homography; the
image mirrored is tried too. Thresholds and how they were calibrated: docs/similarity.md.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from cairn.core.records import LocalFeatures

RATIO = 0.8  # Lowe's ratio test: the best match must be clearly better than the second
MIN_INLIERS = 15  # the default threshold: see SCORE_HALF and docs/similarity.md
SCORE_HALF = 20  # inliers at which the score is 0.5: score = inliers / (inliers + SCORE_HALF)
REPROJECTION = 0.012  # RANSAC's inlier distance, as a share of the image's long side
MIN_REGION = 0.08  # the matched region's short side, as a share of the image's short side
GRID = 4  # spread check: the matched region cut GRID x GRID...
MIN_CELLS = 6  # ...must hold inliers in this many cells, and in its centre
MAX_GAP = 0.35  # no empty band across the region wider than this share of it
# Why two images are not linked, in the order verification reaches the checks.
REFUSALS = (
    "too few features",
    "too few matches",
    "no geometric model",
    "too few inliers",
    "degenerate model",
    "matches too narrow or one-sided (screen furniture, text, texture)",
)


@dataclass(frozen=True, eq=False)
class Features:
    """An image's features as arrays: positions (n, 2) in its pixels, descriptors (n, 128)."""

    width: int
    height: int
    points: npt.NDArray[np.float32]
    descriptors: npt.NDArray[np.uint8]

    @classmethod
    def of(cls, record: LocalFeatures) -> Features:
        points = np.frombuffer(record.points, np.float32).reshape(-1, 2)
        descriptors = np.frombuffer(record.descriptors, np.uint8).reshape(-1, 128)
        return cls(record.width, record.height, points, descriptors)

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def mirrored(self) -> Features:
        """The features of the image flipped left to right, without detecting again: SIFT's
        4 x 4 x 8 histogram mirrors by reversing the spatial rows and the orientation bins
        (measured on flipped pictures: OpenCV's keypoint frame turns the flip into a row flip)."""
        points = self.points.copy()
        points[:, 0] = self.width - points[:, 0]
        return Features(self.width, self.height, points, self.descriptors[:, _mirror_order()])

    def crop(self, x: int, y: int, w: int, h: int) -> Features:
        """The features inside a region, in the region's pixels."""
        inside = (
            (self.points[:, 0] >= x)
            & (self.points[:, 0] < x + w)
            & (self.points[:, 1] >= y)
            & (self.points[:, 1] < y + h)
        )
        points = self.points[inside] - np.array([x, y], np.float32)
        return Features(w, h, points, self.descriptors[inside])


@functools.cache
def _mirror_order() -> npt.NDArray[np.intp]:
    index = np.arange(128).reshape(4, 4, 8)  # row, column, orientation bin
    return index[::-1, :, (-np.arange(8)) % 8].reshape(-1)  # its own inverse


def root_sift(descriptors: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """RootSIFT (Arandjelovic & Zisserman 2012): L1-normalise, then square root; Euclidean
    distance between these is the Hellinger kernel, which matches SIFT better."""
    values = descriptors.astype(np.float32)
    values /= np.maximum(values.sum(axis=1, keepdims=True), 1e-6)
    return np.sqrt(values)


@dataclass(frozen=True)
class Verified:
    """A verified link: the inliers under one homography, the region of each image they span
    ([x, y, w, h] in its pixels), whether the query matched mirrored, and the score."""

    inliers: int
    matches: int
    query_region: tuple[int, int, int, int]
    found_region: tuple[int, int, int, int]
    mirrored: bool
    score: float
    model: str = "homography"


def score(inliers: int) -> float:
    """0..1, higher is more certain; MIN_INLIERS (the default threshold) scores 0.43."""
    return inliers / (inliers + SCORE_HALF)


def verify(
    query: Features, found: Features, min_inliers: int = MIN_INLIERS
) -> tuple[Verified | None, str]:
    """The link between two images, or None and why not. The mirrored query is tried too,
    and the better of the two kept; without a link, the reason is the one of the two tries
    that passed more checks (REFUSALS)."""
    best: Verified | None = None
    reasons = []
    for mirrored in (False, True):
        side = query.mirrored() if mirrored else query
        result, why = _verify_one(side, found, min_inliers, mirrored)
        if result is not None and mirrored:  # the region in the query's own pixels
            x, y, w, h = result.query_region
            result = replace(result, query_region=(query.width - x - w, y, w, h))
        if result is not None and (best is None or result.inliers > best.inliers):
            best = result
        reasons.append(why)
    if best is not None:
        return best, ""
    return None, max(reasons, key=REFUSALS.index)  # the side that came nearest says why


def _verify_one(
    query: Features, found: Features, min_inliers: int, mirrored: bool
) -> tuple[Verified | None, str]:
    import cv2

    if len(query) < min_inliers or len(found) < min_inliers:
        return None, "too few features"
    pairs = _ratio_matches(root_sift(query.descriptors), root_sift(found.descriptors))
    if len(pairs) < min_inliers:
        return None, "too few matches"
    source = query.points[pairs[:, 0]]
    target = found.points[pairs[:, 1]]
    threshold = REPROJECTION * max(found.width, found.height)
    # MAGSAC++ (OpenCV's USAC, seeded: the same pairs give the same model). On the bench's
    # suite it links the copies classic RANSAC links, with as many inliers, in a third of the
    # time on a true pair and a seventh on a chance one (where RANSAC ran all 2,000 rounds).
    homography, mask = cv2.findHomography(
        source, target, cv2.USAC_MAGSAC, threshold, maxIters=2000, confidence=0.995
    )
    if homography is None or mask is None:
        return None, "no geometric model"
    keep = mask.ravel().astype(bool)
    inliers = int(keep.sum())
    if inliers < min_inliers:
        return None, "too few inliers"
    if not _plausible(homography, query):
        return None, "degenerate model"
    query_region = _spread_region(source[keep], query)
    found_region = _spread_region(target[keep], found)
    if query_region is None or found_region is None:
        return None, "matches too narrow or one-sided (screen furniture, text, texture)"
    return Verified(
        inliers, len(pairs), query_region, found_region, mirrored, round(score(inliers), 4)
    ), ""


def _ratio_matches(
    query: npt.NDArray[np.float32], found: npt.NDArray[np.float32]
) -> npt.NDArray[np.intp]:
    """(query index, found index) pairs passing the ratio test, each found point used once."""
    import cv2

    if len(found) < 2:
        return np.empty((0, 2), np.intp)
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    knn = matcher.knnMatch(query, found, k=2)
    pairs: dict[int, tuple[float, int]] = {}
    for candidates in knn:
        if len(candidates) < 2:
            continue
        first, second = candidates
        if first.distance < RATIO * second.distance:
            held = pairs.get(first.trainIdx)
            if held is None or first.distance < held[0]:
                pairs[first.trainIdx] = (first.distance, first.queryIdx)
    return np.array(sorted((q, t) for t, (_d, q) in pairs.items()), np.intp).reshape(-1, 2)


def _plausible(homography: npt.NDArray[Any], query: Features) -> bool:
    """A model a real copy, crop or re-shot view can have: no fold, no extreme squeeze, no
    perspective stronger than a change of viewpoint (chance fits often have all three)."""
    h = homography / homography[2, 2]
    if not 1 / 400 < float(np.linalg.det(h[:2, :2])) < 400:
        return False
    corners = np.array([[0, 0], [query.width, 0], [0, query.height], [query.width, query.height]])
    depth = corners @ h[2, :2] + 1.0  # the projective divisor at the query's corners
    return bool(np.all((depth > 0.33) & (depth < 3.0)))


def _spread_region(
    points: npt.NDArray[np.float32], features: Features
) -> tuple[int, int, int, int] | None:
    """The inliers' bounding box, if they spread like a picture's content: the box is not a
    sliver of the image, its cells, centre included, hold inliers, and no wide empty band
    crosses it (an app's bars, a caption strip or lines of text match in bands around a
    picture that differs)."""
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    w, h = float(x1 - x0), float(y1 - y0)
    if min(w, h) < MIN_REGION * min(features.width, features.height):
        return None
    cells = np.minimum(((points - [x0, y0]) / [w, h] * GRID).astype(int), GRID - 1)
    occupied = {(int(c), int(r)) for c, r in cells}
    centre = {(c, r) for c in (1, 2) for r in (1, 2)}
    if len(occupied) < MIN_CELLS or not occupied & centre:
        return None
    # An app's bar above and its text below a picture that differs: two bands of inliers.
    for axis, extent in ((0, w), (1, h)):
        if float(np.diff(np.sort(points[:, axis])).max()) > MAX_GAP * extent:
            return None
    return (int(x0), int(y0), max(1, round(w)), max(1, round(h)))
