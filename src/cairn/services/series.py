"""Series: the images of one abuse event or victim, worked by victim-identification staff.

A series belongs to an agency. Shared, it is visible to every agency, so that a victim
identified in one country is known as identified everywhere; only the owning agency changes it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from cairn.core.errors import NotFoundError, UsageError
from cairn.services.access import is_row_id, require, visible_series
from cairn.services.context import Context
from cairn.services.records.inbox import notify_outcome
from cairn.store import audit
from cairn.store.identity_models import Agency
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal


class Keep(enum.Enum):
    """Leave a field as it is (None already means "unknown" for the identified flags)."""

    KEEP = 0


KEEP = Keep.KEEP


@dataclass(frozen=True)
class SeriesInfo:
    id: int
    agency: str
    name: str
    shared: bool
    victim_identified: bool | None
    offender_identified: bool | None
    notes: str
    created_at: str
    created_by: str


def _info(series: Series, agency_code: str) -> SeriesInfo:
    return SeriesInfo(
        series.id,
        agency_code,
        series.name,
        series.shared,
        series.victim_identified,
        series.offender_identified,
        series.notes,
        series.created_at.isoformat(),
        series.created_by,
    )


def list_series(ctx: Context, principal: Principal) -> list[SeriesInfo]:
    """The agency's own series and every shared one."""
    require(principal, "series.read")
    with ctx.db.session() as session:
        rows = session.execute(
            visible_series(session, principal)
            .add_columns(Agency.code)
            .join(Agency, Agency.id == Series.agency_id)
            .order_by(Series.name, Series.id)
        )
        return [_info(series, code) for series, code in rows]


def create_series(
    ctx: Context, principal: Principal, name: str, *, shared: bool = False, notes: str = ""
) -> SeriesInfo:
    require(principal, "series.write")
    if not name.strip():
        raise UsageError("a series needs a name")
    try:
        with ctx.db.session() as session:
            series = Series(
                agency_id=principal.agency_id,
                name=name,
                shared=shared,
                notes=notes,
                created_at=datetime.now(UTC),
                created_by=principal.username,
            )
            session.add(series)
            session.flush()
            audit.record(
                session, ctx.actor, "series.create", None, id=series.id, name=name, shared=shared
            )
            return _info(series, principal.agency_code)
    except IntegrityError as exc:
        raise UsageError(f"series {name!r} already exists") from exc


def update_series(
    ctx: Context,
    principal: Principal,
    series_id: int,
    *,
    shared: bool | None = None,
    victim_identified: bool | Keep | None = KEEP,
    offender_identified: bool | Keep | None = KEEP,
    notes: str | None = None,
) -> SeriesInfo:
    """Change the agency's own series; another agency's (shared or not) is not found.
    The identified flags take None for "unknown"; fields left out keep their value."""
    require(principal, "series.write")
    with ctx.db.session() as session:
        series = session.get(Series, series_id) if is_row_id(series_id) else None
        if series is None or series.agency_id != principal.agency_id:
            raise NotFoundError(f"no series {series_id}")
        changes: dict[str, object] = {}
        if shared is not None:
            changes["shared"] = shared
        if victim_identified is not KEEP:
            changes["victim_identified"] = victim_identified
        if offender_identified is not KEEP:
            changes["offender_identified"] = offender_identified
        if notes is not None:
            changes["notes"] = notes
        newly_identified = victim_identified is True and series.victim_identified is not True
        for field, value in changes.items():
            setattr(series, field, value)
        if newly_identified:
            notify_outcome(session, ctx.actor, series, "identified")
        if changes:
            audit.record(session, ctx.actor, "series.update", None, id=series_id, **changes)
        return _info(series, principal.agency_code)
