"""Compiled inner loops of the matching indexes (numba, compiled once and cached on disk).

Why numba: a PDQ query is thousands of tiny steps (a probe, a bucket of a few rows, four
popcounts per candidate); numpy would pay an array allocation and a Python call per step.
`cache=True` stores the machine code beside this file (or in numba's user cache when that
folder is read-only), so only the first run on a machine pays the compile (about 10 s).
`nogil=True` lets the caller spread query blocks over threads.

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
from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_F = TypeVar("_F", bound=Callable[..., Any])

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

PREFETCH_DISTANCE = 8  # loads in flight ahead of use: enough to cover a cache miss


def _jit(fn: _F) -> _F:
    return cast(_F, numba.njit(nogil=True, cache=True)(fn))


def _ctpop_typer(typingctx: Any, x: Any) -> Any:
    """Population count of a uint64 as the CPU's popcnt instruction (LLVM ctpop)."""
    if x != types.uint64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


def _prefetch_typer(typingctx: Any, array: Any, row: Any, column: Any) -> Any:
    """Hint the CPU to load array[row, column] (array[row] if 1-D): LLVM prefetch, for read."""
    if not isinstance(array, types.Array) or array.ndim not in (1, 2):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        indices = [
            context.cast(builder, value, kind, types.intp)
            for value, kind in zip(args[1:], signature.args[1:], strict=True)
        ][: array_type.ndim]
        pointer = cgutils.get_item_pointer(  # type: ignore[no-untyped-call]
            context, builder, array_type, view, indices, wraparound=False
        )
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module,
            ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        builder.call(function, [pointer, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, row, column), codegen


# Typed for mypy as what they are inside compiled code; they cannot be called from Python.
_ctpop = cast(Callable[[np.uint64], np.uint64], intrinsic(_ctpop_typer))
_prefetch = cast(Callable[[np.ndarray[Any, Any], int, int], None], intrinsic(_prefetch_typer))


@_jit
def _chunk(words: U64, row: int, start: int, width: int) -> np.uint64:
    lo = start >> 6
    shift = start & 63
    value = words[row, lo] >> np.uint64(shift)
    if shift + width > 64:
        value |= words[row, lo + 1] << np.uint64(64 - shift)
    return np.uint64(value & ((np.uint64(1) << np.uint64(width)) - np.uint64(1)))


@_jit
def _distance(a: U64, i: int, b: U64, j: int) -> np.int64:
    return np.int64(
        _ctpop(a[i, 0] ^ b[j, 0])
        + _ctpop(a[i, 1] ^ b[j, 1])
        + _ctpop(a[i, 2] ^ b[j, 2])
        + _ctpop(a[i, 3] ^ b[j, 3])
    )


@_jit
def _grown(array: I64, size: int) -> I64:
    bigger = np.empty(size, np.int64)
    bigger[: array.shape[0]] = array
    return bigger


# Result buffers: the inner loops below write into fixed arrays and return -1 when one is
# full; the caller grows the buffers and redoes that unit of work. Growing inside the inner
# loop would make numba reference-count the arrays on every iteration (three times slower).


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
def _probe_buckets(
    offsets: U32,
    starts: I64,
    widths: I64,
    bases: I64,
    masks: U64,
    mask_chunks: I64,
    queries: U64,
    q: int,
    qchunks: U64,
    lo: I64,
    count: I64,
) -> int:
    """Pass 1 of a query: the bucket (start, length) of every probe; returns the total length.

    The passes keep each loop free of loads that depend on a load of the same iteration, so
    the CPU overlaps the cache misses instead of waiting for each in turn.
    """
    for i in range(starts.shape[0]):
        qchunks[i] = _chunk(queries, q, starts[i], widths[i])
    total = 0
    for k in range(masks.shape[0]):
        i = mask_chunks[k]
        slot = bases[i] + np.int64(qchunks[i] ^ masks[k])
        start = np.int64(offsets[slot])
        lo[k] = start
        count[k] = np.int64(offsets[slot + 1]) - start
        total += count[k]
    return total


@_jit
def _gather_rows(
    rows: U32, mask_chunks: I64, lo: I64, count: I64, found_rows: I64, found_chunks: I64
) -> None:
    """Pass 2: the candidate rows of every probed bucket, with the chunk that found them."""
    c = 0
    probes = lo.shape[0]
    for k in range(probes):
        ahead = k + PREFETCH_DISTANCE
        if ahead < probes and count[ahead] > 0:
            _prefetch(rows, mask_chunks[ahead], lo[ahead])
        i = mask_chunks[k]
        for j in range(lo[k], lo[k] + count[k]):
            found_rows[c] = rows[i, j]
            found_chunks[c] = i
            c += 1


@_jit
def _verify(
    words: U64,
    queries: U64,
    q: int,
    qchunks: U64,
    starts: I64,
    widths: I64,
    taus: I64,
    radius: int,
    found_rows: I64,
    found_chunks: I64,
    total: int,
    out_r: I64,
    out_d: I64,
    n: int,
) -> int:
    """Pass 3: full distance of each candidate; a row is kept only through its first chunk.

    A row within the radius found through chunk i is dropped when an earlier chunk also
    qualifies: that chunk's probe found (or will find) it, so each match is reported once
    without a seen-set. Returns the new result count, or -1 when `out_*` is full.
    """
    for c in range(total):
        if c + PREFETCH_DISTANCE < total:
            _prefetch(words, found_rows[c + PREFETCH_DISTANCE], 0)
        row = found_rows[c]
        distance = _distance(words, row, queries, q)
        if distance > radius:
            continue
        first = True
        for p in range(found_chunks[c]):
            if taus[p] >= 0:
                diff = _chunk(words, row, starts[p], widths[p]) ^ qchunks[p]
                if np.int64(_ctpop(diff)) <= taus[p]:
                    first = False
                    break
        if not first:
            continue
        if n == out_r.shape[0]:
            return -1
        out_r[n] = row
        out_d[n] = distance
        n += 1
    return n


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
    mask_chunks: I64,
    queries: U64,
    radius: int,
) -> tuple[I64, I64, I64]:
    """Multi-index search: probe every chunk value within `taus[i]` bits of the query's chunk.

    `masks[k]` is an XOR mask of at most `taus[i]` bits applied to chunk `mask_chunks[k]`
    (chunks with `taus[i] < 0` have no masks). Returns (query, row, distance) arrays.
    """
    out_q = np.empty(1024, np.int64)
    out_r = np.empty(1024, np.int64)
    out_d = np.empty(1024, np.int64)
    found_rows = np.empty(1024, np.int64)
    found_chunks = np.empty(1024, np.int64)
    qchunks = np.empty(starts.shape[0], np.uint64)
    lo = np.empty(masks.shape[0], np.int64)
    count = np.empty(masks.shape[0], np.int64)
    n = 0
    for q in range(queries.shape[0]):
        total = _probe_buckets(
            offsets, starts, widths, bases, masks, mask_chunks, queries, q, qchunks, lo, count
        )
        if total > found_rows.shape[0]:
            found_rows = np.empty(2 * total, np.int64)
            found_chunks = np.empty(2 * total, np.int64)
        _gather_rows(rows, mask_chunks, lo, count, found_rows, found_chunks)
        while True:
            end = _verify(
                words, queries, q, qchunks, starts, widths, taus, radius,
                found_rows, found_chunks, total, out_r, out_d, n,
            )  # fmt: skip
            if end >= 0:
                break
            out_q = _grown(out_q, 2 * out_q.shape[0])
            out_r = _grown(out_r, 2 * out_r.shape[0])
            out_d = _grown(out_d, 2 * out_d.shape[0])
        out_q[n:end] = q
        n = end
    return out_q[:n], out_r[:n], out_d[:n]


@_jit
def _scan_block(
    words: U64, lo: int, hi: int, queries: U64, radius: int, out_q: I64, out_r: I64,
    out_d: I64, n: int,
) -> int:  # fmt: skip
    for q in range(queries.shape[0]):
        for row in range(lo, hi):
            distance = _distance(words, row, queries, q)
            if distance <= radius:
                if n == out_q.shape[0]:
                    return -1
                out_q[n] = q
                out_r[n] = row
                out_d[n] = distance
                n += 1
    return n


@_jit
def search_scan(words: U64, queries: U64, radius: int) -> tuple[I64, I64, I64]:
    """Brute-force range search, blocked so a block of stored rows stays in cache."""
    out_q = np.empty(1024, np.int64)
    out_r = np.empty(1024, np.int64)
    out_d = np.empty(1024, np.int64)
    n = 0
    block = 4096
    lo = 0
    while lo < words.shape[0]:
        hi = min(lo + block, words.shape[0])
        end = _scan_block(words, lo, hi, queries, radius, out_q, out_r, out_d, n)
        if end < 0:
            out_q = _grown(out_q, 2 * out_q.shape[0])
            out_r = _grown(out_r, 2 * out_r.shape[0])
            out_d = _grown(out_d, 2 * out_d.shape[0])
            continue
        n = end
        lo = hi
    return out_q[:n], out_r[:n], out_d[:n]


@_jit
def _bucket_bounds(
    directory: U32, prefix: U64, qbucket: I64, qprefix: U64, start: I64, end: I64
) -> None:
    """Passes 1 and 2 of a lookup: each query's bucket, then its first row >= its prefix."""
    for q in range(qbucket.shape[0]):
        start[q] = directory[qbucket[q]]
        end[q] = directory[qbucket[q] + 1]
    for q in range(qbucket.shape[0]):
        if q + PREFETCH_DISTANCE < qbucket.shape[0]:
            _prefetch(prefix, start[q + PREFETCH_DISTANCE], 0)
        lo = start[q]
        hi = end[q]
        while lo < hi:
            mid = (lo + hi) >> 1
            if prefix[mid] < qprefix[q]:
                lo = mid + 1
            else:
                hi = mid
        start[q] = lo


@_jit
def _equal_rows(
    prefix: U64, rest: U8, qprefix: U64, qrest: U8, start: I64, end: I64, out_q: I64,
    out_r: I64,
) -> int:  # fmt: skip
    """Pass 3 of a lookup: rows equal to each query; -1 when the output is too small."""
    n = 0
    for q in range(qprefix.shape[0]):
        if q + PREFETCH_DISTANCE < qprefix.shape[0]:
            _prefetch(rest, start[q + PREFETCH_DISTANCE], 0)
        for row in range(start[q], end[q]):
            if prefix[row] != qprefix[q]:
                break
            same = True
            for b in range(rest.shape[1]):
                if rest[row, b] != qrest[q, b]:
                    same = False
                    break
            if same:
                if n == out_q.shape[0]:
                    return -1
                out_q[n] = q
                out_r[n] = row
                n += 1
    return n


@_jit
def lookup_sorted(
    directory: U32, prefix: U64, rest: U8, qbucket: I64, qprefix: U64, qrest: U8
) -> tuple[I64, I64]:
    """Exact lookup of keys split as (bucket, prefix, rest), sorted by bucket then prefix.

    `directory[b]:directory[b + 1]` are the rows of bucket b; a lookup is one directory read,
    a binary search over that bucket's uint64 prefixes and a byte compare of the remaining
    bytes of every row sharing the prefix. The three steps run as passes over all queries so
    the cache misses of different queries overlap. Returns (query, row) arrays.
    """
    start = np.empty(qbucket.shape[0], np.int64)
    end = np.empty(qbucket.shape[0], np.int64)
    _bucket_bounds(directory, prefix, qbucket, qprefix, start, end)
    size = qbucket.shape[0] + 16
    while True:
        out_q = np.empty(size, np.int64)
        out_r = np.empty(size, np.int64)
        n = _equal_rows(prefix, rest, qprefix, qrest, start, end, out_q, out_r)
        if n >= 0:
            return out_q[:n], out_r[:n]
        size *= 4
