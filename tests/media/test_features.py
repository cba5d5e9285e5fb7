"""Local features of decoded images: bounded, deterministic, positions in stored pixels, and
a reason instead of features for pictures that have none."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from cairn.core.settings import AnalysisSettings
from cairn.media.features import (
    MAX_FEATURES,
    MAX_SIDE,
    grey_features,
    image_features,
    text_lines,
)
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
        (np.random.default_rng(1).integers(0, 3, (300, 400)).astype(np.uint8), "flat"),  # dark
        (np.full((4000, 20), 90, np.uint8), "too small"),  # a strip
    ],
)
def test_pictures_without_features_say_why(pixels: np.ndarray, reason: str) -> None:
    features = grey_features(pixels, pixels.shape[1], pixels.shape[0])
    assert (features.count, features.reason) == (0, reason)


def _page() -> np.ndarray:
    """A page of text: black lines on white, nothing else."""
    page = Image.new("L", (640, 480), 255)
    draw = ImageDraw.Draw(page)
    for k in range(20):
        line = "the report of the case and the photo 2024 alpha"
        draw.text((15, 10 + 22 * k), line, fill=0, font=ImageFont.load_default(size=16))
    return np.asarray(page)


def test_text_is_not_a_feature() -> None:
    """Glyphs are the same in every page and screenshot: text only has no features."""
    page = _page()
    assert 0.5 < text_lines(page).mean() < 0.6  # the lines, padded; not the margins
    assert (grey_features(page, 640, 480).count, grey_features(page, 640, 480).reason) == (
        0,
        "too few features",
    )
    scene = np.asarray(synthetic_scene(3, 512, 384).convert("L"))
    assert not text_lines(scene).any()  # shapes, lines and edges are not text
    framed = scene.copy()
    framed[300:, :] = _page()[:84, :512]  # four lines of text under the picture
    points = np.frombuffer(grey_features(framed, 512, 384).points, np.float32).reshape(-1, 2)
    assert (points[:, 1] < 302).all()  # the picture's edge, but nothing on the text


def test_features_spread_over_the_picture() -> None:
    """A busy strip does not take the budget: a crop without it keeps enough to match."""
    scene = np.asarray(synthetic_scene(3, 512, 384).convert("L")).copy()
    scene[:, :128] = np.random.default_rng(0).integers(0, 256, (384, 128))
    features = grey_features(scene, 512, 384)
    points = np.frombuffer(features.points, np.float32).reshape(-1, 2)
    assert features.count == MAX_FEATURES
    assert (points[:, 0] >= 128).sum() >= 130  # the strongest by response alone: 85


def test_huge_pictures_cost_what_a_small_one_does() -> None:
    """A huge stored size is seen through the bounded view; positions in stored pixels."""
    view = np.asarray(synthetic_scene(4, MAX_SIDE, 384).convert("L"))
    features = grey_features(view, 40_000, 30_000)
    points = np.frombuffer(features.points, np.float32).reshape(-1, 2)
    assert features.count == MAX_FEATURES and (features.width, features.height) == (40_000, 30_000)
    assert points[:, 0].max() > 30_000 and points[:, 1].max() < 30_000


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
