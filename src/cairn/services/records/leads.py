"""Leads: a series sent to another country's police (to which country, when, by whom, outcome)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.services.context import Context
from cairn.services.records.common import (
    Change,
    Kind,
    agency_code,
    choice,
    country,
    create_record,
    history,
    now,
    unknown_fields,
)
from cairn.store.record_models import Lead
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal

# A lead's outcome is not an ordered progression: an answer may replace another.
OUTCOMES = ("pending", "acknowledged", "no-result", "identified", "declined")
CHANGEABLE = ("outcome", "reference", "notes")


@dataclass(frozen=True)
class LeadView:
    id: int
    series: str
    agency: str
    country: str
    sent_at: str
    sent_by: str
    outcome: str
    reference: str | None  # the receiving country's reference: the owning agency's only
    notes: str | None
    history: list[Change]


def _view(session: Session, row: Lead, series: Series, owner: bool) -> LeadView:
    return LeadView(
        row.id,
        series.name,
        agency_code(session, series),
        row.country,
        row.sent_at.isoformat(),
        row.sent_by,
        row.outcome,
        row.reference if owner else None,
        row.notes if owner else None,
        history(session, "lead", row.id) if owner else [],
    )


def _check(
    session: Session,
    principal: Principal | None,
    row: Lead,
    changes: dict[str, Any],
    reason: str | None,
) -> dict[str, Any]:
    unknown_fields(changes, CHANGEABLE)
    if "outcome" in changes:
        choice("outcome", changes["outcome"], OUTCOMES)
    return changes


LEADS: Kind[Lead, LeadView] = Kind("lead", Lead, _view, _check)


def sent_time(value: str | None) -> datetime:
    """An ISO 8601 date or time (UTC when it names no offset); now when not given."""
    if value is None:
        return now()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{value!r} is not an ISO 8601 date or time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def add_lead(
    ctx: Context,
    principal: Principal | None,
    series_ref: str,
    country_code: str,
    *,
    sent_at: str | None = None,
    sent_by: str | None = None,
    outcome: str = "pending",
    reference: str = "",
    notes: str = "",
) -> LeadView:
    code = country(country_code)
    if sent_by is not None and not 0 < len(sent_by) <= 200:
        raise UsageError("sent by: a name of 1 to 200 characters")
    choice("outcome", outcome, OUTCOMES)
    when = sent_time(sent_at)

    def build(session: Session, series: Series) -> Lead:
        return Lead(
            series_id=series.id,
            country=code,
            sent_at=when,
            sent_by=sent_by or ctx.actor.user,
            outcome=outcome,
            reference=reference,
            notes=notes,
            created_at=now(),
            created_by=ctx.actor.user,
        )

    return create_record(ctx, principal, LEADS, series_ref, build)
