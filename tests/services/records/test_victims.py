"""Victims: recorded, changed with history, statuses going back only with a reason, and the
agency rules (another agency's private record is missing; a shared one is read without names)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.services.records.common import list_records, show_record, update_record
from cairn.services.records.victims import VICTIMS, add_victim
from cairn.store.models import AuditEvent

from .conftest import Agencies


def test_victims_have_history_and_statuses_go_back_only_with_a_reason(
    agencies: Agencies,
) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    victim = add_victim(ctx, nl, "tulip", age_band="6-9", sex="female")
    assert (victim.series, victim.agency, victim.status, victim.name) == (
        "tulip",
        "NL-NP",
        "unidentified",
        None,
    )
    update_record(ctx, nl, VICTIMS, victim.id, {"status": "identified", "name": "Jane Doe"})
    with pytest.raises(UsageError, match="going back from identified to unidentified needs"):
        update_record(ctx, nl, VICTIMS, victim.id, {"status": "unidentified"})
    back = update_record(
        ctx, nl, VICTIMS, victim.id, {"status": "unidentified"}, reason="wrong child"
    )
    assert back.status == "unidentified" and back.name == "Jane Doe"
    assert [(c.action, c.changes, c.reason, c.by) for c in back.history] == [
        (
            "create",
            {
                "age_band": "6-9",
                "sex": "female",
                "status": "unidentified",
                "name": None,
                "notes": "",
            },
            None,
            "victim-id.nl-np",
        ),
        (
            "update",
            {"status": ["unidentified", "identified"], "name": [None, "Jane Doe"]},
            None,
            "victim-id.nl-np",
        ),
        ("update", {"status": ["identified", "unidentified"]}, "wrong child", "victim-id.nl-np"),
    ]
    unchanged = update_record(ctx, nl, VICTIMS, victim.id, {"sex": "female"})
    assert len(unchanged.history) == 3  # nothing changed, nothing recorded
    for bad, message in (
        ({"sex": "x"}, "sex must be one of"),
        ({"age_band": "old"}, "age band must be one of"),
        ({"series_id": 3}, "cannot change series_id"),
    ):
        with pytest.raises(UsageError, match=message):
            update_record(ctx, nl, VICTIMS, victim.id, bad)
    with pytest.raises(UsageError, match="status must be one of"):
        add_victim(ctx, nl, "tulip", status="found")
    with ctx.db.session() as session:
        trail = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("victim.%")).order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.details["fields"], e.details["reason"]) for e in trail] == [
        ("victim.create", ["age_band", "name", "notes", "sex", "status"], None),
        ("victim.update", ["name", "status"], None),
        ("victim.update", ["status"], "wrong child"),
    ]
    assert all("Jane Doe" not in str(e.details) for e in trail)  # names stay in the records


def test_agency_rules(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    private = add_victim(ctx, nl, "tulip", name="Jane Doe")
    shared = add_victim(ctx, nl, "iris", name="John Doe", notes="school uniform")
    fern = add_victim(be_ctx, be, "fern")
    messages = []
    for record in (private.id, fern.id + 1000, 2**63):  # NL's private; missing; absurd
        with pytest.raises(NotFoundError) as caught:
            show_record(be_ctx, be, VICTIMS, record)
        messages.append(str(caught.value).replace(str(record), "N"))
    assert messages == ["no victim N"] * 3
    for ref in ("tulip", str(agencies.series["tulip"]), "nothing"):
        with pytest.raises(NotFoundError, match=f"no series '{ref}'"):
            list_records(be_ctx, be, VICTIMS, ref)
    seen = show_record(be_ctx, be, VICTIMS, shared.id)  # shared: read, without personal data
    assert (seen.status, seen.name, seen.notes, seen.history) == ("unidentified", None, None, [])
    assert show_record(ctx, nl, VICTIMS, shared.id).name == "John Doe"
    with pytest.raises(NotFoundError, match="no victim"):
        update_record(be_ctx, be, VICTIMS, shared.id, {"status": "identified"})
    with pytest.raises(NotFoundError, match="no series 'iris'"):
        add_victim(be_ctx, be, "iris")
    auditor_ctx, auditor = agencies.as_("auditor@NL-NP")
    assert [v.id for v in list_records(auditor_ctx, auditor, VICTIMS, "tulip")] == [private.id]
    with pytest.raises(PermissionDeniedError):
        add_victim(auditor_ctx, auditor, "tulip")
    # The local operator sees every agency's series: a name two agencies use needs the id.
    add_victim(be_ctx, be, "fern")
    assert len(list_records(agencies.ctx, None, VICTIMS, "fern")) == 2
