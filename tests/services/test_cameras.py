"""Cameras of a case end to end on SQLite and PostgreSQL: a fingerprint from a folder or from
ingested items, tests of every other image with reasons for the untestable ones, PRNU links."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from cairn.camera.fingerprint import MIN_IMAGES
from cairn.camera.synthetic import SyntheticCamera, app_version, jpeg
from cairn.core.errors import NotFoundError, UsageError
from cairn.services.cameras import camera_matches, fingerprint_camera, list_cameras, match_cameras
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.links import case_links
from cairn.store.camera_models import PrnuResidual
from cairn.store.models import AuditEvent

PHONE = SyntheticCamera(seed=11, model=1, width=400, height=320)
OTHER = SyntheticCamera(seed=12, model=1, width=400, height=320)  # same model, another sensor


def _shots(camera: SyntheticCamera, first: int, count: int) -> list[bytes]:
    pattern = camera.pattern()
    return [camera.photo(first + shot, pattern) for shot in range(count)]


@pytest.fixture
def seized(tmp_path: Path) -> dict[str, Path]:
    """The phone's camera folder (references), and a device with the phone's other pictures
    (one sent through an app and turned), another phone's, a dark and a tiny picture."""
    refs = tmp_path / "DCIM"
    refs.mkdir()
    for i, data in enumerate(_shots(PHONE, 0, MIN_IMAGES)):
        (refs / f"IMG_{i:04}.jpg").write_bytes(data)
    device = tmp_path / "laptop"
    device.mkdir()
    phone = _shots(PHONE, 100, 3)
    for i, data in enumerate(phone[:2]):
        (device / f"mine-{i}.jpg").write_bytes(data)
    (device / "sent.jpg").write_bytes(app_version(phone[2], long_side=360, quality=75))
    for i, data in enumerate(_shots(OTHER, 200, 2)):
        (device / f"other-{i}.jpg").write_bytes(data)
    dark = Image.fromarray(np.full((320, 400), 5, np.uint8))
    (device / "dark.jpg").write_bytes(jpeg(dark.convert("RGB"), 90))
    (device / "tiny.jpg").write_bytes(jpeg(Image.new("RGB", (64, 48), (90, 120, 60)), 90))
    return {"refs": refs, "device": device}


def test_fingerprint_from_a_folder_then_match_the_case(
    db_ctx: Context, seized: dict[str, Path]
) -> None:
    create_case(db_ctx, "C-1")
    ingest(db_ctx, "C-1", seized["device"], workers=0)
    info = fingerprint_camera(db_ctx, None, "C-1", "suspect phone", folder=seized["refs"])
    assert (info.name, info.width, info.height, info.references) == ("suspect phone", 400, 320, 20)
    assert (info.left_out, info.groups) == ([], 1)
    assert [c.name for c in list_cameras(db_ctx, None, "C-1")] == ["suspect phone"]

    report = match_cameras(db_ctx, None, "C-1")
    by_name = _names(db_ctx, seized["device"])
    rows = {by_name[m.sha256]: m for m in report.matches}
    assert sorted(rows) == ["mine-0.jpg", "mine-1.jpg", "other-0.jpg", "other-1.jpg", "sent.jpg"]
    matched = {name for name, m in rows.items() if m.matched}
    assert matched == {"mine-0.jpg", "mine-1.jpg", "sent.jpg"}
    assert rows["mine-0.jpg"].transform == "scale=1,rot=0"
    assert rows["sent.jpg"].transform == "scale=0.9,rot=0"
    assert all(m.camera == "suspect phone" for m in report.matches)
    assert [m.pce for m in report.matches] == sorted((m.pce for m in report.matches), reverse=True)
    assert {by_name[u.sha256]: u.reason for u in report.untested} == {
        "dark.jpg": "too dark: mean level 5.0 under 20",
        "tiny.jpg": "too small: 64x48, under 256 px on the short side",
    }
    # PRNU links: the references are not media, so the best match anchors the others.
    prnu = {
        (by_name[item.sha256], by_name[link.sha256], link.details["transform"])
        for item in case_links(db_ctx, None, "C-1", methods=["prnu"])
        for link in item.links
    }
    best = by_name[report.matches[0].sha256]
    assert {(a, b) for a, b, _ in prnu if a == best} == {(best, name) for name in matched - {best}}
    # Residuals were computed on first need, once; a second run tests nothing again.
    with db_ctx.db.session() as session:
        assert len(session.scalars(select(PrnuResidual.media_sha256)).all()) == 7
    assert camera_matches(db_ctx, None, "C-1").matches == report.matches
    assert match_cameras(db_ctx, None, "C-1", "suspect phone").matches == report.matches
    with pytest.raises(NotFoundError, match="no camera 'nope'"):
        match_cameras(db_ctx, None, "C-1", "nope")
    with db_ctx.db.session() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert {"camera.fingerprint", "camera.match", "camera.list"} <= set(actions)


def test_reference_items_are_never_tested_against_their_camera(
    db_ctx: Context, seized: dict[str, Path]
) -> None:
    create_case(db_ctx, "C-1")
    ingest(db_ctx, "C-1", seized["refs"], workers=0)
    ingest(db_ctx, "C-1", seized["device"], workers=0)
    refs = _names(db_ctx, seized["refs"])
    # An ITEM is a SHA-256 or a path as the export writes it.
    items = ["IMG_0000.jpg", *sorted(sha for sha, name in refs.items() if name != "IMG_0000.jpg")]
    info = fingerprint_camera(db_ctx, None, "C-1", "phone", items=items)
    assert info.references == MIN_IMAGES
    report = match_cameras(db_ctx, None, "C-1")
    assert not {m.sha256 for m in report.matches} & set(refs)
    assert len(report.matches) == 5


def test_too_few_or_mixed_references_are_refused_with_the_reason(
    db_ctx: Context, seized: dict[str, Path], tmp_path: Path
) -> None:
    create_case(db_ctx, "C-1")
    few = tmp_path / "few"
    few.mkdir()
    for path in sorted(seized["refs"].iterdir())[:5]:
        (few / path.name).write_bytes(path.read_bytes())
    (few / "notes.txt").write_text("not a picture")
    with pytest.raises(UsageError, match="5 consistent reference images, at least 20 needed"):
        fingerprint_camera(db_ctx, None, "C-1", "phone", folder=few)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for i, data in enumerate(_shots(PHONE, 0, 12) + _shots(OTHER, 300, 12)):
        (mixed / f"{i:02}.jpg").write_bytes(data)
    with pytest.raises(UsageError, match=r"2 groups of related images: mixed cameras\?"):
        fingerprint_camera(db_ctx, None, "C-1", "phone", folder=mixed)
    with pytest.raises(UsageError, match="one of the two"):
        fingerprint_camera(db_ctx, None, "C-1", "phone")
    assert list_cameras(db_ctx, None, "C-1") == []


def _names(ctx: Context, folder: Path) -> dict[str, str]:
    import hashlib

    return {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in folder.iterdir()}
