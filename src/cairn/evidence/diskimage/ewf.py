"""EnCase images (E01, E02, …) through libewf, presented to The Sleuth Kit as one disk.

libewf opens the segment set and hands back the acquired media data; pytsk3 sees it through an
`Img_Info` subclass (TSK's "external image" hook), so partitions and file systems inside an E01
are read exactly like those in a raw image. Segments are opened by us, read-only and without
touching their access times, and passed to libewf as file objects.

Format quirks handled here:
- `pyewf.glob` stops at the first gap in the segment names, and libewf opens a set with
  segments missing at the end or cut short; reads in the damage then fail, or come back
  zero-filled. `problems` walks each segment's section chain (every section header carries
  an Adler-32 and the offset of the next; the last segment ends in a `done` section), so a
  missing or truncated segment is reported before anything is hashed.
- libewf also zero-fills a chunk whose checksum fails instead of raising; only recomputing
  the acquisition hash (`cairn evidence verify`) reveals damage inside chunk data.
"""

from __future__ import annotations

import errno
import os
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import pyewf
import pytsk3

from cairn.evidence.analysis import error_text, open_readonly

# EWF version 1 ("Expert Witness Compression Format"): what EnCase 1–6 and ewfacquire write.
EWF_SIGNATURE = b"EVF\x09\x0d\x0a\xff\x00"
# Header values worth keeping with the evidence, in libewf's names.
HEADER_KEYS = (
    "case_number",
    "evidence_number",
    "description",
    "examiner_name",
    "notes",
    "acquiry_date",
    "system_date",
    "acquiry_operating_system",
    "acquiry_software",
    "acquiry_software_version",
    "model",
    "serial_number",
)


def _libewf_cause(message: str) -> str:
    """The innermost reason in a libewf error chain ("pyewf_…: …. libewf_…: reason. …")."""
    parts = re.split(r"\.\s+(?=\w+: )", message)
    inner = parts[1] if len(parts) > 1 else parts[0]
    return "libewf: " + inner.split(": ", 1)[-1].rstrip(".")


def has_ewf_signature(path: Path) -> bool:
    try:
        fd = open_readonly(os.fsencode(path))
    except OSError:
        return False
    try:
        return os.pread(fd, len(EWF_SIGNATURE), 0) == EWF_SIGNATURE
    finally:
        os.close(fd)


def segment_paths(first: Path) -> list[Path]:
    """The segment files libewf would open for `first` (E01, E02, … E99, EAA, …)."""
    return [Path(name) for name in pyewf.glob(str(first))]


class ImageReader(Protocol):
    last_error: str | None

    def pread(self, offset: int, size: int) -> bytes: ...


def tsk_read(image: ImageReader, offset: int, size: int) -> bytes:
    """TSK's read callback: an error becomes an empty read, its cause kept in `last_error`.

    pytsk3 turns an exception raised in the callback into a bare RuntimeError wherever TSK
    happens to be; an empty read instead becomes TSK's own read error (OSError) at the call
    that needed the data, which callers already record.
    """
    try:
        return image.pread(offset, size)
    except OSError as exc:
        image.last_error = error_text(exc)
        return b""


class EwfImage(pytsk3.Img_Info):  # type: ignore[misc]  # pytsk3 ships no type information
    """An E01 segment set as a TSK image. Raises OSError when libewf cannot open the set."""

    last_error: str | None = None

    def __init__(self, first_segment: Path) -> None:
        self.segments = segment_paths(first_segment)
        if not self.segments:
            raise OSError(f"{first_segment.name}: no EWF segment files found")
        self._files: list[BinaryIO] = []
        self._handle = pyewf.handle()
        try:
            for segment in self.segments:
                # Kept open for the handle's lifetime; closed in close().
                fd = open_readonly(os.fsencode(segment))
                self._files.append(open(fd, "rb", buffering=0))  # noqa: SIM115
            self._handle.open_file_objects(self._files)
            self.media_size: int = self._handle.get_media_size()
        except (OSError, ValueError) as exc:
            self._close_files()
            raise OSError(f"{first_segment.name}: libewf cannot open the image: {exc}") from exc
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def pread(self, offset: int, size: int) -> bytes:
        """Media data at `offset`; OSError when libewf cannot read it (a missing segment)."""
        try:
            data: bytes = self._handle.read_buffer_at_offset(size, offset)
        except OSError as exc:
            raise OSError(errno.EIO, _libewf_cause(str(exc))) from exc
        return data

    def read(self, offset: int, size: int) -> bytes:
        return tsk_read(self, offset, size)

    def get_size(self) -> int:
        return self.media_size

    def close(self) -> None:
        self._handle.close()
        self._close_files()

    def _close_files(self) -> None:
        for file in self._files:
            file.close()
        self._files.clear()

    def header(self) -> dict[str, str]:
        """The acquisition header (case number, examiner, dates…), empty values left out."""
        values = self._handle.get_header_values() or {}
        return {key: str(values[key]) for key in HEADER_KEYS if values.get(key)}

    def stored_hashes(self) -> dict[str, str]:
        """Digests of the media data the acquiring tool stored in the image: md5, sha1."""
        values = self._handle.get_hash_values() or {}
        return {key.lower(): str(value).lower() for key, value in values.items()}

    def problems(self) -> list[str]:
        """What is wrong with the segment set: a missing segment, damaged segments.

        libewf opens such sets and then zero-fills or fails the reads that fall in the damage,
        so this is where it is noticed before any file is hashed.
        """
        found = [damage for damage in map(_segment_damage, self.segments) if damage]
        if not found and _last_section(self.segments[-1]) != b"done":
            found.append(f"the segment after {self.segments[-1].name} is missing")
        return found


# EWF1 section descriptor: type, next section's offset, size, padding, Adler-32 of the rest.
_SECTION = struct.Struct("<16sQQ40xI")
_FILE_HEADER_SIZE = 13  # signature, 0x01, segment number, 0x0000


def _walk_sections(path: Path) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, file size) of each section, raising ValueError where the chain breaks."""
    fd = open_readonly(os.fsencode(path))
    try:
        size = os.fstat(fd).st_size
        offset = _FILE_HEADER_SIZE
        while True:
            raw = os.pread(fd, _SECTION.size, offset)
            if len(raw) < _SECTION.size:
                raise ValueError(f"ends inside a section header at byte {offset} ({size} bytes)")
            kind, following, _, checksum = _SECTION.unpack(raw)
            if zlib.adler32(raw[:-4]) != checksum:
                raise ValueError(f"the section header at byte {offset} is damaged")
            kind = kind.rstrip(b"\0")
            yield kind, offset, size
            if kind in (b"next", b"done"):
                return
            if not offset < following <= size:
                raise ValueError(
                    f"the {kind.decode('ascii', 'replace')} section at byte {offset} runs to "
                    f"byte {following}, past the end of the file ({size} bytes)"
                )
            offset = following
    finally:
        os.close(fd)


def _segment_damage(path: Path) -> str | None:
    try:
        for _ in _walk_sections(path):
            pass
    except (OSError, ValueError) as exc:
        return f"segment {path.name} is damaged: {exc}"
    return None


def _last_section(path: Path) -> bytes | None:
    try:
        return [kind for kind, _, _ in _walk_sections(path)][-1]
    except (OSError, ValueError):
        return None
