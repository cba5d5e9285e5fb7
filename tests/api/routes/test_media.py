"""Media metadata and thumbnails: only where the caller's agency holds the item; thumbnails
are audited and never cached."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.types import Role
from cairn.store.models import AuditEvent, Thumbnail

if TYPE_CHECKING:
    from conftest import World


def test_metadata_lists_only_the_callers_places(world: World) -> None:
    url = f"/api/v1/media/{world.common.sha256}"
    for agency, case in (("AA-1", "A-1"), ("BB-2", "B-1")):
        answer = world.client.get(url, headers=world.headers(agency=agency))
        assert answer.status_code == 200
        body = answer.json()
        assert (body["md5"], body["pdq"], body["has_thumbnail"]) == (
            world.common.md5,
            world.common.pdq,
            True,
        )
        assert body["occurrences"] == [
            {
                "case_ref": case,
                "evidence": f"{agency}-device",
                "path": "common.jpg",
                "kind": "file",
                "deleted": False,
            }
        ]


def test_thumbnail_is_a_jpeg_that_no_cache_keeps(world: World) -> None:
    photo = world.own_photo["BB-2"]
    answer = world.client.get(
        f"/api/v1/media/{photo.sha256.upper()}/thumbnail",
        headers=world.headers(Role.VICTIM_ID, "BB-2"),
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "no-store, private"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.content.startswith(b"\xff\xd8\xff")
    with world.ctx.db.session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "thumbnail.read")
        ).one()
    assert (event.user, event.agency, event.origin, event.case_ref) == (
        "victim-id.bb-2",
        "BB-2",
        "testclient",
        "B-1",
    )
    assert event.details["sha256"] == photo.sha256


def test_a_malformed_hash_is_refused_before_any_lookup(world: World) -> None:
    answer = world.client.get("/api/v1/media/not-a-hash", headers=world.headers())
    assert answer.status_code == 422


def test_a_thumbnail_moved_onto_another_item_in_the_database_is_refused(world: World) -> None:
    """Someone who can write the database but holds no key swaps two items' thumbnails: each
    is bound to its own item, so neither is served as the other's, and the attempt is audited."""
    photo, other = world.own_photo["BB-2"], world.common
    with world.ctx.db.session() as session:
        mine, theirs = (session.get(Thumbnail, p.sha256) for p in (photo, other))
        assert mine is not None and theirs is not None
        mine.blob, theirs.blob = theirs.blob, mine.blob
    answer = world.client.get(
        f"/api/v1/media/{photo.sha256}/thumbnail", headers=world.headers(Role.VICTIM_ID, "BB-2")
    )
    assert answer.status_code == 409
    assert answer.json() == {
        "detail": f"the stored thumbnail of {photo.sha256} failed its integrity check"
    }
    with world.ctx.db.session() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("thumbnail.%"))
        ).all()
    assert actions == ["thumbnail.refused"]
