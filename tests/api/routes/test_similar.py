"""Similarity search over the API: the caller's agency's cases only; another agency's media
item or case answers exactly as a missing one; the query image is never stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cairn.store.models import AuditEvent

if TYPE_CHECKING:
    from conftest import World


def _similar(world: World, agency: str, body: bytes = b"", **params: Any) -> Any:
    return world.client.post(
        "/api/v1/similar", params=params, content=body, headers=world.headers(agency=agency)
    )


def test_similar_finds_only_the_callers_cases(world: World) -> None:
    for agency, case in (("AA-1", "A-1"), ("BB-2", "B-1")):
        answer = _similar(world, agency, world.common.data)
        assert answer.status_code == 200, answer.text
        hits = answer.json()
        assert [(h["case"], h["path"], h["sha256"]) for h in hits] == [
            (case, "common.jpg", world.common.sha256)
        ]
        assert hits[0]["score"] > 0.5 and len(hits[0]["region"]) == 4
    own = world.own_photo["AA-1"]
    assert [h["case"] for h in _similar(world, "AA-1", own.data).json()] == ["A-1"]
    assert _similar(world, "BB-2", own.data).json() == []
    by_sha = _similar(world, "AA-1", sha256=world.common.sha256)
    assert [h["case"] for h in by_sha.json()] == []  # itself excluded; no other copy in A-1
    with world.ctx.db.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "similar.search"))
        assert any(e.details.get("image_bytes") == len(own.data) for e in events)


def test_another_agencys_objects_answer_as_missing(world: World) -> None:
    theirs = _similar(world, "BB-2", sha256=world.own_photo["AA-1"].sha256)
    missing = _similar(world, "BB-2", sha256="f" * 64)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content.replace(world.own_photo["AA-1"].sha256.encode(), b"X") == (
        missing.content.replace(b"f" * 64, b"X")
    )
    their_case = _similar(world, "BB-2", world.common.data, case="A-1")
    no_case = _similar(world, "BB-2", world.common.data, case="ZZ-404")
    assert their_case.status_code == no_case.status_code == 404
    assert their_case.content.replace(b"A-1", b"X") == no_case.content.replace(b"ZZ-404", b"X")


def test_bad_queries_are_refused(world: World) -> None:
    assert _similar(world, "AA-1").status_code == 422  # neither image nor sha256
    both = _similar(world, "AA-1", world.common.data, sha256=world.common.sha256)
    assert both.status_code == 422
    assert _similar(world, "AA-1", b"not an image").status_code == 422
    outside = _similar(world, "AA-1", world.common.data, region="300,200,100,100")
    assert outside.status_code == 422 and "not inside" in outside.text
    assert _similar(world, "AA-1", world.common.data, region="1,2").status_code == 422
