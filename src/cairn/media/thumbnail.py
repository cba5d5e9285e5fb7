"""Review thumbnails: small, made in memory, encrypted at rest (docs/formats.md).

A thumbnail is derived material as sensitive as the evidence, so the JPEG exists only in
memory and leaves this module sealed with AES-256-GCM under the workspace key. The key file
is created once per workspace, mode 0600, and its bytes are never logged.

A stored thumbnail is bound to its media's SHA-256 (the associated data), so someone who can
write the database but has no key cannot move one item's thumbnail onto another: it would
no longer open. The analysers seal "in transit" (they run before the digests are final) and
the analysis step binds the blob once the SHA-256 is known (`bind`). Pillow and
cryptography are imported inside the functions: the review side imports this module only to
open thumbnails.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.core import keys
from cairn.core.errors import CairnError
from cairn.core.keys import KEY_BYTES as KEY_BYTES
from cairn.core.keys import new_key as new_key  # the thumbnail key is one of core.keys

if TYPE_CHECKING:
    from PIL.Image import Image

THUMBNAIL_SIDE = 160  # enough to recognise a scene in a review grid
# Protected view: at 160 px a radius of 6 keeps layout and tones (enough to tell a scene, a
# screenshot or a document apart) and removes faces, text and detail.
PROTECTED_BLUR_RADIUS = 6.0
# GCM's standard nonce, random per thumbnail: collisions stay negligible (about n²/2⁹⁷) for
# any number of thumbnails a workspace will hold.
NONCE_BYTES = 12
# Associated data: a blob opens only for its purpose, and a stored one only for its media.
_IN_TRANSIT = b"cairn review thumbnail in transit"  # sealed by an analyser, not yet bound
_LEGACY = b"cairn review thumbnail v1"  # stored before thumbnails were bound (rebind_legacy)
_BOUND = b"cairn review thumbnail v2 "  # + the media's SHA-256 in hex
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


def protected(jpeg: bytes) -> bytes:
    """A thumbnail as it may be shown unrevealed: greyscale, blurred, re-encoded as JPEG (no
    metadata). Reports for internal review embed only these; a clear thumbnail never leaves
    the server before a reviewer reveals the item."""
    from PIL import Image as PILImage
    from PIL import ImageFilter

    with PILImage.open(io.BytesIO(jpeg)) as img:
        grey = img.convert("L")
    blurred = grey.filter(ImageFilter.GaussianBlur(PROTECTED_BLUR_RADIUS))
    out = io.BytesIO()
    blurred.save(out, "JPEG", quality=_JPEG_QUALITY)
    return out.getvalue()


def _associated_data(sha256: str | None) -> bytes:
    return _IN_TRANSIT if sha256 is None else _BOUND + sha256.lower().encode("ascii")


def seal(plaintext: bytes, key: bytes, sha256: str | None = None) -> bytes:
    """nonce || AES-256-GCM ciphertext and tag; bound to `sha256`, or in transit without it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, _associated_data(sha256))


def make_thumbnail(
    img: Image, key: bytes, *, orientation: int = 1, sha256: str | None = None
) -> bytes:
    """The sealed review thumbnail of a decoded image (bound to `sha256` when given)."""
    return seal(render_jpeg(img, orientation), key, sha256)


def _open(blob: bytes, key: bytes, associated_data: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(key) != KEY_BYTES:
        raise ThumbnailError(f"a thumbnail key is {KEY_BYTES} bytes")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data)
    except (InvalidTag, ValueError) as exc:
        raise ThumbnailError("thumbnail does not open with this key (or was altered)") from exc


def open_thumbnail(blob: bytes, key: bytes, sha256: str | None = None) -> bytes:
    """The JPEG inside a sealed thumbnail: a stored one opens only for its own `sha256`, one in
    transit only without. ThumbnailError if the key, the blob or the media is wrong."""
    return _open(blob, key, _associated_data(sha256))


def bind(blob: bytes, key: bytes, sha256: str) -> bytes:
    """A thumbnail sealed in transit, sealed again bound to its media's SHA-256."""
    return seal(open_thumbnail(blob, key), key, sha256)


def rebind_legacy(blob: bytes, key: bytes, sha256: str) -> bytes | None:
    """A thumbnail stored before binding, bound to `sha256`; None when it is not such a blob
    (already bound, or not openable with this key)."""
    try:
        plaintext = _open(blob, key, _LEGACY)
    except ThumbnailError:
        return None
    return seal(plaintext, key, sha256)


def load_or_create_key(path: Path) -> bytes:
    """The workspace's thumbnail key, created on first use (core.keys)."""
    try:
        return keys.load_or_create_key(path, "thumbnail key")
    except keys.KeyFileError as exc:
        raise ThumbnailError(str(exc)) from None
