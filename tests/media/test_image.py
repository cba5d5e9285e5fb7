"""Image analysis: reference-exact full decode, the JPEG draft path, limits and bad data."""

from __future__ import annotations

import csv
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cairn.core.records import ErrorRecord, ImageInfo, LocalFeatures
from cairn.core.settings import AnalysisSettings
from cairn.hashing.pdq import ZERO_HEX, hamming, pdq_from_image
from cairn.media.image import analyse_image, draft_scale
from cairn.media.jpeg_signature import signature
from cairn.media.sniff import AVIF, GIF, HEIC, JPEG, PNG, WEBP, ContentType, sniff
from cairn.media.synthetic import synthetic_image
from cairn.media.thumbnail import new_key, open_thumbnail, render_jpeg

THREATEXCHANGE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "threatexchange"
EXACT = AnalysisSettings(exact_pdq=True)
FAST = AnalysisSettings()


def _computed_rows() -> list[dict[str, str]]:
    with (THREATEXCHANGE / "COMPUTED_pdqhash_0.2.8.csv").open(newline="") as stream:
        rows = csv.DictReader(stream)
        return [r for r in rows if (THREATEXCHANGE / r["image_path"]).is_file()]


COMPUTED = _computed_rows()


def _analyse(data: bytes, settings: AnalysisSettings) -> tuple[ImageInfo | None, list[ErrorRecord]]:
    content_type = sniff(data[:8192])
    assert content_type is not None and content_type.is_image
    return analyse_image(data, content_type, settings)


def _encode(img: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def _decoded(jpeg: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(jpeg))
    img.load()
    return img


def _full_decode_hash(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as img:
        return pdq_from_image(img).hex


@pytest.fixture(scope="module")
def large_jpegs() -> list[bytes]:
    return [_encode(synthetic_image(seed, 4000, 3000), quality=90) for seed in (1, 2, 3)]


# --- full decode: identical to the reference -------------------------------------------------


@pytest.mark.parametrize("row", COMPUTED, ids=[r["image_path"] for r in COMPUTED])
def test_full_decode_equals_reference_exactly(row: dict[str, str]) -> None:
    data = (THREATEXCHANGE / row["image_path"]).read_bytes()
    info, errors = _analyse(data, EXACT)
    assert errors == []
    assert info is not None
    assert (info.pdq, info.pdq_quality, info.pdq_method) == (
        row["pdq_hex"],
        int(row["quality"]),
        "full",
    )


@pytest.mark.parametrize("row", COMPUTED, ids=[r["image_path"] for r in COMPUTED])
def test_default_settings_on_reference_images(row: dict[str, str]) -> None:
    """Only the 4032x3024 photos are large enough for the draft; the rest stay exact."""
    data = (THREATEXCHANGE / row["image_path"]).read_bytes()
    info, errors = _analyse(data, FAST)
    assert errors == []
    assert info is not None and info.pdq is not None
    if "exif-rotn" in row["image_path"]:
        assert info.pdq_method == "draft"
        assert hamming(info.pdq, row["pdq_hex"]) <= 10
    else:
        assert info.pdq_method == "full"
        assert (info.pdq, info.pdq_quality) == (row["pdq_hex"], int(row["quality"]))


def test_dimensions_are_as_stored() -> None:
    # EXIF Orientation 6: stored landscape, shown portrait; Cairn reports (and hashes) as stored.
    data = (THREATEXCHANGE / "pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg").read_bytes()
    info, _ = _analyse(data, EXACT)
    assert info is not None and (info.width, info.height) == (4032, 3024)


# --- the JPEG draft path ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "scale"),
    [
        ((4000, 3000), 2),
        ((3000, 4000), 2),
        ((2048, 2048), 2),
        ((2046, 4000), 1),  # libjpeg rounds up: 1023 px at half scale
        ((2047, 4000), 2),  # 1024 px at half scale
        ((1600, 1004), 1),
        ((4096, 4096), 4),
        ((4092, 8000), 2),
        ((4093, 8000), 4),
        ((8192, 8192), 8),
        ((1, 1), 1),
    ],
)
def test_draft_scale_keeps_short_side_at_least_1024(size: tuple[int, int], scale: int) -> None:
    assert draft_scale(*size) == scale


def test_draft_is_within_10_bits_of_full_decode(large_jpegs: list[bytes]) -> None:
    for data in large_jpegs:
        info, errors = _analyse(data, FAST)
        assert errors == []
        assert info is not None and info.pdq is not None
        assert (info.width, info.height, info.pdq_method, info.pdq_quality) == (
            4000,
            3000,
            "draft",
            100,
        )
        assert hamming(info.pdq, _full_decode_hash(data)) <= 10


def test_exact_setting_forces_full_decode(large_jpegs: list[bytes]) -> None:
    data = large_jpegs[0]
    info, errors = _analyse(data, EXACT)
    assert errors == []
    assert info is not None
    assert info.pdq_method == "full"
    assert info.pdq == _full_decode_hash(data)


def test_draft_hash_does_not_depend_on_thumbnails(large_jpegs: list[bytes]) -> None:
    # With thumbnails the draft decodes to YCbCr (colour), without to L: the same luma plane.
    data = large_jpegs[1]
    key = new_key()
    plain, _ = _analyse(data, FAST)
    with_thumbnail, errors = _analyse(data, AnalysisSettings(thumbnail_key=key))
    assert errors == []
    assert plain is not None and with_thumbnail is not None
    assert with_thumbnail.thumbnail is not None and plain.thumbnail is None
    assert (with_thumbnail.pdq, with_thumbnail.pdq_method) == (plain.pdq, "draft")
    # The YCbCr draft gives a true-colour thumbnail, like one made from the full decode.
    with Image.open(io.BytesIO(open_thumbnail(with_thumbnail.thumbnail, key))) as thumb:
        drafted = np.asarray(thumb.convert("RGB"), dtype=np.int16)
    with Image.open(io.BytesIO(data)) as full:
        expected = np.asarray(_decoded(render_jpeg(full.convert("RGB"))), dtype=np.int16)
    assert drafted.shape == expected.shape == (120, 160, 3)
    assert np.abs(drafted - expected).mean() < 3


def test_small_jpeg_is_not_drafted() -> None:
    data = _encode(synthetic_image(4, 2000, 1500), quality=90)  # half scale would be 750 px high
    info, _ = _analyse(data, FAST)
    assert info is not None
    assert (info.pdq_method, info.pdq) == ("full", _full_decode_hash(data))


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_draft_of_grey_and_cmyk_jpegs(mode: str) -> None:
    data = _encode(synthetic_image(5, 2400, 2048).convert(mode), quality=90)
    info, errors = _analyse(data, FAST)
    assert errors == []
    assert info is not None and info.pdq is not None
    assert info.pdq_method == "draft"
    assert hamming(info.pdq, _full_decode_hash(data)) <= 10


def test_progressive_jpeg_is_drafted() -> None:
    data = _encode(synthetic_image(6, 2400, 2048), quality=85, progressive=True)
    info, _ = _analyse(data, FAST)
    assert info is not None and info.pdq is not None
    assert info.pdq_method == "draft"
    assert hamming(info.pdq, _full_decode_hash(data)) <= 10


# --- other formats ---------------------------------------------------------------------------


def _two_frame(fmt: str) -> tuple[bytes, Image.Image]:
    first = synthetic_image(7, 320, 240)
    second = synthetic_image(8, 320, 240)
    return _encode(first, fmt, save_all=True, append_images=[second], duration=100), first


@pytest.mark.parametrize(("fmt", "content_type"), [("GIF", GIF), ("WEBP", WEBP)])
def test_animation_hashes_its_first_frame(fmt: str, content_type: ContentType) -> None:
    data, _ = _two_frame(fmt)
    info, errors = analyse_image(data, content_type, FAST)
    assert errors == []
    assert info is not None and info.pdq is not None
    with Image.open(io.BytesIO(data)) as img:
        assert info.pdq == pdq_from_image(img).hex  # the reference: frame 0
        img.seek(1)
        assert hamming(info.pdq, pdq_from_image(img).hex) > 31


@pytest.mark.parametrize(("fmt", "content_type"), [("HEIF", HEIC), ("AVIF", AVIF)])
def test_heic_and_avif_are_decoded(fmt: str, content_type: ContentType) -> None:
    import pillow_heif

    source = synthetic_image(9, 640, 480)
    if fmt == "HEIF":  # encode without registering the opener: Cairn must register it itself
        out = io.BytesIO()
        pillow_heif.from_pillow(source).save(out, quality=90)
        data = out.getvalue()
    else:
        data = _encode(source, fmt, quality=90)
    assert sniff(data[:8192]) == content_type
    info, errors = analyse_image(data, content_type, FAST)
    assert errors == []
    assert info is not None and info.pdq is not None
    assert (info.width, info.height, info.pdq_method) == (640, 480, "full")
    assert hamming(info.pdq, pdq_from_image(source).hex) <= 10


def test_tiny_image_hashes_to_zero() -> None:
    info, errors = analyse_image(_encode(Image.new("RGB", (4, 3), (9, 9, 9)), "PNG"), PNG, FAST)
    assert errors == []
    assert info == ImageInfo(
        4,
        3,
        pdq=ZERO_HEX,
        pdq_quality=0,
        pdq_method="full",
        features=LocalFeatures(4, 3, 0, reason="too small"),
    )


# --- limits ----------------------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares the given size, followed by a tiny IDAT: a bomb's shape."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_declared_huge_png_is_refused_before_decoding() -> None:
    pillow_limit = Image.MAX_IMAGE_PIXELS
    info, errors = analyse_image(_png_header_only(100_000, 100_000), PNG, FAST)
    assert info == ImageInfo(100_000, 100_000)
    assert errors == [
        ErrorRecord(
            "limit",
            "100000x100000 = 10000000000 pixels exceeds the limit of 178956970; not decoded",
        )
    ]
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # Pillow's global is left as it was


def test_real_image_over_a_low_limit() -> None:
    data = _encode(Image.new("L", (1000, 1000)), "PNG")
    info, errors = analyse_image(data, PNG, AnalysisSettings(max_image_pixels=999_999))
    assert info == ImageInfo(1000, 1000)
    assert errors == [
        ErrorRecord("limit", "1000x1000 = 1000000 pixels exceeds the limit of 999999; not decoded")
    ]
    info, errors = analyse_image(data, PNG, AnalysisSettings(max_image_pixels=1_000_000))
    assert errors == [] and info is not None and info.pdq is not None


@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "JPEG"])
def test_settings_limit_governs_not_pillows_global(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pillow also checks sizes while loading (TIFF); a raised Cairn limit must hold there too.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    data = _encode(synthetic_image(15, 200, 150), fmt)
    info, errors = _analyse(data, FAST)
    assert errors == []
    assert info is not None and info.pdq is not None and info.pdq_quality == 100
    assert Image.MAX_IMAGE_PIXELS == 1_000


# --- bad data --------------------------------------------------------------------------------


def test_truncated_jpeg_keeps_dimensions_and_records_decode_error() -> None:
    ramp = np.linspace(0, 255, 640 * 480 * 3).astype(np.uint8).reshape(480, 640, 3)
    data = _encode(Image.fromarray(ramp), quality=90)
    info, errors = analyse_image(data[: len(data) // 2], JPEG, FAST)
    assert info == ImageInfo(640, 480, jpeg=signature(data))  # the header is whole
    assert errors == [
        ErrorRecord("decode", "OSError: image file is truncated (11 bytes not processed)")
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8\xff" + bytes(range(256)) * 8,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20,
    ],
    ids=["empty", "garbage-after-signature", "header-fragment"],
)
def test_unreadable_jpeg_is_a_decode_error(data: bytes) -> None:
    assert analyse_image(data, JPEG, FAST) == (
        None,
        [ErrorRecord("decode", "not a readable image/jpeg image")],
    )


def test_corrupt_scan_data_keeps_dimensions_and_records_decode_error() -> None:
    data = bytearray(_encode(synthetic_image(11, 640, 480), quality=90))
    for i in range(data.find(b"\xff\xda") + 300, len(data) - 10, 7):  # after start of scan
        data[i] ^= 0x55
    info, errors = analyse_image(bytes(data), JPEG, FAST)
    assert info == ImageInfo(640, 480, jpeg=signature(bytes(data)))  # the header is whole
    assert errors == [ErrorRecord("decode", "OSError: broken data stream when reading image file")]


def test_wrong_declared_type_is_a_decode_error() -> None:
    png = _encode(Image.new("RGB", (32, 32)), "PNG")
    assert analyse_image(png, JPEG, FAST) == (
        None,
        [ErrorRecord("decode", "not a readable image/jpeg image")],
    )


# --- review thumbnail ------------------------------------------------------------------------


def test_review_thumbnail_is_sealed_and_small() -> None:
    key = new_key()
    data = _encode(synthetic_image(12, 800, 600), quality=90)
    info, errors = analyse_image(data, JPEG, AnalysisSettings(thumbnail_key=key))
    assert errors == []
    assert info is not None and info.thumbnail is not None
    with Image.open(io.BytesIO(open_thumbnail(info.thumbnail, key))) as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (160, 120))


def test_no_thumbnail_without_key_or_when_disabled() -> None:
    data = _encode(synthetic_image(13, 320, 240), quality=90)
    for settings in (FAST, AnalysisSettings(thumbnails=False, thumbnail_key=new_key())):
        info, _ = analyse_image(data, JPEG, settings)
        assert info is not None and info.pdq is not None and info.thumbnail is None


def test_no_thumbnail_when_decoding_failed() -> None:
    data = _encode(synthetic_image(14, 640, 480), quality=90)
    info, _ = analyse_image(data[:2000], JPEG, AnalysisSettings(thumbnail_key=new_key()))
    assert info is not None and info.thumbnail is None and info.pdq is None
