"""Where the file systems of a disk image lie: its partitions, or one file system at offset 0."""

from __future__ import annotations

from dataclasses import dataclass

import pytsk3

from cairn.evidence.diskimage.file_system import claims_file_system
from cairn.evidence.diskimage.image import Image

_VOLUME_SYSTEMS = {1: "dos", 2: "bsd", 4: "sun", 8: "mac", 16: "gpt"}
_PART_ALLOC = int(pytsk3.TSK_VS_PART_FLAG_ALLOC)
_PART_UNALLOC = int(pytsk3.TSK_VS_PART_FLAG_UNALLOC)


@dataclass(frozen=True)
class Volume:
    label: str  # "" for a bare file system, else p1, p2, … in partition-table order
    offset: int  # bytes from the start of the image
    length: int
    description: str

    @property
    def path(self) -> bytes:
        return self.label.encode() or b"."


@dataclass(frozen=True)
class Layout:
    volume_system: str | None  # dos, gpt, …; None for a bare file system or nothing found
    volumes: tuple[Volume, ...]
    gaps: tuple[tuple[int, int], ...]  # image byte ranges outside every partition


def read_layout(image: Image) -> Layout:
    """Partitions when TSK finds a partition table; else a file system at offset 0; else none."""
    try:
        vs = pytsk3.Volume_Info(image)
    except OSError:
        if claims_file_system(image, 0):
            return Layout(None, (Volume("", 0, image.media_size, "whole image"),), ())
        return Layout(None, (), ())
    sector = vs.info.block_size
    volumes: list[Volume] = []
    gaps: list[tuple[int, int]] = []
    for part in vs:
        start, length = part.start * sector, part.len * sector
        if int(part.flags) & _PART_ALLOC:
            description = part.desc.decode("utf-8", "replace")
            volumes.append(Volume(f"p{len(volumes) + 1}", start, length, description))
        elif int(part.flags) & _PART_UNALLOC and start < image.media_size:
            gaps.append((start, min(start + length, image.media_size)))
    return Layout(
        _VOLUME_SYSTEMS.get(int(vs.info.vstype), str(vs.info.vstype)), tuple(volumes), tuple(gaps)
    )
