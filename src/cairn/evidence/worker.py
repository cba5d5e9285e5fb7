"""What runs inside a worker process: open the source once per process, process units.

The source travels as its class (pickled by reference, so by module and name) rather than as a
registry key: a worker then runs exactly the class the parent enumerated with, including one a
caller defined outside the registry.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cairn.core.records import EntryRecord, ErrorRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import EvidenceSource, Unit

_sources: dict[tuple[type[EvidenceSource], str], EvidenceSource] = {}

CRASH_ERROR = ErrorRecord("crash", "analysis crashed its worker process; retried hashing only")
HASH_CRASH_ERROR = ErrorRecord("crash", "even hashing crashed its worker process; no digests")


def _source(cls: type[EvidenceSource], root: str) -> EvidenceSource:
    key = (cls, root)
    source = _sources.get(key)
    if source is None:
        source = _sources[key] = cls(Path(root))
    return source


def process_batch(
    cls: type[EvidenceSource], root: str, units: list[Unit], settings: AnalysisSettings
) -> list[UnitResult]:
    source = _source(cls, root)
    return [source.process(unit, settings) for unit in units]


def hash_only(settings: AnalysisSettings) -> AnalysisSettings:
    """Settings for a retry after a unit crashed its worker: digests, no decoding or expanding.

    A native decoder can die on hostile input (and take the process with it); the retry must
    still record the file's digests. Depth 0 stops archive expansion too, which would otherwise
    reopen the file and run the same native reader again.
    """
    return dataclasses.replace(settings, max_buffer_bytes=0, max_archive_depth=0, thumbnails=False)


def crashed(result: UnitResult) -> UnitResult:
    """A hash-only retry's result, marked: its analysis crashed, so only digests are known."""
    head, *rest = result.entries
    head = dataclasses.replace(head, errors=(*head.errors, CRASH_ERROR))
    return UnitResult(result.unit_path, (head, *rest))


def unreadable(unit: Unit) -> UnitResult:
    """The record of a unit whose hash-only retry crashed too: enumerated, never read."""
    entry: EntryRecord = dataclasses.replace(
        unit.entry, errors=(*unit.entry.errors, HASH_CRASH_ERROR)
    )
    return UnitResult(unit.path, (entry,))
