"""Digest throughput of `cairn ingest` against hashdeep and the CPU ceiling, in one run.

A generated tree of non-image files (default 2 GB, `--quick` 300 MB) is read once so that it
sits in the page cache; then, best of three each:

- `cairn ingest` as a whole process (CLI subprocess, a fresh workspace each time: start-up,
  enumeration, workers, the database writes all count);
- `hashdeep -c md5,sha1,sha256 -r` as a whole process (it hashes several files at once);
- the ceiling: cores x the one-pass MD5+SHA-1+SHA-256 rate of hashlib in one process over
  bytes already in memory.

Prints MB/s (10^6 bytes per second) and the ratios. Target: cairn >= 2x hashdeep.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CASE = "BENCH"
FILES_PER_FOLDER = 200
MiB = 1 << 20


def generate_tree(root: Path, total_bytes: int, seed: int = 7) -> tuple[int, int]:
    """Files with log-uniform sizes from 4 KiB to 8 MiB until `total_bytes`; (files, bytes)."""
    rng = random.Random(seed)
    pool = rng.randbytes(64 * MiB)
    written = count = 0
    while written < total_bytes:
        size = min(
            int(math.exp(rng.uniform(math.log(4096), math.log(8 * MiB)))), total_bytes - written
        )
        start = rng.randrange(0, len(pool) - size)
        folder = root / f"folder{count // FILES_PER_FOLDER:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"file{count:06d}.dat", "wb") as out:
            out.write(count.to_bytes(8, "little"))  # every file distinct
            out.write(pool[start : start + size - 8] if size > 8 else b"")
        written += max(size, 8)
        count += 1
    return count, written


def warm(root: Path) -> None:
    """Read every file once so each timed run reads from the page cache."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as stream:
                while stream.read(8 * MiB):
                    pass


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def cairn_ingest(tree: Path, scratch: Path) -> float:
    """Seconds of one `cairn ingest` process into a fresh workspace (case created beforehand)."""
    workspace = Path(tempfile.mkdtemp(dir=scratch))
    env = {**os.environ, "CAIRN_WORKSPACE": str(workspace)}
    # The installed `cairn` command, as an examiner runs it (its workers re-import the script).
    script = Path(sys.executable).with_name("cairn")
    cairn = [str(script)] if script.exists() else [sys.executable, "-m", "cairn"]
    subprocess.run([*cairn, "case", "create", CASE], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    done = subprocess.run(
        [*cairn, "ingest", "--case", CASE, str(tree)], env=env, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"cairn ingest failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    shutil.rmtree(workspace)
    return elapsed


def hashdeep(tree: Path) -> None:
    subprocess.run(
        ["hashdeep", "-c", "md5,sha1,sha256", "-r", str(tree)],
        stdout=subprocess.DEVNULL,
        check=True,
    )


def triple_pass(data: memoryview) -> None:
    """One-pass MD5+SHA-1+SHA-256 over bytes in memory, 1 MiB at a time (as Cairn reads)."""
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    for offset in range(0, len(data), MiB):
        chunk = data[offset : offset + MiB]
        md5.update(chunk)
        sha1.update(chunk)
        sha256.update(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 MB instead of 2 GB")
    parser.add_argument("--bytes", type=int, help="tree size in bytes (overrides the default)")
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    args = parser.parse_args()
    total = args.bytes or (300_000_000 if args.quick else 2_000_000_000)
    if shutil.which("hashdeep") is None:
        sys.exit("hashdeep is not installed (apt-get install hashdeep)")
    scratch = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    try:
        tree = args.keep or scratch / "tree"
        if not (args.keep and tree.exists()):
            tree.mkdir(parents=True)
            files, nbytes = generate_tree(tree, total)
        else:
            files = sum(1 for p in tree.rglob("*") if p.is_file())
            nbytes = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        warm(tree)
        cores = len(os.sched_getaffinity(0))
        print(f"tree: {files:,} files, {nbytes / 1e6:,.0f} MB, page-cached; {cores} cores")

        # Rounds interleave the three measurements, so a busy moment on the machine does not
        # fall on one of them only; each keeps its best of three.
        memory = memoryview(os.urandom(256 * MiB))
        hashdeep_s = cairn_s = core_s = math.inf
        for _ in range(3):
            hashdeep_s = min(hashdeep_s, seconds(lambda: hashdeep(tree)))
            cairn_s = min(cairn_s, cairn_ingest(tree, scratch))
            core_s = min(core_s, seconds(lambda: triple_pass(memory)))
        core_rate = len(memory) / core_s

        cairn_mbs, hashdeep_mbs = nbytes / cairn_s / 1e6, nbytes / hashdeep_s / 1e6
        ceiling_mbs = cores * core_rate / 1e6
        print(f"cairn ingest (whole process):    {cairn_mbs:8.1f} MB/s  ({cairn_s:.2f} s)")
        print(f"hashdeep -c md5,sha1,sha256 -r:  {hashdeep_mbs:8.1f} MB/s  ({hashdeep_s:.2f} s)")
        print(f"hashlib one-pass triple, 1 core: {core_rate / 1e6:8.1f} MB/s")
        print(f"ceiling = {cores} cores x that:     {ceiling_mbs:8.1f} MB/s")
        print(f"cairn / hashdeep = {cairn_mbs / hashdeep_mbs:.2f}x (target >= 2x)")
        print(f"cairn / ceiling  = {cairn_mbs / ceiling_mbs:.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
