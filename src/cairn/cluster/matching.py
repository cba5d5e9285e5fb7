"""`cairn match --scheduler`: the case's PDQ queries searched on Dask workers, in batches, against
the shards of the workspace's PDQ index (`cairn.matching.pdq_shards`); the client merges.

Each worker opens the shard files itself, memory-mapped, at the path the client gives (a shared
file system), and keeps them open for the next batch. Shards are pinned to workers, so a worker
maps only its shards' pages: an index larger than one machine's memory is spread over several.
The client gets (query, id, distance) rows back and merges them in (query, distance, id) order:
the rows a local search gives, whatever worker ran which batch. Only the client writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cairn.cluster.connection import connect, require_visible
from cairn.matching.pdq_index import PdqIndex, PdqMatches, merge_matches
from cairn.matching.pdq_shards import SHARDS_FILE, ShardFiles, shard_files
from cairn.matching.segments import MANIFEST

if TYPE_CHECKING:
    from distributed import Client

# Queries per task: 32 bytes each, so a batch is 0.5 MiB to send, and its search (about 0.3 ms
# per query on a 10M-hash shard) outweighs a task's few milliseconds of overhead.
QUERY_BATCH = 16_384
# Shards a worker keeps open between tasks (memory maps: the pages stay in the OS's cache).
OPEN_SHARDS = 16

I64 = npt.NDArray[np.int64]


@lru_cache(maxsize=OPEN_SHARDS)
def _open_shard(folder: str, manifest: str) -> PdqIndex:
    """The shard's segments, opened once per worker process. Keyed by the manifest, which names
    immutable segments: an index changed since is opened anew, never read half old."""
    return ShardFiles(Path(folder), json.loads(manifest)).open()


def search_shard(
    folder: str, manifest: str, queries: npt.NDArray[np.uint8], radius: int, first: int
) -> tuple[I64, I64, I64]:
    """The task a worker runs: one batch of queries (numbered from `first`) against one shard."""
    found = _open_shard(folder, manifest).search_arrays(queries, radius)
    return found.query + first, found.id, found.distance


def shard_workers(shard: int, shards: int, workers: list[str]) -> list[str]:
    """The workers that search `shard`: with more workers than shards, each shard has its own
    (its batches spread over them); with fewer, each worker holds several shards."""
    if len(workers) >= shards:
        return workers[shard::shards]
    return [workers[shard % len(workers)]]


class ClusterPdqSearch:
    """A `KnownIndexes` PDQ search (`cairn.matching.known.PdqSearch`) run by `client`'s
    workers."""

    def __init__(self, client: Client, batch: int = QUERY_BATCH) -> None:
        self.client = client
        self.batch = batch

    def __call__(self, folder: Path, queries: npt.NDArray[Any], radius: int) -> PdqMatches:
        shards = shard_files(folder)
        starts = range(0, len(queries), self.batch)
        if not shards or not len(queries):
            return merge_matches([])
        workers = sorted(self.client.scheduler_info()["workers"])
        # Each batch is sent once; the shards' tasks on other workers fetch it from there.
        batches = self.client.scatter([queries[s : s + self.batch] for s in starts], hash=False)
        futures = []
        for number, shard in enumerate(shards):
            owners = shard_workers(number, len(shards), workers)
            manifest = json.dumps(shard.manifest, sort_keys=True)
            for position, (start, batch) in enumerate(zip(starts, batches, strict=True)):
                futures.append(
                    self.client.submit(
                        search_shard,
                        str(shard.folder),
                        manifest,
                        batch,
                        radius,
                        start,
                        workers=[owners[position % len(owners)]],
                        allow_other_workers=True,  # a lost worker's shards go elsewhere
                        pure=False,
                    )
                )
        return merge_matches(self.client.gather(futures))


@contextmanager
def cluster_pdq_search(address: str, folder: Path) -> Iterator[ClusterPdqSearch]:
    """Join the scheduler at `address` and check that every worker can read the PDQ index in
    `folder` before anything is searched or stored (UsageError, exit 2, otherwise)."""
    client = connect(address)
    try:
        for name in (SHARDS_FILE, MANIFEST):
            if (folder / name).is_file():
                require_visible(client, folder / name)
        yield ClusterPdqSearch(client)
    finally:
        client.close()
