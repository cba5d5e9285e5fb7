"""PDQ range search (distance <= 31, exact): Cairn's PdqIndex against FAISS IndexBinaryFlat.

Stored sets of 1M and 10M hashes: 90 % uniform random, 10 % clusters of near-duplicates
(a random centre, 10-190 members each at a random distance 0-40 from it), shuffled. Queries:
40 % random, 30 % a stored random hash moved 0-40 bits, 30 % a cluster centre moved 0-40 bits
(these hit whole clusters: the skewed case). FAISS answers the first 500 queries at 1M and 100
at 10M (it is a brute-force scan); Cairn answers the same ones, which must give the identical
(query, id, distance) set, then all 20,000 queries for a stable rate. Rates are reported per
wall-clock second and per CPU-second (all threads): the second is the fairer ratio when other
work shares the machine.

FAISS's range_search keeps distances strictly below the radius, so it is given 32 for <= 31.
Both use every core (FAISS through OpenMP, Cairn through threads over query blocks).

    .venv/bin/python bench/pdq_search.py [--quick] [--chunks M] [--sizes 1000000,...]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from typing import TypeVar

# Idle OpenMP threads sleep instead of spinning, so FAISS's CPU time is its work alone.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import faiss
import numpy as np
import numpy.typing as npt

from cairn.matching.pdq_index import PdqIndex

RADIUS = 31
U8 = npt.NDArray[np.uint8]
R = TypeVar("R")


def flip_bits(hashes: U8, distances: npt.NDArray[np.int64], rng: np.random.Generator) -> U8:
    """Each row with exactly distances[i] distinct random bits flipped."""
    out = np.empty_like(hashes)
    step = 100_000
    for lo in range(0, len(hashes), step):
        part = slice(lo, lo + step)
        noise = rng.random((len(hashes[part]), 256), dtype=np.float32)
        # The d-th smallest noise value is a per-row threshold below which exactly d bits lie.
        threshold = np.sort(noise, axis=1)[np.arange(len(noise)), distances[part]]
        flips = np.packbits(noise < threshold[:, None], axis=1)
        out[part] = hashes[part] ^ flips
    return out


def make_stored(count: int, rng: np.random.Generator) -> tuple[U8, U8]:
    """(stored hashes, cluster centres)."""
    clustered = count // 10
    sizes = rng.integers(10, 191, clustered // 10 + 1)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), clustered) + 1]
    sizes[-1] -= sizes.sum() - clustered
    centres = rng.integers(0, 256, (len(sizes), 32), dtype=np.uint8)
    members = flip_bits(np.repeat(centres, sizes, axis=0), rng.integers(0, 41, clustered), rng)
    uniform = rng.integers(0, 256, (count - clustered, 32), dtype=np.uint8)
    stored = np.concatenate([uniform, members])
    return stored[rng.permutation(count)], centres


def make_queries(count: int, stored: U8, centres: U8, rng: np.random.Generator) -> U8:
    near_stored = count * 3 // 10
    near_centre = count * 3 // 10
    parts = [
        rng.integers(0, 256, (count - near_stored - near_centre, 32), dtype=np.uint8),
        flip_bits(
            stored[rng.integers(0, len(stored), near_stored)],
            rng.integers(0, 41, near_stored),
            rng,
        ),
        flip_bits(
            centres[rng.integers(0, len(centres), near_centre)],
            rng.integers(0, 41, near_centre),
            rng,
        ),
    ]
    queries = np.concatenate(parts)
    return queries[rng.permutation(count)]


def faiss_search(
    index: faiss.IndexBinaryFlat, queries: U8, ids: npt.NDArray[np.int64]
) -> set[tuple[int, int, int]]:
    limits, distances, labels = index.range_search(queries, RADIUS + 1)
    query = np.repeat(np.arange(len(queries)), np.diff(limits).astype(np.int64))
    return set(zip(query.tolist(), ids[labels].tolist(), distances.tolist(), strict=True))


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(function: Callable[[], R]) -> tuple[R, float, float]:
    """(result, wall seconds, CPU seconds of the whole process, every thread)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def rates(count: int, wall: float, cpu: float) -> str:
    return f"{count / wall:,.0f}/s wall, {count / cpu:,.0f}/CPU-s"


def run(count: int, queries_total: int, faiss_queries: int, chunks: int | None) -> None:
    rng = np.random.default_rng(count)
    (stored, centres), wall, _ = timed(lambda: make_stored(count, rng))
    ids = rng.permutation(count).astype(np.int64) * 3 + 1  # ids unrelated to row order
    queries = make_queries(queries_total, stored, centres, rng)
    print(f"\n== {count:,} stored hashes, {queries_total:,} queries (data made in {wall:.1f} s)")

    flat = faiss.IndexBinaryFlat(256)
    _, faiss_build, _ = timed(lambda: flat.add(stored))
    index = PdqIndex(chunks=chunks)
    index.search(queries[:1])  # compile or load the cached kernels outside the timings
    _, build, _ = timed(lambda: index.build(stored, ids))
    widths = index._segments[0].widths
    print(
        f"build: Cairn {build:.2f} s ({len(widths)} chunks of {min(widths)}-{max(widths)} "
        f"bits), FAISS {faiss_build:.2f} s"
    )
    print(
        f"memory: Cairn {index.nbytes() / count:.1f} bytes/hash ({index.nbytes() / 2**20:,.0f}"
        f" MiB), FAISS {flat.code_size} bytes/hash; process peak RSS {rss_mib():,.0f} MiB"
    )

    sample = queries[:faiss_queries]
    expected, faiss_wall, faiss_cpu = timed(lambda: faiss_search(flat, sample, ids))
    found, wall, cpu = timed(lambda: index.search_arrays(sample, RADIUS))
    got = set(zip(found.query.tolist(), found.id.tolist(), found.distance.tolist(), strict=True))
    print(
        f"exactness on {len(sample)} queries: FAISS {len(expected):,} matches, Cairn "
        f"{len(got):,}; recall {100 * len(got & expected) / max(len(expected), 1):.2f} %, "
        f"extra {len(got - expected)}, identical sets: {got == expected}"
    )
    print(
        f"  on these queries: FAISS {rates(len(sample), faiss_wall, faiss_cpu)}; "
        f"Cairn {rates(len(sample), wall, cpu)}"
    )

    every, wall, cpu = timed(lambda: index.search_arrays(queries, RADIUS))
    print(
        f"queries/s: Cairn {rates(len(queries), wall, cpu)} on {len(queries):,} queries "
        f"({len(every):,} matches)"
    )
    wall_ratio = (len(queries) / wall) / (len(sample) / faiss_wall)
    cpu_ratio = (len(queries) / cpu) / (len(sample) / faiss_cpu)
    print(
        f"RATIO vs IndexBinaryFlat at {count:,}: {wall_ratio:.1f}x queries/s (wall), "
        f"{cpu_ratio:.1f}x queries per CPU-second"
    )

    with tempfile.TemporaryDirectory() as folder:
        _, saved, _ = timed(lambda: index.save(folder))
        loaded, opened, _ = timed(lambda: PdqIndex.load(folder))
        again, wall, cpu = timed(lambda: loaded.search_arrays(sample, RADIUS))
        same = np.array_equal(again.id, found.id) and np.array_equal(again.query, found.query)
        print(
            f"persistence: save {saved:.2f} s, load (mmap) {opened * 1000:.1f} ms, first "
            f"{len(sample)} queries after load {rates(len(sample), wall, cpu)}, same: {same}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M stored only, fewer queries")
    parser.add_argument("--chunks", type=int, default=None, help="force the chunk count")
    parser.add_argument("--sizes", default=None, help="comma-separated stored-set sizes")
    args = parser.parse_args()
    print(
        f"cores: {len(os.sched_getaffinity(0))}, FAISS {faiss.__version__} "
        f"(OpenMP threads {faiss.omp_get_max_threads()}), numpy {np.__version__}"
    )
    if args.sizes:
        plan = [(int(size), 20_000, 100) for size in args.sizes.split(",")]
    elif args.quick:
        plan = [(1_000_000, 5_000, 200)]
    else:
        plan = [(1_000_000, 20_000, 500), (10_000_000, 20_000, 100)]
    for count, queries, faiss_queries in plan:
        run(count, queries, faiss_queries, args.chunks)


if __name__ == "__main__":
    main()
