"""Known-file sets (NSRL scale) kept as workspace files, each entry a `known_hashes` row only once
it matches. Why, and the folder layout: docs/matching.md, "Known-file sets"."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Final, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from cairn.core.hash_kinds import BY_NAME, DIGEST_NAMES
from cairn.matching.digest_index import DigestIndex
from cairn.matching.segments import IndexFileError

FORMAT: Final = "cairn-known-files"
VERSION: Final = 1
SETS: Final = "sets"  # the folder under `<workspace>/indexes/`
META: Final = "set.json"
EXTRAS: Final = "extras.json"
# Entries per index segment: 4M entries hold 272 MB of digests while their segments are built,
# which bounds the import's memory whatever the set's size.
CHUNK_ROWS: Final = 1 << 22
READ_ROWS: Final = 65_536

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
Extra = tuple[tuple[str, str], ...]


class KnownFileEntry(NamedTuple):
    """One entry as the set's file gave it (lower-case hex digests)."""

    md5: str | None
    sha1: str | None
    sha256: str | None
    file_name: str | None
    size: int | None
    extra: Extra


def sets_folder(indexes: Path) -> Path:
    return indexes / SETS


class KnownFileWriter:
    """Writes one set's folder while its file is read, a batch of columns at a time, in memory
    bounded by CHUNK_ROWS whatever the set's size."""

    def __init__(self, indexes: Path, first_id: int, chunk_rows: int = CHUNK_ROWS) -> None:
        self.first_id = first_id
        self.count = 0
        self._chunk_rows = chunk_rows
        sets_folder(indexes).mkdir(parents=True, exist_ok=True)
        self.staging = sets_folder(indexes) / f".import-{uuid.uuid4().hex}"
        self.staging.mkdir()
        self._files: dict[str, BinaryIO] = {
            stem: (self.staging / f"{stem}.bin").open("wb")
            for stem in ("size", "extra", "name_end", "names")
        }
        self._names_end = 0
        self._pending: dict[str, list[tuple[U8, I64]]] = {kind: [] for kind in DIGEST_NAMES}
        self._pending_rows = 0
        self._indexes: dict[str, DigestIndex] = {}

    def add(
        self,
        digests: dict[str, U8 | None],
        names: Sequence[str | None],
        sizes: Sequence[int | None],
        extras: Sequence[int],
    ) -> None:
        """Append a batch: digest columns by kind ((n, width) bytes, zeros: none; None: no row
        has one), names ('' or None: none), sizes (None: unknown), indexes into the extras."""
        count = len(names)
        ids = np.arange(self.first_id + self.count, self.first_id + self.count + count)
        sha256 = digests.get("sha256")
        # Which rows each index takes (docs/matching.md): None is every row.
        without_sha256 = None if sha256 is None else np.asarray(~sha256.any(axis=1), np.bool_)
        for kind in DIGEST_NAMES:
            rows = without_sha256 if kind != "sha256" else None
            self._add_digests(kind, digests.get(kind), ids, rows)
        texts = cast(Sequence[str], [n or "" for n in names] if None in names else names)
        text = "".join(texts)
        blob = text.encode("utf-8", "surrogatepass")
        if len(blob) == len(text):  # ASCII, the usual case: a character is a byte
            lengths = np.fromiter(map(len, texts), np.int64, count)
        else:
            lengths = np.array([len(t.encode("utf-8", "surrogatepass")) for t in texts], np.int64)
        ends = np.cumsum(lengths, dtype=np.int64) + self._names_end
        self._names_end = int(ends[-1]) if count else self._names_end
        try:
            size_array = np.array(sizes, np.int64)
        except TypeError:  # None: unknown
            size_array = np.array([-1 if s is None else s for s in sizes], np.int64)
        self._files["names"].write(blob)
        self._files["name_end"].write(ends.astype("<u8").tobytes())
        self._files["size"].write(size_array.astype("<i8").tobytes())
        self._files["extra"].write(np.array(extras, "<u4").tobytes())
        self.count += count
        self._pending_rows += count
        if self._pending_rows >= self._chunk_rows:
            self._flush_indexes()

    def _add_digests(
        self, kind: str, column: U8 | None, ids: I64, rows: npt.NDArray[np.bool_] | None
    ) -> None:
        width = BY_NAME[kind].key_bytes
        file = self._files.get(kind)
        if column is None:
            if file is not None:
                file.write(bytes(width * len(ids)))
            return
        if file is None:  # the first batch with this digest: the entries before have none
            file = self._files[kind] = (self.staging / f"{kind}.bin").open("wb")
            file.write(bytes(width * self.count))
        file.write(column.tobytes())
        if rows is not None and not rows.any():
            return
        present = column.any(axis=1)
        if rows is not None:
            present &= rows
        if present.all():
            self._pending[kind].append((column, ids))
        else:
            self._pending[kind].append((column[present], ids[present]))

    def _flush_indexes(self) -> None:
        """Index the pending digests as one new segment per kind, saved and then memory-mapped,
        so that a chunk's arrays leave memory once written."""
        for kind, parts in self._pending.items():
            if not parts:
                continue
            index = self._indexes.get(kind) or DigestIndex(kind)
            index.append(
                np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
            )
            index.save(self.staging / kind)
            self._indexes[kind] = DigestIndex.load(self.staging / kind)
            parts.clear()
        self._pending_rows = 0

    def finish(self, hashset_id: int, source_sha256: str, extras: Sequence[Extra]) -> None:
        """Complete the folder (still under its temporary name: see `publish`)."""
        self._flush_indexes()
        for file in self._files.values():
            file.close()
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "hashset_id": hashset_id,
            "first_id": self.first_id,
            "count": self.count,
            "source_sha256": source_sha256,
            "digests": [kind for kind in DIGEST_NAMES if kind in self._files],
            "indexed": sorted(self._indexes),
        }
        # JSON writes the tuples as lists.
        (self.staging / EXTRAS).write_text(json.dumps(list(extras), separators=(",", ":")))
        (self.staging / META).write_text(json.dumps(meta))

    def publish(self, indexes: Path, hashset_id: int) -> Path:
        """Move the finished folder into place: matching sees the set from now on."""
        target = sets_folder(indexes) / str(hashset_id)
        shutil.rmtree(target, ignore_errors=True)  # left by an import whose commit failed
        os.replace(self.staging, target)
        return target

    def discard(self) -> None:
        for file in self._files.values():
            file.close()
        shutil.rmtree(self.staging, ignore_errors=True)


class KnownFileSet:
    """A published set folder, its column files memory-mapped. `extras`: the set's extras when
    the caller holds them (the import): extras.json is then not read."""

    def __init__(self, folder: Path, extras: Sequence[Extra] | None = None) -> None:
        self.folder = folder
        try:
            meta = json.loads((folder / META).read_text())
        except (OSError, ValueError) as exc:
            raise IndexFileError(f"{folder / META}: unreadable: {exc}") from None
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise IndexFileError(f"{folder}: not a {FORMAT} version {VERSION} folder")
        self.hashset_id = int(meta["hashset_id"])
        self.first_id = int(meta["first_id"])
        self.count = int(meta["count"])
        self.source_sha256 = str(meta["source_sha256"])
        self.digest_kinds: tuple[str, ...] = tuple(meta["digests"])
        self.indexed: tuple[str, ...] = tuple(meta["indexed"])
        # Read with the first entries otherwise.
        self._extras: Sequence[Sequence[Sequence[str]]] | None = extras

    def _column(self, stem: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
        if not shape[0]:
            return np.empty(shape, dtype)
        return np.memmap(self.folder / f"{stem}.bin", dtype, "r", shape=shape)

    def contains(self, known_id: int) -> bool:
        return self.first_id <= known_id < self.first_id + self.count

    def entries(self, positions: Sequence[int] | range) -> Iterator[KnownFileEntry]:
        """The entries at these positions (0 = the set's first), in that order."""
        where = np.asarray(positions, np.int64)
        columns: dict[str, list[str | None]] = {}
        for kind in DIGEST_NAMES:
            if kind not in self.digest_kinds:
                columns[kind] = [None] * len(where)
                continue
            rows = self._column(kind, "u1", (self.count, BY_NAME[kind].key_bytes))[where]
            present = np.asarray(rows.any(axis=1), np.bool_).tolist()
            columns[kind] = [
                row.hex() if has else None
                for row, has in zip(map(bytes, rows), present, strict=True)
            ]
        if self._extras is None:
            self._extras = json.loads((self.folder / EXTRAS).read_text())
        sizes = self._column("size", "<i8", (self.count,))[where].tolist()
        extras = self._column("extra", "<u4", (self.count,))[where].tolist()
        ends = self._column("name_end", "<u8", (self.count,))
        names = self._column("names", "u1", (int(ends[-1]) if self.count else 0,))
        for n, position in enumerate(where.tolist()):
            start = int(ends[position - 1]) if position else 0
            name = bytes(names[start : int(ends[position])]).decode("utf-8", "surrogatepass")
            yield KnownFileEntry(
                columns["md5"][n],
                columns["sha1"][n],
                columns["sha256"][n],
                name or None,
                None if sizes[n] < 0 else sizes[n],
                tuple((key, value) for key, value in self._extras[extras[n]]),
            )

    def __iter__(self) -> Iterator[KnownFileEntry]:
        """Every entry in file order, READ_ROWS at a time."""
        for start in range(0, self.count, READ_ROWS):
            yield from self.entries(range(start, min(start + READ_ROWS, self.count)))

    def digest_index_folders(self) -> dict[str, Path]:
        return {kind: self.folder / kind for kind in self.indexed}


def known_file_sets(indexes: Path) -> list[KnownFileSet]:
    """The published sets under `<indexes>/sets/`, by hash set id."""
    folder = sets_folder(indexes)
    if not folder.is_dir():
        return []
    found = [KnownFileSet(path) for path in folder.iterdir() if path.name.isdigit()]
    return sorted(found, key=lambda s: s.hashset_id)


def remove_known_file_set(indexes: Path, hashset_id: int) -> bool:
    """Delete a set's folder; False when it has none (a set stored as rows)."""
    target = sets_folder(indexes) / str(hashset_id)
    if not target.is_dir():
        return False
    # Renamed first: a matcher that lists the folders meanwhile sees it whole or not at all.
    doomed = sets_folder(indexes) / f".removed-{uuid.uuid4().hex}"
    os.replace(target, doomed)
    shutil.rmtree(doomed)
    return True
