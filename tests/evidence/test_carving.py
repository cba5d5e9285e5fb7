"""Carving by signature and structure, on in-memory images with files planted at known offsets."""

from __future__ import annotations

import hashlib
import io
import os
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cairn.evidence import carving
from cairn.evidence.carving import Carved, Piece, carve_at, scan
from cairn.media.synthetic import jpeg_bytes, synthetic_image

MiB = 1 << 20
JPEG = jpeg_bytes(synthetic_image(11, 120, 90))


def progressive() -> bytes:
    out = io.BytesIO()
    synthetic_image(12, 120, 90).save(out, "JPEG", progressive=True, quality=80)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    synthetic_image(13, 64, 48).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    frames = [synthetic_image(n, 64, 48).convert("P") for n in (14, 15)]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    return out.getvalue()


PROGRESSIVE, PNG, GIF = progressive(), png(), gif()


def reader(data: bytes) -> carving.ReadAt:
    return lambda offset, size: data[offset : offset + size]


def plant(size: int, files: dict[int, bytes], fill: bytes = b"\0") -> bytes:
    image = bytearray(fill * size)
    for offset, data in files.items():
        image[offset : offset + len(data)] = data
    return bytes(image)


def carve_all(image: bytes, **caps: int) -> carving.RegionScan:
    options = {"max_count": 1000, "max_bytes": 64 * MiB, **caps}
    return scan(reader(image), [Piece(0, len(image), len(image))], **options)


def test_each_format_is_carved_at_its_offset_with_its_exact_length() -> None:
    files = {4096: JPEG, 100_000: PNG, 200_000: GIF, 300_001: PROGRESSIVE}
    image = plant(MiB, files)
    result = carve_all(image)
    assert result.carved == (
        Carved(4096, len(JPEG), "jpg"),
        Carved(100_000, len(PNG), "png"),
        Carved(200_000, len(GIF), "gif"),
        Carved(300_001, len(PROGRESSIVE), "jpg"),
    )
    assert result.digests.sha256 == hashlib.sha256(image).hexdigest()
    assert result.digests.size == MiB
    assert result.stopped_at_count is False
    for item in result.carved:  # what is carved decodes
        Image.open(io.BytesIO(image[item.offset : item.offset + item.length])).load()


def test_a_jpeg_inside_a_jpeg_is_carved_once() -> None:
    # A thumbnail in a comment segment: the scan resumes after the outer file's end.
    inner = jpeg_bytes(synthetic_image(16, 64, 48))
    outer = JPEG[:2] + b"\xff\xfe" + (len(inner) + 2).to_bytes(2, "big") + inner + JPEG[2:]
    result = carve_all(plant(MiB, {512: outer}))
    assert result.carved == (Carved(512, len(outer), "jpg"),)


def test_broken_candidates_are_rejected_and_scanning_goes_on() -> None:
    bad_crc = bytearray(PNG)
    bad_crc[29] ^= 0xFF  # inside IHDR's CRC
    no_image_gif = GIF[:13] + b"\x3b"  # header, then the trailer at once
    files = {
        0: JPEG[: len(JPEG) // 2],  # truncated: no EOI before zeros
        65536: b"\xff\xd8\xff" + os.urandom(1000),  # a signature and noise
        131072: bytes(bad_crc),
        196608: no_image_gif,
        262144: b"GIF89a" + b"\xff" * 100,
        327680: JPEG,
    }
    assert carve_all(plant(MiB, files)).carved == (Carved(327680, len(JPEG), "jpg"),)


def test_signature_across_the_window_boundary() -> None:
    at = carving._WINDOW - 3
    image = plant(carving._WINDOW + MiB, {at: JPEG})
    assert carve_all(image).carved == (Carved(at, len(JPEG), "jpg"),)


def test_pieces_limits_and_digest() -> None:
    image = plant(MiB, {1000: JPEG, 400_000: PNG, 700_000: GIF})
    pieces = [
        Piece(1500, 300_000, 300_000),  # starts inside the JPEG: not carved
        Piece(399_000, 400_100, 600_000),  # the PNG starts here and may run on to 600 000
        Piece(699_000, 700_010, 700_000 + len(GIF) - 1),  # the GIF would pass the limit
    ]
    result = scan(reader(image), pieces, max_count=10, max_bytes=MiB)
    assert result.carved == (Carved(400_000, len(PNG), "png"),)
    expected = hashlib.sha256(b"".join(image[p.start : p.end] for p in pieces)).hexdigest()
    assert result.digests.sha256 == expected


def test_caps() -> None:
    image = plant(MiB, {0: JPEG, 200_000: JPEG, 400_000: JPEG})
    capped = carve_all(image, max_count=2)
    assert [c.offset for c in capped.carved] == [0, 200_000]
    assert capped.stopped_at_count is True
    assert carve_all(image, max_count=3).stopped_at_count is False
    assert carve_all(image, max_bytes=len(JPEG) - 1).carved == ()
    assert carve_all(image, max_bytes=len(JPEG)).carved[0] == Carved(0, len(JPEG), "jpg")


def test_image_shorter_than_the_piece_is_an_error() -> None:
    with pytest.raises(OSError, match="image ends at byte 1000"):
        scan(reader(bytes(1000)), [Piece(0, 5000, 5000)], max_count=1, max_bytes=MiB)


def test_carve_at_needs_a_known_signature() -> None:
    assert carve_at(reader(b"\0" * 100), 0, 100) is None
    assert carve_at(reader(JPEG), 0, len(JPEG)) == Carved(0, len(JPEG), "jpg")


def test_png_crc_is_checked_on_every_chunk() -> None:
    # IDAT data altered and its CRC left as it was.
    at = PNG.index(b"IDAT") + 10
    broken = PNG[:at] + bytes([PNG[at] ^ 1]) + PNG[at + 1 :]
    assert zlib.crc32(broken) != zlib.crc32(PNG)
    assert carve_all(plant(65536, {0: broken})).carved == ()


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=4096), st.integers(0, 4095))
def test_noise_never_breaks_the_scan(noise: bytes, at: int) -> None:
    data = bytearray(noise)
    for signature in (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a"):
        data[at : at + len(signature)] = signature
    result = carve_all(bytes(data))
    for item in result.carved:
        assert item.offset + item.length <= len(data)
