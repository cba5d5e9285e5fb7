"""Evidence items of a case, and ingesting a source (a background job).

Sources are paths on the server. Only folders the server was started with as evidence roots
(`cairn serve --evidence-root`) may be named: a token must not turn into a way of reading any
file the server's account can read.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, status

from cairn.api.deps import Caller, RequestContext, Server, ServerState, check_case
from cairn.api.permissions import V1
from cairn.api.routes.jobs import job_out
from cairn.api.schemas import EvidenceCreate, EvidenceOut, IngestRequest, JobOut
from cairn.core.errors import UsageError
from cairn.services import cases, jobs

router = APIRouter(prefix=f"{V1}/cases/{{ref}}", tags=["evidence"])


def _source(state: ServerState, source: str) -> Path:
    path = Path(source).expanduser().resolve()
    if not any(path.is_relative_to(root.resolve()) for root in state.settings.evidence_roots):
        raise UsageError("the source is not under one of the server's evidence roots")
    return path


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
        _source(state, body.source),
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
    params = {"case_ref": ref, "source": str(_source(state, body.source))}
    if body.evidence_label is not None:
        params["evidence_label"] = body.evidence_label
    job = jobs.submit(ctx, principal, jobs.JobKind.INGEST, params)
    state.runner.wake()
    return job_out(job)
