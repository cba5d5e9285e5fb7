"""PDQ's thresholds are defined once; the values are docs/formats.md's and issue 3's."""

from __future__ import annotations

from cairn.core.thresholds import PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY, PDQ_POSSIBLE_MAX
from cairn.matching.pdq_index import PdqIndex
from cairn.services.hashsets import import_hashset


def test_the_values() -> None:
    assert (PDQ_MATCH_DISTANCE, PDQ_POSSIBLE_MAX, PDQ_MIN_QUALITY) == (31, 52, 50)


def test_defaults_use_them() -> None:
    assert PdqIndex.search.__defaults__ == (PDQ_MATCH_DISTANCE, "auto")
    assert import_hashset.__kwdefaults__["pdq_threshold"] == PDQ_MATCH_DISTANCE
