"""Series through the API: own and shared ones listed, only the owner changes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.core.types import Role

if TYPE_CHECKING:
    from conftest import World


def test_series_are_listed_own_and_shared(world: World) -> None:
    for agency, expected in (
        ("AA-1", [("AA-1 own", "AA-1"), ("AA-1 shared", "AA-1")]),
        ("BB-2", [("AA-1 shared", "AA-1"), ("BB-2 own", "BB-2")]),
    ):
        listed = world.client.get("/api/v1/series", headers=world.headers(agency=agency)).json()
        assert [(s["name"], s["agency"]) for s in listed] == expected


def test_the_owner_marks_a_series_identified_and_every_agency_sees_it(world: World) -> None:
    headers = world.headers(Role.VICTIM_ID, "AA-1")
    url = f"/api/v1/series/{world.shared_series}"
    changed = world.client.patch(url, json={"victim_identified": True}, headers=headers)
    assert changed.status_code == 200
    assert (changed.json()["victim_identified"], changed.json()["notes"]) == (True, "")
    seen = world.client.get("/api/v1/series", headers=world.headers(agency="BB-2")).json()
    assert [s["victim_identified"] for s in seen if s["name"] == "AA-1 shared"] == [True]
    # Back to unknown: null is a value, an absent field is left alone.
    unknown = world.client.patch(url, json={"victim_identified": None}, headers=headers)
    assert unknown.json()["victim_identified"] is None
    other = world.client.patch(url, json={"notes": "x"}, headers=world.headers(agency="BB-2"))
    assert other.status_code == 404
