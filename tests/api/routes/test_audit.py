"""Every audited action leaves an event naming who, from where, for which agency; auditors read
their agency's events and the chain verifies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update

from cairn.core.types import Role
from cairn.store.models import AuditEvent

if TYPE_CHECKING:
    from conftest import World


def test_audited_actions_are_listed_for_the_agencys_auditor(world: World) -> None:
    client, headers = world.client, world.headers(Role.EXAMINER, "AA-1")
    sha = world.own_photo["AA-1"].sha256
    calls = [
        ("GET", "/api/v1/cases/A-1", None),
        ("GET", "/api/v1/cases/A-1/triage", None),
        ("GET", f"/api/v1/media/{sha}", None),
        ("GET", f"/api/v1/media/{sha}/thumbnail", None),
        ("GET", f"/api/v1/search?sha256={sha}", None),
        ("POST", "/api/v1/cases", {"ref": "A-2", "title": "new"}),
        ("GET", "/api/v1/cases/A-1/export/hashes", None),
    ]
    for method, url, body in calls:
        assert client.request(method, url, json=body, headers=headers).status_code < 300, url
    auditor = world.headers(Role.AUDITOR, "AA-1")
    events = client.get("/api/v1/audit", params={"limit": 1000}, headers=auditor).json()
    mine_events = [e for e in events if e["user"] == "examiner.aa-1" and e["action"] != "login"]
    mine = [(e["action"], e["case_ref"]) for e in mine_events]
    assert mine == [
        ("case.read", "A-1"),
        ("case.read", "A-1"),
        ("media.read", "A-1"),
        ("thumbnail.read", "A-1"),
        ("search.hash", None),
        ("case.create", "AA-1:A-2"),
        ("case.read", "AA-1:A-2"),
        ("export.hashes", "A-1"),
    ]
    assert {(e["origin"], e["agency"]) for e in mine_events} == {("testclient", "AA-1")}
    other = client.get("/api/v1/audit", headers=world.headers(Role.AUDITOR, "BB-2")).json()
    assert all(e["agency"] == "BB-2" for e in other)
    assert not any(e["case_ref"] in ("A-1", "AA-1:A-2") for e in other)
    verified = client.get("/api/v1/audit/verify", headers=auditor).json()
    assert verified == {"intact": True, "first_broken_id": None, "reason": None}


def test_verify_reports_an_edited_event(world: World) -> None:
    auditor = world.headers(Role.AUDITOR, "BB-2")
    with world.ctx.db.session() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == 3).values(action="nothing"))
    verified = world.client.get("/api/v1/audit/verify", headers=auditor).json()
    assert verified == {"intact": False, "first_broken_id": 3, "reason": "edited"}


def test_hash_export_streams_csv_rows_of_the_case(world: World) -> None:
    answer = world.client.get(
        "/api/v1/cases/B-1/export/hashes", headers=world.headers(agency="BB-2")
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["cache-control"] == "no-store, private"
    header, *rows = answer.text.splitlines()
    assert header.startswith("evidence,path,kind,deleted,unallocated,offset,size,md5,sha1,sha256")
    assert sorted(row.split(",")[1] for row in rows) == ["common.jpg", "own.jpg"]
    assert world.own_photo["BB-2"].sha256 in answer.text
    assert world.own_photo["AA-1"].sha256 not in answer.text
