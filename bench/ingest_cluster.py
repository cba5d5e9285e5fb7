"""What `cairn ingest --scheduler` costs over the local worker pool, and how many workers one
writer can feed, in one run.

On a machine of a few cores a cluster cannot be faster than the local pool, so this measures
what decides its size elsewhere:

- the overhead of the cluster path against the local pool (2 processes each) on the same
  trees, in CPU seconds of every process involved (this one: enumeration, the writer, and for
  the cluster the LocalCluster's scheduler and nannies; plus every worker process, read from
  /proc while they live): per unit on many small files, per GB on large ones. Target: at most
  10 % more CPU per GB;
- the writer's ceiling: `store.writer.IngestWriter` fed ready-made results (one new medium and
  one occurrence per unit, nothing to hash) on PostgreSQL, in rows per second;
- from both, the worker cores one writer can feed at a given mean file size, and how long
  100 TB takes at that size (docs/scale-out.md).

Both sides' stored rows are checked equal before anything is printed. Needs PostgreSQL at
CAIRN_TEST_PG's server (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from distributed import LocalCluster

from _harness import Timing, check, machine, ratio
from api_load import create_database, drop_database
from cairn.core.records import ContentRecord, EntryRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.core.types import Digests, EntryKind
from cairn.services.cases import add_evidence, create_case, find_evidence, get_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.store.writer import IngestWriter

CASE = "BENCH"
KiB, MiB = 1 << 10, 1 << 20
SAMPLE_SECONDS = 0.05
# Mean file sizes the projection is printed for: a folder of documents, of phone photos.
PROJECTED_SIZES = (256 * KiB, 1 * MiB, 4 * MiB)
PROJECTED_BYTES = 100e12


def write_tree(root: Path, files: int, size: int) -> int:
    """`files` files of `size` random bytes, 200 to a folder; the bytes written."""
    block = os.urandom(size + files * 8)
    for i in range(files):
        folder = root / f"d{i // 200:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:06d}.bin").write_bytes(block[i * 8 : i * 8 + size])
    return files * size


class ProcessTreeCPU:
    """CPU seconds of this process and all its descendants over a `with` block.

    Descendants are sampled while they live (a pool's workers exit at its end, taking their
    counters with them); one that lives past the block counts up to the block's end.
    """

    def __init__(self) -> None:
        self.seconds = 0.0

    @staticmethod
    def _descendants() -> dict[int, float]:
        found = {}
        for child in psutil.Process().children(recursive=True):
            try:
                times = child.cpu_times()
            except psutil.Error:  # exited between the listing and the read
                continue
            found[child.pid] = times.user + times.system
        return found

    @contextmanager
    def measure(self) -> Iterator[None]:
        start, last = self._descendants(), self._descendants()
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(SAMPLE_SECONDS):
                last.update(self._descendants())

        sampler = threading.Thread(target=sample)
        own = time.process_time()
        sampler.start()
        try:
            yield
        finally:
            stop.set()
            sampler.join()
            last.update(self._descendants())
            own = time.process_time() - own
            self.seconds = own + sum(cpu - start.get(pid, 0.0) for pid, cpu in last.items())


def stored(workspace: Path) -> list[tuple[bytes, str | None]]:
    with sqlite3.connect(workspace / "cairn.db") as db:
        return list(db.execute("SELECT path, media_sha256 FROM occurrences ORDER BY id"))


def run_side(
    scratch: Path, tree: Path, **where: object
) -> tuple[Timing, list[tuple[bytes, str | None]]]:
    """One ingest of `tree` into a fresh SQLite workspace: wall and whole-tree CPU, the rows."""
    workspace = Path(tempfile.mkdtemp(dir=scratch))
    os.environ.pop("CAIRN_DATABASE_URL", None)
    ctx = Context.open(workspace)
    create_case(ctx, CASE)
    cpu = ProcessTreeCPU()
    wall = time.perf_counter()
    with cpu.measure():
        ingest(ctx, CASE, tree, settings=AnalysisSettings(thumbnails=False), **where)  # type: ignore[arg-type]
    wall = time.perf_counter() - wall
    ctx.close()
    rows = stored(workspace)
    shutil.rmtree(workspace)
    return Timing(wall, cpu.seconds), rows


def compare(scratch: Path, tree: Path, address: str, runs: int) -> tuple[Timing, Timing]:
    """Best of `runs` interleaved ingests per side (after one untimed each), rows checked."""
    sides: dict[str, Callable[[], tuple[Timing, list[tuple[bytes, str | None]]]]] = {
        "local": lambda: run_side(scratch, tree, workers=2),
        "cluster": lambda: run_side(scratch, tree, scheduler=address),
    }
    first = {name: side()[1] for name, side in sides.items()}
    print(check(f"  rows of {tree.name}", first["local"] == first["cluster"]))
    best = dict.fromkeys(sides, Timing(float("inf"), float("inf")))
    for _ in range(runs):
        for name, side in sides.items():
            timing = side()[0]
            best[name] = Timing(min(best[name].wall, timing.wall), min(best[name].cpu, timing.cpu))
    return best["cluster"], best["local"]


def results(count: int) -> list[UnitResult]:
    """Ready-made results: one new file per unit, as a worker returns it."""
    made = []
    for i in range(count):
        seed = uuid.UUID(int=i).hex
        digests = Digests(md5=seed, sha1=seed + seed[:8], sha256=seed * 2, size=4096 + i)
        path = b"d%03d/f%07d.jpg" % (i // 1000, i)
        entry = EntryRecord(
            path=path,
            kind=EntryKind.FILE,
            size=4096 + i,
            content=ContentRecord(digests=digests, mime="image/jpeg"),
        )
        made.append(UnitResult(path, (entry,)))
    return made


def writer_rate(scratch: Path, rows: int) -> Timing:
    """Seconds for the one writer to commit `rows` results on PostgreSQL (default batches)."""
    made = results(rows)
    name, url = create_database()  # the server's, as api_load makes it
    os.environ["CAIRN_DATABASE_URL"] = url
    try:
        ctx = Context.open(scratch / "pg-workspace")
        create_case(ctx, CASE)
        label = add_evidence(ctx, CASE, scratch)[0].label
        with ctx.db.session() as session:
            evidence_id = find_evidence(session, get_case(session, CASE), label).id
        writer = IngestWriter(ctx.db.engine, evidence_id, None)
        wall, cpu = time.perf_counter(), time.process_time()
        for result in made:
            writer.add(result)
        writer.flush()
        timing = Timing(time.perf_counter() - wall, time.process_time() - cpu)
        ctx.close()
    finally:
        del os.environ["CAIRN_DATABASE_URL"]
        drop_database(name)
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller trees, fewer rows")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side")
    args = parser.parse_args()
    small_files, large_files = (1500, 8) if args.quick else (4000, 48)
    writer_rows = 20_000 if args.quick else 100_000
    scratch = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    import dask
    import distributed

    print(machine(f"dask {dask.__version__}", f"distributed {distributed.__version__}"))
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )  # fmt: skip
    try:
        small, large = scratch / "small", scratch / "large"
        write_tree(small, small_files, 2 * KiB)
        large_bytes = write_tree(large, large_files, 16 * MiB)
        print(f"trees: {small_files:,} files of 2 KiB; {large_files} of 16 MiB, page-cached")
        print("local pool: 2 processes; cluster: LocalCluster, 2 worker processes x 1 thread")

        cluster_small, local_small = compare(scratch, small, cluster.scheduler_address, args.runs)
        per_unit = (cluster_small.cpu - local_small.cpu) / small_files
        print(
            f"per unit: cluster {cluster_small.cpu / small_files * 1e3:.2f} ms CPU, "
            f"local {local_small.cpu / small_files * 1e3:.2f} ms CPU "
            f"(overhead {per_unit * 1e3:+.2f} ms/unit); "
            f"wall {cluster_small.wall:.2f} s vs {local_small.wall:.2f} s"
        )
        print(ratio("cluster, small files", cluster_small, local_small, "local pool"))

        cluster_large, local_large = compare(scratch, large, cluster.scheduler_address, args.runs)
        gb = large_bytes / 1e9
        more = cluster_large.cpu / local_large.cpu - 1
        print(
            f"per GB: cluster {cluster_large.cpu / gb:.2f} CPU-s, local {local_large.cpu / gb:.2f}"
            f" CPU-s ({more:+.1%} CPU per GB; target <= +10 %); "
            f"wall {cluster_large.wall:.2f} s vs {local_large.wall:.2f} s"
        )
        print(ratio("cluster, large files", cluster_large, local_large, "local pool"))
    finally:
        cluster.close()

    writer = writer_rate(scratch, writer_rows)
    rate = writer_rows / writer.wall
    print(
        f"writer on PostgreSQL: {writer_rows:,} rows in {writer.wall:.2f} s = {rate:,.0f} rows/s "
        f"({writer.cpu:.2f} CPU-s in the writer)"
    )
    # A worker core spends c_unit + size x c_byte per unit (the cluster's whole CPU, scheduler
    # included): the writer keeps `rate x that` cores busy.
    c_unit = cluster_small.cpu / small_files
    c_byte = (cluster_large.cpu - large_files * c_unit) / large_bytes
    for size in PROJECTED_SIZES:
        seconds_per_unit = c_unit + size * c_byte
        cores = rate * seconds_per_unit
        hours = PROJECTED_BYTES / size / rate / 3600
        print(
            f"mean file {size / MiB:g} MiB: one writer feeds {cores:,.0f} worker cores; "
            f"100 TB in {hours:,.1f} h (writer-bound)"
        )
    shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
