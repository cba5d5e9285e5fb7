"""Ingest of an ext4 disk image against hashdeep over the same files, and against the floor.

A generated tree (default 2 GB, `--quick` 200 MB) of mostly non-media files plus a few hundred
benign synthetic JPEGs is written into an ext4 image with `mke2fs -d` (no mounting). The tree
and the image are read once so both sit in the page cache; then, best of three each:

- `cairn ingest IMAGE` as a whole process (CLI subprocess, a fresh workspace each time:
  start-up, partition and file-system walk through The Sleuth Kit, workers, database writes);
- `hashdeep -c md5,sha1,sha256 -r TREE` over the same files as a folder (the named peer);
- the floor: one sequential read of the raw image from the page cache, no hashing;
- for reference, `cairn ingest TREE` of the same files as a folder: the difference is what
  reading through The Sleuth Kit costs (the PDQ work on the photos is the same in both).

MB/s is 10^6 bytes of file content per second for cairn and hashdeep, and image bytes per
second for the floor. Before timing, the SHA-256 of every file Cairn found in the image is
checked against hashdeep's output for the tree.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cairn.media.synthetic import jpeg_bytes, synthetic_image

CASE = "BENCH"
MiB = 1 << 20
FILES_PER_FOLDER = 200


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


def read_all(path: Path) -> int:
    """Read a file sequentially in 1 MiB blocks; return the bytes read."""
    buffer = bytearray(MiB)
    view = memoryview(buffer)
    total = 0
    with open(path, "rb", buffering=0) as stream:
        while n := stream.readinto(view):
            total += n
    return total


def warm(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            read_all(path)


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def cairn_command() -> list[str]:
    script = Path(sys.executable).with_name("cairn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cairn"]


def cairn_ingest(source: Path, scratch: Path) -> tuple[float, Path]:
    """Seconds of one `cairn ingest` process into a fresh workspace, and that workspace."""
    workspace = Path(tempfile.mkdtemp(dir=scratch))
    env = {**os.environ, "CAIRN_WORKSPACE": str(workspace)}
    cairn = cairn_command()
    subprocess.run([*cairn, "case", "create", CASE], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    done = subprocess.run(
        [*cairn, "ingest", "--case", CASE, str(source)], env=env, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"cairn ingest failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed, workspace


def hashdeep(tree: Path) -> str:
    done = subprocess.run(
        ["hashdeep", "-c", "md5,sha1,sha256", "-r", str(tree)],
        capture_output=True,
        check=True,
    )
    return done.stdout.decode("utf-8", "surrogateescape")


def same_digests(tree: Path, workspace: Path, listing: str) -> bool:
    """Whether Cairn's (path, sha256) for the image's files equal hashdeep's for the tree."""
    rows = csv.reader(line for line in io.StringIO(listing) if not line.startswith(("%", "#")))
    theirs = {os.path.relpath(r[4], tree).encode(): r[3] for r in rows if len(r) == 5}
    with sqlite3.connect(workspace / "cairn.db") as db:
        ours = dict(db.execute("SELECT path, media_sha256 FROM occurrences WHERE kind = 'file'"))
    ours = {p: h for p, h in ours.items() if not p.startswith(b"lost+found")}
    return ours == theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 MB instead of 2 GB")
    parser.add_argument("--bytes", type=int, help="content size in bytes (overrides the default)")
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
        cores = len(os.sched_getaffinity(0))
        print(
            f"tree: {files:,} files ({images} JPEGs), {nbytes / 1e6:,.0f} MB; "
            f"ext4 image {image_bytes / 1e6:,.0f} MB; page-cached; {cores} cores"
        )
        # Rounds interleave the measurements so that a busy moment on the machine does not
        # fall on one of them only; each keeps its best of three.
        cairn_s = hashdeep_s = floor_s = folder_s = math.inf
        checked = False
        for _ in range(3):
            listing = ""

            def run_hashdeep() -> None:
                nonlocal listing
                listing = hashdeep(tree)

            hashdeep_s = min(hashdeep_s, seconds(run_hashdeep))
            elapsed, workspace = cairn_ingest(image, scratch)
            cairn_s = min(cairn_s, elapsed)
            if not checked:
                if not same_digests(tree, workspace, listing):
                    sys.exit("Cairn's digests differ from hashdeep's: the bench is void")
                checked = True
            shutil.rmtree(workspace)
            floor_s = min(floor_s, seconds(lambda: read_all(image)))
            elapsed, workspace = cairn_ingest(tree, scratch)
            folder_s = min(folder_s, elapsed)
            shutil.rmtree(workspace)

        cairn_mbs, hashdeep_mbs = nbytes / cairn_s / 1e6, nbytes / hashdeep_s / 1e6
        floor_mbs = image_bytes / floor_s / 1e6
        folder_mbs = nbytes / folder_s / 1e6
        print("SHA-256 of every file: Cairn (from the image) == hashdeep (from the folder)")
        print(f"cairn ingest IMAGE (whole process): {cairn_mbs:8.1f} MB/s  ({cairn_s:.2f} s)")
        print(f"hashdeep -c md5,sha1,sha256 -r:     {hashdeep_mbs:8.1f} MB/s  ({hashdeep_s:.2f} s)")
        print(f"floor: sequential read of image:    {floor_mbs:8.1f} MB/s  ({floor_s:.2f} s)")
        print(f"cairn ingest TREE (same files):     {folder_mbs:8.1f} MB/s  ({folder_s:.2f} s)")
        print(f"cairn / hashdeep = {cairn_mbs / hashdeep_mbs:.2f}x")
        print(f"cairn / floor    = {cairn_mbs / floor_mbs:.3f}")
        print(f"image / folder   = {cairn_mbs / folder_mbs:.2f} (cost of reading through TSK)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
