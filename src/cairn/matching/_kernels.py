"""Compiled inner loops of the matching indexes (numba, compiled once and cached on disk).

Why numba: candidate verification is one random memory access plus four popcounts per
candidate; in numpy every step would allocate an array per query and the index would be no
faster than a brute-force scan. `cache=True` stores the machine code beside this file (or in
numba's user cache when that folder is read-only), so only the first run on a machine pays
the compile. `nogil=True` lets the caller spread query blocks over threads.

Hashes are seen here as rows of four little-endian uint64 words; a "chunk" is `width` bits
starting at bit `start` of the 256-bit little-endian integer those words form. Every integer
below is cast explicitly: numba, like numpy, turns uint64 mixed with int64 into float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from numba import types
from numba.extending import intrinsic

_F = TypeVar("_F", bound=Callable[..., Any])

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


def _jit(fn: _F) -> _F:
    return cast(_F, numba.njit(nogil=True, cache=True)(fn))


@intrinsic  # type: ignore[misc]
def _ctpop(typingctx: Any, x: Any) -> Any:
    """Population count of a uint64 as the CPU's popcnt instruction (LLVM ctpop)."""
    if x != types.uint64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@_jit
def _chunk(words: U64, row: int, start: int, width: int) -> np.uint64:
    lo = start >> 6
    shift = start & 63
    value = words[row, lo] >> np.uint64(shift)
    if shift + width > 64:
        value |= words[row, lo + 1] << np.uint64(64 - shift)
    return value & ((np.uint64(1) << np.uint64(width)) - np.uint64(1))


@_jit
def _distance(a: U64, i: int, b: U64, j: int) -> int:
    return int(
        _ctpop(a[i, 0] ^ b[j, 0])
        + _ctpop(a[i, 1] ^ b[j, 1])
        + _ctpop(a[i, 2] ^ b[j, 2])
        + _ctpop(a[i, 3] ^ b[j, 3])
    )


@_jit
def _grow(array: I64, size: int) -> I64:
    bigger = np.empty(size, np.int64)
    bigger[: array.shape[0]] = array
    return bigger


@_jit
def build_chunk_table(words: U64, start: int, width: int, offsets: U32, rows: U32) -> None:
    """Counting sort of all rows by one chunk: CSR `offsets` (2**width + 1) and `rows` (N)."""
    n = words.shape[0]
    size = 1 << width
    keys = np.empty(n, np.uint32)
    offsets[:] = 0
    for r in range(n):
        key = np.int64(_chunk(words, r, start, width))
        keys[r] = key
        offsets[key + 1] += 1
    for k in range(size):
        offsets[k + 1] += offsets[k]
    cursor = offsets[:size].copy()
    for r in range(n):
        key = np.int64(keys[r])
        rows[cursor[key]] = r
        cursor[key] += 1


@_jit
def search_tables(
    words: U64,
    rows: U32,
    offsets: U32,
    starts: I64,
    widths: I64,
    bases: I64,
    taus: I64,
    masks: U64,
    mask_bounds: I64,
    queries: U64,
    radius: int,
) -> tuple[I64, I64, I64]:
    """Multi-index search: probe every chunk value within `taus[i]` bits of the query's chunk.

    Chunk i's probes are `masks[mask_bounds[i]:mask_bounds[i + 1]]` (XOR masks of at most
    `taus[i]` bits; none when `taus[i] < 0`). A row found through chunk i is reported only when
    no earlier chunk also qualifies, so each stored hash is reported once without a seen-set.
    Returns (query, row, distance) arrays.
    """
    m = starts.shape[0]
    capacity = 1024
    out_q = np.empty(capacity, np.int64)
    out_r = np.empty(capacity, np.int64)
    out_d = np.empty(capacity, np.int64)
    n = 0
    qchunks = np.empty(m, np.uint64)
    for q in range(queries.shape[0]):
        for i in range(m):
            qchunks[i] = _chunk(queries, q, starts[i], widths[i])
        for i in range(m):
            base = bases[i]
            for k in range(mask_bounds[i], mask_bounds[i + 1]):
                slot = base + np.int64(qchunks[i] ^ masks[k])
                for j in range(offsets[slot], offsets[slot + 1]):
                    row = np.int64(rows[i, j])
                    distance = _distance(words, row, queries, q)
                    if distance > radius:
                        continue
                    first = True
                    for p in range(i):
                        if taus[p] >= 0:
                            diff = _chunk(words, row, starts[p], widths[p]) ^ qchunks[p]
                            if np.int64(_ctpop(diff)) <= taus[p]:
                                first = False
                                break
                    if not first:
                        continue
                    if n == capacity:
                        capacity *= 2
                        out_q = _grow(out_q, capacity)
                        out_r = _grow(out_r, capacity)
                        out_d = _grow(out_d, capacity)
                    out_q[n] = q
                    out_r[n] = row
                    out_d[n] = distance
                    n += 1
    return out_q[:n], out_r[:n], out_d[:n]


@_jit
def search_scan(words: U64, queries: U64, radius: int) -> tuple[I64, I64, I64]:
    """Brute-force range search, blocked so a block of stored rows stays in cache."""
    capacity = 1024
    out_q = np.empty(capacity, np.int64)
    out_r = np.empty(capacity, np.int64)
    out_d = np.empty(capacity, np.int64)
    n = 0
    block = 4096
    total = words.shape[0]
    for lo in range(0, total, block):
        hi = min(lo + block, total)
        for q in range(queries.shape[0]):
            for row in range(lo, hi):
                distance = _distance(words, row, queries, q)
                if distance <= radius:
                    if n == capacity:
                        capacity *= 2
                        out_q = _grow(out_q, capacity)
                        out_r = _grow(out_r, capacity)
                        out_d = _grow(out_d, capacity)
                    out_q[n] = q
                    out_r[n] = row
                    out_d[n] = distance
                    n += 1
    return out_q[:n], out_r[:n], out_d[:n]


@_jit
def lookup_sorted(
    prefix: U64, rest: U8, directory: U32, shift: int, qprefix: U64, qrest: U8
) -> tuple[I64, I64]:
    """Exact lookup in keys sorted by their first 8 bytes (`prefix`, big-endian uint64).

    `directory[b]` is the first row whose prefix has top bits `b` (prefix >> shift), so a
    lookup is one directory read, a binary search over a few rows, and a byte compare of the
    remaining key bytes for every row sharing the prefix. Returns (query, row) arrays.
    """
    capacity = 1024
    out_q = np.empty(capacity, np.int64)
    out_r = np.empty(capacity, np.int64)
    n = 0
    total = prefix.shape[0]
    tail = rest.shape[1]
    for q in range(qprefix.shape[0]):
        key = qprefix[q]
        bucket = np.int64(key >> np.uint64(shift))
        lo = np.int64(directory[bucket])
        hi = np.int64(directory[bucket + 1])
        while lo < hi:
            mid = (lo + hi) >> 1
            if prefix[mid] < key:
                lo = mid + 1
            else:
                hi = mid
        row = lo
        while row < total and prefix[row] == key:
            same = True
            for b in range(tail):
                if rest[row, b] != qrest[q, b]:
                    same = False
                    break
            if same:
                if n == capacity:
                    capacity *= 2
                    out_q = _grow(out_q, capacity)
                    out_r = _grow(out_r, capacity)
                out_q[n] = q
                out_r[n] = row
                n += 1
            row += 1
    return out_q[:n], out_r[:n]
