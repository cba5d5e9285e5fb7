"""KnownIndexes: the PDQ index sharded by the CAIRN_PDQ_SHARD_HASHES setting, kept sharded by
later adds and rebuilds, and searched (locally or by a given search) with the same rows."""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cairn.core.hash_kinds import KNOWN_HASH_NAMES
from cairn.matching.known import KnownIndexes
from cairn.matching.pdq_index import PdqIndex, PdqMatches
from cairn.matching.pdq_shards import SHARD_HASHES_ENV


def pdq_only(hashes: np.ndarray[Any, Any], first_id: int) -> tuple[dict[str, bytearray], dict]:
    keys = {kind: bytearray() for kind in KNOWN_HASH_NAMES}
    ids = {kind: array("q") for kind in KNOWN_HASH_NAMES}
    keys["pdq"] += hashes.tobytes()
    ids["pdq"].extend(range(first_id, first_id + len(hashes)))
    return keys, ids


def test_the_pdq_index_shards_by_the_setting_and_stays_sharded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)
    stored = rng.integers(0, 256, (900, 32), dtype=np.uint8)
    queries = stored[::7] ^ np.uint8(1)  # 32 bits from a stored hash each
    whole = PdqIndex()
    whole.build(stored, np.arange(1, 901, dtype=np.int64))
    expected = whole.search_arrays(queries, 52)
    folder = tmp_path / "indexes"

    monkeypatch.setenv(SHARD_HASHES_ENV, "400")
    KnownIndexes(folder).add(*pdq_only(stored[:300], 1))
    assert (folder / "pdq" / "manifest.json").is_file()  # under the cap: the plain folder
    KnownIndexes(folder).add(*pdq_only(stored[300:], 301))
    assert sorted(p.name for p in (folder / "pdq").iterdir()) == [
        "shard-00000",
        "shard-00001",
        "shard-00002",
        "shards.json",
    ]
    monkeypatch.delenv(SHARD_HASHES_ENV)
    found = KnownIndexes(folder).pdq_search(queries, 52)
    assert np.array_equal(found.query, expected.query)
    assert np.array_equal(found.id, expected.id)
    assert np.array_equal(found.distance, expected.distance)

    # A removal rebuilds: without the setting, the cap saved with the index still holds.
    KnownIndexes(folder).rebuild(*pdq_only(stored[:850], 1))
    assert len(list((folder / "pdq").glob("shard-*"))) == 3


def test_a_given_pdq_search_answers_instead(tmp_path: Path) -> None:
    stored = np.zeros((1, 32), np.uint8)
    KnownIndexes(tmp_path).add(*pdq_only(stored, 1))
    asked: list[tuple[Path, int]] = []

    def elsewhere(folder: Path, queries: np.ndarray[Any, Any], radius: int) -> PdqMatches:
        asked.append((folder, radius))
        one = np.array([7], np.int64)
        return PdqMatches(one, one, one)

    found = KnownIndexes(tmp_path, elsewhere).pdq_search(stored, 31)
    assert found.id.tolist() == [7]
    assert asked == [(tmp_path / "pdq", 31)]
