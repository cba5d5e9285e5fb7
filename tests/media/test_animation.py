"""Animated GIF and WebP as video: timing from frame delays, sampling, metadata, contact sheet,
and bad input. Every animation is made here with Pillow from benign synthetic frames."""

from __future__ import annotations

import io
import re

import av
import numpy as np
import pytest
from PIL import Image

from cairn.core.records import ErrorRecord, VideoInfo
from cairn.core.settings import AnalysisSettings
from cairn.hashing.pdq import pdq_from_rgb, reference_rgb
from cairn.hashing.vpdq import VideoMatchSettings, compare_videos, pdq_from_luma_plane
from cairn.media import animation
from cairn.media.animation import (
    MAX_DECODED_FRAMES,
    analyse_animation,
    read_structure,
    shown_ms,
)
from cairn.media.sniff import GIF, JPEG, MP4, PNG, WEBP, sniff
from cairn.media.thumbnail import new_key, open_thumbnail
from cairn.media.video import SyntheticVideo, analyse_video, synthetic_frames, write_synthetic_video

KEY = new_key()
FORMATS = {"GIF": GIF, "WEBP": WEBP}
FILM = SyntheticVideo(seconds=8, fps=10, width=160, height=120, seed=21, scene_seconds=4)


def _frames(spec: SyntheticVideo = FILM) -> list[Image.Image]:
    return [Image.fromarray(pixels) for pixels in synthetic_frames(spec)]


def _animation(
    fmt: str, frames: list[Image.Image], duration: int | list[int], **options: object
) -> bytes:
    out = io.BytesIO()
    frames[0].save(
        out, fmt, save_all=True, append_images=frames[1:], duration=duration, loop=0, **options
    )
    return out.getvalue()


def _analyse(data: bytes, **settings: object) -> tuple[VideoInfo | None, list[ErrorRecord]]:
    content_type = sniff(data[:8192])
    assert content_type is not None and content_type.may_be_animated
    return analyse_animation(data, content_type, AnalysisSettings(**settings))  # type: ignore[arg-type]


def _decoded(data: bytes) -> list[Image.Image]:
    """Every frame as Pillow shows it, decoded independently of Cairn."""
    out = []
    with Image.open(io.BytesIO(data)) as img:
        for index in range(img.n_frames):
            img.seek(index)
            img.load()
            out.append(img.copy())
    return out


def _luma_pdq(frame: Image.Image) -> str:
    return pdq_from_luma_plane(np.asarray(frame.convert("L"))).hex


# Delays as written (ms); a GIF stores hundredths, and Pillow writes no delay at all for 0.
DELAYS = [400, 250, 0, 10, 600, 20, 1900, 300, 1000, 520]
SHOWN = [400, 250, 100, 100, 600, 20, 1900, 300, 1000, 520]  # 5.19 s


@pytest.mark.parametrize("fmt", FORMATS)
def test_frames_are_sampled_by_their_delays(fmt: str) -> None:
    """One hash per second of showing time, of the frame on screen at that instant: a frame
    shown across two instants is hashed twice (the same hash), and short or missing delays
    count as browsers show them (100 ms)."""
    data = _animation(fmt, _frames()[:10], DELAYS)
    assert [shown_ms(d) for d in read_structure(data, FORMATS[fmt]).delays] == SHOWN  # type: ignore[union-attr]
    info, errors = _analyse(data)
    assert errors == [] and info is not None
    name = fmt.lower()
    assert (info.width, info.height, info.duration, info.frame_rate) == (160, 120, 5.19, 1.926782)
    assert (info.container, info.video_codec, info.sampling) == (name, name, "fast")
    assert (info.seconds_per_hash, info.frames_decoded, info.rotation) == (1.0, 10, 0)
    # Instants 0-5 s fall in frames 0 (0-0.4 s), 4 (0.85-1.45), 6 (1.47-3.37) twice, 8, 9.
    assert [(f.frame_number, f.timestamp) for f in info.frames] == [
        (0, 0.0),
        (4, 1.0),
        (6, 2.0),
        (6, 3.0),
        (8, 4.0),
        (9, 5.0),
    ]
    shown = _decoded(data)
    assert [f.pdq for f in info.frames] == [_luma_pdq(shown[f.frame_number]) for f in info.frames]
    assert all(f.quality >= 50 for f in info.frames)


@pytest.mark.parametrize("fmt", FORMATS)
def test_exact_sampling_hashes_the_references_rgb(fmt: str) -> None:
    data = _animation(fmt, _frames()[:30], 100)
    info, errors = _analyse(data, video_sampling="exact")
    assert errors == [] and info is not None and info.sampling == "exact"
    shown = _decoded(data)
    assert [f.frame_number for f in info.frames] == [0, 10, 20]
    assert [f.pdq for f in info.frames] == [
        pdq_from_rgb(reference_rgb(shown[f.frame_number])).hex for f in info.frames
    ]
    keyframes, _ = _analyse(data, video_sampling="keyframes")  # no keyframes to skip to
    assert keyframes is not None and keyframes.sampling == "fast"
    assert keyframes.frames == _analyse(data)[0].frames  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", FORMATS)
def test_single_frame_is_an_image_only(fmt: str) -> None:
    single = _animation(fmt, _frames()[:1], 100)
    assert _analyse(single) == (None, [])
    assert len(read_structure(single, FORMATS[fmt]).delays) < 2  # type: ignore[union-attr]


def test_non_animations_and_unreadable_headers_are_not_videos() -> None:
    png = io.BytesIO()
    _frames()[0].save(png, "PNG")
    assert read_structure(png.getvalue(), sniff(png.getvalue())) is None  # type: ignore[arg-type]
    for data in (b"GIF89a\x01", b"RIFF\x00\x00\x00\x00WEBX"):
        content_type = sniff(data)
        assert content_type is not None
        assert analyse_animation(data, content_type, AnalysisSettings()) == (None, [])


@pytest.mark.parametrize("fmt", FORMATS)
def test_scene_keyframes_and_contact_sheet(fmt: str) -> None:
    data = _animation(fmt, _frames(), 100)  # 8 s, a new synthetic scene at 4 s
    info, errors = _analyse(data, thumbnail_key=KEY)
    assert errors == [] and info is not None
    assert [f.timestamp for f in info.frames] == [float(s) for s in range(8)]
    assert info.keyframes[0] == 0.0 and 4.0 in info.keyframes
    assert info.sheet_times == info.keyframes
    assert info.contact_sheet is not None
    sheet = Image.open(io.BytesIO(open_thumbnail(info.contact_sheet, KEY)))
    columns = int(np.ceil(np.sqrt(len(info.keyframes))))
    rows = -(-len(info.keyframes) // columns)
    assert (sheet.format, sheet.size) == ("JPEG", (160 * columns, 120 * rows))
    without, _ = _analyse(data)
    assert without is not None and (without.contact_sheet, without.sheet_times) == (None, ())


def test_an_animation_matches_the_video_it_was_made_from() -> None:
    """The same film as a GIF, a WebP and an MP4: every way round, a match."""
    mp4 = io.BytesIO()
    write_synthetic_video(mp4, FILM)
    video, errors = analyse_video(mp4.getvalue(), AnalysisSettings())
    assert video is not None and errors == []
    for fmt in FORMATS:
        info, errors = _analyse(_animation(fmt, _frames(), 100))
        assert info is not None and errors == []
        assert [f.timestamp for f in info.frames] == [f.timestamp for f in video.frames]
        comparison = compare_videos(info.frames, video.frames)
        assert (comparison.query_share, comparison.compared_share) == (1.0, 1.0)
        assert comparison.verdict(VideoMatchSettings()) == "match"


def test_gif_timing_agrees_with_pillow_and_differs_from_ffmpeg_on_short_or_missing_delays() -> None:
    """Why Pillow decodes GIF here: FFmpeg's demuxer gives the same timestamps while every frame
    has a delay above 10 ms (and shows a 0 delay for 100 ms, as browsers do), but it shows a
    10 ms delay for 10 ms, and a frame without a Graphic Control Extension for the previous
    frame's delay, where browsers (and Cairn) show both for 100 ms."""
    frames = _frames()[:6]

    def starts(delays: list[int | None]) -> list[float]:
        return [sum(shown_ms(d) for d in delays[:i]) / 1000 for i in range(len(delays))]

    plain = _animation("GIF", frames, [100, 200, 50, 120, 300, 20])
    assert _ffmpeg_starts(plain) == starts([100, 200, 50, 120, 300, 20])
    with_gce = _animation("GIF", frames, [100, 200, 0, 10, 120, 300], disposal=2)
    without = _animation("GIF", frames, [100, 200, 0, 10, 120, 300])  # no GCE for 0: Pillow
    for data, stored in (
        (plain, [100, 200, 50, 120, 300, 20]),
        (with_gce, [100, 200, 0, 10, 120, 300]),
        (without, [100, 200, None, 10, 120, 300]),
    ):
        structure = read_structure(data, GIF)
        assert structure is not None and list(structure.delays) == stored
        with Image.open(io.BytesIO(data)) as img:
            pillow = []
            for index in range(img.n_frames):
                img.seek(index)
                pillow.append(img.info.get("duration"))
        assert pillow == stored
    assert starts([100, 200, 0, 10, 120, 300]) == [0.0, 0.1, 0.3, 0.4, 0.5, 0.62]
    assert _ffmpeg_starts(with_gce) == [0.0, 0.1, 0.3, 0.4, 0.41, 0.53]  # 10 ms for 10 ms
    assert _ffmpeg_starts(without) == [0.0, 0.1, 0.3, 0.5, 0.51, 0.63]  # 200 ms without GCE


def _ffmpeg_starts(data: bytes) -> list[float]:
    with av.open(io.BytesIO(data)) as container:
        return [float(f.time or 0.0) for f in container.decode(video=0)]


def test_pyav_cannot_decode_animated_webp() -> None:
    """Why Pillow decodes WebP here (revisit when this starts to fail)."""
    data = _animation("WEBP", _frames()[:3], 100)
    with av.open(io.BytesIO(data)) as container, pytest.raises(av.error.InvalidDataError):
        list(container.decode(video=0))


# ---------------------------------------------------------------------------------------------
# Bad input


def test_truncated_gif_keeps_the_frames_before_the_cut() -> None:
    data = _animation("GIF", _frames()[:30], 100)
    with Image.open(io.BytesIO(data)) as img:
        img.seek(20)
        cut = img.tile[0].offset + 50  # inside frame 21's image data
    info, errors = _analyse(data[:cut])
    assert info is not None
    assert (info.duration, info.frames_decoded) == (2.1, 20)  # 21 frames begun
    assert [f.frame_number for f in info.frames] == [0, 10]  # frame 20 is shown at 2 s
    assert errors[0] == ErrorRecord("decode", "truncated animation: the data ends inside frame 21")
    assert errors[1].stage == "decode" and re.fullmatch(
        r"frame 21 of 21 could not be decoded: OSError: image file is truncated .*; "
        r"the frames before it are used",
        errors[1].message,
    )
    assert len(errors) == 2
    # Cut between frames: the frames are whole, the trailer is missing.
    end = data.rindex(b"\x00;")  # the last frame's block terminator, then the trailer
    info, errors = _analyse(data[: end + 1])
    assert info is not None and len(info.frames) == 3
    assert errors == [
        ErrorRecord(
            "decode", "truncated animation: the data ends after frame 30, without the GIF trailer"
        )
    ]


def test_truncated_webp_is_a_clear_error() -> None:
    """libwebp's animation decoder refuses a cut file whole: no frame, two clear errors."""
    data = _animation("WEBP", _frames()[:30], 100)
    cut = data[: len(data) * 6 // 10]
    info, errors = _analyse(cut)
    assert info is not None and info.frames == () and info.frames_decoded == 0
    assert errors == [
        ErrorRecord(
            "decode",
            f"truncated animation: the file header gives {len(data)} bytes, {len(cut)} are present",
        ),
        ErrorRecord("decode", "unreadable animation: OSError: could not create decoder object"),
    ]


def _repeated_gif(frames: int) -> bytes:
    """A GIF of `frames` small frames at 100 ms, made by repeating one frame's blocks (Pillow
    would take minutes to write it)."""
    a, b = (Image.new("RGB", (16, 16), colour) for colour in ((200, 30, 30), (30, 30, 200)))
    data = _animation("GIF", [a, b], 100)
    second = data.index(b"\x21\xf9\x04", data.index(b"\x21\xf9\x04") + 1)
    return data[:-1] + data[second:-1] * (frames - 2) + b";"


def test_huge_frame_count_is_bounded() -> None:
    """50,001 frames of 100 ms: the interval stretches to keep 3600 samples over 5000.1 s, and
    decoding stops at MAX_DECODED_FRAMES with a limit error."""
    data = _repeated_gif(50_001)
    info, errors = _analyse(data)
    assert info is not None
    assert (info.duration, info.frame_rate) == (5000.1, 10.0)
    assert info.seconds_per_hash == round(5000.1 / 3600, 6)
    assert info.frames_decoded == MAX_DECODED_FRAMES == 20_000
    # Instants k * 1.389 s before 2000 s (the end of the frames decoded): k = 0..1439.
    assert len(info.frames) == 1440
    assert info.frames[-1].frame_number == int(1439 * 5000.1 / 3600 * 10)
    assert errors == [
        ErrorRecord(
            "limit",
            "decoding stopped after 20000 of 50001 frames (at most 20000 frames or "
            f"{24 * AnalysisSettings().max_image_pixels} pixels); later frames not hashed",
        )
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_frames_past_the_count_limit_are_not_counted(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of millions of tiny frames would cost seconds just to count: counting stops."""
    monkeypatch.setattr(animation, "MAX_COUNTED_FRAMES", 100)
    if fmt == "GIF":
        data = _repeated_gif(250)
    else:
        tiny = [Image.new("RGB", (16, 16), (i % 2 * 200, 30, 30)) for i in range(250)]
        data = _animation(fmt, tiny, 100, lossless=True)
    info, errors = _analyse(data)
    assert info is not None
    assert (info.duration, info.frames_decoded) == (10.0, 91)  # up to the last instant, 9 s
    assert [f.frame_number for f in info.frames] == list(range(0, 100, 10))
    assert errors == [
        ErrorRecord("limit", "more than 100 frames: later frames not counted nor hashed")
    ]


def test_decoded_pixels_are_bounded_by_the_image_limit() -> None:
    """At most 24 canvases of the largest image allowed are decoded."""
    data = _animation("GIF", _frames(SyntheticVideo(seconds=4, fps=10, width=64, height=48)), 100)
    info, errors = _analyse(data, max_image_pixels=64 * 48)
    assert info is not None and info.frames_decoded == 24
    assert [f.frame_number for f in info.frames] == [0, 10, 20]
    assert errors == [
        ErrorRecord(
            "limit",
            f"decoding stopped after 24 of 40 frames (at most 20000 frames or {24 * 64 * 48} "
            "pixels); later frames not hashed",
        )
    ]
    info, errors = _analyse(data, max_image_pixels=64 * 48 - 1)
    assert info is not None and (info.frames, info.frames_decoded) == ((), 0)
    assert errors == [
        ErrorRecord("limit", "64x48 = 3072 pixels per frame exceeds the limit of 3071; not decoded")
    ]


@pytest.mark.parametrize("delay", [0, 10])
def test_zero_and_ten_millisecond_delays_count_as_100(delay: int) -> None:
    data = _animation("WEBP", _frames()[:25], delay)
    info, errors = _analyse(data)
    assert errors == [] and info is not None
    assert (info.duration, info.frame_rate) == (2.5, 10.0)
    assert [f.frame_number for f in info.frames] == [0, 10, 20]
    fast = _analyse(_animation("WEBP", _frames()[:25], 20))[0]
    assert fast is not None and (fast.duration, fast.frame_rate) == (0.5, 50.0)
    assert [f.frame_number for f in fast.frames] == [0]


def test_only_gif_and_webp_may_be_animated() -> None:
    assert GIF.may_be_animated and WEBP.may_be_animated
    assert not any(t.may_be_animated for t in (PNG, JPEG, MP4))
