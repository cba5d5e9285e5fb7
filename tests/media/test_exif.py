"""EXIF: fields written by Pillow and by hand read back exactly; broken EXIF never raises."""

from __future__ import annotations

import io
import struct
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cairn.core.records import ErrorRecord, ExifInfo
from cairn.core.settings import AnalysisSettings
from cairn.media.exif import ExifResult, read_exif
from cairn.media.image import analyse_image
from cairn.media.sniff import JPEG, PNG, WEBP, ContentType
from cairn.media.synthetic import synthetic_image

EXIF_ROTN = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "threatexchange"
    / "pdq"
    / "data"
    / "reg-test-input"
    / "exif-rotn"
)
FAST = AnalysisSettings()

# --- building EXIF by hand: a TIFF structure with IFD0, Exif IFD, GPS IFD and IFD1 -----------

Entry = tuple[int, int, int, bytes]  # tag, type, count, value bytes


def ascii_(tag: int, text: str | bytes) -> Entry:
    raw = (text.encode() if isinstance(text, str) else text) + b"\x00"
    return (tag, 2, len(raw), raw)


def long_(tag: int, value: int, order: str = "<") -> Entry:
    return (tag, 4, 1, struct.pack(order + "I", value))


def short_(tag: int, value: int, order: str = "<") -> Entry:
    return (tag, 3, 1, struct.pack(order + "H", value))


def rationals(tag: int, *pairs: tuple[int, int], order: str = "<") -> Entry:
    return (tag, 5, len(pairs), b"".join(struct.pack(order + "II", n, d) for n, d in pairs))


def _ifd_size(entries: list[Entry]) -> int:
    return 2 + 12 * len(entries) + 4 + sum(len(v) + len(v) % 2 for *_, v in entries if len(v) > 4)


def _ifd(entries: list[Entry], at: int, next_at: int, order: str) -> bytes:
    data_at = at + 2 + 12 * len(entries) + 4
    head, tail = struct.pack(order + "H", len(entries)), b""
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            field = value.ljust(4, b"\x00")
        else:
            field = struct.pack(order + "I", data_at + len(tail))
            tail += value + b"\x00" * (len(value) % 2)  # TIFF values start on word boundaries
        head += struct.pack(order + "HHI", tag, kind, count) + field
    return head + struct.pack(order + "I", next_at) + tail


def build_tiff(
    ifd0: list[Entry],
    exif: list[Entry] | None = None,
    gps: list[Entry] | None = None,
    thumbnail: bytes | None = None,
    order: str = "<",
) -> bytes:
    """A TIFF/EXIF block: header, IFD0 (with pointers to the Exif and GPS IFDs), those IFDs,
    then IFD1 pointing at a JPEG thumbnail, laid out one after the other."""
    ifd0 = list(ifd0)
    if exif is not None:
        ifd0.append(long_(0x8769, 0, order))
    if gps is not None:
        ifd0.append(long_(0x8825, 0, order))
    ifd1 = [long_(0x0201, 0, order), long_(0x0202, 0, order)] if thumbnail is not None else None
    at = 8
    offsets = {}
    for name, entries in (("ifd0", ifd0), ("exif", exif), ("gps", gps), ("ifd1", ifd1)):
        if entries is not None:
            offsets[name] = at
            at += _ifd_size(entries)

    def point(entries: list[Entry], tag: int, value: int) -> list[Entry]:
        return [e if e[0] != tag else long_(tag, value, order) for e in entries]

    if exif is not None:
        ifd0 = point(ifd0, 0x8769, offsets["exif"])
    if gps is not None:
        ifd0 = point(ifd0, 0x8825, offsets["gps"])
    if ifd1 is not None and thumbnail is not None:
        ifd1 = point(point(ifd1, 0x0201, at), 0x0202, len(thumbnail))
    head = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    parts = [head, _ifd(ifd0, 8, offsets.get("ifd1", 0), order)]
    for name, entries in (("exif", exif), ("gps", gps), ("ifd1", ifd1)):
        if entries is not None:
            parts.append(_ifd(entries, offsets[name], 0, order))
    if thumbnail is not None:
        parts.append(thumbnail)
    return b"".join(parts)


def jpeg(img: Image.Image, exif: bytes | Image.Exif | None = None, quality: int = 90) -> bytes:
    out = io.BytesIO()
    if exif is None:
        img.save(out, "JPEG", quality=quality)
    else:
        img.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def _degrees(d: tuple[int, int], m: tuple[int, int], s: tuple[int, int]) -> float:
    return float(Fraction(*d) + Fraction(*m) / 60 + Fraction(*s) / 3600)


# --- EXIF written by Pillow ------------------------------------------------------------------


def _pillow_exif(lat_ref: str, lon_ref: str) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D Mark IV"
    exif[0x0131] = "Adobe Photoshop Lightroom Classic 12.0"
    exif[0x0112] = 6
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2023:06:14 09:41:27"
    sub[0xA431] = "032021001234"
    gps = exif.get_ifd(0x8825)
    gps[1] = lat_ref
    gps[2] = (Fraction(51), Fraction(30), Fraction(2640, 100))
    gps[3] = lon_ref
    gps[4] = (Fraction(0), Fraction(7), Fraction(3999, 100))
    return exif


@pytest.mark.parametrize(("lat_ref", "lon_ref", "sign"), [("N", "E", (1, 1)), ("S", "W", (-1, -1))])
def test_pillow_written_exif_reads_back_exactly(
    lat_ref: str, lon_ref: str, sign: tuple[int, int]
) -> None:
    data = jpeg(synthetic_image(1, 320, 240), _pillow_exif(lat_ref, lon_ref))
    info, errors = analyse_image(data, JPEG, FAST)
    assert errors == []
    assert info is not None
    assert info.exif == ExifInfo(
        make="Canon",
        model="Canon EOS 5D Mark IV",
        serial="032021001234",
        software="Adobe Photoshop Lightroom Classic 12.0",
        datetime_original="2023:06:14 09:41:27",
        gps_lat=sign[0] * _degrees((51, 1), (30, 1), (2640, 100)),
        gps_lon=sign[1] * _degrees((0, 1), (7, 1), (3999, 100)),
        has_thumbnail=False,
        thumbnail_pdq_distance=None,
    )
    assert info.exif.gps_lat == pytest.approx(sign[0] * 51.5073333333)


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", PNG), ("WEBP", WEBP)])
def test_exif_in_other_containers(fmt: str, content_type: ContentType) -> None:
    out = io.BytesIO()
    synthetic_image(2, 160, 120).save(out, fmt, exif=_pillow_exif("N", "W"))
    info, errors = analyse_image(out.getvalue(), content_type, FAST)
    assert errors == []
    assert info is not None and info.exif is not None
    assert (info.exif.make, info.exif.serial) == ("Canon", "032021001234")
    assert info.exif.gps_lon == -_degrees((0, 1), (7, 1), (3999, 100))


def test_no_exif_is_none() -> None:
    info, errors = analyse_image(jpeg(synthetic_image(3, 160, 120)), JPEG, FAST)
    assert errors == [] and info is not None and info.exif is None
    assert read_exif(None) == ExifResult(None)
    assert read_exif(b"") == ExifResult(None)


# --- a real phone photo from the shared reference data ---------------------------------------


@pytest.mark.parametrize(
    ("name", "orientation", "taken"),
    [
        ("exif-rotn-1.jpg", 1, "2017:11:07 22:14:15"),
        ("exif-rotn-3.jpg", 3, "2017:11:07 22:14:30"),
        ("exif-rotn-6.jpg", 6, "2017:11:07 22:14:06"),
        ("exif-rotn-8.jpg", 8, "2017:11:07 22:14:19"),
    ],
)
def test_phone_photo_exif(name: str, orientation: int, taken: str) -> None:
    data = (EXIF_ROTN / name).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        result = read_exif(img.info["exif"])
    assert result.errors == ()
    assert result.orientation == orientation
    assert result.thumbnail is not None and result.thumbnail.startswith(b"\xff\xd8")
    assert result.info == ExifInfo(
        make="samsung",
        model="SM-G930V",
        software="G930VVRS4BQI1",
        image_unique_id="C12QSJK01SM",  # the same in all four: this phone writes one per device
        datetime_original=taken,
        gps_lat=_degrees((38, 1), (58, 1), (40566, 1000)),
        gps_lon=-_degrees((77, 1), (1, 1), (235297, 10000)),
        has_thumbnail=True,
    )


def test_phone_photo_thumbnail_matches_the_picture() -> None:
    info, errors = analyse_image((EXIF_ROTN / "exif-rotn-1.jpg").read_bytes(), JPEG, FAST)
    assert errors == []
    assert info is not None and info.exif is not None
    assert info.exif.thumbnail_pdq_distance == 6


# --- embedded thumbnails: an edited picture that kept its old thumbnail ----------------------


def _thumbnail_of(img: Image.Image) -> bytes:
    small = img.copy()
    small.thumbnail((160, 160))
    return jpeg(small, quality=75)


def _camera_ifd0() -> list[Entry]:
    return [ascii_(0x010F, "NIKON CORPORATION"), ascii_(0x0110, "NIKON D850")]


def test_thumbnail_of_the_same_picture_is_near() -> None:
    picture = synthetic_image(4, 640, 480)
    block = build_tiff(_camera_ifd0(), thumbnail=_thumbnail_of(picture))
    info, errors = analyse_image(jpeg(picture, b"Exif\x00\x00" + block), JPEG, FAST)
    assert errors == []
    assert info is not None and info.exif is not None
    assert (info.exif.make, info.exif.has_thumbnail) == ("NIKON CORPORATION", True)
    # Within PDQ's match threshold (31): the thumbnail still shows this picture.
    assert info.exif.thumbnail_pdq_distance is not None
    assert info.exif.thumbnail_pdq_distance <= 31


def test_thumbnail_of_the_uncropped_picture_is_far() -> None:
    original = synthetic_image(5, 640, 480)
    cropped = original.crop((200, 150, 520, 390))  # the "edit": a crop that kept the thumbnail
    block = build_tiff(_camera_ifd0(), thumbnail=_thumbnail_of(original))
    info, errors = analyse_image(jpeg(cropped, b"Exif\x00\x00" + block), JPEG, FAST)
    assert errors == []
    assert info is not None and info.exif is not None
    assert info.exif.has_thumbnail
    # Beyond the match threshold: the thumbnail shows something other than this picture.
    assert info.exif.thumbnail_pdq_distance is not None
    assert info.exif.thumbnail_pdq_distance > 31


def test_big_endian_block() -> None:
    block = build_tiff(
        [ascii_(0x010F, "FUJIFILM"), short_(0x0112, 8, ">")],
        exif=[ascii_(0xA431, "7CA12345")],
        gps=[ascii_(1, "S"), rationals(2, (12, 1), (0, 1), (0, 1), order=">")],
        order=">",
    )
    result = read_exif(block)
    assert result == ExifResult(
        ExifInfo(make="FUJIFILM", serial="7CA12345", gps_lat=-12.0), orientation=8
    )


def test_thumbnail_is_hashed_only_when_the_picture_is() -> None:
    picture = synthetic_image(6, 640, 480)
    block = build_tiff(_camera_ifd0(), thumbnail=_thumbnail_of(picture))
    data = jpeg(picture, b"Exif\x00\x00" + block)
    info, errors = analyse_image(data, JPEG, AnalysisSettings(max_image_pixels=1000))
    assert [e.stage for e in errors] == ["limit"]
    assert info is not None and info.exif is not None
    assert (info.exif.has_thumbnail, info.exif.thumbnail_pdq_distance) == (True, None)


def test_thumbnail_declaring_a_huge_size_is_not_decoded() -> None:
    tiny = bytearray(jpeg(Image.new("RGB", (16, 16))))
    sof = tiny.find(b"\xff\xc0")
    tiny[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    picture = synthetic_image(7, 320, 240)
    block = build_tiff(_camera_ifd0(), thumbnail=bytes(tiny))
    info, errors = analyse_image(jpeg(picture, b"Exif\x00\x00" + block), JPEG, FAST)
    assert errors == [
        ErrorRecord(
            "metadata",
            "EXIF thumbnail: 60000x60000 = 3600000000 pixels exceeds the limit of 1048576",
        )
    ]
    assert info is not None and info.pdq is not None and info.exif is not None
    assert (info.exif.has_thumbnail, info.exif.thumbnail_pdq_distance) == (True, None)


def test_corrupt_thumbnail_is_a_metadata_error() -> None:
    picture = synthetic_image(8, 320, 240)
    block = build_tiff(_camera_ifd0(), thumbnail=b"\xff\xd8\xff" + b"\x00" * 64)
    info, errors = analyse_image(jpeg(picture, b"Exif\x00\x00" + block), JPEG, FAST)
    assert errors == [ErrorRecord("metadata", "EXIF thumbnail: not a readable image/jpeg image")]
    assert info is not None and info.pdq is not None


# --- malformed EXIF: what can be read is kept, the rest is an error ---------------------------


def test_zero_denominator_in_gps() -> None:
    block = build_tiff(
        _camera_ifd0(),
        gps=[
            ascii_(1, "N"),
            rationals(2, (51, 1), (30, 0), (0, 1)),
            ascii_(3, "E"),
            rationals(4, (0, 1), (7, 1), (40, 1)),
        ],
    )
    result = read_exif(block)
    assert result.info == ExifInfo(
        make="NIKON CORPORATION", model="NIKON D850", gps_lon=_degrees((0, 1), (7, 1), (40, 1))
    )
    assert result.errors == (
        ErrorRecord("metadata", "EXIF GPSLatitude: zero denominator in [(51, 1), (30, 0), (0, 1)]"),
    )


@pytest.mark.parametrize(
    ("gps", "message"),
    [
        (
            [rationals(2, (51, 1), (30, 1), (0, 1))],
            "EXIF GPSLatitude: hemisphere None is not N or S",
        ),
        (
            [ascii_(1, "X"), rationals(2, (51, 1), (30, 1), (0, 1))],
            "EXIF GPSLatitude: hemisphere 'X' is not N or S",
        ),
        (
            [ascii_(1, "N"), rationals(2, (91, 1), (0, 1), (0, 1))],
            "EXIF GPSLatitude: 91.0 is outside 0–90 degrees",
        ),
        (
            [ascii_(1, "N"), rationals(2, (1, 1), (2, 1), (3, 1), (4, 1))],
            "EXIF GPSLatitude: 4 values, expected degrees, minutes, seconds",
        ),
        ([ascii_(1, "N"), ascii_(2, "51.5")], "EXIF GPSLatitude: type 2 is not rational"),
        (
            [ascii_(1, "N"), (2, 5, 0xFFFFFFFF, struct.pack("<I", 8))],
            "EXIF GPSLatitude: value at 8 runs past the end of the EXIF data",
        ),
    ],
)
def test_unusable_latitude(gps: list[Entry], message: str) -> None:
    result = read_exif(build_tiff(_camera_ifd0(), gps=gps))
    assert result.info is not None
    assert (result.info.make, result.info.gps_lat) == ("NIKON CORPORATION", None)
    assert result.errors == (ErrorRecord("metadata", message),)


def test_decimal_degrees_in_one_rational() -> None:
    gps = [ascii_(1, "s"), rationals(2, (515073, 10000))]
    result = read_exif(build_tiff([], gps=gps))
    assert result.info == ExifInfo(gps_lat=-51.5073)


def test_not_a_tiff_header() -> None:
    assert read_exif(b"Exif\x00\x00JUNKJUNK") == ExifResult(
        None, errors=(ErrorRecord("metadata", "EXIF: no TIFF header (starts b'JUNK')"),)
    )


def test_first_directory_past_the_end() -> None:
    assert read_exif(b"II*\x00\x00\x10\x00\x00") == ExifResult(
        None,
        errors=(ErrorRecord("metadata", "EXIF: offset 4096 is past the end of the EXIF data"),),
    )


def test_truncated_block_keeps_what_fits() -> None:
    block = build_tiff([ascii_(0x010F, "Sony"), ascii_(0x0110, "ILCE-7M3"), ascii_(0x0131, "v2")])
    # Cut inside the third entry: two entries fit, the strings they point at are gone.
    cut = block[: 8 + 2 + 12 * 2 + 5]
    result = read_exif(cut)
    assert result.info == ExifInfo()
    assert result.errors == (
        ErrorRecord("metadata", "EXIF IFD0: directory at 8 claims 3 entries, 2 fit"),
        ErrorRecord("metadata", "EXIF Make: value at 50 runs past the end of the EXIF data"),
        ErrorRecord("metadata", "EXIF Model: value at 56 runs past the end of the EXIF data"),
    )


def test_sub_directory_pointer_past_the_end() -> None:
    block = build_tiff([ascii_(0x010F, "Sony"), long_(0x8769, 99999)])
    result = read_exif(block)
    assert result.info == ExifInfo(make="Sony")
    assert result.errors == (
        ErrorRecord("metadata", "EXIF Exif IFD: offset 99999 is past the end of the EXIF data"),
    )


def test_wrong_types_and_bytes() -> None:
    block = build_tiff(
        [
            (0x010F, 3, 1, b"\x01\x00"),  # Make as a SHORT
            ascii_(0x0110, "Caf\xe9".encode("latin-1")),  # not UTF-8
            ascii_(0x0131, "Pixel 8 Pro · HDR+"),  # UTF-8
            ascii_(0x0112, "six"),
            (0x9999, 99, 1, b"\x00\x00\x00\x00"),  # unknown type: skipped silently
        ]
    )
    result = read_exif(block)
    assert result.info == ExifInfo(model="Café", software="Pixel 8 Pro · HDR+")
    assert result.orientation == 1
    assert result.errors == (
        ErrorRecord("metadata", "EXIF Orientation: type 2 × 4 is not an integer"),
        ErrorRecord("metadata", "EXIF Make: type 3 is not text"),
    )


@pytest.mark.parametrize(
    ("ifd1", "message"),
    [
        ([long_(0x0201, 5000), long_(0x0202, 100)], "100 bytes at 5000 lie outside the EXIF data"),
        ([long_(0x0201, 0), long_(0x0202, 0)], "0 bytes at 0 lie outside the EXIF data"),
        ([long_(0x0201, 0), long_(0x0202, 8)], "not a JPEG"),
    ],
)
def test_bad_thumbnail_pointers(ifd1: list[Entry], message: str) -> None:
    ifd0 = [ascii_(0x010F, "Sony")]
    ifd1_at = 8 + _ifd_size(ifd0)
    block = (
        b"II*\x00"
        + struct.pack("<I", 8)
        + _ifd(ifd0, 8, ifd1_at, "<")
        + _ifd(ifd1, ifd1_at, 0, "<")
    )
    result = read_exif(block)
    assert result.info == ExifInfo(make="Sony", has_thumbnail=False)
    assert result.thumbnail is None
    assert result.errors == (ErrorRecord("metadata", f"EXIF thumbnail: {message}"),)


def test_malformed_exif_inside_a_jpeg_never_raises() -> None:
    block = build_tiff(_camera_ifd0(), gps=[ascii_(1, "N"), rationals(2, (0, 0), (0, 0), (0, 0))])
    info, errors = analyse_image(
        jpeg(synthetic_image(9, 160, 120), b"Exif\x00\x00" + block), JPEG, FAST
    )
    assert info is not None and info.pdq is not None and info.exif is not None
    assert info.exif.make == "NIKON CORPORATION"
    assert errors == [
        ErrorRecord("metadata", "EXIF GPSLatitude: zero denominator in [(0, 0), (0, 0), (0, 0)]")
    ]


_VALID = build_tiff(
    _camera_ifd0(),
    exif=[ascii_(0x9003, "2020:01:01 00:00:00"), ascii_(0xA431, "123")],
    gps=[ascii_(1, "N"), rationals(2, (1, 1), (2, 1), (3, 1))],
    thumbnail=b"\xff\xd8\xff\xd9",
)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=512))
def test_any_bytes_after_a_tiff_header_never_raise(tail: bytes) -> None:
    for head in (b"II*\x00", b"MM\x00*"):
        result = read_exif(head + tail)
        assert isinstance(result, ExifResult)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), max_size=8))
def test_corrupted_valid_block_never_raises(edits: list[tuple[int, int]]) -> None:
    block = bytearray(_VALID)
    for at, value in edits:
        block[at] = value
    result = read_exif(bytes(block))
    assert isinstance(result, ExifResult)


def test_exposure_id_and_lens_serial_are_read() -> None:
    from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image

    data = jpeg_bytes(
        synthetic_image(1, 64, 64), CameraExif(image_unique_id="f00dcafe", lens_serial="L-42")
    )
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        info = read_exif(img.info["exif"]).info
    assert info is not None
    assert (info.image_unique_id, info.lens_serial) == ("f00dcafe", "L-42")
