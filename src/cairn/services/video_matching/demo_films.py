"""The benign synthetic films of `cairn demo`, and the lines that summarise what was found."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from cairn.hashing.vpdq import write_vpdq
from cairn.services.context import Context
from cairn.services.video_matching.listing import video_matches

DEMO_KNOWN_FILM = "known-film.vpdq.txt"


def build_demo_videos(device: Path, sets: Path) -> Path:
    """Benign synthetic films for `cairn demo`: on the device a clip cut from a "known" film
    and an unrelated film; in `sets` the known film's vPDQ file (the film itself is never
    written: hash sets carry hashes, not material). Returns the vPDQ file."""
    from cairn.core.settings import AnalysisSettings
    from cairn.media.video import SyntheticVideo, analyse_video, write_synthetic_video

    known = SyntheticVideo(seconds=20, fps=10, width=320, height=240, seed=505, scene_seconds=5)
    film = io.BytesIO()
    write_synthetic_video(film, known)
    info, errors = analyse_video(film.getvalue(), AnalysisSettings())
    assert info is not None and not errors, errors  # a film made here always decodes
    sets.mkdir(parents=True, exist_ok=True)
    vpdq_file = sets / DEMO_KNOWN_FILM
    with vpdq_file.open("w") as out:
        write_vpdq(info.frames, out)
    videos = device / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    write_synthetic_video(videos / "clip.mp4", replace(known, start=5.0, seconds=8.0))
    write_synthetic_video(videos / "holiday.mp4", replace(known, seed=506, seconds=8.0))
    return vpdq_file


def video_findings(ctx: Context, case_ref: str) -> list[str]:
    """Summary lines: each case video found in a known video, with both shares."""
    return [
        f"{found.paths[0]}: {found.verdict} of known video {found.compared} "
        f"({found.query_share:.0%} of its frames in it, {found.compared_share:.0%} of "
        f"the known video's frames found)"
        for found in video_matches(ctx, case_ref)
        if found.known and found.paths
    ]
