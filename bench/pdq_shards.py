"""PDQ index shards (distance <= 31, exact): the index split by hash range (PdqShards) against
the whole PdqIndex, on the same hashes and queries in the same run.

Stored hashes and queries as in bench/pdq_search.py (90 % uniform, 10 % clusters; queries 40 %
random, 60 % near stored hashes or cluster centres). Printed, with RATIO lines:
- one shard, the default (what `cairn match` runs), against PdqIndex: the default unchanged;
- S shards searched one after the other on this machine against PdqIndex;
- memory: bytes mapped per shard against the whole index, and the peak RSS of a fresh process
  that opens one shard (or the whole index) and answers every query;
- with --cluster, the S-shard search on a Dask LocalCluster (2 worker processes x 1 thread,
  loopback), as `cairn match --scheduler` runs it, against PdqIndex on this process's threads.
Every side's (query, id, distance) rows must equal PdqIndex's, order included.

    .venv/bin/python bench/pdq_shards.py [--quick] [--sizes 1000000,...] [--shards S]
                                          [--runs N] [--cluster]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _harness import (
    Report,
    best_reports,
    check,
    load,
    machine,
    ratio,
    read_report,
    timed,
    versus,
)
from cairn.matching.pdq_index import PdqIndex, PdqMatches
from cairn.matching.pdq_shards import PdqShards, shard_files
from pdq_search import RADIUS, make_queries, make_stored

MIN_SECONDS = 3.0
# A fresh process: open one shard (or the whole index) memory-mapped, answer every query;
# the memory it holds then (RSS: the pages of the index it touched, and the results) past
# what it held before opening it (imports, compiled kernels).
CHILD = """
import json, os, sys
import numpy as np
from pathlib import Path
from _harness import Stopwatch
from cairn.matching.pdq_index import PdqIndex
from cairn.matching.pdq_shards import shard_files
folder, shard, queries = Path(sys.argv[1]), int(sys.argv[2]), np.load(sys.argv[3])
radius = int(sys.argv[4])
tiny = PdqIndex()  # loads both compiled kernels first: their memory is not the index's
tiny.build(queries[:64], np.arange(len(queries[:64]), dtype=np.int64))
for method in ("index", "scan"):
    tiny.search_arrays(queries[:1], radius, method)
def resident_mb():
    pages = int(open("/proc/self/statm").read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
before = resident_mb()
stopwatch = Stopwatch()
index = shard_files(folder)[shard].open()
found = index.search_arrays(queries, radius)
report = json.loads(stopwatch.report(len(found)))
print(json.dumps({**report, "rss_mb": resident_mb() - before}))
"""


def same(a: PdqMatches, b: PdqMatches) -> bool:
    """Row for row: the same (query, id, distance) in the same order."""
    return (
        np.array_equal(a.query, b.query)
        and np.array_equal(a.id, b.id)
        and np.array_equal(a.distance, b.distance)
    )


def child(folder: Path, shard: int, queries: Path) -> Report:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), str(shard), str(queries), str(RADIUS)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    )
    return read_report(done.stdout)


def run(count: int, queries_total: int, shards: int, runs: int, cluster: bool) -> None:
    rng = np.random.default_rng(count)
    stored, centres = make_stored(count, rng)
    ids = rng.permutation(count).astype(np.int64) * 3 + 1
    queries = make_queries(queries_total, stored, centres, rng)
    print(f"\n== {count:,} stored hashes, {queries_total:,} queries, {shards} shards")

    whole = PdqIndex()
    _, whole_build = timed(lambda: whole.build(stored, ids))
    default = PdqShards()
    default.build(stored, ids)
    sharded = PdqShards(shard_hashes=-(-count // shards))
    _, sharded_build = timed(lambda: sharded.build(stored, ids))
    sizes = [len(part) for part in sharded.parts]
    print(
        f"build: PdqIndex {whole_build.wall:.2f} s, {len(sizes)} shards {sharded_build.wall:.2f} s"
        f" ({min(sizes):,}-{max(sizes):,} hashes each)"
    )

    (one, one_time), (expected, whole_time) = versus(
        lambda: default.search_arrays(queries, RADIUS),
        lambda: whole.search_arrays(queries, RADIUS),
        runs=runs,
        min_seconds=MIN_SECONDS,
    )
    print(check("rows of one shard and PdqIndex", same(one, expected)))
    print(f"PdqIndex: {whole_time.rates(queries_total)} ({len(expected):,} matches)")
    print(
        ratio(f"one shard (the default) vs PdqIndex at {count:,}", one_time, whole_time, "PdqIndex")
    )

    (split, split_time), _ = versus(
        lambda: sharded.search_arrays(queries, RADIUS),
        lambda: whole.search_arrays(queries, RADIUS),
        runs=runs,
        min_seconds=MIN_SECONDS,
    )
    print(check(f"rows of {shards} shards and PdqIndex", same(split, expected)))
    print(f"{shards} shards, one after the other: {split_time.rates(queries_total)}")
    print(ratio(f"{shards} shards vs PdqIndex at {count:,}", split_time, whole_time, "PdqIndex"))

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        whole_folder, shards_folder = root / "whole", root / "shards"
        default.save(whole_folder)
        sharded.save(shards_folder)
        np.save(root / "queries.npy", queries)
        biggest = int(np.argmax(sizes))
        mapped = [part.nbytes() for part in sharded.parts]
        print(
            f"memory mapped: whole index {whole.nbytes() / 2**20:,.0f} MiB, largest shard "
            f"{max(mapped) / 2**20:,.0f} MiB ({max(mapped) / whole.nbytes():.0%})"
        )
        best = best_reports(
            {
                "whole": lambda: child(whole_folder, 0, root / "queries.npy"),
                "shard": lambda: child(shards_folder, biggest, root / "queries.npy"),
            },
            runs=1,
        )
        whole_mb, shard_mb = best["whole"].rss_mb, best["shard"].rss_mb
        print(
            "memory a process holds once it has answered every query (RSS past its start): "
            f"whole index {whole_mb:,.0f} MB, its largest shard {shard_mb:,.0f} MB "
            f"({shard_mb / max(whole_mb, 1e-9):.0%})"
        )
        if cluster:
            run_cluster(shards_folder, queries, expected, whole, runs)


def run_cluster(
    folder: Path, queries: np.ndarray, expected: PdqMatches, whole: PdqIndex, runs: int
) -> None:
    from distributed import Client, LocalCluster

    from cairn.cluster.matching import ClusterPdqSearch

    shards = len(shard_files(folder))
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
        Client(local, set_as_default=False) as client,
    ):
        search = ClusterPdqSearch(client)
        (found, cluster_time), (_, whole_time) = versus(
            lambda: search(folder, queries, RADIUS),
            lambda: whole.search_arrays(queries, RADIUS),
            runs=runs,
            min_seconds=MIN_SECONDS,
        )
    print(check(f"rows of {shards} shards on the cluster and PdqIndex", same(found, expected)))
    print(
        f"{shards} shards on 2 workers x 1 thread: {len(queries) / cluster_time.wall:,.0f}/s "
        f"wall; PdqIndex in the same runs {len(queries) / whole_time.wall:,.0f}/s"
    )
    # Wall time only: the workers' CPU is spent in other processes, not measured here.
    print(
        f"RATIO LocalCluster vs PdqIndex in-process: {whole_time.wall / cluster_time.wall:.2f}x "
        f"PdqIndex (wall); {load()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M stored only, fewer queries")
    parser.add_argument("--sizes", default=None, help="comma-separated stored-set sizes")
    parser.add_argument("--shards", type=int, default=4, help="shards of the split index")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side")
    parser.add_argument("--cluster", action="store_true", help="also on a Dask LocalCluster")
    args = parser.parse_args()
    print(machine(f"numpy {np.__version__}"))
    if args.sizes:
        plan = [(int(size), 20_000) for size in args.sizes.split(",")]
    elif args.quick:
        plan = [(1_000_000, 5_000)]
    else:
        plan = [(1_000_000, 20_000), (10_000_000, 20_000)]
    for count, queries in plan:
        run(count, queries, args.shards, args.runs, args.cluster)


if __name__ == "__main__":
    main()
