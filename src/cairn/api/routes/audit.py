"""The audit trail, for auditors and admins: their agency's events, and the chain's check.
Both readings are audited themselves."""

from __future__ import annotations

from fastapi import APIRouter, Query

from cairn.api.deps import Caller, RequestContext
from cairn.api.permissions import V1
from cairn.api.schemas import MAX_ID, AuditEventOut, AuditVerifyOut
from cairn.services import auditing

router = APIRouter(prefix=f"{V1}/audit", tags=["audit"])


@router.get("")
def list_events(
    ctx: RequestContext,
    principal: Caller,
    case_ref: str | None = Query(None, description="Only the events of this case."),
    after_id: int = Query(0, ge=0, le=MAX_ID, description="Only events after this id (paging)."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditEventOut]:
    """Events of the caller's agency (its users' actions), oldest first."""
    entries = auditing.list_trail(ctx, principal, case_ref=case_ref, after_id=after_id, limit=limit)
    return [AuditEventOut.model_validate(e, from_attributes=True) for e in entries]


@router.get("/verify")
def verify_chain(ctx: RequestContext, principal: Caller) -> AuditVerifyOut:
    """Walk the whole hash chain (one chain for every agency) and check its head anchor."""
    report = auditing.verify_trail(ctx, principal)
    return AuditVerifyOut(intact=report.ok, first_broken_id=report.broken_id, reason=report.reason)
