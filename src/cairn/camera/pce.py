"""The peak-to-correlation energy (PCE) test of an image's residual against a camera's
fingerprint (Goljan, Fridrich, Filler 2009), searched over the transforms phones and messaging
apps apply: the four quarter turns, and a downscale to the image's own size. See docs/camera.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float32]

THRESHOLD = 60.0  # PCE above which a match is reported: common in the literature
SHIFT_RADIUS = 8  # pixels: the peak is looked for within this shift of the aligned position
PEAK_HALF = 5  # the 11×11 neighbourhood of the peak left out of the correlation energy
ASPECT_TOLERANCE = 0.01  # an app's rounding of a downscaled side


@dataclass(frozen=True)
class Transform:
    scale: float  # the image's width over the sensor frame's (1: original size)
    rot: int  # degrees the picture was turned clockwise from the sensor's frame

    def __str__(self) -> str:
        return f"scale={round(self.scale, 3):g},rot={self.rot}"


@dataclass(frozen=True)
class Result:
    pce: float  # signed: a negative peak gives a negative PCE
    transform: Transform
    shift: tuple[int, int]  # (dy, dx) of the peak from the aligned position

    @property
    def matched(self) -> bool:
        return self.pce > THRESHOLD


class NoTransform(ValueError):
    """The image's size fits no transform of the camera's frame; the message says why."""


def pce(correlation: Array, radius: int = SHIFT_RADIUS) -> tuple[float, tuple[int, int]]:
    """PCE of a circular cross-correlation whose aligned position is (0, 0): the squared
    peak (found within `radius` of it, signed) over the mean squared correlation away from
    the peak."""
    height, width = correlation.shape
    rows = np.r_[0 : radius + 1, height - radius : height] % height
    columns = np.r_[0 : radius + 1, width - radius : width] % width
    window = correlation[np.ix_(rows, columns)]
    i, j = np.unravel_index(int(np.argmax(np.abs(window))), window.shape)
    y, x = int(rows[i]), int(columns[j])
    peak = float(correlation[y, x])
    near_rows = np.arange(y - PEAK_HALF, y + PEAK_HALF + 1) % height
    near_columns = np.arange(x - PEAK_HALF, x + PEAK_HALF + 1) % width
    total = float(np.square(correlation, dtype=np.float64).sum())
    near = float(np.square(correlation[np.ix_(near_rows, near_columns)], dtype=np.float64).sum())
    energy = (total - near) / (correlation.size - near_rows.size * near_columns.size)
    shift = (y if y <= height // 2 else y - height, x if x <= width // 2 else x - width)
    return float(np.sign(peak) * peak * peak / max(energy, 1e-30)), shift


def resize(values: Array, height: int, width: int) -> Array:
    """A fingerprint at an image's smaller size, resampled as apps resample pictures."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), "F")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


class FingerprintMatcher:
    """One fingerprint, ready to test residuals: its spectrum at each image size is computed
    once and kept."""

    def __init__(self, fingerprint: Array) -> None:
        self.fingerprint = fingerprint
        self._spectra: dict[tuple[int, int], NDArray[np.complex64]] = {}

    def candidates(self, shape: tuple[int, int]) -> list[Transform]:
        """The transforms that turn a frame of the fingerprint's shape into `shape`."""
        frame_h, frame_w = self.fingerprint.shape
        found = []
        for quarter in range(4):
            height, width = shape if quarter % 2 == 0 else shape[::-1]
            if (height, width) == (frame_h, frame_w):
                scale = 1.0
            elif (
                height > frame_h
                or width > frame_w
                or abs(height / width - frame_h / frame_w) > ASPECT_TOLERANCE * frame_h / frame_w
            ):
                continue
            else:
                scale = width / frame_w
            found.append(Transform(scale, 90 * quarter))
        return found

    def test(self, residual: Array) -> Result:
        """The best PCE over the candidate transforms (NoTransform when there is none)."""
        transforms = self.candidates((residual.shape[0], residual.shape[1]))
        if not transforms:
            height, width = self.fingerprint.shape
            image_h, image_w = residual.shape
            raise NoTransform(
                f"{image_w}x{image_h} is no rotation or downscale of the camera's {width}x{height}"
            )
        best: Result | None = None
        for transform in transforms:
            # np.rot90 turns counter-clockwise: it undoes a clockwise turn of the picture.
            aligned = np.rot90(residual, transform.rot // 90)
            spectrum = self._spectrum(aligned.shape[0], aligned.shape[1])
            correlation = np.fft.irfft2(np.fft.rfft2(aligned) * spectrum, s=aligned.shape)
            value, shift = pce(correlation.astype(np.float32))
            if best is None or value > best.pce:
                best = Result(value, transform, shift)
        assert best is not None
        return best

    def _spectrum(self, height: int, width: int) -> NDArray[np.complex64]:
        key = (height, width)
        if key not in self._spectra:
            frame = self.fingerprint
            if frame.shape != key:
                frame = resize(frame, height, width)
            self._spectra[key] = np.conj(np.fft.rfft2(frame)).astype(np.complex64)
        return self._spectra[key]
