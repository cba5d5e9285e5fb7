"""PDQ perceptual hashes (Meta's pdqhash package) and their Hamming distance.

PDQ is 256 bits written as 64 hex characters plus a quality of 0–100. The hex form is the
reference's `Hash256::format()`, so hashes compare directly with ThreatExchange and pytx sets.
numpy and pdqhash are imported inside the functions: this module is also imported for
`hamming` by code that never hashes an image.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cairn.core.hash_kinds import PDQ

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL.Image import Image

# The reference clears the hash of images under 5 px a side (MIN_HASHABLE_DIM) and reports
# quality 0; pdqhash itself crashes on an empty array, so small images never reach it.
MIN_HASHABLE_SIDE = 5
ZERO_HEX = "0" * PDQ.hex_length


class DihedralVariant(enum.StrEnum):
    """The eight rotations and flips, in the order pdqhash.compute_dihedral returns them.

    A variant's hash is what the plain hash of the image turned that way would be: a copy
    rotated by 90° has a plain hash near the original's `rotate90` variant.
    """

    ORIGINAL = "original"
    ROTATE90 = "rotate90"
    ROTATE180 = "rotate180"
    ROTATE270 = "rotate270"
    FLIPX = "flipx"
    FLIPY = "flipy"
    FLIPPLUS1 = "flipplus1"
    FLIPMINUS1 = "flipminus1"


@dataclass(frozen=True)
class PdqHash:
    hex: str
    quality: int


@dataclass(frozen=True)
class DihedralHashes:
    """All eight variants of one image (they share one quality: one DCT made them all)."""

    hashes: Mapping[DihedralVariant, str]
    quality: int


def _hex(bits: NDArray[np.int64]) -> str:
    import numpy as np

    # pdqhash returns bit 255 first, which is the reference's most significant hex digit.
    return np.packbits(bits).tobytes().hex()


def _too_small(pixels: NDArray[np.uint8]) -> bool:
    height: int = pixels.shape[0]
    width: int = pixels.shape[1]
    return min(height, width) < MIN_HASHABLE_SIDE


def pdq_from_rgb(pixels: NDArray[np.uint8]) -> PdqHash:
    """Hash an RGB array of shape (height, width, 3); any strides, no copy is made."""
    if _too_small(pixels):
        return PdqHash(ZERO_HEX, 0)
    import pdqhash

    bits, quality = pdqhash.compute(pixels)
    return PdqHash(_hex(bits), int(quality))


def pdq_from_luma(luma: NDArray[np.uint8]) -> PdqHash:
    """Hash a luma plane of shape (height, width) through a zero-copy R = G = B view.

    pdqhash turns RGB into luma with weights that sum to 1, so this hashes the luma itself;
    for an 'L' image it is bit-identical to hashing `convert('RGB')` of it.
    """
    return pdq_from_rgb(luma_as_rgb(luma))


def luma_as_rgb(luma: NDArray[np.uint8]) -> NDArray[np.uint8]:
    import numpy as np

    return np.broadcast_to(luma[:, :, None], (*luma.shape, 3))


def reference_rgb(img: Image) -> NDArray[np.uint8]:
    """The pixels the reference hashes, `img.convert('RGB')`, without the conversions that
    would only copy (RGB already) or triple (L: three equal channels, see pdq_from_luma)."""
    import numpy as np

    if img.mode == "L":
        return luma_as_rgb(np.asarray(img))
    return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))


def pdq_from_image(img: Image) -> PdqHash:
    """Hash a decoded image exactly as the reference does (no EXIF rotation, no resize)."""
    return pdq_from_rgb(reference_rgb(img))


def dihedral_from_image(img: Image) -> DihedralHashes:
    """The eight dihedral variants of an image, for querying rotated or mirrored copies."""
    return dihedral_from_rgb(reference_rgb(img))


def dihedral_from_rgb(pixels: NDArray[np.uint8]) -> DihedralHashes:
    """The eight variants of an RGB array; one DCT serves all eight, so this costs about one
    plain hash, and its ORIGINAL variant is the plain hash."""
    if _too_small(pixels):
        return DihedralHashes(dict.fromkeys(DihedralVariant, ZERO_HEX), 0)
    import pdqhash

    variants, quality = pdqhash.compute_dihedral(pixels)
    hashes = {name: _hex(bits) for name, bits in zip(DihedralVariant, variants, strict=True)}
    return DihedralHashes(hashes, int(quality))


def _as_int(pdq_hex: str) -> int:
    raw = bytes.fromhex(pdq_hex)  # stricter than int(x, 16), which takes "0x", "_" and signs
    if len(raw) != PDQ.key_bytes:
        raise ValueError(f"a PDQ hash is {PDQ.hex_length} hex characters, got {pdq_hex!r}")
    return int.from_bytes(raw, "big")


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two 64-hex PDQ hashes."""
    return (_as_int(a) ^ _as_int(b)).bit_count()
