"""Search by hash: own cases' media, own and shared sets — never another agency's cases or
unshared sets, by digest or by PDQ."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cairn.core.types import Role
from cairn.store.models import AuditEvent

if TYPE_CHECKING:
    from conftest import World


def _search(world: World, agency: str, **params: Any) -> Any:
    answer = world.client.get("/api/v1/search", params=params, headers=world.headers(agency=agency))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _flip(pdq: str, bits: int) -> str:
    value = int(pdq, 16) ^ ((1 << bits) - 1)  # the lowest `bits` bits flipped
    return f"{value:064x}"


def test_digest_search_finds_own_case_media_and_own_set(world: World) -> None:
    photo = world.own_photo["AA-1"]
    found = _search(world, "AA-1", md5=photo.md5.upper())
    assert found["kind"] == "md5" and found["value"] == photo.md5
    assert found["case_hits"] == [
        {"case_ref": "A-1", "media_sha256": photo.sha256, "occurrences": 1, "distance": 0}
    ]
    assert [
        (h["hashset"], h["agency_code"], h["shared"], h["category"]) for h in found["known_hits"]
    ] == [("private AA-1", "AA-1", False, "vics:1")]


def test_another_agency_learns_nothing_of_private_media_or_sets(world: World) -> None:
    photo = world.own_photo["AA-1"]
    for params in ({"md5": photo.md5}, {"sha256": photo.sha256}, {"pdq": photo.pdq}):
        found = _search(world, "BB-2", **params)
        assert found["case_hits"] == [] and found["known_hits"] == [], params
    # Answered exactly as a hash nobody holds.
    nobody = _search(world, "BB-2", md5="0" * 32)
    held = _search(world, "BB-2", md5=photo.md5)
    assert {k: v for k, v in held.items() if k != "value"} == {
        k: v for k, v in nobody.items() if k != "value"
    }


def test_common_media_is_found_only_in_the_callers_cases(world: World) -> None:
    for agency, case in (("AA-1", "A-1"), ("BB-2", "B-1")):
        for params in ({"sha256": world.common.sha256}, {"pdq": world.common.pdq}):
            found = _search(world, agency, **params)
            assert [h["case_ref"] for h in found["case_hits"]] == [case], (agency, params)


def test_shared_sets_are_searchable_by_every_agency(world: World) -> None:
    shared = world.shared_photo
    for agency in ("AA-1", "BB-2"):
        found = _search(world, agency, md5=shared.md5)
        assert found["case_hits"] == []
        assert [
            (h["hashset"], h["agency_code"], h["shared"], h["series"], h["method"])
            for h in found["known_hits"]
        ] == [("shared AA-1", "AA-1", True, "Series S", "md5")]


def test_pdq_search_uses_the_distance(world: World) -> None:
    near = _flip(world.shared_photo.pdq, 5)
    found = _search(world, "BB-2", pdq=near, distance=10)
    assert [(h["hashset"], h["distance"], h["method"]) for h in found["known_hits"]] == [
        ("shared AA-1", 5, "pdq")
    ]
    assert _search(world, "BB-2", pdq=near, distance=4)["known_hits"] == []
    assert _search(world, "BB-2", pdq=near)["distance"] == 31  # PDQ's default threshold
    own = _search(world, "AA-1", pdq=_flip(world.own_photo["AA-1"].pdq, 3), distance=3)
    assert [(h["case_ref"], h["distance"]) for h in own["case_hits"]] == [("A-1", 3)]


def test_bad_queries_are_refused(world: World) -> None:
    headers = world.headers()
    for params in (
        {"md5": "z" * 32},
        {"md5": "ab"},
        {"sha1": "a" * 64},
        {},
        {"md5": "a" * 32, "sha1": "b" * 40},
        {"md5": "a" * 32, "distance": 3},
        {"pdq": "a" * 64, "distance": 65},
        {"pdq": "a" * 64, "distance": -1},
    ):
        answer = world.client.get("/api/v1/search", params=params, headers=headers)
        assert answer.status_code == 422, params


def test_each_search_is_audited_with_who_and_where(world: World) -> None:
    _search(world, "BB-2", sha1="c" * 40)
    with world.ctx.db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "search.hash")).one()
    assert (event.user, event.agency, event.origin) == ("examiner.bb-2", "BB-2", "testclient")
    assert event.details == {
        "kind": "sha1",
        "value": "c" * 40,
        "distance": 0,
        "case_hits": 0,
        "known_hits": 0,
    }


def test_nsrl_scale_sets_kept_in_files_are_searchable(world: World, tmp_path: Path) -> None:
    from cairn.hashsets.nsrl import NsrlFormat
    from cairn.services.hashsets import import_hashset

    (record, *_rest) = NsrlFormat.example_records()
    agency_id = world.principals[(Role.EXAMINER, "BB-2")].agency_id
    import_hashset(
        world.ctx, NsrlFormat.example(tmp_path), "nsrl", kind="ignorable", agency_id=agency_id
    )
    found = _search(world, "BB-2", sha256=record.sha256)
    assert [(h["hashset"], h["agency_code"]) for h in found["known_hits"]] == [("nsrl", "BB-2")]
    assert _search(world, "AA-1", sha256=record.sha256)["known_hits"] == []  # not shared
