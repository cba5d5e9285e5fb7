"""Known videos as a vPDQ hash set: bad lines counted, bad input refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from cairn.core.errors import UsageError
from cairn.services.context import Context
from cairn.services.hashsets import list_hashsets
from cairn.services.video_matching.importing import import_vpdq_hashset
from cairn.store.video_models import KnownVideoFrame


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
