"""Reading and verifying the audit trail (store/audit.py keeps it).

An agency's auditors see the events of their own agency's users; the local operator sees all.
Reading and verifying the trail are themselves recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cairn.services.access import case_for, require
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.models import AuditEvent

if TYPE_CHECKING:
    from cairn.services.identity import Principal

DEFAULT_LIMIT = 1000


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    user: str
    agency: str | None
    origin: str | None
    host: str
    action: str
    case_ref: str | None
    details: dict[str, Any]


def verify_trail(ctx: Context, principal: Principal | None = None) -> audit.ChainReport:
    """Check the whole chain and, through the workspace's anchor, that its end is intact."""
    require(principal, "audit.verify")
    with ctx.db.session() as session:
        report = audit.check(
            session, audit.read_head(audit.head_file(ctx.workspace.root, ctx.db.engine))
        )
        audit.record(
            session,
            ctx.actor,
            "audit.verify",
            None,
            ok=report.ok,
            events=report.events,
            broken_id=report.broken_id,
            reason=report.reason,
        )
    return report


def list_trail(
    ctx: Context,
    principal: Principal | None = None,
    *,
    case_ref: str | None = None,
    after_id: int = 0,
    limit: int = DEFAULT_LIMIT,
) -> list[AuditEntry]:
    """Events in order, from after `after_id`, at most `limit`; of one case if `case_ref`."""
    require(principal, "audit.read")
    with ctx.db.session() as session:
        query = select(AuditEvent).where(AuditEvent.id > after_id)
        if case_ref is not None:
            case_for(session, principal, case_ref)  # another agency's case: not found
            query = query.where(AuditEvent.case_ref == case_ref)
        if principal is not None:
            query = query.where(AuditEvent.agency == principal.agency_code)
        rows = session.scalars(query.order_by(AuditEvent.id).limit(limit)).all()
        audit.record(session, ctx.actor, "audit.list", case_ref, after_id=after_id, rows=len(rows))
        return [
            AuditEntry(
                e.id,
                (e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC)).isoformat(),
                e.user,
                e.agency,
                e.origin,
                e.host,
                e.action,
                e.case_ref,
                e.details,
            )
            for e in rows
        ]
