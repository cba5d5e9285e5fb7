"""A folder as evidence: a mounted copy, a logical extraction, an unpacked cloud export.

Symlinks are never followed (so loops are impossible) and non-regular entries (symlinks,
FIFOs, devices, sockets) are recorded without being opened: opening a FIFO would block the
run, and opening a device would read whatever it is attached to.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from cairn.core.records import EntryRecord, ErrorRecord, FileTimes, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind
from cairn.evidence.analysis import analyse_file, error_text, finish_entry
from cairn.evidence.base import EvidenceSource, Unit

_NON_REGULAR = (
    (stat.S_ISLNK, EntryKind.SYMLINK),
    (stat.S_ISFIFO, EntryKind.FIFO),
    (stat.S_ISCHR, EntryKind.DEVICE),
    (stat.S_ISBLK, EntryKind.DEVICE),
    (stat.S_ISSOCK, EntryKind.SOCKET),
)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def entry_from_stat(path: bytes, st: os.stat_result) -> EntryRecord:
    """An entry's metadata from lstat: kind, size, MAC times, inode."""
    kind = EntryKind.FILE
    for test, non_regular in _NON_REGULAR:
        if test(st.st_mode):
            kind = non_regular
            break
    return EntryRecord(
        path=path,
        kind=kind,
        size=st.st_size if kind is EntryKind.FILE else None,
        inode=str(st.st_ino),
        times=FileTimes(mtime=_utc(st.st_mtime), ctime=_utc(st.st_ctime), atime=_utc(st.st_atime)),
    )


class DirectorySource(EvidenceSource):
    kind = "directory"

    @classmethod
    def probe(cls, path: Path) -> bool:
        return path.is_dir()

    def units(self) -> Iterator[Unit | EntryRecord]:
        root = os.fsencode(self.root)
        yield from self._walk(root, b"", set())

    def _walk(
        self, absolute: bytes, relative: bytes, seen: set[tuple[int, int]]
    ) -> Iterator[Unit | EntryRecord]:
        try:
            st = os.stat(absolute, follow_symlinks=False)
            # A bind mount can bring a folder back inside itself; never walk one twice.
            if (st.st_dev, st.st_ino) in seen:
                return
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(absolute) as it:
                names = sorted(entry.name for entry in it)
        except OSError as exc:
            yield EntryRecord(
                path=relative or b".",
                kind=EntryKind.DIRECTORY,
                errors=(ErrorRecord("read", f"cannot list folder: {error_text(exc)}"),),
            )
            return
        for name in names:
            child_abs = absolute + b"/" + name
            child_rel = relative + b"/" + name if relative else name
            try:
                child = os.stat(child_abs, follow_symlinks=False)
            except OSError as exc:  # vanished between listing and stat, or unreachable
                yield EntryRecord(
                    path=child_rel,
                    kind=EntryKind.FILE,
                    errors=(ErrorRecord("read", error_text(exc)),),
                )
                continue
            if stat.S_ISDIR(child.st_mode):
                yield from self._walk(child_abs, child_rel, seen)
                continue
            entry = entry_from_stat(child_rel, child)
            if entry.kind is EntryKind.FILE:
                yield Unit(entry=entry, locator=child_abs)
            else:
                yield entry

    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        assert isinstance(unit.locator, bytes)
        analysis = analyse_file(unit.locator, unit.path, 0, settings, unit.size)
        return UnitResult(unit.path, finish_entry(unit.entry, analysis))


class FileSource(EvidenceSource):
    """A single file as evidence (an archive, a database, one photo): its own top-level unit."""

    kind = "file"

    @classmethod
    def probe(cls, path: Path) -> bool:
        return path.is_file()

    def units(self) -> Iterator[Unit | EntryRecord]:
        absolute = os.fsencode(self.root)
        name = os.fsencode(self.root.name)
        try:
            st = os.stat(absolute)
        except OSError as exc:
            yield EntryRecord(path=name, kind=EntryKind.FILE, errors=(ErrorRecord("read", error_text(exc)),))
            return
        yield Unit(entry=entry_from_stat(name, st), locator=absolute)

    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        assert isinstance(unit.locator, bytes)
        analysis = analyse_file(unit.locator, unit.path, 0, settings, unit.size)
        return UnitResult(unit.path, finish_entry(unit.entry, analysis))
