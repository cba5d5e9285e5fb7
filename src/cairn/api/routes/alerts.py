"""Alerts and person notices of the caller's agency, and their hits (docs/federation.md)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cairn.api.deps import Caller, RequestContext
from cairn.api.permissions import V1
from cairn.api.schemas import AlertCreate, AlertHitOut, AlertOut
from cairn.services import alerts

router = APIRouter(prefix=f"{V1}/alerts", tags=["alerts"])


@router.get("")
def list_alerts(ctx: RequestContext, principal: Caller) -> list[AlertOut]:
    """The agency's alerts and notices (with partners' notices it imported)."""
    return [
        AlertOut.model_validate(a, from_attributes=True)
        for a in alerts.list_alerts(ctx, principal.agency_id)
    ]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_alert(body: AlertCreate, ctx: RequestContext, principal: Caller) -> AlertOut:
    info = alerts.add_alert(
        ctx,
        body.kind,
        body.value,
        note=body.note,
        notice=body.notice,
        agency_id=principal.agency_id,
    )
    return AlertOut.model_validate(info, from_attributes=True)


@router.get("/hits")
def alert_hits(ctx: RequestContext, principal: Caller) -> list[AlertHitOut]:
    """Hits on the agency's alerts: the case and item when the case is the agency's own;
    another agency's or a partner instance's hit says only where and when."""
    return [
        AlertHitOut.model_validate(h, from_attributes=True)
        for h in alerts.list_hits(ctx, principal)
    ]
