"""The workspace's local-feature index: every image's features, and visual words with an
inverted file that proposes candidates for verification. Layout and costs: docs/similarity.md.

Folder `<workspace>/indexes/features/`: `manifest.json`, `vocabulary.npy` once trained, and
immutable segments `seg-<32 hex>/` of numpy arrays (loaded memory-mapped):
`keys` (n, 32) the images' SHA-256, `sizes` (n, 2) their width and height, `offsets` (n + 1)
where each image's features start, `points` (N, 2) float32, `descriptors` (N, 128) uint8, and,
with a vocabulary, the inverted file: `postings` (the images having each word, by word),
`starts` (K + 1, where each word's postings start) and `df` (K, images per word).
Adding writes a segment; small segments merge as in an LSM tree. The vocabulary is trained
on the workspace's own descriptors (k-means, one thread, fixed seed: the same images give the
same words), first at TRAIN_IMAGES images, again as the index doubles, until it has MAX_WORDS
words; below TRAIN_IMAGES every image is a candidate.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cairn.core.records import LocalFeatures
from cairn.matching.local_features import Features, Verified, root_sift, verify

FORMAT = "cairn-feature-index"
VERSION = 1
TRAIN_IMAGES = 64  # below this, every image is a candidate (verification is cheap enough)
MIN_WORDS = 256
MAX_WORDS = 4096
POINTS_PER_WORD = 40  # k-means wants this many training descriptors per centroid
MERGE_RATIO = 4
CANDIDATES = 48  # images verified per query (bench/similarity.py: candidate recall)
ARRAYS = ("keys", "sizes", "offsets", "points", "descriptors")
WORD_ARRAYS = ("postings", "starts", "df")


@dataclass(frozen=True)
class Found:
    sha256: str
    verified: Verified


class _Segment:
    def __init__(self, name: str, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.name = name
        self.arrays = arrays

    def __len__(self) -> int:
        return int(self.arrays["keys"].shape[0])

    def features(self, row: int) -> Features:
        start, end = int(self.arrays["offsets"][row]), int(self.arrays["offsets"][row + 1])
        width, height = (int(v) for v in self.arrays["sizes"][row])
        return Features(
            width,
            height,
            np.asarray(self.arrays["points"][start:end]),
            np.asarray(self.arrays["descriptors"][start:end]),
        )

    def shas(self) -> list[str]:
        return [bytes(key).hex() for key in np.asarray(self.arrays["keys"])]


class FeatureIndex:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.vocabulary: npt.NDArray[np.float32] | None = None
        self.trained_on = 0  # descriptors the vocabulary was trained on
        self._segments: list[_Segment] = []
        self._where: dict[str, tuple[int, int]] = {}
        self._load()

    # Reading --------------------------------------------------------------------------------

    def _load(self) -> None:
        self.vocabulary, self.trained_on, self._segments = None, 0, []
        manifest_path = self.folder / "manifest.json"
        if manifest_path.is_file():
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
                raise ValueError(f"{self.folder}: not a {FORMAT} version {VERSION} folder")
            if manifest.get("vocabulary"):
                self.vocabulary = np.load(self.folder / manifest["vocabulary"])
                self.trained_on = int(manifest["trained_on"])
            for name in manifest["segments"]:
                stems = ARRAYS + (WORD_ARRAYS if self.vocabulary is not None else ())
                arrays = {
                    stem: np.load(self.folder / name / f"{stem}.npy", mmap_mode="r")
                    for stem in stems
                }
                self._segments.append(_Segment(name, arrays))
        self._where = {
            sha: (s, row)
            for s, segment in enumerate(self._segments)
            for row, sha in enumerate(segment.shas())
        }

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, sha256: object) -> bool:
        return sha256 in self._where

    def features(self, sha256: str) -> Features:
        segment, row = self._where[sha256]
        return self._segments[segment].features(row)

    def nbytes(self) -> int:
        """Bytes on disk: segments, vocabulary and manifest."""
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())

    # Writing --------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time (two ingests into one workspace), on the folder's lock file;
        the index is reloaded inside so that nobody's segment is lost."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._load()
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def add(self, items: Iterable[tuple[str, LocalFeatures]]) -> list[str]:
        """Index the images not yet indexed (features of none are skipped); returns the SHA-256
        of those added, in the order given."""
        with self._locked():
            fresh: dict[str, Features] = {}
            for sha, record in items:
                if record.count and sha not in self._where and sha not in fresh:
                    fresh[sha] = Features.of(record)
            if not fresh:
                return []
            arrays = _segment_arrays(list(fresh.items()))
            if self.vocabulary is not None:
                arrays.update(_word_arrays(arrays, self.vocabulary))
            self._segments.append(self._write_segment(arrays))
            self._merge_small()
            total = sum(len(s.arrays["descriptors"]) for s in self._segments)
            images = sum(len(s) for s in self._segments)
            if images >= TRAIN_IMAGES and (
                self.vocabulary is None
                or (len(self.vocabulary) < MAX_WORDS and total >= 2 * self.trained_on)
            ):
                self._train()
            self._save_manifest()
            self._where = {
                sha: (s, row)
                for s, segment in enumerate(self._segments)
                for row, sha in enumerate(segment.shas())
            }
            return list(fresh)

    def _write_segment(self, arrays: dict[str, npt.NDArray[Any]]) -> _Segment:
        name = f"seg-{uuid.uuid4().hex}"
        staging = self.folder / f".{name}.tmp"
        staging.mkdir(parents=True)
        for stem, array in arrays.items():
            np.save(staging / f"{stem}.npy", np.ascontiguousarray(array), allow_pickle=False)
        staging.rename(self.folder / name)
        return _Segment(
            name, {k: np.load(self.folder / name / f"{k}.npy", mmap_mode="r") for k in arrays}
        )

    def _merge_small(self) -> None:
        while len(self._segments) > 1 and len(self._segments[-2]) < MERGE_RATIO * len(
            self._segments[-1]
        ):
            last, before = self._segments.pop(), self._segments.pop()
            arrays = _concatenate([before, last])
            if self.vocabulary is not None:
                arrays.update(_word_arrays(arrays, self.vocabulary))
            self._segments.append(self._write_segment(arrays))

    def _train(self) -> None:
        """(Re)train the vocabulary on every stored descriptor, then give every segment words."""
        import faiss

        descriptors = np.concatenate([np.asarray(s.arrays["descriptors"]) for s in self._segments])
        words = int(
            min(MAX_WORDS, max(MIN_WORDS, 2 ** int(np.log2(len(descriptors) / POINTS_PER_WORD))))
        )
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # k-means sums in a fixed order: the same words each time
        try:
            kmeans = faiss.Kmeans(
                128, words, niter=12, seed=1234, max_points_per_centroid=64, verbose=False
            )
            kmeans.train(root_sift(descriptors))
        finally:
            faiss.omp_set_num_threads(threads)
        self.vocabulary = np.asarray(kmeans.centroids, np.float32)
        self.trained_on = len(descriptors)
        np.save(self.folder / ".vocabulary.tmp.npy", self.vocabulary, allow_pickle=False)
        os.replace(self.folder / ".vocabulary.tmp.npy", self.folder / "vocabulary.npy")
        self._segments = [
            self._write_segment(
                {
                    **{k: np.asarray(s.arrays[k]) for k in ARRAYS},
                    **_word_arrays(s.arrays, self.vocabulary),
                }
            )
            for s in self._segments
        ]

    def _save_manifest(self) -> None:
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "vocabulary": "vocabulary.npy" if self.vocabulary is not None else None,
            "words": 0 if self.vocabulary is None else len(self.vocabulary),
            "trained_on": self.trained_on,
            "segments": [s.name for s in self._segments],
        }
        staging = self.folder / ".manifest.json.tmp"
        staging.write_text(json.dumps(manifest, indent=1))
        os.replace(staging, self.folder / "manifest.json")
        keep = {s.name for s in self._segments}
        for entry in self.folder.iterdir():
            if entry.is_dir() and entry.name not in keep:
                shutil.rmtree(entry)

    # Searching ------------------------------------------------------------------------------

    def candidates(
        self, query: Features, count: int = CANDIDATES, exclude: Sequence[str] = ()
    ) -> list[str]:
        """The images most likely to verify against the query (or its mirror image), best
        first: shared visual words weighted by idf², over the square root of the image's
        word count. Without a vocabulary, every image."""
        skip = set(exclude)
        if self.vocabulary is None:
            return [sha for sha in sorted(self._where) if sha not in skip]
        words = np.unique(
            np.concatenate(
                [
                    _assign(query.descriptors, self.vocabulary),
                    _assign(query.mirrored().descriptors, self.vocabulary),
                ]
            )
        )
        df = sum(np.asarray(s.arrays["df"], np.int64) for s in self._segments)
        idf = np.log((len(self._where) + 1) / (np.asarray(df)[words] + 1)).astype(np.float32)
        ranked: list[tuple[float, str]] = []
        for segment in self._segments:
            starts = segment.arrays["starts"]
            postings = segment.arrays["postings"]
            lo, hi = starts[words], starts[words + 1]
            lengths = (hi - lo).astype(np.int64)
            if not lengths.sum():
                continue
            rows = np.concatenate([postings[a:b] for a, b in zip(lo, hi, strict=True)])
            weights = np.repeat(idf * idf, lengths)
            offsets = np.asarray(segment.arrays["offsets"])
            scores = np.bincount(rows, weights=weights, minlength=len(segment)) / np.sqrt(
                np.maximum(np.diff(offsets), 1)
            )
            top = np.argsort(-scores, kind="stable")[: count + len(skip)]
            keys = segment.shas() if len(segment) <= 4 * count else None
            for row in top.tolist():
                if scores[row] <= 0:
                    break
                sha = keys[row] if keys is not None else bytes(segment.arrays["keys"][row]).hex()
                if sha not in skip:
                    ranked.append((-float(scores[row]), sha))
        ranked.sort()
        return [sha for _, sha in ranked[:count]]

    def search(
        self,
        query: Features,
        count: int = CANDIDATES,
        exclude: Sequence[str] = (),
        min_inliers: int | None = None,
    ) -> list[Found]:
        """Verified images, best score first (ties by SHA-256)."""
        found = []
        for sha in self.candidates(query, count, exclude):
            if min_inliers is None:
                verified, _why = verify(query, self.features(sha))
            else:
                verified, _why = verify(query, self.features(sha), min_inliers)
            if verified is not None:
                found.append(Found(sha, verified))
        found.sort(key=lambda f: (-f.verified.score, f.sha256))
        return found


def _segment_arrays(items: list[tuple[str, Features]]) -> dict[str, npt.NDArray[Any]]:
    counts = [len(f) for _, f in items]
    return {
        "keys": np.frombuffer(b"".join(bytes.fromhex(s) for s, _ in items), np.uint8).reshape(
            -1, 32
        ),
        "sizes": np.array([(f.width, f.height) for _, f in items], np.int32).reshape(-1, 2),
        "offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "points": np.concatenate([f.points for _, f in items]).astype(np.float32),
        "descriptors": np.concatenate([f.descriptors for _, f in items]).astype(np.uint8),
    }


def _concatenate(segments: list[_Segment]) -> dict[str, npt.NDArray[Any]]:
    arrays = {k: np.concatenate([np.asarray(s.arrays[k]) for s in segments]) for k in ARRAYS}
    ends = []
    base = 0
    for s in segments:
        offsets = np.asarray(s.arrays["offsets"])
        ends.append(offsets[1:] + base)
        base += int(offsets[-1])
    arrays["offsets"] = np.concatenate([[0], *ends]).astype(np.int64)
    return arrays


def _assign(
    descriptors: npt.NDArray[np.uint8], vocabulary: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """The nearest word of each descriptor (exact, by blocks to bound memory)."""
    import faiss

    if not len(descriptors):
        return np.empty(0, np.int64)
    index = faiss.IndexFlatL2(vocabulary.shape[1])
    index.add(vocabulary)
    _distances, nearest = index.search(root_sift(descriptors), 1)
    return np.asarray(nearest[:, 0], np.int64)


def _word_arrays(
    arrays: dict[str, npt.NDArray[Any]], vocabulary: npt.NDArray[np.float32]
) -> dict[str, npt.NDArray[Any]]:
    """Words of every descriptor, and the inverted file: each image once per word it has."""
    words = _assign(np.asarray(arrays["descriptors"]), vocabulary)
    offsets = np.asarray(arrays["offsets"])
    images = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    pairs = np.unique(words * (len(offsets)) + images)  # (word, image) once each, sorted
    by_word, image = np.divmod(pairs, len(offsets))
    starts = np.searchsorted(by_word, np.arange(len(vocabulary) + 1)).astype(np.int64)
    return {
        "postings": image.astype(np.int32),
        "starts": starts,
        "df": np.diff(starts).astype(np.int32),
    }
