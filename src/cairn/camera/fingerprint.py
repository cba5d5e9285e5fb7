"""A camera's PRNU fingerprint from images known to come from it: the maximum-likelihood
estimate K = Σ WᵢIᵢ / Σ Iᵢ² (Chen, Fridrich, Goljan, Lukáš 2008), zero-meaned and Wiener
filtered; and the check that the reference images all come from one camera. docs/camera.md.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from cairn.camera.residual import Plane, image_residual, noise, wiener_dft, zero_mean

Array = NDArray[np.float32]
K = TypeVar("K", bound=Hashable)

MIN_IMAGES = 20  # below this the estimate is too noisy to test against (Chen et al. use 20-50)
CHECK_SIDE = 1024  # the consistency check compares the central crop of this size
# Residuals correlate as z = ρ·√n over the central crop; unrelated ones give a standard normal
# z, so a pooled z above 6 is not chance (and leaves room for the scenes' own correlation).
SAME_CAMERA_Z = 6.0


class TooFewImages(ValueError):
    """Refused: fewer usable reference images than MIN_IMAGES; the message says how many."""


@dataclass(frozen=True)
class Fingerprint(Generic[K]):
    values: Array  # zero-meaned, Wiener-filtered K, in the sensor frame (height, width)
    used: tuple[K, ...]  # the reference images it was computed from
    inconsistent: tuple[K, ...] = ()  # left out: not tied to the others (another camera?)
    groups: int = 1  # groups of mutually tied references: more than one means mixed cameras


@dataclass
class FingerprintBuilder(Generic[K]):
    """Accumulates references one at a time (a full-size residual is never kept)."""

    shape: tuple[int, int]
    _numerator: Array = field(init=False)
    _denominator: Array = field(init=False)
    _crops: dict[K, Array] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._numerator = np.zeros(self.shape, np.float32)
        self._denominator = np.zeros(self.shape, np.float32)

    def add(self, key: K, plane: Plane) -> None:
        if plane.luma.shape != self.shape:
            raise ValueError(f"image is {plane.luma.shape}, the reference set {self.shape}")
        self._accumulate(plane, 1.0)
        self._crops[key] = _normalised(_central(image_residual(plane)))

    def _accumulate(self, plane: Plane, sign: float) -> None:
        weighted = np.where(plane.usable, plane.luma, 0.0).astype(np.float32)
        self._numerator += sign * noise(plane.luma) * weighted
        self._denominator += sign * weighted * weighted

    def finish(self, reload: Callable[[K], Plane]) -> Fingerprint[K]:
        """The fingerprint of the largest group of mutually tied references; the others are
        taken back out (reloaded, to subtract their share). TooFewImages below MIN_IMAGES."""
        keys = list(self._crops)
        groups = _groups(keys, self._crops)
        main = groups[0] if groups else []
        outliers = [key for key in keys if key not in set(main)]
        if len(main) < MIN_IMAGES:
            mixed = f" ({len(groups)} groups of related images: mixed cameras?)" * (len(groups) > 1)
            raise TooFewImages(
                f"{len(main)} consistent reference images, at least {MIN_IMAGES} needed{mixed}"
            )
        for key in outliers:
            self._accumulate(reload(key), -1.0)
        ml = (self._numerator / np.maximum(self._denominator, 1.0)).astype(np.float32)
        values = wiener_dft(zero_mean(ml))
        sized = [group for group in groups if len(group) > 1]
        return Fingerprint(values, tuple(main), tuple(outliers), max(1, len(sized)))


def _central(values: Array) -> Array:
    height, width = values.shape
    top, left = max(0, (height - CHECK_SIDE) // 2), max(0, (width - CHECK_SIDE) // 2)
    return values[top : top + CHECK_SIDE, left : left + CHECK_SIDE]


def _normalised(values: Array) -> Array:
    centred = values - values.mean()
    unit: Array = (centred / max(float(np.linalg.norm(centred)), 1e-12)).ravel()
    return unit.astype(np.float32)


def _groups(keys: list[K], crops: dict[K, Array]) -> list[list[K]]:
    """Groups of references from one camera, largest first (ties: in the order given).

    Two residuals of one camera correlate weakly, so single pairs are not trusted: groups
    start as single images and the two groups whose pooled statistic Z(A, B) = Σ z_ij /
    √(|A|·|B|) is highest merge while it exceeds SAME_CAMERA_Z. Unrelated groups keep Z near
    N(0, 1) whatever their size; groups of one camera gain with every image added.
    """
    if not keys:
        return []
    matrix = np.stack([crops[key] for key in keys]).astype(np.float64)
    z = (matrix @ matrix.T) * np.sqrt(matrix.shape[1])
    np.fill_diagonal(z, 0.0)
    groups = [[index] for index in range(len(keys))]
    while len(groups) > 1:
        members = np.zeros((len(groups), len(keys)))
        for row, group in enumerate(groups):
            members[row, group] = 1.0
        sizes = members.sum(axis=1)
        pooled = (members @ z @ members.T) / np.sqrt(np.outer(sizes, sizes))
        np.fill_diagonal(pooled, -np.inf)
        first, second = np.unravel_index(int(np.argmax(pooled)), pooled.shape)
        if pooled[first, second] <= SAME_CAMERA_Z:
            break
        low, high = sorted((int(first), int(second)))
        groups[low] = sorted(groups[low] + groups[high])
        del groups[high]
    ordered = sorted(groups, key=lambda group: (-len(group), group[0]))
    return [[keys[index] for index in group] for group in ordered]
