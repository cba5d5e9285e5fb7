"""Carving: JPEG, PNG and GIF recovered from unallocated space by signature and structure.

A header alone is not a file: a candidate counts only when its structure parses to the end
(JPEG: valid segments, a frame header and a scan, then EOI; PNG: chunks with correct CRCs from
IHDR to IEND; GIF: blocks from the screen descriptor to the trailer with at least one image).
That rejects the random three-byte `FF D8 FF` hits that plague header-only carvers, at the cost
of missing fragmented files: a carved file must lie in one contiguous run of free space.

Scanning resumes after the end of each carved file, so a JPEG's embedded EXIF thumbnail is not
carved a second time. The scan also hashes the free space it reads, because the region it
covered is recorded as an occurrence (see `cairn.evidence.diskimage.free_space`).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cairn.core.types import Digests
from cairn.hashing.digests import TripleHasher

ReadAt = Callable[[int, int], bytes]  # (offset, size) -> bytes, short only at the image end

_SIGNATURES = re.compile(rb"\xff\xd8\xff|\x89PNG\r\n\x1a\n|GIF8[79]a")
_LONGEST_SIGNATURE = 8
_WINDOW = 4 << 20  # bytes scanned for signatures per read
_FIRST_READ = 64 << 10
# JPEG: in entropy-coded data 0xFF is followed by 0x00 (stuffing) or a restart marker; any other
# byte after 0xFF ends the scan. A run of 0xFF is fill, so the class excludes 0xFF too.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_SOF = frozenset(
    (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
)


class Piece(NamedTuple):
    """Free bytes [start, end) to scan; a file starting there may run on up to `limit`."""

    start: int
    end: int
    limit: int


@dataclass(frozen=True)
class Carved:
    offset: int  # byte offset in the image
    length: int
    extension: str  # jpg, png, gif: names the carved occurrence


@dataclass(frozen=True)
class RegionScan:
    digests: Digests  # of the scanned pieces' bytes, concatenated in order
    carved: tuple[Carved, ...]
    stopped_at_count: bool  # max_count reached: later candidates were not carved


class _Candidate:
    """The bytes of one candidate, read from the image on demand up to a limit."""

    def __init__(self, read: ReadAt, offset: int, limit: int) -> None:
        self._read = read
        self._offset = offset
        self._limit = limit  # bytes from `offset`
        self.data = bytearray()

    def have(self, n: int) -> bool:
        """Whether the first `n` bytes exist; reads more (doubling) when needed."""
        while len(self.data) < n:
            room = self._limit - len(self.data)
            if room <= 0:
                return False
            want = min(room, max(n - len(self.data), len(self.data), _FIRST_READ))
            chunk = self._read(self._offset + len(self.data), want)
            if not chunk:
                return False
            self.data += chunk
        return True

    def search(self, pattern: re.Pattern[bytes], pos: int) -> int | None:
        """Index of the next match at or after `pos`, reading further as needed."""
        start = pos
        while True:
            found = pattern.search(self.data, start)
            if found is not None:
                return found.start()
            start = max(pos, len(self.data) - 1)  # a match may straddle the end of what we have
            if not self.have(len(self.data) + 1):
                return None

    def u16(self, pos: int) -> int:
        return int.from_bytes(self.data[pos : pos + 2], "big")

    def u32(self, pos: int) -> int:
        return int.from_bytes(self.data[pos : pos + 4], "big")


def _jpeg_length(c: _Candidate) -> int | None:
    pos, frame, scan = 2, False, False
    while c.have(pos + 2):
        if c.data[pos] != 0xFF:
            return None
        marker = c.data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:  # EOI
            return pos + 2 if frame and scan else None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        if marker < 0xC0 or marker == 0xD8 or not c.have(pos + 4):
            return None
        length = c.u16(pos + 2)
        if length < 2 or not c.have(pos + 2 + length):
            return None
        if marker in _JPEG_SOF:
            # precision, height, width, components: a frame of no width or >4 components is junk
            if length < 8 or c.u16(pos + 7) == 0 or not 1 <= c.data[pos + 9] <= 4:
                return None
            frame = True
        pos += 2 + length
        if marker == 0xDA:  # SOS: entropy-coded data runs to the next real marker
            scan = True
            found = c.search(_JPEG_MARKER, pos)
            if found is None:
                return None
            pos = found
    return None


def _png_length(c: _Candidate) -> int | None:
    pos, first = 8, True
    while c.have(pos + 8):
        length, kind = c.u32(pos), bytes(c.data[pos + 4 : pos + 8])
        if length > 0x7FFFFFFF or not (kind.isascii() and kind.isalpha()):
            return None
        if first and (kind != b"IHDR" or length != 13):
            return None
        end = pos + 12 + length
        if not c.have(end):
            return None
        with memoryview(c.data) as view:  # released before the buffer may grow again
            crc = zlib.crc32(view[pos + 4 : end - 4])
        if crc != c.u32(end - 4):
            return None
        if first and (c.u32(pos + 8) == 0 or c.u32(pos + 12) == 0):  # IHDR width, height
            return None
        if kind == b"IEND":
            return end
        pos, first = end, False
    return None


def _gif_sub_blocks(c: _Candidate, pos: int) -> int | None:
    """The position after a chain of data sub-blocks (each length-prefixed, ended by 0)."""
    while c.have(pos + 1):
        size = c.data[pos]
        pos += 1 + size
        if size == 0:
            return pos
    return None


def _gif_length(c: _Candidate) -> int | None:
    if not c.have(13):
        return None
    flags = c.data[10]
    pos: int | None = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    images = 0
    while pos is not None and c.have(pos + 1):
        block = c.data[pos]
        if block == 0x3B:  # trailer
            return pos + 1 if images else None
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _gif_sub_blocks(c, pos + 2)
        elif block == 0x2C:  # image descriptor, optional local colour table, LZW data
            if not c.have(pos + 11):
                return None
            flags = c.data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            if not c.have(pos + 1) or not 2 <= c.data[pos] <= 8:  # LZW minimum code size
                return None
            pos = _gif_sub_blocks(c, pos + 1)
            images += 1
        else:
            return None
    return None


_PARSERS: dict[int, tuple[str, Callable[[_Candidate], int | None]]] = {
    0xFF: ("jpg", _jpeg_length),
    0x89: ("png", _png_length),
    ord("G"): ("gif", _gif_length),
}


def carve_at(read: ReadAt, offset: int, limit: int) -> Carved | None:
    """The file whose signature starts at `offset`, if its structure ends before `limit`."""
    candidate = _Candidate(read, offset, limit - offset)
    if not candidate.have(1) or candidate.data[0] not in _PARSERS:
        return None
    extension, parse = _PARSERS[candidate.data[0]]
    length = parse(candidate)
    return None if length is None else Carved(offset, length, extension)


def scan(read: ReadAt, pieces: Sequence[Piece], *, max_count: int, max_bytes: int) -> RegionScan:
    """Hash the pieces and carve every file that starts in them (at most `max_count`).

    Raises OSError when the image cannot be read; the caller records it.
    """
    hasher = TripleHasher()
    carved: list[Carved] = []
    stopped = False
    resume = 0  # absolute offset: bytes before it lie inside a file already carved
    for piece in pieces:
        pos = piece.start
        while pos < piece.end:
            size = min(_WINDOW, piece.end - pos)
            # A few bytes more, so that a signature straddling the window end is still seen.
            data = read(pos, min(size + _LONGEST_SIGNATURE - 1, piece.limit - pos))
            if len(data) < size:
                raise OSError(f"image ends at byte {pos + len(data)}, in free space to {piece.end}")
            with memoryview(data) as view:
                hasher.update(view[:size])
            for match in () if stopped else _SIGNATURES.finditer(data):
                at = pos + match.start()
                if match.start() >= size:
                    break
                if at < resume:
                    continue
                if len(carved) >= max_count:
                    stopped = True
                    break
                found = carve_at(read, at, min(piece.limit, at + max_bytes))
                if found is not None:
                    carved.append(found)
                    resume = at + found.length
            pos += size
    return RegionScan(hasher.digests(), tuple(carved), stopped)
