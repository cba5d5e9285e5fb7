"""A folder as evidence: a mounted copy, a logical extraction, an unpacked cloud export.

Symlinks are never followed (so loops are impossible) and non-regular entries (symlinks,
FIFOs, devices, sockets) are recorded without being opened: opening a FIFO would block the
run, and opening a device would read whatever it is attached to. Folders are listed through
descriptors opened with O_NOATIME like files, because listing a folder updates its access
time too, and paths longer than PATH_MAX (deep trees exist in seized data) still work.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
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

# Linux's PATH_MAX: the kernel refuses a longer path with ENAMETOOLONG.
_PATH_MAX = 4096


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


def open_path(absolute: bytes) -> int:
    """`open_readonly` for a path of any length.

    A path longer than PATH_MAX is cut at a '/' below the limit; the head is opened with
    O_PATH (no read, so no access-time change) and the rest is named through
    /proc/self/fd/N/..., which is short again. The O_NOATIME policy stays in one place.
    """
    if len(absolute) < _PATH_MAX:
        return open_readonly(absolute)
    # Leave room for the "/proc/self/fd/N/" prefix the rest is put under.
    cut = absolute.rfind(b"/", 0, _PATH_MAX - 64)
    if cut <= 0:  # no '/' in the first PATH_MAX bytes: no component is that long
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), absolute[:64])
    head = os.open(absolute[:cut], os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return open_path(b"/proc/self/fd/%d/%s" % (head, absolute[cut + 1 :]))
    finally:
        os.close(head)


def process_file(unit: Unit, settings: AnalysisSettings) -> UnitResult:
    """Open a file read-only (any path length), then hash and analyse it."""
    absolute = unit.locator
    assert isinstance(absolute, bytes)
    try:
        fd = open_path(absolute)
    except OSError as exc:  # vanished since enumeration, unreadable, ...
        analysis = Analysis(errors=[ErrorRecord("read", error_text(exc))])
    else:
        with open(fd, "rb", buffering=0) as stream:
            analysis = analyse_stream(
                stream,
                unit.path,
                0,
                settings,
                size=unit.size,
                reopen=lambda: open_path(absolute),
            )
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


def _open_folder(absolute: bytes, relative: bytes) -> _Folder | EntryRecord:
    try:
        fd = open_path(absolute)
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

    @classmethod
    def probe(cls, path: Path) -> bool:
        return path.is_dir()

    def units(self) -> Iterator[Unit | EntryRecord]:
        """Depth-first in byte order of names, the same order every time (resuming skips by path).

        The walk keeps its own stack, not recursion, so depth is bounded by open descriptors
        only (one per level being walked), and children are stat'ed relative to their folder's
        descriptor, so no path is resolved from the root again.
        """
        stack: list[_Folder] = []
        ancestors: set[tuple[int, int]] = set()
        opened = _open_folder(os.fsencode(self.root), b"")
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
                child = _open_folder(absolute, relative)
                if isinstance(child, EntryRecord):
                    yield child
                else:
                    stack.append(child)
                    ancestors.add(child.identity)
        finally:  # also when the consumer stops early: no descriptor leaks
            for folder in stack:
                os.close(folder.fd)

    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        return process_file(unit, settings)


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
        return process_file(unit, settings)
