"""Opening file systems: a FAT32 volume that TSK's detection refuses opens as its boot sector
names it, and one that does not open even so is an error, never a plain file."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytsk3
from tests.evidence.diskimage.builders import (
    NOTES,
    PHOTO,
    MiB,
    add_fat32_root_file,
    make_disk,
    patch,
    run,
    sha256,
)
from tests.evidence.diskimage.readback import hashed, one, run_ingest, stored

from cairn.evidence.diskimage.source import DiskImageSource
from cairn.evidence.registry import detect
from cairn.services.context import Context


def small_fat32(path: Path) -> Path:
    """FAT32 on 16 MiB with 512-byte clusters: 32232 clusters, below the minimum of 65525."""
    run("mkfs.fat", "-C", "-F", "32", "-s", "1", "-n", "CAIRN", path, "16384")
    add_fat32_root_file(path, b"PHOTO   JPG", PHOTO)
    add_fat32_root_file(path, b"NOTES   TXT", NOTES)
    return path


def test_a_fat32_volume_with_too_few_clusters_opens_as_fat32(ctx: Context, tmp_path: Path) -> None:
    image = small_fat32(tmp_path / "small.dd")
    with pytest.raises(OSError, match="Cannot determine file system type"):
        pytsk3.FS_Info(pytsk3.Img_Info(str(image)))  # TSK's detection alone
    assert detect(image) is DiskImageSource
    assert DiskImageSource(image).describe()["volumes"] == (
        f".: offset 0, {16 * MiB} bytes, whole image, fat32"
    )
    disk = tmp_path / "disk.dd"
    make_disk(disk, "dos", [("b", image.read_bytes())])
    for source, prefix in ((image, b""), (disk, b"p1/")):
        summary = run_ingest(ctx, source)
        assert summary.exit_code == 0, summary.errors
        assert hashed(stored(ctx, source.name)) == {
            prefix + b"PHOTO.JPG": (sha256(PHOTO), False),
            prefix + b"NOTES.TXT": (sha256(NOTES), False),
        }


def test_a_fat_boot_sector_that_does_not_open_is_an_error_not_a_plain_file(
    ctx: Context, tmp_path: Path
) -> None:
    image = small_fat32(tmp_path / "broken.dd")
    patch(image, 19, bytes(2))  # no sector count, 16- or 32-bit: TSK refuses it as FAT32 too
    patch(image, 32, bytes(4))
    photo_at = image.read_bytes().index(PHOTO)
    assert detect(image) is DiskImageSource
    summary = run_ingest(ctx, image)
    assert summary.exit_code == 1
    rows = stored(ctx, "broken.dd")
    assert list(rows) == [b"."]  # not the image hashed as one file
    ((stage, message),) = one(rows, b".").errors
    assert stage == "filesystem"
    assert message.startswith(
        "no file system TSK can open in whole image at byte 0: the boot sector names FAT32, "
        "but TSK opens it neither by detection ("
    )
    assert "invalid first FAT sector" in message
    assert run_ingest(ctx, image, carve=True).exit_code == 1
    assert one(stored(ctx, "broken.dd"), b"$Carved/%d.jpg" % photo_at).sha256 == sha256(PHOTO)
