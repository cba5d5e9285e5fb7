"""The workspace's local-feature index: the features of every image and of some keyframes of
every video, and visual words with an inverted file that proposes candidates for
verification. Layout and costs: docs/similarity.md.

An entry is a picture: a still image (its SHA-256) or one keyframe of a video (its SHA-256 and
the keyframe's time). A search returns each media item once, at its best entry.

Folder `<workspace>/indexes/features/`: `manifest.json`, `coarse.npy` and `vocabulary.npy`
(matching.visual_words) once trained, and immutable segments `seg-<32 hex>/` of numpy arrays
(loaded memory-mapped): `keys` (n, 32) the entries' SHA-256, `times` (n) int64 a keyframe's
time in microseconds (STILL for a picture; absent before version 3: all pictures), `sizes`
(n, 2) their width and height, `offsets` (n + 1) where each entry's features start,
`points` (N, 2) float32,
`descriptors` (N, 128) uint8, and, with a vocabulary, `words` (N) and the inverted file:
`postings` (the entries having each word, by word) and `starts` (K + 1, where each word's
postings start). Adding writes a segment; small segments merge as in an LSM tree. The
vocabulary is trained on the workspace's own descriptors when an ingest ends (train_if_due),
first at TRAIN_IMAGES images, again as the index doubles, until it has MAX_WORDS words; until
then every image is a candidate.
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
from cairn.matching.local_features import Features, Verified, verify
from cairn.matching.visual_words import Vocabulary, train

FORMAT = "cairn-feature-index"
VERSION = 3  # 2: no keyframes; 1: one flat vocabulary of at most 4,096 words (retrained)
STILL = -1  # the time of an entry that is a picture, not a video keyframe
TRAIN_IMAGES = 64  # below this, every image is a candidate (verification is cheap enough)
MIN_WORDS = 256
MAX_WORDS = 65536
POINTS_PER_WORD = 16  # training descriptors per word
TRAIN_DESCRIPTORS = MAX_WORDS * POINTS_PER_WORD  # a sample of the index, evenly spread
MERGE_RATIO = 4
CANDIDATES = 48  # images verified per query (bench/similarity.py: candidate recall)
EXPLAINING = 8  # the first vote's best images, whose shared words...
EXPLAINED_BY = 2  # ...when this many of them have one, are left out of the second vote
ARRAYS = ("keys", "times", "sizes", "offsets", "points", "descriptors")
WORD_ARRAYS = ("words", "postings", "starts")


Key = tuple[str, int]  # an entry: SHA-256, and time in microseconds or STILL


@dataclass(frozen=True)
class _Hits:
    """Postings of a query's words: for each, the word (its place among the query's words)
    and the entry (its row across the segments)."""

    word: npt.NDArray[np.int64]
    image: npt.NDArray[np.int64]


@dataclass(frozen=True)
class Found:
    sha256: str
    verified: Verified
    time: float | None = None  # the video keyframe that verified, in seconds; None: a picture


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

    def keys(self) -> list[Key]:
        times = np.asarray(self.arrays["times"]).tolist()
        return [
            (bytes(key).hex(), time)
            for key, time in zip(np.asarray(self.arrays["keys"]), times, strict=True)
        ]


class FeatureIndex:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.vocabulary: Vocabulary | None = None
        self.trained_on = 0  # descriptors the vocabulary was trained on
        self._segments: list[_Segment] = []
        self._where: dict[Key, tuple[int, int]] = {}
        self._times: dict[str, list[int]] = {}  # each media item's entries
        self._load()

    # Reading --------------------------------------------------------------------------------

    def _load(self) -> None:
        self.vocabulary, self.trained_on, self._segments = None, 0, []
        manifest_path = self.folder / "manifest.json"
        if manifest_path.is_file():
            manifest = json.loads(manifest_path.read_text())
            version = manifest.get("version")
            if manifest.get("format") != FORMAT or version not in (1, 2, VERSION):
                raise ValueError(f"{self.folder}: not a {FORMAT} version {VERSION} folder")
            # A version 1 index keeps its features; its words are trained again at the next add.
            if manifest.get("vocabulary") and version != 1:
                self.vocabulary = Vocabulary.load(self.folder)
                self.trained_on = int(manifest["trained_on"])
            for name in manifest["segments"]:
                stems = ARRAYS + (WORD_ARRAYS if self.vocabulary is not None else ())
                arrays = {
                    stem: np.load(path, mmap_mode="r")
                    for stem in stems
                    if (path := self.folder / name / f"{stem}.npy").is_file() or stem != "times"
                }
                if "times" not in arrays:  # written before version 3: pictures only
                    arrays["times"] = np.full(len(arrays["keys"]), STILL, np.int64)
                # A version 2 index keeps its words: a picture's are the same in version 3.
                self._segments.append(_Segment(name, arrays))
        self._locate()

    def _locate(self) -> None:
        """Where each entry is: its segment and row, and its row across the segments."""
        self._where = {
            key: (s, row)
            for s, segment in enumerate(self._segments)
            for row, key in enumerate(segment.keys())
        }
        self._times = {}
        for sha, time in sorted(self._where):
            self._times.setdefault(sha, []).append(time)
        sizes = [len(s) for s in self._segments]
        self._bases = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self._feature_counts = np.concatenate(
            [np.empty(0)] + [np.diff(np.asarray(s.arrays["offsets"])) for s in self._segments]
        ).astype(np.float64)

    def __len__(self) -> int:
        """Entries: pictures and video keyframes."""
        return len(self._where)

    def __contains__(self, sha256: object) -> bool:
        """Whether a media item has an entry."""
        return sha256 in self._times

    def times(self, sha256: str) -> list[float | None]:
        """A media item's entries: None for a picture, else its keyframes' times (seconds)."""
        return [_seconds(time) for time in self._times[sha256]]

    def entries(self) -> list[tuple[str, float | None]]:
        """Every entry, ordered: SHA-256 and time (None for a picture)."""
        return [(sha, _seconds(time)) for sha, time in sorted(self._where)]

    def features(self, sha256: str, time: float | None = None) -> Features:
        segment, row = self._where[(sha256, _microseconds(time))]
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
        """Index the pictures and keyframes (LocalFeatures.time) not yet indexed (features of
        none are skipped); returns the SHA-256 of the media items given entries, in the order
        given."""
        with self._locked():
            fresh: dict[Key, Features] = {}
            for sha, record in items:
                key = (sha, _microseconds(record.time))
                if record.count and key not in self._where and key not in fresh:
                    fresh[key] = Features.of(record)
            if not fresh:
                return []
            arrays = _segment_arrays(list(fresh.items()))
            if self.vocabulary is not None:
                words = self.vocabulary.words(arrays["descriptors"])
                arrays.update(_word_arrays(arrays, words, self.vocabulary))
            self._segments.append(self._write_segment(arrays))
            self._merge_small()
            self._save_manifest()
            self._locate()
            return list(dict.fromkeys(sha for sha, _time in fresh))

    def train_if_due(self) -> bool:
        """Train the vocabulary when the index first reaches TRAIN_IMAGES images, and again
        each time it doubles until it has MAX_WORDS words. Called when an ingest ends, not as
        batches arrive: the index then holds the same images whatever order the workers
        finished in, and the same images give the same words."""
        with self._locked():
            total = sum(len(s.arrays["descriptors"]) for s in self._segments)
            due = len(self) >= TRAIN_IMAGES and (
                self.vocabulary is None
                or (len(self.vocabulary) < MAX_WORDS and total >= 2 * self.trained_on)
            )
            if due:
                self._train()
                self._save_manifest()
            return due

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
                words = np.concatenate([before.arrays["words"], last.arrays["words"]])
                arrays.update(_word_arrays(arrays, words, self.vocabulary))
            self._segments.append(self._write_segment(arrays))

    def _train(self) -> None:
        """(Re)train the vocabulary on the stored descriptors (an even sample of them, at most
        TRAIN_DESCRIPTORS), then give every segment words."""
        total = sum(len(s.arrays["descriptors"]) for s in self._segments)
        step = -(-total // TRAIN_DESCRIPTORS)
        # The entries in the order of their keys, not of their segments: the same sample
        # whichever batches brought them.
        parts, seen = [], 0
        for sha, time in self.entries():
            descriptors = self.features(sha, time).descriptors
            parts.append(descriptors[-seen % step :: step])
            seen += len(descriptors)
        sample = np.concatenate(parts)
        words = int(min(MAX_WORDS, max(MIN_WORDS, 2 ** int(np.log2(total / POINTS_PER_WORD)))))
        self.vocabulary = train(sample, words)
        self.trained_on = total
        self.vocabulary.save(self.folder)
        self._segments = [
            self._write_segment(
                {
                    **{k: np.asarray(s.arrays[k]) for k in ARRAYS},
                    **_word_arrays(
                        s.arrays, self.vocabulary.words(s.arrays["descriptors"]), self.vocabulary
                    ),
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
    ) -> list[tuple[str, float | None]]:
        """The entries most likely to verify against the query (or its mirror image), best
        first, as (SHA-256, time); without a vocabulary, every entry. `exclude` leaves out
        every entry of those media items.

        Two votes, taken in turns: every word of the query, then only the words that the
        first vote's best images do not explain. A screenshot framing a picture shares its
        app's bars and text with every other screenshot of that app: those outvote the
        picture's original in the first vote, and are left out of the second."""
        skip = set(exclude)
        if self.vocabulary is None:
            return [(sha, time) for sha, time in self.entries() if sha not in skip]
        words = np.unique(
            np.concatenate(
                [
                    self.vocabulary.words(query.descriptors),
                    self.vocabulary.words(query.mirrored().descriptors),
                ]
            )
        )
        hits = self._hits(words)
        df = np.bincount(hits.word, minlength=len(words))
        # idf², in whole 64ths: sums of whole numbers do not depend on the postings' order.
        weights = np.rint(64 * np.log((len(self) + 1) / (df + 1)) ** 2)
        excluded = [self._row(key) for sha in skip for key in self._keys_of(sha)]
        first = self._vote(hits, weights, excluded, count)
        explaining = np.isin(hits.image, first[:EXPLAINING])
        explained = np.bincount(hits.word[explaining], minlength=len(words)) >= EXPLAINED_BY
        second = self._vote(hits, np.where(explained, 0.0, weights), excluded, count)
        chosen: dict[int, None] = {}
        for pair in zip(first, second, strict=False):
            chosen.update(dict.fromkeys(pair))
        chosen.update(dict.fromkeys(first + second))
        return [_entry(self._key(row)) for row in list(chosen)[:count]]

    def _hits(self, words: npt.NDArray[np.int64]) -> _Hits:
        """The postings of these words in every segment."""
        found_words, found_images = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        for segment, base in zip(self._segments, self._bases.tolist(), strict=False):
            starts, postings = segment.arrays["starts"], segment.arrays["postings"]
            lo, hi = np.asarray(starts[words]), np.asarray(starts[words + 1])
            lengths = hi - lo
            if lengths.sum():
                found_words.append(np.repeat(np.arange(len(words)), lengths))
                rows = [np.asarray(postings[a:b]) for a, b in zip(lo, hi, strict=True)]
                found_images.append(base + np.concatenate(rows).astype(np.int64))
        return _Hits(np.concatenate(found_words), np.concatenate(found_images))

    def _vote(
        self, hits: _Hits, weights: npt.NDArray[np.float64], excluded: list[int], count: int
    ) -> list[int]:
        """The `count` best rows: the weights of the words an entry shares with the query over
        the square root of its feature count; ties by key."""
        shared = np.bincount(hits.image, weights=weights[hits.word], minlength=len(self))
        scores = shared / np.sqrt(self._feature_counts)
        scores[excluded] = 0.0
        rows = np.flatnonzero(scores > 0)
        if len(rows) > count:  # every row tied with the last one kept stays in the running
            threshold = np.partition(scores[rows], len(rows) - count)[len(rows) - count]
            rows = rows[scores[rows] >= threshold]
        return sorted(rows.tolist(), key=lambda r: (-scores[r], self._key(r)))[:count]

    def _keys_of(self, sha256: str) -> list[Key]:
        return [(sha256, time) for time in self._times.get(sha256, ())]

    def _row(self, key: Key) -> int:
        segment, row = self._where[key]
        return int(self._bases[segment]) + row

    def _key(self, row: int) -> Key:
        segment = int(np.searchsorted(self._bases, row, side="right")) - 1
        arrays, row = self._segments[segment].arrays, row - int(self._bases[segment])
        return bytes(arrays["keys"][row]).hex(), int(arrays["times"][row])

    def search(
        self,
        query: Features,
        count: int = CANDIDATES,
        exclude: Sequence[str] = (),
        min_inliers: int | None = None,
    ) -> list[Found]:
        """Verified media items, best score first (ties by SHA-256 and time), each once: at
        its best entry."""
        found = []
        for sha, time in self.candidates(query, count, exclude):
            if min_inliers is None:
                verified, _why = verify(query, self.features(sha, time))
            else:
                verified, _why = verify(query, self.features(sha, time), min_inliers)
            if verified is not None:
                found.append(Found(sha, verified, time))
        found.sort(key=lambda f: (-f.verified.score, f.sha256, _microseconds(f.time)))
        best: dict[str, Found] = {}
        for f in found:
            best.setdefault(f.sha256, f)
        return list(best.values())


def _microseconds(time: float | None) -> int:
    return STILL if time is None else round(time * 1_000_000)


def _seconds(time: int) -> float | None:
    return None if time == STILL else time / 1_000_000


def _entry(key: Key) -> tuple[str, float | None]:
    return key[0], _seconds(key[1])


def _segment_arrays(items: list[tuple[Key, Features]]) -> dict[str, npt.NDArray[Any]]:
    counts = [len(f) for _, f in items]
    return {
        "keys": np.frombuffer(
            b"".join(bytes.fromhex(sha) for (sha, _), _ in items), np.uint8
        ).reshape(-1, 32),
        "times": np.array([time for (_, time), _ in items], np.int64),
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


def _word_arrays(
    arrays: dict[str, npt.NDArray[Any]], words: npt.NDArray[np.int64], vocabulary: Vocabulary
) -> dict[str, npt.NDArray[Any]]:
    """The word of every feature, and the inverted file: each entry once per word it has."""
    offsets = np.asarray(arrays["offsets"])
    images = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    pairs = np.unique(words * len(offsets) + images)  # (word, image) once each, sorted
    by_word, image = np.divmod(pairs, len(offsets))
    return {
        "words": words.astype(np.int32),
        "postings": image.astype(np.int32),
        "starts": np.searchsorted(by_word, np.arange(len(vocabulary) + 1)).astype(np.int64),
    }
