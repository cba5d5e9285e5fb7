"""Visual words: a two-level vocabulary tree of RootSIFT descriptors (Nister & Stewenius 2006).

A descriptor's word is its nearest coarse centroid, then the nearest fine centroid inside that
coarse cell: a large vocabulary (tens of thousands of words, so that a word is rare and its
posting list short) for the cost of two small nearest-neighbour searches. Trained by k-means
on one thread with a fixed seed: the same descriptors give the same words. Why these sizes:
docs/similarity.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cairn.matching.local_features import root_sift

DIMENSIONS = 128
BLOCK = 16384  # descriptors assigned at a time: bounds the distance matrix's memory
MAX_POINTS = 32  # k-means trains each centroid on at most this many descriptors
FAR = 1e3  # an unused fine slot (a cell with few descriptors): no descriptor is nearer


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """`coarse` (C, 128) centroids, and `fine` (C, F, 128): the words of each coarse cell; word
    `c * F + f` is fine centroid f of cell c."""

    coarse: npt.NDArray[np.float32]
    fine: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.fine.shape[0] * self.fine.shape[1])

    def words(self, descriptors: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
        """The word of each descriptor."""
        found = np.empty(len(descriptors), np.int64)
        for start in range(0, len(descriptors), BLOCK):
            points = root_sift(np.asarray(descriptors[start : start + BLOCK]))
            found[start : start + len(points)] = self._words(points)
        return found

    def _words(self, points: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        cells = _nearest(points, np.asarray(self.coarse))
        branches = self.fine.shape[1]
        words = np.empty(len(points), np.int64)
        for cell in np.unique(cells).tolist():
            mine = np.flatnonzero(cells == cell)
            words[mine] = cell * branches + _nearest(points[mine], np.asarray(self.fine[cell]))
        return words

    def save(self, folder: Path) -> None:
        for name, array in (("coarse", self.coarse), ("vocabulary", self.fine)):
            staging = folder / f".{name}.tmp.npy"
            np.save(staging, np.ascontiguousarray(array), allow_pickle=False)
            staging.replace(folder / f"{name}.npy")

    @classmethod
    def load(cls, folder: Path) -> Vocabulary:
        return cls(
            np.load(folder / "coarse.npy"), np.load(folder / "vocabulary.npy", mmap_mode="r")
        )


def train(descriptors: npt.NDArray[np.uint8], words: int) -> Vocabulary:
    """A vocabulary of about `words` words (a power of two), trained on these descriptors."""
    levels = int(np.log2(words))
    cells, branches = 2 ** (levels // 2), 2 ** (levels - levels // 2)
    points = root_sift(descriptors)
    coarse = _kmeans(points, cells)
    of_cell = _nearest(points, coarse)
    fine = np.full((cells, branches, DIMENSIONS), FAR, np.float32)
    for cell in range(cells):
        mine = points[of_cell == cell]
        # A sparse cell gets fewer words: k-means wants a few descriptors per centroid.
        k = min(branches, len(mine) // 4)
        if k >= 2:
            fine[cell, :k] = _kmeans(mine, k)
        elif len(mine):
            fine[cell, 0] = mine.mean(axis=0)
    return Vocabulary(coarse, fine)


def _kmeans(points: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float32]:
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # k-means sums in a fixed order: the same words each time
    try:
        kmeans = faiss.Kmeans(
            DIMENSIONS,
            k,
            niter=12,
            seed=1234,
            min_points_per_centroid=1,
            max_points_per_centroid=MAX_POINTS,
            verbose=False,
        )
        kmeans.train(np.ascontiguousarray(points))
    finally:
        faiss.omp_set_num_threads(threads)
    return np.asarray(kmeans.centroids, np.float32)


def _nearest(
    points: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """The nearest centroid of each point (squared L2; ties to the first)."""
    distances = (centroids * centroids).sum(axis=1) - 2 * points @ centroids.T
    return np.asarray(np.argmin(distances, axis=1), np.int64)
