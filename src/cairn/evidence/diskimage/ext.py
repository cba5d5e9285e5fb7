"""Where ext2/3/4 metadata lies that no inode lists: kept out of the free space to carve."""

from __future__ import annotations

from collections.abc import Callable, Iterator


def ext_metadata(
    superblock: bytes, block_size: int, read_blocks: Callable[[int, int], bytes]
) -> Iterator[tuple[int, int]]:
    """(first block, count) of every ext2/3/4 group's superblock copy, descriptors, bitmaps
    and inode table: allocated, though no inode lists them.

    Layout from the kernel's ext4 documentation: descriptors follow the superblock's block;
    with sparse_super only groups 0, 1 and powers of 3, 5 and 7 keep a copy of both.
    """

    def u16(data: bytes, at: int) -> int:
        return int.from_bytes(data[at : at + 2], "little")

    def u32(data: bytes, at: int) -> int:
        return int.from_bytes(data[at : at + 4], "little")

    if u16(superblock, 0x38) != 0xEF53:
        raise ValueError("no ext superblock")
    incompat, ro_compat = u32(superblock, 0x60), u32(superblock, 0x64)
    wide = bool(incompat & 0x80)  # 64bit: descriptors carry high halves
    blocks = u32(superblock, 0x04) | (u32(superblock, 0x150) << 32 if wide else 0)
    first_data, per_group = u32(superblock, 0x14), u32(superblock, 0x20)
    inode_blocks = -(-u32(superblock, 0x28) * (u16(superblock, 0x58) or 128) // block_size)
    desc_size = u16(superblock, 0xFE) if wide else 32
    groups = -(-(blocks - first_data) // per_group)
    gdt_blocks = -(-groups * desc_size // block_size)
    copies = gdt_blocks + u16(superblock, 0xCE)  # descriptors and reserved descriptor blocks
    table = read_blocks(first_data + 1, gdt_blocks)
    if first_data:  # 1 KiB blocks: block 0 is the boot block, outside every group
        yield 0, first_data
    sparse = bool(ro_compat & 0x1)
    meta_bg = bool(incompat & 0x10)  # descriptors spread over the disk: only the primary known
    for group in range(groups):
        if group == 0 or not sparse or group == 1 or _is_power(group, (3, 5, 7)):
            start = first_data + group * per_group
            yield start, 1 if meta_bg and group else 1 + copies
        desc = table[group * desc_size : (group + 1) * desc_size]
        # block bitmap, inode bitmap, inode table; 64-byte descriptors add high halves at +0x20
        for low, count in ((0x0, 1), (0x4, 1), (0x8, inode_blocks)):
            high = u32(desc, low + 0x20) << 32 if desc_size >= 64 else 0
            yield u32(desc, low) | high, count


def _is_power(n: int, bases: tuple[int, ...]) -> bool:
    for base in bases:
        power = base
        while power < n:
            power *= base
        if power == n:
            return True
    return False
