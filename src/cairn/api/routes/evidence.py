"""Evidence items of a case, and ingesting a source (a background job).

Sources are paths on the server, beneath the folders the server was started with as the
caller's agency's evidence roots (`cairn serve --evidence-root AGENCY=PATH`; the rules are in
`services.evidence_roots`). Any other path is answered exactly as a missing one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, status

from cairn.api.deps import Caller, RequestContext, Server, check_case
from cairn.api.permissions import V1
from cairn.api.routes.jobs import job_out
from cairn.api.schemas import EvidenceCreate, EvidenceOut, IngestRequest, JobOut
from cairn.services import cases, jobs
from cairn.services.evidence_roots import locate

router = APIRouter(prefix=f"{V1}/cases/{{ref}}", tags=["evidence"])


@router.get("/evidence")
def list_evidence(ref: str, ctx: RequestContext, principal: Caller) -> list[EvidenceOut]:
    cases.open_case(ctx, principal, ref, "evidence")
    return [
        EvidenceOut.model_validate(e, from_attributes=True) for e in cases.list_evidence(ctx, ref)
    ]


@router.post("/evidence", status_code=status.HTTP_201_CREATED)
def add_evidence(
    ref: str, body: EvidenceCreate, state: Server, ctx: RequestContext, principal: Caller
) -> EvidenceOut:
    """Register a source as an evidence item (the same source again returns the existing one)."""
    check_case(ctx, principal, ref)
    evidence, _created = cases.add_evidence(
        ctx,
        ref,
        Path(body.source),
        roots=state.roots.of(principal.agency_code),
        label=body.label,
        custodian=body.custodian,
        seized_at=body.seized_at,
        timezone=body.timezone,
        acquisition_hash=body.acquisition_hash,
    )
    return EvidenceOut.model_validate(evidence, from_attributes=True)


@router.post("/ingest", status_code=status.HTTP_202_ACCEPTED)
def start_ingest(
    ref: str, body: IngestRequest, state: Server, ctx: RequestContext, principal: Caller
) -> JobOut:
    """Queue an ingest of a source into the case; poll `/jobs/{id}` for its progress."""
    check_case(ctx, principal, ref)
    source = locate(state.roots.of(principal.agency_code), body.source)
    params = {"case_ref": ref, "source": str(source)}
    if body.evidence_label is not None:
        params["evidence_label"] = body.evidence_label
    job = jobs.submit(ctx, principal, jobs.JobKind.INGEST, params)
    state.runner.wake()
    return job_out(job, principal)
