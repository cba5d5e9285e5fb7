"""The feature index: persisted, grown once per image, merged, trained on its own images, and
proposing the right candidates once it has visual words."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageOps

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
    other = FeatureIndex(tmp_path / "other")
    for seed in range(0, 12, 3):
        other.add([(_sha(s), _scene(s)) for s in range(seed, seed + 3)])
    assert other.vocabulary is not None
    assert np.array_equal(other.vocabulary, again.vocabulary)
