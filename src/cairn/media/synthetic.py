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
    image_unique_id: str | None = None
    lens_serial: str | None = None


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


def synthetic_scene(seed: int, width: int = 800, height: int = 600) -> Image.Image:
    """A cluttered benign "room": a smooth background under many shapes and strokes of every
    size, lightly blurred and grained, so that local features (corners, blobs) abound as in a
    photograph. The same seed gives the same scene; re-shoot it with a perspective warp."""
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.zeros((height, width, 3), np.float32)
    for channel in range(3):
        fx, fy, phase = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 6.28)
        base[..., channel] = 127 + 60 * np.sin(fx * x / width * 6.28 + phase) * np.cos(
            fy * y / height * 6.28
        )
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    for _ in range(int(rng.integers(90, 130))):
        radius = float(rng.uniform(0.01, 0.1)) * side
        cx, cy = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            squash = float(rng.uniform(0.4, 1.0))
            draw.ellipse((cx - radius, cy - radius * squash, cx + radius, cy + radius), colour)
        elif kind == 1:
            corners = int(rng.integers(3, 7))
            angles = np.sort(rng.uniform(0, 6.28, corners))
            reach = radius * rng.uniform(0.5, 1.0, corners)
            polygon = [
                (cx + float(r * np.cos(a)), cy + float(r * np.sin(a)))
                for a, r in zip(angles, reach, strict=True)
            ]
            draw.polygon(polygon, fill=colour)
        else:
            dx, dy = rng.uniform(-3, 3, 2) * radius
            draw.line((cx, cy, cx + float(dx), cy + float(dy)), colour, int(rng.integers(1, 5)))
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(0.7)), np.float32)
    pixels += rng.normal(0, 4, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def reshoot(image: Image.Image, seed: int, strength: float = 0.08) -> Image.Image:
    """The same scene photographed again: another viewpoint (a perspective warp moving each
    corner by up to `strength` of the picture), other light (a gradient and a colour cast),
    sensor noise and a little blur."""
    import cv2

    rng = np.random.default_rng(seed)
    pixels = np.asarray(image.convert("RGB"))
    height, width = pixels.shape[:2]
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    moved = corners + rng.uniform(-strength, strength, (4, 2)).astype(np.float32) * [width, height]
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    warped = cv2.warpPerspective(pixels, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    light = np.linspace(rng.uniform(0.6, 0.85), rng.uniform(1.0, 1.2), width, dtype=np.float32)
    lit = warped.astype(np.float32) * light[None, :, None] * rng.uniform(0.85, 1.1, 3)
    lit += rng.normal(0, 5, lit.shape)
    blurred = cv2.GaussianBlur(np.clip(lit, 0, 255).astype(np.uint8), (3, 3), 0.8)
    return Image.fromarray(blurred, "RGB")


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
    if camera.image_unique_id is not None:
        sub[0xA420] = camera.image_unique_id
    if camera.lens_serial is not None:
        sub[0xA435] = camera.lens_serial
    if camera.gps is not None:
        lat, lon = camera.gps
        gps = exif.get_ifd(0x8825)
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = _dms(lat)
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = _dms(lon)
    image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()
