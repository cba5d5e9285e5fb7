"""Series: own agency's and shared ones visible, only the owner changes them, all audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.core.types import Role
from cairn.services.context import Context
from cairn.services.identity import (
    Principal,
    actor_for,
    authenticate,
    create_agency,
    create_user,
)
from cairn.services.series import create_series, list_series, update_series
from cairn.store.models import AuditEvent

PASSWORD = "benign test password"


def _people(ctx: Context) -> dict[str, Principal]:
    people = {}
    for code, country in (("NL-NP", "NL"), ("BE-FP", "BE")):
        create_agency(ctx, code, f"Agency {code}", country)
        for role in (Role.VICTIM_ID, Role.AUDITOR):
            name = f"{role.value}.{code.lower()}"
            create_user(ctx, name, code, role, PASSWORD)
            principal = authenticate(ctx, name, PASSWORD, "test")
            assert principal is not None
            people[f"{role.value}@{code}"] = principal
    return people


def test_series_are_shared_read_everywhere_and_changed_only_by_their_agency(
    db_ctx: Context,
) -> None:
    people = _people(db_ctx)
    nl, be = people["victim-id@NL-NP"], people["victim-id@BE-FP"]
    as_nl, as_be = (Context(db_ctx.workspace, db_ctx.db, actor_for(p, "test")) for p in (nl, be))
    tulip = create_series(as_nl, nl, "tulip", notes="garden clues")
    iris = create_series(as_be, be, "iris", shared=True)
    create_series(as_be, be, "fern")
    create_series(as_nl, nl, "iris")  # names are unique per agency only
    with pytest.raises(UsageError, match="already exists"):
        create_series(as_nl, nl, "tulip")
    assert [(s.name, s.agency) for s in list_series(db_ctx, nl)] == [
        ("iris", "BE-FP"),
        ("iris", "NL-NP"),
        ("tulip", "NL-NP"),
    ]
    assert [s.name for s in list_series(db_ctx, people["auditor@BE-FP"])] == ["fern", "iris"]
    updated = update_series(as_be, be, iris.id, victim_identified=True, notes="identified")
    assert (updated.victim_identified, updated.offender_identified, updated.notes) == (
        True,
        None,
        "identified",
    )
    assert update_series(as_be, be, iris.id, victim_identified=None).victim_identified is None
    messages = []
    for series_id in (iris.id, tulip.id + 1000, 2**63):  # shared but BE's; missing; absurd
        with pytest.raises(NotFoundError) as caught:
            update_series(db_ctx, nl, series_id, shared=False)
        messages.append(str(caught.value).replace(str(series_id), "N"))
    assert messages == ["no series N"] * 3
    with pytest.raises(PermissionDeniedError):
        create_series(db_ctx, people["auditor@NL-NP"], "nope")
    with db_ctx.db.session() as session:
        trail = [
            (e.action, e.user, e.details.get("name"))
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("series.%")).order_by(AuditEvent.id)
            )
        ]
    assert trail[:3] == [
        ("series.create", "victim-id.nl-np", "tulip"),
        ("series.create", "victim-id.be-fp", "iris"),
        ("series.create", "victim-id.be-fp", "fern"),
    ]
    assert [t[0] for t in trail[4:]] == ["series.update", "series.update"]
