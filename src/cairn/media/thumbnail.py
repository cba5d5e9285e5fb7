"""Review thumbnails: small, made in memory, encrypted at rest (docs/formats.md).

A thumbnail is derived material as sensitive as the evidence, so the JPEG exists only in
memory and leaves this module sealed with AES-256-GCM under the workspace key. The key file
is created once per workspace, mode 0600, and its bytes are never logged. Pillow and
cryptography are imported inside the functions: the review side imports this module only to
open thumbnails.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.core.errors import CairnError

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 160  # enough to recognise a scene in a review grid
KEY_BYTES = 32  # AES-256
# GCM's standard nonce, random per thumbnail: collisions stay negligible (about n²/2⁹⁷) for
# any number of thumbnails a workspace will hold.
NONCE_BYTES = 12
# Binds a blob to its purpose, so a sealed thumbnail cannot pass for another sealed artefact.
_ASSOCIATED_DATA = b"cairn review thumbnail v1"
_JPEG_QUALITY = 80
# EXIF Orientation → the PIL transpose that shows the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}
# Modes Pillow resizes with a real filter; others (palette, 16-bit) are converted first.
_RESIZABLE_MODES = ("L", "RGB", "YCbCr", "RGBA", "LA", "CMYK")


class ThumbnailError(CairnError):
    """A thumbnail cannot be opened (wrong key, altered blob) or a key file is unusable."""


def render_jpeg(img: Image, orientation: int = 1) -> bytes:
    """JPEG bytes of `img` shrunk to fit THUMBNAIL_SIDE and turned upright for the reviewer.

    Only the thumbnail is turned: hashes are always of the pixels as stored.
    """
    from PIL import Image as PILImage

    width, height = img.size
    scale = min(1.0, THUMBNAIL_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if img.mode not in _RESIZABLE_MODES:
        img = img.convert("RGB")
    # reducing_gap: box-reduce by a whole factor first, which is what makes this cheap on
    # a 12 MP image; the result is for eyes, not for hashing.
    small = img.resize(size, PILImage.Resampling.BILINEAR, reducing_gap=2.0)
    if small.mode not in ("L", "RGB"):
        small = small.convert("RGB")
    if orientation in _UPRIGHT:
        small = small.transpose(PILImage.Transpose[_UPRIGHT[orientation]])
    out = io.BytesIO()
    small.save(out, "JPEG", quality=_JPEG_QUALITY)  # no EXIF or ICC is carried over
    return out.getvalue()


def seal(plaintext: bytes, key: bytes) -> bytes:
    """nonce || AES-256-GCM ciphertext and tag."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, _ASSOCIATED_DATA)


def make_thumbnail(img: Image, key: bytes, *, orientation: int = 1) -> bytes:
    """The sealed review thumbnail of a decoded image."""
    return seal(render_jpeg(img, orientation), key)


def open_thumbnail(blob: bytes, key: bytes) -> bytes:
    """The JPEG bytes inside a sealed thumbnail; ThumbnailError if the key or blob is wrong."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(key) != KEY_BYTES:
        raise ThumbnailError(f"a thumbnail key is {KEY_BYTES} bytes")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _ASSOCIATED_DATA)
    except (InvalidTag, ValueError) as exc:
        raise ThumbnailError("thumbnail does not open with this key (or was altered)") from exc


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def load_or_create_key(path: Path) -> bytes:
    """The workspace's thumbnail key, created on first use.

    Creation writes a 0600 temporary file beside the key and hard-links it into place:
    link() fails if the key appeared meanwhile, so two processes starting together agree on
    one key instead of one silently replacing the other's (which would make every thumbnail
    sealed under the lost key unreadable).
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, new_key())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process won the race: its key is the workspace's key
    finally:
        temporary.unlink()
    _sync_directory(path.parent)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    with open(fd, "rb") as stream:
        if os.fstat(stream.fileno()).st_mode & 0o077:
            log.warning("thumbnail key file %s is open to other users; expected mode 0600", path)
        key = stream.read(KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise ThumbnailError(f"thumbnail key file {path} is not {KEY_BYTES} bytes")
    return key


def _sync_directory(directory: Path) -> None:
    """Make the new directory entry durable, so a crash cannot lose a key already in use."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
