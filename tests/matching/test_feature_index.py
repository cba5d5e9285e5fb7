"""The feature index: persisted, grown once per image, merged, trained on its own images, and
proposing the right candidates once it has visual words."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from cairn.core.records import LocalFeatures
from cairn.matching import feature_index
from cairn.matching.feature_index import FeatureIndex
from cairn.matching.local_features import Features
from cairn.media.features import image_features
from cairn.media.synthetic import synthetic_scene


def _sha(seed: int) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()


def _scene(seed: int) -> LocalFeatures:
    scene = synthetic_scene(seed, 320, 240)
    return image_features(scene, *scene.size)


def test_added_once_persisted_and_merged(tmp_path: Path) -> None:
    index = FeatureIndex(tmp_path / "features")
    assert index.add([(_sha(1), _scene(1)), (_sha(2), _scene(2))]) == [_sha(1), _sha(2)]
    none = LocalFeatures(10, 10, 0, reason="flat")
    assert index.add([(_sha(1), _scene(1)), (_sha(3), _scene(3)), (_sha(4), none)]) == [_sha(3)]
    reopened = FeatureIndex(tmp_path / "features")
    assert len(reopened) == 3 and _sha(4) not in reopened
    stored = reopened.features(_sha(2))
    assert (stored.descriptors == Features.of(_scene(2)).descriptors).all()
    assert (stored.width, stored.height) == (320, 240)
    segments = [p for p in (tmp_path / "features").iterdir() if p.name.startswith("seg-")]
    assert len(segments) == 1  # the small second segment merged into the first
    assert reopened.candidates(Features.of(_scene(9))) == sorted([_sha(1), _sha(2), _sha(3)])


def test_vocabulary_trained_then_candidates_ranked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feature_index, "TRAIN_IMAGES", 8)
    monkeypatch.setattr(feature_index, "MIN_WORDS", 64)
    monkeypatch.setattr(feature_index, "POINTS_PER_WORD", 8)
    index = FeatureIndex(tmp_path / "features")
    for seed in range(0, 12, 3):
        index.add([(_sha(s), _scene(s)) for s in range(seed, seed + 3)])
    assert index.vocabulary is None  # words are trained when an ingest ends, not per batch
    assert index.train_if_due() and not index.train_if_due()
    assert index.vocabulary is not None and len(index.vocabulary) >= 64
    words = len(index.vocabulary)
    again = FeatureIndex(tmp_path / "features")
    assert again.vocabulary is not None and len(again.vocabulary) == words
    # A mirrored crop of scene 5 ranks scene 5 first, and verifies against it only.
    query = synthetic_scene(5, 320, 240).crop((30, 20, 290, 220))
    features = Features.of(image_features(ImageOps.mirror(query), *query.size))
    assert again.candidates(features, 3)[0] == _sha(5)
    assert [f.sha256 for f in again.search(features)] == [_sha(5)]
    assert again.search(features, exclude=[_sha(5)]) == []
    # Training again from the same images gives the same words.
    # Training again from the same images, brought in other batches, gives the same words
    # and the same candidates.
    other = FeatureIndex(tmp_path / "other")
    other.add([(_sha(s), _scene(s)) for s in range(11, 4, -1)])
    other.add([(_sha(s), _scene(s)) for s in range(5)])
    assert other.train_if_due() and other.vocabulary is not None
    assert np.array_equal(other.vocabulary.coarse, again.vocabulary.coarse)
    assert np.array_equal(other.vocabulary.fine, again.vocabulary.fine)
    assert other.candidates(features, 12) == again.candidates(features, 12)


def _screenshot(seed: int) -> LocalFeatures:
    """Scene `seed` framed small in an app's screen: a bar of icons above, buttons below."""
    screen = Image.new("RGB", (360, 640), (248, 248, 248))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 360, 56), fill=(25, 90, 170))
    for k in range(5):  # the bar's icons
        x = 20 + 70 * k
        draw.ellipse((x, 12, x + 30, 42), outline=(255, 255, 255), width=3)
        draw.polygon([(x + 8, 34), (x + 15, 18), (x + 22, 34)], fill=(255, 200, 0))
    screen.paste(synthetic_scene(seed, 320, 240).resize((200, 150)), (80, 100))
    for row in range(3):  # buttons and avatars under the picture
        for col in range(4):
            x, y = 20 + 85 * col, 300 + 100 * row
            draw.rounded_rectangle((x, y, x + 60, y + 60), 12, fill=(60 * col, 120, 200 - 50 * row))
            draw.ellipse((x + 15, y + 15, x + 45, y + 45), fill=(250, 250, 250))
            draw.rectangle((x + 25, y + 25, x + 35, y + 35), fill=(20, 20, 20))
    return image_features(screen, *screen.size)


def test_picture_framed_in_a_screenshot_is_a_candidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feature_index, "TRAIN_IMAGES", 8)
    monkeypatch.setattr(feature_index, "MIN_WORDS", 1024)
    index = FeatureIndex(tmp_path / "features")
    index.add([(_sha(s), _scene(s)) for s in range(12)])
    index.add([(_sha(s), _screenshot(s)) for s in range(100, 112)])  # the app, other pictures
    assert index.train_if_due()
    query = Features.of(_screenshot(5))
    assert _sha(5) in index.candidates(query, 4)
    # The first vote alone ranks the app's other screenshots first.
    monkeypatch.setattr(feature_index, "EXPLAINED_BY", 99)
    assert _sha(5) not in index.candidates(query, 4)


def test_version_1_keeps_its_features_and_gets_new_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feature_index, "TRAIN_IMAGES", 4)
    folder = tmp_path / "features"
    FeatureIndex(folder).add([(_sha(s), _scene(s)) for s in range(5)])
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(version=1, vocabulary="vocabulary.npy", words=4096, trained_on=1000)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    old = FeatureIndex(folder)
    assert old.vocabulary is None and len(old) == 5
    assert old.candidates(Features.of(_scene(2))) == sorted(_sha(s) for s in range(5))
    assert old.train_if_due()
    assert json.loads((folder / "manifest.json").read_text())["version"] == 2
    assert FeatureIndex(folder).candidates(Features.of(_scene(2)), 1) == [_sha(2)]
