"""Disk images as evidence: raw (dd, split .001 …) and EnCase E01, read through The Sleuth Kit.

Layout and paths (relative to the image, '/'-separated, no leading '/'):
- A partition table TSK recognises (MBR, GPT, …): every allocated partition is a volume named
  `p1`, `p2`, … in table order, and its files are `p1/dir/name`. Space outside the partitions
  is unallocated space of the image.
- Otherwise a file system at offset 0 (a bare partition image): its files have no prefix.
- NTFS alternate data streams are occurrences of their own: `dir/name:stream`.
- TSK's `$OrphanFiles` folder (deleted files whose name is gone) is walked like any other;
  its other virtual files (`$MBR`, `$FAT1`, …) are file-system structures, not recorded.
- A problem with the image itself is recorded on `.`, with a volume on its name (`p2`).

State of an entry: `deleted` when its name or metadata is unallocated (or it lies in a deleted
folder); `unallocated` when its content sits in space the file system counts as free. A deleted
entry whose metadata now belongs to another file is recorded without content, because what
TSK would read is that other file.

Times are UTC. FAT and exFAT store local wall-clock times with no zone; TSK turns them into
epoch seconds with the process's zone, which we undo, so they are recorded as the wall clock
written as if it were UTC whatever zone the host runs in (the evidence's `--timezone` applies).

Carving (`AnalysisSettings.carve`): free space is every block of a file system that no
allocated entry TSK lists uses (file data, folders, metadata files, the ext journal), plus
unpartitioned space and partitions whose file system TSK cannot open. It is scanned in units
recorded as `$Unallocated/<start>-<end>` (image byte offsets, end exclusive; hashed over the
free bytes in that span); each recovered file is `$Carved/<offset>.<ext>` inside its unit, kind
`carved`, with its byte offset in the image. Without `carve` those units record nothing, so a
later run with `carve` adds them.
"""

from __future__ import annotations

import bisect
import errno
import os
import re
from array import array
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytsk3

from cairn.core.records import ContentRecord, EntryRecord, ErrorRecord, FileTimes, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind
from cairn.evidence import carving
from cairn.evidence.analysis import (
    Analysis,
    analyse_file,
    analyse_stream,
    error_text,
    finish_entry,
    open_readonly,
)
from cairn.evidence.base import EvidenceSource, Unit
from cairn.evidence.directory import entry_from_stat
from cairn.evidence.ewf import EwfImage, has_ewf_signature, tsk_read

# One carving unit covers at most this much free space: enough to amortise a worker round
# trip, small enough to spread a large disk over the workers.
CARVE_UNIT_BYTES = 128 << 20

_SPLIT_RAW = re.compile(r"^(?P<stem>.*\.)(?P<number>[0-9]{3,})$")
_VOLUME_SYSTEMS = {1: "dos", 2: "bsd", 4: "sun", 8: "mac", 16: "gpt"}
_FILE_SYSTEMS = {
    1: "ntfs",
    2: "fat12",
    4: "fat16",
    8: "fat32",
    10: "exfat",
    128: "ext2",
    256: "ext3",
    8192: "ext4",
    2048: "iso9660",
    4096: "hfs",
    0x10000: "apfs",
}
_FAT_FAMILY = int(pytsk3.TSK_FS_TYPE_FAT_DETECT)  # FAT12/16/32 and exFAT bits
_NTFS = int(pytsk3.TSK_FS_TYPE_NTFS)
_NTFS_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
_DEFAULT_ATTR = int(pytsk3.TSK_FS_ATTR_TYPE_DEFAULT)
_NONRESIDENT = int(pytsk3.TSK_FS_ATTR_NONRES)
_NO_DATA_RUN = int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE) | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)
_NAME_UNALLOC = int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
_META_UNALLOC = int(pytsk3.TSK_FS_META_FLAG_UNALLOC)
_PART_ALLOC = int(pytsk3.TSK_VS_PART_FLAG_ALLOC)
_PART_UNALLOC = int(pytsk3.TSK_VS_PART_FLAG_UNALLOC)
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
_BAD_CLUSTERS = (8, b"$Bad")  # NTFS $BadClus:$Bad: a sparse stream as large as the volume


class RawImage(pytsk3.Img_Info):  # type: ignore[misc]  # pytsk3 ships no type information
    """One raw image file, or the segments of a split one (`.001`, `.002`, …) end to end.

    Read with pread on descriptors opened read-only without touching access times, which TSK's
    own raw reader does not promise.
    """

    last_error: str | None = None  # see tsk_read

    def __init__(self, segments: list[Path]) -> None:
        self.segments = segments
        self._fds: list[int] = []
        self._starts: list[int] = []
        self.media_size = 0
        try:
            for segment in segments:
                fd = open_readonly(os.fsencode(segment))
                self._fds.append(fd)
                self._starts.append(self.media_size)
                self.media_size += os.fstat(fd).st_size
        except OSError:
            self.close()
            raise
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def read(self, offset: int, size: int) -> bytes:
        return tsk_read(self, offset, size)

    def pread(self, offset: int, size: int) -> bytes:
        """Bytes at `offset`, short only at the end of the image."""
        parts: list[bytes] = []
        end = min(offset + size, self.media_size)
        index = max(0, bisect.bisect_right(self._starts, offset) - 1)
        while offset < end:
            start = self._starts[index]
            data = os.pread(self._fds[index], end - offset, offset - start)
            if not data:  # the segment shrank since it was opened
                raise OSError(errno.EIO, f"short read at byte {offset} of the image")
            parts.append(data)
            offset += len(data)
            if index + 1 < len(self._starts) and offset >= self._starts[index + 1]:
                index += 1
        return b"".join(parts)

    def get_size(self) -> int:
        return self.media_size

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


Image = RawImage | EwfImage


def raw_segments(first: Path) -> list[Path]:
    """`first` and, when it is named like `disk.001`, its numbered successors that exist."""
    match = _SPLIT_RAW.match(first.name)
    if match is None:
        return [first]
    stem, number = match["stem"], match["number"]
    segments = [first]
    for n in range(int(number) + 1, 10 ** len(number)):
        following = first.with_name(f"{stem}{n:0{len(number)}d}")
        if not following.is_file():
            break
        segments.append(following)
    return segments


def open_image(path: Path) -> Image:
    """The image behind `path`: an E01 set when it has the EWF signature, else raw."""
    if has_ewf_signature(path):
        return EwfImage(path)
    return RawImage(raw_segments(path))


@dataclass(frozen=True)
class Volume:
    label: str  # "" for a bare file system, else p1, p2, … in partition-table order
    offset: int  # bytes from the start of the image
    length: int
    description: str

    @property
    def path(self) -> bytes:
        return self.label.encode() or b"."


@dataclass(frozen=True)
class Layout:
    volume_system: str | None  # dos, gpt, …; None for a bare file system or nothing found
    volumes: tuple[Volume, ...]
    gaps: tuple[tuple[int, int], ...]  # image byte ranges outside every partition


def _has_file_system(image: Image, offset: int) -> bool:
    try:
        pytsk3.FS_Info(image, offset=offset)
    except OSError:
        return False
    return True


def read_layout(image: Image) -> Layout:
    """Partitions when TSK finds a partition table; else a file system at offset 0; else none."""
    try:
        vs = pytsk3.Volume_Info(image)
    except OSError:
        if _has_file_system(image, 0):
            return Layout(None, (Volume("", 0, image.media_size, "whole image"),), ())
        return Layout(None, (), ())
    sector = vs.info.block_size
    volumes: list[Volume] = []
    gaps: list[tuple[int, int]] = []
    for part in vs:
        start, length = part.start * sector, part.len * sector
        if int(part.flags) & _PART_ALLOC:
            description = part.desc.decode("utf-8", "replace")
            volumes.append(Volume(f"p{len(volumes) + 1}", start, length, description))
        elif int(part.flags) & _PART_UNALLOC and start < image.media_size:
            gaps.append((start, min(start + length, image.media_size)))
    return Layout(
        _VOLUME_SYSTEMS.get(int(vs.info.vstype), str(vs.info.vstype)), tuple(volumes), tuple(gaps)
    )


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


def _failure(image: Image | None, message: str) -> str:
    """A TSK error message, with the image read error behind it when there was one."""
    if image is None:
        return message
    cause, image.last_error = image.last_error, None
    return f"{message} (reading the image: {cause})" if cause else message


def _stream_locator(volume_offset: int, inode: int, attr_type: int, attr_id: int) -> str:
    return f"s:{volume_offset}:{inode}:{attr_type}:{attr_id}"


def _carve_units(extents: list[tuple[int, int]]) -> Iterator[Unit]:
    """Carving units over free byte extents, each holding up to CARVE_UNIT_BYTES of them.

    An extent longer than a unit is split; a file starting in one part may run on to the
    extent's end (`Piece.limit`), because the extent is contiguous free space.
    """
    pieces: list[carving.Piece] = []
    room = CARVE_UNIT_BYTES
    for start, end in extents:
        while start < end:
            take = min(end - start, room)
            pieces.append(carving.Piece(start, start + take, end))
            start += take
            room -= take
            if room == 0:
                yield _carve_unit(pieces)
                pieces, room = [], CARVE_UNIT_BYTES
    if pieces:
        yield _carve_unit(pieces)


def _carve_unit(pieces: list[carving.Piece]) -> Unit:
    first, last = pieces[0].start, pieces[-1].end
    entry = EntryRecord(
        path=f"$Unallocated/{first}-{last}".encode(),
        kind=EntryKind.CARVED,
        size=sum(p.end - p.start for p in pieces),
        unallocated=True,
        offset=first,
    )
    return Unit(entry, "c:" + ";".join(f"{p.start},{p.end},{p.limit}" for p in pieces))


def _fat_data_start(boot: bytes) -> int:
    """Sectors before a FAT volume's data area: reserved sectors, the FATs, the FAT12/16 root."""
    sector = int.from_bytes(boot[11:13], "little")
    reserved = int.from_bytes(boot[14:16], "little")
    fats = boot[16]
    root_entries = int.from_bytes(boot[17:19], "little")
    fat_size = int.from_bytes(boot[22:24], "little") or int.from_bytes(boot[36:40], "little")
    if not sector:
        raise ValueError("not a FAT boot sector")
    return reserved + fats * fat_size + -(-root_entries * 32 // sector)


def _ext_metadata(
    superblock: bytes, block_size: int, read_blocks: Callable[[int, int], bytes]
) -> Iterator[tuple[int, int]]:
    """(first block, count) of every ext2/3/4 group's superblock copy, descriptors, bitmaps
    and inode table: allocated, though no inode lists them.

    Layout from the kernel's ext4 documentation: descriptors follow the superblock's block;
    with sparse_super only groups 0, 1 and powers of 3, 5 and 7 keep a copy of both.
    """

    def u16(data: bytes, at: int) -> int:
        return int.from_bytes(data[at : at + 2], "little")

    def u32(data: bytes, at: int) -> int:
        return int.from_bytes(data[at : at + 4], "little")

    if u16(superblock, 0x38) != 0xEF53:
        raise ValueError("no ext superblock")
    incompat, ro_compat = u32(superblock, 0x60), u32(superblock, 0x64)
    wide = bool(incompat & 0x80)  # 64bit: descriptors carry high halves
    blocks = u32(superblock, 0x04) | (u32(superblock, 0x150) << 32 if wide else 0)
    first_data, per_group = u32(superblock, 0x14), u32(superblock, 0x20)
    inode_blocks = -(-u32(superblock, 0x28) * (u16(superblock, 0x58) or 128) // block_size)
    desc_size = u16(superblock, 0xFE) if wide else 32
    groups = -(-(blocks - first_data) // per_group)
    gdt_blocks = -(-groups * desc_size // block_size)
    copies = gdt_blocks + u16(superblock, 0xCE)  # descriptors and reserved descriptor blocks
    table = read_blocks(first_data + 1, gdt_blocks)
    if first_data:  # 1 KiB blocks: block 0 is the boot block, outside every group
        yield 0, first_data
    sparse = bool(ro_compat & 0x1)
    meta_bg = bool(incompat & 0x10)  # descriptors spread over the disk: only the primary known
    for group in range(groups):
        if group == 0 or not sparse or group == 1 or _is_power(group, (3, 5, 7)):
            start = first_data + group * per_group
            yield start, 1 if meta_bg and group else 1 + copies
        desc = table[group * desc_size : (group + 1) * desc_size]
        # block bitmap, inode bitmap, inode table; 64-byte descriptors add high halves at +0x20
        for low, count in ((0x0, 1), (0x4, 1), (0x8, inode_blocks)):
            high = u32(desc, low + 0x20) << 32 if desc_size >= 64 else 0
            yield u32(desc, low) | high, count


def _is_power(n: int, bases: tuple[int, ...]) -> bool:
    for base in bases:
        power = base
        while power < n:
            power *= base
        if power == n:
            return True
    return False


_Folder = tuple[bool, int]  # a folder to walk: (deleted, inode)


class _FileSystemWalk:
    """Enumerates one file system; remembers the blocks allocated entries use, for carving."""

    def __init__(self, image: Image, fs: pytsk3.FS_Info, volume: Volume) -> None:
        self.image = image
        self.fs = fs
        self.volume = volume
        self.prefix = volume.label.encode() + b"/" if volume.label else b""
        self.ftype = int(fs.info.ftype)
        self.wall_clock = bool(self.ftype & _FAT_FAMILY)
        self._run_starts = array("q")
        self._run_lengths = array("q")

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
                            "read", f"cannot list folder: {_failure(self.image, str(exc))}"
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
        if self.wall_clock and name.name.endswith(_FAT_LABEL):  # the volume name, not a file
            return None
        entry = EntryRecord(
            path=full,
            kind=_META_NON_REGULAR.get(kind, EntryKind.FILE),
            size=int(meta.size) if kind == _REG else None,
            deleted=deleted,
            unallocated=meta_free or in_deleted,
            inode=str(meta.addr),
            times=_times(meta, self.wall_clock),
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
        yield Unit(entry, _stream_locator(self.volume.offset, meta.addr, _DEFAULT_ATTR, -1))
        if self.ftype == _NTFS:
            yield from self._alternate_streams(file, entry)
        return None

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
            yield Unit(stream, _stream_locator(self.volume.offset, inode, _NTFS_DATA, info.id))

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
                for start, length in _ext_metadata(head, self.fs.info.block_size, self._pread):
                    self._run_starts.append(start)
                    self._run_lengths.append(length)
            elif self.ftype & _FAT_FAMILY and self.ftype != _EXFAT:
                boot = self.image.pread(self.volume.offset, 512)
                self._run_starts.append(0)
                self._run_lengths.append(_fat_data_start(boot))
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


class _TskStream:
    """One attribute (data stream) of a file in the image, read in order for analysis."""

    def __init__(
        self, image: Image, file: pytsk3.File, attr_type: int, attr_id: int, size: int
    ) -> None:
        self._image, self._file = image, file
        self._type, self._id, self._size = attr_type, attr_id, size
        self._pos = 0

    def readinto(self, buffer: memoryview) -> int:
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        try:
            data = self._file.read_random(self._pos, n, self._type, self._id)
        except OSError as exc:
            raise OSError(_failure(self._image, str(exc))) from exc
        if not data:
            message = f"TSK read no data at byte {self._pos} of {self._size}"
            raise OSError(_failure(self._image, message))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class _ImageStream:
    """A byte range of the image (a carved file), read in order for analysis."""

    def __init__(self, image: Image, offset: int, size: int) -> None:
        self._image, self._pos, self._end = image, offset, offset + size

    def readinto(self, buffer: memoryview) -> int:
        n = min(len(buffer), self._end - self._pos)
        if n <= 0:
            return 0
        data = self._image.pread(self._pos, n)
        if not data:
            raise OSError(errno.EIO, f"image ends at byte {self._pos}")
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class DiskImageSource(EvidenceSource):
    """A raw or E01 disk image, or a bare file-system image (see the module docstring)."""

    kind = "diskimage"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._opened: Image | None = None
        self._file_systems: dict[int, pytsk3.FS_Info] = {}

    @classmethod
    def probe(cls, path: Path) -> bool:
        """EWF signature, else a partition table, else a file system at offset 0."""
        if not path.is_file():
            return False
        if has_ewf_signature(path):
            return True
        try:
            image = RawImage(raw_segments(path))
        except OSError:
            return False
        try:
            return read_layout(image).volumes != ()
        finally:
            image.close()

    def _image(self) -> Image:
        if self._opened is None:
            self._opened = open_image(self.root)
        return self._opened

    def _file_system(self, offset: int) -> pytsk3.FS_Info:
        fs = self._file_systems.get(offset)
        if fs is None:
            fs = self._file_systems[offset] = pytsk3.FS_Info(self._image(), offset=offset)
        return fs

    def _file_system_name(self, offset: int) -> str:
        try:
            ftype = int(self._file_system(offset).info.ftype)
        except OSError:
            return "no file system TSK can open"
        return _FILE_SYSTEMS.get(ftype, f"TSK type {ftype:#x}")

    def describe(self) -> dict[str, str]:
        """Image format, size, partitions, and an E01's acquisition header and stored hashes."""
        try:
            image = self._image()
        except OSError as exc:
            return {"error": error_text(exc)}
        info = {
            "format": "ewf" if isinstance(image, EwfImage) else "raw",
            "segments": str(len(image.segments)),
            "media_size": str(image.media_size),
        }
        if isinstance(image, EwfImage):
            info.update({f"ewf.{key}": value for key, value in image.header().items()})
            info.update({f"ewf.{key}": value for key, value in image.stored_hashes().items()})
            if problems := image.problems():
                info["problems"] = "\n".join(problems)
        layout = read_layout(image)
        if layout.volume_system:
            info["volume_system"] = layout.volume_system
        info["volumes"] = "\n".join(
            f"{v.label or '.'}: offset {v.offset}, {v.length} bytes, {v.description}, "
            f"{self._file_system_name(v.offset)}"
            for v in layout.volumes
        )
        return info

    def units(self) -> Iterator[Unit | EntryRecord]:
        try:
            image = self._image()
        except OSError as exc:
            yield from self._whole_file(f"cannot open the image: {error_text(exc)}")
            return
        if isinstance(image, EwfImage) and (problems := image.problems()):
            yield EntryRecord(
                path=b".",
                kind=EntryKind.DIRECTORY,
                errors=tuple(ErrorRecord("image", p) for p in problems),
            )
        layout = read_layout(image)
        if not layout.volumes:
            yield EntryRecord(
                path=b".",
                kind=EntryKind.DIRECTORY,
                errors=(
                    ErrorRecord("image", "no partition table or file system that TSK recognises"),
                ),
            )
            yield from _carve_units([(0, image.media_size)])
            return
        for volume in layout.volumes:
            yield from self._volume_units(image, volume)
        for gap in layout.gaps:
            yield from _carve_units([gap])

    def _whole_file(self, problem: str) -> Iterator[Unit | EntryRecord]:
        """Not readable as an image: still hash the file itself, with the reason beside it."""
        name = os.fsencode(self.root.name)
        error = ErrorRecord("image", problem)
        try:
            st = os.stat(self.root)
        except OSError as exc:
            yield EntryRecord(
                path=name, kind=EntryKind.FILE, errors=(error, ErrorRecord("read", error_text(exc)))
            )
            return
        entry = replace(entry_from_stat(name, st), errors=(error,))
        yield Unit(entry, os.fsencode(self.root))

    def _volume_units(self, image: Image, volume: Volume) -> Iterator[Unit | EntryRecord]:
        end = volume.offset + volume.length
        if volume.offset >= image.media_size:
            yield EntryRecord(
                path=volume.path,
                kind=EntryKind.DIRECTORY,
                errors=(
                    ErrorRecord(
                        "image",
                        f"{volume.description} starts at byte {volume.offset}, past the end of "
                        f"the image ({image.media_size} bytes): truncated image or bad table",
                    ),
                ),
            )
            return
        try:
            fs = self._file_system(volume.offset)
        except OSError as exc:
            yield EntryRecord(
                path=volume.path,
                kind=EntryKind.DIRECTORY,
                errors=(
                    ErrorRecord(
                        "filesystem",
                        f"no file system TSK can open in {volume.description} at byte "
                        f"{volume.offset}: {_failure(image, str(exc))}",
                    ),
                ),
            )
            yield from _carve_units([(volume.offset, min(end, image.media_size))])
            return
        fs_end = volume.offset + (fs.info.last_block + 1) * fs.info.block_size
        if fs_end > image.media_size:
            yield EntryRecord(
                path=volume.path,
                kind=EntryKind.DIRECTORY,
                errors=(
                    ErrorRecord(
                        "image",
                        f"truncated: the file system runs to byte {fs_end} but the image "
                        f"ends at {image.media_size}",
                    ),
                ),
            )
        walk = _FileSystemWalk(image, fs, volume)
        yield from walk.entries()
        yield from _carve_units(walk.free_extents(image.media_size))

    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        if isinstance(unit.locator, bytes):  # the image file itself (it could not be opened)
            analysis = analyse_file(unit.locator, unit.path, 0, settings, unit.size)
            return UnitResult(unit.path, finish_entry(unit.entry, analysis))
        assert isinstance(unit.locator, str)
        if self._opened is not None:
            self._opened.last_error = None  # a cause left over from another unit
        tag, _, fields = unit.locator.partition(":")
        if tag == "c":
            return self._carve(unit, fields, settings)
        volume_offset, inode, attr_type, attr_id = (int(f) for f in fields.split(":"))
        try:
            file = self._file_system(volume_offset).open_meta(inode=inode)
        except OSError as exc:
            analysis = Analysis(errors=[ErrorRecord("read", _failure(self._opened, str(exc)))])
        else:
            stream = _TskStream(self._image(), file, attr_type, attr_id, unit.size or 0)
            analysis = analyse_stream(stream, unit.path, 0, settings, size=unit.size)
        return UnitResult(unit.path, finish_entry(unit.entry, analysis))

    def _carve(self, unit: Unit, fields: str, settings: AnalysisSettings) -> UnitResult:
        if not settings.carve:
            return UnitResult(unit.path, ())
        pieces = [carving.Piece(*(int(v) for v in p.split(","))) for p in fields.split(";")]
        image = self._image()
        try:
            scan = carving.scan(
                image.pread,
                pieces,
                max_count=settings.max_carved_count,
                max_bytes=settings.max_carved_bytes,
            )
        except OSError as exc:
            return UnitResult(
                unit.path, (replace(unit.entry, errors=(ErrorRecord("read", error_text(exc)),)),)
            )
        errors: tuple[ErrorRecord, ...] = ()
        if scan.stopped_at_count:
            errors = (
                ErrorRecord(
                    "limit", f"carving stopped after {settings.max_carved_count} files in this unit"
                ),
            )
        entries = [replace(unit.entry, content=ContentRecord(digests=scan.digests), errors=errors)]
        for item in scan.carved:
            carved = EntryRecord(
                path=f"$Carved/{item.offset}.{item.extension}".encode(),
                kind=EntryKind.CARVED,
                depth=1,
                container=unit.path,
                size=item.length,
                unallocated=True,
                offset=item.offset,
            )
            stream = _ImageStream(image, item.offset, item.length)
            entries.extend(
                finish_entry(
                    carved, analyse_stream(stream, carved.path, 1, settings, size=item.length)
                )
            )
        return UnitResult(unit.path, tuple(entries))
