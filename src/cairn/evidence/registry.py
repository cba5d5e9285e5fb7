"""The table of evidence-source kinds, probed in this order when `--source-kind` is not given.

Adding a source kind is adding a module and one line here.
"""

from __future__ import annotations

from pathlib import Path

from cairn.core.errors import UsageError
from cairn.evidence.base import EvidenceSource
from cairn.evidence.directory import DirectorySource, FileSource
from cairn.evidence.diskimage.source import DiskImageSource
from cairn.evidence.phone import AndroidExtractionSource

SOURCES: tuple[type[EvidenceSource], ...] = (
    AndroidExtractionSource,  # before the folder and file kinds it specialises
    DirectorySource,
    DiskImageSource,  # EWF signature, else a partition table, else a file system at offset 0
    FileSource,  # last: anything readable is at least a single file (an archive is one)
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
