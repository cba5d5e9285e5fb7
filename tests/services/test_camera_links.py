"""Metadata camera links at ingest: serials and exposure ids (`camera-serial`), camera-original
JPEG signatures (`camera-signature`) with their distinctiveness; re-saved copies told apart."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from cairn.camera.synthetic import app_version, camera_layout
from cairn.media.synthetic import CameraExif, synthetic_image
from cairn.services.camera_links import case_signatures
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.links import case_links

# Two firmwares' own quantisation tables (not libjpeg's standard ones).
TABLES_A = [[2 + (i % 7) for i in range(64)], [3 + (i % 5) for i in range(64)]]
TABLES_B = [[1 + (i % 9) for i in range(64)], [4 + (i % 3) for i in range(64)]]


def _photo(seed: int, exif: CameraExif, tables: list[list[int]]) -> bytes:
    out = io.BytesIO()
    exif_block = Image.Exif()
    exif_block[0x010F], exif_block[0x0110] = exif.make, exif.model
    sub = exif_block.get_ifd(0x8769)
    sub[0xA431] = exif.serial
    if exif.image_unique_id:
        sub[0xA420] = exif.image_unique_id
    synthetic_image(seed, 300, 200).save(out, "JPEG", qtables=tables, exif=exif_block)
    return camera_layout(out.getvalue())


def test_serials_and_signatures_link_and_resaves_do_not(db_ctx: Context, tmp_path: Path) -> None:
    phone_a = CameraExif(make="Acme", model="A1", serial="A-001")
    phone_b = CameraExif(make="Bolt", model="B2", serial="B-777")
    device = tmp_path / "device"
    device.mkdir()
    a1 = _photo(
        1, CameraExif(make="Acme", model="A1", serial="A-001", image_unique_id="u1"), TABLES_A
    )
    (device / "a1.jpg").write_bytes(a1)
    (device / "a2.jpg").write_bytes(_photo(2, phone_a, TABLES_A))
    (device / "b1.jpg").write_bytes(_photo(3, phone_b, TABLES_B))
    (device / "sent.jpg").write_bytes(app_version(a1, long_side=200))  # EXIF stripped, re-saved
    create_case(db_ctx, "C-1")
    ingest(db_ctx, "C-1", device, workers=0)

    names = {
        item.sha256: item.paths[0].split(":", 1)[1] for item in case_links(db_ctx, None, "C-1")
    }
    links = {
        (names[item.sha256], names[link.sha256], link.method, round(link.score, 3))
        for item in case_links(db_ctx, None, "C-1")
        for link in item.links
        if link.method.startswith("camera")
    }
    assert {(a, b, m) for a, b, m, _ in links} == {
        ("a1.jpg", "a2.jpg", "camera-serial"),
        ("a2.jpg", "a1.jpg", "camera-serial"),
        ("a1.jpg", "a2.jpg", "camera-signature"),
        ("a2.jpg", "a1.jpg", "camera-signature"),
    }
    assert {score for *_, score in links} == {1.0}  # one camera carries signature A

    signatures = {
        s.cameras[0] if s.cameras else "none": s for s in case_signatures(db_ctx, None, "C-1")
    }
    assert set(signatures) == {"Acme A1 A-001", "Bolt B2 B-777", "none"}
    a = signatures["Acme A1 A-001"]
    assert (a.origin, a.quality, a.images, a.workspace_cameras) == ("camera", None, 2, 1)
    resaved = signatures["none"]
    assert (resaved.origin, resaved.quality, resaved.images) == ("re-saved", 75, 1)
