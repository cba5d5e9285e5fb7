from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cairn.camera.residual import (
    MIN_SIDE,
    Untestable,
    box_mean,
    image_residual,
    noise,
    plane_from_luma,
    read_plane,
    zero_mean,
)
from cairn.camera.synthetic import jpeg, scene


def test_box_mean_is_the_window_mean() -> None:
    values = np.arange(49, dtype=np.float32).reshape(7, 7)
    assert box_mean(values, 3)[3, 3] == pytest.approx(values[2:5, 2:5].mean())
    assert box_mean(values, 1).tolist() == values.tolist()


def test_zero_mean_clears_rows_columns_and_the_lattice() -> None:
    rng = np.random.default_rng(2)
    pattern = (
        rng.normal(0, 1, (32, 1)) + rng.normal(0, 1, (1, 40)) + np.tile([[3, -1], [2, 5]], (16, 20))
    )
    assert np.abs(zero_mean(pattern.astype(np.float32))).max() < 1e-4


def test_residual_keeps_a_multiplicative_pattern() -> None:
    rng = np.random.default_rng(3)
    pattern = rng.normal(0, 0.02, (256, 256)).astype(np.float32)
    luma = scene(4, 256, 256).mean(axis=2) * (1 + pattern)
    residual = noise(luma.astype(np.float32))
    assert residual.shape == (256, 256)
    assert np.corrcoef(residual.ravel(), (luma * pattern).ravel())[0, 1] > 0.3


def test_read_plane_decodes_luma_of_a_jpeg() -> None:
    data = jpeg(Image.fromarray(np.full((300, 400, 3), 120, np.uint8)), 90)
    plane = read_plane(data)
    assert plane.luma.shape == (300, 400)
    assert plane.usable.all()
    assert image_residual(plane).shape == (300, 400)


@pytest.mark.parametrize(
    ("luma", "reason"),
    [
        (np.full((MIN_SIDE - 1, 400), 120), "too small: 400x255, under 256 px on the short side"),
        (np.full((300, 300), 8), "too dark: mean level 8.0 under 20"),
        (np.full((300, 300), 255), "saturated: 100% of pixels at 250 or above"),
    ],
)
def test_unfit_images_are_untestable_with_the_reason(luma: np.ndarray, reason: str) -> None:
    with pytest.raises(Untestable) as caught:
        plane_from_luma(luma.astype(np.float32))
    assert str(caught.value) == reason
