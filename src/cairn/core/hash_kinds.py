"""The hash kinds Cairn knows, in one table: hash-set readers, indexes, search, verify and
export take their names, labels and widths from here.

PhotoDNA is not a kind here: it is proprietary, so Cairn can neither compute nor compare it; a
hash set's PhotoDNA is only carried verbatim, to be shared onwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# The names in the table below, for the type checker (a test checks that the two agree).
HashName = Literal["md5", "sha1", "sha256", "pdq", "vpdq"]


@dataclass(frozen=True)
class HashKind:
    name: HashName  # as in the store's columns, index folders, match methods and `--hash-type`
    label: str  # as people write it, in messages
    key_bytes: int  # the binary key an index stores (vPDQ: one per sampled frame)
    perceptual: bool  # near copies match within a Hamming distance; else only equal values do

    @property
    def hex_length(self) -> int:
        return 2 * self.key_bytes


MD5: Final = HashKind("md5", "MD5", 16, perceptual=False)
SHA1: Final = HashKind("sha1", "SHA-1", 20, perceptual=False)
SHA256: Final = HashKind("sha256", "SHA-256", 32, perceptual=False)
PDQ: Final = HashKind("pdq", "PDQ", 32, perceptual=True)  # 256 bits
VPDQ: Final = HashKind("vpdq", "vPDQ", 32, perceptual=True)  # a PDQ per sampled video frame

HASH_KINDS: Final = (MD5, SHA1, SHA256, PDQ, VPDQ)
BY_NAME: Final[dict[str, HashKind]] = {kind.name: kind for kind in HASH_KINDS}
# The one-pass digests of a byte stream, in the order records, exports and reports list them.
DIGESTS: Final = (MD5, SHA1, SHA256)
# What one known-hash entry (or one media item) carries: each has an index of its own.
KNOWN_HASHES: Final = (*DIGESTS, PDQ)
DIGEST_NAMES: Final[tuple[str, ...]] = tuple(kind.name for kind in DIGESTS)
KNOWN_HASH_NAMES: Final[tuple[str, ...]] = tuple(kind.name for kind in KNOWN_HASHES)
# Match methods whose hits are near-known, never known.
PERCEPTUAL: Final = frozenset(kind.name for kind in HASH_KINDS if kind.perceptual)
