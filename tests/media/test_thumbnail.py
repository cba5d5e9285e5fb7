"""Review thumbnails: sealed with AES-256-GCM, small, upright, keys kept private."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cairn.media.synthetic import synthetic_image
from cairn.media.thumbnail import (
    KEY_BYTES,
    NONCE_BYTES,
    ThumbnailError,
    bind,
    load_or_create_key,
    make_thumbnail,
    new_key,
    open_thumbnail,
    protected,
    rebind_legacy,
    render_jpeg,
)

JFIF_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF"  # what every Pillow JPEG starts with


def _decoded(jpeg: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(jpeg))
    img.load()
    return img


def test_round_trip() -> None:
    key = new_key()
    blob = make_thumbnail(synthetic_image(1, 640, 480), key)
    jpeg = open_thumbnail(blob, key)
    assert jpeg.startswith(JFIF_HEAD)
    img = _decoded(jpeg)
    assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (160, 120))
    assert len(blob) == NONCE_BYTES + len(jpeg) + 16  # nonce, ciphertext, GCM tag


def _detail(img: Image.Image) -> float:
    """Mean absolute difference between horizontal neighbours: what a blur takes away."""
    grey = np.asarray(img.convert("L"), np.float64)
    return float(np.abs(np.diff(grey, axis=1)).mean())


def test_protected_view_is_grey_and_blurred() -> None:
    # Fine detail (a chequerboard of 2-pixel squares at thumbnail size, as text would be) is
    # what the protected view must not show.
    squares = (np.indices((480, 640)).sum(axis=0) // 8 % 2 * 255).astype(np.uint8)
    clear = render_jpeg(Image.fromarray(squares).convert("RGB"))
    shown = protected(clear)
    img = _decoded(shown)
    assert (img.format, img.mode, img.size) == ("JPEG", "L", (160, 120))
    assert not img.getexif()
    assert _detail(img) * 100 < _detail(_decoded(clear))  # measured: 94 against 0.01
    assert protected(clear) == shown  # deterministic: a report can be checked against it


def test_ciphertext_shows_no_jpeg() -> None:
    key = new_key()
    blob = make_thumbnail(synthetic_image(2, 640, 480), key)
    assert JFIF_HEAD not in blob
    assert not blob[NONCE_BYTES:].startswith(b"\xff\xd8")
    # A fresh nonce each time: sealing the same picture twice gives unrelated blobs.
    assert make_thumbnail(synthetic_image(2, 640, 480), key)[:NONCE_BYTES] != blob[:NONCE_BYTES]


def test_wrong_key_or_altered_blob_fails() -> None:
    key = new_key()
    blob = make_thumbnail(synthetic_image(3, 320, 240), key)
    with pytest.raises(ThumbnailError, match="does not open with this key"):
        open_thumbnail(blob, new_key())
    altered = bytearray(blob)
    altered[-20] ^= 1
    with pytest.raises(ThumbnailError, match="does not open with this key"):
        open_thumbnail(bytes(altered), key)
    with pytest.raises(ThumbnailError, match="does not open with this key"):
        open_thumbnail(blob[:5], key)
    with pytest.raises(ThumbnailError, match="a thumbnail key is 32 bytes"):
        open_thumbnail(blob, key[:16])


@pytest.mark.parametrize(
    ("size", "orientation", "expected"),
    [
        ((640, 480), 1, (160, 120)),
        ((480, 640), 1, (120, 160)),
        ((640, 480), 6, (120, 160)),  # stored landscape, shown portrait
        ((640, 480), 8, (120, 160)),
        ((640, 480), 3, (160, 120)),
        ((100, 50), 1, (100, 50)),  # never enlarged
        ((4000, 10), 1, (160, 1)),
    ],
)
def test_size_and_orientation(
    size: tuple[int, int], orientation: int, expected: tuple[int, int]
) -> None:
    img = synthetic_image(4, 640, 480).resize(size)
    assert _decoded(render_jpeg(img, orientation)).size == expected


def test_orientation_turns_the_picture_upright() -> None:
    # Left half white, right half black, stored as if the camera was turned (Orientation 6:
    # rotate 90° clockwise to view): upright, the white half is on top.
    img = Image.new("L", (320, 240), 0)
    img.paste(255, (0, 0, 160, 240))
    upright = _decoded(render_jpeg(img, 6))
    assert upright.size == (120, 160)
    assert (upright.getpixel((60, 20)), upright.getpixel((60, 140))) == (255, 0)


@pytest.mark.parametrize("mode", ["P", "RGBA", "LA", "I;16", "CMYK", "YCbCr", "1", "F"])
def test_any_mode_becomes_a_jpeg(mode: str) -> None:
    img = synthetic_image(5, 320, 240).convert("L" if mode in ("I;16", "F", "1") else "RGB")
    img = img.convert(mode)
    out = _decoded(render_jpeg(img))
    assert out.format == "JPEG" and out.mode in ("L", "RGB") and out.size == (160, 120)


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "thumbnail.key"
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        key = load_or_create_key(path)
    finally:
        os.umask(old_umask)
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == key
    assert load_or_create_key(path) == key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thumbnail.key"]  # no temporary left


def test_key_file_race_keeps_the_first_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process creates the key between our look and our link: we must adopt its key.
    path = tmp_path / "thumbnail.key"
    theirs = new_key()
    real_link = os.link

    def link_after_rival(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        path.write_bytes(theirs)
        path.chmod(0o600)
        real_link(src, dst)

    monkeypatch.setattr(os, "link", link_after_rival)
    assert load_or_create_key(path) == theirs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thumbnail.key"]


def test_broken_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "thumbnail.key"
    path.write_bytes(b"short")
    with pytest.raises(ThumbnailError, match="is not 32 bytes"):
        load_or_create_key(path)
    path.write_bytes(new_key() + b"x")
    with pytest.raises(ThumbnailError, match="is not 32 bytes"):
        load_or_create_key(path)


def test_open_key_file_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "thumbnail.key"
    key = new_key()
    path.write_bytes(key)
    path.chmod(0o644)
    assert load_or_create_key(path) == key
    assert [r.getMessage() for r in caplog.records] == [
        f"thumbnail key file {path} is open to other users; expected mode 0600"
    ]
    assert key.hex() not in caplog.text


def test_a_stored_thumbnail_opens_only_for_its_own_media() -> None:
    key = new_key()
    first, second = "ab" * 32, "cd" * 32
    in_transit = make_thumbnail(synthetic_image(4, 320, 240), key)
    bound = bind(in_transit, key, first)
    assert open_thumbnail(bound, key, first) == open_thumbnail(in_transit, key)
    assert open_thumbnail(bound, key, first.upper()) == open_thumbnail(in_transit, key)
    for wrong in (second, None):  # moved onto another item, or taken for one in transit
        with pytest.raises(ThumbnailError, match="does not open"):
            open_thumbnail(bound, key, wrong)
    with pytest.raises(ThumbnailError, match="does not open"):
        open_thumbnail(in_transit, key, first)  # never bound: not a stored thumbnail
    sealed = make_thumbnail(synthetic_image(4, 320, 240), key, sha256=second)
    assert _decoded(open_thumbnail(sealed, key, second)).size == (160, 120)


def test_only_thumbnails_stored_before_binding_are_rebound() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = new_key()
    jpeg = render_jpeg(synthetic_image(5, 320, 240))
    nonce = os.urandom(NONCE_BYTES)
    legacy = nonce + AESGCM(key).encrypt(nonce, jpeg, b"cairn review thumbnail v1")
    rebound = rebind_legacy(legacy, key, "ef" * 32)
    assert rebound is not None and open_thumbnail(rebound, key, "ef" * 32) == jpeg
    assert rebind_legacy(rebound, key, "ef" * 32) is None  # already bound
    assert rebind_legacy(legacy, new_key(), "ef" * 32) is None  # another workspace's key
