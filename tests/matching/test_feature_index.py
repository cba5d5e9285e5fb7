"""The feature index: persisted, grown once per image, merged, trained on its own images, and
proposing the right candidates once it has visual words."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
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


def _still(*seeds: int) -> list[tuple[str, None]]:
    """Index entries of pictures (not video keyframes)."""
    return [(_sha(seed), None) for seed in seeds]


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
    assert reopened.candidates(Features.of(_scene(9))) == sorted(_still(1, 2, 3))


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
    assert again.candidates(features, 3)[0] == (_sha(5), None)
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
    assert (_sha(5), None) in index.candidates(query, 4)
    # The first vote alone ranks the app's other screenshots first.
    monkeypatch.setattr(feature_index, "EXPLAINED_BY", 99)
    assert (_sha(5), None) not in index.candidates(query, 4)


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
    assert old.candidates(Features.of(_scene(2))) == sorted(_still(*range(5)))
    assert old.train_if_due()
    assert json.loads((folder / "manifest.json").read_text())["version"] == 3
    assert FeatureIndex(folder).candidates(Features.of(_scene(2)), 1) == _still(2)


def test_version_2_keeps_its_words_and_its_pictures_stay_pictures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feature_index, "TRAIN_IMAGES", 4)
    monkeypatch.setattr(feature_index, "MIN_WORDS", 64)
    folder = tmp_path / "features"
    index = FeatureIndex(folder)
    index.add([(_sha(s), _scene(s)) for s in range(6)])
    assert index.train_if_due()
    before = index.candidates(Features.of(_scene(2)), 3)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "version": 2}))
    for times in folder.glob("seg-*/times.npy"):  # version 2 had no times
        times.unlink()
    old = FeatureIndex(folder)
    assert old.vocabulary is not None and len(old.vocabulary) == len(index.vocabulary or ())
    assert old.entries() == _still(*sorted(range(6), key=_sha))
    assert old.candidates(Features.of(_scene(2)), 3) == before
    assert old.add([(_sha(9), _scene(9))]) == [_sha(9)]
    assert len(FeatureIndex(folder)) == 7


def _keyframe(seed: int, time: float) -> LocalFeatures:
    return replace(_scene(seed), time=time)


def test_video_keyframes_are_entries_of_one_item(tmp_path: Path) -> None:
    """A video's keyframes are entries of its SHA-256: found once, at the keyframe that
    verified best, excluded together, and added once each."""
    video = _sha(100)
    index = FeatureIndex(tmp_path / "features")
    added = index.add(
        [(video, _keyframe(3, 0.0)), (video, _keyframe(4, 12.5)), (_sha(4), _scene(4))]
    )
    assert added == [video, _sha(4)]
    assert index.add([(video, _keyframe(4, 12.5)), (video, _keyframe(5, 30.0))]) == [video]
    assert len(index) == 4 and video in index and _sha(3) not in index
    assert index.times(video) == [0.0, 12.5, 30.0] and index.times(_sha(4)) == [None]
    frame = index.features(video, 12.5)
    assert (frame.descriptors == Features.of(_scene(4)).descriptors).all()
    with pytest.raises(KeyError):
        index.features(video)  # no picture entry: only keyframes
    # A crop of scene 4 verifies against the picture and the video's 12.5 s keyframe only.
    crop = synthetic_scene(4, 320, 240).crop((20, 10, 300, 230))
    query = Features.of(image_features(crop, *crop.size))
    found = index.search(query)
    assert sorted((f.sha256, f.time) for f in found) == sorted([(video, 12.5), (_sha(4), None)])
    assert [(f.sha256, f.time) for f in index.search(query, exclude=[video])] == [(_sha(4), None)]
    reopened = FeatureIndex(tmp_path / "features")
    assert reopened.entries() == sorted(
        [(video, 0.0), (video, 12.5), (video, 30.0), (_sha(4), None)]
    )
