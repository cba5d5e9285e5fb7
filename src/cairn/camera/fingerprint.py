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
# Two residuals of one camera correlate: z = ρ·√n over the central crop. Unrelated
# residuals give |z| of a few at most; 6 leaves room for the scenes' own correlation.
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
    """Connected groups of references whose residuals correlate (z > SAME_CAMERA_Z), largest
    first (ties: in the order given)."""
    if not keys:
        return []
    matrix = np.stack([crops[key] for key in keys])
    z = (matrix @ matrix.T) * np.sqrt(matrix.shape[1])
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(z > SAME_CAMERA_Z, 1)), strict=True):
        parent[root(int(i))] = root(int(j))
    members: dict[int, list[K]] = {}
    for index, key in enumerate(keys):
        members.setdefault(root(index), []).append(key)
    return sorted(members.values(), key=lambda group: -len(group))
