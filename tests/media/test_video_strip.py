"""A video's three-frame strip, cut from its contact sheet."""

from __future__ import annotations

import io

from PIL import Image

from cairn.media.video_strip import video_strip


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def test_a_video_strip_shows_the_first_middle_and_last_frames() -> None:
    # A contact sheet of 5 tiles on a 3×2 grid (media.video's layout), each tile one grey level.
    levels = [10, 60, 110, 160, 210]
    sheet = Image.new("RGB", (3 * 40, 2 * 30), (32, 32, 32))
    for i, level in enumerate(levels):
        sheet.paste(
            (level, level, level),
            ((i % 3) * 40, (i // 3) * 30, (i % 3 + 1) * 40, (i // 3 + 1) * 30),
        )
    strip = Image.open(io.BytesIO(video_strip(_jpeg(sheet), len(levels))))
    assert strip.size == (3 * 40, 30)
    seen = [strip.convert("L").getpixel((20 + 40 * slot, 15)) for slot in range(3)]
    assert [abs(a - b) <= 3 for a, b in zip(seen, [10, 110, 210], strict=True)] == [True] * 3


def test_a_one_frame_sheet_makes_a_one_frame_strip() -> None:
    sheet = Image.new("RGB", (40, 30), (90, 90, 90))
    assert Image.open(io.BytesIO(video_strip(_jpeg(sheet), 1))).size == (40, 30)
