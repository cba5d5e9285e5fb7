"""Ingest of an ext4 disk image against hashdeep over the same files, and against the floor.

A generated tree (default 2 GB, `--quick` 200 MB) of mostly non-media files plus a few hundred
benign synthetic JPEGs is written into an ext4 image with `mke2fs -d` (no mounting). The tree
and the image are read once so both sit in the page cache; then each is run once untimed
(bytecode compiled and cached), and best of three interleaved runs each:

- `cairn ingest IMAGE` as a whole process (CLI subprocess, a fresh workspace each time:
  start-up, partition and file-system walk through The Sleuth Kit, workers, database writes);
- `hashdeep -c md5,sha1,sha256 -r TREE` over the same files as a folder (the named peer);
- the floor: one sequential read of the raw image from the page cache, no hashing;
- for reference, `cairn ingest TREE` of the same files as a folder: the difference is what
  reading through The Sleuth Kit costs (the PDQ work on the photos is the same in both).

MB/s is 10^6 bytes of file content per second for cairn and hashdeep, and image bytes per
second for the floor. The SHA-256 of every file Cairn found in the image is checked against
hashdeep's output for the tree. The load average is printed with the ratios.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import best_of, check, machine, ratio
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from ingest_digests import (  # this folder is on sys.path when run as a script
    FILES_PER_FOLDER,
    MiB,
    Workspaces,
    become_subreaper,
    hashdeep,
    read_all,
    same_digests,
    warm,
)


def generate_tree(root: Path, total_bytes: int, images: int, seed: int = 11) -> tuple[int, int]:
    """`images` JPEGs (1024x768) plus log-uniform 4 KiB-8 MiB files up to `total_bytes`."""
    rng = random.Random(seed)
    pool = rng.randbytes(64 * MiB)
    written = count = 0
    for n in range(images):
        data = jpeg_bytes(synthetic_image(seed * 100_000 + n))
        folder = root / "DCIM" / f"{100 + n // FILES_PER_FOLDER}CAMERA"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"IMG_{n:05d}.JPG").write_bytes(data)
        written += len(data)
        count += 1
    while written < total_bytes:
        size = min(
            int(math.exp(rng.uniform(math.log(4096), math.log(8 * MiB)))), total_bytes - written
        )
        size = max(size, 8)
        start = rng.randrange(0, len(pool) - size)
        folder = root / "data" / f"folder{count // FILES_PER_FOLDER:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"file{count:06d}.dat", "wb") as out:
            out.write(count.to_bytes(8, "little"))  # every file distinct
            out.write(pool[start : start + size - 8])
        written += size
        count += 1
    return count, written


def make_ext4(tree: Path, image: Path, content_bytes: int) -> None:
    # Room for metadata and a little free space: 12 % plus 64 MiB.
    size_kib = (content_bytes * 112 // 100 + 64 * MiB) // 1024
    subprocess.run(
        ["mke2fs", "-q", "-t", "ext4", "-d", str(tree), str(image), f"{size_kib}k"],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 MB instead of 2 GB")
    parser.add_argument("--bytes", type=int, help="content size in bytes (overrides the default)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each")
    args = parser.parse_args()
    total = args.bytes or (200_000_000 if args.quick else 2_000_000_000)
    images = 60 if args.quick else 300
    for tool in ("hashdeep", "mke2fs"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install hashdeep e2fsprogs)")
    scratch = Path(tempfile.mkdtemp(prefix="cairn-bench-disk-"))
    try:
        tree, image = scratch / "tree", scratch / "disk.ext4"
        tree.mkdir()
        files, nbytes = generate_tree(tree, total, images)
        make_ext4(tree, image, nbytes)
        warm(tree)
        image_bytes = read_all(image)
        print(machine())
        print(
            f"tree: {files:,} files ({images} JPEGs), {nbytes / 1e6:,.0f} MB; "
            f"ext4 image {image_bytes / 1e6:,.0f} MB; page-cached"
        )
        become_subreaper()
        workspaces = Workspaces(scratch, 2 * (args.runs + 1))
        measured = best_of(
            {
                "hashdeep": lambda: hashdeep(tree),
                "image": lambda: workspaces.ingest(image),
                "floor": lambda: read_all(image),
                "folder": lambda: workspaces.ingest(tree),
            },
            runs=args.runs,
        )
        (listing, hashdeep_time), (workspace, cairn_time) = measured["hashdeep"], measured["image"]
        assert isinstance(listing, str) and isinstance(workspace, Path)
        same = same_digests(tree, workspace, listing, skip=(b"lost+found",))
        print(check("SHA-256 of every file, Cairn (from the image) and hashdeep (folder)", same))
        cairn_s, hashdeep_s = cairn_time.wall, hashdeep_time.wall
        floor_s, folder_s = measured["floor"][1].wall, measured["folder"][1].wall
        cairn_mbs, hashdeep_mbs = nbytes / cairn_s / 1e6, nbytes / hashdeep_s / 1e6
        floor_mbs = image_bytes / floor_s / 1e6
        folder_mbs = nbytes / folder_s / 1e6
        print(f"cairn ingest IMAGE (whole process): {cairn_mbs:8.1f} MB/s  ({cairn_s:.2f} s)")
        print(f"hashdeep -c md5,sha1,sha256 -r:     {hashdeep_mbs:8.1f} MB/s  ({hashdeep_s:.2f} s)")
        print(f"floor: sequential read of image:    {floor_mbs:8.1f} MB/s  ({floor_s:.2f} s)")
        print(f"cairn ingest TREE (same files):     {folder_mbs:8.1f} MB/s  ({folder_s:.2f} s)")
        print(ratio("cairn ingest IMAGE", cairn_time, hashdeep_time, "hashdeep on the folder"))
        print(f"cairn / floor    = {cairn_mbs / floor_mbs:.3f}")
        print(f"image / folder   = {cairn_mbs / folder_mbs:.2f} (cost of reading through TSK)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
