from __future__ import annotations

import pytest

from cairn.camera.fingerprint import MIN_IMAGES, Fingerprint, FingerprintBuilder, TooFewImages
from cairn.camera.pce import THRESHOLD, FingerprintMatcher
from cairn.camera.residual import image_residual, read_plane

from .conftest import HEIGHT, WIDTH


def build(photos: dict[str, bytes]) -> Fingerprint[str]:
    builder: FingerprintBuilder[str] = FingerprintBuilder((HEIGHT, WIDTH))
    for key, data in photos.items():
        builder.add(key, read_plane(data))
    return builder.finish(lambda key: read_plane(photos[key]))


def test_a_fingerprint_identifies_its_camera(camera_photos: dict[int, list[bytes]]) -> None:
    references = {f"a{i}": data for i, data in enumerate(camera_photos[1][:MIN_IMAGES])}
    fingerprint = build(references)
    assert fingerprint.used == tuple(references)
    assert (fingerprint.inconsistent, fingerprint.groups) == ((), 1)
    matcher = FingerprintMatcher(fingerprint.values)
    for seed, photos in camera_photos.items():
        for data in photos[MIN_IMAGES:]:
            result = matcher.test(image_residual(read_plane(data)))
            # Camera 2 shares camera 1's model pattern: zero-meaning keeps it apart.
            assert result.matched is (seed == 1), (seed, result)


def test_too_few_images_are_refused(camera_photos: dict[int, list[bytes]]) -> None:
    with pytest.raises(
        TooFewImages, match=f"19 consistent reference images, at least {MIN_IMAGES}"
    ):
        build({str(i): data for i, data in enumerate(camera_photos[1][: MIN_IMAGES - 1])})


def test_an_image_of_another_camera_is_left_out_and_reported(
    camera_photos: dict[int, list[bytes]],
) -> None:
    references = {f"a{i}": data for i, data in enumerate(camera_photos[1][: MIN_IMAGES + 2])}
    references["stranger"] = camera_photos[3][0]
    fingerprint = build(references)
    assert fingerprint.inconsistent == ("stranger",)
    assert len(fingerprint.used) == MIN_IMAGES + 2


def test_mixed_cameras_are_refused_with_the_groups(camera_photos: dict[int, list[bytes]]) -> None:
    mixed = {f"a{i}": data for i, data in enumerate(camera_photos[1][:12])}
    mixed |= {f"b{i}": data for i, data in enumerate(camera_photos[2][:12])}
    with pytest.raises(
        TooFewImages, match=r"12 consistent .*\(2 groups of related images: mixed cameras\?\)"
    ):
        build(mixed)


def test_threshold_is_the_literatures() -> None:
    assert THRESHOLD == 60.0
