"""A disk with two partitions (FAT and ext4) for the disk-image tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.evidence.diskimage.builders import (
    EXT_FILES,
    FAT_FILES,
    make_disk,
    make_ext,
    make_fat,
)


@pytest.fixture
def two_partition_disk(tmp_path: Path) -> Path:
    fat = make_fat(tmp_path / "p1.vol", FAT_FILES, ["gone.txt"])
    ext = make_ext(tmp_path / "p2.vol", "ext4", EXT_FILES, ["photos/deleted.jpg"])
    disk = tmp_path / "disk.dd"
    make_disk(disk, "dos", [("6", fat.read_bytes()), ("83", ext.read_bytes())])
    return disk
