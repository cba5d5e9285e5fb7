"""Digest throughput of `cairn ingest` against hashdeep and the CPU ceiling, in one run.

A generated tree of non-image files (default 2 GB, `--quick` 300 MB) is read once so that it
sits in the page cache; then each is run once untimed (bytecode compiled and cached), and best
of three interleaved runs each:

- `cairn ingest` as a whole process (CLI subprocess, a fresh workspace each time: start-up,
  enumeration, workers, the database writes all count);
- `hashdeep -c md5,sha1,sha256 -r` as a whole process (it hashes several files at once);
- the ceiling: cores x the one-pass MD5+SHA-1+SHA-256 rate of hashlib in one process over
  bytes already in memory.

Before timing, the SHA-256 of every file Cairn found is checked against hashdeep's. Prints MB/s
(10^6 bytes per second), CPU seconds per GB and the ratios, with the load average. Target:
cairn >= 2x hashdeep.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import hashlib
import io
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import best_of, check, machine, ratio

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
    """Read every file once so each timed run reads from the page cache."""
    for path in root.rglob("*"):
        if path.is_file():
            read_all(path)


def become_subreaper() -> None:
    """Adopt orphaned descendants (cairn's fork server outlives its parent by a moment), so
    that reaping them adds their CPU time, and their workers', to RUSAGE_CHILDREN."""
    pr_set_child_subreaper = 36
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def run(command: list[str], env: dict[str, str] | None = None) -> str:
    """One command to its end, its adopted orphans reaped (their CPU then counts); stdout."""
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{command[0]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    return done.stdout.decode("utf-8", "surrogateescape")


def cairn_env(workspace: Path, scratch: Path) -> dict[str, str]:
    """The environment of a `cairn` run: its workspace, and compiled bytecode kept in scratch.

    An installed Cairn runs from bytecode compiled at install time; a development checkout
    with PYTHONDONTWRITEBYTECODE set would recompile its modules in every process instead.
    """
    env = {**os.environ, "CAIRN_WORKSPACE": str(workspace)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return env


def cairn_command() -> list[str]:
    """The installed `cairn` command, as an examiner runs it (its workers re-import it)."""
    script = Path(sys.executable).with_name("cairn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cairn"]


class Workspaces:
    """Fresh workspaces with the case already created, made before the timing starts, so a
    timed run is the `cairn ingest` process alone."""

    def __init__(self, scratch: Path, count: int) -> None:
        self.scratch = scratch
        self.ready = [self._new() for _ in range(count)]
        self.used: list[Path] = []

    def _new(self) -> Path:
        workspace = Path(tempfile.mkdtemp(dir=self.scratch))
        command = [*cairn_command(), "case", "create", CASE]
        subprocess.run(
            command, env=cairn_env(workspace, self.scratch), check=True, capture_output=True
        )
        return workspace

    def ingest(self, source: Path, *options: str) -> Path:
        """One `cairn ingest` process of `source` into the next fresh workspace."""
        workspace = self.ready.pop()
        run(
            [*cairn_command(), "ingest", "--case", CASE, *options, str(source)],
            cairn_env(workspace, self.scratch),
        )
        self.used.append(workspace)
        return workspace


def hashdeep(tree: Path) -> str:
    return run(["hashdeep", "-c", "md5,sha1,sha256", "-r", str(tree)])


def same_digests(tree: Path, workspace: Path, listing: str, skip: tuple[bytes, ...] = ()) -> bool:
    """Whether Cairn's (path, sha256) of its files equal hashdeep's listing for the tree."""
    rows = csv.reader(line for line in io.StringIO(listing) if not line.startswith(("%", "#")))
    theirs = {os.path.relpath(r[4], tree).encode(): r[3] for r in rows if len(r) == 5}
    with sqlite3.connect(workspace / "cairn.db") as db:
        ours = dict(db.execute("SELECT path, media_sha256 FROM occurrences WHERE kind = 'file'"))
    return {p: h for p, h in ours.items() if not p.startswith(skip)} == theirs


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
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each")
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
        print(machine())
        print(f"tree: {files:,} files, {nbytes / 1e6:,.0f} MB, page-cached")

        become_subreaper()
        workspaces = Workspaces(scratch, args.runs + 1)
        memory = memoryview(os.urandom(256 * MiB))
        measured = best_of(
            {
                "hashdeep": lambda: hashdeep(tree),
                "cairn": lambda: workspaces.ingest(tree),
                "core": lambda: triple_pass(memory),
            },
            runs=args.runs,
        )
        (listing, hashdeep_time), (workspace, cairn_time) = measured["hashdeep"], measured["cairn"]
        assert isinstance(listing, str) and isinstance(workspace, Path)
        same = same_digests(tree, workspace, listing)
        print(check("SHA-256 of every file, Cairn and hashdeep", same))
        core_rate = len(memory) / measured["core"][1].wall

        gb = nbytes / 1e9
        cairn_mbs, hashdeep_mbs = nbytes / cairn_time.wall / 1e6, nbytes / hashdeep_time.wall / 1e6
        ceiling_mbs = cores * core_rate / 1e6
        print(
            f"cairn ingest (whole process):    {cairn_mbs:8.1f} MB/s  ({cairn_time.wall:.2f} s; "
            f"CPU {cairn_time.cpu / gb:.2f} s/GB)"
        )
        print(
            f"hashdeep -c md5,sha1,sha256 -r:  {hashdeep_mbs:8.1f} MB/s  "
            f"({hashdeep_time.wall:.2f} s; CPU {hashdeep_time.cpu / gb:.2f} s/GB)"
        )
        print(f"hashlib one-pass triple, 1 core: {core_rate / 1e6:8.1f} MB/s")
        print(f"ceiling = {cores} cores x that:     {ceiling_mbs:8.1f} MB/s")
        print(ratio("cairn ingest", cairn_time, hashdeep_time, "hashdeep") + " (target >= 2x)")
        print(f"cairn / ceiling  = {cairn_mbs / ceiling_mbs:.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
