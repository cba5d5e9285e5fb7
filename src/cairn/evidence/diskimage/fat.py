"""What a FAT boot sector and directory entry say where TSK does not tell.

Offsets from Microsoft's FAT specification (fatgen103): the BIOS parameter block from byte 11,
the FAT32 extension from byte 36, the type label at byte 54 (FAT12/16) or 82 (FAT32); a
directory entry is 32 bytes, its attributes at byte 11, its first cluster at 20 (high half,
FAT32 only) and 26.
"""

from __future__ import annotations

from dataclasses import dataclass

ATTR_VOLUME_LABEL = 0x08
ATTR_LONG_NAME = 0x0F  # a long-name piece: all four low attribute bits, the label bit among them
ENTRY_SIZE = 32
# TSK numbers directory entries from 3 (tsk_fatfs.h FATFS_FIRST_NORMINO), counting from the
# first sector after the FATs: the FAT12/16 root folder, the FAT32 data area.
_FIRST_ENTRY_INODE = 3
_TYPE_LABELS = {(54, b"FAT12   "): "fat12", (54, b"FAT16   "): "fat16", (82, b"FAT32   "): "fat32"}


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "little")


@dataclass(frozen=True)
class FatBoot:
    """A FAT volume's geometry, from its boot sector."""

    sector_size: int
    sectors_per_cluster: int
    reserved: int  # sectors before the first FAT
    fats: int
    root_entries: int  # FAT12/16 root folder entries; 0 on FAT32
    fat_size: int  # sectors per FAT
    named: str | None  # fat12, fat16 or fat32 as the type label says; None without one

    @classmethod
    def parse(cls, boot: bytes) -> FatBoot:
        """Raises ValueError unless `boot` is a plausible FAT boot sector."""
        if len(boot) < 512 or boot[510:512] != b"\x55\xaa":
            raise ValueError("not a FAT boot sector")
        sector, per_cluster = _u16(boot, 11), boot[13]
        fat16_size = _u16(boot, 22)
        fat_size = fat16_size or int.from_bytes(boot[36:40], "little")
        if (
            sector not in (512, 1024, 2048, 4096)
            or per_cluster not in (1, 2, 4, 8, 16, 32, 64, 128)
            or not _u16(boot, 14)
            or not boot[16]
            or not fat_size
        ):
            raise ValueError("not a FAT boot sector")
        named = next(
            (name for (at, label), name in _TYPE_LABELS.items() if boot[at : at + 8] == label),
            None,
        )
        if named == "fat32" and fat16_size:  # a FAT32 label on a FAT12/16 layout
            named = None
        return cls(sector, per_cluster, _u16(boot, 14), boot[16], _u16(boot, 17), fat_size, named)

    @property
    def cluster_size(self) -> int:
        return self.sector_size * self.sectors_per_cluster

    @property
    def data_start(self) -> int:
        """Sectors before the data area: reserved sectors, the FATs, the FAT12/16 root."""
        return self.reserved + self.fats * self.fat_size + self.root_sectors

    @property
    def root_sectors(self) -> int:
        return -(-self.root_entries * ENTRY_SIZE // self.sector_size)

    def entry_offset(self, inode: int) -> int:
        """Byte offset in the volume of the directory entry TSK numbers `inode`."""
        per_sector = self.sector_size // ENTRY_SIZE
        index = inode - _FIRST_ENTRY_INODE
        sector = self.reserved + self.fats * self.fat_size + index // per_sector
        return sector * self.sector_size + index % per_sector * ENTRY_SIZE


def entry_start_cluster(entry: bytes, fat32: bool) -> int:
    """The first cluster a directory entry names (0: it owns none)."""
    return _u16(entry, 26) | (_u16(entry, 20) << 16 if fat32 else 0)
