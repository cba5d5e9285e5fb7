"""Known-file sets: entries written in column batches, read back by position, searched through
the workspace's known-material indexes, removed."""

from __future__ import annotations

import hashlib
import json
from array import array
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from cairn.matching.known import KnownIndexes
from cairn.matching.known_files import (
    KnownFileEntry,
    KnownFileSet,
    KnownFileWriter,
    known_file_sets,
    remove_known_file_set,
)

WIDTH = {"md5": 16, "sha1": 20, "sha256": 32}
EXTRAS = [(("package_id", "1"),), (("ProductCode", "9"), ("SpecialCode", "M")), ()]


def digest(kind: str, n: int) -> bytes:
    return hashlib.new(kind, f"benign file {n}".encode()).digest()


def column(kind: str, numbers: list[int | None]) -> npt.NDArray[np.uint8]:
    raw = b"".join(bytes(WIDTH[kind]) if n is None else digest(kind, n) for n in numbers)
    return np.frombuffer(raw, np.uint8).reshape(-1, WIDTH[kind])


def write_set(indexes: Path, chunk_rows: int) -> tuple[KnownFileWriter, list[KnownFileEntry]]:
    """Three batches: full digests; one without SHA-256 and a row without SHA-1; full again."""
    writer = KnownFileWriter(indexes, first_id=101, chunk_rows=chunk_rows)
    writer.add(
        {"md5": column("md5", [0, 1]), "sha1": column("sha1", [0, 1]), "sha256": None},
        ["a.dll", ""],
        [10, None],
        [0, 2],
    )
    writer.add(
        {"md5": column("md5", [2, 3]), "sha1": column("sha1", [2, None])},
        ["caf\xe9.txt", None],
        [0, 3],
        [1, 1],
    )
    writer.add(
        {kind: column(kind, [4]) for kind in WIDTH},
        ["\u65e5\u672c.exe"],
        [2**40],
        [0],
    )
    writer.finish(7, "ab" * 32, EXTRAS)
    expected = [
        KnownFileEntry(
            digest("md5", 0).hex(), digest("sha1", 0).hex(), None, "a.dll", 10, EXTRAS[0]
        ),
        KnownFileEntry(digest("md5", 1).hex(), digest("sha1", 1).hex(), None, None, None, ()),
        KnownFileEntry(
            digest("md5", 2).hex(), digest("sha1", 2).hex(), None, "caf\xe9.txt", 0, EXTRAS[1]
        ),
        KnownFileEntry(digest("md5", 3).hex(), None, None, None, 3, EXTRAS[1]),
        KnownFileEntry(
            digest("md5", 4).hex(),
            digest("sha1", 4).hex(),
            digest("sha256", 4).hex(),
            "\u65e5\u672c.exe",
            2**40,
            EXTRAS[0],
        ),
    ]
    return writer, expected


@pytest.mark.parametrize("chunk_rows", [1, 3, 1000])
def test_entries_round_trip_and_are_found_by_digest(tmp_path: Path, chunk_rows: int) -> None:
    indexes = tmp_path / "indexes"
    writer, expected = write_set(indexes, chunk_rows)
    assert known_file_sets(indexes) == []  # not published yet: matching does not see it
    folder = writer.publish(indexes, 7)
    assert folder == indexes / "sets" / "7"
    assert sorted(p.name for p in (indexes / "sets").iterdir()) == ["7"]
    [known_set] = known_file_sets(indexes)
    assert (known_set.hashset_id, known_set.first_id, known_set.count) == (7, 101, 5)
    assert known_set.digest_kinds == ("md5", "sha1", "sha256")
    assert known_set.indexed == ("md5", "sha1", "sha256")
    assert list(known_set) == expected
    assert list(known_set.entries([4, 0, 3])) == [expected[4], expected[0], expected[3]]
    assert [known_set.contains(i) for i in (100, 101, 105, 106)] == [False, True, True, False]
    # A segment per chunk_rows (or more, to the end of the batch): the import never holds
    # much more than a chunk of digests. MD5s: of the four entries without a SHA-256 only.
    manifest = json.loads((folder / "md5" / "manifest.json").read_text())
    assert [s["count"] for s in manifest["segments"]] == {
        1: [2, 2],
        3: [4],
        1000: [4],
    }[chunk_rows]

    found = KnownIndexes(indexes)
    queries = np.stack([column("sha1", [n])[0] for n in (9, 3, 2, 0)])
    rows, ids = found.lookup("sha1", queries)
    assert sorted(zip(rows.tolist(), ids.tolist(), strict=True)) == [(2, 103), (3, 101)]
    rows, ids = found.lookup("sha256", column("sha256", [4]))
    assert (rows.tolist(), ids.tolist()) == ([0], [105])
    # An entry with a SHA-256 is found by it alone (docs/matching.md, known-file sets).
    for kind in ("md5", "sha1"):
        assert found.lookup(kind, column(kind, [4]))[1].tolist() == []
    rows, ids = found.lookup("md5", np.empty((0, 16), np.uint8))
    assert (rows.tolist(), ids.tolist()) == ([], [])

    assert remove_known_file_set(indexes, 7)
    assert not remove_known_file_set(indexes, 7)
    assert known_file_sets(indexes) == []
    assert KnownIndexes(indexes).lookup("md5", column("md5", [0]))[1].tolist() == []


def test_a_set_searched_with_the_workspace_index(tmp_path: Path) -> None:
    indexes = tmp_path / "indexes"
    writer, _ = write_set(indexes, 1000)
    writer.publish(indexes, 7)
    keys = {kind: bytearray() for kind in ("md5", "sha1", "sha256", "pdq")}
    ids = {kind: array("q") for kind in keys}
    keys["md5"] += digest("md5", 0)
    ids["md5"].append(1)
    KnownIndexes(indexes).add(keys, ids)
    rows, found = KnownIndexes(indexes).lookup("md5", column("md5", [0, 1]))
    assert sorted(zip(rows.tolist(), found.tolist(), strict=True)) == [(0, 1), (0, 101), (1, 102)]


def test_discard_leaves_nothing(tmp_path: Path) -> None:
    indexes = tmp_path / "indexes"
    writer = KnownFileWriter(indexes, first_id=1)
    writer.add({"md5": column("md5", [0])}, ["x"], [1], [0])
    writer.discard()
    assert list((indexes / "sets").iterdir()) == []


def test_an_empty_set(tmp_path: Path) -> None:
    indexes = tmp_path / "indexes"
    writer = KnownFileWriter(indexes, first_id=1)
    writer.finish(3, "00" * 32, [])
    writer.publish(indexes, 3)
    [known_set] = known_file_sets(indexes)
    assert (known_set.count, known_set.digest_kinds, known_set.indexed) == (0, (), ())
    assert list(known_set) == []


def test_a_damaged_set_folder_is_reported(tmp_path: Path) -> None:
    from cairn.matching.segments import IndexFileError

    folder = tmp_path / "indexes" / "sets" / "4"
    folder.mkdir(parents=True)
    (folder / "set.json").write_text('{"format": "something else"}')
    with pytest.raises(IndexFileError, match="not a cairn-known-files version 1 folder"):
        KnownFileSet(folder)
