"""The noise residual of one image: what a wavelet denoiser takes away, where the sensor's
photo-response non-uniformity (PRNU) lives. Lukáš, Fridrich and Goljan (2006) with Mihçak's
locally adaptive Wiener denoiser in the wavelet domain; see docs/camera.md for the choices.

Residuals are taken from the luma plane (a JPEG's own Y channel, decoded without colour
conversion): one plane instead of three, about three times cheaper, at a small loss of signal.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float32]

WAVELET = "db4"  # as the widely used prnu-python (Lukáš et al. used db8: twice the taps)
LEVELS = 4
SIGMA0 = 3.0  # the denoiser's assumed noise std in grey levels (Chen et al. 2008)
WINDOWS = (3, 5, 7, 9)  # local-variance windows; the smallest estimate wins (Mihçak et al.)
# Below these an image gives no usable residual (recorded, never tested):
MIN_SIDE = 256  # too few pixels for a correlation peak to stand out
MIN_MEAN = 20.0  # too dark: PRNU is multiplicative, a dark picture carries almost none
SATURATED_LEVEL = 250  # clipped highlights carry no PRNU at all
MAX_SATURATED_SHARE = 0.5


class Untestable(ValueError):
    """An image that cannot give a residual; the message is the recorded reason."""


@dataclass(frozen=True)
class Plane:
    """The luma of an image in float32 and the mask of pixels that carry PRNU (not clipped)."""

    luma: Array
    usable: NDArray[np.bool_]


def read_plane(data: bytes) -> Plane:
    """Decode an image's luma, checking it is fit for a residual (Untestable otherwise)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        if img.format in ("JPEG", "MPO"):
            img.draft("L", img.size)  # the stored Y plane, no colour round trip, full size
        grey = img.convert("L") if img.mode != "L" else img
        grey.load()
        luma = np.asarray(grey, dtype=np.float32)
    return plane_from_luma(luma)


def plane_from_luma(luma: Array) -> Plane:
    height, width = luma.shape
    if min(height, width) < MIN_SIDE:
        raise Untestable(f"too small: {width}x{height}, under {MIN_SIDE} px on the short side")
    mean = float(luma.mean())
    if mean < MIN_MEAN:
        raise Untestable(f"too dark: mean level {mean:.1f} under {MIN_MEAN:.0f}")
    usable = luma < SATURATED_LEVEL
    saturated = 1.0 - float(usable.mean())
    if saturated > MAX_SATURATED_SHARE:
        raise Untestable(f"saturated: {saturated:.0%} of pixels at {SATURATED_LEVEL} or above")
    return Plane(luma, usable)


def noise(luma: Array) -> Array:
    """The raw residual W = I - F(I): wavelet detail coefficients shrunk by the local Wiener
    rule, the approximation band dropped, transformed back."""
    import pywt

    coeffs = pywt.wavedec2(luma, WAVELET, level=LEVELS, mode="periodization")
    variance = SIGMA0 * SIGMA0
    out: list[object] = [np.zeros_like(coeffs[0])]
    for details in coeffs[1:]:
        out.append(tuple(_noise_part(band.astype(np.float32), variance) for band in details))
    restored = pywt.waverec2(out, WAVELET, mode="periodization")
    height, width = luma.shape
    return np.ascontiguousarray(restored[:height, :width], dtype=np.float32)


def _noise_part(band: Array, variance: float) -> Array:
    """What the locally adaptive Wiener filter removes from one detail band: the coefficient
    times σ0² / (σ̂² + σ0²), σ̂² the smallest local signal variance over the windows."""
    energy = band * band
    local = np.full(band.shape, np.inf, dtype=np.float32)
    for size in WINDOWS:
        np.minimum(local, np.maximum(box_mean(energy, size) - variance, 0.0), out=local)
    return band * (variance / (local + variance))


def box_mean(values: Array, size: int) -> Array:
    """The mean over a size×size window around each element (edges mirrored), by prefix
    sums: cost independent of the window."""
    half = size // 2
    padded = np.pad(values, half, mode="symmetric").astype(np.float64)
    sums = padded.cumsum(0).cumsum(1)
    sums = np.pad(sums, ((1, 0), (1, 0)))
    total = sums[size:, size:] - sums[:-size, size:] - sums[size:, :-size] + sums[:-size, :-size]
    mean: Array = (total / (size * size)).astype(np.float32)
    return mean


def zero_mean(values: Array) -> Array:
    """Remove what every camera of a model shares in rows and columns (the CFA lattice and
    readout patterns, Chen et al. 2008): each of the four 2×2 lattice planes gets its column
    and row means subtracted."""
    out = values.astype(np.float32, copy=True)
    for dy in (0, 1):
        for dx in (0, 1):
            plane = out[dy::2, dx::2]
            plane -= plane.mean(axis=0, keepdims=True)
            plane -= plane.mean(axis=1, keepdims=True)
    return out


def wiener_dft(values: Array) -> Array:
    """Flatten the spectrum (Chen et al. 2008): periodic artefacts — JPEG's 8×8 grid, the
    peaks that cameras of one make share — are strong narrow peaks in the spectrum; the
    Wiener rule applied to the magnitude keeps the flat, noise-like part."""
    spectrum = np.fft.rfft2(values)
    size = values.size
    magnitude = np.abs(spectrum).astype(np.float32) / np.float32(np.sqrt(size))
    variance = float(values.var())
    energy = magnitude * magnitude
    local = np.full(magnitude.shape, np.inf, dtype=np.float32)
    for window in WINDOWS:
        np.minimum(local, np.maximum(box_mean(energy, window) - variance, 0.0), out=local)
    gain = variance / (local + variance)  # the noise-like share of each frequency
    filtered = np.fft.irfft2(spectrum * gain, s=values.shape)
    return filtered.astype(np.float32)


def image_residual(plane: Plane) -> Array:
    """The residual an image is tested with: zero-meaned and Wiener-filtered like a
    fingerprint, clipped pixels zeroed."""
    residual = noise(plane.luma)
    residual[~plane.usable] = 0.0
    return wiener_dft(zero_mean(residual))
