"""Geometric verification: crops, mirrored copies and re-shot views are linked with their
region; unrelated pictures, shared screen furniture, text and repetitive textures are not."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from cairn.matching.local_features import MIN_INLIERS, REFUSALS, Features, score, verify
from cairn.media.features import image_features
from cairn.media.synthetic import synthetic_scene


def _features(image: Image.Image) -> Features:
    return Features.of(image_features(image, *image.size))


def test_a_crop_is_linked_with_its_region() -> None:
    scene = synthetic_scene(11, 480, 360)
    found, why = verify(_features(scene.crop((96, 72, 384, 288))), _features(scene))
    assert found is not None, why
    assert not found.mirrored and found.inliers >= MIN_INLIERS
    x, y, w, h = found.found_region
    assert 90 <= x <= 130 and 66 <= y <= 110 and 240 <= w <= 290 and 170 <= h <= 216
    assert found.score == round(score(found.inliers), 4) and 0.4 < found.score < 1


def test_a_mirrored_copy_is_linked_without_detecting_again() -> None:
    scene = synthetic_scene(12, 480, 360)
    mirrored = _features(ImageOps.mirror(scene))
    found, why = verify(mirrored, _features(scene))
    assert found is not None and found.mirrored, why
    x, _y, w, _h = found.query_region
    assert x >= 0 and x + w <= 480  # in the query's own (unflipped) pixels
    again = _features(scene).mirrored().mirrored()
    assert (again.descriptors == _features(scene).descriptors).all()


def test_a_reshot_scene_is_linked() -> None:
    """Another viewpoint (a perspective warp) under other light, with sensor noise."""
    scene = np.asarray(synthetic_scene(13, 480, 360))
    corners = np.float32([[0, 0], [480, 0], [480, 360], [0, 360]])
    moved = corners + np.float32([[30, 20], [-25, 10], [-20, -25], [35, -15]])
    warped = cv2.warpPerspective(scene, cv2.getPerspectiveTransform(corners, moved), (480, 360))
    rng = np.random.default_rng(0)
    lit = np.clip(warped * 0.75 + 30 + rng.normal(0, 4, warped.shape), 0, 255).astype(np.uint8)
    found, why = verify(_features(Image.fromarray(lit)), _features(Image.fromarray(scene)))
    assert found is not None and found.inliers >= MIN_INLIERS, why


def test_unrelated_scenes_are_not_linked() -> None:
    scenes = [_features(synthetic_scene(seed, 320, 240)) for seed in range(20, 26)]
    for i, a in enumerate(scenes):
        for b in scenes[i + 1 :]:
            assert verify(a, b)[0] is None


def _screen(content: Image.Image) -> Image.Image:
    """A phone screenshot: an app's bars with text and icons, a text block, a picture."""
    screen = Image.new("RGB", (360, 640), (250, 250, 250))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 360, 60), fill=(20, 80, 160))
    for i in range(4):
        draw.text((14 + 85 * i, 18), f"Menu{i}", fill=(255, 255, 255))
        draw.ellipse((24 + 85 * i, 38, 40 + 85 * i, 54), outline=(255, 255, 255), width=2)
    draw.rectangle((0, 575, 360, 640), fill=(40, 40, 40))
    for i in range(4):
        draw.rectangle((20 + 85 * i, 590, 60 + 85 * i, 626), outline=(200, 200, 200), width=3)
    for k in range(6):
        draw.text((12, 470 + 16 * k), "the quick brown fox jumps over 0123456789", fill=(0, 0, 0))
    screen.paste(content.resize((340, 255)), (10, 100))
    return screen


def test_screen_furniture_text_and_textures_do_not_link() -> None:
    a = _features(_screen(synthetic_scene(30, 320, 240)))
    b = _features(_screen(synthetic_scene(31, 320, 240)))
    found, why = verify(a, b)
    assert found is None and why  # the bars agree, the pictures do not
    framed, _why = verify(_features(_screen(synthetic_scene(30, 320, 240))), a)
    assert framed is not None  # the same picture in the same app: a link

    def bricks(seed: int, offset: int) -> Features:
        rng = np.random.default_rng(seed)
        wall = Image.new("RGB", (400, 300), (170, 170, 160))
        draw = ImageDraw.Draw(wall)
        for row in range(0, 300, 30):
            shift = offset + (30 if row // 30 % 2 else 0)
            for col in range(-60, 400, 60):
                colour = tuple(int(v) for v in rng.integers(120, 180, 3))
                draw.rectangle((col + shift, row, col + shift + 56, row + 26), fill=colour)
        return _features(wall)

    assert verify(bricks(1, 0), bricks(2, 17))[0] is None


def _text_page(words: list[str], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    page = Image.new("RGB", (640, 480), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    for k in range(22):
        line = " ".join(rng.choice(words, 9))
        draw.text((15, 10 + 21 * k), line, fill=(0, 0, 0), font=ImageFont.load_default(size=16))
    return page


def test_bad_input_is_not_linked_and_says_why() -> None:
    """Flat, dark, tiny and text-only pictures have no features: no link, and why."""
    scene = _features(synthetic_scene(40, 480, 360))
    words = ["alpha", "the", "report", "case", "and", "of", "delta", "photo", "image", "2024"]
    nothing = [
        Image.new("RGB", (480, 360), (128, 128, 128)),  # flat
        Image.new("RGB", (480, 360), (3, 3, 3)),  # dark
        synthetic_scene(41, 24, 24),  # tiny
        _text_page(words, 1),  # text only
    ]
    for picture in nothing:
        empty = _features(picture)
        assert len(empty) == 0
        assert verify(empty, scene) == (None, "too few features")
        assert verify(scene, empty) == (None, "too few features")
    assert verify(_features(_text_page(words, 1)), _features(_text_page(words, 2))) == (
        None,
        "too few features",
    )


def test_repetitive_textures_do_not_link() -> None:
    """Checkerboard floors: every tile's corner looks like every other's, so the ratio test
    leaves too few matches, and what is left fits no model with enough inliers spread over the
    picture, even between two copies (the mirrored try, a checkerboard too, comes nearest)."""

    def tiles(size: int, dark: int, light: int) -> Features:
        y, x = np.indices((360, 480)) // size
        return _features(Image.fromarray(np.where((x + y) % 2, dark, light).astype(np.uint8)))

    assert verify(tiles(24, 40, 200), tiles(31, 90, 250)) == (None, "too few matches")
    assert verify(tiles(40, 10, 120), tiles(44, 60, 220)) == (None, "too few matches")
    texture = REFUSALS[-1]
    assert verify(tiles(24, 40, 200), tiles(24, 45, 190)) == (None, texture)
    assert verify(tiles(24, 40, 200), tiles(24, 40, 200)) == (None, texture)


def test_an_implausible_model_is_refused() -> None:
    """The same features moved by a perspective no change of viewpoint gives: every match is
    an inlier of one homography, which no real copy has."""
    scene = _features(synthetic_scene(42, 480, 360))
    x, y = scene.points[:, 0].astype(np.float64), scene.points[:, 1].astype(np.float64)
    depth = 1 + 0.006 * x  # 1 at the left edge, 3.9 at the right: beyond the bar of 3
    steep = np.stack([x / depth, y / depth], axis=1).astype(np.float32)
    assert verify(scene, Features(480, 360, steep, scene.descriptors)) == (
        None,
        "degenerate model",
    )
    gentle = 1 + 0.002 * x  # at most 1.96: a plausible change of viewpoint
    tilted = np.stack([x / gentle, y / gentle], axis=1).astype(np.float32)
    verified, _why = verify(scene, Features(480, 360, tilted, scene.descriptors))
    assert verified is not None and verified.inliers >= 0.9 * len(scene)
