"""Hash sets through the API: listing own and shared sets, sharing, export."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.types import Role
from cairn.store.models import AuditEvent

if TYPE_CHECKING:
    from conftest import World


def _names(world: World, agency: str) -> list[str]:
    sets = world.client.get("/api/v1/hashsets", headers=world.headers(agency=agency)).json()
    return [s["name"] for s in sets]


def test_each_agency_lists_its_own_and_the_shared_sets(world: World) -> None:
    assert _names(world, "AA-1") == ["private AA-1", "shared AA-1"]
    assert _names(world, "BB-2") == ["private BB-2", "shared AA-1"]


def test_sharing_a_set_makes_it_visible_and_unsharing_hides_it(world: World) -> None:
    url = f"/api/v1/hashsets/{world.private_set['BB-2']}/shared"
    answer = world.client.put(url, json={"shared": True}, headers=world.headers(agency="BB-2"))
    assert (answer.status_code, answer.json()["shared"]) == (200, True)
    assert "private BB-2" in _names(world, "AA-1")
    found = world.client.get(
        "/api/v1/search",
        params={"md5": world.own_photo["BB-2"].md5},
        headers=world.headers(agency="AA-1"),
    ).json()
    assert [h["hashset"] for h in found["known_hits"]] == ["private BB-2"]
    assert found["case_hits"] == []  # the set is shared, B's case media are not
    world.client.put(url, json={"shared": False}, headers=world.headers(agency="BB-2"))
    assert "private BB-2" not in _names(world, "AA-1")


def test_a_shared_set_is_exported_as_vics_json_and_audited(world: World) -> None:
    url = f"/api/v1/hashsets/{world.shared_set}/export"
    answer = world.client.get(url, headers=world.headers(Role.AUDITOR, "BB-2"))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store, private"
    assert world.shared_photo.md5.upper() in json.dumps(json.loads(answer.content)).upper()
    with world.ctx.db.session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.hashset")
        ).one()
    assert (event.user, event.agency, event.details["name"]) == (
        "auditor.bb-2",
        "BB-2",
        "shared AA-1",
    )
