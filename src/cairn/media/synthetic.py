"""Benign synthetic photographs for the demo, the tests and the benches.

Smooth gradients, shapes and texture from a seeded generator: photo-like enough for PDQ to
give a high-quality hash, and guaranteed to depict nothing at all.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class CameraExif:
    make: str = "CairnDemo"
    model: str = "Synthetic One"
    serial: str = "SN-0001"
    software: str = "demo 1.0"
    datetime_original: str = "2024:05:12 10:32:00"
    gps: tuple[float, float] | None = None  # decimal degrees (lat, lon)


def synthetic_image(seed: int, width: int = 1024, height: int = 768) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.zeros((height, width, 3), np.float32)
    for channel in range(3):
        fx, fy, phase = rng.uniform(0.5, 4.0), rng.uniform(0.5, 4.0), rng.uniform(0, 6.28)
        base[..., channel] = 127 + 90 * np.sin(fx * x / width * 6.28 + phase) * np.cos(
            fy * y / height * 6.28
        )
    base += rng.normal(0, 6, base.shape)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 9))):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        x1 = x0 + int(rng.integers(30, max(31, width // 3)))
        y1 = y0 + int(rng.integers(30, max(31, height // 3)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return image


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return Fraction(degrees), Fraction(minutes), Fraction(seconds, 100)


def jpeg_bytes(image: Image.Image, camera: CameraExif | None = None, quality: int = 90) -> bytes:
    """The image as a JPEG, with camera EXIF (make, model, serial, time, GPS) if given."""
    out = io.BytesIO()
    if camera is None:
        image.save(out, "JPEG", quality=quality)
        return out.getvalue()
    exif = Image.Exif()
    exif[0x010F] = camera.make
    exif[0x0110] = camera.model
    exif[0x0131] = camera.software
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = camera.datetime_original
    sub[0xA431] = camera.serial
    if camera.gps is not None:
        lat, lon = camera.gps
        gps = exif.get_ifd(0x8825)
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = _dms(lat)
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = _dms(lon)
    image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()
