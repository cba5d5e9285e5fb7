"""The disk-image evidence source: enumerates volumes and file systems, reads their content."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytsk3

from cairn.core.records import ContentRecord, EntryRecord, ErrorRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind, Flag
from cairn.evidence import carving
from cairn.evidence.analysis import Analysis, analyse_file, analyse_stream, error_text, finish_entry
from cairn.evidence.base import EvidenceSource, Unit
from cairn.evidence.directory import entry_from_stat
from cairn.evidence.diskimage.ewf import EwfImage, has_ewf_signature
from cairn.evidence.diskimage.file_system import open_file_system
from cairn.evidence.diskimage.free_space import carve_units
from cairn.evidence.diskimage.image import Image, open_image, tsk_failure
from cairn.evidence.diskimage.layout import Volume, read_layout
from cairn.evidence.diskimage.raw import RawImage, raw_segments
from cairn.evidence.diskimage.streams import ImageStream, TskStream
from cairn.evidence.diskimage.walk import FileSystemWalk

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
            fs = self._file_systems[offset] = open_file_system(self._image(), offset)
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
            yield from carve_units([(0, image.media_size)])
            return
        for volume in layout.volumes:
            yield from self._volume_units(image, volume)
        for gap in layout.gaps:
            yield from carve_units([gap])

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
                        f"{volume.offset}: {tsk_failure(image, str(exc))}",
                    ),
                ),
            )
            yield from carve_units([(volume.offset, min(end, image.media_size))])
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
        walk = FileSystemWalk(image, fs, volume)
        yield from walk.entries()
        yield from carve_units(walk.free_extents(image.media_size))

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
            analysis = Analysis(errors=[ErrorRecord("read", tsk_failure(self._opened, str(exc)))])
        else:
            stream = TskStream(self._image(), file, attr_type, attr_id, unit.size or 0)
            analysis = analyse_stream(stream, unit.path, 0, settings, size=unit.size)
        entries = finish_entry(unit.entry, analysis)
        if Flag.ASSUMED_CONTIGUOUS in unit.entry.flags:  # members of a guess are guesses too
            entries = tuple(replace(e, flags=e.flags | {Flag.ASSUMED_CONTIGUOUS}) for e in entries)
        return UnitResult(unit.path, entries)

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
            stream = ImageStream(image, item.offset, item.length)
            entries.extend(
                finish_entry(
                    carved, analyse_stream(stream, carved.path, 1, settings, size=item.length)
                )
            )
        return UnitResult(unit.path, tuple(entries))
