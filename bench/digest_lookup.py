"""Exact digest lookups (NSRL-scale hash sets): Cairn's DigestIndex against a Python dict.

For MD5 and SHA-256 sets of 10M random digests (cryptographic digests are uniformly spread, so
random bytes stand for them) with an int64 id each, 1M queries, half of them stored: lookups/s,
bytes per entry, build and load time. The peer is `dict[bytes, int]`, the natural Python way,
measured by the growth of the process's resident memory; its lookups get ready-made bytes
keys (the index gets the (Q, width) uint8 array), so the comparison flatters the dict. Both are
built first, then answer the same queries, warmed on them once (the index's compiled lookup is
loaded then), best of five interleaved runs; the hits must be the same.

    .venv/bin/python bench/digest_lookup.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

from _harness import check, machine, ratio, timed, versus
from cairn.matching.digest_index import DIGEST_BYTES, DigestIndex

MIN_SECONDS = 1.0  # each timed run repeats its lookups at least this long


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(algorithm: str, count: int, queries_total: int, runs: int) -> None:
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
    _, build = timed(lambda: index.build(stored, ids))

    def build_dict() -> dict[bytes, int]:
        raw = stored.tobytes()
        keys = [raw[i : i + width] for i in range(0, len(raw), width)]
        return dict(zip(keys, ids.tolist(), strict=True))

    before = rss_bytes()
    table, dict_build = timed(build_dict)
    dict_bytes = rss_bytes() - before  # the dict with its bytes keys and int values
    query_raw = queries.tobytes()
    query_keys = [query_raw[i : i + width] for i in range(0, len(query_raw), width)]
    get = table.get

    (found, cairn_time), (answers, dict_time) = versus(
        lambda: index.lookup_arrays(queries),
        lambda: np.array([-1 if (a := get(key)) is None else a for key in query_keys]),
        runs=runs,
        min_seconds=MIN_SECONDS,
    )
    print(
        f"Cairn DigestIndex: build {build.wall:.2f} s, {index.nbytes() / count:.1f} bytes/entry, "
        f"{cairn_time.rates(len(queries))}, {len(found):,} hits"
    )
    print(
        f"dict[bytes, int]: build {dict_build.wall:.2f} s, about {dict_bytes / count:.0f} "
        f"bytes/entry (RSS growth), {dict_time.rates(len(queries))}, "
        f"{int((answers >= 0).sum()):,} hits"
    )
    hit = np.flatnonzero(answers >= 0)  # the dict's answers are in query order
    same = np.array_equal(found.query, hit) and np.array_equal(found.id, answers[hit])
    print(check("(query, id) hits of Cairn and the dict", same))
    print(ratio(f"{algorithm} lookups", cairn_time, dict_time, "dict[bytes, int]"))
    print(
        f"memory: Cairn {(dict_bytes / count) / (index.nbytes() / count):.1f}x less than the dict"
    )

    with tempfile.TemporaryDirectory() as folder:
        _, saved = timed(lambda: index.save(folder))
        loaded, opened = timed(lambda: DigestIndex.load(folder))
        # Deliberately cold: the first lookups page the mapped files in.
        again, cold = timed(lambda: loaded.lookup_arrays(queries))
        print(
            f"persistence: save {saved.wall:.2f} s, load (mmap) {opened.wall * 1000:.1f} ms, "
            f"{len(queries) / cold.wall:,.0f} lookups/s right after load (cold)"
        )
        same = np.array_equal(again.query, found.query) and np.array_equal(again.id, found.id)
        print(check("hits after load", same))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M stored, 200k queries")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each side")
    args = parser.parse_args()
    count, queries = (1_000_000, 200_000) if args.quick else (10_000_000, 1_000_000)
    print(machine(f"numpy {np.__version__}"))
    for algorithm in ("md5", "sha256"):
        run(algorithm, count, queries, args.runs)


if __name__ == "__main__":
    main()
