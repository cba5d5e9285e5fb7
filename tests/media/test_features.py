"""Local features of decoded images: bounded, deterministic, positions in stored pixels, and
a reason instead of features for pictures that have none."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cairn.core.settings import AnalysisSettings
from cairn.media.features import MAX_FEATURES, MAX_SIDE, grey_features, image_features
from cairn.media.image import analyse_image, region_features
from cairn.media.sniff import sniff
from cairn.media.synthetic import jpeg_bytes, synthetic_scene


def test_features_are_bounded_deterministic_and_in_stored_pixels() -> None:
    scene = synthetic_scene(1, 1200, 900)
    features = image_features(scene, *scene.size)
    again = image_features(scene, *scene.size)
    assert features == again
    assert 50 <= features.count <= MAX_FEATURES
    points = np.frombuffer(features.points, np.float32).reshape(-1, 2)
    assert points[:, 0].max() > MAX_SIDE  # scaled back from the bounded view
    assert (points >= 0).all() and (points[:, 0] < 1200).all() and (points[:, 1] < 900).all()
    assert len(features.descriptors) == 128 * features.count


@pytest.mark.parametrize(
    ("pixels", "reason"),
    [
        (np.full((300, 400), 128, np.uint8), "flat"),
        (np.zeros((20, 20), np.uint8), "too small"),
        (np.tile(np.linspace(0, 255, 400, dtype=np.uint8), (300, 1)), "too few features"),
    ],
)
def test_pictures_without_features_say_why(pixels: np.ndarray, reason: str) -> None:
    features = grey_features(pixels, pixels.shape[1], pixels.shape[0])
    assert (features.count, features.reason) == (0, reason)


def test_ingest_analysis_keeps_features_unless_turned_off() -> None:
    data = jpeg_bytes(synthetic_scene(2, 400, 300))
    info, errors = analyse_image(data, sniff(data), AnalysisSettings())
    assert errors == [] and info is not None and info.features is not None
    assert info.features.count > 20 and (info.features.width, info.features.height) == (400, 300)
    info, _errors = analyse_image(data, sniff(data), AnalysisSettings(local_features=False))
    assert info is not None and info.features is None


def test_region_features_refuse_bad_input() -> None:
    data = jpeg_bytes(synthetic_scene(2, 400, 300))
    inner = region_features(data, (100, 50, 200, 200), AnalysisSettings())
    assert (inner.width, inner.height) == (200, 200) and inner.count > 0
    with pytest.raises(ValueError, match="not inside"):
        region_features(data, (300, 0, 200, 100), AnalysisSettings())
    with pytest.raises(ValueError, match="not an image"):
        region_features(b"hello", None, AnalysisSettings())
    with pytest.raises(ValueError, match="exceeds the limit"):
        region_features(data, None, AnalysisSettings(max_image_pixels=1000))
    png = io.BytesIO()
    Image.new("RGB", (64, 64)).save(png, "PNG")
    with pytest.raises(ValueError, match="undecodable"):
        region_features(png.getvalue()[:60], None, AnalysisSettings())
