"""Small synthetic cameras shared by the camera tests (320x256 frames keep them fast)."""

from __future__ import annotations

import pytest

from cairn.camera.fingerprint import MIN_IMAGES
from cairn.camera.synthetic import SyntheticCamera

WIDTH, HEIGHT = 320, 256


def small_camera(seed: int, model: int = 0) -> SyntheticCamera:
    return SyntheticCamera(seed=seed, model=model, width=WIDTH, height=HEIGHT)


def shots(camera: SyntheticCamera, count: int, first: int = 0) -> list[bytes]:
    pattern = camera.pattern()
    return [camera.photo(1000 * camera.seed + first + shot, pattern) for shot in range(count)]


@pytest.fixture(scope="session")
def camera_photos() -> dict[int, list[bytes]]:
    """Cameras 1 and 2 share a model (they differ in their own pattern only), 3 is another
    model: MIN_IMAGES reference shots then 4 others each."""
    return {seed: shots(small_camera(seed, model=seed // 3), MIN_IMAGES + 4) for seed in (1, 2, 3)}
