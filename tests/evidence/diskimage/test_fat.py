"""FAT boot sectors as mkfs.fat writes them, and what is not one."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.evidence.diskimage.builders import fat_entry, make_fat, run

from cairn.evidence.diskimage.fat import FatBoot, entry_start_cluster


def minfo(image: Path) -> dict[str, str]:
    """mtools' reading of a boot sector: `name: value` lines."""
    lines = run("minfo", "-i", image, "::").replace("=", ": ").splitlines()
    return dict(line.strip().split(": ", 1) for line in lines if ": " in line)


@pytest.mark.parametrize(("bits", "size_kib"), [(12, 4096), (16, 16384), (32, 40960)])
def test_boot_sector_geometry_and_named_type(tmp_path: Path, bits: int, size_kib: int) -> None:
    image = make_fat(tmp_path / "fat.dd", {"A.TXT": b"a" * 5000}, bits=bits, size_kib=size_kib)
    data = image.read_bytes()
    boot = FatBoot.parse(data[:512])
    info = minfo(image)
    fat_size = info["sectors per fat"] if bits < 32 else info["Big fatlen"]
    assert boot == FatBoot(
        sector_size=512,
        sectors_per_cluster=int(info["cluster size"].split()[0]),
        reserved=int(info["reserved (boot) sectors"]),
        fats=2,
        root_entries=int(info["max available root directory slots"]),
        fat_size=int(fat_size.split()[0]),
        named=f"fat{bits}",
    )
    assert boot.cluster_size == 512 * boot.sectors_per_cluster
    # TSK numbers the first entry after the FATs 3: the volume label mkfs.fat writes there.
    assert data[boot.entry_offset(3) : boot.entry_offset(3) + 11] == b"CAIRN      "
    entry = fat_entry(image, b"A       TXT")
    assert boot.entry_offset(4) == entry
    first = entry_start_cluster(data[entry : entry + 32], fat32=bits == 32)
    data_at = boot.data_start * 512 + (first - 2) * boot.cluster_size
    assert data[data_at : data_at + 5000] == b"a" * 5000


def test_what_is_not_a_fat_boot_sector(tmp_path: Path) -> None:
    image = make_fat(tmp_path / "fat.dd", {})
    boot = bytearray(image.read_bytes()[:512])
    for at, value in ((510, b"\0\0"), (11, b"\x00\x03"), (13, b"\x03"), (14, b"\0\0"), (16, b"\0")):
        damaged = bytearray(boot)
        damaged[at : at + len(value)] = value
        with pytest.raises(ValueError, match="not a FAT boot sector"):
            FatBoot.parse(bytes(damaged))
    with pytest.raises(ValueError, match="not a FAT boot sector"):
        FatBoot.parse(bytes(boot[:511]))
    unnamed = bytearray(boot)
    unnamed[54:62] = b"FAT     "  # the label is only a label: the geometry still parses
    assert FatBoot.parse(bytes(unnamed)).named is None
    ntfs = tmp_path / "ntfs.img"
    with open(ntfs, "wb") as out:
        out.truncate(8 << 20)
    run("mkntfs", "-q", "-F", "-f", ntfs)
    with pytest.raises(ValueError, match="not a FAT boot sector"):
        FatBoot.parse(ntfs.read_bytes()[:512])
