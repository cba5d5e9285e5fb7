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


def test_members_status_and_what_another_agency_sees(world: World) -> None:
    owner = world.headers(Role.VICTIM_ID, "AA-1")
    url = f"/api/v1/series/{world.shared_series}"
    items = ["AA-1-device:own.jpg", world.common.sha256]
    added = world.client.post(f"{url}/media", json={"case": "A-1", "items": items}, headers=owner)
    assert added.json()["media"] == 2
    status = world.client.put(f"{url}/status", json={"status": "identified"}, headers=owner)
    assert status.json()["status"] == "identified"
    back = world.client.put(f"{url}/status", json={"status": "disseminated"}, headers=owner)
    assert back.status_code == 422  # going back needs a reason
    mine = world.client.get(url, headers=owner).json()
    assert [m["case"] for m in mine["media"]] == ["A-1", "A-1"]
    assert [h["action"] for h in mine["history"]] == ["create", "add", "status"]
    theirs = world.client.get(url, headers=world.headers(Role.VICTIM_ID, "BB-2")).json()
    shas = sorted([world.own_photo["AA-1"].sha256, world.common.sha256])
    assert theirs["media"] == [
        {"sha256": sha, "case": None, "added_at": None, "added_by": None} for sha in shas
    ]
    assert theirs["history"] == []
    other = world.client.post(
        f"/api/v1/series/{world.private_series['BB-2']}/merge",
        json={"other": world.shared_series},
        headers=world.headers(Role.VICTIM_ID, "BB-2"),
    )
    assert other.status_code == 404  # AA-1's series is not BB-2's to merge
    suggestions = world.client.get(
        "/api/v1/cases/B-1/series-suggestions", headers=world.headers(agency="BB-2")
    ).json()
    hits = [s for s in suggestions if s["series"]]
    assert [(s["series"], s["agency"], s["status"], s["identified_elsewhere"]) for s in hits] == [
        ("AA-1 shared", "AA-1", "identified", True)  # the photo both cases hold
    ]
    assert [(m["sha256"], m["method"]) for m in hits[0]["media"]] == [
        (world.common.sha256, "sha256")
    ]
    suggestions = world.client.get(
        "/api/v1/cases/A-1/series-suggestions", headers=world.headers(agency="AA-1")
    ).json()
    assert [(s["series"], s["status"]) for s in suggestions if s["series"]] == []  # filed here
