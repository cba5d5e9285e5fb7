"""PdqShards: the same rows as one PdqIndex (ties and order included) for any shard count,
built or grown; hash-range placement; both folder layouts and the switches between them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.core.errors import UsageError
from cairn.matching.pdq_index import PdqIndex, PdqMatches
from cairn.matching.pdq_shards import (
    SHARD_HASHES_ENV,
    PdqShards,
    shard_files,
    shard_hashes_setting,
    shard_numbers,
)
from cairn.matching.segments import IndexFileError

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


def moved(hashes: U8, distances: npt.NDArray[np.int64], rng: np.random.Generator) -> U8:
    """Each row with exactly distances[i] distinct random bits flipped."""
    out = hashes.copy()
    for row, distance in enumerate(distances.tolist()):
        bits = np.zeros(256, np.uint8)
        bits[rng.choice(256, distance, replace=False)] = 1
        out[row] ^= np.packbits(bits)
    return out


@pytest.fixture(scope="module")
def crowded() -> tuple[U8, I64, U8]:
    """4,000 stored hashes, half in 40 tight clusters (members within 0-24 bits of a centre, so
    within 48 of each other), 100 exact duplicates under other ids (ties at every distance);
    queries near the centres, near stored hashes, and random."""
    rng = np.random.default_rng(20)
    centres = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    members = moved(np.repeat(centres, 50, axis=0), rng.integers(0, 25, 2000), rng)
    uniform = rng.integers(0, 256, (1900, 32), dtype=np.uint8)
    stored = np.concatenate([members, uniform])
    stored = np.concatenate([stored, stored[rng.choice(len(stored), 100, replace=False)]])
    stored = stored[rng.permutation(len(stored))]
    ids = rng.permutation(len(stored)).astype(np.int64) * 7 - 3000
    queries = np.concatenate(
        [
            moved(centres[rng.integers(0, 40, 120)], rng.integers(0, 20, 120), rng),
            moved(stored[rng.integers(0, len(stored), 120)], rng.integers(0, 35, 120), rng),
            rng.integers(0, 256, (40, 32), dtype=np.uint8),
        ]
    )
    return stored, ids, queries


def assert_same_rows(got: PdqMatches, expected: PdqMatches) -> None:
    assert np.array_equal(got.query, expected.query)
    assert np.array_equal(got.id, expected.id)
    assert np.array_equal(got.distance, expected.distance)


def single(stored: U8, ids: I64) -> PdqIndex:
    index = PdqIndex()
    index.build(stored, ids)
    return index


@pytest.mark.parametrize("shards", [1, 2, 3, 8, 17])
def test_sharded_rows_equal_the_single_index(crowded: tuple[U8, I64, U8], shards: int) -> None:
    stored, ids, queries = crowded
    whole = single(stored, ids)
    index = PdqShards(shard_hashes=-(-len(stored) // shards))
    index.build(stored, ids)
    assert len(index.parts) == shards
    assert sorted(len(part) for part in index.parts)[0] > 0  # every shard holds hashes
    for radius in (0, 31, 52):
        expected = whole.search_arrays(queries, radius)
        assert_same_rows(index.search_arrays(queries, radius), expected)
    found = whole.search_arrays(queries, 52)
    # The data is what the test claims: many neighbours per query, and ties in distance.
    assert len(found) > 20 * len(queries)
    rows = list(zip(found.query.tolist(), found.distance.tolist(), strict=True))
    assert len(rows) - len(set(rows)) > 1000


def test_shards_are_contiguous_hash_ranges() -> None:
    prefixes = np.arange(1 << 16, dtype=np.int64)
    keys = np.zeros((1 << 16, 32), np.uint8)
    keys[:, 0], keys[:, 1] = prefixes >> 8, prefixes & 0xFF
    numbers = shard_numbers(keys, 3)
    assert numbers[0] == 0 and numbers[-1] == 2
    assert np.all(np.diff(numbers) >= 0)  # sorted by hash, so each shard is one range
    assert np.bincount(numbers).tolist() == [21846, 21845, 21845]
    assert shard_numbers(keys, 1).tolist() == [0] * (1 << 16)


def test_growth_adds_segments_to_shards_then_doubles_them(crowded: tuple[U8, I64, U8]) -> None:
    stored, ids, queries = crowded
    index = PdqShards(shard_hashes=1000)
    counts = []
    for start, end in [(0, 700), (700, 1400), (1400, 2100), (2100, 2200)]:
        index.add(stored[start:end], ids[start:end])
        counts.append(len(index.parts))
        assert_same_rows(
            index.search_arrays(queries, 52),
            single(stored[:end], ids[:end]).search_arrays(queries, 52),
        )
    # 700 fits one shard; 1,400 needs 2; 2,100 needs 3, so 4 (doubling); 2,200 still fits 4,
    # the last 100 as a small new segment in each shard (the segments' merge rule).
    assert counts == [1, 2, 4, 4]
    assert [len(part.segment_sizes) for part in index.parts] == [2, 2, 2, 2]
    index.add(stored[:0], ids[:0])
    assert len(index) == 2200


def test_one_shard_is_the_plain_index_folder(crowded: tuple[U8, I64, U8], tmp_path: Path) -> None:
    stored, ids, queries = crowded
    index = PdqShards()
    index.build(stored, ids)
    index.save(tmp_path / "pdq")
    assert [p.name for p in (tmp_path / "pdq").iterdir() if not p.name.startswith("seg-")] == [
        "manifest.json"
    ]
    plain = PdqIndex.load(tmp_path / "pdq")  # today's reader opens it as it always did
    assert_same_rows(plain.search_arrays(queries), single(stored, ids).search_arrays(queries))
    (files,) = shard_files(tmp_path / "pdq")
    assert files.folder == tmp_path / "pdq"
    assert files.manifest == json.loads((tmp_path / "pdq" / "manifest.json").read_text())


def test_layout_switches_and_round_trips(crowded: tuple[U8, I64, U8], tmp_path: Path) -> None:
    stored, ids, queries = crowded
    folder = tmp_path / "pdq"
    expected = single(stored, ids).search_arrays(queries, 52)
    index = PdqShards()
    index.build(stored[:1000], ids[:1000])
    index.save(folder)
    # Grown past the limit: the plain layout becomes shard folders.
    grown = PdqShards.load(folder, shard_hashes=1500)
    grown.add(stored[1000:], ids[1000:])
    grown.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "shard-00000",
        "shard-00001",
        "shard-00002",
        "shards.json",
    ]
    layout = json.loads((folder / "shards.json").read_text())
    assert layout["format"] == "cairn-pdq-shards" and layout["shard_hashes"] == 1500
    assert [s["name"] for s in layout["shards"]] == ["shard-00000", "shard-00001", "shard-00002"]
    for shard in layout["shards"]:
        segments = {s["name"] for s in shard["manifest"]["segments"]}
        assert {p.name for p in (folder / shard["name"]).iterdir()} == segments
    loaded = PdqShards.load(folder)
    assert loaded.shard_hashes == 1500  # kept with the index
    assert [len(p) for p in loaded.parts] == [len(p) for p in grown.parts]
    assert isinstance(loaded.parts[0]._segments[0].hashes.base, np.memmap)
    assert_same_rows(loaded.search_arrays(queries, 52), expected)
    assert [f.folder.name for f in shard_files(folder)] == [
        "shard-00000",
        "shard-00001",
        "shard-00002",
    ]
    # Rebuilt without a limit: back to the plain folder, shard files gone.
    back = PdqShards.load(folder, shard_hashes=None)
    back.shard_hashes = None
    back.build(stored, ids)
    back.save(folder)
    assert [p.name for p in folder.iterdir() if not p.name.startswith("seg-")] == ["manifest.json"]
    assert_same_rows(PdqShards.load(folder).search_arrays(queries, 52), expected)


def test_an_empty_or_missing_index(tmp_path: Path) -> None:
    assert shard_files(tmp_path / "nothing") == []
    missing = PdqShards.load(tmp_path / "nothing")
    assert len(missing) == 0 and len(missing.search_arrays(np.zeros((2, 32), np.uint8))) == 0
    empty = PdqShards(shard_hashes=10, shards=4)
    empty.save(tmp_path / "pdq")
    assert len(PdqShards.load(tmp_path / "pdq").parts) == 4


def test_a_damaged_shards_file_is_reported(crowded: tuple[U8, I64, U8], tmp_path: Path) -> None:
    stored, ids, _ = crowded
    index = PdqShards(shard_hashes=2500)
    index.build(stored, ids)
    index.save(tmp_path)
    layout = json.loads((tmp_path / "shards.json").read_text())
    layout["shards"].reverse()
    (tmp_path / "shards.json").write_text(json.dumps(layout))
    with pytest.raises(IndexFileError, match="not named in order"):
        PdqShards.load(tmp_path)
    (tmp_path / "shards.json").write_text("{")
    with pytest.raises(IndexFileError, match="unreadable"):
        PdqShards.load(tmp_path)


def test_shard_size_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SHARD_HASHES_ENV, raising=False)
    assert shard_hashes_setting() is None
    monkeypatch.setenv(SHARD_HASHES_ENV, " 20000000 ")
    assert shard_hashes_setting() == 20_000_000
    for bad in ("0", "-5", "ten", "1e6"):
        monkeypatch.setenv(SHARD_HASHES_ENV, bad)
        with pytest.raises(UsageError, match=SHARD_HASHES_ENV):
            shard_hashes_setting()


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    centres=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=3),
    radius=st.integers(0, 60),
    shard_hashes=st.integers(1, 40),
)
def test_property_any_growth_equals_the_single_index(
    data: st.DataObject, centres: list[bytes], radius: int, shard_hashes: int
) -> None:
    """Clustered hashes (a centre and up to 30 flipped bits), duplicates allowed, added in
    random batches under a random shard size: always the single index's rows."""
    centre_arrays = [np.frombuffer(c, np.uint8) for c in centres]
    member = st.tuples(
        st.integers(0, len(centres) - 1), st.lists(st.integers(0, 255), max_size=30, unique=True)
    )

    def hashes(spec: list[tuple[int, list[int]]]) -> U8:
        rows = []
        for centre, bits in spec:
            mask = np.zeros(256, np.uint8)
            mask[bits] = 1
            rows.append(centre_arrays[centre] ^ np.packbits(mask))
        return np.array(rows, np.uint8).reshape(-1, 32)

    stored = hashes(data.draw(st.lists(member, max_size=80)))
    queries = hashes(data.draw(st.lists(member, min_size=1, max_size=6)))
    ids = np.arange(len(stored), dtype=np.int64)[::-1].copy()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stored)), max_size=4)))
    index = PdqShards(shard_hashes)
    for lo, hi in zip([0, *cuts], [*cuts, len(stored)], strict=True):
        index.add(stored[lo:hi], ids[lo:hi])
    assert_same_rows(
        index.search_arrays(queries, radius), single(stored, ids).search_arrays(queries, radius)
    )
