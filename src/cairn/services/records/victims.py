"""Victims of a series: age band, sex if known, status; a name only where the agency enters one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cairn.services.context import Context
from cairn.services.records.common import (
    Change,
    Kind,
    agency_code,
    choice,
    create_record,
    history,
    now,
    status_change,
    unknown_fields,
)
from cairn.store.record_models import Victim
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal

AGE_BANDS = ("0-2", "3-5", "6-9", "10-13", "14-17", "unknown")
SEXES = ("female", "male", "unknown")
STATUSES = ("unidentified", "identified", "safeguarded")
CHANGEABLE = ("age_band", "sex", "status", "name", "notes")


@dataclass(frozen=True)
class VictimView:
    id: int
    series: str
    agency: str
    age_band: str
    sex: str
    status: str
    name: str | None  # the owning agency's only: withheld from others
    notes: str | None
    history: list[Change]


def _view(session: Session, row: Victim, series: Series, owner: bool) -> VictimView:
    return VictimView(
        row.id,
        series.name,
        agency_code(session, series),
        row.age_band,
        row.sex,
        row.status,
        row.name if owner else None,
        row.notes if owner else None,
        history(session, "victim", row.id) if owner else [],
    )


def _check(
    session: Session,
    principal: Principal | None,
    row: Victim,
    changes: dict[str, Any],
    reason: str | None,
) -> dict[str, Any]:
    unknown_fields(changes, CHANGEABLE)
    if "age_band" in changes:
        choice("age band", changes["age_band"], AGE_BANDS)
    if "sex" in changes:
        choice("sex", changes["sex"], SEXES)
    if "status" in changes:
        status_change("status", row.status, changes["status"], STATUSES, reason)
    if changes.get("name") == "":
        changes = {**changes, "name": None}
    return changes


VICTIMS: Kind[Victim, VictimView] = Kind("victim", Victim, _view, _check)


def add_victim(
    ctx: Context,
    principal: Principal | None,
    series_ref: str,
    *,
    age_band: str = "unknown",
    sex: str = "unknown",
    status: str = "unidentified",
    name: str | None = None,
    notes: str = "",
) -> VictimView:
    choice("age band", age_band, AGE_BANDS)
    choice("sex", sex, SEXES)
    choice("status", status, STATUSES)

    def build(session: Session, series: Series) -> Victim:
        return Victim(
            series_id=series.id,
            age_band=age_band,
            sex=sex,
            status=status,
            name=name or None,
            notes=notes,
            created_at=now(),
            created_by=ctx.actor.user,
        )

    return create_record(ctx, principal, VICTIMS, series_ref, build)
