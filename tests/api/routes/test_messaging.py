"""A case's conversations through the API: the agency's own cases only, audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.types import Role
from cairn.messaging.samples import CAROL, example_device, write_msgstore
from cairn.services.messaging.importing import import_path
from cairn.store.models import AuditEvent

if TYPE_CHECKING:
    from conftest import World


def test_messages_of_the_agencys_own_case(world: World) -> None:
    store = write_msgstore(world.root / "phone" / "msgstore.db", example_device())
    import_path(world.ctx, store, "A-1", "phone")
    url = "/api/v1/cases/A-1/messages"
    answer = world.client.get(url, params={"chat": CAROL.phone}, headers=world.headers())
    assert answer.status_code == 200, answer.text
    (message,) = answer.json()
    assert {k: message[k] for k in ("device", "chat", "sender", "kind", "text", "deleted")} == {
        "device": "phone",
        "chat": CAROL.phone,
        "sender": CAROL.phone,
        "kind": "text",
        "text": "hello",
        "deleted": False,
    }
    everything = world.client.get(url, headers=world.headers(Role.AUDITOR)).json()
    assert len(everything) == 5
    # Another agency's case is answered as a missing one.
    other = world.client.get(url, headers=world.headers(agency="BB-2"))
    missing = world.client.get("/api/v1/cases/ZZ-404/messages", headers=world.headers())
    assert (other.status_code, other.content) == (404, missing.content.replace(b"ZZ-404", b"A-1"))
    bad = world.client.get(url, params={"group": "x", "chat": "y"}, headers=world.headers())
    assert bad.status_code == 422 and "give at most one of" in bad.text
    with world.ctx.db.session() as session:
        views = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "case.read")
        ).all()
    assert sum(1 for d in views if d.get("view") == "messages") >= 2
