"""Opening the file system at an offset of a disk image: TSK's detection, then the FAT type a
boot sector names.

TSK tells FAT12, 16 and 32 apart by counting clusters, as the FAT specification says; a
FAT32 volume with fewer clusters than the specification's minimum (65525), which
`mkfs.fat -F 32` makes on small media and Windows mounts, fails that detection but opens
when TSK is told the type its boot sector names.
"""

from __future__ import annotations

import pytsk3

from cairn.evidence.diskimage.fat import FatBoot
from cairn.evidence.diskimage.image import Image

_TSK_FAT_TYPES = {
    "fat12": pytsk3.TSK_FS_TYPE_FAT12,
    "fat16": pytsk3.TSK_FS_TYPE_FAT16,
    "fat32": pytsk3.TSK_FS_TYPE_FAT32,
}


def named_fat_type(image: Image, offset: int) -> str | None:
    """fat12, fat16 or fat32 when a FAT boot sector at `offset` names its type, else None."""
    try:
        return FatBoot.parse(image.pread(offset, 512)).named
    except (OSError, ValueError):
        return None


def open_file_system(image: Image, offset: int) -> pytsk3.FS_Info:
    """The file system at `offset`; OSError when TSK cannot open it, also as the named type."""
    try:
        return pytsk3.FS_Info(image, offset=offset)
    except OSError as detected:
        named = named_fat_type(image, offset)
        if named is None:
            raise
        try:
            return pytsk3.FS_Info(image, offset=offset, type=_TSK_FAT_TYPES[named])
        except OSError as exc:
            raise OSError(
                f"the boot sector names {named.upper()}, but TSK opens it neither by "
                f"detection ({detected}) nor as {named.upper()} ({exc})"
            ) from exc


def claims_file_system(image: Image, offset: int) -> bool:
    """Whether a file system lies at `offset`: one TSK opens, or a FAT boot sector that names
    its type (a volume to report as unreadable, never to pass over as a plain file)."""
    try:
        open_file_system(image, offset)
    except OSError:
        return named_fat_type(image, offset) is not None
    return True
