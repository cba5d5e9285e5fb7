"""Disk images built by the tests with userspace tools: FAT, ext2/3/4, NTFS, MBR, GPT, E01.

Every image holds benign generated photos and text; some files are deleted after writing.
The tools (dosfstools, mtools, e2fsprogs, ntfs-3g, ewf-tools, fdisk) are installed by setup.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
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
