"""PdqIndex: exact against brute force, incremental adds, persistence, dihedral queries."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.matching import pdq_index
from cairn.matching.pdq_index import (
    DihedralHit,
    PdqHit,
    PdqIndex,
    choose_chunks,
    chunk_widths,
)
from cairn.matching.segments import IndexFileError

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


def brute_force(stored: U8, ids: I64, queries: U8, radius: int) -> list[PdqHit]:
    """The reference: every stored hash's distance to every query, by numpy popcount."""
    hits = []
    for q, query in enumerate(queries):
        distances = np.bitwise_count(stored ^ query).sum(axis=1)
        hits += [
            PdqHit(q, int(ids[r]), int(distances[r])) for r in np.flatnonzero(distances <= radius)
        ]
    return sorted(hits, key=lambda hit: (hit.query, hit.distance, hit.id))


def flip(hash_: U8, bits: list[int] | npt.NDArray[np.int64]) -> U8:
    """The hash with the given bit positions (0-255, distinct) inverted."""
    mask = np.zeros(256, np.uint8)
    mask[np.asarray(bits, np.int64)] = 1
    return np.asarray(hash_ ^ np.packbits(mask), np.uint8)


def near(hash_: U8, distance: int, rng: np.random.Generator) -> U8:
    return flip(hash_, rng.choice(256, distance, replace=False))


@pytest.fixture(scope="module")
def planted() -> tuple[U8, I64, U8]:
    """3,000 random stored hashes, 20 clusters of 30, and queries at distances 0-40 of them."""
    rng = np.random.default_rng(7)
    uniform = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    centres = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    members = np.array([near(c, int(rng.integers(0, 41)), rng) for c in centres for _ in range(30)])
    stored = np.concatenate([uniform, members])
    ids = rng.permutation(len(stored)).astype(np.int64) * 11 - 5000
    queries = np.concatenate(
        [
            np.array([near(stored[i], i % 41, rng) for i in range(0, 3600, 37)]),
            np.array([near(centres[i % 20], i % 41, rng) for i in range(60)]),
            rng.integers(0, 256, (40, 32), dtype=np.uint8),
        ]
    )
    return stored, ids, queries


@pytest.fixture(scope="module", params=[None, 12, 16, 23, 32, 64])
def planted_index(request: pytest.FixtureRequest, planted: tuple[U8, I64, U8]) -> PdqIndex:
    """The planted set under each chunk layout (12 chunks: 22-bit tables, as at 10M)."""
    stored, ids, _ = planted
    index = PdqIndex(chunks=request.param)
    index.build(stored, ids)
    return index


@pytest.mark.parametrize("method", ["index", "scan", "auto"])
@pytest.mark.parametrize("radius", [0, 1, 8, 31, 52])
def test_search_equals_brute_force(
    planted: tuple[U8, I64, U8], planted_index: PdqIndex, method: pdq_index.Method, radius: int
) -> None:
    stored, ids, queries = planted
    assert planted_index.search(queries, radius, method) == brute_force(
        stored, ids, queries, radius
    )


@pytest.mark.parametrize("method", ["index", "scan"])
def test_planted_distances_0_to_31_match_and_32_33_do_not(method: pdq_index.Method) -> None:
    rng = np.random.default_rng(1)
    stored = rng.integers(0, 256, (34, 32), dtype=np.uint8)
    # Query d sits exactly d bits from stored hash d and (by chance) > 60 from all others.
    queries = np.array([near(stored[d], d, rng) for d in range(34)])
    index = PdqIndex(chunks=12)
    index.build(stored, np.arange(100, 134, dtype=np.int64))
    assert index.search(queries, 31, method) == [PdqHit(d, 100 + d, d) for d in range(32)]
    assert index.search(queries, 32, method)[-1] == PdqHit(32, 132, 32)
    assert index.search(queries, 0, method) == [PdqHit(0, 100, 0)]


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    centres=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=4),
    radius=st.integers(0, 70),
    chunks=st.sampled_from([16, 19, 23, 37, 64]),
    method=st.sampled_from(["index", "scan"]),
)
def test_property_exact_for_any_layout_and_radius(
    data: st.DataObject, centres: list[bytes], radius: int, chunks: int, method: str
) -> None:
    """Clustered hashes (centre plus up to 40 flipped bits) so that matches are common."""
    centre_arrays = [np.frombuffer(c, np.uint8) for c in centres]
    member = st.tuples(
        st.integers(0, len(centres) - 1),
        st.lists(st.integers(0, 255), max_size=40, unique=True),
    )
    stored_spec = data.draw(st.lists(member, min_size=0, max_size=60))
    query_spec = data.draw(st.lists(member, min_size=1, max_size=8))
    stored = np.array([flip(centre_arrays[c], bits) for c, bits in stored_spec], np.uint8)
    stored = stored.reshape(-1, 32)
    queries = np.array([flip(centre_arrays[c], bits) for c, bits in query_spec], np.uint8)
    ids = np.array(
        data.draw(
            st.lists(
                st.integers(-(2**63), 2**63 - 1),
                min_size=len(stored),
                max_size=len(stored),
                unique=True,
            )
        ),
        np.int64,
    )
    index = PdqIndex(chunks=chunks)
    index.build(stored, ids)
    expected = brute_force(stored, ids, queries, radius)
    assert index.search(queries, radius, method) == expected  # type: ignore[arg-type]


def test_add_gives_the_same_results_as_a_rebuild(planted: tuple[U8, I64, U8]) -> None:
    stored, ids, queries = planted
    whole = PdqIndex()
    whole.build(stored, ids)
    grown = PdqIndex()
    grown.build(stored[:2000], ids[:2000])
    grown.add(stored[2000:2100], ids[2000:2100])
    assert grown.segment_sizes == [2000, 100]  # 100 * 4 < 2000: kept as a new segment
    grown.add(stored[2100:2400], ids[2100:2400])
    assert grown.segment_sizes == [2000, 400]  # 300 * 4 >= 100: merged; 400 * 4 < 2000
    assert grown.search(queries) == brute_force(stored[:2400], ids[:2400], queries, 31)
    grown.add(stored[2400:2500], ids[2400:2500])
    assert grown.segment_sizes == [2500]  # 100 * 4 >= 400, then 500 * 4 >= 2000
    grown.add(stored[2500:2520], ids[2500:2520])
    grown.add(stored[2520:2550], ids[2520:2550])
    assert grown.segment_sizes == [2500, 50]
    grown.add(stored[2550:2560], ids[2550:2560])
    assert grown.segment_sizes == [2500, 50, 10]
    for radius in (0, 31, 52):
        assert grown.search(queries, radius) == brute_force(
            stored[:2560], ids[:2560], queries, radius
        )
    grown.add(stored[2560:], ids[2560:])
    assert len(grown) == len(stored)
    assert grown.segment_sizes == [len(stored)]
    assert grown.search(queries) == whole.search(queries)
    grown.add(stored[:10], ids[:10] + 1)  # the same hashes again under other ids
    assert grown.segment_sizes == [len(stored), 10]
    grown.compact()
    assert grown.segment_sizes == [len(stored) + 10]
    assert grown.search(stored[:1], 0) == [PdqHit(0, int(ids[0]), 0), PdqHit(0, int(ids[0]) + 1, 0)]


def test_add_to_an_empty_index_and_empty_adds() -> None:
    rng = np.random.default_rng(3)
    stored = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    index = PdqIndex()
    index.add(stored[:0], np.empty(0, np.int64))
    assert index.segment_sizes == []
    index.add(stored, np.arange(50, dtype=np.int64))
    assert index.search(stored[7:8], 0) == [PdqHit(0, 7, 0)]


def test_empty_index() -> None:
    index = PdqIndex()
    queries = np.zeros((3, 32), np.uint8)
    assert index.search(queries) == []
    assert len(index.search_arrays(queries)) == 0
    index.build(np.empty((0, 32), np.uint8), np.empty(0, np.int64))
    assert len(index) == 0
    assert index.search(queries, 256) == []
    assert index.search(np.empty((0, 32), np.uint8)) == []


def test_radius_zero_finds_only_identical_hashes_including_duplicates() -> None:
    rng = np.random.default_rng(4)
    base = rng.integers(0, 256, (200, 32), dtype=np.uint8)
    stored = np.concatenate([base, base[:5], [flip(base[0], [0])]])
    index = PdqIndex()
    index.build(stored, np.arange(len(stored), dtype=np.int64))
    assert index.search(base[:2], 0, "index") == [
        PdqHit(0, 0, 0),
        PdqHit(0, 200, 0),
        PdqHit(1, 1, 0),
        PdqHit(1, 201, 0),
    ]


def test_a_query_matching_thousands_grows_the_result_buffers() -> None:
    rng = np.random.default_rng(5)
    centre = rng.integers(0, 256, 32, dtype=np.uint8)
    stored = np.array([near(centre, i % 20, rng) for i in range(5000)])
    index = PdqIndex(chunks=16)
    index.build(stored, np.arange(5000, dtype=np.int64))
    for method in ("index", "scan"):
        found = index.search_arrays(centre[None, :], 31, method)  # type: ignore[arg-type]
        assert len(found) == 5000
        assert np.array_equal(np.sort(found.id), np.arange(5000))
        assert np.array_equal(found.distance, np.sort(np.arange(5000) % 20))


def test_threads_split_query_blocks_without_changing_results(
    planted: tuple[U8, I64, U8],
) -> None:
    stored, ids, queries = planted
    many = np.concatenate([queries] * 3)  # more than one QUERY_BLOCK
    assert len(many) > pdq_index.QUERY_BLOCK
    single = PdqIndex(threads=1)
    single.build(stored, ids)
    double = PdqIndex(threads=2)
    double.build(stored, ids)
    assert single.search(many) == double.search(many) == brute_force(stored, ids, many, 31)


def test_search_dihedral_reports_the_closest_variant() -> None:
    rng = np.random.default_rng(6)
    variants = rng.integers(0, 256, (2, 8, 32), dtype=np.uint8)
    stored = np.array(
        [
            near(variants[0, 3], 2, rng),  # id 10: variant 3 at 2 bits
            flip(variants[0, 5], [0]),  # id 11: variant 5 at 1 bit
            variants[1, 7],  # id 12: variant 7 exactly
            variants[1, 2],  # id 13: equal to variants 2 and 4 of item 1: lowest index wins
        ]
    )
    variants[1, 4] = variants[1, 2]
    index = PdqIndex()
    index.build(stored, np.arange(10, 14, dtype=np.int64))
    assert index.search_dihedral(variants) == [
        DihedralHit(0, 5, 11, 1),
        DihedralHit(0, 3, 10, 2),
        DihedralHit(1, 7, 12, 0),
        DihedralHit(1, 2, 13, 0),
    ]
    # The same stored hash near two variants of one item is one hit, at the closer variant.
    both = PdqIndex()
    both.build(np.array([flip(variants[0, 1], [1, 2, 3])]), np.array([99], np.int64))
    variants[0, 6] = flip(variants[0, 1], [1])
    assert both.search_dihedral(variants[:1]) == [DihedralHit(0, 6, 99, 2)]
    with pytest.raises(ValueError, match=r"\(Q, 8, 32\)"):
        index.search_dihedral(variants[:, :4])


def test_reference_pdq_hashes_of_the_bridge_modifications() -> None:
    """Benign ThreatExchange reference photos: modified bridges match the original."""
    with (SHARED_DATA / "threatexchange" / "COMPUTED_pdqhash_0.2.8.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    stored = np.array([np.frombuffer(bytes.fromhex(r["pdq_hex"]), np.uint8) for r in rows])
    ids = np.arange(len(rows), dtype=np.int64)
    original = [i for i, r in enumerate(rows) if r["image_path"].endswith("aaa-orig.jpg")]
    index = PdqIndex()
    index.build(stored, ids)
    hits = index.search(stored[original])
    assert hits == brute_force(stored, ids, stored[original], 31)
    matched = {rows[h.id]["image_path"] for h in hits}
    assert len(hits) == 29  # the bridge's edits and colour modes, all within 16 bits
    assert {r["image_path"] for r in rows if "bridge-mods/" in r["image_path"]} <= matched
    # Rotated and flipped copies are 106-128 bits away: only dihedral queries find them.
    assert {p for p in matched if "/dih/" in p} == {
        "pdq/data/reg-test-input/dih/bridge-1-original.jpg"
    }


def test_reference_haystack_and_needles() -> None:
    """ThreatExchange's own MIH regression input: 100 needles against 1,350 hashes."""
    folder = SHARED_DATA / "threatexchange" / "pdq" / "data" / "reg-test-input"

    def read(name: str) -> U8:
        lines = (folder / name).read_text().split()
        return np.array([np.frombuffer(bytes.fromhex(line), np.uint8) for line in lines])

    haystack, needles = read("haystack.txt"), read("needles.txt")
    ids = np.arange(len(haystack), dtype=np.int64)
    index = PdqIndex()
    index.build(haystack, ids)
    for radius in (0, 31, 52):
        expected = brute_force(haystack, ids, needles, radius)
        assert index.search(needles, radius, "index") == expected
        assert index.search(needles, radius) == expected
    assert len(brute_force(haystack, ids, needles, 31)) > 100  # the set is clustered


def test_save_and_load_round_trip_with_documented_files(
    planted: tuple[U8, I64, U8], tmp_path: Path
) -> None:
    stored, ids, queries = planted
    index = PdqIndex(chunks=12)
    index.build(stored[:3000], ids[:3000])
    index.add(stored[3000:], ids[3000:])
    index.save(tmp_path / "pdq")
    manifest = json.loads((tmp_path / "pdq" / "manifest.json").read_text())
    assert manifest["format"] == "cairn-pdq-index"
    assert manifest["version"] == 1
    assert manifest["chunks"] == 12
    assert [s["count"] for s in manifest["segments"]] == [3000, 600]
    first = tmp_path / "pdq" / manifest["segments"][0]["name"]
    assert sorted(p.name for p in first.iterdir()) == [
        "hashes.npy",
        "ids.npy",
        "offsets.npy",
        "rows.npy",
        "segment.json",
    ]
    assert json.loads((first / "segment.json").read_text()) == {"widths": [22] * 4 + [21] * 8}
    assert np.array_equal(np.load(first / "hashes.npy"), stored[:3000])
    assert np.load(first / "rows.npy").shape == (12, 3000)
    assert np.load(first / "offsets.npy").shape == (4 * (2**22 + 1) + 8 * (2**21 + 1),)

    loaded = PdqIndex.load(tmp_path / "pdq")
    assert loaded.chunks == 12
    assert loaded.segment_sizes == [3000, 600]
    assert isinstance(loaded._segments[0].hashes.base, np.memmap)
    assert not loaded._segments[0].rows.flags.writeable
    for radius in (0, 31, 52):
        assert loaded.search(queries, radius) == index.search(queries, radius)


def test_save_writes_only_new_segments_and_drops_merged_ones(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    stored = rng.integers(0, 256, (1300, 32), dtype=np.uint8)
    ids = np.arange(1300, dtype=np.int64)
    index = PdqIndex()
    index.build(stored[:1000], ids[:1000])
    index.save(tmp_path)
    (old,) = [p for p in tmp_path.iterdir() if p.name.startswith("seg-")]
    stamp = (old / "hashes.npy").stat().st_mtime_ns
    loaded = PdqIndex.load(tmp_path)
    loaded.add(stored[1000:1100], ids[1000:1100])
    loaded.save(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("seg-"))
    assert len(names) == 2 and old.name in names
    assert (old / "hashes.npy").stat().st_mtime_ns == stamp  # untouched, still mapped
    loaded.add(stored[1100:], ids[1100:])  # 200 * 4 >= 100, 300 * 4 >= 1000: one segment
    loaded.save(tmp_path)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("seg-")] == [
        loaded._segments[0].name
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", loaded._segments[0].name]
    assert PdqIndex.load(tmp_path).search(stored, 0) == [PdqHit(i, i, 0) for i in range(1300)]


def test_empty_index_round_trip(tmp_path: Path) -> None:
    PdqIndex().save(tmp_path / "empty")
    loaded = PdqIndex.load(tmp_path / "empty")
    assert len(loaded) == 0
    assert loaded.search(np.zeros((1, 32), np.uint8)) == []


def test_load_rejects_inconsistent_segments(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    index = PdqIndex(chunks=16)
    index.build(rng.integers(0, 256, (100, 32), dtype=np.uint8), np.arange(100, dtype=np.int64))
    index.save(tmp_path)
    segment = tmp_path / index._segments[0].name
    (segment / "segment.json").write_text(json.dumps({"widths": [16] * 15}))
    with pytest.raises(IndexFileError, match="do not split 256 bits"):
        PdqIndex.load(tmp_path)
    (segment / "segment.json").write_text(json.dumps({"widths": [32] * 8}))
    with pytest.raises(IndexFileError, match=r"rows.npy is uint32 \(16, 100\)"):
        PdqIndex.load(tmp_path)
    (segment / "segment.json").write_text(json.dumps({"widths": [16] * 16}))
    offsets = np.load(segment / "offsets.npy")
    offsets[-1] = 99
    np.save(segment / "offsets.npy", offsets)
    with pytest.raises(IndexFileError, match="does not end each chunk at the row count"):
        PdqIndex.load(tmp_path)
    np.save(segment / "ids.npy", np.arange(100, dtype=np.int32))
    with pytest.raises(IndexFileError, match=r"ids.npy is int32"):
        PdqIndex.load(tmp_path)


@pytest.mark.parametrize(
    ("queries", "radius", "method", "error", "message"),
    [
        (np.zeros((2, 32), np.int64), 31, "auto", ValueError, r"uint8 of shape \(Q, 32\)"),
        (np.zeros((2, 31), np.uint8), 31, "auto", ValueError, r"got uint8 \(2, 31\)"),
        (np.zeros(32, np.uint8), 31, "auto", ValueError, r"got uint8 \(32,\)"),
        (np.zeros((2, 32), np.uint8), -1, "auto", ValueError, "radius must be 0..256"),
        (np.zeros((2, 32), np.uint8), 257, "auto", ValueError, "radius must be 0..256"),
        (np.zeros((2, 32), np.uint8), 31.0, "auto", TypeError, "radius must be an int"),
        (np.zeros((2, 32), np.uint8), True, "auto", TypeError, "radius must be an int"),
        (np.zeros((2, 32), np.uint8), 31, "fast", ValueError, "method must be auto"),
    ],
)
def test_search_rejects_bad_input(
    queries: U8, radius: int, method: str, error: type[Exception], message: str
) -> None:
    index = PdqIndex()
    index.build(np.zeros((3, 32), np.uint8), np.arange(3, dtype=np.int64))
    with pytest.raises(error, match=message):
        index.search(queries, radius, method)  # type: ignore[arg-type]


def test_build_rejects_bad_input() -> None:
    index = PdqIndex()
    hashes = np.zeros((3, 32), np.uint8)
    with pytest.raises(ValueError, match=r"keys must be uint8 of shape \(N, 32\)"):
        index.build(hashes.astype(np.int16), np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"ids must be int64 of shape \(3,\), got int32"):
        index.build(hashes, np.arange(3, dtype=np.int32))
    with pytest.raises(ValueError, match=r"ids must be int64 of shape \(3,\), got int64 \(2,\)"):
        index.add(hashes, np.arange(2, dtype=np.int64))
    with pytest.raises(ValueError, match=r"chunks must be 10\.\.64, got 8"):
        PdqIndex(chunks=8)
    assert len(index) == 0


def test_chunk_layouts() -> None:
    assert chunk_widths(12) == (22,) * 4 + (21,) * 8
    assert chunk_widths(64) == (4,) * 64
    assert sum(chunk_widths(37)) == 256
    assert choose_chunks(10_000_000) == 12
    assert choose_chunks(1_000_000) == 15
    assert choose_chunks(1) == 64
