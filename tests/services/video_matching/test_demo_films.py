"""The demo's films: a clip of a known film is found, the unrelated film is not."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from cairn.core.types import Category, CategoryScheme
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.video_matching.demo_films import build_demo_videos, video_findings
from cairn.services.video_matching.importing import import_vpdq_hashset
from cairn.store.models import Match, Occurrence

VICS_1 = Category(CategoryScheme.VICS, "1")


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
    with ctx.db.session() as session:  # the unrelated holiday film matches nothing
        matched = session.scalars(
            select(Occurrence.path).join(Match, Match.media_sha256 == Occurrence.media_sha256)
        ).all()
    assert matched == [b"videos/clip.mp4"]
