"""Matching a case against the hash sets (a background job) and the triage that results."""

from __future__ import annotations

from fastapi import APIRouter, status

from cairn.api.deps import Caller, RequestContext, Server, check_case
from cairn.api.permissions import V1
from cairn.api.routes.jobs import job_out
from cairn.api.schemas import JobOut, MatchOut, TriageOut
from cairn.services import cases, jobs, triage

router = APIRouter(prefix=f"{V1}/cases/{{ref}}", tags=["matching and triage"])


@router.post("/match", status_code=status.HTTP_202_ACCEPTED)
def start_match(ref: str, state: Server, ctx: RequestContext, principal: Caller) -> JobOut:
    """Queue matching of the case against the hash sets its agency may use."""
    check_case(ctx, principal, ref)
    job = jobs.submit(ctx, principal, jobs.JobKind.MATCH, {"case_ref": ref})
    state.runner.wake()
    return job_out(job, principal)


@router.get("/triage")
def triage_report(ref: str, ctx: RequestContext, principal: Caller) -> TriageOut:
    """Unique media per evidence item and triage bucket; the share that needs no human view."""
    cases.open_case(ctx, principal, ref, "triage")
    return TriageOut.model_validate(triage.triage_report(ctx, ref), from_attributes=True)


@router.get("/matches")
def case_matches(ref: str, ctx: RequestContext, principal: Caller) -> list[MatchOut]:
    """Each matched media item with its bucket and best match (exact before PDQ)."""
    cases.open_case(ctx, principal, ref, "matches")
    return [MatchOut.model_validate(m, from_attributes=True) for m in triage.case_matches(ctx, ref)]
