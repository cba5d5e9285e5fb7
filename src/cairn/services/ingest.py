"""Ingest: enumerate a source, hash and analyse in worker processes, store in one writer.

Workers compute, the parent writes (DESIGN.md). Units travel in small batches to amortise
inter-process overhead; results are written in submission order so that a rerun of the same
source produces the same rows in the same order. A killed run resumes by skipping the units
whose rows were committed, because each unit lands in one transaction.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
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

from cairn.core.errors import UsageError
from cairn.core.records import EntryRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import Unit
from cairn.evidence.registry import open_source
from cairn.evidence.worker import CRASH_ERROR, hash_only, process_batch
from cairn.services.cases import add_evidence, find_evidence, get_case
from cairn.services.context import Context
from cairn.services.provenance import library_versions
from cairn.store import audit
from cairn.store.models import IngestError, ProcessingRun
from cairn.store.writer import IngestWriter

log = logging.getLogger(__name__)

BATCH_UNITS = 64
BATCH_BYTES = 16 << 20


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
    """A process pool that survives a worker dying on hostile input."""

    def __init__(self, workers: int, kind: str, root: str, settings: AnalysisSettings) -> None:
        self.workers = workers
        self.kind, self.root, self.settings = kind, root, settings
        self._executor: ProcessPoolExecutor | None = None
        self.generation = 0  # bumped whenever a broken pool is replaced

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: children fork from a clean single-threaded server, not from this
            # process with its database connections and progress thread.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["cairn.evidence.worker", "cairn.media.image"])
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    def submit(self, batch: list[Unit]) -> _Pending:
        future = self._pool().submit(process_batch, self.kind, self.root, batch, self.settings)
        return _Pending(future, batch, self.generation)

    def result(self, pending: _Pending) -> list[UnitResult]:
        try:
            return pending.future.result()
        except BrokenProcessPool:
            if pending.generation == self.generation:
                self.reset()
            return self._recover(pending.batch)

    def _recover(self, batch: list[Unit]) -> list[UnitResult]:
        """Redo a batch whose pool broke: unit by unit, hashing only the one that crashes."""
        results = []
        for unit in batch:
            try:
                results.extend(self.submit([unit]).future.result())
            except BrokenProcessPool:
                self.reset()
                log.warning("worker crashed on %r; retrying with hashing only", unit.path)
                (result,) = self._pool().submit(
                    process_batch, self.kind, self.root, [unit], hash_only(self.settings)
                ).result()
                head, *rest = result.entries
                head = dataclasses.replace(head, errors=(*head.errors, CRASH_ERROR))
                results.append(UnitResult(result.unit_path, (head, *rest)))
        return results

    def reset(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            self.generation += 1

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


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
    workers = os.cpu_count() or 1 if workers is None else workers
    if workers < 0:
        raise UsageError("--workers must be 0 (in-process) or more")
    if settings is None:
        settings = AnalysisSettings()
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
    started = datetime.now(UTC)
    with ctx.db.session() as session:
        run = ProcessingRun(
            case_id=evidence.case_id, evidence_id=evidence.id, command="ingest",
            cairn_version=library_versions()["cairn"], libraries=library_versions(),
            settings={**settings.describe(), "workers": workers}, host=socket.gethostname(),
            user=ctx.actor.user, started_at=started, status="running",
        )
        session.add(run)
        session.flush()
        run_id = run.id
        audit.record(session, ctx.actor, "ingest.start", case_ref, evidence=evidence.label,
                     source=str(resolved), run=run_id)

    writer = IngestWriter(ctx.db.engine, evidence.id, run_id)
    done = writer.done_units()
    src = open_source(resolved, evidence.source_kind)
    progress.start(*_count_units(src.units(), done))
    summary = IngestSummary(case_ref, evidence.label, run_id, skipped_units=len(done))
    status = "interrupted"
    try:
        _run(src.units(), done, writer, progress, workers, evidence.source_kind,
             str(resolved), settings)
        status = "completed"
    finally:
        writer.flush()
        summary.counts = dict(writer.counts)
        ended = datetime.now(UTC)
        summary.seconds = (ended - started).total_seconds()
        with ctx.db.session() as session:
            session.execute(
                update(ProcessingRun).where(ProcessingRun.id == run_id)
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
            audit.record(session, ctx.actor, "ingest.end", case_ref, evidence=evidence.label,
                         run=run_id, status=status, counts=summary.counts,
                         errors=len(summary.errors))
    return summary


def _run(
    items: Iterable[Unit | EntryRecord],
    done: set[bytes],
    writer: IngestWriter,
    progress: Progress,
    workers: int,
    kind: str,
    root: str,
    settings: AnalysisSettings,
) -> None:
    def units() -> Iterator[Unit]:
        for item in items:
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

    if workers == 0:
        for batch in _batches(units()):
            store(process_batch(kind, root, batch, settings), batch)
        return
    pool = _Pool(workers, kind, root, settings)
    pending: deque[_Pending] = deque()
    try:
        for batch in _batches(units()):
            pending.append(pool.submit(batch))
            while len(pending) > workers * 3:
                head = pending.popleft()
                store(pool.result(head), head.batch)
        while pending:
            head = pending.popleft()
            store(pool.result(head), head.batch)
    finally:
        pool.close()
