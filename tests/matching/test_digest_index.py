"""DigestIndex: exact lookups of MD5 / SHA-1 / SHA-256 values, incremental adds, persistence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.matching import digest_index
from cairn.matching.digest_index import DIGEST_BYTES, DigestHit, DigestIndex
from cairn.matching.segments import IndexFileError, hex_to_array

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


def reference(stored: U8, ids: I64, queries: U8) -> list[DigestHit]:
    table: dict[bytes, list[int]] = {}
    for key, id_ in zip(stored, ids.tolist(), strict=True):
        table.setdefault(key.tobytes(), []).append(id_)
    return [
        DigestHit(q, i)
        for q, key in enumerate(queries)
        for i in sorted(table.get(key.tobytes(), []))
    ]


def digests(algorithm: str, count: int, salt: str = "") -> U8:
    """Real digests of benign strings: uniformly spread, like a hash set's."""
    values = [hashlib.new(algorithm, f"{salt}{i}".encode()).hexdigest() for i in range(count)]
    return hex_to_array(values, DIGEST_BYTES[algorithm])


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
@pytest.mark.parametrize("count", [1, 300, 5000])
def test_lookup_finds_every_stored_digest_and_nothing_else(algorithm: str, count: int) -> None:
    stored = digests(algorithm, count)
    ids = np.arange(count, dtype=np.int64) * 7 - 3
    index = DigestIndex(algorithm)
    index.build(stored, ids)
    absent = digests(algorithm, 200, salt="absent-")
    queries = np.concatenate([stored[::-1], absent])
    assert index.lookup(queries) == [DigestHit(q, int(ids[count - 1 - q])) for q in range(count)]
    assert index.contains(queries).tolist() == [True] * count + [False] * 200


def test_keys_differing_in_any_single_byte_do_not_match() -> None:
    stored = digests("sha256", 2000)
    index = DigestIndex("sha256")
    index.build(stored, np.arange(2000, dtype=np.int64))
    for position in range(32):  # bucket bytes, prefix bytes and rest bytes alike
        changed = stored[:50].copy()
        changed[:, position] ^= 0x01
        assert index.lookup(changed) == []
    assert index.lookup(stored[:50]) == [DigestHit(i, i) for i in range(50)]


def test_duplicates_and_shared_prefixes() -> None:
    """Same digest under several ids; digests equal in their first 8-10 bytes but not after."""
    base = digests("md5", 64)
    twins = base[:40].copy()
    twins[:, 12] ^= 0xFF  # same bucket and prefix, different rest: a 40-row bucket run
    crowd = np.repeat(base[:1], 40, axis=0)
    crowd[:, 2:10] = np.arange(40, dtype=np.uint8)[:, None]  # one bucket of 40 prefixes
    stored = np.concatenate([base, base[:3], twins, crowd])
    ids = np.arange(len(stored), dtype=np.int64)[::-1].copy()
    index = DigestIndex("md5")
    index.build(stored, ids)
    queries = np.concatenate([base[:5], twins[:2], crowd[::7], digests("md5", 3, "x")])
    assert index.lookup(queries) == reference(stored, ids, queries)
    # base[0] is rows 0 and 64 (ids 146 and 82); the crowd shares its bucket only.
    assert index.lookup(base[:1]) == [DigestHit(0, 82), DigestHit(0, 146)]
    assert (
        index._segments[0].directory[base[0, 0] + 1] - index._segments[0].directory[base[0, 0]]
        >= 42
    )  # a bucket of more than 32 rows


def test_keys_equal_in_their_first_8_bytes_are_ordered_by_the_bytes_after() -> None:
    """The build sorts by the first 8 bytes, then by prefix where those tie (repeated NSRL
    digests tie whole; these tie in 8 bytes only, and differ inside the prefix)."""
    rng = np.random.default_rng(3)
    stored = digests("sha1", 3000)
    tied = np.repeat(stored[:1], 200, axis=0)
    tied[:, 8:10] = rng.integers(0, 256, (200, 2), dtype=np.uint8)  # prefix bytes 1..8
    stored = np.concatenate([stored, tied, tied[:20]])[rng.permutation(3220)]
    ids = np.arange(3220, dtype=np.int64)
    index = DigestIndex("sha1")
    index.build(stored, ids)
    assert index._segments[0].directory_bits == 8  # prefix = bytes 1..8, tied ones differ there
    queries = np.concatenate([tied[::3], stored[:50], digests("sha1", 5, "x")])
    assert index.lookup(queries) == reference(stored, ids, queries)


def test_append_adds_a_segment_without_merging(tmp_path: Path) -> None:
    stored = digests("md5", 900)
    index = DigestIndex("md5")
    for start in range(0, 900, 300):
        index.append(stored[start : start + 300], np.arange(start, start + 300, dtype=np.int64))
    assert index.segment_sizes == [300, 300, 300]
    index.save(tmp_path / "md5")
    loaded = DigestIndex.load(tmp_path / "md5")
    assert loaded.segment_sizes == [300, 300, 300]
    assert loaded.lookup(stored[[0, 450, 899]]) == [
        DigestHit(0, 0),
        DigestHit(1, 450),
        DigestHit(2, 899),
    ]


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    algorithm=st.sampled_from(["md5", "sha1", "sha256"]),
    head=st.binary(min_size=0, max_size=12),
)
def test_property_equals_a_dictionary(data: st.DataObject, algorithm: str, head: bytes) -> None:
    """Keys share a drawn leading part, so buckets, prefixes and rests collide often."""
    width = DIGEST_BYTES[algorithm]
    key = st.binary(min_size=width - len(head), max_size=width - len(head)).map(
        lambda tail: head + tail
    )
    stored_keys = data.draw(st.lists(key, max_size=80))
    query_keys = (
        data.draw(st.lists(st.sampled_from(stored_keys) | key, min_size=1, max_size=20))
        if stored_keys
        else data.draw(st.lists(key, min_size=1, max_size=5))
    )
    stored = np.frombuffer(b"".join(stored_keys), np.uint8).reshape(-1, width)
    queries = np.frombuffer(b"".join(query_keys), np.uint8).reshape(-1, width)
    ids = np.array(
        data.draw(
            st.lists(st.integers(-(2**63), 2**63 - 1), min_size=len(stored), max_size=len(stored))
        ),
        np.int64,
    )
    index = DigestIndex(algorithm)
    index.build(stored, ids)
    assert index.lookup(queries) == reference(stored, ids, queries)


def test_directory_grows_with_the_segment() -> None:
    small = DigestIndex("sha1")
    small.build(digests("sha1", 100), np.arange(100, dtype=np.int64))
    assert small._segments[0].directory_bits == 8
    large = DigestIndex("sha1")
    stored = digests("sha1", 300_000)
    large.build(stored, np.arange(300_000, dtype=np.int64))
    segment = large._segments[0]
    assert segment.directory_bits == 15  # int(log2(300,000)) - 3
    assert segment.rest.shape == (300_000, 20 - 1 - 8)
    assert large.nbytes() == 300_000 * (8 + 11 + 8) + ((1 << 15) + 1) * 4
    assert large.lookup(stored[-3:]) == [DigestHit(i, 299_997 + i) for i in range(3)]
    assert np.array_equal(segment.keys()[np.argsort(segment.ids)], stored)


def test_add_gives_the_same_results_as_a_rebuild() -> None:
    stored = digests("sha256", 3000)
    ids = np.arange(3000, dtype=np.int64) + 10
    queries = np.concatenate([stored[::13], digests("sha256", 10, "no")])
    grown = DigestIndex("sha256")
    grown.build(stored[:2000], ids[:2000])
    grown.add(stored[2000:2400], ids[2000:2400])
    assert grown.segment_sizes == [2000, 400]
    grown.add(stored[2400:2410], ids[2400:2410])
    grown.add(stored[2410:2430], ids[2410:2430])
    assert grown.segment_sizes == [2000, 400, 30]
    assert grown.lookup(queries) == reference(stored[:2430], ids[:2430], queries)
    grown.add(stored[2430:], ids[2430:])
    assert grown.segment_sizes == [3000]
    whole = DigestIndex("sha256")
    whole.build(stored, ids)
    assert grown.lookup(queries) == whole.lookup(queries) == reference(stored, ids, queries)
    grown.add(stored[:1], np.array([-1], np.int64))  # a second id for one digest
    assert grown.lookup(stored[:1]) == [DigestHit(0, -1), DigestHit(0, 10)]


def test_save_and_load_round_trip_with_documented_files(tmp_path: Path) -> None:
    stored = digests("md5", 1000)
    ids = np.arange(1000, dtype=np.int64)
    index = DigestIndex("md5")
    index.build(stored, ids)
    index.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format"] == "cairn-digest-index"
    assert manifest["algorithm"] == "md5"
    folder = tmp_path / manifest["segments"][0]["name"]
    assert json.loads((folder / "segment.json").read_text()) == {
        "directory_bits": 8,
        "key_bytes": 16,
    }
    prefix = np.load(folder / "prefix.npy")
    rest = np.load(folder / "rest.npy")
    directory = np.load(folder / "directory.npy")
    assert prefix.dtype == np.uint64 and rest.shape == (1000, 7) and directory.shape == (257,)
    # Documented: bucket b holds keys whose first byte is b; prefix = bytes 1-8 big-endian.
    row = int(np.flatnonzero(np.load(folder / "ids.npy") == 5)[0])
    first_byte = int(np.searchsorted(directory, row, side="right")) - 1
    rebuilt = bytes([first_byte]) + int(prefix[row]).to_bytes(8, "big") + rest[row].tobytes()
    assert rebuilt == stored[5].tobytes()
    loaded = DigestIndex.load(tmp_path)
    assert loaded.algorithm == "md5"
    assert isinstance(loaded._segments[0].prefix.base, np.memmap)
    assert loaded.lookup(stored) == [DigestHit(i, i) for i in range(1000)]


def test_empty_index() -> None:
    index = DigestIndex("sha1")
    assert index.lookup(digests("sha1", 2)) == []
    assert index.contains(digests("sha1", 2)).tolist() == [False, False]
    assert index.lookup(np.empty((0, 20), np.uint8)) == []


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"algorithm must be one of \['md5', 'sha1', 'sha256'\]"):
        DigestIndex("crc32")
    index = DigestIndex("md5")
    with pytest.raises(ValueError, match=r"keys must be uint8 of shape \(N, 16\)"):
        index.build(digests("sha1", 3), np.arange(3, dtype=np.int64))
    index.build(digests("md5", 3), np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"queries must be uint8 of shape \(Q, 16\)"):
        index.lookup(digests("sha256", 1))
    with pytest.raises(ValueError, match=r"queries must be uint8 of shape \(Q, 16\)"):
        index.contains(np.zeros((1, 16), np.int8))


def test_loading_another_kind_of_index_is_refused(tmp_path: Path) -> None:
    from cairn.matching.pdq_index import PdqIndex

    PdqIndex().save(tmp_path / "pdq")
    with pytest.raises(IndexFileError, match="not a cairn-digest-index folder"):
        DigestIndex.load(tmp_path / "pdq")
    index = DigestIndex("sha1")
    index.build(digests("sha1", 10), np.arange(10, dtype=np.int64))
    index.save(tmp_path / "sha1")
    segment = tmp_path / "sha1" / index._segments[0].name
    (segment / "segment.json").write_text(json.dumps({"directory_bits": 8, "key_bytes": 32}))
    with pytest.raises(IndexFileError, match=r"rest.npy is uint8 \(10, 11\), expected \(10, 23\)"):
        DigestIndex.load(tmp_path / "sha1")
    (segment / "segment.json").write_text(json.dumps({"directory_bits": 30, "key_bytes": 20}))
    with pytest.raises(IndexFileError, match=r"bad segment\.json"):
        DigestIndex.load(tmp_path / "sha1")
    manifest = json.loads((tmp_path / "sha1" / "manifest.json").read_text())
    (tmp_path / "sha1" / "manifest.json").write_text(json.dumps({**manifest, "algorithm": "crc"}))
    with pytest.raises(IndexFileError, match="algorithm must be one of"):
        DigestIndex.load(tmp_path / "sha1")


def test_hex_to_array() -> None:
    assert hex_to_array(["00ff", "A0b1"], 2).tolist() == [[0, 255], [160, 177]]
    with pytest.raises(ValueError, match=r"value 1: not hexadecimal: 'zz00'"):
        hex_to_array(["0000", "zz00"], 2)
    with pytest.raises(ValueError, match=r"value 0: 3 bytes, expected 2: '000000'"):
        hex_to_array(["000000"], 2)
    assert hex_to_array([], 16).shape == (0, 16)


def test_query_blocks_and_threads_keep_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest_index, "QUERY_BLOCK", 7)
    stored = digests("sha1", 100)
    index = DigestIndex("sha1", threads=2)
    index.build(stored, np.arange(100, dtype=np.int64))
    index.add(stored[:5], np.arange(100, 105, dtype=np.int64))
    queries = stored[::-1]
    assert index.lookup(queries) == reference(
        np.concatenate([stored, stored[:5]]), np.arange(105, dtype=np.int64), queries
    )
