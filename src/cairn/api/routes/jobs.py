"""Background jobs: progress of ingests, imports and matching runs, and cancelling them."""

from __future__ import annotations

from fastapi import APIRouter

from cairn.api.deps import Caller, RequestContext, RowId
from cairn.api.permissions import V1
from cairn.api.schemas import JobOut
from cairn.services import jobs
from cairn.services.access import allowed
from cairn.services.identity import Principal
from cairn.services.jobs import JobInfo

router = APIRouter(prefix=f"{V1}/jobs", tags=["jobs"])


def _shown(param: str, principal: Principal) -> bool:
    """Job parameters that are server paths, per role: a source to the roles that name
    sources (they wrote it); an upload's place in the workspace to none (of use to nobody)."""
    if param == "upload":
        return False
    return param != "source" or allowed(principal, "evidence.add")


def job_out(job: JobInfo, principal: Principal) -> JobOut:
    out = JobOut.model_validate(job, from_attributes=True)
    out.params = {key: value for key, value in out.params.items() if _shown(key, principal)}
    return out


@router.get("")
def list_jobs(ctx: RequestContext, principal: Caller) -> list[JobOut]:
    """The agency's jobs, newest first."""
    return [job_out(job, principal) for job in jobs.list_jobs(ctx, principal)]


@router.get("/{job_id}")
def get_job(job_id: RowId, ctx: RequestContext, principal: Caller) -> JobOut:
    return job_out(jobs.get_job(ctx, principal, job_id), principal)


@router.post("/{job_id}/cancel")
def cancel_job(job_id: RowId, ctx: RequestContext, principal: Caller) -> JobOut:
    """Cancel a queued job, or ask a running ingest to stop after its current batch (the
    evidence stays resumable: a later ingest of the same source goes on where it stopped)."""
    return job_out(jobs.cancel_job(ctx, principal, job_id), principal)
