"""Benign synthetic cameras for the tests and bench/prnu.py: a fixed multiplicative noise
pattern per camera over generated scenes, with what a phone adds on the way to a JPEG.

A camera's pattern has its own part (the PRNU proper) and a part every camera of its model
shares: row and column offsets and a 2×2 lattice offset, the periodic patterns that
zero-meaning exists to remove (Chen et al. 2008).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from cairn.media.synthetic import synthetic_image

Array = NDArray[np.float32]


@dataclass(frozen=True)
class SyntheticCamera:
    seed: int  # the camera's own pattern
    model: int  # cameras with one model number share a pattern component
    width: int = 640
    height: int = 480
    prnu: float = 0.01  # standard deviation of the camera's own multiplicative pattern
    shared: float = 0.006  # strength of the model's row, column and lattice pattern
    quality: int = 92  # the phone's JPEG quality

    def pattern(self) -> Array:
        own = np.random.default_rng([self.seed, 1]).normal(0, self.prnu, self.frame)
        model = np.random.default_rng([self.model, 2])
        rows = model.normal(0, self.shared, (self.height, 1))
        columns = model.normal(0, self.shared, (1, self.width))
        lattice = np.tile(model.normal(0, self.shared, (2, 2)), (self.height, self.width))
        return (own + rows + columns + lattice[: self.height, : self.width]).astype(np.float32)

    @property
    def frame(self) -> tuple[int, int]:
        return (self.height, self.width)

    def capture(self, scene: Array, shot: int, pattern: Array | None = None) -> Image.Image:
        """The picture a scene (RGB floats 0–255 at the frame size) becomes: the pattern
        multiplies the light, then shot and read noise, a demosaicing-like blur, 8 bits."""
        pattern = self.pattern() if pattern is None else pattern
        rng = np.random.default_rng([self.seed, 3, shot])
        light = scene * (1.0 + pattern)[:, :, None]
        light += rng.normal(0, 1, light.shape) * np.sqrt(0.3 * np.maximum(light, 0) + 2.0)
        blurred = 0.5 * light + 0.125 * (
            np.roll(light, 1, 0)
            + np.roll(light, -1, 0)
            + np.roll(light, 1, 1)
            + np.roll(light, -1, 1)
        )
        return Image.fromarray(np.clip(np.rint(blurred), 0, 255).astype(np.uint8), "RGB")

    def photo(self, shot: int, pattern: Array | None = None) -> bytes:
        """A JPEG of a generated scene, as this camera would save it."""
        return jpeg(self.capture(scene(shot, self.width, self.height), shot, pattern), self.quality)


def scene(seed: int, width: int, height: int) -> Array:
    """A generated benign scene at a brightness that varies from shot to shot."""
    picture = np.asarray(synthetic_image(seed, width, height), dtype=np.float32)
    gain = np.random.default_rng([seed, 4]).uniform(0.6, 1.0)
    return (picture * gain + 20.0).astype(np.float32)


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def camera_layout(data: bytes) -> bytes:
    """A library-written JPEG laid out as camera firmware writes one: the JFIF segment that
    libjpeg puts first is dropped, so the EXIF segment leads (media.jpeg_signature)."""
    if data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\x00":
        length = int.from_bytes(data[4:6], "big")
        return data[:2] + data[4 + length :]
    return data


def app_version(data: bytes, long_side: int = 1600, quality: int = 75) -> bytes:
    """What a messaging app sends: downscaled so the long side is at most `long_side`,
    re-compressed at `quality`."""
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
    scale = long_side / max(rgb.size)
    if scale < 1:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    return jpeg(rgb, quality)
