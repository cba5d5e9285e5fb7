"""What runs inside a worker process: open the source once per process, process units."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cairn.core.records import ErrorRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import EvidenceSource, Unit
from cairn.evidence.registry import by_kind

_sources: dict[tuple[str, str], EvidenceSource] = {}


def _source(kind: str, root: str) -> EvidenceSource:
    key = (kind, root)
    source = _sources.get(key)
    if source is None:
        source = _sources[key] = by_kind(kind)(Path(root))
    return source


def process_batch(
    kind: str, root: str, units: list[Unit], settings: AnalysisSettings
) -> list[UnitResult]:
    source = _source(kind, root)
    return [source.process(unit, settings) for unit in units]


def hash_only(settings: AnalysisSettings) -> AnalysisSettings:
    """Settings for a retry after a unit crashed its worker: digests, no decoding or expanding.

    A native decoder can die on hostile input (and take the process with it); the retry must
    still record the file's digests.
    """
    return dataclasses.replace(settings, max_buffer_bytes=0, thumbnails=False)


CRASH_ERROR = ErrorRecord("crash", "analysis crashed its worker process; retried hashing only")
