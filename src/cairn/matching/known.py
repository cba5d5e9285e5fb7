"""The workspace's known-material indexes: one per hash kind, over every active hash set.

Layout under `<workspace>/indexes/`: `md5/`, `sha1/`, `sha256/` (exact digest indexes) and
`pdq/` (the exact PDQ range-search index, split into hash-range shards past a set size:
`cairn.matching.pdq_shards`), each a segmented index folder (see `cairn.matching.segments`)
whose ids are `known_hashes.id`. Importing a set adds a segment;
removing one rebuilds from the store. Indexes load memory-mapped: opening one costs no copy.
Known-file sets (NSRL) keep digest indexes of their own under `sets/`
(`cairn.matching.known_files`); exact lookups search those too.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cairn.core.hash_kinds import BY_NAME, KNOWN_HASH_NAMES

if TYPE_CHECKING:
    from cairn.matching.digest_index import DigestIndex
    from cairn.matching.pdq_index import PdqMatches
    from cairn.matching.pdq_shards import PdqShards


# A PDQ search run elsewhere (cairn.cluster.matching): (the pdq index folder, queries, radius)
# to the rows the local index would give.
PdqSearch = Callable[[Path, np.ndarray[Any, Any], int], "PdqMatches"]


class KnownIndexes:
    def __init__(self, folder: Path, pdq_search: PdqSearch | None = None) -> None:
        """`pdq_search`, when given, answers `pdq_search` instead of the index loaded here."""
        self.folder = folder
        self._pdq_search = pdq_search
        self._loaded: dict[str, Any] = {}

    def _new(self, kind: str) -> DigestIndex | PdqShards:
        if kind == "pdq":
            from cairn.matching.pdq_shards import (
                PdqShards,
                saved_shard_hashes,
                shard_hashes_setting,
            )

            setting = shard_hashes_setting()
            return PdqShards(setting or saved_shard_hashes(self.folder / "pdq"))
        from cairn.matching.digest_index import DigestIndex

        return DigestIndex(kind)

    def _index(self, kind: str) -> Any:
        if kind not in self._loaded:
            folder = self.folder / kind
            if kind == "pdq":
                from cairn.matching.pdq_shards import PdqShards, shard_hashes_setting

                # The shard-size setting, when given, applies to a saved index from now on.
                self._loaded[kind] = PdqShards.load(folder, shard_hashes_setting())
            elif folder.is_dir():
                from cairn.matching.digest_index import DigestIndex

                self._loaded[kind] = DigestIndex.load(folder)
            else:
                self._loaded[kind] = self._new(kind)
        return self._loaded[kind]

    @staticmethod
    def _arrays(kind: str, keys: bytes | bytearray, ids: array[int]) -> tuple[Any, Any]:
        key_array = np.frombuffer(bytes(keys), np.uint8).reshape(-1, BY_NAME[kind].key_bytes)
        return key_array, np.frombuffer(ids, np.int64) if len(ids) else np.empty(0, np.int64)

    def add(self, keys: Mapping[str, bytearray], ids: Mapping[str, array[int]]) -> None:
        """Add one hash set's entries (a new segment per kind), then save."""
        for kind in KNOWN_HASH_NAMES:
            if not ids[kind]:
                continue
            index = self._index(kind)
            index.add(*self._arrays(kind, keys[kind], ids[kind]))
            index.save(self.folder / kind)

    def rebuild(self, keys: Mapping[str, bytearray], ids: Mapping[str, array[int]]) -> None:
        """Replace every index with exactly these entries."""
        for kind in KNOWN_HASH_NAMES:
            index = self._new(kind)
            index.build(*self._arrays(kind, keys[kind], ids[kind]))
            index.save(self.folder / kind)
            self._loaded[kind] = index

    def _set_indexes(self, kind: str) -> list[DigestIndex]:
        """The known-file sets' own indexes of this digest kind."""
        key = f"sets/{kind}"
        if key not in self._loaded:
            from cairn.matching.digest_index import DigestIndex
            from cairn.matching.known_files import known_file_sets

            folders = [s.digest_index_folders().get(kind) for s in known_file_sets(self.folder)]
            self._loaded[key] = [DigestIndex.load(f) for f in folders if f is not None]
        return self._loaded[key]  # type: ignore[no-any-return]

    def lookup(self, kind: str, queries: np.ndarray[Any, Any]) -> tuple[Any, Any]:
        """Exact lookups: (query rows, known ids) of every stored entry equal to a query."""
        indexes = self._set_indexes(kind) if len(queries) and kind != "pdq" else []
        if len(queries) and (self.folder / kind).is_dir():
            indexes = [self._index(kind), *indexes]
        found = [index.lookup_arrays(queries) for index in indexes]
        if not found:
            empty = np.empty(0, np.int64)
            return empty, empty
        return (
            np.concatenate([f.query for f in found]),
            np.concatenate([f.id for f in found]),
        )

    def exact_pairs(
        self, kind: str, keys: bytes | bytearray, ids: array[int]
    ) -> Iterator[tuple[int, int]]:
        """(given id, stored id) for every given key already in the index."""
        queries, given = self._arrays(kind, keys, ids)
        rows, stored = self.lookup(kind, queries)
        for row, known in zip(rows.tolist(), stored.tolist(), strict=True):
            yield int(given[row]), int(known)

    def pdq_search(self, queries: np.ndarray[Any, Any], radius: int) -> PdqMatches:
        if not (self.folder / "pdq").is_dir():
            from cairn.matching.pdq_index import PdqMatches

            empty = np.empty(0, np.int64)
            return PdqMatches(empty, empty, empty)
        if self._pdq_search is not None:
            return self._pdq_search(self.folder / "pdq", queries, radius)
        return self._index("pdq").search_arrays(queries, radius)  # type: ignore[no-any-return]
