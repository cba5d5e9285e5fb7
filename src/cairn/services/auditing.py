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


def verify_trail(
    ctx: Context, principal: Principal | None = None, checkpoint: str | None = None
) -> audit.ChainReport:
    """Check the whole chain and, through the workspace's anchor, that its end is intact; a
    missing anchor under a chain with events fails. `checkpoint`: the text of a checkpoint
    file, whose event must still be there, unchanged."""
    require(principal, "audit.verify")
    with ctx.db.session() as session:
        chain = audit.chain_of(session)
        held = audit.read_checkpoint(checkpoint, chain.key) if checkpoint is not None else None
        report = audit.check(
            session,
            audit.read_head(chain.anchor, chain.key),
            require_anchor=True,
            checkpoint=held,
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
            checkpoint=held and held.event_id,
        )
    return report


def checkpoint_trail(ctx: Context) -> tuple[audit.ChainReport, str | None]:
    """A checkpoint of the chain as it ends now (after recording `audit.checkpoint`), as the
    text of a file to keep off the host; None with the report when the chain does not verify
    (a checkpoint of a broken chain would vouch for the break)."""
    with ctx.db.session() as session:
        chain = audit.chain_of(session)
        report = audit.check(session, audit.read_head(chain.anchor, chain.key), require_anchor=True)
        if not report.ok:
            return report, None
        event = audit.record(session, ctx.actor, "audit.checkpoint", None, events=report.events)
        made = audit.Checkpoint(
            event.id, event.hash, report.events + 1, event.at.astimezone(UTC).isoformat()
        )
        return report, audit.checkpoint_text(made, chain.key)


def init_anchor(ctx: Context, *, replace: bool = False) -> int:
    """Anchor the chain in this workspace (`cairn audit init`); the id of the recorded event."""
    with ctx.db.session() as session:
        return audit.init_anchor(session, ctx.actor, replace=replace).id


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
