"""The worker processes of an ingest: batches of units out, results back, crashes contained.

It lives apart from the ingest service, with nothing of the store, so that `cairn ingest` can
start the workers on the first units before it has even imported the store (`prefetch`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

from cairn.core.errors import CairnError
from cairn.core.records import UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import EvidenceSource, Unit
from cairn.evidence.worker import (
    crashed,
    hash_only,
    process_batch,
    start_fork_server,
    unreadable,
    worker_context,
)

log = logging.getLogger(__name__)

# Units per batch sent to a worker, and bytes: enough to amortise inter-process overhead on
# tiny files, small enough that all workers share the work of a folder of large ones.
BATCH_UNITS = 64
BATCH_BYTES = 16 << 20
# Units submitted but not yet stored: bounds the parent's memory, whatever the source's size.
MAX_IN_FLIGHT = 1024


def batches(items: Iterable[Unit]) -> Iterator[list[Unit]]:
    batch: list[Unit] = []
    size = 0
    for unit in items:
        batch.append(unit)
        size += unit.size or 0
        if len(batch) >= BATCH_UNITS or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class BatchFuture(Protocol):
    """A batch's results to come: a local process pool's future, or a Dask cluster's."""

    def result(self, timeout: float | None = None) -> list[UnitResult]: ...


@dataclass(frozen=True)
class Pending:
    future: BatchFuture
    batch: list[Unit]
    generation: int


class Pool(Protocol):
    """Where an ingest sends its batches: this machine's `WorkerPool` or a cluster's workers
    (`cairn.cluster.pool`). Results come back per batch, whatever went wrong on the way."""

    max_in_flight: int  # units submitted but not yet stored

    def start(self) -> None: ...
    def submit(self, batch: list[Unit]) -> Pending: ...
    def result(self, pending: Pending) -> list[UnitResult]: ...
    def close(self) -> None: ...


class WorkerPool:
    """A process pool that survives a worker dying on hostile input.

    When a worker dies, every batch in flight on that pool fails with it. Those batches are
    redone in a separate one-process quarantine pool, where nothing else runs, so a second
    crash there pins the blame on exactly one unit: that unit is hashed again with decoding
    and expanding switched off, and recorded with a "crash" error beside its digests.
    """

    max_in_flight = MAX_IN_FLIGHT

    def __init__(
        self, workers: int, source: type[EvidenceSource], root: str, settings: AnalysisSettings
    ) -> None:
        self.workers = workers
        self.source, self.root, self.settings = source, root, settings
        self._main: ProcessPoolExecutor | None = None
        self._quarantine: ProcessPoolExecutor | None = None
        self.generation = 0  # bumped whenever a broken main pool is replaced

    def start(self) -> None:
        """Start the fork server now, so its imports overlap the parent's enumeration (a no-op
        when the CLI started it already)."""
        start_fork_server([self.source.__module__])

    def _executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=worker_context([self.source.__module__]))

    def submit(self, batch: list[Unit]) -> Pending:
        if self._main is None:
            self._main = self._executor(self.workers)
        try:
            future = self._main.submit(process_batch, self.source, self.root, batch, self.settings)
        except BrokenProcessPool:  # a worker died since the last submit: go on in a new pool
            self._replace_main()
            return self.submit(batch)
        return Pending(future, batch, self.generation)

    def _replace_main(self) -> None:
        if self._main is not None:
            self._main.shutdown(wait=False, cancel_futures=True)
            self._main = None
        self.generation += 1

    def result(self, pending: Pending) -> list[UnitResult]:
        try:
            return pending.future.result()
        except BrokenProcessPool:
            if pending.generation == self.generation:
                self._replace_main()
            return self.recover(pending.batch)

    def _alone(self, batch: list[Unit], settings: AnalysisSettings) -> list[UnitResult]:
        """Run `batch` in the quarantine pool; BrokenProcessPool means it crashed by itself."""
        if self._quarantine is None:
            self._quarantine = self._executor(1)
        future = self._quarantine.submit(process_batch, self.source, self.root, batch, settings)
        try:
            return future.result()
        except BrokenProcessPool:
            self._quarantine.shutdown(wait=False, cancel_futures=True)
            self._quarantine = None
            raise

    def recover(self, batch: list[Unit]) -> list[UnitResult]:
        """Redo a batch whose workers died: whole if it is innocent, else unit by unit."""
        try:
            return self._alone(batch, self.settings)
        except BrokenProcessPool:
            self._check_workers_start()
            if len(batch) == 1:
                return [self._after_crash(batch[0])]
        results = []
        for unit in batch:
            try:
                results.extend(self._alone([unit], self.settings))
            except BrokenProcessPool:
                results.append(self._after_crash(unit))
        return results

    def _check_workers_start(self) -> None:
        """Tell a crash caused by input from workers that die whatever they are given.

        A worker that cannot run an empty batch is broken by its environment (an import
        failing, no memory); blaming each unit in turn would record every file as crashing.
        """
        try:
            self._alone([], self.settings)
        except BrokenProcessPool as exc:
            raise CairnError(
                "worker processes die before reading any evidence; see the log above "
                "(or run with --workers 0 to see the failure in-process)"
            ) from exc

    def _after_crash(self, unit: Unit) -> UnitResult:
        log.warning("worker crashed on %r; retrying with hashing only", unit.path)
        try:
            (result,) = self._alone([unit], hash_only(self.settings))
        except BrokenProcessPool:
            log.warning("hashing %r crashed its worker too; recorded without digests", unit.path)
            return unreadable(unit)
        return crashed(result)

    def close(self) -> None:
        for executor in (self._main, self._quarantine):
            if executor is not None:  # after a failure, queued batches are not worth running
                executor.shutdown(wait=True, cancel_futures=True)
        self._main = self._quarantine = None


@dataclass
class Prefetch:
    """The first batches of a source, submitted before the store was opened, by a thread (the
    first submit waits for the fork server's imports; this process imports the store meanwhile).
    """

    pool: WorkerPool
    pending: list[Pending] = field(default_factory=list)
    units: int = 0  # the source's first `units` units (entries excluded) are in `pending`
    failed: Exception | None = None
    _thread: threading.Thread | None = None

    def _submit(self, source: EvidenceSource) -> None:
        try:
            units = (unit for unit in source.units() if isinstance(unit, Unit))
            for batch in batches(islice(units, MAX_IN_FLIGHT)):
                self.pending.append(self.pool.submit(batch))
                self.units += len(batch)
        except Exception as exc:  # the ingest redoes this work, and reports what failed
            self.failed = exc

    def matches(self, pool: WorkerPool) -> bool:
        """Whether the store's view of the run (source kind, root, settings, workers) is the
        one this work was started with, and it started well; if not, it is thrown away."""
        self.wait()
        mine = self.pool
        return self.failed is None and (mine.workers, mine.source, mine.root, mine.settings) == (
            pool.workers,
            pool.source,
            pool.root,
            pool.settings,
        )

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        self.wait()
        self.pool.close()


def default_workers() -> int:
    """One worker per core this process may run on."""
    return len(os.sched_getaffinity(0))


def prefetch(source: EvidenceSource, workers: int, settings: AnalysisSettings) -> Prefetch:
    """Submit the source's first units (up to MAX_IN_FLIGHT) to a new pool at once.

    Opening the store costs `cairn ingest` about half a second of imports and queries, during
    which the workers would wait; with this they hash meanwhile. Which units were stored by an
    earlier, interrupted run is known only once the store is open: their results are then
    dropped, a bounded waste that only a resumed run pays.
    """
    start_fork_server([type(source).__module__])
    ahead = Prefetch(WorkerPool(workers, type(source), str(source.root), settings))
    ahead._thread = threading.Thread(target=ahead._submit, args=(source,), name="prefetch")
    ahead._thread.start()
    return ahead
