"""The vocabulary tree: the same descriptors give the same words, a word is the nearest fine
centroid of the nearest coarse cell, and it survives a save and a load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cairn.matching.local_features import Features, root_sift
from cairn.matching.visual_words import Vocabulary, train
from cairn.media.features import image_features
from cairn.media.synthetic import synthetic_scene


def _descriptors() -> np.ndarray:
    parts = []
    for seed in range(6):
        scene = synthetic_scene(seed, 320, 240)
        parts.append(Features.of(image_features(scene, *scene.size)).descriptors)
    return np.concatenate(parts)


def test_trained_the_same_and_words_are_nearest(tmp_path: Path) -> None:
    descriptors = _descriptors()
    vocabulary = train(descriptors, 128)
    assert len(vocabulary) == 128 and vocabulary.coarse.shape == (8, 128)
    again = train(descriptors, 128)
    assert np.array_equal(vocabulary.fine, again.fine)
    words = vocabulary.words(descriptors)
    assert np.array_equal(words, again.words(descriptors))
    # Each word: the nearest coarse cell, then the nearest of that cell's words.
    points = root_sift(descriptors)
    cells = np.argmin(((points[:, None] - vocabulary.coarse[None]) ** 2).sum(axis=2), axis=1)
    fine = vocabulary.fine[cells]
    nearest = np.argmin(((points[:, None] - fine) ** 2).sum(axis=2), axis=1)
    assert np.array_equal(words, cells * 16 + nearest)
    vocabulary.save(tmp_path)
    loaded = Vocabulary.load(tmp_path)
    assert np.array_equal(loaded.words(descriptors), words)


def test_a_sparse_cell_has_fewer_words() -> None:
    descriptors = _descriptors()[:40]
    vocabulary = train(descriptors, 256)  # 16 cells of 16 words, from 40 descriptors
    used = np.unique(vocabulary.words(descriptors))
    assert len(used) < 256
    # Unused slots are far from every descriptor: never a word.
    unused = np.all(vocabulary.fine == 1e3, axis=2)
    assert unused.any() and not np.isin(np.flatnonzero(unused.ravel()), used).any()
