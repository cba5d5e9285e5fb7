from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cairn.camera.pce import FingerprintMatcher, NoTransform, Transform, pce
from cairn.camera.residual import image_residual, read_plane
from cairn.camera.synthetic import SyntheticCamera, jpeg


def test_pce_of_a_peak_at_the_origin() -> None:
    correlation = np.random.default_rng(5).normal(0, 1, (64, 64)).astype(np.float32)
    correlation[0, 0] = 40.0
    value, shift = pce(correlation)
    assert shift == (0, 0)
    assert value == pytest.approx(1600 / np.mean(np.square(correlation[6:-5, 6:-5])), rel=0.1)


def test_pce_finds_a_small_shift_and_keeps_the_sign() -> None:
    correlation = np.zeros((64, 64), np.float32) + np.random.default_rng(6).normal(
        0, 1, (64, 64)
    ).astype(np.float32)
    correlation[-3, 2] = -50.0
    value, shift = pce(correlation)
    assert shift == (-3, 2)
    assert value < -1000


def test_transform_text() -> None:
    assert str(Transform(0.5, 90)) == "scale=0.5,rot=90"
    assert str(Transform(1.0, 0)) == "scale=1,rot=0"


def test_candidates_cover_rotations_and_downscales() -> None:
    matcher = FingerprintMatcher(np.zeros((300, 400), np.float32))
    assert matcher.candidates((300, 400)) == [Transform(1.0, 0), Transform(1.0, 180)]
    assert matcher.candidates((400, 300)) == [Transform(1.0, 90), Transform(1.0, 270)]
    assert matcher.candidates((150, 200)) == [Transform(0.5, 0), Transform(0.5, 180)]
    assert matcher.candidates((300, 300)) == []
    with pytest.raises(
        NoTransform, match="300x300 is no rotation or downscale of the camera's 400x300"
    ):
        matcher.test(np.zeros((300, 300), np.float32))


def _turned(data: bytes, quarter: int, scale: float) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
    if scale != 1:
        rgb = rgb.resize(
            (round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.LANCZOS
        )
    return jpeg(rgb.rotate(-90 * quarter, expand=True), 85)  # PIL turns counter-clockwise


@pytest.mark.parametrize(
    ("quarter", "scale", "text"),
    [
        (0, 1.0, "scale=1,rot=0"),
        (1, 1.0, "scale=1,rot=90"),
        (3, 0.8, "scale=0.8,rot=270"),
        (2, 0.8, "scale=0.8,rot=180"),
    ],
)
def test_a_turned_and_downscaled_copy_is_found_with_its_transform(
    quarter: int, scale: float, text: str
) -> None:
    camera = SyntheticCamera(seed=9, model=0, width=400, height=320, prnu=0.03)
    pattern = camera.pattern()
    matcher = FingerprintMatcher(pattern)  # the true pattern stands in for an estimate
    result = matcher.test(
        image_residual(read_plane(_turned(camera.photo(1, pattern), quarter, scale)))
    )
    assert str(result.transform) == text
    assert result.matched
    assert result.shift == (0, 0)
