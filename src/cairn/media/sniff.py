"""Identify content by its bytes, never by its name.

The table covers every type Cairn acts on (images, videos, containers, databases) and a few
common others; anything else is typed as text or binary. A file whose extension does not
belong to its detected type is flagged: a JPEG renamed to `.dat` is a classic way to hide
material.
"""

from __future__ import annotations

from dataclasses import dataclass

SNIFF_BYTES = 8192  # enough for every signature below (tar's is at offset 257)


@dataclass(frozen=True)
class ContentType:
    mime: str
    extensions: frozenset[str]

    @property
    def is_image(self) -> bool:
        return self.mime in IMAGE_MIMES

    @property
    def is_archive(self) -> bool:
        return self.mime in ARCHIVE_MIMES

    @property
    def is_video(self) -> bool:
        return self.mime.startswith("video/")

    @property
    def may_be_animated(self) -> bool:
        """An image type that can hold an animation (analysed as a video too when it does)."""
        return self.mime in ANIMATION_MIMES


def _t(mime: str, *extensions: str) -> ContentType:
    return ContentType(mime, frozenset(extensions))


JPEG = _t("image/jpeg", "jpg", "jpeg", "jpe", "jfif")
PNG = _t("image/png", "png")
GIF = _t("image/gif", "gif")
BMP = _t("image/bmp", "bmp", "dib")
TIFF = _t("image/tiff", "tif", "tiff", "dng", "nef", "cr2", "arw")
WEBP = _t("image/webp", "webp")
HEIC = _t("image/heic", "heic", "heif", "hif")
AVIF = _t("image/avif", "avif")
MP4 = _t("video/mp4", "mp4", "m4v", "3gp", "3g2", "mov", "qt")
QUICKTIME = _t("video/quicktime", "mov", "qt", "mp4")
AVI = _t("video/x-msvideo", "avi")
MKV = _t("video/x-matroska", "mkv", "webm", "mka")
FLV = _t("video/x-flv", "flv")
MPEG_TS = _t("video/mp2t", "ts", "mts", "m2ts")
MPEG_PS = _t("video/mpeg", "mpg", "mpeg", "vob", "m2p")
ASF = _t("video/x-ms-asf", "wmv", "asf")
M4A = _t("audio/mp4", "m4a", "m4b", "m4p")  # ISO media with an audio brand: not a video
ZIP = _t(
    "application/zip", "zip", "jar", "apk", "docx", "xlsx", "pptx", "odt", "ods", "epub", "cbz"
)
GZIP = _t("application/gzip", "gz", "tgz")
BZIP2 = _t("application/x-bzip2", "bz2", "tbz", "tbz2")
XZ = _t("application/x-xz", "xz", "txz")
SEVEN_ZIP = _t("application/x-7z-compressed", "7z")
RAR = _t("application/vnd.rar", "rar", "cbr")
TAR = _t("application/x-tar", "tar")
PDF = _t("application/pdf", "pdf")
SQLITE = _t("application/vnd.sqlite3", "db", "sqlite", "sqlite3", "sqlitedb")
EWF = _t("application/x-ewf", "e01", "ex01", "l01", "s01")

IMAGE_MIMES = frozenset(t.mime for t in (JPEG, PNG, GIF, BMP, TIFF, WEBP, HEIC, AVIF))
ARCHIVE_MIMES = frozenset(t.mime for t in (ZIP, GZIP, BZIP2, XZ, SEVEN_ZIP, RAR, TAR))
ANIMATION_MIMES = frozenset(t.mime for t in (GIF, WEBP))

_ISO_BRANDS = {
    b"heic": HEIC,
    b"heix": HEIC,
    b"heim": HEIC,
    b"heis": HEIC,
    b"hevc": HEIC,
    b"mif1": HEIC,
    b"msf1": HEIC,
    b"avif": AVIF,
    b"avis": AVIF,
    b"qt  ": QUICKTIME,
    b"M4A ": M4A,
    b"M4B ": M4A,
    b"M4P ": M4A,
}


def _sniff_table(head: bytes) -> ContentType | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head.startswith(b"BM") and len(head) >= 18 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        return BMP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI
    if head[4:8] == b"ftyp":
        return _ISO_BRANDS.get(head[8:12], MP4)
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return QUICKTIME
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MKV
    if head.startswith(b"FLV\x01"):
        return FLV
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return MPEG_TS
    if head.startswith(b"\x00\x00\x01\xba"):  # MPEG program stream pack header
        return MPEG_PS
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):  # ASF header object GUID
        return ASF
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return ZIP
    if head.startswith(b"\x1f\x8b"):
        return GZIP
    if head.startswith(b"BZh") and head[3:4].isdigit():
        return BZIP2
    if head.startswith(b"\xfd7zXZ\x00"):
        return XZ
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return SEVEN_ZIP
    if head.startswith(b"Rar!\x1a\x07"):
        return RAR
    if head[257:262] == b"ustar":
        return TAR
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"SQLite format 3\x00"):
        return SQLITE
    if head.startswith(b"EVF\x09\x0d\x0a\xff\x00"):
        return EWF
    return None


_OTHER_SIGNATURES: tuple[tuple[bytes, ContentType], ...] = (
    (b"\x7fELF", _t("application/x-executable")),
    (b"MZ", _t("application/vnd.microsoft.portable-executable")),
    (b"ID3", _t("audio/mpeg")),
    (b"OggS", _t("audio/ogg")),
    (b"fLaC", _t("audio/flac")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _t("application/x-ole-storage")),
    (b"{\\rtf", _t("application/rtf")),
    (b"<?xml", _t("text/xml")),
    (b"BEGIN:VCARD", _t("text/vcard")),
)


# Control bytes that do not occur in text (tab, newlines, form feed and escape do).
_CONTROL_BYTES = bytes(c for c in range(0x20) if c not in b"\t\n\r\x0c\x1b")
_TEXT = ContentType("text/plain", frozenset())
_BINARY = ContentType("application/octet-stream", frozenset())


def _text_or_binary(head: bytes) -> ContentType:
    """Text when the head is valid UTF-8 without control bytes other than whitespace.

    libmagic was measured at 0.3-3 ms per buffer here (its text heuristics dominate), which
    capped ingest of small files at a few hundred per second; this check costs microseconds,
    and the types Cairn acts on all come from the signature table above.
    """
    sample = head[:4096]
    if b"\x00" in sample:
        return _BINARY
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a multi-byte character cut at the end is fine
            return _BINARY
    if len(sample.translate(None, _CONTROL_BYTES)) != len(sample):
        return _BINARY
    return _TEXT


def sniff(head: bytes) -> ContentType | None:
    """The content type of a stream from its first bytes, or None when empty."""
    if not head:
        return None
    found = _sniff_table(head)
    if found is not None:
        return found
    for signature, content_type in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return content_type
    return _text_or_binary(head)


def extension_mismatch(name: bytes, content: ContentType | None) -> bool:
    """True when content of a type we know sits under a name that type never uses."""
    if content is None or not content.extensions:
        return False
    base = name.rsplit(b"/", 1)[-1].rsplit(b"!", 1)[-1]
    ext = base.rsplit(b".", 1)[1].lower() if b"." in base else b""
    return ext.decode("ascii", "replace") not in content.extensions
