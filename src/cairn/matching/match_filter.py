"""A keyed, non-invertible match filter of a hash set (docs/federation.md, "Match filters").

Every digest, and every 32-bit segment of every PDQ, passes through keyed BLAKE2b (the key is
random per filter and travels inside it) before it sets bits in a Bloom filter. The filter
answers "is this digest in the set?" and "how many of this PDQ's segments are?", with a false-
positive rate stated from its size; it holds no digest, and without the set's files in hand
nobody can list what it contains. The key makes every filter's bits unrelated to every other's,
so two filters cannot be compared or joined.

PDQ near-duplicates go through multi-index segments: the 256 bits are cut into eight 32-bit
segments, each stored with its position. A query probes each segment as it is and with each of
its 32 bits flipped (33 probes per segment): any PDQ within 15 bits of an entry has a segment
within one bit of that entry's (pigeonhole), and most copies up to 31 bits have two. Two
segment hits confirm a near match, one is a candidate for a human (the review band).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

PDQ_SEGMENTS = 8  # 8 × 32 bits: wide enough that segment values cannot be listed by trying all
SEGMENT_BYTES = 32 // PDQ_SEGMENTS
PDQ_CONFIRMING_SEGMENTS = 2  # segment hits that make a near match (one: a candidate)
DEFAULT_FPR = 1e-6  # per lookup: one false hit in a million digests looked up
# A PDQ query makes 264 probes (and a case's image has up to a dozen forms): its segment
# filter is held to a per-probe rate this much lower, so a false candidate stays as rare.
PDQ_PROBES = PDQ_SEGMENTS * (1 + 8 * SEGMENT_BYTES)
KEY_BYTES = 32
_FLOOR = 8  # double hashing's floor, entries / bits², times a margin measured on small filters
MAX_BITS = 1 << 36  # 8 GiB of bits: beyond any set a filter is made of
_DIGEST_DOMAIN = b"cairn-flt-dig"
_PDQ_DOMAIN = b"cairn-flt-pdq"
_BATCH = 1 << 16  # items keyed per call: bounded memory for the keyed digests


def bloom_parameters(entries: int, fpr: float) -> tuple[int, int]:
    """(bits, hash count) of the smallest Bloom filter with this false-positive rate. Double
    hashing adds a floor of about entries / bits² (two items whose hash pairs agree modulo the
    size collide on every probe): small filters are made large enough to keep it under `fpr`."""
    entries = max(entries, 1)
    bits = math.ceil(-entries * math.log(fpr) / (math.log(2) ** 2))
    bits = max(64, bits, math.ceil(math.sqrt(_FLOOR * entries / fpr)))
    bits = (bits + 63) // 64 * 64  # whole 64-bit words
    if bits > MAX_BITS:
        raise ValueError(f"a filter of {entries:,} entries at {fpr:g} exceeds {MAX_BITS:,} bits")
    hashes = max(1, min(64, round(-math.log2(fpr))))  # the optimal count at the optimal size
    return bits, hashes


def bloom_fpr(bits: int, hashes: int, entries: int) -> float:
    """The false-positive rate of a Bloom filter of `bits` and `hashes` holding `entries`,
    with double hashing's floor."""
    if entries == 0:
        return 0.0
    return float((1 - math.exp(-hashes * entries / bits)) ** hashes + _FLOOR * entries / bits**2)


class Bloom:
    """Bits and hash count; items arrive as 16-byte keyed digests (two 64-bit halves give
    the k positions by double hashing)."""

    def __init__(self, bits: int, hashes: int, words: np.ndarray[Any, Any] | None = None) -> None:
        self.bits = bits
        self.hashes = hashes
        self.words = np.zeros(bits // 64, np.uint64) if words is None else words

    def _positions(self, keyed: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        # Kirsch-Mitzenmacher double hashing modulo the size: a multiply-shift onto the range
        # was faster but, on small filters, let a short stride put all k probes on a few bits.
        halves = keyed.view(np.uint64).reshape(-1, 2)
        steps = np.arange(self.hashes, dtype=np.uint64)
        with np.errstate(over="ignore"):  # wraps modulo 2**64 on purpose
            combined = halves[:, :1] + steps[None, :] * (halves[:, 1:] | np.uint64(1))
        positions: np.ndarray[Any, Any] = combined % np.uint64(self.bits)
        return positions

    def add(self, keyed: np.ndarray[Any, Any]) -> None:
        for start in range(0, len(keyed), 1 << 16):
            positions = np.sort(self._positions(keyed[start : start + (1 << 16)]).ravel())
            # One OR per word touched (ufunc.at, one per bit, measured 10x slower here).
            words, first = np.unique(positions >> np.uint64(6), return_index=True)
            masks = np.uint64(1) << (positions & np.uint64(63))
            self.words[words] |= np.bitwise_or.reduceat(masks, first)

    def contains(self, keyed: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        if len(keyed) == 0:
            return np.zeros(0, bool)
        positions = self._positions(keyed)
        words = self.words[positions >> np.uint64(6)]
        found: np.ndarray[Any, Any] = ((words >> (positions & np.uint64(63))) & np.uint64(1)).all(1)
        return found


def _keyed(key: bytes, domain: bytes, items: list[bytes]) -> np.ndarray[Any, Any]:
    out = b"".join(
        [hashlib.blake2b(item, digest_size=16, key=key, person=domain).digest() for item in items]
    )
    return np.frombuffer(out, np.uint8).reshape(-1, 16)


def _segment_items(pdq: bytes) -> list[bytes]:
    return [
        bytes([n]) + pdq[n * SEGMENT_BYTES : (n + 1) * SEGMENT_BYTES] for n in range(PDQ_SEGMENTS)
    ]


def _probes(pdq: bytes) -> list[bytes]:
    """Each segment as it is, then with each bit flipped (module docstring)."""
    probes = []
    for n in range(PDQ_SEGMENTS):
        segment = int.from_bytes(pdq[n * SEGMENT_BYTES : (n + 1) * SEGMENT_BYTES], "big")
        for flip in (0, *(1 << bit for bit in range(8 * SEGMENT_BYTES))):
            probes.append(bytes([n]) + (segment ^ flip).to_bytes(SEGMENT_BYTES, "big"))
    return probes


@dataclass
class MatchFilter:
    """A digest filter (MD5, SHA-1, SHA-256 keyed together with their kind) and a PDQ segment
    filter, under one random key."""

    key: bytes
    digests: Bloom
    digest_entries: int
    pdq: Bloom
    pdq_entries: int

    @classmethod
    def sized(
        cls, key: bytes, digest_entries: int, pdq_entries: int, fpr: float = DEFAULT_FPR
    ) -> MatchFilter:
        """An empty filter sized for this many digests and PDQs at the stated rate."""
        digest_bloom = Bloom(*bloom_parameters(digest_entries, fpr))
        pdq_bloom = Bloom(*bloom_parameters(pdq_entries * PDQ_SEGMENTS, fpr / PDQ_PROBES))
        return cls(key, digest_bloom, 0, pdq_bloom, 0)

    @classmethod
    def build(
        cls,
        key: bytes,
        digests: list[tuple[str, bytes]],
        pdqs: list[bytes],
        fpr: float = DEFAULT_FPR,
    ) -> MatchFilter:
        """`digests`: (kind, binary digest) pairs; `pdqs`: 32-byte PDQs."""
        built = cls.sized(key, len(digests), len(pdqs), fpr)
        for start in range(0, len(digests), _BATCH):
            chunk = digests[start : start + _BATCH]
            for kind in {k for k, _ in chunk}:
                built.add_digests(kind, [d for k, d in chunk if k == kind])
        for start in range(0, len(pdqs), _BATCH):
            built.add_pdqs(pdqs[start : start + _BATCH])
        return built

    def add_digests(self, kind: str, digests: list[bytes]) -> None:
        prefix = kind.encode()
        self.digests.add(_keyed(self.key, _DIGEST_DOMAIN, [prefix + d for d in digests]))
        self.digest_entries += len(digests)

    def add_pdqs(self, pdqs: list[bytes]) -> None:
        items = [item for pdq in pdqs for item in _segment_items(pdq)]
        self.pdq.add(_keyed(self.key, _PDQ_DOMAIN, items))
        self.pdq_entries += len(pdqs)

    def contains_digests(self, kind: str, digests: list[bytes]) -> np.ndarray[Any, Any]:
        """One boolean per digest of this kind (md5, sha1, sha256)."""
        prefix = kind.encode()
        return self.digests.contains(
            _keyed(self.key, _DIGEST_DOMAIN, [prefix + d for d in digests])
        )

    def pdq_segment_hits(self, pdq: bytes) -> int:
        """How many of the PDQ's eight segments are in the set, each within one bit."""
        if self.pdq_entries == 0:
            return 0
        found = self.pdq.contains(_keyed(self.key, _PDQ_DOMAIN, _probes(pdq)))
        return int(found.reshape(PDQ_SEGMENTS, -1).any(axis=1).sum())

    @property
    def digest_fpr(self) -> float:
        return bloom_fpr(self.digests.bits, self.digests.hashes, self.digest_entries)

    @property
    def pdq_probe_fpr(self) -> float:
        return bloom_fpr(self.pdq.bits, self.pdq.hashes, self.pdq_entries * PDQ_SEGMENTS)

    def parameters(self) -> dict[str, Any]:
        """What the file declares about itself (checked against its bytes when read)."""
        return {
            "digest_bits": self.digests.bits,
            "digest_hashes": self.digests.hashes,
            "digest_entries": self.digest_entries,
            "pdq_bits": self.pdq.bits,
            "pdq_hashes": self.pdq.hashes,
            "pdq_entries": self.pdq_entries,
            "pdq_segments": PDQ_SEGMENTS,
            "pdq_confirming_segments": PDQ_CONFIRMING_SEGMENTS,
            "stated_digest_fpr": self.digest_fpr,
            "stated_pdq_probe_fpr": self.pdq_probe_fpr,
        }

    def body(self) -> bytes:
        """The key, then the two bit arrays (little-endian 64-bit words)."""
        return (
            self.key
            + self.digests.words.astype("<u8").tobytes()
            + self.pdq.words.astype("<u8").tobytes()
        )

    @staticmethod
    def body_bytes(parameters: dict[str, Any]) -> int:
        return KEY_BYTES + (int(parameters["digest_bits"]) + int(parameters["pdq_bits"])) // 8

    @classmethod
    def from_body(cls, parameters: dict[str, Any], body: bytes) -> MatchFilter:
        """A filter from its declared parameters and body; ValueError when they disagree."""
        digest_bits, pdq_bits = int(parameters["digest_bits"]), int(parameters["pdq_bits"])
        if digest_bits % 64 or pdq_bits % 64 or digest_bits <= 0 or pdq_bits <= 0:
            raise ValueError("filter sizes must be whole 64-bit words")
        if max(digest_bits, pdq_bits) > MAX_BITS:
            raise ValueError("filter declared larger than a filter can be")
        if len(body) != cls.body_bytes(parameters):
            raise ValueError("filter body does not have the declared size")
        for name in ("digest_hashes", "pdq_hashes"):
            if not 1 <= int(parameters[name]) <= 64:
                raise ValueError(f"{name} out of range")
        if int(parameters.get("pdq_segments", PDQ_SEGMENTS)) != PDQ_SEGMENTS:
            raise ValueError("unsupported PDQ segmentation")
        split = KEY_BYTES + digest_bits // 8
        digests = np.frombuffer(body[KEY_BYTES:split], "<u8").astype(np.uint64)
        pdqs = np.frombuffer(body[split:], "<u8").astype(np.uint64)
        return cls(
            body[:KEY_BYTES],
            Bloom(digest_bits, int(parameters["digest_hashes"]), digests),
            int(parameters["digest_entries"]),
            Bloom(pdq_bits, int(parameters["pdq_hashes"]), pdqs),
            int(parameters["pdq_entries"]),
        )
