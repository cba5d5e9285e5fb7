"""Enumerating one file system of a disk image through TSK, and the blocks its entries use."""

from __future__ import annotations

from array import array
from collections.abc import Generator, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytsk3

from cairn.core.records import EntryRecord, ErrorRecord, FileTimes
from cairn.core.types import EntryKind, Flag
from cairn.evidence.base import Unit
from cairn.evidence.diskimage.ext import ext_metadata
from cairn.evidence.diskimage.fat import (
    ATTR_LONG_NAME,
    ATTR_VOLUME_LABEL,
    ENTRY_SIZE,
    FatBoot,
    entry_start_cluster,
)
from cairn.evidence.diskimage.image import Image, tsk_failure
from cairn.evidence.diskimage.layout import Volume

_FAT_FAMILY = int(pytsk3.TSK_FS_TYPE_FAT_DETECT)  # FAT12/16/32 and exFAT bits
_NTFS = int(pytsk3.TSK_FS_TYPE_NTFS)
_NTFS_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
_DEFAULT_ATTR = int(pytsk3.TSK_FS_ATTR_TYPE_DEFAULT)
_NONRESIDENT = int(pytsk3.TSK_FS_ATTR_NONRES)
_NO_DATA_RUN = int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE) | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)
_NAME_UNALLOC = int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
_META_UNALLOC = int(pytsk3.TSK_FS_META_FLAG_UNALLOC)
# TSK meta types (tsk_fs.h); the name type enum numbers the same kinds differently.
_REG, _DIR, _VIRT, _VIRT_DIR = 1, 2, 10, 11
_META_NON_REGULAR = {
    6: EntryKind.SYMLINK,
    3: EntryKind.FIFO,
    4: EntryKind.DEVICE,
    5: EntryKind.DEVICE,
    8: EntryKind.SOCKET,
}
_NAME_TO_META = {5: _REG, 3: _DIR, 1: 3, 2: 4, 4: 5, 6: 6, 7: 8, 10: _VIRT, 11: _VIRT_DIR}
_FAT_LABEL = b" (Volume Label Entry)"  # how TSK names a FAT volume-label directory entry
_EXT_RESERVED_INODES = range(1, 11)  # bad blocks, resize (reserved GDT), journal, …
_EXT_FAMILY = int(pytsk3.TSK_FS_TYPE_EXT_DETECT)
_EXFAT = int(pytsk3.TSK_FS_TYPE_EXFAT)
_FAT32 = int(pytsk3.TSK_FS_TYPE_FAT32)
_BAD_CLUSTERS = (8, b"$Bad")  # NTFS $BadClus:$Bad: a sparse stream as large as the volume


def _timestamp(seconds: int, nanos: int, wall_clock: bool) -> datetime | None:
    if not seconds:
        return None
    if wall_clock:  # undo TSK's local-time conversion: keep the wall clock, labelled UTC
        moment = datetime.fromtimestamp(seconds).replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(seconds, UTC)
    return moment.replace(microsecond=nanos // 1000)


def _times(meta: pytsk3.TSK_FS_META, wall_clock: bool) -> FileTimes:
    return FileTimes(
        mtime=_timestamp(meta.mtime, meta.mtime_nano, wall_clock),
        ctime=_timestamp(meta.ctime, meta.ctime_nano, wall_clock),
        atime=_timestamp(meta.atime, meta.atime_nano, wall_clock),
        crtime=_timestamp(meta.crtime, meta.crtime_nano, wall_clock),
    )


def stream_locator(volume_offset: int, inode: int, attr_type: int, attr_id: int) -> str:
    return f"s:{volume_offset}:{inode}:{attr_type}:{attr_id}"


def _short_name(label: bytes) -> bytes:
    """`NAME.EXT` from TSK's name for a label entry: its 11 bytes, then `_FAT_LABEL`."""
    raw = label[: -len(_FAT_LABEL)]
    base, extension = raw[:8].rstrip(b" "), raw[8:].rstrip(b" ")
    return base + b"." + extension if extension else base


_Folder = tuple[bool, int]  # a folder to walk: (deleted, inode)


class FileSystemWalk:
    """Enumerates one file system; remembers the blocks allocated entries use, for carving."""

    def __init__(self, image: Image, fs: pytsk3.FS_Info, volume: Volume) -> None:
        self.image = image
        self.fs = fs
        self.volume = volume
        self.prefix = volume.label.encode() + b"/" if volume.label else b""
        self.ftype = int(fs.info.ftype)
        self.wall_clock = bool(self.ftype & _FAT_FAMILY)
        self.fat = self._fat_boot()
        self._run_starts = array("q")
        self._run_lengths = array("q")

    def _fat_boot(self) -> FatBoot | None:
        """The boot sector of a FAT12/16/32 volume (not exFAT's), when it parses."""
        if not self.ftype & _FAT_FAMILY or self.ftype == _EXFAT:
            return None
        try:
            return FatBoot.parse(self.image.pread(self.volume.offset, 512))
        except (OSError, ValueError):
            return None

    def entries(self) -> Iterator[Unit | EntryRecord]:
        root = self.fs.info.root_inum
        visited = {root}
        stack: list[tuple[bytes, bool, int]] = [(b"", False, root)]  # (path, deleted, inode)
        self._claim_structures()
        while stack:
            path, in_deleted, inode = stack.pop()
            try:
                children = sorted(
                    (
                        (f.info.name.name, f)
                        for f in self.fs.open_dir(inode=inode)
                        if f.info.name.name not in (b".", b"..")
                    ),
                    key=lambda child: bytes(child[0]),
                )
            except OSError as exc:
                yield EntryRecord(
                    path=self.prefix + path if path else self.volume.path,
                    kind=EntryKind.DIRECTORY,
                    deleted=in_deleted,
                    errors=(
                        ErrorRecord(
                            "read", f"cannot list folder: {tsk_failure(self.image, str(exc))}"
                        ),
                    ),
                )
                continue
            subfolders: list[tuple[bytes, bool, int]] = []
            for name, file in children:
                child = path + b"/" + name if path else name
                folder = yield from self._entry(file, child, in_deleted)
                if folder is not None and folder[1] not in visited:
                    visited.add(folder[1])
                    subfolders.append((child, *folder))
            stack.extend(reversed(subfolders))

    def _entry(
        self, file: pytsk3.File, path: bytes, in_deleted: bool
    ) -> Generator[Unit | EntryRecord, None, _Folder | None]:
        """Yield the records of one directory entry.

        Returns (deleted, inode) when it is a folder to walk, else None.
        """
        name, meta = file.info.name, file.info.meta
        if meta is None and name.meta_addr:  # TSK lists $OrphanFiles without their metadata
            try:
                file = self.fs.open_meta(inode=name.meta_addr)
                meta = file.info.meta
            except OSError:
                pass
        name_deleted = bool(int(name.flags) & _NAME_UNALLOC)
        meta_free = meta is not None and bool(int(meta.flags) & _META_UNALLOC)
        deleted = in_deleted or name_deleted or meta_free
        if meta is not None and int(meta.type):
            kind = int(meta.type)
        else:
            kind = _NAME_TO_META.get(int(name.type), 0)
        full = self.prefix + path
        if meta is None:
            if kind in _META_NON_REGULAR:
                yield EntryRecord(path=full, kind=_META_NON_REGULAR[kind], deleted=deleted)
            elif kind == _REG:
                yield EntryRecord(
                    path=full,
                    kind=EntryKind.FILE,
                    deleted=deleted,
                    errors=(
                        ErrorRecord("recover", "no metadata left for this entry; content lost"),
                    ),
                )
            return None
        if not deleted:
            self._claim(file)
        reused = name_deleted and not meta_free  # the name's inode now serves another file
        if kind in (_DIR, _VIRT_DIR):
            return None if reused else (deleted or kind == _VIRT_DIR, int(meta.addr))
        if kind not in _META_NON_REGULAR and kind != _REG:  # virtual files, whiteouts, …
            return None
        flags: frozenset[Flag] = frozenset()
        if self.wall_clock and name.name.endswith(_FAT_LABEL):
            label = self._label_flags(meta)
            if label is None:  # the volume's name, not a file
                return None
            if label:  # recorded under its 8.3 name, as a file of that name would be
                full = full[: len(full) - len(name.name)] + _short_name(name.name)
            flags = label
        if kind == _REG and meta_free and self.fat and int(meta.size) > self.fat.cluster_size:
            # The FAT chain of a deleted file is cleared: TSK reads the clusters that follow its
            # first one, which is right unless the file was fragmented.
            flags |= {Flag.ASSUMED_CONTIGUOUS}
        entry = EntryRecord(
            path=full,
            kind=_META_NON_REGULAR.get(kind, EntryKind.FILE),
            size=int(meta.size) if kind == _REG else None,
            deleted=deleted,
            unallocated=meta_free or in_deleted,
            inode=str(meta.addr),
            times=_times(meta, self.wall_clock),
            flags=flags,
        )
        if kind != _REG:
            yield entry
            return None
        if reused:
            yield replace(
                entry,
                size=None,
                errors=(
                    ErrorRecord(
                        "recover", "its metadata now belongs to another file; content lost"
                    ),
                ),
            )
            return None
        yield Unit(entry, stream_locator(self.volume.offset, meta.addr, _DEFAULT_ATTR, -1))
        if self.ftype == _NTFS:
            yield from self._alternate_streams(file, entry)
        return None

    def _label_flags(self, meta: pytsk3.TSK_FS_META) -> frozenset[Flag] | None:
        """For an entry TSK names as a FAT volume label: None for a label that owns no
        clusters (the volume's name), the label flag for one that does, and no flag when the
        entry's attributes say it is no label (a long name that merely ends like TSK's).
        """
        cluster = 0
        if self.fat is not None:  # else exFAT, or no boot sector to find the entry by
            try:
                at = self.volume.offset + self.fat.entry_offset(int(meta.addr))
                entry = self.image.pread(at, ENTRY_SIZE)
            except OSError:
                entry = b""  # unreadable: TSK's word for it, and its size
            if len(entry) == ENTRY_SIZE:
                if entry[11] == ATTR_LONG_NAME or not entry[11] & ATTR_VOLUME_LABEL:
                    return frozenset()
                cluster = entry_start_cluster(entry, self.ftype == _FAT32)
        return frozenset({Flag.VOLUME_LABEL_WITH_DATA}) if int(meta.size) or cluster else None

    def _alternate_streams(self, file: pytsk3.File, entry: EntryRecord) -> Iterator[Unit]:
        inode = int(file.info.meta.addr)
        try:
            attributes = [attr.info for attr in file]
        except OSError:  # a damaged attribute list: reading the main stream records the error
            return
        for info in attributes:
            if int(info.type) != _NTFS_DATA or not info.name or (inode, info.name) == _BAD_CLUSTERS:
                continue
            stream = replace(entry, path=entry.path + b":" + info.name, size=int(info.size))
            yield Unit(stream, stream_locator(self.volume.offset, inode, _NTFS_DATA, info.id))

    def _claim(self, file: pytsk3.File) -> None:
        """Note the blocks an allocated entry occupies: they are not free space."""
        try:
            for attr in file:
                if not int(attr.info.flags) & _NONRESIDENT:
                    continue
                for run in attr:
                    if run.len and not int(run.flags) & _NO_DATA_RUN:
                        self._run_starts.append(run.addr)
                        self._run_lengths.append(run.len)
        except OSError:  # a damaged run list: its blocks simply stay candidates for carving
            pass

    def _claim_structures(self) -> None:
        """Claim file-system structures that no entry TSK lists covers."""
        try:
            if self.ftype & _EXT_FAMILY:
                for inode in _EXT_RESERVED_INODES:  # the journal, the resize inode, …
                    file = self.fs.open_meta(inode=inode)
                    if file.info.meta is not None and not int(file.info.meta.flags) & _META_UNALLOC:
                        self._claim(file)
                head = self.image.pread(self.volume.offset + 1024, 1024)
                for start, length in ext_metadata(head, self.fs.info.block_size, self._pread):
                    self._run_starts.append(start)
                    self._run_lengths.append(length)
            elif self.fat is not None:
                self._run_starts.append(0)
                self._run_lengths.append(self.fat.data_start)
        except (OSError, ValueError):  # damaged structures: their blocks stay carving candidates
            pass

    def _pread(self, block: int, count: int) -> bytes:
        size = self.fs.info.block_size
        return self.image.pread(self.volume.offset + block * size, count * size)

    def free_extents(self, image_size: int) -> list[tuple[int, int]]:
        """Byte ranges of the image that this file system counts as free, plus volume slack."""
        import numpy as np  # here only: importing the registry must stay cheap

        info = self.fs.info
        block, first, end = info.block_size, info.first_block, info.last_block + 1
        starts = np.frombuffer(self._run_starts, dtype=np.int64)
        ends = starts + np.frombuffer(self._run_lengths, dtype=np.int64)
        order = np.argsort(starts, kind="stable")
        starts, reach = starts[order], np.maximum.accumulate(ends[order]) if len(ends) else ends
        gap_starts = np.concatenate(([first], reach))
        gap_ends = np.concatenate((starts, [end]))
        gap_starts, gap_ends = np.clip(gap_starts, first, end), np.clip(gap_ends, first, end)
        origin = self.volume.offset
        limit = min(image_size, origin + self.volume.length)
        extents = [
            (origin + int(a) * block, min(origin + int(b) * block, limit))
            for a, b in zip(gap_starts, gap_ends, strict=True)
            if b > a and origin + int(a) * block < limit
        ]
        slack = origin + end * block
        if slack < limit:
            extents.append((slack, limit))
        return extents
