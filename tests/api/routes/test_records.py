"""Records through the API: created and changed by the owner with history, read by others
without personal data where the series is shared, bad input a 422, the country ranking, Trace
an Object's package, and the inbox."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from cairn.core.types import Role

if TYPE_CHECKING:
    from conftest import World


def test_records_through_the_api(world: World) -> None:
    aa, bb = world.headers(Role.VICTIM_ID, "AA-1"), world.headers(Role.VICTIM_ID, "BB-2")
    series = f"/api/v1/series/{world.shared_series}"
    made = world.client.post(
        f"{series}/victims", json={"age_band": "6-9", "name": "Jane Doe"}, headers=aa
    )
    assert made.status_code == 201, made.text
    victim = f"/api/v1/victims/{made.json()['id']}"
    assert world.client.patch(victim, json={"status": "safeguarded"}, headers=aa).status_code == 200
    back = world.client.patch(victim, json={"status": "identified"}, headers=aa)
    assert (back.status_code, "needs a --reason" in back.json()["detail"]) == (422, True)
    back = world.client.patch(victim, json={"status": "identified", "reason": "error"}, headers=aa)
    assert [h["reason"] for h in back.json()["history"]] == [None, None, "error"]
    emptied = world.client.patch(victim, json={"sex": None}, headers=aa)
    assert emptied.status_code == 422
    seen = world.client.get(victim, headers=bb).json()
    assert (seen["status"], seen["name"], seen["history"]) == ("identified", None, [])

    clue = world.client.post(
        f"{series}/clues",
        json={
            "kind": "socket",
            "description": "wall socket",
            "sha256": world.own_photo["AA-1"].sha256,
            "socket_type": "G",
            "supports": ["GB:0.9", "IE:0.9"],
        },
        headers=aa,
    )
    assert clue.status_code == 201, clue.text
    other = world.client.post(
        f"{series}/clues",
        json={
            "kind": "text",
            "description": "sign",
            "text": "Exit",
            "language": "en",
            "sha256": world.own_photo["BB-2"].sha256,
        },
        headers=aa,
    )
    assert other.status_code == 404  # BB-2's photo: AA-1 may not see it
    changed = world.client.patch(
        f"/api/v1/clues/{clue.json()['id']}",
        json={"eliminates": ["IE:1"], "supports": ["GB"]},
        headers=aa,
    ).json()
    assert [(c["country"], c["stance"]) for c in changed["countries"]] == [
        ("GB", "supports"),
        ("IE", "eliminates"),
    ]
    ranked = world.client.get(f"{series}/countries", headers=bb).json()
    assert [(r["country"], r["score"]) for r in ranked][:1] == [("GB", 0.5)]
    assert set(ranked[0]) == {"country", "score", "support", "elimination", "evidence"}

    crop = f"/api/v1/crops/{world.shared_records['crop']}"
    package = world.client.post(f"{crop}/publish", headers=aa)
    assert package.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(package.content)) as opened:
        assert sorted(opened.namelist()) == ["manifest.json", "object.jpg"]
    cut = world.client.post(
        f"/api/v1/clues/{world.shared_records['clue']}/crops",
        content=world.own_photo["AA-1"].data,
        headers=aa,
    )
    assert (cut.status_code, cut.json()["status"]) == (201, "draft")
    for content in (b"not a photo", world.own_photo["BB-2"].data):
        wrong = world.client.post(
            f"/api/v1/clues/{world.shared_records['clue']}/crops", content=content, headers=aa
        )
        assert (wrong.status_code, "is not media item" in wrong.json()["detail"]) == (422, True)
    regionless = world.client.post(
        f"/api/v1/clues/{clue.json()['id']}/crops", content=b"x", headers=aa
    )
    assert "names no region" in regionless.json()["detail"]
    assert world.client.get("/api/v1/inbox", headers=bb).json() == []


def test_series_exports_through_the_api(world: World) -> None:
    aa, bb = world.headers(Role.VICTIM_ID, "AA-1"), world.headers(Role.VICTIM_ID, "BB-2")
    series = f"/api/v1/series/{world.shared_series}"
    geojson = world.client.get(f"{series}/export/geojson", headers=aa)
    assert geojson.headers["content-type"] == "application/geo+json"
    features = geojson.json()["features"]
    assert [f["properties"]["source"] for f in features] == ["clue"]  # the photo has no GPS
    lead = world.client.post(f"{series}/export/lead", json={"country": "fr"}, headers=aa)
    assert lead.status_code == 200
    with zipfile.ZipFile(io.BytesIO(lead.content)) as package:
        names = package.namelist()
        assert package.read("summary.json").count(b'"FR"') == 1
    crop = world.shared_records["crop"]
    assert f"objects/object-{crop}.jpg" in names
    refused = world.client.post(f"{series}/export/lead", json={"country": "France"}, headers=aa)
    assert refused.status_code == 422
    assert (
        world.client.post(f"{series}/export/lead", json={"country": "FR"}, headers=bb).status_code
        == 404
    )  # shared, but not BB-2's to send
