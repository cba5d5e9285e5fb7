"""The workspace's PDQ index split by hash range into shards, so that one index can outgrow one
machine's memory: each shard is a PDQ index folder of its own that a different worker loads
(`cairn.cluster.matching`). Layout, growth and the shard-size setting: docs/matching.md.

One shard (the default) is today's plain PDQ index folder, byte for byte. A search asks every
shard and merges by (query, distance, id), so its rows equal the single index's exactly.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from cairn.core.config import positive_int_env
from cairn.core.thresholds import PDQ_MATCH_DISTANCE
from cairn.matching.pdq_index import HASH_BYTES, Method, PdqIndex, PdqMatches, merge_matches
from cairn.matching.segments import MANIFEST, IndexFileError, check_keys, replace_json

SHARDS_FILE = "shards.json"
FORMAT = "cairn-pdq-shards"
VERSION = 1
SHARD_HASHES_ENV = "CAIRN_PDQ_SHARD_HASHES"
PREFIX_BITS = 16  # a hash's shard is read from its first two bytes
MAX_SHARDS = 1 << PREFIX_BITS

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


def shard_numbers(keys: U8, shards: int) -> I64:
    """Each hash's shard: its first 16 bits (big-endian) scaled to 0..shards - 1, so a shard is
    a contiguous hash range and PDQ's near-uniform hashes fill the shards evenly."""
    prefix = keys[:, 0].astype(np.int64) << 8 | keys[:, 1]
    return (prefix * shards) >> PREFIX_BITS


def shard_hashes_setting() -> int | None:
    """Hashes per shard from CAIRN_PDQ_SHARD_HASHES (unset: no cap given)."""
    return positive_int_env(SHARD_HASHES_ENV)


def shard_name(number: int) -> str:
    return f"shard-{number:05d}"


@dataclass(frozen=True)
class ShardFiles:
    """Where one shard's files are and the manifest that names its segments: enough for a
    worker to open exactly the segments the client saw (segments are immutable)."""

    folder: Path
    manifest: dict[str, Any]

    def open(self) -> PdqIndex:
        return PdqIndex.from_manifest(self.folder, self.manifest)


class PdqShards:
    """Exact PDQ range search over `shards` PdqIndex parts split by hash range.

    With a `shard_hashes` limit, an add that would fill the shards past it re-splits the
    index into at least twice as many (a full rebuild, so rare: the shard count doubles);
    otherwise new hashes go to their shards as a new segment each, as the single index grows.
    """

    def __init__(self, shard_hashes: int | None = None, shards: int = 1) -> None:
        if not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"shards must be 1..{MAX_SHARDS}, got {shards}")
        self.shard_hashes = shard_hashes
        self._parts = [PdqIndex() for _ in range(shards)]

    @property
    def parts(self) -> Sequence[PdqIndex]:
        return tuple(self._parts)

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts)

    def nbytes(self) -> int:
        return sum(part.nbytes() for part in self._parts)

    def _shards_for(self, count: int) -> int:
        if self.shard_hashes is None:
            return 1
        return min(MAX_SHARDS, max(1, -(-count // self.shard_hashes)))

    def build(self, keys: npt.ArrayLike, ids: npt.ArrayLike) -> None:
        """Replace the whole content with these entries, in as many shards as the limit asks."""
        key_array, id_array = check_keys(keys, ids, HASH_BYTES)
        self._split(key_array, id_array, self._shards_for(len(key_array)))

    def add(self, keys: npt.ArrayLike, ids: npt.ArrayLike) -> None:
        """Add entries: a new segment in each shard they fall in, or a re-split (see class)."""
        key_array, id_array = check_keys(keys, ids, HASH_BYTES)
        needed = self._shards_for(len(self) + len(key_array))
        if needed > len(self._parts):
            old_keys, old_ids = zip(*(part.entries() for part in self._parts), strict=True)
            self._split(
                np.concatenate([*old_keys, key_array]),
                np.concatenate([*old_ids, id_array]),
                min(MAX_SHARDS, max(needed, 2 * len(self._parts))),
            )
            return
        numbers = shard_numbers(key_array, len(self._parts))
        for number, part in enumerate(self._parts):
            chosen = numbers == number
            part.add(key_array[chosen], id_array[chosen])

    def _split(self, keys: U8, ids: I64, shards: int) -> None:
        numbers = shard_numbers(keys, shards)
        self._parts = [PdqIndex() for _ in range(shards)]
        for number, part in enumerate(self._parts):
            chosen = numbers == number
            part.build(keys[chosen], ids[chosen])

    def search_arrays(
        self, queries: npt.ArrayLike, radius: int = PDQ_MATCH_DISTANCE, method: Method = "auto"
    ) -> PdqMatches:
        """Every (query, id, distance) within `radius`, by (query, distance, id): the rows of
        one PdqIndex holding every hash. A hash's neighbours lie in any hash range, so every
        shard is asked."""
        if len(self._parts) == 1:
            return self._parts[0].search_arrays(queries, radius, method)
        found = [part.search_arrays(queries, radius, method) for part in self._parts]
        return merge_matches([(f.query, f.id, f.distance) for f in found])

    def save(self, folder: str | os.PathLike[str]) -> None:
        """One shard: a plain PDQ index folder. Several: `shard-NNNNN/` folders of segments and
        `shards.json` naming them all, replaced atomically: a crash leaves the old index or the
        new one, whichever layout each has."""
        root = Path(folder)
        if len(self._parts) == 1:
            self._parts[0].save(root)
            (root / SHARDS_FILE).unlink(missing_ok=True)  # the plain manifest now rules
            _drop_shard_folders(root, keep=0)
            return
        for number, part in enumerate(self._parts):
            part.write_segments(root / shard_name(number))
        replace_json(
            root / SHARDS_FILE,
            {
                "format": FORMAT,
                "version": VERSION,
                "partition": f"first {PREFIX_BITS} bits, big-endian",
                "shard_hashes": self.shard_hashes,
                "shards": [
                    {"name": shard_name(number), "manifest": part.manifest()}
                    for number, part in enumerate(self._parts)
                ],
            },
        )
        for number, part in enumerate(self._parts):
            part.drop_unnamed(root / shard_name(number))
        _drop_shard_folders(root, keep=len(self._parts))
        (root / MANIFEST).unlink(missing_ok=True)  # a plain layout from before
        PdqIndex().drop_unnamed(root)

    @classmethod
    def load(cls, folder: str | os.PathLike[str], shard_hashes: int | None = None) -> Self:
        """Open a saved index (either layout), memory-mapped. `shard_hashes` replaces the
        limit it was saved with."""
        files = shard_files(Path(folder))
        if shard_hashes is None:
            shard_hashes = saved_shard_hashes(Path(folder))
        index = cls(shard_hashes, max(1, len(files)))
        index._parts = [shard.open() for shard in files] or [PdqIndex()]
        return index


def shard_files(folder: Path) -> list[ShardFiles]:
    """The shards of the index saved in `folder`, in shard order; none if there is no index."""
    if (folder / SHARDS_FILE).is_file():
        return [
            ShardFiles(folder / str(entry["name"]), dict(entry["manifest"]))
            for entry in _read_shards_file(folder)["shards"]
        ]
    if (folder / MANIFEST).is_file():
        return [ShardFiles(folder, _read_json(folder / MANIFEST))]
    return []


def saved_shard_hashes(folder: Path) -> int | None:
    """The cap a sharded index in `folder` was saved with (None: no cap, or one shard)."""
    if not (folder / SHARDS_FILE).is_file():
        return None
    cap = _read_shards_file(folder).get("shard_hashes")
    return None if cap is None else int(cap)


def _read_shards_file(folder: Path) -> dict[str, Any]:
    data = _read_json(folder / SHARDS_FILE)
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise IndexFileError(f"{folder}: not a {FORMAT} version {VERSION} folder")
    names = [str(entry.get("name")) for entry in data.get("shards", [])]
    if names != [shard_name(n) for n in range(len(names))]:
        raise IndexFileError(f"{folder / SHARDS_FILE}: shards are not named in order")
    return data


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexFileError(f"{path}: unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise IndexFileError(f"{path}: not a JSON object")
    return data


def _drop_shard_folders(root: Path, keep: int) -> None:
    """Delete `shard-NNNNN/` folders numbered `keep` and above (left by a larger layout)."""
    for entry in root.glob("shard-*"):
        number = entry.name.removeprefix("shard-")
        if number.isdigit() and entry.name == shard_name(int(number)) and int(number) >= keep:
            shutil.rmtree(entry)
