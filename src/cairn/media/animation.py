"""Animated GIF and WebP as video (Pillow, browsers' frame timing): vPDQ frames, metadata and a
contact sheet. Why this decoder and timing: docs/video.md, "Animated GIF and WebP"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cairn.core.records import ErrorRecord, VideoInfo
from cairn.core.settings import AnalysisSettings
from cairn.media.sniff import GIF, WEBP, ContentType
from cairn.media.video import TILE_SIDE, FrameHasher, finish_video, sample_interval
from cairn.media.video import _describe as describe

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL.Image import Image

SHOWN_INSTEAD_MS = 100  # what browsers show a frame of MAX_IGNORED_DELAY_MS or less for
MAX_IGNORED_DELAY_MS = 10
# Pillow decoded about 25k tiny GIF frames per second here (its per-frame cost), and about
# 170 Mpx/s of 480x270 frames: a cap on both, about 25 s of decoding at the default pixel limit
# (24 x 179 Mpx = 4.3 Gpx; a 1080p animation: about 2000 frames).
MAX_DECODED_FRAMES = 20_000
DECODE_BUDGET_CANVASES = 24
# Reading the structure costs about 3.6 us per frame (Python): 1M frames about 4 s. A hostile
# file of tiny frames (about 20 bytes each) could hold millions: past this, frames are not
# counted (the duration is of those counted).
MAX_COUNTED_FRAMES = 1_000_000
_FORMATS = {GIF.mime: "GIF", WEBP.mime: "WEBP"}  # only the sniffed type's plugin may parse


@dataclass(frozen=True)
class Structure:
    """What an animation's bytes say before any decoding."""

    width: int  # the canvas
    height: int
    delays: tuple[int | None, ...]  # per frame begun, in ms as stored; None: none given
    truncated: str | None = None  # how the data ends early, when it does
    counted_all: bool = True  # False: MAX_COUNTED_FRAMES reached, later frames not counted


def read_structure(data: bytes, content_type: ContentType) -> Structure | None:
    """The frames of a GIF or WebP by their headers; None when the header is not readable."""
    if content_type.mime == GIF.mime:
        return _gif_structure(data)
    if content_type.mime == WEBP.mime:
        return _webp_structure(data)
    return None


def shown_ms(delay: int | None) -> int:
    """How long a frame is on screen, by browsers' rule for short or missing delays."""
    return SHOWN_INSTEAD_MS if delay is None or delay <= MAX_IGNORED_DELAY_MS else delay


def analyse_animation(
    data: bytes, content_type: ContentType, settings: AnalysisSettings
) -> tuple[VideoInfo | None, list[ErrorRecord]]:
    """An animated GIF or WebP as a video; (None, []) for one frame or an unreadable header.
    Never raises: failures become ErrorRecords beside what was learnt."""
    structure = read_structure(data, content_type)
    if structure is None or len(structure.delays) < 2:
        return None, []
    shown = [shown_ms(delay) for delay in structure.delays]
    seconds = sum(shown) / 1000
    name = _FORMATS[content_type.mime].lower()
    info = VideoInfo(
        width=structure.width,
        height=structure.height,
        duration=round(seconds, 6),
        frame_rate=round(len(shown) / seconds, 6),
        container=name,
        video_codec=name,
        sampling="exact" if settings.video_sampling == "exact" else "fast",
    )
    errors: list[ErrorRecord] = []
    if structure.truncated:
        errors.append(ErrorRecord("decode", f"truncated animation: {structure.truncated}"))
    if not structure.counted_all:
        message = f"more than {MAX_COUNTED_FRAMES} frames: later frames not counted nor hashed"
        errors.append(ErrorRecord("limit", message))
    pixels = structure.width * structure.height
    if not pixels:
        return info, [*errors, ErrorRecord("decode", "animation without a canvas size")]
    if pixels > settings.max_image_pixels:
        message = (
            f"{structure.width}x{structure.height} = {pixels} pixels per frame exceeds the "
            f"limit of {settings.max_image_pixels}; not decoded"
        )
        return info, [*errors, ErrorRecord("limit", message)]
    hasher = FrameHasher(settings)
    interval = sample_interval(settings, seconds)
    decoded = _hash_frames(data, content_type, shown, interval, hasher, errors)
    return finish_video(info, hasher, errors, interval=interval, decoded=decoded), errors


def _hash_frames(
    data: bytes,
    content_type: ContentType,
    shown: list[int],
    interval: float,
    hasher: FrameHasher,
    errors: list[ErrorRecord],
) -> int:
    """Decode frames in order and hash the one on screen at each sample instant; returns the
    number of frames decoded."""
    from cairn.media.image import _open, _pixel_limit

    settings = hasher.settings
    limit = max(1, settings.video_max_samples)
    budget = DECODE_BUDGET_CANVASES * settings.max_image_pixels
    total = sum(shown)
    sample = 0  # the next instant, k: at k * interval seconds
    start = 0  # ms at which the current frame is first shown
    decoded = spent = 0
    try:
        img = _open(data, (_FORMATS[content_type.mime],))
    except Exception as exc:  # a hostile header can make a plugin fail in any way
        errors.append(ErrorRecord("decode", f"unreadable animation: {describe(exc)}"))
        return 0
    with img, _pixel_limit(settings.max_image_pixels):
        for index, ms in enumerate(shown):
            if sample >= limit or sample * interval * 1000 >= total:
                break  # every instant has its frame
            if decoded >= MAX_DECODED_FRAMES or spent + img.width * img.height > budget:
                errors.append(
                    ErrorRecord(
                        "limit",
                        f"decoding stopped after {decoded} of {len(shown)} frames (at most "
                        f"{MAX_DECODED_FRAMES} frames or {budget} pixels); later frames not "
                        "hashed",
                    )
                )
                break
            end = start + ms
            try:
                if index:
                    img.seek(index)
                img.load()
                decoded += 1
                spent += img.width * img.height
                first = sample
                while sample < limit and sample * interval * 1000 < end:
                    if sample == first:
                        hasher.take(_PillowPicture(img), sample * interval, index)
                    else:
                        hasher.again(sample * interval)
                    sample += 1
            except Exception as exc:  # truncated or corrupt frame data
                errors.append(
                    ErrorRecord(
                        "decode",
                        f"frame {index + 1} of {len(shown)} could not be decoded: "
                        f"{describe(exc)}; the frames before it are used",
                    )
                )
                break
            start = end
    return decoded


@dataclass(frozen=True)
class _PillowPicture:
    """The frame Pillow has loaded (read at once: the next seek replaces it)."""

    image: Image

    def luma(self) -> NDArray[np.uint8]:
        import numpy as np

        return np.asarray(self.image.convert("L"))

    def rgb(self) -> NDArray[np.uint8]:
        from cairn.hashing.pdq import reference_rgb

        return reference_rgb(self.image)

    def tile(self) -> Image:
        from PIL import Image as PILImage

        width, height = self.image.size
        scale = TILE_SIDE / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return self.image.convert("RGB").resize(size, PILImage.Resampling.BOX)


# ---------------------------------------------------------------------------------------------
# Structure


def _gif_structure(data: bytes) -> Structure | None:
    """GIF blocks as Pillow walks them: a Graphic Control Extension's delay belongs to the next
    image, a stray byte between blocks is skipped, a trailer (";") ends the file."""
    if len(data) < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        return None
    width, height = _u16(data, 6), _u16(data, 8)
    pos = 13 + _colour_table(data[10])
    delays: list[int | None] = []
    delay: int | None = None
    while pos < len(data):
        marker = data[pos]
        if marker == 0x3B:
            return Structure(width, height, tuple(delays))
        if marker == 0x21:  # an extension: its label, then data sub-blocks
            body = pos + 2
            if data[pos + 1 : pos + 2] == b"\xf9" and body + 4 <= len(data) and data[body] >= 3:
                delay = 10 * _u16(data, body + 2)  # hundredths of a second
            pos = _after_blocks(data, body)
            if pos > len(data):
                truncated = f"the data ends after frame {len(delays)}, inside an extension"
                return Structure(width, height, tuple(delays), truncated)
        elif marker == 0x2C:  # an image: descriptor, local colour table, LZW code size, data
            if len(delays) == MAX_COUNTED_FRAMES:
                return Structure(width, height, tuple(delays), counted_all=False)
            delays.append(delay)
            delay = None
            if pos + 10 > len(data):
                pos = len(data) + 1
            else:
                pos = _after_blocks(data, pos + 10 + _colour_table(data[pos + 9]) + 1)
            if pos > len(data):
                truncated = f"the data ends inside frame {len(delays)}"
                return Structure(width, height, tuple(delays), truncated)
        else:
            pos += 1
    truncated = f"the data ends after frame {len(delays)}, without the GIF trailer"
    return Structure(width, height, tuple(delays), truncated)


def _colour_table(flags: int) -> int:
    """Bytes of the colour table a GIF screen or image descriptor's flags announce."""
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def _after_blocks(data: bytes, pos: int) -> int:
    """The offset after the data sub-blocks starting at `pos`; past the end when cut off."""
    while pos < len(data):
        size = data[pos]
        pos += 1 + size
        if not size:
            return pos
    return len(data) + 1


def _webp_structure(data: bytes) -> Structure | None:
    """RIFF chunks: the canvas from VP8X, one frame per ANMF chunk with its duration."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    declared = 8 + _u32(data, 4)
    width = height = 0
    delays: list[int | None] = []
    pos = 12
    while pos + 8 <= min(declared, len(data)):
        fourcc, size, body = data[pos : pos + 4], _u32(data, pos + 4), pos + 8
        if fourcc == b"VP8X" and body + 10 <= len(data):
            width, height = 1 + _u24(data, body + 4), 1 + _u24(data, body + 7)
        elif fourcc == b"ANMF":
            if len(delays) == MAX_COUNTED_FRAMES:
                return Structure(width, height, tuple(delays), counted_all=False)
            delays.append(_u24(data, body + 12) if body + 15 <= len(data) else None)
        pos = body + size + (size & 1)  # chunks are padded to an even size
    truncated = None
    if declared > len(data):
        truncated = f"the file header gives {declared} bytes, {len(data)} are present"
    return Structure(width, height, tuple(delays), truncated)


def _u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "little")


def _u24(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 3], "little")


def _u32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")
