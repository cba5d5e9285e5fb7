"""The evidence-source plugin interface.

A source enumerates *units* in the parent process (cheap: names and metadata only) and a worker
process turns each unit into records (expensive: reading and hashing). A unit is a top-level
entry with everything nested in it, and it is committed all or nothing, so a killed ingest
resumes by skipping the units already stored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from cairn.core.records import EntryRecord, UnitResult
from cairn.core.settings import AnalysisSettings


@dataclass(frozen=True)
class Unit:
    """A picklable pointer to one top-level entry that a worker can open by itself.

    `entry` carries what enumeration already knows (path, size, times, inode, deleted state);
    the worker adds content, flags, errors and nested members.
    """

    entry: EntryRecord
    locator: str | bytes | int  # source-specific: an absolute path, an inode, ...

    @property
    def path(self) -> bytes:
        return self.entry.path

    @property
    def size(self) -> int | None:
        return self.entry.size


class EvidenceSource(ABC):
    """One kind of evidence. Subclasses are listed in `cairn.evidence.registry`."""

    kind: ClassVar[str]

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    @abstractmethod
    def probe(cls, path: Path) -> bool:
        """Whether `path` looks like this kind of source (checked in registry order)."""

    @abstractmethod
    def units(self) -> Iterator[Unit | EntryRecord]:
        """Enumerate the source in a stable order.

        Entries that need no reading (symlinks, FIFOs, devices) come back as finished records.
        """

    def describe(self) -> dict[str, str]:
        """Source facts worth keeping with the evidence (e.g. an E01's acquisition header)."""
        return {}

    @abstractmethod
    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        """Read, hash and analyse one unit. Runs in a worker; must not raise for bad data."""
