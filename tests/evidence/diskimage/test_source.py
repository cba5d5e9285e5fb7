"""The disk-image source end to end: reruns, truncation, unreadable parts, look-alikes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tests.evidence.diskimage.builders import (
    BLOB,
    FAT_FILES,
    NOTES,
    PHOTO,
    MiB,
    make_disk,
    make_e01,
    make_fat,
    sha256,
)
from tests.evidence.diskimage.readback import one, run_ingest, stored

from cairn.evidence.diskimage.source import DiskImageSource
from cairn.evidence.registry import detect
from cairn.services.context import Context


def test_rerun_adds_nothing(ctx: Context, tmp_path: Path, two_partition_disk: Path) -> None:
    first = run_ingest(ctx, two_partition_disk)
    again = run_ingest(ctx, two_partition_disk)
    assert again.skipped_units == first.counts["enumerated"]
    assert again.counts == {}


def test_truncated_image(ctx: Context, tmp_path: Path) -> None:
    image = make_fat(tmp_path / "fat.dd", {"small.txt": NOTES, "big.bin": BLOB * 10})
    cut = tmp_path / "cut.dd"
    data = image.read_bytes()
    cut.write_bytes(data[: data.index(BLOB) + 200_000])  # inside big.bin
    summary = run_ingest(ctx, cut)
    assert summary.exit_code == 1
    rows = stored(ctx, "cut.dd")
    assert one(rows, b"small.txt").sha256 == sha256(NOTES)
    big = one(rows, b"big.bin")
    assert big.sha256 is None and big.errors[0][0] == "read"
    assert "Offset missing in partial image" in big.errors[0][1]
    assert one(rows, b".").errors == (
        ("image", f"truncated: the file system runs to byte {16384 * 1024} but the image "
                  f"ends at {cut.stat().st_size}"),
    )  # fmt: skip


def test_unreadable_file_system_is_carved_when_asked(ctx: Context, tmp_path: Path) -> None:
    fat = make_fat(tmp_path / "p1.vol", {"notes.txt": NOTES})
    disk = tmp_path / "disk.dd"
    zeros = bytearray(2 * MiB)
    zeros[65536 : 65536 + len(PHOTO)] = PHOTO
    (_, p2) = make_disk(disk, "dos", [("6", fat.read_bytes()), ("83", bytes(zeros))])
    assert run_ingest(ctx, disk).exit_code == 1
    rows = stored(ctx, "disk.dd")
    assert one(rows, b"p2").errors[0][0] == "filesystem"
    assert not any(p.startswith(b"$Carved") for p in rows)
    assert run_ingest(ctx, disk, carve=True).exit_code == 1  # the unreadable p2 is still an error
    rows = stored(ctx, "disk.dd")
    carved = [p for p in rows if p.startswith(b"$Carved/")]
    assert carved == [b"$Carved/%d.jpg" % (p2 + 65536)]
    assert one(rows, carved[0]).sha256 == sha256(PHOTO)
    assert len(rows[b"p2"]) == 1 and len(rows[b"p1/notes.txt"]) == 1


def test_files_that_only_look_like_images(ctx: Context, tmp_path: Path) -> None:
    fake = tmp_path / "fake.E01"
    fake.write_bytes(b"EVF\x09\x0d\x0a\xff\x00" + bytes(range(256)) * 16)
    assert detect(fake) is DiskImageSource  # the signature is all a probe can check
    summary = run_ingest(ctx, fake)
    assert summary.exit_code == 1
    row = one(stored(ctx, "fake.E01"), b"fake.E01")
    assert row.sha256 == sha256(fake.read_bytes())  # the file is still hashed
    assert row.errors[0][0] == "image"
    assert row.errors[0][1].startswith("cannot open the image: ")

    photo = tmp_path / "photo.dd"
    photo.write_bytes(PHOTO)
    assert detect(photo).kind == "file"  # by content, not by name

    noise = tmp_path / "noise.dd"
    noise.write_bytes(os.urandom(MiB) + PHOTO + os.urandom(4096))
    forced = run_ingest(ctx, noise, kind="diskimage", carve=True)
    assert forced.exit_code == 1
    rows = stored(ctx, "noise.dd")
    assert one(rows, b".").errors == (
        ("image", "no partition table or file system that TSK recognises"),
    )
    assert one(rows, b"$Carved/%d.jpg" % MiB).sha256 == sha256(PHOTO)


def test_access_times_are_left_unchanged(ctx: Context, tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    raw = make_fat(tmp_path / "raw" / "fat.dd", FAT_FILES)
    e01 = make_e01(raw, tmp_path / "ewf" / "fat")
    watched = [raw.parent, raw, e01.parent, *e01.parent.iterdir()]
    old = time.time_ns() - 3 * 86400 * 10**9
    for path in watched:
        os.utime(path, ns=(old, path.stat().st_mtime_ns))
    control = tmp_path / "control"
    control.write_bytes(b"x")
    os.utime(control, ns=(old, control.stat().st_mtime_ns))
    control.read_bytes()
    if control.stat().st_atime_ns == old:
        pytest.skip("this file system does not update access times on read (noatime)")
    before = {path: path.stat().st_atime_ns for path in watched}
    for source, workers in ((raw, 0), (e01, 2)):
        assert run_ingest(ctx, source, workers=workers, carve=True).exit_code == 0
    assert {path: path.stat().st_atime_ns for path in watched} == before
