"""Video matching end to end: a known video as a vPDQ hash set (hashed by Meta's own `vpdq`
package), a known image, a seized device with a re-encoded copy, a clip, a compilation, a
still and an unrelated video; ingest, match, triage, exports.

All videos are benign synthetic films made here (cairn.media.video.write_synthetic_video);
"known" material is such a film placed in a test hash set.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import vpdq
from PIL import Image
from sqlalchemy import func, select

from cairn.core.errors import UsageError
from cairn.core.settings import AnalysisSettings
from cairn.core.types import Category, CategoryScheme
from cairn.hashing.pdq import pdq_from_image
from cairn.hashing.vpdq import format_vpdq, parse_vpdq
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.media.thumbnail import new_key, open_thumbnail
from cairn.media.video import SyntheticVideo, write_synthetic_video
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.export import write_csv
from cairn.services.hashsets import import_hashset, list_hashsets
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.triage import triage_report
from cairn.services.video_matching import (
    build_demo_videos,
    export_vpdq,
    import_vpdq_hashset,
    video_findings,
    video_frames,
    video_matches,
)
from cairn.store.models import Match, Media, Thumbnail
from cairn.store.video_models import KnownVideoFrame, Video, VideoMatch

VICS_1 = Category(CategoryScheme.VICS, "1")
KEY = new_key()
KNOWN = SyntheticVideo(seconds=20, fps=10, width=320, height=240, seed=7, scene_seconds=5)


def _transcode(
    out: Path, pieces: list[tuple[Path, float, float]], size: tuple[int, int], gop: int = 15
) -> None:
    """Cut and join pieces (source, start s, end s) of videos into one re-encoded video at
    another size and GOP: what a re-upload, a clip or a compilation does to a video."""
    with av.open(out, "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        # One x264 thread, and widths whose rows have no padding: reproducible output.
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0:threads=1:sync-lookahead=0"
        stream.options = {"x264-params": params}
        count = 0
        for source, start, end in pieces:
            with av.open(source) as video:
                for frame in video.decode(video=0):
                    if frame.time is not None and start - 1e-6 <= frame.time < end - 1e-6:
                        resized = frame.reformat(width=size[0], height=size[1], format="yuv420p")
                        resized.pts, resized.time_base = count, Fraction(1, 10)
                        count += 1
                        for packet in stream.encode(resized):
                            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _still_video(out: Path, picture: Image.Image, seconds: int) -> None:
    """An unrelated film with `picture` shown still from second 3 to 3 + `seconds`."""
    with av.open(out, "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        other = np.asarray(synthetic_image(4242, 320, 240))
        still = np.asarray(picture.resize((320, 240)))
        for i in range((6 + seconds) * 10):
            pixels = still if 30 <= i < 30 + seconds * 10 else np.roll(other, i, axis=1)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), "rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture
def scene(tmp_path: Path) -> dict[str, Path]:
    """Known material (a film's vPDQ from the reference hasher, a photo's PDQ) and a device."""
    known_film = tmp_path / "known.mp4"
    write_synthetic_video(known_film, KNOWN)
    known_vpdq = tmp_path / "sets" / "known-film.txt"
    known_vpdq.parent.mkdir()
    reference = vpdq.computeHash(str(known_film), seconds_per_hash=1)
    known_vpdq.write_text(
        "".join(f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.3f}\n" for f in reference)
    )
    photo = synthetic_image(31, 640, 480)
    known_pdq = tmp_path / "sets" / "known-photo.csv"
    known_pdq.write_text(f"pdq,category\n{pdq_from_image(photo).hex},vics:1\n")

    device = tmp_path / "device"
    device.mkdir()
    _transcode(device / "copy.mp4", [(known_film, 0, 20)], (256, 192))
    _transcode(device / "clip.mp4", [(known_film, 5, 12)], (320, 240))
    unrelated = tmp_path / "unrelated.mp4"
    write_synthetic_video(
        unrelated, SyntheticVideo(seconds=8, fps=10, width=320, height=240, seed=99)
    )
    _transcode(
        device / "compilation.mp4",
        [(unrelated, 0, 4), (known_film, 0, 20), (unrelated, 4, 8)],
        (320, 240),
    )
    write_synthetic_video(
        device / "unrelated.mp4",
        SyntheticVideo(seconds=6, fps=10, width=320, height=240, seed=123),
    )
    with av.open(known_film) as film:
        frame = next(f for f in film.decode(video=0) if f.time is not None and f.time >= 8.0)
        (device / "still.jpg").write_bytes(jpeg_bytes(frame.to_image(), quality=92))
    _still_video(device / "shows-photo.mp4", photo, seconds=3)
    return {"vpdq": known_vpdq, "pdq": known_pdq, "device": device}


def _run(ctx: Context, scene: dict[str, Path]) -> None:
    summary = import_vpdq_hashset(
        ctx, [scene["vpdq"]], "known-films", category=VICS_1, series=("Film Seven",)
    )
    assert (summary.videos, summary.frames, summary.bad_records) == (1, 20, 0)
    assert import_hashset(ctx, scene["pdq"], "known-photos").records == 1
    create_case(ctx, "C-1")
    ingest(ctx, "C-1", scene["device"], workers=0, settings=AnalysisSettings(thumbnail_key=KEY))
    match_case(ctx, "C-1")


def _triage_by_path(ctx: Context) -> dict[str, tuple[str, ...]]:
    out = io.StringIO()
    with ctx.db.session() as session:
        write_csv(session, 1, out)
    lines = out.getvalue().splitlines()
    header = lines[0].split(",")
    result = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=True))
        result[row["path"]] = (row["triage"], row["hashset"], row["category"], row["match_variant"])
    return result


def test_videos_copies_clips_compilations_and_frames_are_triaged(
    ctx: Context, scene: dict[str, Path]
) -> None:
    _run(ctx, scene)
    rows = _triage_by_path(ctx)
    assert rows["copy.mp4"] == ("near-known", "known-films", "vics:1", "vpdq")
    assert rows["clip.mp4"] == ("near-known", "known-films", "vics:1", "clip")
    assert rows["compilation.mp4"] == ("near-known", "known-films", "vics:1", "vpdq")
    assert rows["still.jpg"] == ("near-known", "known-films", "vics:1", "frame 8.000s")
    triage, hashset, category, variant = rows["shows-photo.mp4"]
    assert (triage, hashset, category) == ("near-known", "known-photos", "vics:1")
    assert variant == "frame 3.000s"  # the first second the photo is shown
    assert rows["unrelated.mp4"][0] == "new"
    assert triage_report(ctx, "C-1").totals == {
        "known": 0,
        "near-known": 5,
        "known-ignorable": 0,
        "possible": 0,
        "new": 1,
    }


def test_shares_both_ways_are_reported(ctx: Context, scene: dict[str, Path]) -> None:
    _run(ctx, scene)
    found = video_matches(ctx, "C-1")
    known = [m for m in found if m.compared == "known-films:known-film"]
    by_name = {(m.query_frames, m.verdict): m for m in known}
    copy = by_name[(20, "match")]  # the copy: every frame of each in the other
    assert (copy.query_share, copy.compared_share, copy.compared_frames) == (1.0, 1.0, 20)
    clip = by_name[(7, "clip")]  # seconds 5-11 of the known film
    assert (clip.query_share, clip.compared_share) == (1.0, pytest.approx(7 / 20))
    compilation = by_name[(28, "match")]  # 4 s + the film + 4 s
    assert compilation.compared_share == 1.0
    assert compilation.query_share == pytest.approx(20 / 28)
    assert all(m.distance <= 31 for m in known)
    # The workspace's videos are compared with each other too (linking, not triage).
    others = [m for m in found if not m.compared.startswith("known-films:")]
    assert {(m.query_frames, m.compared_frames, m.verdict) for m in others} >= {
        (20, 7, "match"),  # the copy contains the clip
        (7, 20, "clip"),  # the clip is cut from the copy
        (28, 20, "match"),  # the compilation contains the copy
    }


def test_matching_is_idempotent_and_shared_hashes_round_trip(
    ctx: Context, scene: dict[str, Path]
) -> None:
    _run(ctx, scene)
    with ctx.db.session() as session:
        matches = session.scalar(select(func.count(Match.id)))
        compared = session.scalar(select(func.count(VideoMatch.id)))
    assert match_case(ctx, "C-1").new_matches == 0
    with ctx.db.session() as session:
        assert session.scalar(select(func.count(Match.id))) == matches
        assert session.scalar(select(func.count(VideoMatch.id))) == compared
        copy_sha = session.scalar(
            select(VideoMatch.media_sha256).where(VideoMatch.query_frames == 20).limit(1)
        )
        assert copy_sha is not None
        video = session.get(Video, copy_sha)
        assert video is not None
        assert (video.width, video.height, video.duration, video.frame_rate) == (
            256,
            192,
            20.0,
            10.0,
        )
        assert (video.video_codec, video.sampling, video.frames_hashed) == ("h264", "fast", 20)
        assert {0.0, 5.0, 10.0, 15.0} <= set(video.keyframes)  # the synthetic scene cuts
        assert video.sheet_times == video.keyframes
        media = session.get(Media, copy_sha)
        assert media is not None and (media.mime, media.width, media.height) == (
            "video/mp4",
            256,
            192,
        )
        sheet = session.get(Thumbnail, copy_sha)  # the contact sheet is the video's thumbnail
        assert sheet is not None
        size = Image.open(io.BytesIO(open_thumbnail(sheet.blob, KEY))).size
        tiles = len(video.keyframes)  # 160 x 120 each, in a grid of ceil(sqrt(n)) columns
        columns = math.ceil(math.sqrt(tiles))
        assert size == (160 * columns, 120 * math.ceil(tiles / columns))
    out = io.StringIO()
    assert export_vpdq(ctx, copy_sha, out) == 20
    frames, errors = parse_vpdq(out.getvalue())
    assert errors == [] and frames == video_frames(ctx, copy_sha)
    assert out.getvalue() == format_vpdq(frames)
    assert [f.frame_number for f in frames] == [10 * k for k in range(20)]


def test_vpdq_set_import_counts_bad_lines_and_refuses_bad_input(
    ctx: Context, tmp_path: Path
) -> None:
    folder = tmp_path / "films"
    folder.mkdir()
    good = "0,100," + "ab" * 32 + ",0.000\n10,40," + "cd" * 32 + ",1.000\n"
    (folder / "a.txt").write_text(good + "not,a,frame\n")
    (folder / "b.vpdq").write_text(good)
    (folder / "empty.txt").write_text("\n")
    (folder / "binary.txt").write_bytes(b"\xff\xfe\x00")
    (folder / "ignored.csv").write_text(good)
    summary = import_vpdq_hashset(ctx, [folder], "films", kind="alert", pdq_threshold=20)
    assert (summary.videos, summary.frames, summary.bad_records) == (2, 4, 3)
    assert summary.errors == [
        "a.txt: line 3: expected frame_number,quality,pdq_hex,timestamp_sec, got 'not,a,frame'",
        "binary.txt: not a vPDQ text file",
        "empty.txt: no frames",
    ]
    info = next(h for h in list_hashsets(ctx) if h.name == "films")
    assert (info.kind, info.format, info.entries, info.bad_records, info.pdq_threshold) == (
        "alert",
        "vpdq",
        2,
        3,
        20,
    )
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(KnownVideoFrame)) == 4
    with pytest.raises(UsageError, match="exists"):
        import_vpdq_hashset(ctx, [folder], "films")
    with pytest.raises(UsageError, match="no such file"):
        import_vpdq_hashset(ctx, [tmp_path / "missing"], "other")
    with pytest.raises(UsageError, match="kind"):
        import_vpdq_hashset(ctx, [folder], "other", kind="good")


def test_demo_videos_show_a_clip_of_a_known_film(ctx: Context, tmp_path: Path) -> None:
    device, sets = tmp_path / "device", tmp_path / "sets"
    vpdq_file = build_demo_videos(device, sets)
    assert vpdq_file == sets / "known-film.vpdq.txt"
    assert sorted(p.name for p in (device / "videos").iterdir()) == ["clip.mp4", "holiday.mp4"]
    assert import_vpdq_hashset(ctx, [vpdq_file], "demo-films", category=VICS_1).frames == 20
    create_case(ctx, "DEMO")
    ingest(ctx, "DEMO", device, workers=0)
    match_case(ctx, "DEMO")
    assert video_findings(ctx, "DEMO") == [
        "device:videos/clip.mp4: clip of known video demo-films:known-film.vpdq "
        "(100% of its frames in it, 40% of the known video's frames found)"
    ]
    assert _triage_by_path(ctx)["videos/holiday.mp4"][0] == "new"
