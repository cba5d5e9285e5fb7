"""Disk images built by the tests with userspace tools: FAT, ext2/3/4, NTFS, MBR, GPT, E01.

Every image holds benign generated photos and text; some files are deleted after writing.
The tools (dosfstools, mtools, e2fsprogs, ntfs-3g, ewf-tools, fdisk) are installed by setup.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cairn.media.synthetic import jpeg_bytes, synthetic_image

MiB = 1 << 20
CASE = "CASE-DISK"
WHEN = datetime(2023, 4, 5, 6, 7, 8, tzinfo=UTC)
PHOTO = jpeg_bytes(synthetic_image(1, 96, 72))
PHOTO_2 = jpeg_bytes(synthetic_image(2, 96, 72))
PHOTO_3 = jpeg_bytes(synthetic_image(3, 120, 90))
NOTES = b"meeting notes\n" * 50
BLOB = bytes(range(256)) * 400  # 100 KiB, several clusters


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(*args: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        check=True,
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1", **(env or {})},
    )
    return done.stdout.decode()


# ---- image builders ---------------------------------------------------------------------------


def make_fat(
    path: Path,
    files: Mapping[str, bytes],
    deleted: Sequence[str] = (),
    *,
    bits: int = 16,
    size_kib: int = 16384,
    tz: str = "UTC",
) -> Path:
    """A FAT volume written with mtools in `files` order (so clusters fill in that order)."""
    cluster = ["-s", "1"] if bits == 32 else []
    run("mkfs.vfat", "-C", "-F", str(bits), *cluster, "-n", "CAIRN", path, str(size_kib))
    staging = path.with_suffix(".staging")
    staging.mkdir()
    made: set[str] = set()
    for name, data in files.items():
        parts = name.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in made:
                run("mmd", "-i", path, f"::/{folder}")
                made.add(folder)
        source = staging / parts[-1]
        source.write_bytes(data)
        os.utime(source, (WHEN.timestamp(), WHEN.timestamp()))
        run("mcopy", "-m", "-i", path, source, f"::/{name}", env={"TZ": tz})
    for name in deleted:
        run("mdel", "-i", path, f"::/{name}")
    return path


# Deleted files of make_fragmented_fat: 2 KiB clusters, so all but SMALL.TXT span several.
ONE, TWO, THREE, FOUR = (
    bytes([n]) * size for n, size in ((1, 2048), (2, 4096), (3, 6000), (4, 4096))
)


def stored_zip(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2023, 4, 5, 6, 7, 8)), data)
    return buffer.getvalue()


def make_fragmented_fat(path: Path) -> Path:
    """A FAT16 volume whose deleted files TSK must read on the guess that they were contiguous.

    THREE.BIN is written into ONE.BIN's freed cluster and continues after the other files; then
    it, TWO.BIN, SMALL.TXT (one cluster) and ARCHIVE.ZIP are deleted. Read contiguously from
    its first cluster, THREE.BIN runs on into TWO.BIN's freed clusters.
    """
    files = {
        "ONE.BIN": ONE,
        "TWO.BIN": TWO,
        "FOUR.BIN": FOUR,
        "SMALL.TXT": NOTES,
        "ARCHIVE.ZIP": stored_zip({"blob.bin": BLOB}),
    }
    make_fat(path, files, ["ONE.BIN"])
    source = path.with_suffix(".staging") / "THREE.BIN"
    source.write_bytes(THREE)
    run("mcopy", "-i", path, source, "::/THREE.BIN")
    for name in ("THREE.BIN", "TWO.BIN", "SMALL.TXT", "ARCHIVE.ZIP"):
        run("mdel", "-i", path, f"::/{name}")
    return path


def fat_entry(image: Path, short_name: bytes) -> int:
    """Byte offset of the FAT directory entry with this 11-byte 8.3 name (e.g. b"PHOTO   JPG")."""
    data = image.read_bytes()
    at = data.find(short_name)
    while at >= 0 and at % 32:  # entries are 32-byte aligned; file data may hold the name too
        at = data.find(short_name, at + 1)
    assert at >= 0, short_name
    return at


def patch(image: Path, at: int, data: bytes) -> None:
    with open(image, "r+b") as out:
        out.seek(at)
        out.write(data)


def add_fat32_root_file(image: Path, short_name: bytes, data: bytes) -> None:
    """Write a file into the root folder of a FAT32 volume by hand, in the first free clusters.

    mtools judges the FAT type by the cluster count, so on a FAT32 volume with fewer clusters
    than the specification's minimum it looks for a FAT16 root folder and finds no room.
    """
    with open(image, "r+b") as out:
        boot = out.read(512)
        sector, per_cluster, reserved, fats = struct.unpack_from("<HBHB", boot, 11)
        fat_size, root = struct.unpack_from("<I4xI", boot, 36)
        cluster = sector * per_cluster
        fat_at, data_at = reserved * sector, (reserved + fats * fat_size) * sector
        out.seek(fat_at)
        fat = bytearray(out.read(fat_size * sector))
        free = [c for c in range(3, len(fat) // 4) if not struct.unpack_from("<I", fat, 4 * c)[0]]
        chain = free[: -(-len(data) // cluster)]
        for current, following in zip(chain, [*chain[1:], 0x0FFFFFFF], strict=True):
            struct.pack_into("<I", fat, 4 * current, following)
        for copy in range(fats):
            out.seek(fat_at + copy * fat_size * sector)
            out.write(fat)
        for n, number in enumerate(chain):
            out.seek(data_at + (number - 2) * cluster)
            out.write(data[n * cluster : (n + 1) * cluster])
        out.seek(data_at + (root - 2) * cluster)
        folder = out.read(cluster)
        slot = next(at for at in range(0, cluster, 32) if folder[at] in (0, 0xE5))
        entry = struct.pack(
            "<11sB8xH4xHI", short_name, 0x20, chain[0] >> 16, chain[0] & 0xFFFF, len(data)
        )
        out.seek(data_at + (root - 2) * cluster + slot)
        out.write(entry)


def make_ext(
    path: Path, fstype: str, files: Mapping[str, bytes], deleted: Sequence[str] = ()
) -> Path:
    """An ext2/3/4 volume from a tree (mke2fs -d), with a symlink and a FIFO; then deletions."""
    tree = path.with_suffix(".tree")
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
        os.utime(tree / name, (WHEN.timestamp(), WHEN.timestamp()))
    os.symlink("notes.txt", tree / "link")
    os.mkfifo(tree / "fifo")
    run("mke2fs", "-q", "-t", fstype, "-b", "1024", "-d", tree, path, "8M")
    for name in deleted:
        run("debugfs", "-w", "-R", f"rm {name}", path)
    return path


def make_ntfs(path: Path, files: Mapping[str, bytes], streams: Mapping[str, bytes]) -> Path:
    """An NTFS volume with files in its root; `streams` maps `file:stream` to stream data."""
    with open(path, "wb") as out:
        out.truncate(16 * MiB)
    run("mkntfs", "-q", "-F", "-f", path)
    staging = path.with_suffix(".staging")
    staging.mkdir()
    for name, data in {**files, **streams}.items():
        source = staging / name.replace(":", "_")
        source.write_bytes(data)
        file, _, stream = name.partition(":")
        run("ntfscp", "-q", *(["-N", stream] if stream else []), path, source, file)
    return path


def make_disk(path: Path, label: str, partitions: Sequence[tuple[str, bytes]]) -> list[int]:
    """A partitioned disk: each (type, volume bytes) at 1 MiB alignment; returns the offsets."""
    offsets, script, start = [], [f"label: {label}"], 2048
    for kind, volume in partitions:
        sectors = -(-len(volume) // 512)
        script.append(f"start={start}, size={sectors}, type={kind}")
        offsets.append(start * 512)
        start += -(-sectors // 2048) * 2048
    with open(path, "wb") as out:
        out.truncate((start + 2048) * 512)  # room for GPT's backup table
    subprocess.run(["sfdisk", "-q", str(path)], input="\n".join(script).encode(), check=True)
    with open(path, "r+b") as out:
        for offset, (_, volume) in zip(offsets, partitions, strict=True):
            out.seek(offset)
            out.write(volume)
    return offsets


def make_e01(raw: Path, target: Path, segment: str = "1MiB") -> Path:
    target.parent.mkdir(exist_ok=True)
    run(
        "ewfacquire", "-u", "-q", "-C", "CASE-42", "-e", "Examiner Example", "-E", "EV-7",
        "-D", "seized laptop", "-N", "synthetic", "-d", "sha1", "-c", "none", "-S", segment,
        "-t", target, raw,
    )  # fmt: skip
    return target.with_suffix(".E01")


FAT_FILES = {
    "notes.txt": NOTES,
    "DCIM/photo one.jpg": PHOTO,
    "DCIM/B.JPG": PHOTO_2,
    "blob.bin": BLOB,
    "gone.txt": b"deleted words\n" * 100,
    "Long Deleted Photo.jpg": PHOTO_3,
}


EXT_FILES = {
    "notes.txt": NOTES,
    "photos/one.jpg": PHOTO,
    "photos/two.jpg": PHOTO_2,
    "photos/deleted.jpg": PHOTO_3,
    "old/blob.bin": BLOB,
}
