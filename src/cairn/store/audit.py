"""The audit trail: who did what to case data, when. Append-only and hash-chained.

Each event's hash is SHA-256 over the previous event's hash and this event's canonical JSON,
so editing, deleting or reordering any event breaks every link after it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.config import Actor
from cairn.store.models import AuditEvent

GENESIS = "0" * 64


def event_hash(
    prev_hash: str,
    at: datetime,
    user: str,
    host: str,
    action: str,
    case_ref: str | None,
    details: dict[str, Any],
) -> str:
    body = json.dumps(
        {
            "at": at.astimezone(UTC).isoformat(),
            "user": user,
            "host": host,
            "action": action,
            "case": case_ref,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(prev_hash.encode() + body.encode()).hexdigest()


def record(
    session: Session, actor: Actor, action: str, case_ref: str | None = None, **details: Any
) -> AuditEvent:
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    prev_hash = prev or GENESIS
    at = datetime.now(UTC)
    details = json.loads(json.dumps(details, default=str))  # what is stored is what was hashed
    event = AuditEvent(
        at=at,
        user=actor.user,
        host=actor.host,
        action=action,
        case_ref=case_ref,
        details=details,
        prev_hash=prev_hash,
        hash=event_hash(prev_hash, at, actor.user, actor.host, action, case_ref, details),
    )
    session.add(event)
    session.flush()
    return event


def verify(session: Session) -> int | None:
    """The id of the first event whose link is broken, or None when the chain is whole."""
    prev_hash = GENESIS
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
        expected = event_hash(
            prev_hash, at, event.user, event.host, event.action, event.case_ref, event.details
        )
        if event.prev_hash != prev_hash or event.hash != expected:
            return event.id
        prev_hash = event.hash
    return None
