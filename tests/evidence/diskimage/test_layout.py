"""Partition tables (MBR, GPT), the same disk as raw, split raw and E01, bad tables."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import select
from tests.evidence.diskimage.builders import (
    BLOB,
    FAT_FILES,
    NOTES,
    PHOTO,
    PHOTO_2,
    PHOTO_3,
    MiB,
    make_disk,
    make_e01,
    make_ext,
    make_fat,
    run,
    sha256,
)
from tests.evidence.diskimage.readback import hashed, one, run_ingest, stored

from cairn.evidence.diskimage.raw import raw_segments
from cairn.services.context import Context
from cairn.store.models import Evidence

EXPECTED_DISK = {
    b"p1/notes.txt": (sha256(NOTES), False),
    b"p1/DCIM/photo one.jpg": (sha256(PHOTO), False),
    b"p1/DCIM/B.JPG": (sha256(PHOTO_2), False),
    b"p1/blob.bin": (sha256(BLOB), False),
    b"p1/_one.txt": (sha256(FAT_FILES["gone.txt"]), True),
    b"p1/Long Deleted Photo.jpg": (sha256(PHOTO_3), False),
    b"p2/notes.txt": (sha256(NOTES), False),
    b"p2/photos/one.jpg": (sha256(PHOTO), False),
    b"p2/photos/two.jpg": (sha256(PHOTO_2), False),
    b"p2/photos/deleted.jpg": (sha256(PHOTO_3), True),
    b"p2/old/blob.bin": (sha256(BLOB), False),
}


def test_mbr_disk_raw_e01_and_split_raw_agree(
    ctx: Context, tmp_path: Path, two_partition_disk: Path
) -> None:
    e01 = make_e01(two_partition_disk, tmp_path / "ewf" / "disk")
    assert len(list(e01.parent.iterdir())) > 3  # several segments: E01, E02, …
    split = tmp_path / "split"
    split.mkdir()
    run("split", "-b", "3M", "-d", "-a", "3", "--numeric-suffixes=1", two_partition_disk,
        split / "disk.")  # fmt: skip
    assert [p.name for p in raw_segments(split / "disk.001")][:2] == ["disk.001", "disk.002"]
    for source, workers in ((two_partition_disk, 0), (e01, 2), (split / "disk.001", 0)):
        summary = run_ingest(ctx, source, workers=workers)
        assert summary.exit_code == 0, (source, summary.errors)
        assert hashed(stored(ctx, source.name)) == EXPECTED_DISK, source
    with ctx.db.session() as session:
        info = session.scalar(select(Evidence.source_info).where(Evidence.label == "disk.E01"))
    assert info is not None
    disk_bytes = two_partition_disk.read_bytes()
    assert {k: v for k, v in info.items() if k.startswith("ewf.")} == {
        "ewf.case_number": "CASE-42",
        "ewf.evidence_number": "EV-7",
        "ewf.description": "seized laptop",
        "ewf.examiner_name": "Examiner Example",
        "ewf.notes": "synthetic",
        "ewf.acquiry_date": info["ewf.acquiry_date"],
        "ewf.system_date": info["ewf.system_date"],
        "ewf.acquiry_operating_system": "Linux",
        "ewf.acquiry_software_version": info["ewf.acquiry_software_version"],
        "ewf.md5": hashlib.md5(disk_bytes).hexdigest(),
        "ewf.sha1": hashlib.sha1(disk_bytes).hexdigest(),
    }
    assert info["volume_system"] == "dos"
    assert info["volumes"] == (
        "p1: offset 1048576, 16777216 bytes, DOS FAT16 (0x06), fat16\n"
        "p2: offset 17825792, 8388608 bytes, Linux (0x83), ext4"
    )


def test_gpt_disk(ctx: Context, tmp_path: Path) -> None:
    ext = make_ext(tmp_path / "p.vol", "ext4", {"notes.txt": NOTES})
    disk = tmp_path / "gpt.dd"
    make_disk(disk, "gpt", [("L", ext.read_bytes())])
    summary = run_ingest(ctx, disk)
    assert summary.exit_code == 0, summary.errors
    assert hashed(stored(ctx, "gpt.dd")) == {b"p1/notes.txt": (sha256(NOTES), False)}


def test_corrupt_partition_table(ctx: Context, tmp_path: Path) -> None:
    fat = make_fat(tmp_path / "p1.vol", {"notes.txt": NOTES})
    disk = tmp_path / "disk.dd"
    make_disk(disk, "dos", [("6", fat.read_bytes()), ("83", os.urandom(MiB))])
    with open(disk, "r+b") as out:  # a third entry pointing far past the end of the disk
        out.seek(0x1BE + 32)
        out.write(
            bytes([0, 0, 0, 0, 0x83, 0, 0, 0]) + (10**6).to_bytes(4, "little") + bytes([0, 4, 0, 0])
        )
    summary = run_ingest(ctx, disk)
    assert summary.exit_code == 1
    rows = stored(ctx, "disk.dd")
    assert hashed(rows) == {b"p1/notes.txt": (sha256(NOTES), False)}
    ((stage, message),) = one(rows, b"p2").errors
    assert stage == "filesystem"
    assert message.startswith("no file system TSK can open in Linux (0x83) at byte 17825792: ")
    assert one(rows, b"p3").errors == (
        ("image", f"Linux (0x83) starts at byte {512 * 10**6}, past the end of the image "
                  f"({disk.stat().st_size} bytes): truncated image or bad table"),
    )  # fmt: skip
