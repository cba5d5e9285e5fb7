"""EXIF facts that link media: camera and its serial numbers (body, lens), the exposure's unique
id, software, capture time, place,
and the embedded thumbnail.

A small TIFF reader of our own rather than Pillow's `Exif`: seized files carry broken EXIF
(truncated blocks, offsets past the end, zero denominators, wrong types), and here every field
is read on its own, so a bad field costs only that field and leaves an `ErrorRecord` — never an
exception. It reads bytes only; decoding the embedded thumbnail is the image module's job,
under the same limits as any other untrusted image.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from cairn.core.records import ErrorRecord, ExifInfo

T = TypeVar("T")

_PREFIX = b"Exif\x00\x00"  # JPEG APP1 (and some WebP/HEIC writers) put this before the TIFF data

# Tags: TIFF 6.0, EXIF 2.32 (CIPA DC-008).
_MAKE, _MODEL, _ORIENTATION, _SOFTWARE = 0x010F, 0x0110, 0x0112, 0x0131
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _BODY_SERIAL = 0x9003, 0xA431
_IMAGE_UNIQUE_ID, _LENS_SERIAL = 0xA420, 0xA435
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_THUMBNAIL_OFFSET, _THUMBNAIL_LENGTH = 0x0201, 0x0202  # IFD1: JPEGInterchangeFormat(Length)

# Bytes per value of each TIFF field type (13 is EXIF's IFD pointer type).
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_TEXT_TYPES = (1, 2, 7)  # ASCII by the standard; BYTE and UNDEFINED in the wild
_INTEGER_FORMATS = {3: "H", 4: "I", 13: "I"}
_RATIONAL_FORMATS = {5: "II", 10: "ii"}


class _Malformed(Exception):
    """A field or structure that cannot be read; becomes an ErrorRecord."""


@dataclass(frozen=True)
class ExifResult:
    info: ExifInfo | None  # None: the image has no EXIF, or its header is unreadable
    orientation: int = 1  # EXIF Orientation 1–8: shows review thumbnails upright, never hashed
    thumbnail: bytes | None = None  # the embedded JPEG (IFD1), in memory only
    errors: tuple[ErrorRecord, ...] = ()


@dataclass(frozen=True)
class _Entry:
    type: int
    count: int
    at: int  # where the value bytes start in the block


class _Tiff:
    """Bounds-checked reads over a TIFF structure in memory."""

    def __init__(self, data: memoryview) -> None:
        head = bytes(data[:4])
        if head == b"II*\x00":
            self._order = "<"
        elif head == b"MM\x00*":
            self._order = ">"
        else:
            raise _Malformed(f"no TIFF header (starts {head!r})")
        self.data = data
        self.first_ifd = self._unpack("I", 4)

    def _unpack(self, fmt: str, at: int) -> int:
        try:
            value: int = struct.unpack_from(self._order + fmt, self.data, at)[0]
        except struct.error:
            raise _Malformed(f"offset {at} is past the end of the EXIF data") from None
        return value

    def ifd(self, at: int) -> tuple[dict[int, _Entry], int, str | None]:
        """The entries of the directory at `at`, the next directory's offset (0: none) and a
        problem found in the directory itself, if any. Entries that fit are kept."""
        count = self._unpack("H", at)
        fitting = max(0, (len(self.data) - at - 2) // 12)
        problem = None
        if count > fitting:
            problem = f"directory at {at} claims {count} entries, {fitting} fit"
            count = fitting
        entries: dict[int, _Entry] = {}
        for index in range(count):
            pos = at + 2 + 12 * index
            tag, kind, n = struct.unpack_from(self._order + "HHI", self.data, pos)
            size = _TYPE_SIZES.get(kind)
            if size is None or tag in entries:
                continue  # an unknown type's values cannot be located; the first copy wins
            value_at = pos + 8 if size * n <= 4 else self._unpack("I", pos + 8)
            entries[tag] = _Entry(kind, n, value_at)
        next_at = at + 2 + 12 * count
        # A cut directory has lost its next-directory pointer along with its last entries.
        following = (
            self._unpack("I", next_at) if problem is None and next_at + 4 <= len(self.data) else 0
        )
        return entries, following, problem

    def raw(self, entry: _Entry) -> memoryview:
        end = entry.at + _TYPE_SIZES[entry.type] * entry.count
        if end > len(self.data):
            raise _Malformed(f"value at {entry.at} runs past the end of the EXIF data")
        return self.data[entry.at : end]

    def text(self, entry: _Entry) -> str | None:
        if entry.type not in _TEXT_TYPES:
            raise _Malformed(f"type {entry.type} is not text")
        value = bytes(self.raw(entry)).split(b"\x00", 1)[0].strip()
        if not value:
            return None
        try:
            return value.decode("utf-8")  # the standard says ASCII; phones write UTF-8
        except UnicodeDecodeError:
            return value.decode("latin-1")  # keeps every byte visible to the examiner

    def integer(self, entry: _Entry) -> int:
        fmt = _INTEGER_FORMATS.get(entry.type)
        if fmt is None or entry.count < 1:
            raise _Malformed(f"type {entry.type} × {entry.count} is not an integer")
        self.raw(entry)  # bounds
        return self._unpack(fmt, entry.at)

    def rationals(self, entry: _Entry) -> list[tuple[int, int]]:
        fmt = _RATIONAL_FORMATS.get(entry.type)
        if fmt is None:
            raise _Malformed(f"type {entry.type} is not rational")
        data = self.raw(entry)  # bounds first: the count is untrusted
        values = struct.unpack_from(self._order + fmt * entry.count, data)
        return list(zip(values[::2], values[1::2], strict=True))


def read_exif(block: bytes | None) -> ExifResult:
    """Read the EXIF fields Cairn links on from a TIFF-structured block (JPEG APP1 payload,
    PNG eXIf, WebP/HEIC 'Exif', or a whole TIFF file), with or without the 'Exif' prefix."""
    if not block:
        return ExifResult(None)
    view = memoryview(block)
    while view[:6] == _PREFIX:
        view = view[6:]
    errors: list[ErrorRecord] = []
    try:
        tiff = _Tiff(view)
        ifd0, ifd1_at, problem = tiff.ifd(tiff.first_ifd)
    except _Malformed as exc:
        return ExifResult(None, errors=(ErrorRecord("metadata", f"EXIF: {exc}"),))
    if problem:
        errors.append(ErrorRecord("metadata", f"EXIF IFD0: {problem}"))

    def field(ifd: dict[int, _Entry], tag: int, name: str, read: Callable[[_Entry], T]) -> T | None:
        entry = ifd.get(tag)
        if entry is None:
            return None
        try:
            return read(entry)
        except _Malformed as exc:
            errors.append(ErrorRecord("metadata", f"EXIF {name}: {exc}"))
            return None

    def sub_ifd(tag: int, name: str) -> dict[int, _Entry]:
        at = field(ifd0, tag, name, tiff.integer)
        if at is None:
            return {}
        try:
            entries, _, problem = tiff.ifd(at)
        except _Malformed as exc:
            errors.append(ErrorRecord("metadata", f"EXIF {name}: {exc}"))
            return {}
        if problem:
            errors.append(ErrorRecord("metadata", f"EXIF {name}: {problem}"))
        return entries

    exif_ifd = sub_ifd(_EXIF_IFD, "Exif IFD")
    gps_ifd = sub_ifd(_GPS_IFD, "GPS IFD")
    orientation = field(ifd0, _ORIENTATION, "Orientation", tiff.integer)
    thumbnail = _thumbnail(tiff, ifd1_at, errors)
    info = ExifInfo(
        make=field(ifd0, _MAKE, "Make", tiff.text),
        model=field(ifd0, _MODEL, "Model", tiff.text),
        serial=field(exif_ifd, _BODY_SERIAL, "BodySerialNumber", tiff.text),
        software=field(ifd0, _SOFTWARE, "Software", tiff.text),
        image_unique_id=field(exif_ifd, _IMAGE_UNIQUE_ID, "ImageUniqueID", tiff.text),
        lens_serial=field(exif_ifd, _LENS_SERIAL, "LensSerialNumber", tiff.text),
        datetime_original=field(exif_ifd, _DATETIME_ORIGINAL, "DateTimeOriginal", tiff.text),
        gps_lat=_coordinate(tiff, gps_ifd, _GPS_LAT, _GPS_LAT_REF, ("N", "S"), 90, errors),
        gps_lon=_coordinate(tiff, gps_ifd, _GPS_LON, _GPS_LON_REF, ("E", "W"), 180, errors),
        has_thumbnail=thumbnail is not None,
    )
    return ExifResult(
        info,
        orientation=orientation if orientation is not None and 1 <= orientation <= 8 else 1,
        thumbnail=thumbnail,
        errors=tuple(errors),
    )


def _coordinate(
    tiff: _Tiff,
    gps: dict[int, _Entry],
    tag: int,
    ref_tag: int,
    refs: tuple[str, str],  # (positive, negative) hemisphere
    limit: int,
    errors: list[ErrorRecord],
) -> float | None:
    """Signed decimal degrees from degrees/minutes/seconds rationals and an N/S or E/W ref.

    A coordinate that is not fully readable (zero denominator, missing hemisphere) is left
    out with an error rather than guessed: a wrong place is worse than none.
    """
    entry = gps.get(tag)
    if entry is None:
        return None
    name = "GPSLatitude" if refs[0] == "N" else "GPSLongitude"
    try:
        parts = tiff.rationals(entry)
        if not 1 <= len(parts) <= 3:
            raise _Malformed(f"{len(parts)} values, expected degrees, minutes, seconds")
        if any(den == 0 for _, den in parts):
            raise _Malformed(f"zero denominator in {parts}")
        value = sum((Fraction(num, den) / 60**i for i, (num, den) in enumerate(parts)), Fraction(0))
        if not 0 <= value <= limit:
            raise _Malformed(f"{float(value)} is outside 0–{limit} degrees")
        ref_entry = gps.get(ref_tag)
        ref = tiff.text(ref_entry) if ref_entry is not None else None
        if ref is None or ref.upper() not in refs:
            raise _Malformed(f"hemisphere {ref!r} is not {refs[0]} or {refs[1]}")
    except _Malformed as exc:
        errors.append(ErrorRecord("metadata", f"EXIF {name}: {exc}"))
        return None
    return float(-value if ref.upper() == refs[1] else value)


def _thumbnail(tiff: _Tiff, ifd1_at: int, errors: list[ErrorRecord]) -> bytes | None:
    """The JPEG that IFD1 points at. Editors often rewrite the picture but keep this, so a
    thumbnail unlike its image is a clue to an edit or a crop."""
    if ifd1_at == 0:
        return None
    try:
        ifd1, _, _ = tiff.ifd(ifd1_at)
        if _THUMBNAIL_OFFSET not in ifd1 or _THUMBNAIL_LENGTH not in ifd1:
            return None
        start = tiff.integer(ifd1[_THUMBNAIL_OFFSET])
        length = tiff.integer(ifd1[_THUMBNAIL_LENGTH])
        if length == 0 or start + length > len(tiff.data):
            raise _Malformed(f"{length} bytes at {start} lie outside the EXIF data")
        jpeg = bytes(tiff.data[start : start + length])
        if not jpeg.startswith(b"\xff\xd8"):
            raise _Malformed("not a JPEG")
    except _Malformed as exc:
        errors.append(ErrorRecord("metadata", f"EXIF thumbnail: {exc}"))
        return None
    return jpeg
