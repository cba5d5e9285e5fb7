"""The keyed match filter: no false negatives, a false-positive rate near the stated one, PDQ
segments found within the pigeonhole bound, and declared sizes checked when read."""

from __future__ import annotations

import numpy as np
import pytest

from cairn.matching.match_filter import MatchFilter, bloom_fpr, bloom_parameters

KEY = bytes(range(32))


def _flip(pdq: bytes, bits: list[int]) -> bytes:
    value = bytearray(pdq)
    for bit in bits:
        value[bit // 8] ^= 1 << (bit % 8)
    return bytes(value)


def test_digests_have_no_false_negatives_and_the_stated_rate() -> None:
    rng = np.random.default_rng(1)
    stored = [bytes(row) for row in rng.integers(0, 256, (20_000, 32), np.uint8)]
    absent = [bytes(row) for row in rng.integers(0, 256, (100_000, 32), np.uint8)]
    built = MatchFilter.build(KEY, [("sha256", d) for d in stored], [], fpr=1e-3)
    assert built.contains_digests("sha256", stored).all()
    assert built.contains_digests("md5", stored[:1000]).sum() <= 5  # the kind is keyed in
    false = int(built.contains_digests("sha256", absent).sum())
    assert built.digest_fpr == pytest.approx(1e-3, rel=0.1)
    assert 50 <= false <= 150  # 100 expected at 1e-3 (fixed key and data: deterministic)


def test_pdq_segments_within_the_pigeonhole_bound() -> None:
    rng = np.random.default_rng(2)
    pdqs = [bytes(row) for row in rng.integers(0, 256, (500, 32), np.uint8)]
    built = MatchFilter.build(KEY, [], pdqs)
    assert [built.pdq_segment_hits(p) for p in pdqs[:20]] == [8] * 20
    for n, pdq in enumerate(pdqs[:50]):  # 15 flipped bits: some segment within one bit
        bits = rng.choice(256, 15, replace=False).tolist()
        assert built.pdq_segment_hits(_flip(pdq, bits)) >= 1, n
    unrelated = [bytes(row) for row in rng.integers(0, 256, (200, 32), np.uint8)]
    assert sum(built.pdq_segment_hits(p) for p in unrelated) == 0


def test_a_filter_reads_back_and_refuses_sizes_that_disagree() -> None:
    built = MatchFilter.build(KEY, [("md5", b"\x01" * 16)], [b"\x02" * 32])
    again = MatchFilter.from_body(built.parameters(), built.body())
    assert again.contains_digests("md5", [b"\x01" * 16]).all()
    assert again.pdq_segment_hits(b"\x02" * 32) == 8
    with pytest.raises(ValueError, match="declared size"):
        MatchFilter.from_body(built.parameters(), built.body()[:-8])
    with pytest.raises(ValueError):
        MatchFilter.from_body({**built.parameters(), "digest_hashes": 500}, built.body())
    bits, hashes = bloom_parameters(1000, 1e-6)
    assert bloom_fpr(bits, hashes, 1000) <= 1.05e-6
