"""Background jobs: long work (ingest, hash-set import, matching) run by the server, not a request.

A request queues a job and returns at once; a runner thread in the server process claims queued
jobs one at a time and runs the same service functions the CLI calls, writing progress to the
job's row. Cancelling a running ingest or import is cooperative: the progress callback raises
between batches; ingest's own bookkeeping records the run as interrupted (resumable), and an
import's one transaction is rolled back. Jobs found
`running` when a server starts were cut off by a stop: they are marked interrupted and run
again, which is safe because ingest resumes, imports are one transaction and matching is
idempotent.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from cairn.core.config import Actor
from cairn.core.errors import CairnError, NotFoundError, UsageError
from cairn.core.thresholds import PDQ_MATCH_DISTANCE
from cairn.services.context import Context
from cairn.services.evidence_roots import EvidenceRoots
from cairn.services.identity import Principal
from cairn.store import audit
from cairn.store.database import Database
from cairn.store.job_models import Job
from cairn.store.models import HashSet

log = logging.getLogger(__name__)

# How often a running job writes its progress (and reads a cancel request): often enough for
# a progress bar, rare enough that a fast ingest does not spend its time updating one row.
PROGRESS_SECONDS = 0.5


class JobKind(enum.StrEnum):
    INGEST = "ingest"
    HASHSET_IMPORT = "hashset-import"
    MATCH = "match"


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # cut off by a server stop; runs again


RUNNABLE = (JobState.QUEUED, JobState.INTERRUPTED)
FINISHED = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class JobCancelled(CairnError):
    """Raised inside a running job when its cancellation was requested."""


@dataclass(frozen=True)
class JobProgress:
    done: int
    total: int | None  # None: not known yet


@dataclass(frozen=True)
class JobInfo:
    id: int
    kind: str
    state: str
    params: dict[str, Any]
    progress: JobProgress
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool
    agency_id: int
    created_by: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobInfo:
        return cls(
            job.id,
            job.kind,
            job.state,
            {k: v for k, v in job.params.items() if k != "actor"},
            JobProgress(job.progress_done, job.progress_total),
            job.result,
            job.error,
            job.cancel_requested,
            job.agency_id,
            job.created_by,
            job.created_at,
            job.started_at,
            job.finished_at,
        )


def submit(ctx: Context, principal: Principal, kind: JobKind, params: Mapping[str, Any]) -> JobInfo:
    """Queue a job on behalf of `principal`; the caller has checked the permission."""
    with ctx.db.session() as session:
        job = Job(
            kind=kind.value,
            # Who asked, for the audit trail of the work done later in their name.
            params={
                **params,
                "actor": {
                    "user": ctx.actor.user,
                    "origin": ctx.actor.origin,
                    "agency": ctx.actor.agency,
                },
            },
            state=JobState.QUEUED.value,
            progress_done=0,
            cancel_requested=False,
            agency_id=principal.agency_id,
            created_by=principal.user_id,
            created_at=datetime.now(UTC),
        )
        session.add(job)
        session.flush()
        audit.record(
            session, ctx.actor, "job.submit", params.get("case_ref"), job=job.id, kind=kind.value
        )
        return JobInfo.of(job)


def _own_job(ctx: Context, principal: Principal, job_id: int) -> Job:
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        # Another agency's job is answered exactly as a missing one.
        if job is None or job.agency_id != principal.agency_id:
            raise NotFoundError(f"no job {job_id}")
        return job


def get_job(ctx: Context, principal: Principal, job_id: int) -> JobInfo:
    return JobInfo.of(_own_job(ctx, principal, job_id))


def list_jobs(ctx: Context, principal: Principal, limit: int = 100) -> list[JobInfo]:
    with ctx.db.session() as session:
        jobs = session.scalars(
            select(Job)
            .where(Job.agency_id == principal.agency_id)
            .order_by(Job.id.desc())
            .limit(limit)
        )
        return [JobInfo.of(job) for job in jobs]


def cancel_job(ctx: Context, principal: Principal, job_id: int) -> JobInfo:
    """Cancel a queued job at once; ask a running one to stop at its next batch."""
    _own_job(ctx, principal, job_id)
    with ctx.db.session() as session:
        job = session.get(Job, job_id, with_for_update=True)
        assert job is not None  # checked above; jobs are never deleted
        if job.state in FINISHED:
            raise UsageError(f"job {job_id} has already finished ({job.state})")
        if job.state == JobState.RUNNING:
            job.cancel_requested = True
        else:
            job.state = JobState.CANCELLED.value
            job.finished_at = datetime.now(UTC)
        audit.record(
            session, ctx.actor, "job.cancel", job.params.get("case_ref"), job=job_id, kind=job.kind
        )
        session.flush()
        return JobInfo.of(job)


def recover_interrupted(db: Database) -> list[int]:
    """At server start: jobs left `running` by a stop become `interrupted`, to be run again."""
    with db.session() as session:
        ids = list(session.scalars(select(Job.id).where(Job.state == JobState.RUNNING.value)))
        if ids:
            session.execute(
                update(Job).where(Job.id.in_(ids)).values(state=JobState.INTERRUPTED.value)
            )
    return ids


@dataclass
class _Reporter:
    """ingest's Progress protocol, written to the job's row and checked for cancellation."""

    db: Database
    job_id: int
    done: int = 0
    total: int | None = None
    _last: float = 0.0

    def start(self, units: int, total_bytes: int) -> None:
        self.total = units
        self._write(force=True)

    def advance(self, units: int, nbytes: int) -> None:
        self.done += units
        self._write()

    def finish(self) -> None:
        """All done: the final row update (by the runner) shows done == total."""
        self.done = self.total if self.total is not None else self.done

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_SECONDS:
            return
        self._last = now
        with self.db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == self.job_id)
                .values(progress_done=self.done, progress_total=self.total)
            )
            cancelled = session.scalar(select(Job.cancel_requested).where(Job.id == self.job_id))
        if cancelled:
            raise JobCancelled(f"job {self.job_id} was cancelled")


@dataclass(frozen=True)
class RunnerSettings:
    ingest_workers: int | None = None  # None: one per CPU, as the CLI does
    # Checked again when an ingest starts: the source was checked when the job was queued, but
    # the folder may have been swapped for a symlink since (or the server restarted without it).
    evidence_roots: EvidenceRoots = field(default_factory=EvidenceRoots)


JobFunction = Callable[[Context, dict[str, Any], _Reporter, RunnerSettings], dict[str, Any]]


def _jsonable(value: Any) -> Any:
    """Summaries hold bytes paths (not always UTF-8): shown with replacement characters."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _run_ingest(
    ctx: Context, params: dict[str, Any], progress: _Reporter, settings: RunnerSettings
) -> dict[str, Any]:
    from cairn.core.settings import AnalysisSettings
    from cairn.media.thumbnail import load_or_create_key
    from cairn.services.ingest import ingest

    analysis = AnalysisSettings(thumbnail_key=load_or_create_key(ctx.workspace.key_file))
    summary = ingest(
        ctx,
        params["case_ref"],
        Path(params["source"]),
        evidence_label=params.get("evidence_label"),
        workers=settings.ingest_workers,
        settings=analysis,
        progress=progress,
        roots=settings.evidence_roots.of(ctx.actor.agency),
    )
    result: dict[str, Any] = _jsonable(asdict(summary))
    result["errors"] = result["errors"][:100]  # the full list stays in the store
    return result


def _run_import(
    ctx: Context, params: dict[str, Any], progress: _Reporter, settings: RunnerSettings
) -> dict[str, Any]:
    from cairn.services.hashsets import file_sha256, import_hashset

    path = Path(params["upload"])
    # The upload is deleted however the import ends (it is a copy, and uploads must not fill
    # the disk); only a server stop, which runs no `finally`, leaves it for the rerun.
    try:
        progress.start(1, 0)
        with ctx.db.session() as session:
            existing = session.scalar(
                select(HashSet).where(HashSet.name == params["name"], HashSet.removed_at.is_(None))
            )
        # A server stopped after the import committed but before the job was marked done
        # (and perhaps after the upload was deleted).
        if existing is not None and (
            not path.exists() or existing.source_sha256 == file_sha256(path)
        ):
            return {"name": existing.name, "records": existing.entries, "resumed": True}
        summary = import_hashset(
            ctx,
            path,
            params["name"],
            fmt=params.get("format", "auto"),
            kind=params.get("kind", "illegal"),
            pdq_threshold=params.get("pdq_threshold", PDQ_MATCH_DISTANCE),
            agency_id=params["agency_id"],
            shared=params.get("shared", False),
            between_batches=lambda: progress.advance(0, 0),  # reads a cancel request
        )
        return _jsonable(asdict(summary))  # type: ignore[no-any-return]
    finally:
        path.unlink(missing_ok=True)


def _run_match(
    ctx: Context, params: dict[str, Any], progress: _Reporter, settings: RunnerSettings
) -> dict[str, Any]:
    from cairn.services.matching import match_case

    progress.start(1, 0)
    return _jsonable(asdict(match_case(ctx, params["case_ref"])))  # type: ignore[no-any-return]


JOB_FUNCTIONS: dict[JobKind, JobFunction] = {
    JobKind.INGEST: _run_ingest,
    JobKind.HASHSET_IMPORT: _run_import,
    JobKind.MATCH: _run_match,
}


class JobRunner:
    """Runs queued jobs, one at a time, in a daemon thread of the server process.

    One at a time because each job already uses the machine: ingest runs a process per CPU,
    and SQLite has one writer. `run_pending()` runs the queue in the calling thread (tests).
    """

    def __init__(self, ctx: Context, settings: RunnerSettings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or RunnerSettings()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        recovered = recover_interrupted(self.ctx.db)
        if recovered:
            log.info("jobs interrupted by the last stop, queued again: %s", recovered)
        self._thread = threading.Thread(target=self._loop, name="cairn-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_pending()
            except Exception:  # the runner must outlive any one failure of the store
                log.exception("job runner failed; retrying")
                ran = 0
            if not ran:
                self._wake.wait(timeout=5.0)
                self._wake.clear()

    def run_pending(self) -> int:
        """Run runnable jobs until none is left (or stop is asked); returns how many ran."""
        ran = 0
        while not self._stop.is_set():
            job_id = self._claim()
            if job_id is None:
                return ran
            self._run(job_id)
            ran += 1
        return ran

    def _claim(self) -> int | None:
        with self.ctx.db.session() as session:
            runnable = session.scalars(
                select(Job.id).where(Job.state.in_([s.value for s in RUNNABLE])).order_by(Job.id)
            ).all()
            for job_id in runnable:  # the state check again: another runner may claim it first
                claimed = session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.state.in_([s.value for s in RUNNABLE]))
                    .values(state=JobState.RUNNING.value, started_at=datetime.now(UTC))
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    return job_id
        return None

    def _run(self, job_id: int) -> None:
        with self.ctx.db.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            kind, params = JobKind(job.kind), dict(job.params)
        who = params.get("actor", {})
        actor = Actor(
            user=who.get("user", "?"),
            host=self.ctx.actor.host,
            origin=who.get("origin", "job"),
            agency=who.get("agency"),
        )
        ctx = Context(self.ctx.workspace, self.ctx.db, actor)
        reporter = _Reporter(self.ctx.db, job_id)
        state, result, error = JobState.DONE, None, None
        try:
            result = JOB_FUNCTIONS[kind](ctx, params, reporter, self.settings)
            reporter.finish()
        except JobCancelled:
            state = JobState.CANCELLED
        except CairnError as exc:
            state, error = JobState.FAILED, str(exc)
        except Exception as exc:  # a job's failure is recorded; the runner goes on
            log.exception("job %s (%s) failed", job_id, kind)
            state, error = JobState.FAILED, f"{type(exc).__name__}: {exc}"
        with self.ctx.db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(
                    state=state.value,
                    result=result,
                    error=error,
                    finished_at=datetime.now(UTC),
                    progress_done=reporter.done,
                    progress_total=reporter.total,
                )
            )
