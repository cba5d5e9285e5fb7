"""File-system walks: FAT12/16/32, ext2/3/4, NTFS and exFAT, with deleted files and times."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.evidence.diskimage.builders import (
    BLOB,
    EXT_FILES,
    FAT_FILES,
    FOUR,
    NOTES,
    PHOTO,
    PHOTO_2,
    PHOTO_3,
    THREE,
    TWO,
    WHEN,
    MiB,
    fat_entry,
    make_ext,
    make_fat,
    make_fragmented_fat,
    make_ntfs,
    patch,
    run,
    sha256,
    stored_zip,
)
from tests.evidence.diskimage.readback import Row, entries, hashed, one, run_ingest, stored

from cairn.core.settings import AnalysisSettings
from cairn.evidence.diskimage.layout import read_layout
from cairn.evidence.diskimage.source import DiskImageSource
from cairn.evidence.diskimage.walk import FileSystemWalk
from cairn.evidence.registry import detect
from cairn.services.context import Context
from cairn.store.models import Occurrence


@pytest.mark.parametrize("bits", [12, 16, 32])
def test_fat_allocated_and_deleted_files(ctx: Context, tmp_path: Path, bits: int) -> None:
    size = {12: 4096, 16: 16384, 32: 40960}[bits]
    image = make_fat(
        tmp_path / "fat.dd", FAT_FILES, ["gone.txt", "Long Deleted Photo.jpg"],
        bits=bits, size_kib=size,
    )  # fmt: skip
    assert detect(image) is DiskImageSource
    summary = run_ingest(ctx, image)
    assert summary.exit_code == 0, summary.errors
    rows = stored(ctx, "fat.dd")
    # A deleted 8.3 entry loses its first letter ("_one.txt" as TSK names it); a long name
    # survives in its long-name entries.
    assert hashed(rows) == {
        b"notes.txt": (sha256(NOTES), False),
        b"DCIM/photo one.jpg": (sha256(PHOTO), False),
        b"DCIM/B.JPG": (sha256(PHOTO_2), False),
        b"blob.bin": (sha256(BLOB), False),
        b"_one.txt": (sha256(FAT_FILES["gone.txt"]), True),
        b"Long Deleted Photo.jpg": (sha256(PHOTO_3), True),
    }
    assert one(rows, b"_one.txt").unallocated is True
    assert one(rows, b"notes.txt").unallocated is False
    assert not any(b"Volume Label" in path or path.startswith(b"$") for path in rows)
    assert summary.counts == {"enumerated": 6, "hashed": 6, "bytes": sum(
        len(d) for d in FAT_FILES.values()
    )}  # fmt: skip


def test_fat_times_are_the_wall_clock_whatever_the_host_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mcopy in Paris writes 08:07:08 (CEST) for WHEN; read on a host in New York.
    image = make_fat(tmp_path / "fat.dd", {"a.txt": b"a"}, tz="Europe/Paris")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        records = [
            e for e in entries(DiskImageSource(image), AnalysisSettings()) if e.path == b"a.txt"
        ]
    finally:
        monkeypatch.undo()
        time.tzset()
    (record,) = records
    assert record.times.mtime == datetime(2023, 4, 5, 8, 7, 8, tzinfo=UTC)


def test_fat_deleted_folder_and_orphans(ctx: Context, tmp_path: Path) -> None:
    image = make_fat(tmp_path / "fat.dd", {"SUB/INNER.TXT": NOTES, "SUB/x.jpg": PHOTO})
    run("mdeltree", "-i", image, "::/SUB")
    survivors = image.read_bytes()
    # Wipe the folder's own entry in the root: its files become orphans that TSK finds by
    # their entries in the folder's cluster.
    orphaned = tmp_path / "orphans.dd"
    at = survivors.index(b"\xe5UB        \x10")
    orphaned.write_bytes(survivors[:at] + bytes(32) + survivors[at + 32 :])
    rows = {e.path: e for e in entries(DiskImageSource(image), AnalysisSettings())}
    assert {p: (e.deleted, e.unallocated, e.content and e.content.digests.sha256)
            for p, e in rows.items()} == {
        b"_UB/_NNER.TXT": (True, True, sha256(NOTES)),
        b"_UB/_.jpg": (True, True, sha256(PHOTO)),
    }  # fmt: skip
    rows = {e.path: e for e in entries(DiskImageSource(orphaned), AnalysisSettings())}
    assert {p: (e.deleted, e.content and e.content.digests.sha256) for p, e in rows.items()} == {
        b"$OrphanFiles/_NNER.TXT": (True, sha256(NOTES)),
        b"$OrphanFiles/_.jpg": (True, sha256(PHOTO)),
    }


def dumpe2fs_free(image: Path) -> list[tuple[int, int]]:
    """Free block ranges as the ext bitmaps say (dumpe2fs), merged, end exclusive."""
    ranges: list[tuple[int, int]] = []
    for line in run("dumpe2fs", image).splitlines():
        if line.startswith("  Free blocks: "):
            for part in line.split(":", 1)[1].split(","):
                if part.strip():
                    low, _, high = part.strip().partition("-")
                    ranges.append((int(low), int(high or low) + 1))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


@pytest.mark.parametrize("fstype", ["ext2", "ext3", "ext4"])
def test_ext_files_deleted_files_and_free_space(ctx: Context, tmp_path: Path, fstype: str) -> None:
    image = make_ext(
        tmp_path / f"{fstype}.img", fstype, EXT_FILES, ["photos/deleted.jpg", "old/blob.bin"]
    )
    summary = run_ingest(ctx, image, workers=2)
    assert summary.exit_code == 0, summary.errors
    rows = stored(ctx, image.name)
    assert hashed(rows) == {
        b"notes.txt": (sha256(NOTES), False),
        b"photos/one.jpg": (sha256(PHOTO), False),
        b"photos/two.jpg": (sha256(PHOTO_2), False),
        b"photos/deleted.jpg": (sha256(PHOTO_3), True),
        b"old/blob.bin": (sha256(BLOB), True),
    }
    assert (one(rows, b"link").kind, one(rows, b"fifo").kind) == ("symlink", "fifo")
    assert summary.counts["enumerated"] == 7
    assert summary.counts["non_regular"] == 2
    with ctx.db.session() as session:
        times = session.scalars(select(Occurrence.mtime).where(Occurrence.path == b"notes.txt"))
        assert [t and t.replace(tzinfo=UTC) for t in times] == [WHEN]
    # Free space for carving is exactly what the block bitmaps call free.
    source = DiskImageSource(image)
    walk = FileSystemWalk(source._image(), source._file_system(0),
                          read_layout(source._image()).volumes[0])  # fmt: skip
    list(walk.entries())
    assert [(a // 1024, b // 1024) for a, b in walk.free_extents(8 * MiB)] == dumpe2fs_free(image)


def test_ntfs_files_and_alternate_data_streams(ctx: Context, tmp_path: Path) -> None:
    image = make_ntfs(
        tmp_path / "ntfs.img",
        {"notes.txt": NOTES, "photo.jpg": PHOTO},
        {"notes.txt:hidden.jpg": PHOTO_2, "photo.jpg:Zone.Identifier": b"[ZoneTransfer]\n"},
    )
    summary = run_ingest(ctx, image)
    assert summary.exit_code == 0, summary.errors
    rows = stored(ctx, "ntfs.img")
    assert hashed(rows) == {
        b"notes.txt": (sha256(NOTES), False),
        b"notes.txt:hidden.jpg": (sha256(PHOTO_2), False),
        b"photo.jpg": (sha256(PHOTO), False),
        b"photo.jpg:Zone.Identifier": (sha256(b"[ZoneTransfer]\n"), False),
    }
    assert {b"$MFT", b"$MFTMirr", b"$LogFile", b"$Secure:$SDS"} <= rows.keys()
    assert b"$BadClus:$Bad" not in rows  # sparse, as large as the volume
    # What TSK lists as orphans here: MFT records 16-23, reserved and unused by mkntfs.
    orphans = {p: r for p, r in rows.items() if p.startswith(b"$OrphanFiles/")}
    assert sorted(orphans) == [b"$OrphanFiles/OrphanFile-%d" % n for n in range(16, 24)]
    empty = sha256(b"")
    assert all(r == [Row("file", empty, True, True, None, ())] for r in orphans.values())


def test_exfat_volume_opens_and_is_carved(tmp_path: Path) -> None:
    # exfatprogs formats but cannot write files without a mount: an empty volume, carved.
    image = tmp_path / "exfat.img"
    with open(image, "wb") as out:
        out.truncate(16 * MiB)
    run("mkfs.exfat", image)
    with open(image, "r+b") as out:
        out.seek(10 * MiB)
        out.write(PHOTO)
    source = DiskImageSource(image)
    assert source.describe()["volumes"] == f".: offset 0, {16 * MiB} bytes, whole image, exfat"
    found = {e.path: e for e in entries(source, AnalysisSettings(carve=True))}
    assert {b"$ALLOC_BITMAP", b"$UPCASE_TABLE"} <= found.keys()
    carved = found[b"$Carved/%d.jpg" % (10 * MiB)]
    assert carved.content is not None and carved.content.digests.sha256 == sha256(PHOTO)
    assert not [e for e in found.values() if e.errors]


@pytest.mark.parametrize("bits", [12, 16, 32])
def test_fat_volume_label_entries_that_own_clusters_are_read_as_files(
    ctx: Context, tmp_path: Path, bits: int
) -> None:
    size = {12: 4096, 16: 16384, 32: 40960}[bits]
    image = make_fat(
        tmp_path / "fat.dd",
        {"HIDDEN.JPG": PHOTO, "EMPTIED.JPG": PHOTO_2, "x (Volume Label Entry)": NOTES},
        bits=bits, size_kib=size,
    )  # fmt: skip
    patch(image, fat_entry(image, b"HIDDEN  JPG") + 11, b"\x08")  # marked as the volume label
    emptied = fat_entry(image, b"EMPTIED JPG")
    patch(image, emptied + 11, b"\x08")
    patch(image, emptied + 28, bytes(4))  # size 0: only its first cluster says it owns data
    emptied_at = image.read_bytes().index(PHOTO_2)
    summary = run_ingest(ctx, image, carve=True)
    assert summary.exit_code == 0, summary.errors
    rows = stored(ctx, "fat.dd")
    label = "volume-label-with-data"
    assert one(rows, b"HIDDEN.JPG") == Row("file", sha256(PHOTO), False, False, None, (), label)
    assert one(rows, b"EMPTIED.JPG") == Row("file", sha256(b""), False, False, None, (), label)
    # A long name that merely ends like TSK's label names is an ordinary file.
    assert one(rows, b"x (Volume Label Entry)").sha256 == sha256(NOTES)
    assert one(rows, b"x (Volume Label Entry)").flags == ""
    assert b"CAIRN       (Volume Label Entry)" not in rows  # the volume's name owns nothing
    # No file claims the emptied label's clusters: carving reads them.
    assert one(rows, b"$Carved/%d.jpg" % emptied_at).sha256 == sha256(PHOTO_2)


def test_deleted_fat_files_longer_than_a_cluster_are_flagged_assumed_contiguous(
    ctx: Context, tmp_path: Path
) -> None:
    image = make_fragmented_fat(tmp_path / "fat.dd")
    summary = run_ingest(ctx, image)
    assert summary.exit_code == 0, summary.errors
    rows = stored(ctx, "fat.dd")
    guess = "assumed-contiguous"
    assert {path: (row.sha256, row.deleted, row.flags) for path, row in _single(rows).items()
            if not path.startswith(b"$")} == {
        # Fragmented: the guess reads its first cluster, then TWO.BIN's freed clusters.
        b"_HREE.BIN": (sha256(THREE[:2048] + TWO[: 6000 - 2048]), True, guess),
        b"_WO.BIN": (sha256(TWO), True, guess),  # contiguous, so right: but only a guess
        b"_MALL.TXT": (sha256(NOTES), True, ""),  # one cluster: nothing to guess
        b"FOUR.BIN": (sha256(FOUR), False, ""),
        b"_RCHIVE.ZIP": (sha256(stored_zip({"blob.bin": BLOB})), True, guess),
        b"_RCHIVE.ZIP!blob.bin": (sha256(BLOB), False, guess),  # read out of a guess
    }  # fmt: skip


def _single(rows: dict[bytes, list[Row]]) -> dict[bytes, Row]:
    return {path: one(rows, path) for path in rows}
