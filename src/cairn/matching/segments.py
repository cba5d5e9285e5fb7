"""Segmented, memory-mapped index folders shared by the PDQ and digest indexes: immutable segments
merged as in an LSM tree, replaced atomically. Folder layout: docs/matching.md."""

from __future__ import annotations

import abc
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import numpy as np
import numpy.typing as npt

from cairn.core.errors import CairnError

MANIFEST = "manifest.json"
SEGMENT_META = "segment.json"
MERGE_RATIO = 4
_SEGMENT_NAME = re.compile(r"seg-[0-9a-f]{32}")


class IndexFileError(CairnError):
    """An index folder is missing, of another kind or version, or inconsistent."""


class Segment(abc.ABC):
    """One immutable part of an index: fixed-width keys with an int64 id each."""

    def __init__(self, name: str, ids: npt.NDArray[np.int64]) -> None:
        self.name = name
        self.ids = ids

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    @abc.abstractmethod
    def build(cls, keys: npt.NDArray[np.uint8], ids: npt.NDArray[np.int64], name: str) -> Self:
        """Build a segment from validated keys (N, width) and ids (N,)."""

    @classmethod
    @abc.abstractmethod
    def from_arrays(
        cls, name: str, arrays: Mapping[str, np.ndarray[Any, Any]], meta: Mapping[str, Any]
    ) -> Self:
        """Rebuild a segment from its loaded (memory-mapped) arrays and metadata."""

    @abc.abstractmethod
    def keys(self) -> npt.NDArray[np.uint8]:
        """The keys as (N, width) uint8, in any order matching `ids` (used for merging)."""

    @abc.abstractmethod
    def arrays(self) -> dict[str, np.ndarray[Any, Any]]:
        """The arrays to persist, by file stem."""

    @abc.abstractmethod
    def meta(self) -> dict[str, Any]:
        """JSON-serialisable metadata needed by `from_arrays`."""

    def nbytes(self) -> int:
        return sum(int(array.nbytes) for array in self.arrays().values())


S = TypeVar("S", bound=Segment)
T = TypeVar("T")
R = TypeVar("R")


def default_threads() -> int:
    return len(os.sched_getaffinity(0))


def run_all(function: Callable[[T], R], items: Iterable[T], threads: int) -> list[R]:
    """Map over threads: the compiled kernels release the GIL, so threads use every core."""
    work = list(items)
    if threads <= 1 or len(work) <= 1:
        return [function(item) for item in work]
    with ThreadPoolExecutor(max_workers=min(threads, len(work))) as pool:
        return list(pool.map(function, work))


def new_segment_name() -> str:
    return f"seg-{uuid.uuid4().hex}"


def replace_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write `path` whole or not at all: a reader sees the old file or the new one."""
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(json.dumps(data, indent=1))
    os.replace(staging, path)


def check_keys(
    keys: npt.ArrayLike, ids: npt.ArrayLike, width: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Validate and normalise (N, width) uint8 keys and (N,) int64 ids; never casts silently."""
    key_array = np.asarray(keys)
    id_array = np.asarray(ids)
    if key_array.dtype != np.uint8 or key_array.ndim != 2 or key_array.shape[1] != width:
        raise ValueError(
            f"keys must be uint8 of shape (N, {width}), got {key_array.dtype} {key_array.shape}"
        )
    if id_array.dtype != np.int64 or id_array.shape != (key_array.shape[0],):
        raise ValueError(
            f"ids must be int64 of shape ({key_array.shape[0]},), "
            f"got {id_array.dtype} {id_array.shape}"
        )
    return np.ascontiguousarray(key_array), np.ascontiguousarray(id_array)


def check_queries(queries: npt.ArrayLike, width: int) -> npt.NDArray[np.uint8]:
    array = np.asarray(queries)
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != width:
        raise ValueError(
            f"queries must be uint8 of shape (Q, {width}), got {array.dtype} {array.shape}"
        )
    return np.ascontiguousarray(array)


def hex_to_array(values: Sequence[str], width: int) -> npt.NDArray[np.uint8]:
    """Hex strings (any case) to an (N, width) uint8 array; a bad value names its position."""
    out = np.empty((len(values), width), np.uint8)
    for position, text in enumerate(values):
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"value {position}: not hexadecimal: {text!r}") from None
        if len(raw) != width:
            raise ValueError(f"value {position}: {len(raw)} bytes, expected {width}: {text!r}")
        out[position] = np.frombuffer(raw, np.uint8)
    return out


class SegmentedIndex(abc.ABC, Generic[S]):
    """Segments searched together, merged occasionally, saved as files (docs/matching.md)."""

    FORMAT: ClassVar[str]
    VERSION: ClassVar[int] = 1
    segment_type: type[S]

    def __init__(self) -> None:
        self._segments: list[S] = []

    @property
    @abc.abstractmethod
    def key_width(self) -> int:
        """Bytes per key."""

    @abc.abstractmethod
    def settings(self) -> dict[str, Any]:
        """Index-wide settings stored in the manifest and passed back to `from_settings`."""

    @classmethod
    @abc.abstractmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        """An empty index with the settings read from a manifest."""

    def __len__(self) -> int:
        return sum(len(segment) for segment in self._segments)

    @property
    def segment_sizes(self) -> list[int]:
        return [len(segment) for segment in self._segments]

    def nbytes(self) -> int:
        """Bytes held by the index arrays (resident or mapped)."""
        return sum(segment.nbytes() for segment in self._segments)

    def build(self, keys: npt.ArrayLike, ids: npt.ArrayLike) -> None:
        """Replace the whole content with these entries, as one segment."""
        key_array, id_array = check_keys(keys, ids, self.key_width)
        self._segments = []
        if key_array.shape[0]:
            self._segments.append(self._build_segment(key_array, id_array))

    def add(self, keys: npt.ArrayLike, ids: npt.ArrayLike) -> None:
        """Add entries as a new segment, merged with the trailing segments of similar size.

        The merge is decided before building, so the new entries are built once, together
        with the segments they absorb.
        """
        key_array, id_array = check_keys(keys, ids, self.key_width)
        if not key_array.shape[0]:
            return
        size, absorbed = key_array.shape[0], 0
        while absorbed < len(self._segments):
            previous = len(self._segments[-1 - absorbed])
            if size * MERGE_RATIO < previous:
                break
            size += previous
            absorbed += 1
        self._replace_tail(absorbed, key_array, id_array)

    def compact(self) -> None:
        """Merge all segments into one (fastest searches; costs one full rebuild)."""
        if len(self._segments) > 1:
            width = self.key_width
            self._replace_tail(
                len(self._segments), np.empty((0, width), np.uint8), np.empty(0, np.int64)
            )

    def entries(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        """Every stored (key, id), segment after segment: what a rebuild in another layout
        starts from."""
        width = self.key_width
        return (
            np.concatenate([np.empty((0, width), np.uint8), *(s.keys() for s in self._segments)]),
            np.concatenate([np.empty(0, np.int64), *(np.asarray(s.ids) for s in self._segments)]),
        )

    def _replace_tail(
        self, count: int, keys: npt.NDArray[np.uint8], ids: npt.NDArray[np.int64]
    ) -> None:
        """Replace the last `count` segments and these new entries by one new segment."""
        parts = self._segments[len(self._segments) - count :]
        all_keys = np.concatenate([*(segment.keys() for segment in parts), keys])
        all_ids = np.concatenate([*(np.asarray(segment.ids) for segment in parts), ids])
        self._segments[len(self._segments) - count :] = [self._build_segment(all_keys, all_ids)]

    def _build_segment(self, keys: npt.NDArray[np.uint8], ids: npt.NDArray[np.int64]) -> S:
        return self.segment_type.build(keys, ids, new_segment_name())

    def save(self, folder: str | os.PathLike[str]) -> None:
        """Write new segments, then the manifest, then drop segments no longer named."""
        root = Path(folder)
        self.write_segments(root)
        replace_json(root / MANIFEST, self.manifest())
        self.drop_unnamed(root)

    def write_segments(self, root: Path) -> None:
        """Write the segments `root` does not hold yet (each renamed into place when whole)."""
        root.mkdir(parents=True, exist_ok=True)
        for segment in self._segments:
            target = root / segment.name
            if (target / SEGMENT_META).is_file():
                continue  # segments are immutable: one saved before is still valid
            staging = root / f".{segment.name}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            for stem, array in segment.arrays().items():
                np.save(staging / f"{stem}.npy", np.ascontiguousarray(array), allow_pickle=False)
            (staging / SEGMENT_META).write_text(json.dumps(segment.meta()))
            staging.rename(target)

    def manifest(self) -> dict[str, Any]:
        """What `from_manifest` needs to open the segments again: format, settings, segments."""
        return {
            "format": self.FORMAT,
            "version": self.VERSION,
            **self.settings(),
            "segments": [{"name": s.name, "count": len(s)} for s in self._segments],
        }

    def drop_unnamed(self, root: Path) -> None:
        """Delete the segment folders under `root` that this index does not hold."""
        keep = {segment.name for segment in self._segments}
        for entry in root.iterdir():
            if _SEGMENT_NAME.fullmatch(entry.name) and entry.name not in keep:
                shutil.rmtree(entry)

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Self:
        """Open a saved index; arrays are memory-mapped read-only, nothing is copied."""
        root = Path(folder)
        try:
            manifest = json.loads((root / MANIFEST).read_text())
        except FileNotFoundError:
            raise IndexFileError(f"{root}: no {MANIFEST}: not an index folder") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise IndexFileError(f"{root / MANIFEST}: unreadable: {exc}") from None
        return cls.from_manifest(root, manifest)

    @classmethod
    def from_manifest(cls, root: Path, manifest: Any) -> Self:
        """Open the segments under `root` that `manifest` (as `manifest()` made it) names."""
        if not isinstance(manifest, dict) or manifest.get("format") != cls.FORMAT:
            raise IndexFileError(f"{root}: not a {cls.FORMAT} folder")
        if manifest.get("version") != cls.VERSION:
            raise IndexFileError(
                f"{root}: {cls.FORMAT} version {manifest.get('version')!r}, "
                f"this Cairn reads version {cls.VERSION}"
            )
        try:
            index = cls.from_settings(manifest)
        except (TypeError, ValueError) as exc:
            raise IndexFileError(f"{root / MANIFEST}: {exc}") from None
        for entry in manifest.get("segments", []):
            name = str(entry.get("name", ""))
            if not _SEGMENT_NAME.fullmatch(name):
                raise IndexFileError(f"{root}: bad segment name {name!r}")
            segment = _load_segment(index.segment_type, root / name)
            if len(segment) != entry.get("count"):
                raise IndexFileError(
                    f"{root / name}: {len(segment)} entries, manifest says {entry.get('count')}"
                )
            index._segments.append(segment)
        return index


def _load_segment(segment_type: type[S], folder: Path) -> S:
    try:
        meta = json.loads((folder / SEGMENT_META).read_text())
        arrays = {
            path.stem: np.load(path, mmap_mode="r", allow_pickle=False)
            for path in sorted(folder.glob("*.npy"))
        }
        return segment_type.from_arrays(folder.name, arrays, meta)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexFileError(f"{folder}: {exc}") from None
