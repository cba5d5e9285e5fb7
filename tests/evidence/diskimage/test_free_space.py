"""Free space carved: planted and deleted photos found, caps respected, runs resumable."""

from __future__ import annotations

from pathlib import Path

from tests.evidence.diskimage.builders import (
    NOTES,
    PHOTO,
    PHOTO_2,
    PHOTO_3,
    MiB,
    make_fat,
    sha256,
)
from tests.evidence.diskimage.readback import Row, entries, one, run_ingest, stored

from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind
from cairn.evidence.diskimage.source import DiskImageSource
from cairn.services.context import Context


def test_carving_recovers_planted_and_deleted_photos(ctx: Context, tmp_path: Path) -> None:
    image = make_fat(
        tmp_path / "fat.dd", {"notes.txt": NOTES, "deleted.jpg": PHOTO_3}, ["deleted.jpg"]
    )
    planted_at = 12 * MiB + 4096  # far beyond the last cluster mtools used
    with open(image, "r+b") as out:
        out.seek(planted_at)
        out.write(PHOTO)
    deleted_at = image.read_bytes().index(PHOTO_3)
    plain = run_ingest(ctx, image)
    assert plain.exit_code == 0
    assert not any(p.startswith((b"$Carved", b"$Unallocated")) for p in stored(ctx, "fat.dd"))
    carved = run_ingest(ctx, image, carve=True)  # the same evidence again, now carving
    assert carved.exit_code == 0, carved.errors
    rows = stored(ctx, "fat.dd")
    assert one(rows, b"$Carved/%d.jpg" % planted_at) == Row(
        "carved", sha256(PHOTO), False, True, planted_at, ()
    )
    assert one(rows, b"$Carved/%d.jpg" % deleted_at) == Row(
        "carved", sha256(PHOTO_3), False, True, deleted_at, ()
    )
    # The file system's recovery of the deleted photo stays, distinguishable by kind.
    assert one(rows, b"_eleted.jpg").kind == "file"
    assert one(rows, b"_eleted.jpg").sha256 == sha256(PHOTO_3)
    assert sorted(p for p in rows if p.startswith(b"$Carved/")) == sorted(
        [b"$Carved/%d.jpg" % planted_at, b"$Carved/%d.jpg" % deleted_at]
    )
    regions = [r for p, found in rows.items() if p.startswith(b"$Unallocated/") for r in found]
    assert regions and all(r.kind == "carved" and r.unallocated and r.sha256 for r in regions)
    assert run_ingest(ctx, image, carve=True).counts == {}  # resumable: nothing twice


def test_carving_caps(tmp_path: Path) -> None:
    image = make_fat(tmp_path / "fat.dd", {"notes.txt": NOTES})
    with open(image, "r+b") as out:
        for n, photo in enumerate((PHOTO, PHOTO_2, PHOTO_3)):
            out.seek((8 + n) * MiB)
            out.write(photo)
    source = DiskImageSource(image)
    capped = [e for e in entries(source, AnalysisSettings(carve=True, max_carved_count=2))
              if e.kind is EntryKind.CARVED]  # fmt: skip
    assert [e.path for e in capped if e.depth == 1] == [b"$Carved/%d.jpg" % (8 * MiB),
                                                         b"$Carved/%d.jpg" % (9 * MiB)]  # fmt: skip
    (region,) = [e for e in capped if e.depth == 0]
    assert region.errors[0].stage == "limit"
    small = min(len(PHOTO), len(PHOTO_2), len(PHOTO_3)) - 1
    tiny = [e for e in entries(source, AnalysisSettings(carve=True, max_carved_bytes=small))
            if e.depth == 1]  # fmt: skip
    assert tiny == []
