"""The JPEG camera signature: how the encoder wrote the file (Kee, Johnson, Farid 2011).

Quantisation and Huffman tables, chroma sampling, frame and thumbnail geometry and the order
of the metadata segments are chosen by a camera's firmware, and survive when the serial
number is stripped; any re-save (an editor, a messaging app) writes its own. Read from the
header bytes already in memory, without decoding. See docs/camera.md.
"""

from __future__ import annotations

import hashlib
import struct

from cairn.core.records import JpegSignature


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(value) for value in text.split())


# ITU T.81 Annex K: the example tables libjpeg scales by its "quality" (natural order).
_LUMA = _ints("""
    16 11 10 16 24 40 51 61   12 12 14 19 26 58 60 55   14 13 16 24 40 57 69 56
    14 17 22 29 51 87 80 62   18 22 37 56 68 109 103 77   24 35 55 64 81 104 113 92
    49 64 78 87 103 121 120 101   72 92 95 98 112 100 103 99
    """)
_CHROMA = (
    _ints("""
    17 18 24 47 99 99 99 99   18 21 26 66 99 99 99 99   24 26 56 99 99 99 99 99
    47 66 99 99 99 99 99 99
    """)
    + (99,) * 32
)
# The k-th value of a DQT segment is this position of the 8×8 block (T.81 figure A.6).
_ZIGZAG = _ints("""
    0 1 8 16 9 2 3 10 17 24 32 25 18 11 4 5 12 19 26 33 40 48 41 34 27 20 13 6 7 14 21 28
    35 42 49 56 57 50 43 36 29 22 15 23 30 37 44 51 58 59 52 45 38 31 39 46 53 60 61 54 47 55
    62 63
    """)
_SOF = {0xC0 + n for n in range(16)} - {0xC4, 0xC8, 0xCC}  # C4 DHT, C8 reserved, CC DAC
_APP_NAMES = {  # APPn identifiers, shortened
    b"JFIF": "JFIF",
    b"JFXX": "JFXX",
    b"Exif": "Exif",
    b"http://ns.adobe.com/xap/1.0/": "XMP",
    b"http://ns.adobe.com/xmp/extension/": "XMP-ext",
    b"ICC_PROFILE": "ICC",
    b"MPF": "MPF",
    b"Photoshop 3.0": "Photoshop",
    b"Adobe": "Adobe",
    b"Ducky": "Ducky",
}


class MalformedJpeg(ValueError):
    """A header that cannot be walked; the message says where."""


def ijg_tables(quality: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """libjpeg's luma and chroma tables at `quality` (jpeg_set_quality, baseline)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(
        tuple(min(255, max(1, (value * scale + 50) // 100)) for value in base)
        for base in (_LUMA, _CHROMA)
    )  # type: ignore[return-value]


_IJG = {
    ijg_tables(q): q for q in range(100, 0, -1)
}  # a table pair seen at two qualities: the higher


def signature(
    data: bytes, thumbnail: bytes | None = None, *, camera_exif: bool = False
) -> JpegSignature:
    """The signature of a JPEG's header. `camera_exif`: the EXIF names a make or model.

    Origin: "camera" when the EXIF names a camera and is the first segment, as camera
    firmware writes it; "re-saved" otherwise (no camera EXIF, or a library's JFIF segment
    first). A heuristic, stated as such in docs/camera.md.
    """
    header = _walk(data)
    thumb = _frame(thumbnail) if thumbnail else None
    canonical = "|".join(
        (
            "dqt=" + ";".join(header.tables),
            "dht=" + ";".join(header.huffman),
            f"sof={header.sof}",
            f"frame={header.frame}",
            f"thumb={thumb or '-'}",
            "segments=" + ",".join(header.segments),
        )
    )
    quality = _IJG.get(header.natural_pair) if header.natural_pair else None
    first = header.segments[0] if header.segments else ""
    origin = "camera" if camera_exif and first == "APP1:Exif" else "re-saved"
    return JpegSignature(hashlib.sha256(canonical.encode()).hexdigest()[:32], quality, origin)


class _Header:
    def __init__(self) -> None:
        self.tables: list[str] = []
        self.huffman: list[str] = []
        self.segments: list[str] = []
        self.sof = "-"
        self.frame = "-"
        self.natural: dict[int, tuple[int, ...]] = {}

    @property
    def natural_pair(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        if len(self.natural) != 2 or set(self.natural) != {0, 1}:
            return None
        return self.natural[0], self.natural[1]


def _walk(data: bytes) -> _Header:
    """Every marker segment from SOI up to the first scan."""
    if not data.startswith(b"\xff\xd8"):
        raise MalformedJpeg("no JPEG start-of-image marker")
    header = _Header()
    at = 2
    while True:
        while at < len(data) and data[at] == 0xFF and at + 1 < len(data) and data[at + 1] == 0xFF:
            at += 1  # fill bytes
        if at + 4 > len(data) or data[at] != 0xFF:
            raise MalformedJpeg(f"no marker at byte {at}")
        marker = data[at + 1]
        length = struct.unpack_from(">H", data, at + 2)[0]
        payload = data[at + 4 : at + 2 + length]
        if length < 2 or len(payload) != length - 2:
            raise MalformedJpeg(f"segment {marker:#04x} at byte {at} runs past the end")
        if marker == 0xDA:  # start of scan: the header is over
            return header
        _segment(header, marker, payload)
        at += 2 + length


def _segment(header: _Header, marker: int, payload: bytes) -> None:
    if 0xE0 <= marker <= 0xEF:
        identifier = payload.split(b"\x00", 1)[0][:40]
        name = _APP_NAMES.get(identifier, "other")
        header.segments.append(f"APP{marker - 0xE0}:{name}")
    elif marker == 0xFE:
        header.segments.append("COM")
    elif marker == 0xDB:
        _quantisation(header, payload)
    elif marker == 0xC4:
        header.huffman.append(payload.hex())
    elif marker in _SOF:
        if len(payload) < 6:
            raise MalformedJpeg("frame header too short")
        height, width, count = struct.unpack_from(">HHB", payload, 1)
        parts = payload[6 : 6 + 3 * count]
        sampling = "".join(
            f"{parts[i + 1] >> 4}{parts[i + 1] & 15}" for i in range(0, len(parts), 3)
        )
        header.sof = f"{marker - 0xC0}:{count}:{sampling}"
        header.frame = "x".join(str(side) for side in sorted((width, height), reverse=True))
    elif marker == 0xDD:
        header.segments.append("DRI")


def _quantisation(header: _Header, payload: bytes) -> None:
    at = 0
    while at < len(payload):
        precision, slot = payload[at] >> 4, payload[at] & 15
        size = 128 if precision else 64
        values = payload[at + 1 : at + 1 + size]
        if len(values) != size:
            raise MalformedJpeg("quantisation table cut short")
        zigzag = struct.unpack(">64H" if precision else "64B", values)
        header.tables.append(f"{slot}:" + ",".join(map(str, zigzag)))
        natural = [0] * 64
        for k, position in enumerate(_ZIGZAG):
            natural[position] = zigzag[k]
        header.natural[slot] = tuple(natural)
        at += 1 + size


def _frame(jpeg: bytes) -> str | None:
    """The geometry of an embedded thumbnail, from its frame header."""
    try:
        return _walk(jpeg).frame
    except MalformedJpeg:
        return "unreadable"
