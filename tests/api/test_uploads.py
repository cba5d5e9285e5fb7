"""Hash-set uploads: capped, sniffed, kept in the workspace (0600), imported by a job."""

from __future__ import annotations

import dataclasses
import stat
from typing import TYPE_CHECKING

from cairn.core.types import Role
from cairn.services.access import PERMISSIONS

if TYPE_CHECKING:
    from conftest import World

LIST = f"# benign test list\n{'ab' * 16}\n{'cd' * 20}\n".encode()


def _upload(world: World, body: bytes, **params: str) -> tuple[int, str]:
    answer = world.client.post(
        "/api/v1/hashsets",
        params={"name": "uploaded", "filename": "list.txt", **params},
        content=body,
        headers=world.headers(Role.EXAMINER, "BB-2"),
    )
    return answer.status_code, answer.text


def _uploads(world: World) -> list[str]:
    folder = world.ctx.workspace.root / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_an_upload_is_stored_privately_and_imported_by_a_job(world: World) -> None:
    status, text = _upload(world, LIST, shared="true", kind="alert")
    assert status == 202, text
    (name,) = _uploads(world)
    path = world.ctx.workspace.root / "uploads" / name
    assert name.endswith("-list.txt")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == LIST
    assert world.client.app.state.cairn.runner.run_pending() == 1
    sets = world.client.get("/api/v1/hashsets", headers=world.headers(agency="AA-1")).json()
    uploaded = [s for s in sets if s["name"] == "BB-2:uploaded"]  # the agency's namespace
    assert [(s["agency_code"], s["shared"], s["kind"], s["entries"]) for s in uploaded] == [
        ("BB-2", True, "alert", 2)
    ]
    assert _uploads(world) == []  # imported: the copy is deleted


def test_an_upload_whose_import_fails_is_deleted_too(world: World) -> None:
    for body in (LIST, LIST + f"{'ef' * 16}\n".encode()):  # the second: the name is taken
        assert _upload(world, body)[0] == 202
    assert world.client.app.state.cairn.runner.run_pending() == 2
    jobs = world.client.get("/api/v1/jobs", headers=world.headers(Role.EXAMINER, "BB-2")).json()
    assert [j["state"] for j in jobs] == ["failed", "done"]
    assert _uploads(world) == []


def test_job_parameters_show_server_paths_only_to_the_roles_that_need_them(
    world: World,
) -> None:
    """A source to who names sources (admin, examiner); an upload's place to nobody."""
    assert _upload(world, LIST)[0] == 202
    device = str(world.roots["BB-2"] / "BB-2-device")
    started = world.client.post(
        "/api/v1/cases/B-1/ingest", json={"source": device}, headers=world.headers(agency="BB-2")
    )
    assert started.json()["params"] == {"case_ref": "B-1", "source": device}
    for role in sorted(PERMISSIONS["job.read"]):  # every role that may list jobs
        listed = world.client.get("/api/v1/jobs", headers=world.headers(role, "BB-2")).json()
        ingest, upload = (j["params"] for j in listed)
        assert "upload" not in upload and upload["name"] == "BB-2:uploaded"
        shown = role in (Role.ADMIN, Role.EXAMINER)
        assert ingest == ({"case_ref": "B-1", "source": device} if shown else {"case_ref": "B-1"})


def test_an_upload_over_the_cap_is_refused_and_nothing_is_kept(world: World) -> None:
    state = world.client.app.state.cairn
    state.settings = dataclasses.replace(state.settings, upload_max_bytes=len(LIST) - 1)
    status, _ = _upload(world, LIST)
    assert status == 413
    assert _uploads(world) == []
    # A body that lies about its length (here: chunked, no Content-Length) is cut off too.
    answer = world.client.post(
        "/api/v1/hashsets",
        params={"name": "chunked"},
        content=iter([LIST[:10], LIST[10:]]),
        headers=world.headers(Role.EXAMINER, "BB-2"),
    )
    assert answer.status_code == 413
    assert _uploads(world) == []
    assert world.client.app.state.cairn.runner.run_pending() == 0


def test_content_that_is_no_hash_set_is_refused_before_a_job(world: World) -> None:
    jpeg = world.common.data
    status, text = _upload(world, jpeg, filename="list.csv")
    assert status == 415, text
    status, text = _upload(world, LIST, format="vics")  # a plain list is not VICS JSON
    assert status == 415, text
    assert _uploads(world) == []
    assert world.client.get("/api/v1/jobs", headers=world.headers(agency="BB-2")).json() == []
