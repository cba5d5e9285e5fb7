"""The table of evidence-source kinds, probed in this order when `--source-kind` is not given.

Adding a source kind is adding a module and one line here.
"""

from __future__ import annotations

from pathlib import Path

from cairn.core.errors import UsageError
from cairn.evidence.base import EvidenceSource
from cairn.evidence.directory import DirectorySource, FileSource

SOURCES: tuple[type[EvidenceSource], ...] = (
    DirectorySource,
    FileSource,  # last: anything readable is at least a single file
)


def source_kinds() -> list[str]:
    return [source.kind for source in SOURCES]


def detect(path: Path) -> type[EvidenceSource]:
    for source in SOURCES:
        if source.probe(path):
            return source
    raise UsageError(f"{path}: not a folder or a readable file")


def by_kind(kind: str) -> type[EvidenceSource]:
    for source in SOURCES:
        if source.kind == kind:
            return source
    raise UsageError(f"unknown source kind {kind!r}; known: {', '.join(source_kinds())}")


def open_source(path: Path, kind: str | None = None) -> EvidenceSource:
    cls = by_kind(kind) if kind else detect(path)
    return cls(path)
