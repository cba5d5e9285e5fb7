"""The job runner on SQLite and PostgreSQL: runs, failures, cancellation, restart recovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from cairn.core.errors import NotFoundError, UsageError
from cairn.core.types import Role
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services import identity, jobs
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.evidence_roots import EvidenceRoot, EvidenceRoots
from cairn.services.identity import Principal
from cairn.services.jobs import JobKind, JobProgress, JobRunner, JobState, RunnerSettings
from cairn.store.job_models import Job
from cairn.store.models import AuditEvent, HashSet, Occurrence, ProcessingRun

PASSWORD = "benign test password"


def _principal(ctx: Context, agency: str = "NL-NP") -> Principal:
    identity.create_agency(ctx, agency, "Agency", "NL")
    user = f"examiner.{agency.lower()}"
    identity.create_user(ctx, user, agency, Role.EXAMINER, PASSWORD)
    principal = identity.authenticate(ctx, user, PASSWORD, "10.1.2.3")
    assert principal is not None
    return principal


def _as(ctx: Context, principal: Principal) -> Context:
    return Context(ctx.workspace, ctx.db, identity.actor_for(principal, "10.1.2.3"))


def _device(root: Path, photos: int) -> Path:
    root.mkdir()
    for seed in range(photos):
        (root / f"{seed}.jpg").write_bytes(jpeg_bytes(synthetic_image(seed, 64, 48)))
    return root


def _job(ctx: Context, job_id: int) -> Job:
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _occurrences(ctx: Context) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count(Occurrence.id))) or 0


@pytest.fixture
def runner(db_ctx: Context, tmp_path: Path) -> JobRunner:
    """A runner whose agency NL-NP may ingest from the test's folder (as `cairn serve` binds)."""
    roots = EvidenceRoots((EvidenceRoot("NL-NP", tmp_path),))
    return JobRunner(db_ctx, RunnerSettings(ingest_workers=0, evidence_roots=roots))


def test_an_ingest_job_runs_with_progress_and_is_audited_as_its_user(
    db_ctx: Context, runner: JobRunner, tmp_path: Path
) -> None:
    principal = _principal(db_ctx)
    ctx = _as(db_ctx, principal)
    create_case(ctx, "C-1", agency_id=principal.agency_id)
    params = {"case_ref": "C-1", "source": str(_device(tmp_path / "device", 3))}
    queued = jobs.submit(ctx, principal, JobKind.INGEST, params)
    assert (queued.state, queued.params) == ("queued", params)
    assert runner.run_pending() == 1
    job = jobs.get_job(ctx, principal, queued.id)
    assert (job.state, job.progress, job.error) == ("done", JobProgress(3, 3), None)
    assert job.result is not None and job.result["counts"]["hashed"] == 3
    assert job.started_at is not None and job.finished_at is not None
    with db_ctx.db.session() as session:
        start = session.scalars(select(AuditEvent).where(AuditEvent.action == "ingest.start")).one()
    assert (start.user, start.origin, start.agency) == ("examiner.nl-np", "10.1.2.3", "NL-NP")


def test_another_agencys_job_is_not_found(db_ctx: Context, runner: JobRunner) -> None:
    mine, theirs = _principal(db_ctx), _principal(db_ctx, "BE-FP")
    job = jobs.submit(_as(db_ctx, mine), mine, JobKind.MATCH, {"case_ref": "X"})
    with pytest.raises(NotFoundError):
        jobs.get_job(db_ctx, theirs, job.id)
    with pytest.raises(NotFoundError):
        jobs.cancel_job(db_ctx, theirs, job.id)
    assert jobs.list_jobs(db_ctx, theirs) == []


def test_a_failing_job_records_its_error_and_the_runner_goes_on(
    db_ctx: Context, runner: JobRunner, tmp_path: Path
) -> None:
    principal = _principal(db_ctx)
    ctx = _as(db_ctx, principal)
    create_case(ctx, "C-1", agency_id=principal.agency_id)
    missing = jobs.submit(
        ctx, principal, JobKind.INGEST, {"case_ref": "C-1", "source": str(tmp_path / "gone")}
    )
    matched = jobs.submit(ctx, principal, JobKind.MATCH, {"case_ref": "C-1"})
    assert runner.run_pending() == 2
    failed = jobs.get_job(ctx, principal, missing.id)
    assert failed.state == "failed"
    assert failed.error is not None and "no such file or folder" in failed.error
    assert jobs.get_job(ctx, principal, matched.id).state == "done"


def test_a_cancelled_ingest_stops_interrupted_and_a_new_job_resumes_it(
    db_ctx: Context, runner: JobRunner, tmp_path: Path
) -> None:
    principal = _principal(db_ctx)
    ctx = _as(db_ctx, principal)
    create_case(ctx, "C-1", agency_id=principal.agency_id)
    params = {"case_ref": "C-1", "source": str(_device(tmp_path / "device", 4))}
    job = jobs.submit(ctx, principal, JobKind.INGEST, params)
    # What cancel_job does to a running job: the flag its progress callback reads.
    with db_ctx.db.session() as session:
        session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    runner.run_pending()
    assert _job(db_ctx, job.id).state == "cancelled"
    with db_ctx.db.session() as session:
        assert session.scalars(select(ProcessingRun.status)).all() == ["interrupted"]
    again = jobs.submit(ctx, principal, JobKind.INGEST, params)
    runner.run_pending()
    assert _job(db_ctx, again.id).state == "done"
    assert _occurrences(db_ctx) == 4


def test_cancel_of_a_running_job_is_a_request_and_of_a_finished_one_an_error(
    db_ctx: Context, runner: JobRunner
) -> None:
    principal = _principal(db_ctx)
    ctx = _as(db_ctx, principal)
    job = jobs.submit(ctx, principal, JobKind.MATCH, {"case_ref": "X"})
    with db_ctx.db.session() as session:
        session.execute(update(Job).where(Job.id == job.id).values(state="running"))
    asked = jobs.cancel_job(ctx, principal, job.id)
    assert (asked.state, asked.cancel_requested) == ("running", True)
    with db_ctx.db.session() as session:
        session.execute(update(Job).where(Job.id == job.id).values(state="done"))
    with pytest.raises(UsageError, match="already finished"):
        jobs.cancel_job(ctx, principal, job.id)


def test_jobs_running_at_a_stop_are_run_again(
    db_ctx: Context, runner: JobRunner, tmp_path: Path
) -> None:
    principal = _principal(db_ctx)
    ctx = _as(db_ctx, principal)
    listed = tmp_path / "set.txt"
    listed.write_text(f"{'ab' * 16}\n{'cd' * 16}\n")
    params = {"upload": str(listed), "name": "set", "agency_id": principal.agency_id}
    job = jobs.submit(ctx, principal, JobKind.HASHSET_IMPORT, params)
    runner.run_pending()
    first = _job(db_ctx, job.id)
    assert (first.state, (first.result or {}).get("records")) == ("done", 2)
    # A stop after the import committed, before the job was marked done:
    with db_ctx.db.session() as session:
        session.execute(update(Job).where(Job.id == job.id).values(state="running"))
    assert jobs.recover_interrupted(db_ctx.db) == [job.id]
    assert _job(db_ctx, job.id).state == JobState.INTERRUPTED
    assert runner.run_pending() == 1
    finished = _job(db_ctx, job.id)
    assert finished.state == "done"
    assert finished.result == {"name": "set", "records": 2, "resumed": True}
    with db_ctx.db.session() as session:
        assert session.scalar(select(func.count(HashSet.id))) == 1


def test_a_cancelled_import_stores_nothing_and_its_upload_is_deleted(
    db_ctx: Context, runner: JobRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "PROGRESS_SECONDS", 0)  # every batch reads the cancel flag
    principal = _principal(db_ctx)
    ctx = _as(db_ctx, principal)
    upload = tmp_path / "set.txt"
    upload.write_text("".join(f"{n:032x}\n" for n in range(1, 50_001)))
    params = {"upload": str(upload), "name": "set", "agency_id": principal.agency_id}
    job = jobs.submit(ctx, principal, JobKind.HASHSET_IMPORT, params)
    # What cancel_job does to a running job: the flag its progress callback reads.
    with db_ctx.db.session() as session:
        session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    assert runner.run_pending() == 1
    assert _job(db_ctx, job.id).state == "cancelled"
    with db_ctx.db.session() as session:
        assert session.scalar(select(func.count(HashSet.id))) == 0
    assert not upload.exists()
