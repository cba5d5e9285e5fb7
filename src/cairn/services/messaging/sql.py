"""What the package's queries share: keeping IN (...) lists short."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def chunks(values: list[T], size: int = 5000) -> Iterator[list[T]]:
    """`values` in slices short enough for one IN (...) list on every database."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
