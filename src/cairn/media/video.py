"""Video: decode with PyAV, vPDQ frame hashes at the reference's instants (fast, exact or keyframes
sampling), metadata, scene keyframes with their local features, a contact sheet. How and why:
docs/video.md, "Sampling"; local features: docs/similarity.md."""

from __future__ import annotations

import io
import math
import os
import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

from cairn.core.records import ErrorRecord, FrameHash, LocalFeatures, VideoInfo
from cairn.core.settings import AnalysisSettings
from cairn.hashing.pdq import pdq_from_rgb

if TYPE_CHECKING:
    import av.container
    import av.video.frame
    import av.video.stream
    import numpy as np
    from av.packet import Packet as AnyPacket
    from av.video.stream import VideoStream
    from numpy.typing import NDArray
    from PIL.Image import Image

    Packet = AnyPacket[VideoStream]

SAMPLINGS = ("fast", "exact", "keyframes")
Skip = Literal["DEFAULT", "NONREF", "NONKEY"]  # the decoder's skip_frame levels used here
# A sampled frame whose luma histogram (32 bins) differs from the last keyframe's by more
# than this share of its pixels (total variation) starts a new scene. PDQ distance cannot
# tell: it moves 80-130 bits over one second of a pan. Measured: one synthetic scene 1 s
# apart 0.02-0.04, cuts between synthetic scenes 0.12-0.25, a hand-held sample video 0.03-0.4.
SCENE_CHANGE = 0.1
TILE_SIDE = 160  # contact-sheet tiles fit in this square, as review thumbnails do
# Scene keyframes per video given local features (evenly spread): SIFT costs ~30 ms CPU a
# frame, and a scene's other keyframes show the same place.
KEYFRAME_FEATURES = 16
MAX_PENDING_BYTES = 64 << 20  # one GOP's packets held for planning; past this, decoded as read
TRUNCATION_SLACK = 0.5  # seconds of video the header promises that may be missing unremarked
SEEK_MIN_SECONDS = 2.0  # a seek must skip at least this much video to be worth its cost
_SHEET_JPEG_QUALITY = 80
# Pixel formats whose first plane is 8-bit luma: hashed without any conversion.
_LUMA_FIRST = frozenset(
    {
        "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p",
        "yuvj440p", "yuv411p", "yuv410p", "nv12", "nv21", "nv16", "gray", "yuva420p",
    }
)  # fmt: skip
# QuickTime/MP4 tags as FFmpeg names them: `©xyz` is "location"; Apple's mdta keys; Android's.
_LOCATION_TAGS = ("location", "com.apple.quicktime.location.iso6709", "location-eng")
_MAKE_TAGS = ("com.apple.quicktime.make", "make", "com.android.manufacturer")
_MODEL_TAGS = ("com.apple.quicktime.model", "model", "com.android.model")
_ISO6709 = re.compile(r"([+-]\d{1,3}(?:\.\d+)?)([+-]\d{1,3}(?:\.\d+)?)")


def analyse_video(
    source: bytes | Callable[[], int], settings: AnalysisSettings
) -> tuple[VideoInfo | None, list[ErrorRecord]]:
    """Everything Cairn records about one video. Never raises: failures become ErrorRecords.

    `source` is the video's bytes (an archive member held in memory) or a function returning a
    fresh read-only descriptor on the file (a file is never buffered whole). The result is None
    when no video stream could be opened; otherwise it carries what was learnt, with errors
    beside it (a truncated file keeps the frames before the damage).
    """
    import av

    if settings.video_sampling not in SAMPLINGS:
        return None, [ErrorRecord("decode", f"unknown video sampling {settings.video_sampling!r}")]
    try:
        stream: IO[bytes] = (
            io.BytesIO(source) if isinstance(source, bytes) else open(source(), "rb")  # noqa: SIM115
        )
    except OSError as exc:
        return None, [ErrorRecord("read", f"{type(exc).__name__}: {exc}")]
    with stream:
        try:
            container = av.open(stream, mode="r", metadata_errors="ignore")
        except Exception as exc:  # a hostile header can make a demuxer fail in any way
            return None, [ErrorRecord("decode", f"unreadable video container: {_describe(exc)}")]
        with container:
            return _analyse(container, settings)


def _analyse(
    container: av.container.InputContainer, settings: AnalysisSettings
) -> tuple[VideoInfo | None, list[ErrorRecord]]:
    if not container.streams.video:
        kind = " (audio only)" if container.streams.audio else ""
        return None, [ErrorRecord("decode", f"no video stream{kind}")]
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    meta = _metadata(container, stream)
    info = VideoInfo(width=width, height=height, sampling=settings.video_sampling, **meta)
    if not width or not height:
        return info, [ErrorRecord("decode", "video stream without a picture size")]
    if width * height > settings.max_image_pixels:
        return info, [
            ErrorRecord(
                "limit",
                f"{width}x{height} = {width * height} pixels per frame exceeds the limit "
                f"of {settings.max_image_pixels}; not decoded",
            )
        ]
    sampler = _Sampler(container, stream, settings, info.duration, info.frame_rate)
    errors = sampler.run()
    info = finish_video(
        replace(info, rotation=sampler.rotation),
        sampler.hasher,
        errors,
        interval=sampler.interval,
        decoded=sampler.decoded,
    )
    return info, errors


def finish_video(
    info: VideoInfo,
    hasher: FrameHasher,
    errors: list[ErrorRecord],
    *,
    interval: float,
    decoded: int,
) -> VideoInfo:
    """`info` with what a frame source fed the hasher, and its contact sheet (failures are
    added to `errors`)."""
    if not hasher.frames and not errors:
        errors.append(ErrorRecord("decode", "no frame could be decoded"))
    sheet: bytes | None = None
    sheet_times: tuple[float, ...] = ()
    features = _keyframe_features(hasher.views, errors)
    key = hasher.settings.thumbnail_key if hasher.settings.thumbnails else None
    if key is not None and hasher.tiles:
        try:
            sheet, sheet_times = _contact_sheet(hasher.tiles, hasher.settings, key)
        except Exception as exc:
            errors.append(ErrorRecord("thumbnail", _describe(exc)))
    return replace(
        info,
        seconds_per_hash=round(interval, 6),
        frames_decoded=decoded,
        frames=tuple(hasher.frames),
        keyframes=tuple(hasher.keyframes),
        features=features,
        sheet_times=sheet_times,
        contact_sheet=sheet,
    )


def sample_interval(settings: AnalysisSettings, duration: float | None) -> float:
    """Seconds between sampled instants: the configured interval, stretched so that a video of
    this duration gives at most `video_max_samples` hashes."""
    interval = max(settings.video_seconds_per_hash, 1e-6)
    if duration is not None and duration / interval > settings.video_max_samples:
        interval = duration / settings.video_max_samples
    return interval


# ---------------------------------------------------------------------------------------------
# Metadata


def _metadata(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> dict[str, Any]:
    tags = {k.lower(): v for k, v in stream.metadata.items()}
    tags.update((k.lower(), v) for k, v in container.metadata.items())
    duration: float | None = None
    if container.duration is not None and container.duration > 0:
        duration = container.duration / 1_000_000  # AV_TIME_BASE
    elif stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        duration = float(stream.duration * stream.time_base)
    lat, lon = _location(_first(tags, _LOCATION_TAGS))
    return {
        "duration": round(duration, 6) if duration is not None else None,
        "frame_rate": _frame_rate(stream),
        "container": container.format.name,
        "video_codec": stream.codec_context.name,
        "audio_codecs": tuple(a.codec_context.name for a in container.streams.audio),
        "creation_time": _creation_time(tags.get("creation_time")),
        "gps_lat": lat,
        "gps_lon": lon,
        "make": _first(tags, _MAKE_TAGS),
        "model": _first(tags, _MODEL_TAGS),
    }


def _first(tags: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = tags.get(name, "").strip()
        if value:
            return value
    return None


def _frame_rate(stream: av.video.stream.VideoStream) -> float | None:
    """The average rate, as the reference uses (its fallback, r_frame_rate, second)."""
    for rate in (stream.average_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return float(rate)
    return None


def _creation_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _location(text: str | None) -> tuple[float | None, float | None]:
    """Latitude and longitude from ISO 6709 ("+52.3700+004.8900+010.000/"), the form of the
    QuickTime `©xyz` atom and Apple's location key; out-of-range values are refused."""
    found = _ISO6709.match(text.strip()) if text else None
    if found is None:
        return None, None
    lat, lon = float(found.group(1)), float(found.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lat, lon


# ---------------------------------------------------------------------------------------------
# Sampling


class _Timed(Protocol):
    @property
    def time(self) -> float: ...


Timed = TypeVar("Timed", bound=_Timed)


@dataclass
class _Tile:
    time: float
    image: Image


@dataclass
class _View:
    """A scene keyframe's luma, bounded as local features take it (media.features)."""

    time: float
    grey: NDArray[np.uint8]
    width: int  # the frame's, as stored
    height: int


class Picture(Protocol):
    """One decoded frame, as the frame hasher takes it from any frame source (PyAV's decoder
    here, Pillow's frame iteration for animated images in `cairn.media.animation`)."""

    def luma(self) -> NDArray[np.uint8]:
        """The 8-bit luma plane, pixels as stored (never rotated)."""
        ...

    def rgb(self) -> NDArray[np.uint8]:
        """RGB pixels as the vPDQ reference hashes them ("exact" sampling)."""
        ...

    def tile(self) -> Image:
        """A small upright RGB copy that fits TILE_SIDE, for eyes only."""
        ...


@dataclass
class FrameHasher:
    """Hashes the frames a source picks, and keeps the scene keyframes: their times, tiles for
    the contact sheet, views for local features."""

    settings: AnalysisSettings
    frames: list[FrameHash] = field(default_factory=list)
    keyframes: list[float] = field(default_factory=list)
    tiles: list[_Tile] = field(default_factory=list)
    views: list[_View] = field(default_factory=list)
    _scene: NDArray[np.float64] | None = None  # luma histogram of the scene's keyframe

    def take(self, picture: Picture, time: float, number: int) -> None:
        from cairn.hashing.vpdq import pdq_from_luma_plane

        luma = picture.luma()
        if self.settings.video_sampling == "exact":
            # The reference's own pixels: RGB (for PyAV through swscale's Lanczos), then pdqhash.
            pdq = pdq_from_rgb(picture.rgb())
        else:
            pdq = pdq_from_luma_plane(luma)
        self.frames.append(FrameHash(number, pdq.quality, pdq.hex, round(time, 6)))
        self._scene_change(picture, luma, time)

    def again(self, time: float) -> None:
        """The picture last taken, still shown at `time` (an animation's held frame)."""
        last = self.frames[-1]
        self.frames.append(replace(last, timestamp=round(time, 6)))

    def _scene_change(self, picture: Picture, luma: NDArray[np.uint8], time: float) -> None:
        histogram = _histogram(luma)
        if self._scene is not None and 0.5 * abs(histogram - self._scene).sum() <= SCENE_CHANGE:
            return
        self._scene = histogram
        self.keyframes.append(round(time, 6))  # at most one per hashed frame: bounded
        if self.settings.thumbnails and self.settings.thumbnail_key is not None:
            self.tiles.append(_Tile(round(time, 6), picture.tile()))
            _thin(self.tiles, self.settings.video_sheet_tiles)
        if self.settings.local_features:
            from cairn.media.features import bounded_view

            self.views.append(_View(round(time, 6), bounded_view(luma), *luma.shape[::-1]))
            _thin(self.views, KEYFRAME_FEATURES)


def _thin(kept: list[Timed], wanted: int) -> None:
    """Bounded memory: past four times the keyframes wanted, keep every other (evenly spread)."""
    if len(kept) > 4 * max(1, wanted):
        del kept[1::2]


def _evenly(kept: list[Timed], count: int) -> list[Timed]:
    """At most `count` of the keyframes, in order: those nearest evenly spaced times."""
    if len(kept) <= count:
        return list(kept)
    first, last = kept[0].time, kept[-1].time
    picked: list[Timed] = []
    for i in range(count):
        target = first + (last - first) * i / max(1, count - 1)
        nearest = min(kept, key=lambda k: (abs(k.time - target), k.time))
        if not picked or nearest is not picked[-1]:
            picked.append(nearest)
    return picked


def _keyframe_features(views: list[_View], errors: list[ErrorRecord]) -> tuple[LocalFeatures, ...]:
    """The local features of up to KEYFRAME_FEATURES scene keyframes, evenly spread, each
    with its time; keyframes without any (flat, dark, featureless) are left out."""
    from cairn.media.features import grey_features

    found = []
    for view in _evenly(views, KEYFRAME_FEATURES):
        try:
            features = grey_features(view.grey, view.width, view.height)
        except Exception as exc:  # OpenCV refuses odd buffers with its own errors
            errors.append(ErrorRecord("features", _describe(exc)))
            break
        if features.count:
            found.append(replace(features, time=view.time))
    return tuple(found)


@dataclass(frozen=True)
class _AvPicture:
    frame: av.video.frame.VideoFrame
    rotation: int

    def luma(self) -> NDArray[np.uint8]:
        return _luma(self.frame)

    def rgb(self) -> NDArray[np.uint8]:
        rgb = self.frame.to_ndarray(format="rgb24", interpolation="LANCZOS")
        return cast("NDArray[np.uint8]", rgb)

    def tile(self) -> Image:
        return _tile(self.frame, self.rotation)


@dataclass
class _Sampler:
    """One pass over a video stream that picks, decodes and hashes the sampled frames."""

    container: av.container.InputContainer
    stream: av.video.stream.VideoStream
    settings: AnalysisSettings
    duration: float | None
    rate: float | None
    hasher: FrameHasher = field(init=False)
    decoded: int = 0
    rotation: int = 0
    interval: float = 1.0
    limit: int = 0
    frame_mod: int = 1
    _plan_next: int = 0  # index of the next sample instant to plan
    _wanted: dict[int, float] = field(default_factory=dict)  # planned frames: pts -> time
    _open_gop: bool = False
    _origin: int | None = None  # pts of time zero
    _taken: float = -math.inf  # time of the last frame hashed
    _errors: int = 0
    _first_error: str = ""
    _skip: Skip = "DEFAULT"
    _time_base: float = 0.0
    _data_end: float = -math.inf  # end time of the last packet seen

    def __post_init__(self) -> None:
        settings = self.settings
        self.hasher = FrameHasher(settings)
        interval = sample_interval(settings, self.duration)
        if self.rate is not None:
            # The reference's grid: every frame_mod-th frame (at least every frame).
            self.frame_mod = max(1, int(interval * self.rate))
            interval = self.frame_mod / self.rate
        self.interval = interval
        self.limit = max(1, settings.video_max_samples)
        self._origin = self.stream.start_time
        time_base = self.stream.time_base
        self._time_base = float(time_base) if time_base is not None else 0.0
        # Slice threads only: frame threads hand every packet between threads, which cost more
        # than they gained once most packets are skipped (bench/vpdq_speed.py: 1.3-1.9x the
        # reference with frame threads, 1.8-2.0x with slice threads on H.264 with B-frames).
        self.stream.thread_type = "SLICE"

    # -- driving the decoder ------------------------------------------------------------------

    def run(self) -> list[ErrorRecord]:
        errors: list[ErrorRecord] = []
        mode = self.settings.video_sampling
        try:
            if mode == "keyframes":
                self._set_skip("NONKEY")
                self._decode_all()
            elif mode == "exact" and self.rate is not None:
                self._decode_all()
            else:  # "fast"; "exact" without a frame rate samples as "fast" does
                self._decode_fast()
        except Exception as exc:  # demuxer errors on damaged files, after what was read
            errors.append(ErrorRecord("decode", f"video ends early: {_describe(exc)}"))
            self._flush()  # frames the decoder still holds are good
        if self._errors:
            errors.append(
                ErrorRecord(
                    "decode",
                    f"{self._errors} video packets could not be decoded; "
                    f"first: {self._first_error}",
                )
            )
        expected = self.stream.duration
        if expected and self._data_end > -math.inf and not self._finished():
            length = expected * self._time_base
            if self._data_end < length - TRUNCATION_SLACK:
                errors.append(
                    ErrorRecord(
                        "decode",
                        f"video data ends at {max(0.0, self._data_end):.3f}s of the "
                        f"{length:.3f}s the header gives: truncated",
                    )
                )
        if self.duration is None and len(self.hasher.frames) >= self.limit:
            errors.append(
                ErrorRecord(
                    "limit", f"duration unknown: sampling stopped after {self.limit} frames"
                )
            )
        return errors

    def _decode_all(self) -> None:
        keyframes_only = self.settings.video_sampling == "keyframes"
        for packet in self.container.demux(self.stream):
            if self._finished():
                return
            self._saw(packet)
            if packet.is_keyframe or not keyframes_only or not packet.size:
                self._decode(packet)

    def _saw(self, packet: Packet) -> None:
        """Track how far the stream's data reaches (to tell a truncated file)."""
        if packet.pts is not None and packet.size:
            end = self._time(packet.pts) + (packet.duration or 0) * self._time_base
            self._data_end = max(self._data_end, end)

    def _decode_fast(self) -> None:
        """Plan and decode one GOP at a time.

        A GOP's packets (keyframe to keyframe, in decode order) are held until the packet after
        the next keyframe. Then each sample instant before that keyframe gets its nearest frame
        (by presentation time, so variable frame rates are sampled right) unless the keyframe
        itself is nearer; those frames are decoded with the references they need — the decoder
        skips the other non-reference frames — and the packets after the last of them are
        dropped undecoded. The packet after the keyframe also shows whether the next GOP is
        open (starts with frames shown before its keyframe, which refer back): from then on,
        nothing is dropped. At GOP boundaries, a sample instant far ahead is reached by seeking.
        """
        gop: list[Packet] = []
        gop_bytes = 0
        closing: list[Packet] | None = None  # the GOP before `gop`, until `gop` shows if open
        guess_seeks = True  # seeking without an index, until a seek fails to move ahead
        packets: Iterator[Packet] = self.container.demux(self.stream)
        while not self._finished():
            packet = next(packets, None)
            if packet is None or packet.size == 0:
                break
            if self._origin is None and packet.pts is not None:
                self._origin = packet.pts
            self._saw(packet)
            if packet.is_keyframe and gop:
                if closing is not None:  # a GOP of one frame
                    self._run_gop(closing, gop[0], keep_tail=self._open_gop)
                closing, gop, gop_bytes = gop, [], 0
            elif closing is not None:
                keyframe = gop[0]
                if packet.pts is not None and keyframe.pts is not None:
                    self._open_gop = self._open_gop or packet.pts < keyframe.pts
                self._run_gop(closing, keyframe, keep_tail=self._open_gop)
                closing = None
                first = self._seek_ahead(keyframe, guess_seeks)
                if first is not None:
                    landed = first.pts is not None and first.pts > (keyframe.pts or 0)
                    guess_seeks = guess_seeks and landed
                    packets = chain([first], self.container.demux(self.stream))
                    gop, gop_bytes = [], 0
                    continue
            gop.append(packet)
            gop_bytes += packet.size
            if gop_bytes > MAX_PENDING_BYTES and closing is None:  # bounded memory
                self._run_gop(gop, None, keep_tail=True)
                gop, gop_bytes = [], 0
        if closing is not None:
            self._run_gop(closing, gop[0], keep_tail=self._open_gop)
        if gop:
            self._run_gop(gop, None, keep_tail=False)
        self._flush()

    def _run_gop(self, packets: list[Packet], following: Packet | None, *, keep_tail: bool) -> None:
        """Plan the sample instants this GOP holds and decode what they need. `following` is
        the next GOP's keyframe; None when this is all there is (the end, or a GOP too large
        to hold, which is then decoded whole)."""
        wanted = self._plan(packets, following)
        last = max((i for i, p in enumerate(packets) if p.pts in wanted), default=-1)
        for i, packet in enumerate(packets):
            if i > last and not keep_tail:
                break
            self._decode(packet, "DEFAULT" if packet.pts in wanted else "NONREF")

    def _plan(self, packets: list[Packet], following: Packet | None) -> set[int]:
        """The pts of the frames nearest the sample instants that fall in these packets."""
        stamps = sorted({p.pts for p in packets if p.pts is not None})
        if not stamps:
            return set()
        times = [self._time(stamp) for stamp in stamps]
        boundary = None
        if following is not None and following.pts is not None:
            boundary = self._time(following.pts)
        chosen: set[int] = set()
        while self._plan_next < self.limit:
            target = self._plan_next * self.interval
            if (boundary is not None and target >= boundary) or target > times[-1] + 1e-6:
                break
            after = bisect_left(times, target)  # the first frame at or after the instant
            nearest = after
            if after == len(times) or (
                after and target - times[after - 1] <= times[after] - target
            ):
                nearest = after - 1  # the frame before is nearer (or as near)
            if boundary is not None and boundary - target < abs(times[nearest] - target):
                break  # the next keyframe is nearer: planned with its GOP
            chosen.add(stamps[nearest])
            self._wanted[stamps[nearest]] = times[nearest]
            self._plan_next += 1
        return chosen

    def _seek_ahead(self, keyframe: Packet, guess: bool) -> Packet | None:
        """At a GOP boundary: seek when the next sample instant is far ahead; the first packet
        after the seek, or None when not seeking."""
        if keyframe.pts is None:
            return None
        here = self._time(keyframe.pts)
        target = self._plan_next * self.interval
        if target - here < SEEK_MIN_SECONDS or self._plan_next >= self.limit:
            return None
        landing = self._landing(target)
        if (landing is None and not guess) or (
            landing is not None and landing - here < SEEK_MIN_SECONDS
        ):
            return None
        offset = (self._origin or 0) + int(target / self._time_base)
        self._flush()
        self.container.seek(offset, stream=self.stream, backward=True, any_frame=False)
        return next(self.container.demux(self.stream), None)

    def _landing(self, target: float) -> float | None:
        """Where a seek to `target` would land (the keyframe at or before it), from the
        demuxer's index (MP4, Matroska cues, AVI); None when the file has no index."""
        entries = self.stream.index_entries
        if not len(entries):
            return None
        pts = (self._origin or 0) + int(target / self._time_base)
        found = entries.search_timestamp(pts, backward=True, any_frame=False)
        return self._time(entries[found].timestamp) if found >= 0 else None

    def _set_skip(self, skip: Skip) -> None:
        if skip != self._skip:
            self.stream.codec_context.skip_frame = skip
            self._skip = skip

    def _decode(self, packet: Packet, skip: Skip | None = None) -> None:
        if packet.size == 0:  # the demuxer's end-of-stream packet
            self._flush()
            return
        if skip is not None:
            self._set_skip(skip)
        try:
            frames = packet.decode()
        except Exception as exc:  # one damaged packet: count it and go on
            self._errors += 1
            if not self._first_error:
                self._first_error = _describe(exc)
            return
        for frame in frames:
            self._output(frame)

    def _flush(self) -> None:
        """Take the frames the decoder still holds (threads keep a few), then reset it so
        that it can take packets again (after a seek)."""
        context = self.stream.codec_context
        try:
            frames = context.decode(None)
        except Exception as exc:
            self._errors += 1
            self._first_error = self._first_error or _describe(exc)
            frames = []
        for frame in frames:
            self._output(frame)
        context.flush_buffers()

    def _finished(self) -> bool:
        return len(self.hasher.frames) >= self.limit

    def _time(self, pts: int) -> float:
        return (pts - (self._origin or 0)) * self._time_base

    # -- choosing and hashing frames ----------------------------------------------------------

    def _output(self, frame: av.video.frame.VideoFrame) -> None:
        self.decoded += 1
        if self.decoded == 1:
            self.rotation = _rotation(frame)
        if frame.pts is None or self._finished():
            return
        mode = self.settings.video_sampling
        if mode == "exact" and self.rate is not None:
            number = self.decoded - 1
            if number % self.frame_mod == 0:
                self._take(frame, number / self.rate, number)
        elif mode == "keyframes":
            if self._origin is None:
                self._origin = frame.pts
            time = self._time(frame.pts)
            if time >= self._taken + self.interval * 0.999:
                self._take(frame, time, self._number(time))
        elif frame.pts in self._wanted:
            time = self._wanted.pop(frame.pts)
            self._take(frame, time, self._number(time))

    def _number(self, time: float) -> int:
        """The frame number vPDQ gives a frame: its index at the average rate."""
        return round(time * self.rate) if self.rate else len(self.hasher.frames)

    def _take(self, frame: av.video.frame.VideoFrame, time: float, number: int) -> None:
        self._taken = time
        self.hasher.take(_AvPicture(frame, self.rotation), time, number)


def _luma(frame: av.video.frame.VideoFrame) -> NDArray[np.uint8]:
    """The frame's 8-bit luma plane as stored (a view of the decoder's padded buffer)."""
    import numpy as np

    if frame.format.name not in _LUMA_FIRST:
        frame = frame.reformat(format="gray")  # 10-bit, RGB and palette frames
    plane = frame.planes[0]
    rows = np.frombuffer(cast(bytes, plane), np.uint8).reshape(-1, plane.line_size)
    luma: NDArray[np.uint8] = rows[: frame.height, : frame.width]
    return luma


def _histogram(luma: NDArray[np.uint8]) -> NDArray[np.float64]:
    """32-bin brightness histogram of every fourth pixel each way, as shares."""
    import numpy as np

    counts = np.bincount((luma[::4, ::4] >> 3).ravel(), minlength=32).astype(np.float64)
    shares: NDArray[np.float64] = counts / max(1.0, float(counts.sum()))
    return shares


def _rotation(frame: av.video.frame.VideoFrame) -> int:
    """Display rotation (counter-clockwise degrees, 0-359) from the frame's display matrix."""
    try:
        return round(frame.rotation) % 360
    except Exception:  # a malformed display matrix: show the frame as stored
        return 0


def _tile(frame: av.video.frame.VideoFrame, rotation: int) -> Image:
    """A small upright RGB copy of a frame, for eyes only (hashes never see it)."""
    scale = TILE_SIDE / max(frame.width, frame.height)
    width = max(1, round(frame.width * scale))
    height = max(1, round(frame.height * scale))
    small = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
    image = cast("Image", small.to_image())  # type: ignore[no-untyped-call]
    return image.rotate(rotation, expand=True) if rotation else image


def _contact_sheet(
    tiles: list[_Tile], settings: AnalysisSettings, key: bytes
) -> tuple[bytes, tuple[float, ...]]:
    """The sealed JPEG grid of up to `video_sheet_tiles` keyframes, evenly spread, in order."""
    from PIL import Image as PILImage
    from PIL import ImageFilter

    from cairn.media.thumbnail import seal

    picked = _evenly(tiles, max(1, settings.video_sheet_tiles))
    width, height = picked[0].image.size
    columns = math.ceil(math.sqrt(len(picked)))
    rows = math.ceil(len(picked) / columns)
    sheet = PILImage.new("RGB", (columns * width, rows * height), (32, 32, 32))
    for i, tile in enumerate(picked):
        image = tile.image
        if image.size != (width, height):  # the resolution changed within the video
            image = image.resize((width, height))
        if settings.video_sheet_blur > 0:
            image = image.filter(ImageFilter.GaussianBlur(settings.video_sheet_blur))
        sheet.paste(image, ((i % columns) * width, (i // columns) * height))
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=_SHEET_JPEG_QUALITY)
    return seal(out.getvalue(), key), tuple(t.time for t in picked)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------------
# Synthetic videos (tests, benches, the demo): benign moving shapes over smooth gradients


@dataclass(frozen=True)
class SyntheticVideo:
    seconds: float = 10.0
    start: float = 0.0  # where in the endless synthetic film this video begins: a clip of it
    fps: int = 30
    width: int = 320
    height: int = 240
    seed: int = 1
    scene_seconds: float = 5.0  # a new picture every so often: scene changes to find
    textured: bool = False  # scenes of synthetic_scene (local features) not smooth pictures
    codec: str = "libx264"
    container_format: str = "mp4"
    gop: int | None = None  # keyframe interval in frames (None: the encoder's default)
    bframes: int | None = None  # None: the encoder's default
    rotation: int = 0  # display matrix, counter-clockwise degrees
    metadata: tuple[tuple[str, str], ...] = ()
    options: tuple[tuple[str, str], ...] = ()  # container (muxer) options


def synthetic_frames(spec: SyntheticVideo) -> Iterator[NDArray[np.uint8]]:
    """The RGB frames of a benign synthetic video: each scene is a smooth synthetic picture
    (or a textured scene) panned slowly, with a red block crossing it in five seconds (motion,
    but no cut). Scene k of seed s is picture s * 1000 + k at 5/4 of the frame's size."""
    import numpy as np

    from cairn.media.synthetic import synthetic_image, synthetic_scene

    picture_of = synthetic_scene if spec.textured else synthetic_image

    w, h, fps = spec.width, spec.height, spec.fps
    scene_frames = max(1, round(spec.scene_seconds * fps))
    picture: NDArray[np.uint8] | None = None
    first = round(spec.start * fps)
    for i in range(first, first + round(spec.seconds * fps)):
        if i % scene_frames == 0 or picture is None:
            scene = spec.seed * 1000 + i // scene_frames
            picture = np.asarray(picture_of(scene, w + w // 4, h + h // 4).convert("RGB"))
        progress = (i % scene_frames) / scene_frames
        x0, y0 = int(progress * (w // 4)), int(progress * (h // 8))
        pixels = picture[y0 : y0 + h, x0 : x0 + w].copy()
        block = int((i % (5 * fps)) / (5 * fps) * (w - w // 8))
        pixels[h // 3 : h // 3 + h // 6, block : block + w // 8] = (230, 40, 40)
        yield pixels


def write_synthetic_video(out: str | os.PathLike[str] | IO[bytes], spec: SyntheticVideo) -> None:
    """Encode a benign synthetic video (see `synthetic_frames`)."""
    import av

    w, h, fps = spec.width, spec.height, spec.fps
    with av.open(out, "w", format=spec.container_format, options=dict(spec.options)) as container:
        for name, value in spec.metadata:
            container.metadata[name] = value
        stream = cast("VideoStream", container.add_stream(spec.codec, rate=fps))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        # x264 in one thread with its lookahead in step: threaded, its frame-type decisions
        # depend on how many frames are queued when it looks, so the output varied with timing.
        params = ["threads=1", "lookahead-threads=1", "sync-lookahead=0"]
        if spec.gop is not None:
            params += [f"keyint={spec.gop}", f"min-keyint={spec.gop}", "scenecut=0"]
        if spec.bframes is not None:
            params.append(f"bframes={spec.bframes}")
        if spec.codec == "libx264":
            stream.options = {"x264-params": ":".join(params)}
        if spec.rotation:
            stream.set_display_rotation(spec.rotation)
        for pts, pixels in enumerate(synthetic_frames(spec)):
            frame = _yuv420p(pixels)
            frame.pts = pts
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _yuv420p(rgb: NDArray[np.uint8]) -> av.video.frame.VideoFrame:
    """A BT.601 limited-range 4:2:0 frame of `rgb`, converted here and with its row padding
    zeroed: x264 reads the padding (chroma rows of a 240-pixel-wide frame have 8 bytes of it),
    and as allocated it holds whatever was there, so the output varied from run to run; tests
    and bench corpora must be reproducible."""
    import av
    import numpy as np

    height, width = rgb.shape[:2]
    r, g, b = (rgb[:, :, i].astype(np.float32) for i in range(3))
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    u, v = (c.reshape(height // 2, 2, width // 2, 2).mean((1, 3)) for c in (u, v))
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane, values in zip(frame.planes, (y, u, v), strict=True):
        rows = np.zeros((plane.height, plane.line_size), np.uint8)
        rows[:, : plane.width] = np.clip(np.rint(values), 0, 255)
        plane.update(rows.tobytes())
    return frame
