"""A folder as evidence: a mounted copy, a logical extraction, an unpacked cloud export.

Symlinks are never followed (so loops are impossible) and non-regular entries (symlinks,
FIFOs, devices, sockets) are recorded without being opened: opening a FIFO would block the
run, and opening a device would read whatever it is attached to. Folders are listed through
descriptors opened with O_NOATIME like files, because listing a folder updates its access
time too.

Everything is opened relative to a descriptor: each folder of the walk beneath its parent's,
each file (in a worker) beneath the descriptor of the root, never by an absolute path, and no
symlink is followed in any component (`evidence.beneath`). A folder swapped for a symlink
while the walk runs (or after it listed a file) is therefore refused with ELOOP and recorded,
never read through; and paths longer than PATH_MAX (deep trees exist in seized data) work.
"""

from __future__ import annotations

import os
import stat
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cairn.core.records import EntryRecord, ErrorRecord, FileTimes, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind
from cairn.evidence.analysis import (
    Analysis,
    analyse_stream,
    error_text,
    finish_entry,
    open_readonly,
)
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


def process_file(unit: Unit, settings: AnalysisSettings, opener: Callable[[], int]) -> UnitResult:
    """Open a file read-only with `opener`, then hash and analyse it."""
    try:
        fd = opener()
    except OSError as exc:  # vanished since enumeration, unreadable, a symlink now, ...
        analysis = Analysis(errors=[ErrorRecord("read", error_text(exc))])
    else:
        with open(fd, "rb", buffering=0) as stream:
            analysis = analyse_stream(stream, unit.path, 0, settings, size=unit.size, reopen=opener)
    return UnitResult(unit.path, finish_entry(unit.entry, analysis))


@dataclass
class _Folder:
    """A folder being walked: its open descriptor and the children still to visit."""

    fd: int
    identity: tuple[int, int]  # (st_dev, st_ino): the same folder seen again is a loop
    absolute: bytes
    relative: bytes
    children: list[tuple[bytes, bool]]  # (name, is a folder per d_type), reverse-sorted

    def child_paths(self, name: bytes) -> tuple[bytes, bytes]:
        relative = self.relative + b"/" + name if self.relative else name
        return self.absolute.rstrip(b"/") + b"/" + name, relative  # rstrip: the root may be "/"


def _folder_error(relative: bytes, exc: OSError | str) -> EntryRecord:
    reason = exc if isinstance(exc, str) else error_text(exc)
    return EntryRecord(
        path=relative or b".",
        kind=EntryKind.DIRECTORY,
        errors=(ErrorRecord("read", f"cannot list folder: {reason}"),),
    )


def _open_folder(
    name: bytes, parent_fd: int | None, absolute: bytes, relative: bytes
) -> _Folder | EntryRecord:
    """Open and list a folder: `name` beneath `parent_fd`, or the root (`name` absolute)."""
    try:
        fd = open_readonly(name, parent_fd)
    except OSError as exc:
        return _folder_error(relative, exc)
    try:
        st = os.fstat(fd)
        if not stat.S_ISDIR(st.st_mode):  # replaced since it was seen
            os.close(fd)
            return _folder_error(relative, "no longer a folder")
        with os.scandir(fd) as it:
            # Names come back as str for a descriptor; fsencode restores the exact bytes.
            children = [(os.fsencode(e.name), e.is_dir(follow_symlinks=False)) for e in it]
    except OSError as exc:
        os.close(fd)
        return _folder_error(relative, exc)
    # Byte order, reversed so the walk pops the next child from the end in O(1).
    children.sort(reverse=True)
    return _Folder(fd, (st.st_dev, st.st_ino), absolute, relative, children)


class DirectorySource(EvidenceSource):
    kind = "directory"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._root_fd: int | None = None

    @classmethod
    def probe(cls, path: Path) -> bool:
        return path.is_dir()

    def _root(self) -> int:
        """The root's descriptor that files are opened beneath: opened once per source (so once
        per worker), closed with it."""
        if self._root_fd is None:
            self._root_fd = open_readonly(os.fsencode(self.root))
            weakref.finalize(self, os.close, self._root_fd)
        return self._root_fd

    def units(self) -> Iterator[Unit | EntryRecord]:
        """Depth-first in byte order of names, the same order every time (resuming skips by path).

        The walk keeps its own stack, not recursion, so depth is bounded by open descriptors
        only (one per level being walked), and children are stat'ed relative to their folder's
        descriptor, so no path is resolved from the root again.
        """
        stack: list[_Folder] = []
        ancestors: set[tuple[int, int]] = set()
        root = os.fsencode(self.root)
        opened = _open_folder(root, None, root, b"")
        if isinstance(opened, EntryRecord):
            yield opened
            return
        stack.append(opened)
        ancestors.add(opened.identity)
        try:
            while stack:
                folder = stack[-1]
                if not folder.children:
                    stack.pop()
                    ancestors.discard(folder.identity)
                    os.close(folder.fd)
                    continue
                name, was_dir = folder.children.pop()
                absolute, relative = folder.child_paths(name)
                try:
                    st = os.stat(name, dir_fd=folder.fd, follow_symlinks=False)
                except OSError as exc:  # vanished between listing and stat
                    yield (
                        _folder_error(relative, exc)
                        if was_dir
                        else EntryRecord(
                            path=relative,
                            kind=EntryKind.FILE,
                            errors=(ErrorRecord("read", error_text(exc)),),
                        )
                    )
                    continue
                if not stat.S_ISDIR(st.st_mode):
                    entry = entry_from_stat(relative, st)
                    yield Unit(entry=entry, locator=absolute) if entry.kind.is_regular else entry
                    continue
                if (st.st_dev, st.st_ino) in ancestors:  # a bind mount of a folder inside itself
                    yield _folder_error(relative, "folder loop (it contains itself); not walked")
                    continue
                child = _open_folder(name, folder.fd, absolute, relative)
                if isinstance(child, EntryRecord):
                    yield child
                else:
                    stack.append(child)
                    ancestors.add(child.identity)
        finally:  # also when the consumer stops early: no descriptor leaks
            for folder in stack:
                os.close(folder.fd)

    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        """A file beneath the root's descriptor by its relative path (the locator, absolute,
        is for readers that open a file by itself, such as messaging discovery)."""
        try:
            root = self._root()
        except OSError as exc:  # the root is gone, or a symlink now
            analysis = Analysis(errors=[ErrorRecord("read", error_text(exc))])
            return UnitResult(unit.path, finish_entry(unit.entry, analysis))
        return process_file(unit, settings, lambda: open_readonly(unit.path, root))


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
            st = os.stat(absolute, follow_symlinks=False)
        except OSError as exc:
            yield EntryRecord(
                path=name, kind=EntryKind.FILE, errors=(ErrorRecord("read", error_text(exc)),)
            )
            return
        entry = entry_from_stat(name, st)
        # Given a FIFO or a device with --source-kind file, record it: never open it.
        yield Unit(entry=entry, locator=absolute) if entry.kind.is_regular else entry

    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        absolute = unit.locator
        assert isinstance(absolute, bytes)
        return process_file(unit, settings, lambda: open_readonly(absolute))
