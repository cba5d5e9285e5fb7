"""Outcome feedback: when a series is identified or safeguarded, everyone who worked on it is
told (`cairn inbox`; the review UI will show the same entries)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.config import Actor
from cairn.services.access import visible_series
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.identity_models import Agency
from cairn.store.record_models import InboxEntry, RecordChange
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal

OUTCOMES = ("identified", "safeguarded")


@dataclass(frozen=True)
class InboxItem:
    id: int
    series: str
    agency: str
    outcome: str
    message: str
    at: str
    read: bool


def workers(session: Session, series: Series) -> set[str]:
    """Who worked on the series: its creator and everyone who made or changed its records."""
    names = set(session.scalars(select(RecordChange.by).where(RecordChange.series_id == series.id)))
    return names | {series.created_by}


def notify_outcome(
    session: Session, actor: Actor, series: Series, outcome: str, also: Iterable[str] = ()
) -> int:
    """An inbox entry for everyone who worked on the series (and `also`: its graders), but
    not for whoever recorded the outcome. Returns how many were told."""
    recipients = sorted((workers(session, series) | set(also)) - {actor.user})
    at = datetime.now(UTC)
    message = f"series {series.name!r} is {outcome}"
    for recipient in recipients:
        session.add(
            InboxEntry(
                recipient=recipient,
                series_id=series.id,
                outcome=outcome,
                message=message,
                created_at=at,
            )
        )
    audit.record(
        session,
        actor,
        "inbox.notify",
        None,
        series=series.id,
        outcome=outcome,
        told=len(recipients),
    )
    return len(recipients)


def inbox(ctx: Context, principal: Principal | None, *, mark_read: bool = False) -> list[InboxItem]:
    """The caller's entries, newest first, for the series they may still see; `mark_read`
    marks those shown as read (they stay listed)."""
    with ctx.db.session() as session:
        seen = visible_series(session, principal).with_only_columns(Series.id)
        rows = session.execute(
            select(InboxEntry, Series.name, Agency.code)
            .join(Series, Series.id == InboxEntry.series_id)
            .join(Agency, Agency.id == Series.agency_id)
            .where(InboxEntry.recipient == ctx.actor.user, InboxEntry.series_id.in_(seen))
            .order_by(InboxEntry.id.desc())
        ).all()
        items = [
            InboxItem(
                e.id,
                name,
                code,
                e.outcome,
                e.message,
                e.created_at.isoformat(),
                e.read_at is not None,
            )
            for e, name, code in rows
        ]
        if mark_read:
            at = datetime.now(UTC)
            for entry, _, _ in rows:
                entry.read_at = entry.read_at or at
        return items
