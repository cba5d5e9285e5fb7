"""Jobs through the API: an ingest started, followed to the end, its results visible; cancel;
a job cut off by a server stop runs again when the server starts."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from cairn.api.app import create_app
from cairn.services.evidence_roots import SOURCE_REFUSED
from cairn.services.jobs import RunnerSettings
from cairn.store.job_models import Job

if TYPE_CHECKING:
    from conftest import World


def _new_device(world: World, agency: str, name: str, seeds: range) -> str:
    from cairn.media.synthetic import jpeg_bytes, synthetic_image

    device = world.roots[agency] / name
    device.mkdir(parents=True)
    for seed in seeds:
        (device / f"photo-{seed}.jpg").write_bytes(jpeg_bytes(synthetic_image(seed, 200, 150)))
    return str(device)


def _wait(client: TestClient, job: int, headers: dict[str, str]) -> dict[str, Any]:
    """Poll a job until it finishes (bounded: a hang fails instead of blocking the suite)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/v1/jobs/{job}", headers=headers).json()
        if body["state"] in ("done", "failed", "cancelled"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {job} did not finish: {body}")


def test_ingest_job_runs_in_the_background_and_its_results_are_visible(world: World) -> None:
    headers = world.headers(agency="BB-2")
    source = _new_device(world, "BB-2", "more-bb", range(20, 23))
    world.client.app.state.cairn.runner.start()  # the lifespan's runner, as `cairn serve` has
    started = world.client.post(
        "/api/v1/cases/B-1/ingest", json={"source": source}, headers=headers
    )
    assert started.status_code == 202
    assert started.json()["state"] == "queued"
    job = _wait(world.client, started.json()["id"], headers)
    assert job["state"] == "done", job
    assert job["progress"] == {"done": 3, "total": 3}
    assert job["result"]["counts"]["hashed"] == 3
    assert job["params"] == {"case_ref": "B-1", "source": source}
    media = world.client.get("/api/v1/cases/B-1/media", headers=headers).json()
    assert len(media) == 5  # common, own, and the three new photos
    listed = world.client.get("/api/v1/jobs", headers=headers).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert world.client.get("/api/v1/jobs", headers=world.headers()).json() == []  # AA-1


def test_a_queued_job_is_cancelled_and_stays_so(world: World) -> None:
    headers = world.headers()
    job = world.queued_job("AA-1")
    answer = world.client.post(f"/api/v1/jobs/{job}/cancel", headers=headers)
    assert answer.status_code == 200
    assert answer.json()["state"] == "cancelled"
    assert world.client.app.state.cairn.runner.run_pending() == 0
    again = world.client.post(f"/api/v1/jobs/{job}/cancel", headers=headers)
    assert again.status_code == 422


def test_a_job_interrupted_by_a_stop_runs_when_the_server_starts(world: World) -> None:
    headers = world.headers()
    source = _new_device(world, "AA-1", "more-aa", range(30, 32))
    started = world.client.post(
        "/api/v1/cases/A-1/ingest", json={"source": source}, headers=headers
    )
    job_id = started.json()["id"]
    with world.ctx.db.session() as session:  # as a server killed mid-job leaves it
        session.execute(update(Job).where(Job.id == job_id).values(state="running"))
    restarted = create_app(
        world.ctx.workspace.root,
        world.ctx.workspace.database_url,
        settings=world.client.app.state.cairn.settings,
        runner_settings=RunnerSettings(ingest_workers=0),
    )
    with TestClient(restarted) as client:  # its lifespan starts the runner
        job = _wait(client, job_id, headers)
    assert job["state"] == "done"
    assert job["result"]["counts"]["hashed"] == 2


def test_match_jobs_use_own_and_shared_sets_only(world: World) -> None:
    runner = world.client.app.state.cairn.runner
    for agency, case in (("AA-1", "A-1"), ("BB-2", "B-1")):
        headers = world.headers(agency=agency)
        started = world.client.post(f"/api/v1/cases/{case}/match", headers=headers)
        assert started.status_code == 202
        assert runner.run_pending() == 1
        job = world.client.get(f"/api/v1/jobs/{started.json()['id']}", headers=headers).json()
        assert (job["state"], job["result"]["media"]) == ("done", 2)
        matches = world.client.get(f"/api/v1/cases/{case}/matches", headers=headers).json()
        assert [(m["media_sha256"], m["hashset"], m["triage"]) for m in matches] == [
            (world.own_photo[agency].sha256, f"private {agency}", "known")
        ]


def test_sources_outside_the_evidence_roots_are_refused(world: World) -> None:
    headers = world.headers()
    outside = world.root / "elsewhere"
    outside.mkdir()
    for url in ("/api/v1/cases/A-1/ingest", "/api/v1/cases/A-1/evidence"):
        for source in (str(outside), str(world.evidence_root / ".." / "elsewhere")):
            answer = world.client.post(url, json={"source": source}, headers=headers)
            assert answer.status_code == 422, (url, source)
            assert "evidence roots" in answer.json()["detail"]
    assert world.client.get("/api/v1/jobs", headers=headers).json() == []


def _outside(world: World, inner: Path) -> Path:
    """A folder outside the roots, with a photo at `inner` inside it."""
    from cairn.media.synthetic import jpeg_bytes, synthetic_image

    outside = world.root / "outside"
    (outside / inner).mkdir(parents=True)
    (outside / inner / "secret.jpg").write_bytes(jpeg_bytes(synthetic_image(99, 200, 150)))
    return outside


def _swapped_job(world: World, source: Path, swap: Path) -> dict[str, Any]:
    """Queue an ingest of `source`, replace `swap` (it or a folder above it) with a symlink to
    a folder outside the roots holding what `source` should, then run the job."""
    headers = world.headers()
    started = world.client.post(
        "/api/v1/cases/A-1/ingest", json={"source": str(source)}, headers=headers
    )
    assert started.status_code == 202, started.text
    outside = _outside(world, source.relative_to(swap))
    shutil.rmtree(swap)
    swap.symlink_to(outside)
    assert world.client.app.state.cairn.runner.run_pending() == 1
    job: dict[str, Any] = world.client.get(
        f"/api/v1/jobs/{started.json()['id']}", headers=headers
    ).json()
    return job


def test_a_source_swapped_for_a_symlink_before_its_job_runs_is_not_ingested(world: World) -> None:
    source = Path(_new_device(world, "AA-1", "swapped", range(40, 42)))
    job = _swapped_job(world, source, source)
    assert (job["state"], job["error"]) == ("failed", SOURCE_REFUSED)
    media = world.client.get("/api/v1/cases/A-1/media", headers=world.headers()).json()
    assert len(media) == 2  # the world's two photos; nothing from outside
    evidence = world.client.get("/api/v1/cases/A-1/evidence", headers=world.headers()).json()
    assert [e["label"] for e in evidence] == ["AA-1-device"]


def test_a_folder_above_the_source_swapped_for_a_symlink_is_refused_too(world: World) -> None:
    batch = world.roots["AA-1"] / "batch"
    source = Path(_new_device(world, "AA-1", "batch/device", range(40, 42)))
    job = _swapped_job(world, source, batch)
    assert (job["state"], job["error"]) == ("failed", SOURCE_REFUSED)
    media = world.client.get("/api/v1/cases/A-1/media", headers=world.headers()).json()
    assert len(media) == 2
