"""Ingest: enumerate a source, hash and analyse in worker processes, store in one writer.

Workers compute, the parent writes (DESIGN.md). Units travel in small batches to amortise
inter-process overhead; results are written in submission order so that a rerun of the same
source produces the same rows in the same order. A killed run resumes by skipping the units
whose rows were committed, because each unit lands in one transaction; the writer commits
every COMMIT_ENTRIES entries (`CAIRN_COMMIT_ENTRIES` overrides it) or every two seconds.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, update

from cairn.core.errors import CairnError, UsageError
from cairn.core.records import EntryRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import EvidenceSource, Unit
from cairn.evidence.registry import open_source
from cairn.evidence.worker import (
    crashed,
    hash_only,
    process_batch,
    start_fork_server,
    unreadable,
    worker_context,
)
from cairn.services.cases import add_evidence, find_evidence, get_case
from cairn.services.context import Context
from cairn.services.provenance import library_versions
from cairn.store import audit
from cairn.store.models import IngestError, ProcessingRun
from cairn.store.writer import IngestWriter

log = logging.getLogger(__name__)

# Units per batch sent to a worker, and bytes: enough to amortise inter-process overhead on
# tiny files, small enough that all workers share the work of a folder of large ones.
BATCH_UNITS = 64
BATCH_BYTES = 16 << 20
# Units submitted but not yet stored: bounds the parent's memory, whatever the source's size.
MAX_IN_FLIGHT = 1024
# Entries per commit; a killed run loses at most the uncommitted ones (they are redone).
COMMIT_ENTRIES = 2000


class Progress(Protocol):
    def start(self, units: int, total_bytes: int) -> None: ...
    def advance(self, units: int, nbytes: int) -> None: ...


class _NoProgress:
    def start(self, units: int, total_bytes: int) -> None:
        pass

    def advance(self, units: int, nbytes: int) -> None:
        pass


@dataclass(frozen=True)
class ErrorLine:
    path: bytes
    stage: str
    message: str


@dataclass
class IngestSummary:
    case_ref: str
    evidence: str
    run_id: int
    skipped_units: int = 0  # already stored by an earlier run
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[ErrorLine] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def _batches(items: Iterable[Unit]) -> Iterator[list[Unit]]:
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


@dataclass(frozen=True)
class _Pending:
    future: Future[list[UnitResult]]
    batch: list[Unit]
    generation: int


class _Pool:
    """A process pool that survives a worker dying on hostile input.

    When a worker dies, every batch in flight on that pool fails with it. Those batches are
    redone in a separate one-process quarantine pool, where nothing else runs, so a second
    crash there pins the blame on exactly one unit: that unit is hashed again with decoding
    and expanding switched off, and recorded with a "crash" error beside its digests.
    """

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

    def submit(self, batch: list[Unit]) -> _Pending:
        if self._main is None:
            self._main = self._executor(self.workers)
        try:
            future = self._main.submit(process_batch, self.source, self.root, batch, self.settings)
        except BrokenProcessPool:  # a worker died since the last submit: go on in a new pool
            self._replace_main()
            return self.submit(batch)
        return _Pending(future, batch, self.generation)

    def _replace_main(self) -> None:
        if self._main is not None:
            self._main.shutdown(wait=False, cancel_futures=True)
            self._main = None
        self.generation += 1

    def result(self, pending: _Pending) -> list[UnitResult]:
        try:
            return pending.future.result()
        except BrokenProcessPool:
            if pending.generation == self.generation:
                self._replace_main()
            return self._recover(pending.batch)

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

    def _recover(self, batch: list[Unit]) -> list[UnitResult]:
        """Redo a batch whose pool broke: whole if it is innocent, else unit by unit."""
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


def _count_units(units: Iterable[Unit | EntryRecord], done: set[bytes]) -> tuple[int, int]:
    count = total = 0
    for item in units:
        if item.path in done:
            continue
        count += 1
        if isinstance(item, Unit):
            total += item.size or 0
    return count, total


def ingest(
    ctx: Context,
    case_ref: str,
    source: Path,
    *,
    evidence_label: str | None = None,
    workers: int | None = None,
    settings: AnalysisSettings | None = None,
    progress: Progress | None = None,
    source_kind: str | None = None,
) -> IngestSummary:
    """Ingest `source` into the case; resumes a previous, interrupted run of the same source."""
    progress = progress or _NoProgress()
    if workers is None:
        workers = len(os.sched_getaffinity(0))
    if workers < 0:
        raise UsageError("--workers must be 0 (in-process) or more")
    if settings is None:
        settings = AnalysisSettings()
    commit_entries = _commit_entries()
    resolved = source.expanduser().resolve()
    if evidence_label is not None:
        with ctx.db.session() as session:
            evidence = find_evidence(session, get_case(session, case_ref), evidence_label)
        if Path(evidence.source_path) != resolved:
            raise UsageError(
                f"evidence {evidence_label!r} is {evidence.source_path}, not {resolved}"
            )
    else:
        evidence, _ = add_evidence(ctx, case_ref, resolved, source_kind=source_kind)
    src = open_source(resolved, evidence.source_kind)
    pool = _Pool(workers, type(src), str(resolved), settings) if workers else None
    if pool is not None:
        pool.start()
    started = datetime.now(UTC)
    with ctx.db.session() as session:
        run = ProcessingRun(
            case_id=evidence.case_id,
            evidence_id=evidence.id,
            command="ingest",
            cairn_version=library_versions()["cairn"],
            libraries=library_versions(),
            settings={**settings.describe(), "workers": workers},
            host=socket.gethostname(),
            user=ctx.actor.user,
            started_at=started,
            status="running",
        )
        session.add(run)
        session.flush()
        run_id = run.id
        audit.record(
            session,
            ctx.actor,
            "ingest.start",
            case_ref,
            evidence=evidence.label,
            source=str(resolved),
            run=run_id,
        )

    writer = IngestWriter(ctx.db.engine, evidence.id, run_id, batch_entries=commit_entries)
    done = writer.done_units()
    summary = IngestSummary(case_ref, evidence.label, run_id, skipped_units=len(done))
    status = "interrupted"
    # Everything allocated so far (the CLI, SQLAlchemy, the models: hundreds of thousands of
    # objects) lives as long as the run; frozen, the collector stops re-scanning it, which
    # took ~0.2 s per full collection, several times per 10k files.
    gc.freeze()
    try:
        progress.start(*_count_units(src.units(), done))
        _run(src, done, writer, progress, pool, settings)
        status = "completed"
    finally:
        gc.unfreeze()
        if pool is not None:
            pool.close()
        writer.flush()
        summary.counts = dict(writer.counts)
        ended = datetime.now(UTC)
        summary.seconds = (ended - started).total_seconds()
        with ctx.db.session() as session:
            session.execute(
                update(ProcessingRun)
                .where(ProcessingRun.id == run_id)
                .values(ended_at=ended, status=status, counts=summary.counts)
            )
            summary.errors = [
                ErrorLine(p, s, m)
                for p, s, m in session.execute(
                    select(IngestError.path, IngestError.stage, IngestError.message)
                    .where(IngestError.evidence_id == evidence.id)
                    .order_by(IngestError.id)
                )
            ]
            audit.record(
                session,
                ctx.actor,
                "ingest.end",
                case_ref,
                evidence=evidence.label,
                run=run_id,
                status=status,
                counts=summary.counts,
                errors=len(summary.errors),
            )
    return summary


def _commit_entries() -> int:
    """Entries per commit: `CAIRN_COMMIT_ENTRIES` overrides the writer's default batch."""
    value = os.environ.get("CAIRN_COMMIT_ENTRIES")
    if value is None:
        return COMMIT_ENTRIES
    try:
        entries = int(value)
    except ValueError:
        entries = 0
    if entries < 1:
        raise UsageError(f"CAIRN_COMMIT_ENTRIES must be a positive integer, not {value!r}")
    return entries


def _run(
    src: EvidenceSource,
    done: set[bytes],
    writer: IngestWriter,
    progress: Progress,
    pool: _Pool | None,
    settings: AnalysisSettings,
) -> None:
    def units() -> Iterator[Unit]:
        for item in src.units():
            if item.path in done:
                continue
            if isinstance(item, EntryRecord):  # nothing to read: record it as it comes
                writer.add(item)
                progress.advance(1, 0)
            else:
                yield item

    def store(results: list[UnitResult], batch: list[Unit]) -> None:
        for result in results:
            writer.add(result)
        progress.advance(len(batch), sum(u.size or 0 for u in batch))

    if pool is None:
        for batch in _batches(units()):
            store([src.process(unit, settings) for unit in batch], batch)
        return
    # Results are stored in submission order (so reruns store rows in the same order), but
    # workers run ahead of the head batch by up to MAX_IN_FLIGHT units: one large file at the
    # head then does not leave the other workers idle. Units are small, so this is cheap.
    pending: deque[_Pending] = deque()
    in_flight = 0
    for batch in _batches(units()):
        pending.append(pool.submit(batch))
        in_flight += len(batch)
        while in_flight > MAX_IN_FLIGHT:
            head = pending.popleft()
            in_flight -= len(head.batch)
            store(pool.result(head), head.batch)
    while pending:
        head = pending.popleft()
        store(pool.result(head), head.batch)
