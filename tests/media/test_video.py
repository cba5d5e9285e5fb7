"""Video analysis: vPDQ frames against Meta's reference files, metadata, review aids, and
every kind of bad input. Videos are the benign public sample videos or synthetic films made
here with PyAV."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageFilter

from cairn.core.records import ErrorRecord, VideoInfo
from cairn.core.settings import AnalysisSettings
from cairn.evidence.analysis import analyse_file, analyse_stream
from cairn.hashing.pdq import hamming
from cairn.hashing.vpdq import parse_vpdq
from cairn.media.sniff import sniff
from cairn.media.thumbnail import new_key, open_thumbnail
from cairn.media.video import SyntheticVideo, analyse_video, write_synthetic_video

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SAMPLE_VIDEOS = SHARED_DATA / "threatexchange" / "tmk" / "sample-videos"
SAMPLE_HASHES = SHARED_DATA / "threatexchange" / "vpdq" / "sample-hashes"
SAMPLES = sorted(p.stem for p in SAMPLE_VIDEOS.glob("*.mp4"))
SMALL = SyntheticVideo(seconds=6, fps=10, width=320, height=240, seed=3, scene_seconds=3)
KEY = new_key()


def _video(spec: SyntheticVideo = SMALL) -> bytes:
    out = io.BytesIO()
    write_synthetic_video(out, spec)
    return out.getvalue()


def _analyse(data: bytes, **settings: object) -> tuple[VideoInfo, list[ErrorRecord]]:
    info, errors = analyse_video(data, AnalysisSettings(**settings))  # type: ignore[arg-type]
    assert info is not None, errors
    return info, errors


# ---------------------------------------------------------------------------------------------
# Agreement with the reference


def test_every_sample_video_is_there() -> None:
    assert len(SAMPLES) == 14


@pytest.mark.parametrize("name", SAMPLES)
def test_frames_agree_with_the_reference_files(name: str) -> None:
    """Same frames and timestamps as vpdq at one frame per second, each within 31 bits of the
    reference file's hash of that frame (frames of quality < 50 are not compared)."""
    reference, errors = parse_vpdq((SAMPLE_HASHES / f"{name}.txt").read_text())
    assert errors == []
    by_number = {f.frame_number: f for f in reference}
    info, errors = _analyse((SAMPLE_VIDEOS / f"{name}.mp4").read_bytes())
    assert errors == []
    assert info.frame_rate == 30.0 and info.seconds_per_hash == 1.0
    assert [f.frame_number for f in info.frames] == list(range(0, len(reference), 30))
    compared = 0
    for frame in info.frames:
        expected = by_number[frame.frame_number]
        assert frame.timestamp == pytest.approx(expected.timestamp, abs=0.0005)
        if frame.quality >= 50 and expected.quality >= 50:
            assert hamming(frame.pdq, expected.pdq) <= 31
            compared += 1
    assert compared >= 2


@pytest.mark.parametrize("name", ["chair-19-sd-bar", "pattern-hd-no-bar"])
def test_exact_and_keyframe_samplings(name: str) -> None:
    data = (SAMPLE_VIDEOS / f"{name}.mp4").read_bytes()
    by_number = {
        f.frame_number: f for f in parse_vpdq((SAMPLE_HASHES / f"{name}.txt").read_text())[0]
    }
    fast, _ = _analyse(data)
    exact, errors = _analyse(data, video_sampling="exact")
    assert errors == []
    assert [f.frame_number for f in exact.frames] == [f.frame_number for f in fast.frames]
    assert exact.frames_decoded == len(by_number) > fast.frames_decoded
    keyframes, errors = _analyse(data, video_sampling="keyframes")
    assert errors == []
    assert keyframes.frames_decoded == len(keyframes.frames) < len(fast.frames)
    for frame in exact.frames + keyframes.frames:
        assert hamming(frame.pdq, by_number[frame.frame_number].pdq) <= 31


def _remux(data: bytes, container: str, rotation: int = 0) -> bytes:
    """The same coded frames in another container, optionally with a display rotation."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(out, "w", format=container) as target:
        stream = source.streams.video[0]
        copy = target.add_stream_from_template(stream)
        if rotation:
            copy.set_display_rotation(rotation)
        for packet in source.demux(stream):
            if packet.dts is not None:
                packet.stream = copy
                target.mux(packet)
    return out.getvalue()


def test_hashes_are_of_the_pixels_as_stored_and_do_not_depend_on_the_container() -> None:
    data = _video()
    plain, _ = _analyse(data)
    rotated, _ = _analyse(_remux(data, "mp4", rotation=90))
    in_mkv, _ = _analyse(_remux(data, "matroska"))
    assert (plain.rotation, rotated.rotation, in_mkv.rotation) == (0, 90, 0)
    assert rotated.frames == plain.frames == in_mkv.frames  # rotation is for display only
    assert [f.timestamp for f in plain.frames] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


FORMATS = [
    ("mov", "libx264", "video/quicktime"),
    ("3gp", "libx264", "video/mp4"),
    ("webm", "libvpx-vp9", "video/x-matroska"),
    ("avi", "mpeg4", "video/x-msvideo"),
    ("flv", "flv", "video/x-flv"),
    ("mpegts", "libx264", "video/mp2t"),
    ("mpeg", "mpeg2video", "video/mpeg"),
    ("asf", "wmv2", "video/x-ms-asf"),
]


@pytest.mark.parametrize(("container", "codec", "mime"), FORMATS)
def test_containers_and_codecs(container: str, codec: str, mime: str) -> None:
    mp4, _ = _analyse(_video())
    data = _video(
        SyntheticVideo(**{**SMALL.__dict__, "container_format": container, "codec": codec})
    )
    content_type = sniff(data[:8192])
    assert content_type is not None and content_type.mime == mime and content_type.is_video
    info, errors = _analyse(data)
    assert errors == []
    assert [f.timestamp for f in info.frames][:6] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    for ours, h264 in zip(info.frames, mp4.frames, strict=False):
        assert hamming(ours.pdq, h264.pdq) <= 31


# ---------------------------------------------------------------------------------------------
# Metadata


def test_quicktime_metadata() -> None:
    data = _video(
        SyntheticVideo(
            **{
                **SMALL.__dict__,
                "container_format": "mov",
                "metadata": (
                    ("location", "+52.3700+004.8900/"),  # written as the ©xyz atom
                    ("make", "CairnPhone"),
                    ("model", "Test One"),
                    ("creation_time", "2024-05-12T10:32:00Z"),
                ),
            }
        )
    )
    assert data.count(b"\xa9xyz") == 1
    info, errors = _analyse(data)
    assert errors == []
    assert (info.gps_lat, info.gps_lon, info.make, info.model) == (
        52.37,
        4.89,
        "CairnPhone",
        "Test One",
    )
    assert info.creation_time == datetime(2024, 5, 12, 10, 32, tzinfo=UTC)
    assert (info.width, info.height, info.duration, info.frame_rate) == (320, 240, 6.0, 10.0)
    assert (info.video_codec, info.audio_codecs) == ("h264", ())
    assert info.container == "mov,mp4,m4a,3gp,3g2,mj2"


def test_apple_metadata_keys_and_audio_codecs(tmp_path: Path) -> None:
    out = tmp_path / "phone.mov"
    with av.open(out, "w", format="mov", options={"movflags": "use_metadata_tags"}) as c:
        c.metadata["com.apple.quicktime.location.ISO6709"] = "-33.8688+151.2093+012.000/"
        c.metadata["com.apple.quicktime.make"] = "Apple"
        c.metadata["com.apple.quicktime.model"] = "iPhone 15"
        video = c.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = c.add_stream("aac", rate=44100)
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), "rgb24")
            for packet in video.encode(frame):
                c.mux(packet)
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
            sound.sample_rate, sound.pts = 44100, i * 1024
            for packet in audio.encode(sound):
                c.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                c.mux(packet)
    info, _ = _analyse(out.read_bytes())
    assert (info.gps_lat, info.gps_lon) == (-33.8688, 151.2093)
    assert (info.make, info.model, info.audio_codecs) == ("Apple", "iPhone 15", ("aac",))


def test_location_outside_the_globe_is_refused() -> None:
    spec = SyntheticVideo(
        **{
            **SMALL.__dict__,
            "container_format": "mov",
            "metadata": (("location", "+95.0000+004.8900/"),),
        }
    )
    info, _ = _analyse(_video(spec))
    assert (info.gps_lat, info.gps_lon) == (None, None)


# ---------------------------------------------------------------------------------------------
# Keyframes and the contact sheet


def _sheet(info: VideoInfo) -> Image.Image:
    assert info.contact_sheet is not None
    return Image.open(io.BytesIO(open_thumbnail(info.contact_sheet, KEY)))


def test_scene_keyframes_and_contact_sheet() -> None:
    spec = SyntheticVideo(seconds=12, fps=10, width=320, height=240, seed=11, scene_seconds=3)
    info, errors = _analyse(_video(spec), thumbnail_key=KEY)
    assert errors == []
    assert info.keyframes == (0.0, 3.0, 6.0, 9.0)  # one per synthetic scene
    assert info.sheet_times == info.keyframes
    sheet = _sheet(info)
    assert (sheet.format, sheet.size) == ("JPEG", (320, 240))  # 2 x 2 tiles of 160 x 120
    sharp = _sheet(_analyse(_video(spec), thumbnail_key=KEY, video_sheet_blur=0)[0])

    def detail(image: Image.Image) -> float:
        return float(np.asarray(image.convert("L").filter(ImageFilter.FIND_EDGES)).mean())

    assert detail(sheet) < 0.6 * detail(sharp)  # blurred by default


def test_contact_sheet_keeps_a_bounded_even_spread_and_needs_a_key() -> None:
    spec = SyntheticVideo(seconds=20, fps=5, width=160, height=120, seed=12, scene_seconds=1)
    info, _ = _analyse(_video(spec), thumbnail_key=KEY, video_sheet_tiles=4)
    assert len(info.keyframes) == 20
    assert info.sheet_times == (0.0, 6.0, 12.0, 19.0)  # nearest to 0, 6.3, 12.7, 19
    assert _sheet(info).size == (320, 240)
    without, _ = _analyse(_video(spec))
    assert (without.contact_sheet, without.sheet_times, without.keyframes) == (
        None,
        (),
        info.keyframes,
    )


def test_scene_keyframes_get_local_features_bounded_and_evenly_spread() -> None:
    spec = SyntheticVideo(
        seconds=40, fps=5, width=320, height=240, seed=13, scene_seconds=1, textured=True
    )
    info, errors = _analyse(_video(spec))
    assert errors == [] and len(info.keyframes) == 39  # scene 12 looks like 11 (histogram)
    # 16 of the 39 scene keyframes: those nearest 0, 2.6, 5.2, ..., 39 seconds.
    assert [f.time for f in info.features] == [
        0.0, 3.0, 5.0, 8.0, 10.0, 13.0, 16.0, 18.0, 21.0, 23.0, 26.0, 29.0, 31.0, 34.0, 36.0, 39.0
    ]  # fmt: skip
    for frame in info.features:
        assert (frame.width, frame.height, frame.reason) == (320, 240, "")
        assert frame.count >= 100  # textured scenes: features abound
        points = np.frombuffer(frame.points, np.float32).reshape(-1, 2)
        assert points.min() >= 0 and points[:, 0].max() < 320 and points[:, 1].max() < 240
    # The keyframe at 5 s shows scene 5 (picture 13005 at 5/4 of the frame), as a still does.
    from cairn.matching.local_features import Features, verify
    from cairn.media.features import image_features
    from cairn.media.synthetic import synthetic_scene

    still = synthetic_scene(13005, 400, 300).crop((0, 0, 320, 240))
    verified, _why = verify(
        Features.of(info.features[2]), Features.of(image_features(still, 320, 240))
    )
    assert verified is not None and verified.inliers >= 50
    assert _analyse(_video(spec), local_features=False)[0].features == ()


def test_contact_sheet_of_a_rotated_phone_video_is_upright() -> None:
    rotated = SyntheticVideo(**{**SMALL.__dict__, "rotation": 90})
    info, _ = _analyse(_video(rotated), thumbnail_key=KEY)
    assert info.rotation == 90
    assert _sheet(info).size == (240, 160)  # 2 portrait tiles of 120 x 160


# ---------------------------------------------------------------------------------------------
# Bad input


def test_truncated_file_without_its_index() -> None:
    data = _video()  # the index (moov) is written last: cut, the file has none
    assert _analyse_none(data[: len(data) // 2]) == [
        ErrorRecord(
            "decode",
            "unreadable video container: InvalidDataError: [Errno 1094995529] Invalid data "
            "found when processing input: '<none>'",
        )
    ]


def _analyse_none(data: bytes) -> list[ErrorRecord]:
    info, errors = analyse_video(data, AnalysisSettings())
    assert info is None
    return errors


def test_truncated_file_keeps_the_frames_before_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "fast.mp4"  # index first, as phones and web uploads write it
    write_synthetic_video(
        path, SyntheticVideo(**{**SMALL.__dict__, "options": (("movflags", "faststart"),)})
    )
    data = path.read_bytes()
    whole, errors = _analyse(data)
    assert errors == []
    cut, errors = _analyse(data[: len(data) // 2])
    assert cut.duration == 6.0
    assert cut.frames == whole.frames[:3]
    assert errors == [  # the packet cut in two, and the missing end
        ErrorRecord(
            "decode",
            "1 video packets could not be decoded; first: InvalidDataError: [Errno 1094995529] "
            "Invalid data found when processing input: 'avcodec_send_packet()'",
        ),
        ErrorRecord(
            "decode", "video data ends at 3.100s of the 6.000s the header gives: truncated"
        ),
    ]


def test_garbage_audio_only_and_zero_length_streams() -> None:
    assert _analyse_none(b"\x00\x00\x00\x20ftypisom" + bytes(2000))[0].message.startswith(
        "unreadable video container: "
    )
    audio_only = io.BytesIO()
    empty_video = io.BytesIO()
    for out, fmt, with_video in ((audio_only, "mp4", False), (empty_video, "matroska", True)):
        with av.open(out, "w", format=fmt) as c:
            if with_video:  # a video stream that never gets a frame
                video = c.add_stream("mpeg4", rate=10)
                video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
            audio = c.add_stream("aac", rate=44100)
            for i in range(10):
                sound = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
                sound.sample_rate, sound.pts = 44100, i * 1024
                for packet in audio.encode(sound):
                    c.mux(packet)
            for packet in audio.encode():
                c.mux(packet)
    assert _analyse_none(audio_only.getvalue()) == [
        ErrorRecord("decode", "no video stream (audio only)")
    ]
    info, errors = _analyse(empty_video.getvalue())
    assert (info.width, info.height, info.frames, info.frames_decoded) == (64, 48, (), 0)
    assert errors == [ErrorRecord("decode", "no frame could be decoded")]


def test_variable_frame_rate_samples_the_nearest_frames() -> None:
    """Frames 50 ms apart for 5 s, then 500 ms apart, then a frame held for 2.5 s."""
    times = [i * 0.05 for i in range(100)] + [5 + i * 0.5 for i in range(6)] + [10.5, 11.0]
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as c:
        stream = c.add_stream("libx264", rate=20)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        picture = np.asarray(Image.new("RGB", (160, 120)))
        for i, t in enumerate(times):
            pixels = np.roll(picture + np.uint8(i % 200), i, axis=1)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), "rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    info, errors = _analyse(out.getvalue())
    assert errors == []
    assert info.frame_rate is not None
    interval = int(info.frame_rate) / info.frame_rate
    expected = []
    for k in range(int(times[-1] / interval) + 1):
        nearest = min(times, key=lambda t: (abs(t - k * interval), t))
        if not expected or nearest > expected[-1]:
            expected.append(nearest)
    assert [f.timestamp for f in info.frames] == pytest.approx(expected, abs=1e-3)
    assert info.seconds_per_hash == pytest.approx(interval, abs=1e-6)


def test_ten_hour_video_is_sampled_with_bounded_work() -> None:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as c:
        stream = c.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        stream.options = {"preset": "ultrafast", "x264-params": "keyint=10:min-keyint=10"}
        base = np.random.default_rng(0).integers(0, 256, (16, 16, 3), np.uint8)
        for i in range(36_000):
            frame = av.VideoFrame.from_ndarray(np.roll(base, i % 16, axis=1), "rgb24")
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    data = out.getvalue()
    info, errors = _analyse(data)  # at most 3600 samples: one per 10 s
    assert errors == []
    assert (info.duration, info.seconds_per_hash, len(info.frames)) == (36_000.0, 10.0, 3600)
    assert info.frames[-1].timestamp == 35_990.0
    assert info.frames_decoded == 3600  # keyframes only: nothing in between is decoded
    fewer, _ = _analyse(data, video_max_samples=100)
    assert (fewer.seconds_per_hash, len(fewer.frames), fewer.frames_decoded) == (360.0, 100, 100)


def test_oversized_frames_and_bad_settings_are_refused() -> None:
    info, errors = _analyse(_video(), max_image_pixels=320 * 239)
    assert (info.width, info.height, info.frames) == (320, 240, ())
    assert errors == [
        ErrorRecord(
            "limit", "320x240 = 76800 pixels per frame exceeds the limit of 76480; not decoded"
        )
    ]
    info_none, errors = analyse_video(_video(), AnalysisSettings(video_sampling="every"))
    assert (info_none, errors) == (None, [ErrorRecord("decode", "unknown video sampling 'every'")])


# ---------------------------------------------------------------------------------------------
# Through the ingest analysis: files reopened, archive members buffered up to the limit


def test_files_are_reopened_and_members_buffered(tmp_path: Path) -> None:
    data = _video()
    path = tmp_path / "v.mp4"
    path.write_bytes(data)
    settings = AnalysisSettings()
    from_file = analyse_file(os.fsencode(path), b"v.mp4", 0, settings, len(data))
    member = analyse_stream(io.BytesIO(data), b"a.zip!v.mp4", 1, settings, size=len(data))
    assert from_file.errors == member.errors == []
    assert from_file.content is not None and member.content is not None
    assert from_file.content.video is not None
    assert from_file.content.video == member.content.video
    assert from_file.content.mime == "video/mp4"
    small = AnalysisSettings(max_buffer_bytes=1000)
    known_size = analyse_stream(io.BytesIO(data), b"a.zip!v.mp4", 1, small, size=len(data))
    streamed = analyse_stream(io.BytesIO(data), b"a.zip!v.mp4", 1, small)
    assert known_size.errors == [ErrorRecord("limit", "video too large to decode in memory")]
    assert streamed.errors == [ErrorRecord("limit", "too large to analyse in memory; hashed only")]
    for analysis in (known_size, streamed):
        assert analysis.content is not None and analysis.content.video is None
        assert analysis.content.digests == from_file.content.digests
