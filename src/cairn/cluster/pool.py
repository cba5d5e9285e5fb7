"""The ingest's batches run as Dask tasks on a cluster's workers, results back to the one writer.

Same interface as the local `WorkerPool` (`evidence.pool.Pool`), so the ingest service has one
code path: it submits batches in the source's order and stores their results in that order,
whatever the worker that ran them. A worker reads the evidence itself, at the path the client
gave (a shared file system), and opens the source once per thread (`evidence.worker`).

A worker that dies mid-batch is replaced by its nanny and the scheduler reruns the batch
elsewhere; nothing was stored, since only this process writes. A batch whose workers keep
dying (`distributed.scheduler.allowed-failures`) fails as KilledWorker: hostile input, so it is
redone here by the local pool's quarantine, which records the same "crash" errors a local run
would.
"""

from __future__ import annotations

import logging

from distributed import Client
from distributed.scheduler import KilledWorker

from cairn.core.records import UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import EvidenceSource, Unit
from cairn.evidence.pool import BATCH_UNITS, MAX_IN_FLIGHT, Pending, WorkerPool
from cairn.evidence.worker import process_batch

log = logging.getLogger(__name__)

# Batches queued per worker thread: one running and one ready, so no thread waits on the
# round trip to this process for its next batch.
BATCHES_PER_THREAD = 2


class ClusterPool:
    """Batches of units sent to the workers of `client`'s scheduler."""

    def __init__(
        self,
        client: Client,
        source: type[EvidenceSource],
        root: str,
        settings: AnalysisSettings,
    ) -> None:
        self.client = client
        self.source, self.root, self.settings = source, root, settings
        threads_per_worker = client.nthreads()
        self.workers = len(threads_per_worker)
        threads = sum(threads_per_worker.values())
        self.max_in_flight = max(MAX_IN_FLIGHT, BATCHES_PER_THREAD * BATCH_UNITS * threads)
        # One local process, started only if a batch kills its cluster workers.
        self._quarantine = WorkerPool(1, source, root, settings)

    def start(self) -> None:
        """Nothing to start: the operator runs the workers."""

    def submit(self, batch: list[Unit]) -> Pending:
        # pure=False: a random task key, instead of hashing every unit of the batch for one.
        future = self.client.submit(
            process_batch, self.source, self.root, batch, self.settings, pure=False
        )
        return Pending(future, batch, 0)

    def result(self, pending: Pending) -> list[UnitResult]:
        try:
            return pending.future.result()
        except KilledWorker:
            log.warning(
                "a batch of %d units from %r killed its cluster workers; redoing it here",
                len(pending.batch),
                pending.batch[0].path,
            )
            return self._quarantine.recover(pending.batch)

    def close(self) -> None:
        """Forget the tasks not yet run (closing the client cancels them) and the quarantine."""
        self._quarantine.close()
        self.client.close()
