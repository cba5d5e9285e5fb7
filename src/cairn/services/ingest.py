"""Ingest: enumerate a source, hash and analyse in worker processes, store in one writer.

Workers compute, the parent writes (docs/architecture.md). Units travel in small batches to amortise
inter-process overhead; results are written in submission order so that a rerun of the same
source produces the same rows in the same order. A killed run resumes by skipping the units
whose rows were committed, because each unit lands in one transaction; the writer commits
every COMMIT_ENTRIES entries (`CAIRN_COMMIT_ENTRIES` overrides it) or every two seconds.
"""

from __future__ import annotations

import gc
import logging
import socket
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, update

from cairn.core.config import positive_int_env
from cairn.core.errors import UsageError
from cairn.core.records import EntryRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import EvidenceSource, Unit
from cairn.evidence.pool import (
    Pending,
    Pool,
    Prefetch,
    WorkerPool,
    batches,
    default_workers,
)
from cairn.evidence.registry import open_source
from cairn.services.cases import add_evidence, find_evidence, get_case, source_path
from cairn.services.context import Context
from cairn.services.provenance import library_versions
from cairn.services.similarity import FeatureSink
from cairn.store import audit
from cairn.store.models import Evidence, IngestError, Occurrence, ProcessingRun
from cairn.store.writer import IngestWriter

log = logging.getLogger(__name__)

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
    links: int = 0  # links of the evidence's media to the workspace's (new or not)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


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
    prefetched: Prefetch | None = None,
    roots: Sequence[Path] | None = None,
    scheduler: str | None = None,
) -> IngestSummary:
    """Ingest `source` into the case; resumes a previous, interrupted run of the same source.

        `prefetched`: work `cairn ingest` started before opening the store (`evidence.pool`); used
        when it was started on this source with these settings, else closed and redone. `roots`: the
    folders the source must lie beneath, checked now (`cases.add_evidence`); sources open every
    path without following symlinks, so one swapped in after this check is refused, not read.
    `scheduler`: a Dask scheduler whose workers do the reading and hashing (`cairn.cluster`);
    this process stays the one writer, so the rows are those of a local run."""
    progress = progress or _NoProgress()
    if scheduler and workers is not None:
        raise UsageError("--workers counts this machine's processes; not with --scheduler")
    if workers is None:
        workers = default_workers()
    if workers < 0:
        raise UsageError("--workers must be 0 (in-process) or more")
    if settings is None:
        settings = AnalysisSettings()
    commit_entries = _commit_entries()
    resolved = source_path(source, roots)
    client = None
    if scheduler:  # the workers must see the evidence before anything is stored
        from cairn.cluster.connection import join

        client = join(scheduler, resolved)
    with ExitStack() as on_failure:
        if client is not None:
            on_failure.callback(client.close)
        evidence = _evidence(ctx, case_ref, resolved, evidence_label, source_kind, roots)
        src = open_source(resolved, evidence.source_kind)
        on_failure.pop_all()
    pool: Pool | None = None
    ahead = None
    if client is not None:
        from cairn.cluster.pool import ClusterPool

        pool = cluster = ClusterPool(client, type(src), str(resolved), settings)
        workers = cluster.workers
    elif workers:
        local = WorkerPool(workers, type(src), str(resolved), settings)
        if prefetched is not None and prefetched.matches(local):
            local, ahead = prefetched.pool, prefetched
        pool = local
    if prefetched is not None and ahead is None:
        prefetched.close()
    if pool is not None:
        pool.start()
    started = datetime.now(UTC)
    run_settings = {**settings.describe(), "workers": workers}
    if scheduler:
        run_settings["scheduler"] = scheduler
    with ctx.db.session() as session:
        run = ProcessingRun(
            case_id=evidence.case_id,
            evidence_id=evidence.id,
            command="ingest",
            cairn_version=library_versions()["cairn"],
            libraries=library_versions(),
            settings=run_settings,
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

    sink = FeatureSink(ctx.workspace, evidence.id) if settings.local_features else None
    writer = IngestWriter(
        ctx.db.engine, evidence.id, run_id, batch_entries=commit_entries, on_features=sink
    )
    done = writer.done_units()
    summary = IngestSummary(case_ref, evidence.label, run_id, skipped_units=len(done))
    status = "interrupted"
    # Everything allocated so far (the CLI, SQLAlchemy, the models: hundreds of thousands of
    # objects) lives as long as the run; frozen, the collector stops re-scanning it, which
    # took ~0.2 s per full collection, several times per 10k files.
    gc.freeze()
    try:
        progress.start(*_count_units(src.units(), done))
        _run(src, done, writer, progress, pool, settings, ahead)
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
    if status == "completed":
        summary.links = _link_evidence(ctx, evidence.id, run_id, sink.added if sink else [])
        if sink is not None:
            sink.linked()
    return summary


def _evidence(
    ctx: Context,
    case_ref: str,
    resolved: Path,
    label: str | None,
    source_kind: str | None,
    roots: Sequence[Path] | None,
) -> Evidence:
    """The evidence item being ingested: the one labelled, else `resolved` added to the case."""
    if label is None:
        label = add_evidence(ctx, case_ref, resolved, source_kind=source_kind, roots=roots)[0].label
    with ctx.db.session() as session:
        evidence = find_evidence(session, get_case(session, case_ref), label)
    if Path(evidence.source_path) != resolved:
        raise UsageError(f"evidence {label!r} is {evidence.source_path}, not {resolved}")
    return evidence


def _link_evidence(ctx: Context, evidence_id: int, run_id: int, indexed: list[str]) -> int:
    """Links are kept as the media arrive: the evidence's images against the workspace's, by
    PDQ, the images new to the feature index by local features, and camera metadata (serials,
    JPEG signatures)."""
    from cairn.services.camera_links import link_camera_metadata
    from cairn.services.links import link_media  # numpy and the index: not for the CLI's start
    from cairn.services.similarity import feature_index, link_features

    media = select(Occurrence.media_sha256).where(
        Occurrence.evidence_id == evidence_id, Occurrence.media_sha256.is_not(None)
    )
    engine, user = ctx.db.engine, ctx.actor.user
    with engine.begin() as connection:
        links = link_media(connection, engine, media, by=user, run_id=run_id)
        if indexed:
            index = feature_index(ctx.workspace)
            index.train_if_due()
            links += link_features(connection, engine, index, indexed, by=user, run_id=run_id)
        shas = [sha for sha in connection.scalars(media.distinct()) if sha is not None]
        return links + link_camera_metadata(connection, engine, shas, by=user)


def _commit_entries() -> int:
    """Entries per commit: `CAIRN_COMMIT_ENTRIES` overrides the writer's default batch."""
    return positive_int_env("CAIRN_COMMIT_ENTRIES") or COMMIT_ENTRIES


def _run(
    src: EvidenceSource,
    done: set[bytes],
    writer: IngestWriter,
    progress: Progress,
    pool: Pool | None,
    settings: AnalysisSettings,
    ahead: Prefetch | None = None,
) -> None:
    submitted = ahead.units if ahead else 0  # the source's first units, already in the pool

    def units() -> Iterator[Unit]:
        seen = 0
        for item in src.units():
            if isinstance(item, EntryRecord):  # nothing to read: record it as it comes
                if item.path not in done:
                    writer.add(item)
                    progress.advance(1, 0)
                continue
            seen += 1
            if seen > submitted and item.path not in done:
                yield item

    def store(results: list[UnitResult], batch: list[Unit]) -> None:
        stored = nbytes = 0
        for result, unit in zip(results, batch, strict=True):
            if unit.path in done:  # prefetched before the store said it was stored
                continue
            writer.add(result)
            stored += 1
            nbytes += unit.size or 0
        progress.advance(stored, nbytes)

    if pool is None:
        for batch in batches(units()):
            store([src.process(unit, settings) for unit in batch], batch)
        return
    # Results are stored in submission order (so reruns store rows in the same order), but
    # workers run ahead of the head batch by up to max_in_flight units: one large file at the
    # head then does not leave the other workers idle. Units are small, so this is cheap.
    pending: deque[Pending] = deque(ahead.pending if ahead else ())
    in_flight = sum(len(p.batch) for p in pending)
    for batch in batches(units()):
        pending.append(pool.submit(batch))
        in_flight += len(batch)
        while in_flight > pool.max_in_flight:
            head = pending.popleft()
            in_flight -= len(head.batch)
            store(pool.result(head), head.batch)
    while pending:
        head = pending.popleft()
        store(pool.result(head), head.batch)
