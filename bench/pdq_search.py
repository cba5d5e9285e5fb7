"""PDQ range search (distance <= 31, exact): Cairn's PdqIndex against FAISS IndexBinaryFlat.

Stored sets of 1M and 10M hashes: 90 % uniform random, 10 % clusters of near-duplicates
(a random centre, 10-190 members each at a random distance 0-40 from it), shuffled. Queries:
40 % random, 30 % a stored random hash moved 0-40 bits, 30 % a cluster centre moved 0-40 bits
(these hit whole clusters: the skewed case). Both indexes are built, then both answer the same
queries (5,000 at 1M, 1,000 at 10M: FAISS is a brute-force scan), warmed on them once, best of
three interleaved runs of at least a few seconds each; the two (query, id, distance) sets must be
identical. Cairn then answers all 20,000 queries alone for its own stable rate. Rates are per
wall-clock second and per CPU-second (all threads): the second is the fairer ratio when other
work shares the machine, whose load average is printed with each ratio.

FAISS's range_search keeps distances strictly below the radius, so it is given 32 for <= 31.
Both use every core (FAISS through OpenMP, Cairn through threads over query blocks).

    .venv/bin/python bench/pdq_search.py [--quick] [--chunks M] [--sizes 1000000,...] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile

# Idle OpenMP threads sleep instead of spinning, so FAISS's CPU time is its work alone.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import faiss
import numpy as np
import numpy.typing as npt

from _harness import best_of, check, machine, ratio, timed, versus
from cairn.matching.pdq_index import PdqIndex, PdqMatches

RADIUS = 31
MIN_SECONDS = 3.0  # each timed run repeats its queries at least this long
U8 = npt.NDArray[np.uint8]


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


def as_set(found: PdqMatches) -> set[tuple[int, int, int]]:
    return set(zip(found.query.tolist(), found.id.tolist(), found.distance.tolist(), strict=True))


def run(count: int, queries_total: int, compared: int, chunks: int | None, runs: int) -> None:
    rng = np.random.default_rng(count)
    (stored, centres), made = timed(lambda: make_stored(count, rng))
    ids = rng.permutation(count).astype(np.int64) * 3 + 1  # ids unrelated to row order
    queries = make_queries(queries_total, stored, centres, rng)
    print(f"\n== {count:,} stored hashes, {queries_total:,} queries (made in {made.wall:.1f} s)")

    flat = faiss.IndexBinaryFlat(256)
    _, faiss_build = timed(lambda: flat.add(stored))
    index = PdqIndex(chunks=chunks)
    _, build = timed(lambda: index.build(stored, ids))
    widths = index._segments[0].widths
    print(
        f"build: Cairn {build.wall:.2f} s ({len(widths)} chunks of {min(widths)}-{max(widths)} "
        f"bits), FAISS {faiss_build.wall:.2f} s"
    )
    print(
        f"memory: Cairn {index.nbytes() / count:.1f} bytes/hash ({index.nbytes() / 2**20:,.0f}"
        f" MiB), FAISS {flat.code_size} bytes/hash; process peak RSS {rss_mib():,.0f} MiB"
    )

    # Both sides answer the same queries, warmed on them first (best_of's untimed call).
    sample = queries[:compared]
    (got, cairn_time), (expected, faiss_time) = versus(
        lambda: as_set(index.search_arrays(sample, RADIUS)),
        lambda: faiss_search(flat, sample, ids),
        runs=runs,
        min_seconds=MIN_SECONDS,
    )
    print(
        f"on the same {len(sample):,} queries, best of {runs}: FAISS {len(expected):,} matches, "
        f"{faiss_time.rates(len(sample))}; Cairn {len(got):,} matches, "
        f"{cairn_time.rates(len(sample))}"
    )
    print(check("(query, id, distance) sets of Cairn and FAISS", got == expected))
    print(ratio(f"vs IndexBinaryFlat at {count:,}", cairn_time, faiss_time, "FAISS"))

    every, every_time = best_of(
        {"all": lambda: index.search_arrays(queries, RADIUS)}, runs=runs, min_seconds=MIN_SECONDS
    )["all"]
    print(
        f"Cairn alone on all {len(queries):,} queries: {every_time.rates(len(queries))} "
        f"({len(every):,} matches)"
    )

    with tempfile.TemporaryDirectory() as folder:
        _, saved = timed(lambda: index.save(folder))
        loaded, opened = timed(lambda: PdqIndex.load(folder))
        # Deliberately cold: the first queries page the mapped files in.
        again, cold = timed(lambda: loaded.search_arrays(sample, RADIUS))
        print(
            f"persistence: save {saved.wall:.2f} s, load (mmap) {opened.wall * 1000:.1f} ms, "
            f"first {len(sample):,} queries after load (cold) {cold.rates(len(sample))}"
        )
        print(check("matches after load", as_set(again) == got))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M stored only, fewer queries")
    parser.add_argument("--chunks", type=int, default=None, help="force the chunk count")
    parser.add_argument("--sizes", default=None, help="comma-separated stored-set sizes")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side")
    args = parser.parse_args()
    print(
        machine(
            f"FAISS {faiss.__version__} (OpenMP threads {faiss.omp_get_max_threads()})",
            f"numpy {np.__version__}",
        )
    )
    if args.sizes:
        plan = [(int(size), 20_000, 1_000) for size in args.sizes.split(",")]
    elif args.quick:
        plan = [(1_000_000, 5_000, 2_000)]
    else:
        plan = [(1_000_000, 20_000, 5_000), (10_000_000, 20_000, 1_000)]
    for count, queries, compared in plan:
        run(count, queries, compared, args.chunks, args.runs)


if __name__ == "__main__":
    main()
