"""Video matching end to end: a known video as a vPDQ hash set (hashed by Meta's own `vpdq`
package), a known image, a seized device with a re-encoded copy, a clip, a compilation, a
still and an unrelated video; ingest, match, triage, exports.

All videos are benign synthetic films made here (cairn.media.video.write_synthetic_video);
"known" material is such a film placed in a test hash set.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import vpdq
from PIL import Image
from sqlalchemy import func, select

from cairn.core.settings import AnalysisSettings
from cairn.core.types import Category, CategoryScheme
from cairn.hashing.pdq import pdq_from_image
from cairn.hashing.vpdq import format_vpdq, parse_vpdq
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.media.thumbnail import new_key, open_thumbnail
from cairn.media.video import SyntheticVideo, synthetic_frames, write_synthetic_video
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.export import write_csv
from cairn.services.hashsets import import_hashset
from cairn.services.identity import create_agency
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.triage import triage_report
from cairn.services.video_matching.export import export_vpdq
from cairn.services.video_matching.importing import import_vpdq_hashset
from cairn.services.video_matching.listing import video_frames, video_matches
from cairn.store.models import Match, Media, ProcessingRun, Thumbnail
from cairn.store.video_models import Video, VideoMatch

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
        params = (
            f"keyint={gop}:min-keyint={gop}:scenecut=0"
            ":threads=1:lookahead-threads=1:sync-lookahead=0"
        )
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
    return {"vpdq": known_vpdq, "pdq": known_pdq, "device": device, "film": known_film}


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


def test_a_clip_cut_off_the_sampling_grid_is_found_on_its_offset_line(
    ctx: Context, scene: dict[str, Path], tmp_path: Path
) -> None:
    """Cut at 10.5 s, the clip's samples fall halfway between the known film's: plain vPDQ
    finds none of its frames within 31 bits; their constant offset finds them.

    The line needs two frames within 63 bits that agree on the offset. Here the nearest are 50
    and 54 bits: a margin that a bit or two of codec noise cannot cross (cut at 5.5 s they were
    54 and 62: one bit from losing the line)."""
    device = tmp_path / "device-2"
    device.mkdir()
    _transcode(device / "off-grid.mp4", [(scene["film"], 10.5, 19.5)], (320, 240))
    import_vpdq_hashset(ctx, [scene["vpdq"]], "known-films", category=VICS_1)
    create_case(ctx, "C-2")
    ingest(ctx, "C-2", device, workers=0)
    match_case(ctx, "C-2")
    [found] = [m for m in video_matches(ctx, "C-2") if m.compared == "known-films:known-film"]
    assert (found.verdict, found.query_frames, round(found.query_share * 9)) == ("clip", 9, 8)
    assert found.aligned_frames == 8  # none is within 31 bits of a known frame
    assert found.offset_seconds is not None and abs(found.offset_seconds - 10.5) <= 0.25
    assert _triage_by_path(ctx)["off-grid.mp4"][0::3] == ("near-known", "clip")


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
        size = Image.open(io.BytesIO(open_thumbnail(sheet.blob, KEY, copy_sha))).size
        tiles = len(video.keyframes)  # 160 x 120 each, in a grid of ceil(sqrt(n)) columns
        columns = math.ceil(math.sqrt(tiles))
        assert size == (160 * columns, 120 * math.ceil(tiles / columns))
    out = io.StringIO()
    assert export_vpdq(ctx, copy_sha, out) == 20
    frames, errors = parse_vpdq(out.getvalue())
    assert errors == [] and frames == video_frames(ctx, copy_sha)
    assert out.getvalue() == format_vpdq(frames)
    assert [f.frame_number for f in frames] == [10 * k for k in range(20)]


# ---------------------------------------------------------------------------------------------
# Animated GIFs as videos, and workspace videos linked without any hash set

RunCli = Callable[..., tuple[int, str, str]]  # the fixtures of tests/conftest.py
GIF_FILM = SyntheticVideo(seconds=12, fps=10, width=160, height=120, seed=61, scene_seconds=6)


def _write_gif(out: Path, frames: list[Image.Image]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _gif_frames(path: Path, first: int, last: int) -> list[Image.Image]:
    """Frames first..last-1 of a GIF as Pillow shows them: what re-saving a cut does."""
    out = []
    with Image.open(path) as img:
        for index in range(first, last):
            img.seek(index)
            out.append(img.convert("RGB"))
    return out


def _videos(run_cli: RunCli, case: str) -> list[dict[str, Any]]:
    code, out, err = run_cli("videos", "--case", case, "--json")
    assert code == 0, err
    found: list[dict[str, Any]] = json.loads(out)
    return found


def test_a_clip_of_an_animated_gif_matches_the_full_one_through_a_vpdq_set(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """A 12 s GIF is hashed, its vPDQ exported and imported as a known video; a GIF of its
    seconds 3-9 (frames re-saved) on a seized device is then a clip of it."""
    full = tmp_path / "origin" / "full-gif.gif"
    _write_gif(full, [Image.fromarray(p) for p in synthetic_frames(GIF_FILM)])
    clip = tmp_path / "seized" / "clip.gif"
    _write_gif(clip, _gif_frames(full, 30, 90))
    full_sha = hashlib.sha256(full.read_bytes()).hexdigest()
    clip_sha = hashlib.sha256(clip.read_bytes()).hexdigest()
    assert run_cli("case", "create", "ORIGIN")[0] == 0
    code, _, err = run_cli("ingest", "--case", "ORIGIN", "--workers", "0", full.parent)
    assert code == 0, err
    known = tmp_path / "sets" / "full-gif.vpdq"
    known.parent.mkdir()
    code, _, err = run_cli("export", "vpdq", "--sha256", full_sha, "-o", known)
    assert (code, err.strip()) == (0, f"wrote 12 frames to {known}")
    frames, errors = parse_vpdq(known.read_text())
    assert errors == [] and [f.timestamp for f in frames] == [float(s) for s in range(12)]
    code, _, err = run_cli(
        "hashset", "import-vpdq", known, "--name", "known-gifs", "--category", "vics:1"
    )
    assert code == 0, err
    assert run_cli("case", "create", "SEIZED")[0] == 0
    code, _, err = run_cli("ingest", "--case", "SEIZED", "--workers", "0", clip.parent)
    assert code == 0, err  # matched at the end of ingest: a set exists
    code, out, err = run_cli("match", "--case", "SEIZED", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["hash_sets"], summary["media"], summary["new_matches"]) == (1, 1, 0)
    found = {(v["compared"], v["verdict"]): v for v in _videos(run_cli, "SEIZED")}
    assert set(found) == {("known-gifs:full-gif", "clip"), (full_sha, "clip")}
    for link in found.values():  # its 6 sampled frames are all in the full GIF's 12
        assert link["media_sha256"] == clip_sha
        assert link["paths"] == ["seized:clip.gif"]
        assert (link["query_frames"], link["compared_frames"]) == (6, 12)
        assert (link["query_share"], link["compared_share"]) == (1.0, 0.5)
        assert (link["offset_seconds"], link["aligned_frames"]) == (3.0, 0)  # cut at 3 s
    out_csv = tmp_path / "seized.csv"
    code, _, err = run_cli("export", "hashes", "--case", "SEIZED", "--format", "csv", "-o", out_csv)
    assert code == 0, err
    (row,) = list(csv.DictReader(out_csv.open(newline="")))
    assert (row["path"], row["triage"], row["hashset"], row["category"]) == (
        "clip.gif",
        "near-known",
        "known-gifs",
        "vics:1",
    )
    assert (row["match_variant"], row["pdq"] != "") == ("clip", True)  # a still PDQ too


def test_a_known_still_of_the_first_frame_still_matches_an_animated_gif(
    ctx: Context, tmp_path: Path
) -> None:
    frames = [Image.fromarray(p) for p in synthetic_frames(GIF_FILM)][:30]
    device = tmp_path / "device"
    _write_gif(device / "moving.gif", frames)
    with Image.open(device / "moving.gif") as img:  # the still: the first frame as shown
        still = pdq_from_image(img).hex
    known = tmp_path / "stills.csv"
    known.write_text(f"pdq,category\n{still},vics:1\n")
    assert import_hashset(ctx, known, "known-stills").records == 1
    create_case(ctx, "C-1")
    ingest(ctx, "C-1", device, workers=0)
    match_case(ctx, "C-1")
    with ctx.db.session() as session:
        media = session.scalars(select(Media)).one()
        assert (media.mime, media.pdq) == ("image/gif", still)
        video = session.get(Video, media.sha256)
        assert video is not None and (video.duration, video.frames_hashed) == (3.0, 3)
        hits = {(m.method, m.variant, m.distance) for m in session.scalars(select(Match))}
    # The image PDQ as before, and the video's first sampled frame (hashed from its luma).
    assert ("pdq", "", 0) in hits
    assert {h[:2] for h in hits} == {("pdq", ""), ("vpdq", "frame 0.000s")}
    assert _triage_by_path(ctx)["moving.gif"][:3] == ("near-known", "known-stills", "vics:1")


def test_workspace_videos_are_linked_without_any_hash_set(
    run_cli: RunCli, ctx: Context, tmp_path: Path
) -> None:
    """A long film on a laptop and a clip cut from it on a phone, and no hash set at all:
    the ingest of the second links them, and `cairn match` finds the same (idempotent)."""
    long = tmp_path / "laptop" / "long.mp4"
    long.parent.mkdir()
    write_synthetic_video(long, KNOWN)
    clip = tmp_path / "phone" / "clip.mp4"
    clip.parent.mkdir()
    _transcode(clip, [(long, 5, 13)], (320, 240))
    long_sha, clip_sha = (hashlib.sha256(p.read_bytes()).hexdigest() for p in (long, clip))
    assert run_cli("case", "create", "C-1")[0] == 0
    code, out, err = run_cli("ingest", "--case", "C-1", "--workers", "0", long.parent)
    assert code == 0, err
    assert "matched 1 media of C-1 against 0 hash sets: 0 new matches" in out
    assert _videos(run_cli, "C-1") == []  # one video: nothing to link yet
    code, out, err = run_cli("ingest", "--case", "C-1", "--workers", "0", clip.parent)
    assert code == 0, err
    assert "matched 2 media of C-1 against 0 hash sets: 0 new matches" in out

    def links() -> set[tuple[str, str, str, int, int]]:
        return {
            (v["paths"][0], v["compared"], v["verdict"], v["query_frames"], v["compared_frames"])
            for v in _videos(run_cli, "C-1")
        }

    expected = {
        ("phone:clip.mp4", long_sha, "clip", 8, 20),  # seconds 5-12 of the long film
        ("laptop:long.mp4", clip_sha, "match", 20, 8),  # the long film contains the clip
    }
    assert links() == expected
    code, out, err = run_cli("match", "--case", "C-1", "--json")
    assert code == 0, err
    assert {k: json.loads(out)[k] for k in ("hash_sets", "media", "new_matches")} == {
        "hash_sets": 0,
        "media": 2,
        "new_matches": 0,
    }
    assert links() == expected
    with ctx.db.session() as session:
        runs = session.scalar(
            select(func.count(ProcessingRun.id)).where(ProcessingRun.command == "match")
        )
        assert session.scalar(select(func.count(VideoMatch.id))) == 2
    assert runs == 3  # after each ingest, and `cairn match`: each on record


def test_workspace_video_links_stay_within_an_agency(ctx: Context, tmp_path: Path) -> None:
    """The same clip in cases of two agencies: each case links it to its own agency's long
    film only. Agency B never sees that A holds the film, not even through the clip's
    comparisons that A's match stored (a video is stored once for every case)."""
    long = tmp_path / "a-laptop" / "long.mp4"
    long.parent.mkdir()
    write_synthetic_video(long, KNOWN)
    clip = tmp_path / "clip" / "clip.mp4"
    clip.parent.mkdir()
    _transcode(clip, [(long, 5, 13)], (320, 240))
    long_sha = hashlib.sha256(long.read_bytes()).hexdigest()
    a = create_agency(ctx, "AA-ONE", "Agency A", "NL")
    b = create_agency(ctx, "BB-TWO", "Agency B", "BE")
    create_case(ctx, "A-1", agency_id=a.id)
    create_case(ctx, "B-1", agency_id=b.id)
    ingest(ctx, "A-1", long.parent, workers=0)
    ingest(ctx, "A-1", clip.parent, workers=0)
    ingest(ctx, "B-1", clip.parent, workers=0)
    for ref in ("A-1", "B-1"):
        match_case(ctx, ref)

    def links(ref: str) -> set[tuple[str, str]]:
        return {(m.paths[0], m.compared) for m in video_matches(ctx, ref)}

    assert ("clip:clip.mp4", long_sha) in links("A-1")
    assert links("B-1") == set()
    create_case(ctx, "LOCAL")  # the local operator (no agency) sees the whole workspace
    ingest(ctx, "LOCAL", clip.parent, workers=0)
    match_case(ctx, "LOCAL")
    assert ("clip:clip.mp4", long_sha) in links("LOCAL")
