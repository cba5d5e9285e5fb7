from __future__ import annotations

import io

import pytest

from cairn.camera.synthetic import app_version, camera_layout
from cairn.media.jpeg_signature import MalformedJpeg, ijg_tables, signature
from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image

PICTURE = synthetic_image(5, 320, 240)


@pytest.mark.parametrize("quality", [95, 90, 75, 50, 20])
def test_libjpeg_tables_give_their_quality(quality: int) -> None:
    found = signature(jpeg_bytes(PICTURE, quality=quality))
    assert (found.quality, found.origin) == (quality, "re-saved")
    assert len(found.digest) == 32


def test_standard_tables_at_quality_50_are_annex_k() -> None:
    luma, chroma = ijg_tables(50)
    assert luma[:8] == (16, 11, 10, 16, 24, 40, 51, 61)
    assert chroma[:4] == (17, 18, 24, 47)


def test_a_camera_original_and_its_resave_differ() -> None:
    original = camera_layout(jpeg_bytes(PICTURE, CameraExif(), quality=92))
    camera = signature(original, camera_exif=True)
    assert camera.origin == "camera"
    resaved = signature(app_version(original, long_side=300))
    assert (resaved.origin, resaved.quality) == ("re-saved", 75)
    assert resaved.digest != camera.digest
    # The library's own layout (JFIF first) is not a camera's, even with camera EXIF.
    assert signature(jpeg_bytes(PICTURE, CameraExif()), camera_exif=True).origin == "re-saved"


def test_own_tables_and_thumbnail_geometry_are_part_of_it() -> None:
    out = io.BytesIO()
    PICTURE.save(out, "JPEG", qtables=[list(range(1, 65)), list(range(2, 66))])
    own = signature(out.getvalue())
    assert own.quality is None
    thumbnail = jpeg_bytes(synthetic_image(6, 160, 120))
    with_thumbnail = signature(out.getvalue(), thumbnail)
    assert with_thumbnail.digest != own.digest
    assert signature(out.getvalue(), thumbnail).digest == with_thumbnail.digest


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a", "no JPEG start-of-image marker"),
        (b"\xff\xd8\xff\xdb\x00\x43\x00", "runs past the end"),
        (b"\xff\xd8garbage", "no marker at byte 2"),
    ],
)
def test_broken_headers_say_where(data: bytes, message: str) -> None:
    with pytest.raises(MalformedJpeg, match=message):
        signature(data)
