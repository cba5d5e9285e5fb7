"""Exact PDQ range search: every stored hash within a Hamming radius (multi-index hashing with the
generalised pigeonhole principle). Design, costs and file layout: docs/matching.md."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import comb
from typing import Any, Literal, NamedTuple, Self

import numpy as np
import numpy.typing as npt

from cairn.core.hash_kinds import PDQ
from cairn.core.thresholds import PDQ_MATCH_DISTANCE
from cairn.matching import _kernels
from cairn.matching.segments import (
    Segment,
    SegmentedIndex,
    check_queries,
    default_threads,
    new_segment_name,
    run_all,
)

HASH_BYTES = PDQ.key_bytes
HASH_BITS = 8 * HASH_BYTES
DIHEDRAL_VARIANTS = 8
MIN_CHUNKS = 10  # widths up to 26 bits: larger CSR tables would not fit in memory
MAX_CHUNKS = 64  # widths down to 4 bits
OFFSETS_PER_HASH = 4  # memory budget of the CSR offsets: at most 16 bytes per stored hash
# Measured on the bench machine: a linear scan costs 1.8 ns per stored row and query; an
# index probe or candidate 6-30 ns (more once the tables outgrow the caches). A segment is
# scanned when the index's expected probes + candidates exceed 1/SCAN_ROWS_PER_PROBE of its
# rows: tiny segments, and large radii (the 32-52 review band on small segments).
SCAN_ROWS_PER_PROBE = 8
QUERY_BLOCK = 128  # queries per thread task: small enough to balance skewed (clustered) blocks

Method = Literal["auto", "index", "scan"]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


class PdqHit(NamedTuple):
    query: int  # position of the query in the queries passed
    id: int  # the stored hash's id
    distance: int  # Hamming distance, at most the radius


class DihedralHit(NamedTuple):
    query: int  # position of the item in the variants passed
    variant: int  # 0-7: which dihedral variant matched (the closest; lowest index on ties)
    id: int
    distance: int


@dataclass(frozen=True, eq=False)
class PdqMatches:
    """All matches of one search as parallel arrays, sorted by (query, distance, id)."""

    query: I64
    id: I64
    distance: I64

    def __len__(self) -> int:
        return int(self.query.shape[0])

    def hits(self) -> list[PdqHit]:
        return [
            PdqHit(q, i, d)
            for q, i, d in zip(
                self.query.tolist(), self.id.tolist(), self.distance.tolist(), strict=True
            )
        ]


def merge_matches(parts: Sequence[tuple[I64, I64, I64]]) -> PdqMatches:
    """(query, id, distance) columns of several searches as one result sorted by (query,
    distance, id): the order is of the values alone, so it does not depend on how the stored
    hashes were split (segments, shards) or in which order the parts arrive."""
    if not parts:
        empty = np.empty(0, np.int64)
        return PdqMatches(empty, empty, empty)
    q, ids, distance = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.lexsort((ids, distance, q))
    return PdqMatches(q[order], ids[order], distance[order])


def chunk_widths(chunks: int) -> tuple[int, ...]:
    """Split 256 bits into `chunks` widths as equal as possible, wider chunks first."""
    if not MIN_CHUNKS <= chunks <= MAX_CHUNKS:
        raise ValueError(f"chunks must be {MIN_CHUNKS}..{MAX_CHUNKS}, got {chunks}")
    base, extra = divmod(HASH_BITS, chunks)
    return tuple(base + 1 if i < extra else base for i in range(chunks))


def choose_chunks(count: int) -> int:
    """Chunks for a segment of `count` hashes: the fewest whose offsets fit the memory budget.

    Fewer, wider chunks mean fewer candidates to verify (faster) but 2**width offsets per
    chunk. Measured at 10M hashes, 1 core (bench/pdq_search.py --chunks): 11 chunks 3,900
    queries/CPU-s at 131 bytes/hash, 12 chunks 3,000 at 101, 13 chunks 1,900 at 97, 16
    chunks 850 at 104. The budget picks 12 chunks at 10M and 15 at 1M.
    """
    for chunks in range(MIN_CHUNKS, MAX_CHUNKS):
        if sum((1 << w) + 1 for w in chunk_widths(chunks)) <= OFFSETS_PER_HASH * count:
            return chunks
    return MAX_CHUNKS


@lru_cache(maxsize=256)
def _thresholds(widths: tuple[int, ...], radius: int, count: int) -> tuple[tuple[int, ...], float]:
    """Per-chunk thresholds summing to radius - m + 1, and the expected cost in cache misses.

    Greedy on a convex cost (probes plus expected random candidates): each of the radius + 1
    increments from -1 goes to the chunk where it adds least.
    """
    taus = [-1] * len(widths)
    for _ in range(radius + 1):
        best = min(
            range(len(widths)),
            key=lambda i: comb(widths[i], taus[i] + 1) * (1 + count / 2 ** widths[i]),
        )
        taus[best] += 1
    cost = sum(
        sum(comb(w, k) for k in range(t + 1)) * (1 + count / 2**w)
        for w, t in zip(widths, taus, strict=True)
    )
    return tuple(taus), cost


@lru_cache(maxsize=64)
def _masks(width: int, tau: int) -> U64:
    """Every `width`-bit XOR mask with at most `tau` bits set, fewest bits first."""
    masks = [0]
    for bits in range(1, tau + 1):
        masks.extend(sum(1 << b for b in chosen) for chosen in combinations(range(width), bits))
    array = np.array(masks, np.uint64)
    array.flags.writeable = False
    return array


class PdqSegment(Segment):
    """N hashes with one CSR table per chunk (layout in docs/matching.md)."""

    def __init__(
        self,
        name: str,
        hashes: U8,
        ids: I64,
        widths: tuple[int, ...],
        rows: npt.NDArray[np.uint32],
        offsets: npt.NDArray[np.uint32],
    ) -> None:
        super().__init__(name, ids)
        self.hashes = hashes
        self.widths = widths
        self.rows = rows
        self.offsets = offsets
        self.words: U64 = hashes.view("<u8")
        self.words.flags.writeable = False  # one compiled signature for built and loaded
        starts = np.cumsum((0, *widths[:-1]))
        bases = np.cumsum([0] + [(1 << w) + 1 for w in widths[:-1]])
        self.starts: I64 = starts.astype(np.int64)
        self.bases: I64 = bases.astype(np.int64)

    @classmethod
    def build(cls, keys: U8, ids: I64, name: str, chunks: int | None = None) -> Self:
        count = keys.shape[0]
        if count >= 1 << 32:
            raise ValueError("a segment holds fewer than 2**32 hashes (uint32 row numbers)")
        widths = chunk_widths(chunks if chunks is not None else choose_chunks(count))
        hashes = keys.copy()
        words = hashes.view("<u8")
        rows = np.empty((len(widths), count), np.uint32)
        offsets = np.empty(sum((1 << w) + 1 for w in widths), np.uint32)
        segment = cls(name, hashes, ids.copy(), widths, rows, offsets)

        def build_table(i: int) -> None:
            lo = int(segment.bases[i])
            _kernels.build_chunk_table(
                words,
                int(segment.starts[i]),
                widths[i],
                offsets[lo : lo + (1 << widths[i]) + 1],
                rows[i],
            )

        run_all(build_table, range(len(widths)), default_threads())
        for array in (hashes, segment.ids, rows, offsets):
            # Loaded segments are read-only memory maps; frozen built ones share their
            # compiled kernel signature and cannot be changed by accident.
            array.flags.writeable = False
        return segment

    @classmethod
    def from_arrays(
        cls, name: str, arrays: Mapping[str, np.ndarray[Any, Any]], meta: Mapping[str, Any]
    ) -> Self:
        widths = tuple(int(w) for w in meta["widths"])
        if sum(widths) != HASH_BITS or not all(1 <= w <= 32 for w in widths):
            raise ValueError(f"chunk widths {widths} do not split {HASH_BITS} bits")
        hashes = np.asarray(arrays["hashes"])
        count = hashes.shape[0]
        expected = {
            "hashes": (np.uint8, (count, HASH_BYTES)),
            "ids": (np.int64, (count,)),
            "rows": (np.uint32, (len(widths), count)),
            "offsets": (np.uint32, (sum((1 << w) + 1 for w in widths),)),
        }
        for stem, (dtype, shape) in expected.items():
            array = arrays[stem]
            if array.dtype != dtype or array.shape != shape:
                raise ValueError(f"{stem}.npy is {array.dtype} {array.shape}, expected {shape}")
        segment = cls(
            name,
            hashes,
            np.asarray(arrays["ids"]),
            widths,
            np.asarray(arrays["rows"]),
            np.asarray(arrays["offsets"]),
        )
        # Cheap consistency check (m reads) instead of reading whole files at load.
        ends = segment.bases + (1 << np.array(widths, np.int64))
        if not np.all(segment.offsets[ends] == count):
            raise ValueError("offsets.npy does not end each chunk at the row count")
        return segment

    def keys(self) -> U8:
        return np.asarray(self.hashes)

    def arrays(self) -> dict[str, np.ndarray[Any, Any]]:
        return {"hashes": self.hashes, "ids": self.ids, "rows": self.rows, "offsets": self.offsets}

    def meta(self) -> dict[str, Any]:
        return {"widths": list(self.widths)}

    def searcher(self, radius: int, method: Method) -> Callable[[U64], tuple[I64, I64, I64]]:
        """A function of query words for this radius: the index probe, or a linear scan."""
        taus, cost = _thresholds(self.widths, radius, len(self))
        if method == "scan" or (method == "auto" and cost * SCAN_ROWS_PER_PROBE > len(self)):
            return lambda queries: _kernels.search_scan(self.words, queries, radius)
        masks = [
            _masks(w, t) if t >= 0 else np.empty(0, np.uint64)
            for w, t in zip(self.widths, taus, strict=True)
        ]
        all_masks = np.concatenate(masks)
        mask_chunks = np.repeat(np.arange(len(masks)), [m.shape[0] for m in masks])
        taus_array = np.array(taus, np.int64)
        widths_array = np.array(self.widths, np.int64)
        return lambda queries: _kernels.search_tables(
            self.words,
            self.rows,
            self.offsets,
            self.starts,
            widths_array,
            self.bases,
            taus_array,
            all_masks,
            mask_chunks.astype(np.int64),
            queries,
            radius,
        )


class PdqIndex(SegmentedIndex[PdqSegment]):
    """Exact Hamming range search over stored 256-bit PDQ hashes, each with an int64 id.

    `build(hashes, ids)` replaces the content; `add(hashes, ids)` appends a segment (see
    `cairn.matching.segments` for merging and the folder layout); `save`/`load` persist it.
    """

    FORMAT = "cairn-pdq-index"
    segment_type = PdqSegment

    def __init__(self, chunks: int | None = None, threads: int | None = None) -> None:
        """`chunks` fixes the chunk count of every segment (default: by segment size)."""
        super().__init__()
        if chunks is not None:
            chunk_widths(chunks)  # validates the range now rather than at the first add
        self.chunks = chunks
        self.threads = threads or default_threads()

    @property
    def key_width(self) -> int:
        return HASH_BYTES

    def settings(self) -> dict[str, Any]:
        return {"chunks": self.chunks}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        chunks = settings.get("chunks")
        return cls(chunks=None if chunks is None else int(chunks))

    def _build_segment(self, keys: U8, ids: I64) -> PdqSegment:
        return PdqSegment.build(keys, ids, new_segment_name(), chunks=self.chunks)

    def search(
        self, queries: npt.ArrayLike, radius: int = PDQ_MATCH_DISTANCE, method: Method = "auto"
    ) -> list[PdqHit]:
        """Every (query, id, distance) with distance <= radius, by (query, distance, id)."""
        return self.search_arrays(queries, radius, method).hits()

    def search_arrays(
        self, queries: npt.ArrayLike, radius: int = PDQ_MATCH_DISTANCE, method: Method = "auto"
    ) -> PdqMatches:
        """As `search`, as arrays (no Python object per match: for bulk matching).

        `method` "index" or "scan" forces one strategy (both exact) for tests and benches.
        """
        query_array = check_queries(queries, HASH_BYTES)
        if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
            raise TypeError(f"radius must be an int, got {type(radius).__name__}")
        if not 0 <= radius <= HASH_BITS:
            raise ValueError(f"radius must be 0..{HASH_BITS}, got {radius}")
        if method not in ("auto", "index", "scan"):
            raise ValueError(f"method must be auto, index or scan, got {method!r}")
        radius = int(radius)
        words = query_array.view("<u8")
        searchers = [(segment.searcher(radius, method), segment.ids) for segment in self._segments]
        tasks = [
            (search, ids, start)
            for search, ids in searchers
            for start in range(0, words.shape[0], QUERY_BLOCK)
        ]

        def run(
            task: tuple[Callable[[U64], tuple[I64, I64, I64]], I64, int],
        ) -> tuple[I64, I64, I64]:
            search, ids, start = task
            q, rows, distance = search(words[start : start + QUERY_BLOCK])
            return q + start, ids[rows], distance

        return merge_matches(run_all(run, tasks, self.threads))

    def search_dihedral(
        self, variants: npt.ArrayLike, radius: int = PDQ_MATCH_DISTANCE
    ) -> list[DihedralHit]:
        """Search the eight dihedral variants of each item, shape (Q, 8, 32) uint8.

        One hit per (item, stored id): the closest variant, the lowest variant index on ties.
        Sorted by (item, distance, id).
        """
        array = np.asarray(variants)
        if array.ndim != 3 or array.shape[1:] != (DIHEDRAL_VARIANTS, HASH_BYTES):
            raise ValueError(f"variants must be (Q, 8, 32) uint8, got {array.shape}")
        found = self.search_arrays(array.reshape(-1, HASH_BYTES), radius)
        item, variant = np.divmod(found.query, DIHEDRAL_VARIANTS)
        order = np.lexsort((variant, found.distance, found.id, item))
        item, variant = item[order], variant[order]
        ids, distance = found.id[order], found.distance[order]
        first = np.ones(len(order), bool)
        first[1:] = (item[1:] != item[:-1]) | (ids[1:] != ids[:-1])
        keep = np.flatnonzero(first)
        keep = keep[np.lexsort((ids[keep], distance[keep], item[keep]))]
        return [
            DihedralHit(*row)
            for row in zip(
                item[keep].tolist(),
                variant[keep].tolist(),
                ids[keep].tolist(),
                distance[keep].tolist(),
                strict=True,
            )
        ]
