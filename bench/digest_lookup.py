"""Exact digest lookups (NSRL-scale hash sets): Cairn's DigestIndex against a Python dict.

For MD5 and SHA-256 sets of 10M random digests (cryptographic digests are uniformly spread, so
random bytes stand for them) with an int64 id each, 1M queries, half of them stored: lookups/s,
bytes per entry, build and load time. The peer is `dict[bytes, int]`, the natural Python way,
measured by the growth of the process's resident memory; its lookups get ready-made bytes
keys (the index gets the (Q, width) uint8 array), so the comparison flatters the dict.

    .venv/bin/python bench/digest_lookup.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from cairn.matching.digest_index import DIGEST_BYTES, DigestIndex

R = TypeVar("R")


def timed(function: Callable[[], R]) -> tuple[R, float, float]:
    """(result, wall seconds, CPU seconds of the whole process, every thread)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(algorithm: str, count: int, queries_total: int) -> None:
    width = DIGEST_BYTES[algorithm]
    rng = np.random.default_rng(width)
    stored = rng.integers(0, 256, (count, width), dtype=np.uint8)
    ids = rng.permutation(count).astype(np.int64)
    present = rng.integers(0, count, queries_total // 2)
    queries = np.concatenate(
        [stored[present], rng.integers(0, 256, (queries_total - len(present), width), np.uint8)]
    )
    print(f"\n== {algorithm}: {count:,} stored, {queries_total:,} queries (half stored)")

    index = DigestIndex(algorithm)
    index.lookup_arrays(queries[:1])  # compile or load the cached kernels outside the timings
    _, build, _ = timed(lambda: index.build(stored, ids))
    found, wall, cpu = timed(lambda: index.lookup_arrays(queries))
    print(
        f"Cairn DigestIndex: build {build:.2f} s, {index.nbytes() / count:.1f} bytes/entry, "
        f"{len(queries) / wall:,.0f} lookups/s wall, {len(queries) / cpu:,.0f}/CPU-s, "
        f"{len(found):,} hits"
    )

    with tempfile.TemporaryDirectory() as folder:
        _, saved, _ = timed(lambda: index.save(folder))
        loaded, opened, _ = timed(lambda: DigestIndex.load(folder))
        again, cold, _ = timed(lambda: loaded.lookup_arrays(queries))
        same = np.array_equal(again.id, found.id)
        print(
            f"  persistence: save {saved:.2f} s, load (mmap) {opened * 1000:.1f} ms, "
            f"{len(queries) / cold:,.0f} lookups/s right after load, same hits: {same}"
        )

    def build_dict() -> dict[bytes, int]:
        raw = stored.tobytes()
        keys = [raw[i : i + width] for i in range(0, len(raw), width)]
        return dict(zip(keys, ids.tolist(), strict=True))

    before = rss_bytes()
    table, dict_build, _ = timed(build_dict)
    dict_bytes = rss_bytes() - before  # the dict with its bytes keys and int values
    query_raw = queries.tobytes()
    query_keys = [query_raw[i : i + width] for i in range(0, len(query_raw), width)]
    get = table.get
    answers, dict_wall, dict_cpu = timed(lambda: [get(key) for key in query_keys])
    hits = sum(answer is not None for answer in answers)
    print(
        f"dict[bytes, int]: build {dict_build:.2f} s, about {dict_bytes / count:.0f} "
        f"bytes/entry (RSS growth), {len(queries) / dict_wall:,.0f} lookups/s wall, "
        f"{len(queries) / dict_cpu:,.0f}/CPU-s, {hits:,} hits"
    )
    expected = np.array([-1 if a is None else a for a in answers])
    agree = np.array_equal(np.sort(expected[expected >= 0]), np.sort(found.id))
    print(
        f"RATIO {algorithm}: Cairn {len(queries) / wall / (len(queries) / dict_wall):.2f}x dict "
        f"lookups/s wall, {(dict_bytes / count) / (index.nbytes() / count):.1f}x less memory; "
        f"same hits as the dict: {agree}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M stored, 200k queries")
    args = parser.parse_args()
    count, queries = (1_000_000, 200_000) if args.quick else (10_000_000, 1_000_000)
    print(f"cores: {len(os.sched_getaffinity(0))}, numpy {np.__version__}")
    for algorithm in ("md5", "sha256"):
        run(algorithm, count, queries)


if __name__ == "__main__":
    main()
