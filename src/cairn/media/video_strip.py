"""A video as the review queue shows it: three frames of its contact sheet (media.video),
first, middle and last, side by side — enough to see what happens over time, with no motion and
no sound. The strip is protected (media.thumbnail.protected) like any thumbnail until revealed.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

STRIP_FRAMES = 3
_JPEG_QUALITY = 70


def _load(jpeg: bytes) -> Image:
    from PIL import Image as PILImage

    image = PILImage.open(io.BytesIO(jpeg))
    image.load()
    return image


def _save(image: Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=_JPEG_QUALITY)  # nothing of the source's metadata
    return out.getvalue()


def video_strip(sheet: bytes, tiles: int) -> bytes:
    """Three frames of a video's contact sheet (media.video: `tiles` frames on a near-square
    grid, in time order), first, middle and last, side by side."""
    from PIL import Image as PILImage

    image = _load(sheet).convert("RGB")
    tiles = max(1, tiles)
    columns = math.ceil(math.sqrt(tiles))
    rows = math.ceil(tiles / columns)
    width, height = image.width // columns, image.height // rows
    picked = sorted({0, tiles // 2, tiles - 1})[:STRIP_FRAMES]
    strip = PILImage.new("RGB", (width * len(picked), height))
    for slot, tile in enumerate(picked):
        x, y = (tile % columns) * width, (tile // columns) * height
        strip.paste(image.crop((x, y, x + width, y + height)), (slot * width, 0))
    return _save(strip)
