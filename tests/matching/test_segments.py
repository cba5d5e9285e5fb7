"""Index folders: manifest checks, crash-safe saves, and clear errors for damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cairn.core.errors import CairnError
from cairn.matching.pdq_index import PdqHit, PdqIndex
from cairn.matching.segments import IndexFileError, run_all


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Path]:
    """A saved one-segment PDQ index of 20 hashes: (index folder, segment folder)."""
    hashes = np.random.default_rng(0).integers(0, 256, (20, 32), dtype=np.uint8)
    index = PdqIndex()
    index.build(hashes, np.arange(20, dtype=np.int64))
    index.save(tmp_path / "index")
    return tmp_path / "index", tmp_path / "index" / index._segments[0].name


def test_missing_folder_or_manifest(tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match=r"no manifest\.json: not an index folder"):
        PdqIndex.load(tmp_path / "absent")
    assert issubclass(IndexFileError, CairnError)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{not json", "unreadable"),
        ("[1, 2]", "not a cairn-pdq-index folder"),
        ('{"format": "cairn-digest-index", "version": 1}', "not a cairn-pdq-index folder"),
        ('{"format": "cairn-pdq-index", "version": 2}', "version 2, this Cairn reads version 1"),
        ('{"format": "cairn-pdq-index", "version": 1, "chunks": 5}', "chunks must be 10..64"),
        (
            '{"format": "cairn-pdq-index", "version": 1,'
            ' "segments": [{"name": "../x", "count": 1}]}',
            "bad segment name '../x'",
        ),
    ],
)
def test_bad_manifests(saved: tuple[Path, Path], manifest: str, message: str) -> None:
    folder, _ = saved
    (folder / "manifest.json").write_text(manifest)
    with pytest.raises(IndexFileError, match=message):
        PdqIndex.load(folder)


def test_count_mismatch_missing_and_truncated_files(saved: tuple[Path, Path]) -> None:
    folder, segment = saved
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["segments"][0]["count"] = 21
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFileError, match="20 entries, manifest says 21"):
        PdqIndex.load(folder)
    manifest["segments"][0]["count"] = 20
    (folder / "manifest.json").write_text(json.dumps(manifest))
    data = (segment / "hashes.npy").read_bytes()
    (segment / "hashes.npy").write_bytes(data[:-100])
    with pytest.raises(IndexFileError, match=segment.name):
        PdqIndex.load(folder)
    (segment / "hashes.npy").unlink()
    with pytest.raises(IndexFileError, match="'hashes'"):
        PdqIndex.load(folder)


def test_pickled_arrays_are_refused(saved: tuple[Path, Path]) -> None:
    folder, segment = saved
    np.save(segment / "ids.npy", np.array([object()] * 20), allow_pickle=True)
    with pytest.raises(IndexFileError, match="pickle"):
        PdqIndex.load(folder)


def test_an_interrupted_save_leaves_the_previous_index(saved: tuple[Path, Path]) -> None:
    folder, segment = saved
    index = PdqIndex.load(folder)
    index.add(np.zeros((2, 32), np.uint8), np.array([100, 101], np.int64))
    # A crash after writing a staging folder and manifest, before the renames:
    (folder / f".{index._segments[-1].name}.tmp").mkdir()
    (folder / ".manifest.json.tmp").write_text("{partial")
    reopened = PdqIndex.load(folder)
    assert reopened.segment_sizes == [20]
    index.save(folder)  # the next save replaces the leftovers
    assert PdqIndex.load(folder).search(np.zeros((1, 32), np.uint8), 0) == [
        PdqHit(0, 100, 0),
        PdqHit(0, 101, 0),
    ]
    assert not (folder / ".manifest.json.tmp").exists()
    assert segment.exists()


def test_run_all_keeps_the_order() -> None:
    assert run_all(lambda x: x * x, range(10), 2) == [x * x for x in range(10)]
    assert run_all(lambda x: x + 1, [], 2) == []
    assert run_all(lambda x: x + 1, [1], 1) == [2]
